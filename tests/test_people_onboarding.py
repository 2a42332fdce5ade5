"""People who can get in (issue 16), end to end through the API and the pages, with mail delivered by a real
SMTP server on loopback and read from it as the person would:

* an IHK admin invites a signatory; the signatory gets the mail, follows the link, sets a password, enrols
  TOTP and co-signs a credential — refused, with a problem saying why, while the token's sign-in had no
  second factor;
* a password reset (one-time, the same answer for unknown addresses, tokens revoked, the old address told);
* a learner's claim with e-mail verification before the wallet opens; an unverified address acts for nobody.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.db import Database
from tests.conftest import Bootstrap
from tests.oauth_flow import APP_REDIRECT_URI, hidden_fields, s256
from tests.outbox_drain import drain
from tests.scenarios import classroom
from tests.smtp_server import Inbox
from tests.test_attempts import welding

PASSWORD = "correct horse battery staple"
APP_SCOPES = "organisations:read organisations:write credentials:read credentials:cosign credentials:revoke credentials:issue portfolio:write"


async def sign_in(
    http: AsyncTestClient[Litestar],
    app: tuple[str, str],
    email: str,
    password: str,
    scope: str = APP_SCOPES,
    one_time_code: str = "",
) -> dict[str, Any]:
    """The authorization-code flow with PKCE on the consent page; the token response."""
    verifier = secrets.token_urlsafe(48)
    request = {
        "response_type": "code",
        "client_id": app[0],
        "redirect_uri": APP_REDIRECT_URI,
        "scope": scope,
        "state": "s",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    page = await http.get("/oauth/authorize", params=request)
    assert page.status_code == 200, page.text
    form = {**hidden_fields(page.text), "email": email, "password": password, "decision": "allow"}
    if one_time_code:
        form["one_time_code"] = one_time_code
    allowed = await http.post("/oauth/authorize", data=form, follow_redirects=False)
    assert allowed.status_code == 302, allowed.text
    code = parse_qs(urlsplit(allowed.headers["location"]).query)["code"][0]
    exchanged = await http.post(
        "/oauth/token",
        auth=app,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": APP_REDIRECT_URI,
            "code_verifier": verifier,
        },
    )
    assert exchanged.status_code == 200, exchanged.text
    answer: dict[str, Any] = exchanged.json()
    return answer


def bearer(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


def claims_of(token: dict[str, Any]) -> dict[str, Any]:
    payload = token["access_token"].split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def only_link(inbox: Inbox, email: str, path: str, subject: str | None = None) -> str:
    """The path of the link in the newest mail to ``email`` whose subject contains ``subject``."""
    messages = [m for m in inbox.to(email) if subject is None or subject in str(m["Subject"])]
    assert messages, f"no mail to {email} ({subject})"
    text = inbox.text(messages[-1])
    links = [word for word in text.split() if path in word]
    assert links, text
    return urlsplit(links[-1]).path


async def person_app(bootstrap: Bootstrap, organisation_id: Any) -> tuple[str, str]:
    app_id, app_secret = await bootstrap.oauth_client(
        organisation_id,
        APP_SCOPES.split(),
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[APP_REDIRECT_URI],
    )
    assert app_secret is not None
    return app_id, app_secret


async def test_an_ihk_admin_invites_a_signatory_who_enrols_totp_and_cosigns(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, inbox: Inbox
) -> None:
    room = await classroom(client, bootstrap)
    recorded = await client.post(
        room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=room.provider.headers
    )
    assert recorded.status_code == 201, recorded.text
    await drain(db, settings)
    [awaiting] = (
        await client.get(f"/organisations/{room.chamber.org_id}/cosignature-queue", headers=room.chamber.headers)
    ).json()["items"]

    ihk = room.chamber.org_id
    await bootstrap.member(ihk, "admin@ihk.example", ["admin"])
    app = await person_app(bootstrap, ihk)
    admin = bearer(await sign_in(client, app, "admin@ihk.example", PASSWORD))
    policy = await client.put(
        f"/organisations/{ihk}/second-factor-policy", json={"requiredFor": ["signatory", "admin"]}, headers=admin
    )
    assert policy.status_code == 200, policy.text

    # The admin invites; the link is in the mail only.
    invited = await client.post(
        f"/organisations/{ihk}/invitations",
        json={"email": "sabine@ihk.example", "name": "Sabine Krause", "roles": ["signatory"], "language": "de"},
        headers=admin,
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()["status"] == "pending" and "token" not in invited.text
    await drain(db, settings)
    [mail] = inbox.to("sabine@ihk.example")
    assert mail["Subject"] == "IHK Region Stuttgart lädt Sie zu Guildhall ein"
    assert mail.get_body(preferencelist=("html",)) is not None
    link = only_link(inbox, "sabine@ihk.example", "/invitations/")

    # She follows it, reads the page in German, and chooses a password.
    shown = await client.get(link)
    assert shown.status_code == 200 and 'lang="de"' in shown.text and "Einladung annehmen" in shown.text
    assert shown.headers["content-security-policy"].startswith("default-src 'none'")
    accepted = await client.post(link, data={"password": PASSWORD})
    assert accepted.status_code == 200, accepted.text
    assert "Mitglied von IHK Region Stuttgart" in accepted.text
    again = await client.post(link, data={"password": PASSWORD})
    assert again.status_code == 404  # one-time

    # Signed in with her password alone: the chamber's policy refuses her co-signature, and says why.
    password_only = await sign_in(client, app, "sabine@ihk.example", PASSWORD)
    assert claims_of(password_only)["amr"] == ["pwd"]
    refused = await client.post(f"/credentials/{awaiting['id']}/cosignature", headers=bearer(password_only))
    assert refused.status_code == 403, refused.text
    problem = refused.json()
    assert problem["type"] == "urn:guildhall:problem:second-factor-required"
    assert "second factor" in problem["detail"] and problem["amr"] == ["pwd"]

    # She enrols TOTP (the API of the page she reaches after signing in) ...
    started = await client.post("/me/second-factor", headers=bearer(password_only))
    assert started.status_code == 201, started.text
    authenticator = pyotp.TOTP(started.json()["secret"])
    assert started.json()["uri"].startswith("otpauth://totp/Guildhall:sabine%40ihk.example")
    confirmed = await client.post(
        "/me/second-factor/confirmation", json={"code": authenticator.now()}, headers=bearer(password_only)
    )
    assert confirmed.status_code == 200, confirmed.text
    recovery = confirmed.json()["recoveryCodes"]
    assert len(recovery) == 10

    # ... a code already used is refused at sign-in, the next one is taken, and the token says both factors.
    next_code = authenticator.at(time.time() + 30)
    with_otp = await sign_in(client, app, "sabine@ihk.example", PASSWORD, one_time_code=next_code)
    assert claims_of(with_otp)["amr"] == ["pwd", "otp"]
    cosigned = await client.post(f"/credentials/{awaiting['id']}/cosignature", headers=bearer(with_otp))
    assert cosigned.status_code == 200, cosigned.text
    assert cosigned.json()["state"] == "issued"

    # Withdrawing the signature and rotating keys need the second factor too; with it, they go through.
    reason = {"reason": "Signed in error"}
    withdraw = await client.post(
        f"/credentials/{awaiting['id']}/revocation", json=reason, headers=bearer(password_only)
    )
    assert withdraw.status_code == 403 and withdraw.json()["type"].endswith("second-factor-required")
    rotate = await client.post(f"/organisations/{ihk}/signing-keys/rotation", json={}, headers=admin)
    assert rotate.status_code == 403 and "rotate its signing key" in rotate.json()["detail"]
    withdrawn = await client.post(f"/credentials/{awaiting['id']}/revocation", json=reason, headers=bearer(with_otp))
    assert withdrawn.status_code == 200, withdrawn.text

    # A recovery code works once, instead of a code.
    assert claims_of(await sign_in(client, app, "sabine@ihk.example", PASSWORD, one_time_code=recovery[0]))["amr"] == [
        "pwd",
        "otp",
    ]

    trail = (await client.get(f"/organisations/{ihk}/audit", headers=admin)).json()["items"]
    actions = [entry["action"] for entry in trail]
    assert {"invitation.created", "invitation.accepted", "member.added"} <= set(actions)


async def test_a_replayed_or_wrong_one_time_code_is_refused_at_sign_in(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    org = await bootstrap.organisation("IHK", kind="chamber", country="DE")
    await bootstrap.member(org.id, "signer@ihk.example", ["signatory"])
    app = await person_app(bootstrap, org.id)
    token = bearer(await sign_in(client, app, "signer@ihk.example", PASSWORD))
    secret = (await client.post("/me/second-factor", headers=token)).json()["secret"]
    code = pyotp.TOTP(secret).now()
    assert (await client.post("/me/second-factor/confirmation", json={"code": code}, headers=token)).status_code == 200
    page = await client.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": app[0],
            "redirect_uri": APP_REDIRECT_URI,
            "scope": "credentials:read",
            "code_challenge": s256("v" * 50),
            "code_challenge_method": "S256",
        },
    )
    german = await client.get(page.url, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert 'lang="de"' in german.text and "Darf test client für Sie handeln?" in german.text
    form = {**hidden_fields(page.text), "email": "signer@ihk.example", "password": PASSWORD, "decision": "allow"}
    replayed = await client.post("/oauth/authorize", data={**form, "one_time_code": code}, follow_redirects=False)
    assert replayed.status_code == 400 and "The code is wrong, or was used already" in replayed.text
    async with db.connection() as conn:
        stored = await conn.fetchval("SELECT totp_secret FROM persons WHERE email = 'signer@ihk.example'")
    assert secret.encode() not in stored  # encrypted at rest


async def test_a_password_reset_by_mail_revokes_the_tokens_and_tells_the_address(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, inbox: Inbox
) -> None:
    org = await bootstrap.organisation("TEKNIQ")
    await bootstrap.member(org.id, "ole@tekniq.example", ["author"])
    app = await person_app(bootstrap, org.id)
    before = await sign_in(client, app, "ole@tekniq.example", PASSWORD, scope="organisations:read")

    known = await client.post("/password-resets", json={"email": "Ole@TEKNIQ.example"})
    unknown = await client.post("/password-resets", json={"email": "nobody@tekniq.example"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()  # the same answer whether or not the address has a login
    await drain(db, settings)
    assert inbox.to("nobody@tekniq.example") == []
    link = only_link(inbox, "ole@tekniq.example", "/account/password-reset/")
    token = link.rsplit("/", 1)[1]

    shown = await client.get(link)
    assert shown.status_code == 200 and 'autocomplete="new-password"' in shown.text
    weak = await client.post(f"/password-resets/{token}", json={"password": "short"})
    assert weak.status_code == 422  # and the link still works
    reset = await client.post(f"/password-resets/{token}", json={"password": "a new and long password"})
    assert reset.status_code == 204, reset.text
    assert (
        await client.post(f"/password-resets/{token}", json={"password": "yet another password"})
    ).status_code == 404

    refreshed = await client.post(
        "/oauth/token", auth=app, data={"grant_type": "refresh_token", "refresh_token": before["refresh_token"]}
    )
    assert refreshed.status_code == 400  # signed out everywhere
    assert (await client.get("/oauth/whoami", headers=bearer(before))).status_code == 401
    await drain(db, settings)
    assert any("password was changed" in str(m["Subject"]) for m in inbox.to("ole@tekniq.example"))
    await sign_in(client, app, "ole@tekniq.example", "a new and long password", scope="organisations:read")


async def test_resets_are_rate_limited_per_address(client: AsyncTestClient[Litestar], settings: Settings) -> None:
    answers = [
        (await client.post("/password-resets", json={"email": "flood@example.org"})).status_code
        for _ in range(settings.password_reset_rate_limit.requests + 1)
    ]
    assert answers[:-1] == [202] * settings.password_reset_rate_limit.requests and answers[-1] == 429


async def test_a_changed_address_acts_for_nobody_until_confirmed_and_the_old_one_is_told(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, inbox: Inbox
) -> None:
    org = await bootstrap.organisation("TEKNIQ")
    await bootstrap.member(org.id, "mia@tekniq.example", ["author"])
    app = await person_app(bootstrap, org.id)
    token = bearer(await sign_in(client, app, "mia@tekniq.example", PASSWORD, scope="organisations:read"))
    assert (await client.get(f"/organisations/{org.id}/members", headers=token)).status_code == 200
    moved = await client.post("/me/email", json={"email": "mia@new.example", "password": PASSWORD}, headers=token)
    assert moved.status_code == 204, moved.text
    assert (await client.get("/oauth/whoami", headers=token)).status_code == 401  # tokens revoked
    fresh = bearer(await sign_in(client, app, "mia@new.example", PASSWORD, scope="organisations:read"))
    refused = await client.get(f"/organisations/{org.id}/members", headers=fresh)
    assert refused.status_code == 403  # an unverified address acts for no organisation
    await drain(db, settings)
    assert any("moved to another address" in str(m["Subject"]) for m in inbox.to("mia@tekniq.example"))
    link = only_link(inbox, "mia@new.example", "/account/verify-email/")
    assert (await client.get(link)).status_code == 200  # a GET changes nothing (mail scanners open links)
    assert (await client.get(f"/organisations/{org.id}/members", headers=fresh)).status_code == 403
    confirmed = await client.post(link)
    assert confirmed.status_code == 200 and "confirmed" in confirmed.text
    assert (await client.get(f"/organisations/{org.id}/members", headers=fresh)).status_code == 200


async def test_a_learners_claim_opens_the_wallet_once_the_address_is_verified(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, inbox: Inbox
) -> None:
    from tests.test_learner_claims import PASSWORD as CLAIM_PASSWORD
    from tests.test_learner_claims import claim, issue

    room = await classroom(client, bootstrap)
    claimed = await claim(client, await issue(client, room.provider, room.learner_id), email="jonas@example.de")
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["emailVerified"] is False
    wallet = await bootstrap.organisation("Skills Wallet", kind="employer")
    app = await person_app(bootstrap, wallet.id)
    token = bearer(
        await sign_in(client, app, "jonas@example.de", CLAIM_PASSWORD, scope="credentials:read portfolio:write")
    )
    closed = await client.get("/me/credentials", headers=token)
    assert closed.status_code == 403 and closed.json()["type"] == "urn:guildhall:problem:email-not-verified"
    # Every way a credential leaves for a wallet or a portfolio waits for the verified address too.
    some_credential = "/me/credentials/00000000-0000-4000-8000-000000000000"
    for method, path in [
        ("GET", "/me/portfolio"),
        ("POST", "/me/portfolio/credentials"),
        ("POST", "/me/credential-offers"),
        ("POST", f"{some_credential}/sd-jwt-vc"),
        ("POST", f"{some_credential}/wallet-exchanges"),
        ("POST", "/me/recognition-requests"),
    ]:
        refused = await client.request(method, path, headers=token, json={})
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["type"] == "urn:guildhall:problem:email-not-verified", path
    await drain(db, settings)
    link = only_link(inbox, "jonas@example.de", "/account/verify-email/")
    assert (await client.post(link)).status_code == 200
    assert (await client.get("/me/credentials", headers=token)).status_code == 200


async def test_invitations_expire_are_revoked_and_resent_and_members_without_a_password_are_invited(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, inbox: Inbox
) -> None:
    org = await bootstrap.integrator(["organisations:write", "organisations:read"], name="Dansk Metal")
    url = f"/organisations/{org.org_id}/invitations"
    first = (
        await client.post(
            url, json={"email": "lars@metal.example", "name": "Lars", "roles": ["author"]}, headers=org.headers
        )
    ).json()
    twice = await client.post(
        url, json={"email": "lars@metal.example", "name": "Lars", "roles": ["author"]}, headers=org.headers
    )
    assert twice.status_code == 409 and twice.json()["invitationId"] == first["id"]
    await drain(db, settings)
    old_link = only_link(inbox, "lars@metal.example", "/invitations/")
    resent = await client.post(f"{url}/{first['id']}/resending", headers=org.headers)
    assert resent.status_code == 200 and resent.json()["sentCount"] == 2
    await drain(db, settings)
    new_link = only_link(inbox, "lars@metal.example", "/invitations/")
    assert new_link != old_link and (await client.get(old_link)).status_code == 404
    revoked = await client.post(f"{url}/{first['id']}/revocation", headers=org.headers)
    assert revoked.json()["status"] == "revoked" and (await client.get(new_link)).status_code == 404

    expiring = (
        await client.post(
            url, json={"email": "eva@metal.example", "name": "Eva", "roles": ["author"]}, headers=org.headers
        )
    ).json()
    async with db.connection() as conn:
        await conn.execute(
            "UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = $1", expiring["id"]
        )
    assert (await client.get(f"{url}/{expiring['id']}", headers=org.headers)).json()["status"] == "expired"
    await drain(db, settings)
    assert (await client.get(only_link(inbox, "eva@metal.example", "/invitations/"))).status_code == 404

    added = await client.post(
        f"/organisations/{org.org_id}/members",
        json={"email": "ole@metal.example", "name": "Ole", "roles": ["author"]},
        headers=org.headers,
    )
    assert added.status_code == 201
    await drain(db, settings)
    link = only_link(inbox, "ole@metal.example", "/invitations/")
    accepted = await client.post(
        link.replace("/invitations/", "/invitations/", 1) + "/acceptance", json={"password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["roles"] == ["author"]


async def test_a_person_with_a_login_joins_with_it_and_a_wrong_password_is_refused(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, inbox: Inbox
) -> None:
    festo = await bootstrap.organisation("Festo", kind="vet_provider", country="DE")
    await bootstrap.member(festo.id, "jan@festo.example", ["assessor"])
    ihk = await bootstrap.integrator(["organisations:write", "organisations:read"], name="IHK", kind="chamber")
    invited = await client.post(
        f"/organisations/{ihk.org_id}/invitations",
        json={"email": "jan@festo.example", "name": "Jan", "roles": ["signatory"]},
        headers=ihk.headers,
    )
    assert invited.status_code == 201, invited.text
    await drain(db, settings)
    link = only_link(inbox, "jan@festo.example", "/invitations/")
    shown = await client.get(link)
    assert 'autocomplete="current-password"' in shown.text  # sign in with the login you have
    wrong = await client.post(f"{link}/acceptance", json={"password": "not my password at all"})
    assert wrong.status_code == 401
    joined = await client.post(f"{link}/acceptance", json={"password": PASSWORD})
    assert joined.status_code == 200 and joined.json()["roles"] == ["signatory"]
    app = await person_app(bootstrap, ihk.org_id)
    token = bearer(await sign_in(client, app, "jan@festo.example", PASSWORD, scope="organisations:read"))
    for organisation in (festo.id, ihk.org_id):  # one login, both memberships
        assert (await client.get(f"/organisations/{organisation}/members", headers=token)).status_code == 200


async def test_guessing_one_time_codes_is_rate_limited_per_person(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, settings: Settings
) -> None:
    org = await bootstrap.organisation("IHK", kind="chamber", country="DE")
    await bootstrap.member(org.id, "guess@ihk.example", ["signatory"])
    app = await person_app(bootstrap, org.id)
    token = bearer(await sign_in(client, app, "guess@ihk.example", PASSWORD, scope="credentials:read"))
    assert (await client.post("/me/second-factor", headers=token)).status_code == 201
    answers = [
        (await client.post("/me/second-factor/confirmation", json={"code": f"{n:06d}"}, headers=token)).status_code
        for n in range(settings.totp_rate_limit.requests + 1)
    ]
    assert answers[-1] == 429 and set(answers[:-1]) == {422}
