"""POST /oauth/introspect (RFC 7662) and POST /oauth/revoke (RFC 7009)."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.db import Database
from tests.conftest import BASE_URL, Bootstrap, Integrator
from tests.test_oauth_authorization_code import register_lms

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def introspect(
    client: AsyncTestClient[Litestar], caller: Integrator, token: str, **extra: str
) -> dict[str, object]:
    response = await client.post(
        "/oauth/introspect", data={"token": token, **extra}, auth=(caller.client_id, caller.client_secret)
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def whoami_status(client: AsyncTestClient[Litestar], token: str) -> int:
    return (await client.get("/oauth/whoami", headers={"Authorization": f"Bearer {token}"})).status_code


async def test_introspection_describes_active_tokens_of_the_callers_organisation(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    a = await bootstrap.integrator(["organisations:read", "programmes:read"], name="Organisation A")
    body = await introspect(client, a, a.token, token_type_hint="access_token")
    assert body["active"] is True
    assert body["client_id"] == a.client_id and body["sub"] == a.client_id
    assert body["scope"] == "organisations:read programmes:read"
    assert body["iss"] == BASE_URL and body["token_type"] == "Bearer"
    assert body["org"] == str(a.org_id) and isinstance(body["jti"], str)
    assert isinstance(body["exp"], int) and isinstance(body["iat"], int)
    assert body["exp"] - body["iat"] == 600 and abs(body["iat"] - time.time()) < 60

    # Another client of the same organisation (a resource server of theirs) may introspect it.
    secret_b = await bootstrap.oauth_client(a.org_id, ["programmes:read"])
    assert secret_b[1] is not None
    sibling = Integrator(a.organisation, secret_b[0], secret_b[1], "")
    assert (await introspect(client, sibling, a.token))["active"] is True


async def test_introspection_says_only_inactive_otherwise(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    a = await bootstrap.integrator(["organisations:read"], name="Organisation A")
    b = await bootstrap.integrator(["organisations:read"], name="Organisation B")
    assert await introspect(client, b, a.token) == {"active": False}  # not B's to see
    assert await introspect(client, a, "not-a-token") == {"active": False}
    assert await introspect(client, a, a.token + "x") == {"active": False}  # signature broken

    expiring = await bootstrap.token(a.client_id, a.client_secret)
    async with db.transaction() as conn:
        await conn.execute("UPDATE oauth_tokens SET expires_at = now() - interval '1 second'")
    assert await introspect(client, a, expiring) == {"active": False}

    missing = await client.post("/oauth/introspect", data={}, auth=(a.client_id, a.client_secret))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    anonymous = await client.post("/oauth/introspect", data={"token": a.token})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"


async def test_a_form_litestar_cannot_read_is_an_oauth_error_too(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    # Found by schemathesis: a field sent twice failed Litestar's form validation, which answered with a problem
    # document where these endpoints document RFC 6749 errors. And text with U+0000 reached PostgreSQL (500).
    a = await bootstrap.integrator(["organisations:read"], name="Organisation A")
    doubled = [("token", a.token), ("client_id", a.client_id), ("client_secret", "x"), ("client_secret", "y")]
    for url in ("/oauth/introspect", "/oauth/revoke"):
        response = await client.post(url, content=urlencode(doubled), headers=FORM)
        assert response.status_code == 400, (url, response.text)
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "error": "invalid_request",
            "error_description": "client_secret: Expected `str | null`, got `array`",
        }
    nul = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": "gh_\x00", "client_secret": "x"}
    )
    assert nul.status_code == 400, nul.text
    assert nul.json() == {
        "error": "invalid_request",
        "error_description": "text cannot contain the NUL character (U+0000): remove it and send again",
    }


async def test_a_public_client_cannot_introspect(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    lms = await register_lms(bootstrap, client, token_endpoint_auth_method="none")
    tokens = (await lms.exchange(await lms.code())).json()
    response = await client.post(
        "/oauth/introspect", data={"token": tokens["access_token"], "client_id": lms.client_id}
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


async def test_refresh_tokens_are_introspected_too(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    lms = await register_lms(bootstrap, client)
    tokens = (await lms.exchange(await lms.code())).json()
    assert lms.secret is not None
    response = await client.post(
        "/oauth/introspect", data={"token": tokens["refresh_token"]}, auth=(lms.client_id, lms.secret)
    )
    body = response.json()
    assert body["active"] is True and body["token_type"] == "refresh_token"
    assert body["sub"] == str(lms.person_id) and body["client_id"] == lms.client_id

    await lms.refresh(tokens["refresh_token"])  # now used
    after = await client.post(
        "/oauth/introspect", data={"token": tokens["refresh_token"]}, auth=(lms.client_id, lms.secret)
    )
    assert after.json() == {"active": False}


async def test_a_revoked_access_token_is_refused_at_once(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    a = await bootstrap.integrator(["organisations:read"], name="Organisation A")
    other_token = await bootstrap.token(a.client_id, a.client_secret)
    assert await whoami_status(client, a.token) == 200

    revoked = await client.post("/oauth/revoke", data={"token": a.token}, auth=(a.client_id, a.client_secret))
    assert revoked.status_code == 200
    assert await whoami_status(client, a.token) == 401
    assert await introspect(client, a, a.token) == {"active": False}
    assert await whoami_status(client, other_token) == 200  # only that one

    async with db.connection() as conn:
        actions = await conn.fetch(
            "SELECT action, actor_client_id FROM audit_log WHERE organisation_id = $1 AND action = 'token.revoked'",
            a.org_id,
        )
    assert [(r["action"], r["actor_client_id"]) for r in actions] == [("token.revoked", a.client_id)]

    again = await client.post("/oauth/revoke", data={"token": a.token}, auth=(a.client_id, a.client_secret))
    assert again.status_code == 200
    unknown = await client.post("/oauth/revoke", data={"token": "no-such-token"}, auth=(a.client_id, a.client_secret))
    assert unknown.status_code == 200


async def test_only_the_owning_client_revokes(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    a = await bootstrap.integrator(["organisations:read"], name="Organisation A")
    b = await bootstrap.integrator(["organisations:read"], name="Organisation B")
    refused = await client.post("/oauth/revoke", data={"token": a.token}, auth=(b.client_id, b.client_secret))
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert await whoami_status(client, a.token) == 200
    wrong_secret = await client.post("/oauth/revoke", data={"token": a.token}, auth=(a.client_id, "wrong"))
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    assert await whoami_status(client, a.token) == 200


async def test_revoking_a_refresh_token_revokes_its_family(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    lms = await register_lms(bootstrap, client, token_endpoint_auth_method="none")
    first = (await lms.exchange(await lms.code())).json()
    second = (await lms.refresh(first["refresh_token"])).json()
    # A public client revokes its own tokens with its client_id (RFC 7009 §2.1), e.g. on sign-out.
    revoked = await client.post(
        "/oauth/revoke",
        data={"token": second["refresh_token"], "token_type_hint": "refresh_token", "client_id": lms.client_id},
    )
    assert revoked.status_code == 200, revoked.text
    assert await whoami_status(client, second["access_token"]) == 401
    assert await whoami_status(client, first["access_token"]) == 401
    assert (await lms.refresh(second["refresh_token"])).status_code == 400
