"""What the outside review found (issue 12, items 1–5 and 8), each shown through HTTP: a cross-tenant
profile write, a draft-history leak, sign-in throttling, deep JSON, the smaller holes, and error messages."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.exceptions import ValidationException
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.http import read_json
from api.settings import RateLimit, Settings
from domain.db import Database
from domain.oauth.registration import ClientRegistration
from tests.conftest import BASE_URL, Bootstrap
from tests.oauth_flow import APP_REDIRECT_URI, hidden_fields, person_token
from tests.scenarios import publish
from tests.test_cli import invoke_async
from tests.test_codesign_tekniq import ASSESSMENT, programme_content, welder_profile
from tests.test_learner_claims import claim, issue
from tests.test_oauth_authorization_code import register_lms
from tests.test_ob_api import PASSWORD as WALLET_PASSWORD
from tests.test_ob_api import wallet_token
from tests.test_profiles import AMU_WELDER, WELDER, import_sample, profile

Client = AsyncTestClient[Litestar]
PASSWORD = "correct horse battery staple"
MIGRATION = (Path(__file__).resolve().parents[1] / "migrations" / "20261206000050_canonical_emails.sql").read_text()


# 1. Only the owning organisation (and the operator) versions an occupational profile.


async def test_only_the_owner_and_the_operator_add_profile_versions(client: Client, bootstrap: Bootstrap) -> None:
    owner = await bootstrap.integrator(["programmes:write"], name="TEKNIQ Arbejdsgiverne")
    outsider = await bootstrap.integrator(["programmes:write"], name="Somebody Else")
    created = (await client.post("/occupational-profiles", json=AMU_WELDER, headers=owner.headers)).json()
    versions = f"/occupational-profiles/{created['profileId']}/versions"
    forged = profile(title={"da": "Forfalsket", "en": "Forged"})

    refused = await client.post(versions, json=forged, headers={**outsider.headers, "If-Match": '"v1"'})
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert f"organisation {owner.org_id}" in refused.json()["detail"]
    # A viewer of the owning organisation, signing in through an app of that organisation, may not either.
    app_id, app_secret = await bootstrap.oauth_client(
        owner.org_id,
        ["programmes:write"],
        grant_types=["authorization_code"],
        redirect_uris=[APP_REDIRECT_URI],
    )
    assert app_secret is not None
    await bootstrap.member(owner.org_id, "viewer@tekniq.example", ["viewer"], password=PASSWORD)
    viewer = await person_token(client, app_id, app_secret, "viewer@tekniq.example", PASSWORD, "programmes:write")
    as_viewer = await client.post(
        versions, json=forged, headers={"Authorization": f"Bearer {viewer}", "If-Match": '"v1"'}
    )
    assert as_viewer.status_code == 403, as_viewer.text
    assert (await client.get(f"/occupational-profiles/{created['profileId']}")).json() == created

    mine = await client.post(versions, json=profile(), headers={**owner.headers, "If-Match": '"v1"'})
    assert mine.status_code == 201, mine.text
    operator_id, operator_secret = await bootstrap.oauth_client(outsider.org_id, ["admin"])
    assert operator_secret is not None
    operator = await bootstrap.token(operator_id, operator_secret)
    by_operator = await client.post(
        versions,
        json=profile(description={"da": "Rettet af operatøren."}),
        headers={"Authorization": f"Bearer {operator}", "If-Match": '"v2"'},
    )
    assert by_operator.status_code == 201, by_operator.text


async def test_an_import_never_versions_another_organisations_profile(client: Client, bootstrap: Bootstrap) -> None:
    owner = await bootstrap.integrator(["programmes:write"], name="TEKNIQ Arbejdsgiverne")
    outsider = await bootstrap.integrator(["programmes:write"], name="Somebody Else")
    mine = (await client.post("/occupational-profiles", json=AMU_WELDER, headers=owner.headers)).json()
    imported = await import_sample(client, outsider, [WELDER])
    assert imported.status_code == 200, imported.text
    item = imported.json()["items"][0]
    assert item["outcome"] == "created" and item["profile"]["profileId"] != mine["profileId"]
    assert (await client.get(f"/occupational-profiles/{mine['profileId']}")).json() == mine


# 2. The change log of a version, published or not, is for its co-authors.


async def test_the_change_log_is_for_coauthors_only(client: Client, bootstrap: Bootstrap) -> None:
    lead = await bootstrap.integrator(["programmes:write"], name="TEKNIQ Arbejdsgiverne")
    chamber = await bootstrap.integrator(["programmes:write"], name="Chamber", kind="chamber")
    reader = await bootstrap.integrator(["programmes:read"], name="Any Reader")
    profile_version = await welder_profile(client, lead)
    content = {
        **programme_content(profile_version, str(lead.org_id), str(chamber.org_id), str(lead.org_id)),
        "eqfLevel": 4,
        "units": [{**programme_content(profile_version, "", "", "")["units"][0], "assessment": ASSESSMENT}],
    }
    pid = await publish(client, lead, chamber, content)
    v1 = f"/programmes/{pid}/versions/1"

    public = await client.get(v1, headers=reader.headers)
    assert public.status_code == 200  # the published content is public, and who approved it, not who drafted
    assert public.json()["approvals"] and all(
        a["personId"] is None and a["clientId"] is None for a in public.json()["approvals"]
    )
    assert (await client.get(v1, headers=chamber.headers)).json()["approvals"][0]["clientId"] == chamber.client_id
    hidden = await client.get(f"{v1}/changes", headers=reader.headers)
    assert hidden.status_code == 404, hidden.text
    assert hidden.headers["content-type"].startswith("application/problem+json")
    assert "co-authors" in hidden.json()["detail"]
    for coauthor in (lead, chamber):
        log = await client.get(f"{v1}/changes", headers=coauthor.headers)
        assert log.status_code == 200, log.text
        assert log.json()["number"] == 1


def _problem(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    return body


# 4. JSON nested ~1,000 deep is refused at the edge, with or without a token, by every JSON operation.

DEEP_ARRAY = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


async def test_deeply_nested_json_is_refused_at_the_edge_never_a_500(client: Client, bootstrap: Bootstrap) -> None:
    who = await bootstrap.integrator(
        ["programmes:write", "assessments:write", "organisations:write", "webhooks:manage"], name="Deep Thought"
    )
    org = f"/organisations/{who.org_id}"
    operations = [
        ("POST", "/occupational-profiles", who.headers),
        ("POST", "/programmes", who.headers),
        ("POST", f"{org}/learners", who.headers),
        ("POST", f"{org}/attempts", who.headers),
        ("POST", f"{org}/result-batches", who.headers),
        ("POST", "/xapi/statements", {**who.headers, "X-Experience-API-Version": "1.0.3"}),
        ("PATCH", org, {**who.headers, "If-Match": '"v1"'}),
        ("POST", "/oauth/register", {}),
        ("POST", "/verify", {}),
        ("POST", "/programmes", {}),  # no token at all
    ]
    for method, url, headers in operations:
        for body in (DEEP_ARRAY, DEEP_OBJECT, '{"title": ' + DEEP_ARRAY + "}"):
            response = await client.request(
                method, url, content=body, headers={**headers, "Content-Type": "application/json"}
            )
            assert response.status_code in (400, 401, 422), (method, url, response.status_code, response.text)
            if response.status_code != 401:
                assert "nested more than" in response.text, (method, url, response.text)


# 5. JSON bodies only as JSON, without duplicate keys.


async def test_a_json_body_needs_a_json_content_type(client: Client, bootstrap: Bootstrap) -> None:
    who = await bootstrap.integrator(["programmes:write"], name="TEKNIQ Arbejdsgiverne")

    body = json.dumps(AMU_WELDER)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {**who.headers, **({"Content-Type": content_type} if content_type else {})}
        response = await client.post("/occupational-profiles", content=body, headers=headers)
        assert response.status_code == 415, (content_type, response.text)
        assert "application/json" in _problem(response)["detail"]
    for content_type in ("application/json", "application/json; charset=utf-8"):
        headers = {**who.headers, "Content-Type": content_type}
        assert (await client.post("/occupational-profiles", content=body, headers=headers)).status_code == 201
    document = (await client.get("/schema/openapi.json")).json()
    assert "415" in document["paths"]["/occupational-profiles"]["post"]["responses"]


async def test_every_missing_required_member_is_named_at_once(client: Client, bootstrap: Bootstrap) -> None:
    who = await bootstrap.integrator(["programmes:write"], name="TEKNIQ Arbejdsgiverne")
    for _ in range(2):  # the required members are read once per body type, then remembered: the same answer
        response = await client.post("/occupational-profiles", json={}, headers=who.headers)
        assert response.status_code == 400, response.text
        detail = _problem(response)["detail"]
        for member in ("title", "defaultLanguage", "competences"):
            assert f"{member}: required, and missing" in detail, detail


async def test_duplicate_json_keys_are_refused_with_the_key_named(client: Client, bootstrap: Bootstrap) -> None:
    who = await bootstrap.integrator(["programmes:write"], name="TEKNIQ Arbejdsgiverne")

    good = json.dumps(AMU_WELDER)
    twice = good[:-1] + ', "iscoCode": "9999"}'
    inner = good.replace(
        '"title": {"da": "Svejser, plade (AMU)"', '"title": {"da": "x", "da": "Svejser, plade (AMU)"', 1
    )
    assert inner != good
    for body, key in ((twice, "iscoCode"), (inner, "title.da")):
        response = await client.post(
            "/occupational-profiles", content=body, headers={**who.headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
        problem = _problem(response)
        assert f"the key {key!r} appears twice" in problem["detail"], problem
        assert problem["invalidParams"][0]["name"] == key


# 8. Error messages that say what to do.


async def test_an_empty_body_says_a_json_body_is_required(client: Client, bootstrap: Bootstrap) -> None:
    who = await bootstrap.integrator(["programmes:write"], name="TEKNIQ Arbejdsgiverne")
    for headers in ({"Content-Type": "application/json"}, {}):
        response = await client.post("/occupational-profiles", content=b"", headers={**who.headers, **headers})
        assert response.status_code == 400, response.text
        assert _problem(response)["detail"].startswith("a JSON body is required"), response.text


async def test_registration_names_every_missing_field_at_once(client: Client) -> None:
    response = await client.post("/oauth/register", json={"client_name": "Wallet"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_client_metadata"
    for field in (
        "client_uri",
        "logo_uri",
        "tos_uri",
        "policy_uri",
        "software_id",
        "software_version",
        "redirect_uris",
        "scope",
    ):
        assert field in body["error_description"], (field, body)
    assert "client_name" not in body["error_description"]


# 5. No existence oracle through issuing holds.


async def test_holding_anothers_private_draft_answers_as_a_random_id(client: Client, bootstrap: Bootstrap) -> None:
    a = await bootstrap.integrator(["programmes:write", "credentials:issue"], name="Organisation A")
    b = await bootstrap.integrator(
        ["credentials:issue", "credentials:read"], name="Organisation B", kind="vet_provider"
    )
    profile_version = await welder_profile(client, a)
    content = programme_content(profile_version, str(a.org_id), str(a.org_id), str(a.org_id))
    draft = await client.post("/programmes", json={"content": content}, headers=a.headers)
    assert draft.status_code == 201, draft.text
    draft_id, random_id = draft.json()["designId"], str(uuid.uuid4())
    answers = {}
    for programme in (draft_id, random_id):
        response = await client.put(
            f"/organisations/{b.org_id}/issuing-holds/{programme}", json={"reason": "x"}, headers=b.headers
        )
        answers[programme] = (response.status_code, _problem(response)["detail"].replace(programme, "<id>"))
    assert answers[draft_id] == answers[random_id] == (404, "there is no programme <id>")
    # A co-author of the draft may hold it.
    mine = await client.put(f"/organisations/{a.org_id}/issuing-holds/{draft_id}", json={}, headers=a.headers)
    assert mine.status_code == 200, mine.text


# 5. Claim codes are kept as a keyed hash; codes handed out before the change still work until used.


async def test_claim_codes_are_stored_as_a_keyed_hash(client: Client, bootstrap: Bootstrap, db: Database) -> None:
    provider = await bootstrap.integrator(["assessments:write"], name="Festo Didactic", kind="vet_provider")
    learners = f"/organisations/{provider.org_id}/learners"
    ids = [(await client.post(learners, json={"name": n}, headers=provider.headers)).json()["id"] for n in "AB"]
    code = await issue(client, provider, ids[0])
    raw = code.replace("-", "")
    async with db.connection() as conn:
        stored = await conn.fetchval("SELECT code_hash FROM learner_claim_codes WHERE learner_id = $1", UUID(ids[0]))
        assert stored != hashlib.sha256(raw.encode()).hexdigest() and raw not in stored
        assert stored.startswith("hmac-sha256:")
        # A code handed out before keyed hashes (its unkeyed SHA-256 kept) is still honoured, once.
        old_code = "K7QF3MZPXW"
        await conn.execute(
            "INSERT INTO learner_claim_codes (code_hash, learner_id, provider_id, expires_at) "
            "VALUES ($1, $2, $3, now() + interval '1 day')",
            hashlib.sha256(old_code.encode()).hexdigest(),
            UUID(ids[1]),
            provider.org_id,
        )
    assert (await claim(client, code, email="a@mail.example")).status_code == 200
    first = await claim(client, "k7qf-3mzp-xw", email="b@mail.example")
    assert first.status_code == 200, first.text
    assert (await claim(client, "K7QF-3MZP-XW", email="c@mail.example")).status_code == 422


# 5. Answers say how to treat them: JSON is not stored or sniffed, pages cannot be framed.


async def test_json_answers_are_not_stored_or_sniffed(client: Client, bootstrap: Bootstrap) -> None:
    who = await bootstrap.integrator(["organisations:read"], name="Organisation A")
    for response in (
        await client.get(f"/organisations/{who.org_id}", headers=who.headers),
        await client.get("/organisations/00000000-0000-4000-8000-000000000000", headers=who.headers),
        await client.get("/no-such-thing"),
        await client.get("/healthz"),
    ):
        assert response.headers["cache-control"] == "no-store", (response.url, response.headers)
        assert response.headers["x-content-type-options"] == "nosniff"
    public = await client.get("/.well-known/oauth-authorization-server")
    assert public.headers["cache-control"] == "public, max-age=3600"  # a public, cacheable document keeps its own
    assert public.headers["x-content-type-options"] == "nosniff"


async def test_pages_carry_a_content_security_policy_and_cannot_be_framed(client: Client) -> None:
    for url in ("/schema", "/ims/ob/v3p0/policies"):
        page = await client.get(url)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), url
        csp = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp, (url, csp)
        assert "default-src 'none'" in csp or "default-src 'self'" in csp, (url, csp)
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
    docs = (await client.get("/schema")).headers["content-security-policy"]
    assert "script-src 'self'" in docs and "style-src 'self'" in docs
    assert "http" not in docs  # nothing from another origin


# 5. /metrics needs a token in production.


async def test_metrics_need_a_token_in_production(settings: Settings) -> None:
    production = dataclasses.replace(
        settings, environment="production", metrics_token="s3cret-scraper-token-0123456789"
    )
    async with AsyncTestClient(app=create_app(production), base_url=BASE_URL) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic czNjcmV0"}):
            refused = await http.get("/metrics", headers=headers)
            assert refused.status_code == 401, refused.text
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "GUILDHALL_METRICS_TOKEN" in _problem(refused)["detail"]
        scraped = await http.get("/metrics", headers={"Authorization": "Bearer s3cret-scraper-token-0123456789"})
        assert scraped.status_code == 200 and "requests_total" in scraped.text
    unset = dataclasses.replace(settings, environment="production")
    async with AsyncTestClient(app=create_app(unset), base_url=BASE_URL) as http:
        closed = await http.get("/metrics")
        assert closed.status_code == 404, closed.text
        assert "GUILDHALL_METRICS_TOKEN" in _problem(closed)["detail"]


# 3. Sign-in throttling: per address too, one canonical form of an e-mail address, a sliding window.


async def _sign_in(http: Client, lms: Any, email: str, password: str) -> Any:

    page = await http.get("/oauth/authorize", params=lms.request())
    form = {**hidden_fields(page.text), "email": email, "password": password, "decision": "allow"}
    return await http.post("/oauth/authorize", data=form, follow_redirects=False)


async def test_one_address_cannot_spray_passwords_over_many_accounts(client: Client, bootstrap: Bootstrap) -> None:
    lms = await register_lms(bootstrap, client)  # the default limits
    statuses = [
        (await _sign_in(client, lms, f"user{n}@example.org", "Summer2026!Summer")).status_code for n in range(40)
    ]
    assert 429 in statuses, statuses
    first_refusal = statuses.index(429)
    assert first_refusal <= 30 and set(statuses[first_refusal:]) == {429}, statuses
    assert (await _sign_in(client, lms, "ada@example.org", PASSWORD)).status_code == 429  # the address waits


async def test_an_address_is_one_account_in_every_spelling(settings: Settings, bootstrap: Bootstrap) -> None:
    limited = create_app(dataclasses.replace(settings, login_rate_limit=RateLimit(2, 3600)))
    async with AsyncTestClient(app=limited, base_url=BASE_URL) as http:
        lms = await register_lms(bootstrap, http)
        organisation = await bootstrap.db.pool.fetchval(
            "SELECT organisation_id FROM members WHERE person_id = $1", lms.person_id
        )
        await bootstrap.member(organisation, "ida@example.org", ["viewer"], password=PASSWORD)
        # U+0130 (İ) is not i: PostgreSQL's lower() made it one, Python's another; now it is its own address.
        dotted = await _sign_in(http, lms, "\u0130da@example.org", PASSWORD)
        assert dotted.status_code == 400, dotted.text
        assert [(await _sign_in(http, lms, "ida@example.org", "wrong guess one")).status_code for _ in range(2)] == [
            400,
            400,
        ]
        # Capitals and full-width letters (NFKC) spell the same address, so they share its budget.
        for spelling in ("IDA@Example.ORG", "\uff49\uff44\uff41@example.org"):
            assert (await _sign_in(http, lms, spelling, PASSWORD)).status_code == 429, spelling
    async with AsyncTestClient(app=create_app(settings), base_url=BASE_URL) as http:
        signed_in = await _sign_in(http, lms, "\uff29\uff24\uff21@EXAMPLE.org", PASSWORD)
        assert signed_in.status_code == 302, signed_in.text


async def test_limits_slide_so_a_window_boundary_does_not_double_them(settings: Settings) -> None:
    window = 2
    limited = create_app(dataclasses.replace(settings, token_rate_limit=RateLimit(3, window)))
    form = {"grant_type": "client_credentials"}
    async with AsyncTestClient(app=limited, base_url=BASE_URL) as http:
        # Late in one fixed window, so that the next request falls in the next one.
        await asyncio.sleep((window - 0.6 - time.time() % window) % window)
        next_window = (time.time() // window + 1) * window
        answers = [(await http.post("/oauth/token", data=form)).status_code for _ in range(3)]
        assert 429 not in answers, answers
        # Just past the boundary, or at once if a loaded machine took that long over the three.
        await asyncio.sleep(max(0.0, next_window + 0.1 - time.time()))
        refused = await http.post("/oauth/token", data=form)
        assert refused.status_code == 429, "a fixed window would start counting afresh here"
        assert 1 <= int(refused.headers["retry-after"]) <= window
        await asyncio.sleep(int(refused.headers["retry-after"]) + 0.1)
        assert (await http.post("/oauth/token", data=form)).status_code != 429


def test_the_readme_lists_every_field_a_registration_needs() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    part = readme[readme.index("A registration (`Content-Type: application/json`) must give all of") :]
    part = part[: part.index("\n\n")]
    required = [f.encode_name for f in msgspec.structs.fields(ClientRegistration) if f.required]
    assert len(required) == 9
    for name in required:
        assert f"`{name}`" in part, name


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from('a:"\\\u00e9[]{}u003A ')),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet=st.sampled_from('ab:"\\[u0'), max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(value=_JSON, ensure_ascii=st.booleans())
def test_the_edge_reads_every_json_text_as_json_does_and_finds_every_repeated_key(
    value: Any, ensure_ascii: bool
) -> None:
    """Property: without repeated keys the edge's value is the standard library's; with one it refuses."""

    text = json.dumps(value, ensure_ascii=ensure_ascii)
    assert read_json(text.encode()) == json.loads(text)
    if isinstance(value, dict) and value:
        name, member = next(iter(value.items()))
        again = json.dumps(name, ensure_ascii=ensure_ascii) + ": " + json.dumps(member, ensure_ascii=ensure_ascii)
        repeated = "{" + again + ", " + text[1:]
        with pytest.raises(ValidationException, match="appears twice"):
            read_json(repeated.encode())


async def test_deep_json_inside_a_signed_credential_is_refused_never_a_500(
    client: Client, bootstrap: Bootstrap
) -> None:
    def b64(data: str) -> str:
        return base64.urlsafe_b64encode(data.encode()).rstrip(b"=").decode()

    organisation = await bootstrap.organisation("Somewhere")
    await bootstrap.member(organisation.id, "deep@example.org", ["viewer"], password=WALLET_PASSWORD)
    person = await wallet_token(client, "deep@example.org")
    header = b64('{"alg": "ES256"}')
    deep_jwt = f"{header}.{b64(DEEP_ARRAY)}.c2ln"
    deep_header = f"{b64(DEEP_OBJECT)}.{b64('{}')}.c2ln"
    with_proof = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "proof": {"type": "JwtProof2020", "jwt": deep_jwt},
    }
    for body, media_type in (
        (deep_jwt, "text/plain"),
        (deep_header, "text/plain"),
        (deep_jwt, "application/vc+jwt"),
        (json.dumps(with_proof), "application/json"),
    ):
        response = await client.post(
            "/ims/ob/v3p0/credentials", content=body, headers={**person, "Content-Type": media_type}
        )
        assert 400 <= response.status_code < 500, (media_type, response.status_code, response.text)


async def test_a_token_whose_header_or_claims_nest_deep_is_refused_never_a_500(client: Client) -> None:
    def b64(data: str) -> str:
        return base64.urlsafe_b64encode(data.encode()).rstrip(b"=").decode()

    header = b64('{"alg": "ES256", "kid": "x"}')
    for token in (f"{b64(DEEP_OBJECT)}.{b64('{}')}.c2ln", f"{header}.{b64(DEEP_OBJECT)}.c2ln"):
        response = await client.get("/organisations", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, response.text
        introspected = await client.post("/oauth/introspect", data={"token": token})
        assert introspected.status_code < 500, introspected.text


async def test_migrate_gives_existing_addresses_their_canonical_form(isolated_database_url: str) -> None:
    """Migration 20261206000050 computes the canonical form in SQL (exact for ASCII); `guildhall migrate` then
    re-derives the others in Python, so that "Straße" is "strasse" as the sign-in form will compute it."""

    down = MIGRATION.split("-- migrate:down", 1)[1]
    conn = await asyncpg.connect(isolated_database_url)
    try:
        await conn.execute(down)
        await conn.execute("DELETE FROM schema_migrations WHERE version = '20261206000050'")
        await conn.execute(
            "INSERT INTO persons (email, name) VALUES ('Straße@Example.org', 'S'), ('ADA@example.org', 'A'), "
            "('\uff46\uff55\uff4c\uff4c@example.org', 'F')"
        )
        migrated = await invoke_async("migrate", DATABASE_URL=isolated_database_url)
        assert migrated.code == 0, migrated
        lines = [json.loads(line) for line in migrated.out.splitlines()]
        assert {"applied": "20261206000050"} in lines and {"emailsRecanonicalised": 1} in lines, lines
        rows = await conn.fetch("SELECT name, email_canonical FROM persons ORDER BY name")
    finally:
        await conn.close()
    assert {r["name"]: r["email_canonical"] for r in rows} == {
        "A": "ada@example.org",
        "F": "full@example.org",
        "S": "strasse@example.org",
    }


async def test_a_providers_learners_are_one_per_address_in_every_spelling(client: Client, bootstrap: Bootstrap) -> None:
    provider = await bootstrap.integrator(["assessments:write"], name="Festo Didactic", kind="vet_provider")
    learners = f"/organisations/{provider.org_id}/learners"
    first = await client.post(learners, json={"name": "Jonas", "email": "jonas@example.de"}, headers=provider.headers)
    assert first.status_code == 201, first.text
    for spelling in ("JONAS@example.DE", "\uff4a\uff4f\uff4e\uff41\uff53@example.de"):
        again = await client.post(learners, json={"name": "Jonas", "email": spelling}, headers=provider.headers)
        assert again.status_code == 409, (spelling, again.text)
    dotted = await client.post(learners, json={"name": "J", "email": "jon\u0130s@example.de"}, headers=provider.headers)
    assert dotted.status_code == 201, dotted.text  # another address, as sign-in sees it
