"""The Open Badges 3.0 API as a wallet uses it: discovery, dynamic registration (RFC 7591), the
authorization-code flow with an Open Badges scope, then the learner's credentials and profile."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonschema
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.db import Database
from domain.oauth.registration import SELF_REGISTERED_ORGANISATION_ID
from domain.scopes import OB_CREDENTIAL_READONLY, OB_CREDENTIAL_UPSERT, OB_PROFILE_READONLY, OB_PROFILE_UPDATE
from tests.conftest import BASE_URL, Bootstrap
from tests.oauth_flow import APP_REDIRECT_URI, person_token
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credentials_festo import simulator_pass
from tests.test_learner_claims import PASSWORD, claim, issue, second_learner

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "openbadges-3.0"
OB = "/ims/ob/v3p0"
ALL_SCOPES = " ".join([OB_CREDENTIAL_READONLY, OB_CREDENTIAL_UPSERT, OB_PROFILE_READONLY, OB_PROFILE_UPDATE])
JONAS = "jonas.weber@mail.example"
METTE = "mette.hansen@mail.example"

# The members a Service Description Document must have (Open Badges 3.0, ServiceDescriptionDocument).
SERVICE_DESCRIPTION = {
    "type": "object",
    "required": ["openapi", "info", "components"],
    "properties": {
        "openapi": {"type": "string"},
        "info": {
            "type": "object",
            "required": ["title", "version", "termsOfService", "x-imssf-privacyPolicyUrl"],
            "properties": {"termsOfService": {"type": "string", "format": "uri"}},
        },
        "components": {
            "type": "object",
            "required": ["securitySchemes"],
            "properties": {
                "securitySchemes": {
                    "type": "object",
                    "required": ["OAuth2ACG"],
                    "properties": {
                        "OAuth2ACG": {
                            "type": "object",
                            "required": ["type", "x-imssf-registrationUrl", "flows"],
                            "properties": {
                                "type": {"const": "oauth2"},
                                "flows": {
                                    "type": "object",
                                    "required": ["authorizationCode"],
                                    "properties": {
                                        "authorizationCode": {
                                            "type": "object",
                                            "required": ["authorizationUrl", "tokenUrl", "scopes"],
                                        }
                                    },
                                },
                            },
                        }
                    },
                }
            },
        },
    },
}


def reference_schema(name: str) -> dict[str, Any]:
    path = REFERENCE / name
    if not path.is_file():
        pytest.skip(f"the Open Badges 3.0 reference schemas are not at {REFERENCE} (a clone without ../shared)")
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def validate(body: Any, name: str, definition: str | None = None) -> None:
    schema = reference_schema(name)
    if definition is not None:
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    jsonschema.Draft201909Validator(schema).validate(body)


def wallet(**overrides: Any) -> dict[str, Any]:
    return {
        "client_name": "Badge Wallet",
        "client_uri": "https://wallet.example",
        "logo_uri": "https://wallet.example/logo.png",
        "tos_uri": "https://wallet.example/terms",
        "policy_uri": "https://wallet.example/privacy",
        "software_id": "c5a8f3a2-3f4e-4d6e-9b7a-0e1f2d3c4b5a",
        "software_version": "1.4.0",
        "redirect_uris": [APP_REDIRECT_URI],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": ALL_SCOPES,
        "contacts": ["support@wallet.example"],
        **overrides,
    }


async def register(client: AsyncTestClient[Litestar], **overrides: Any) -> dict[str, Any]:
    response = await client.post("/oauth/register", json=wallet(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def wallet_token(client: AsyncTestClient[Litestar], email: str, scope: str = ALL_SCOPES) -> dict[str, str]:
    """A person's token, got the way a wallet gets it: register, then the authorization-code flow."""
    registered = await register(client, scope=scope)
    token = await person_token(client, registered["client_id"], registered["client_secret"], email, PASSWORD, scope)
    return {"Authorization": f"Bearer {token}"}


def imsx_minor(response: httpx.Response) -> str:
    body = response.json()
    assert body["imsx_codeMajor"] == "failure" and body["imsx_severity"] == "error", body
    assert body["imsx_description"] == body["detail"]
    value: str = body["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
    return value


@dataclass
class Learners:
    room: Classroom
    jonas: dict[str, str]  # a wallet's token for each
    mette: dict[str, str]
    mette_learner_id: str


async def cosign_everything(client: AsyncTestClient[Litestar], room: Classroom) -> None:
    queue = await client.get(f"/organisations/{room.chamber.org_id}/cosignature-queue", headers=room.chamber.headers)
    ids = [c["id"] for c in queue.json()["items"]]
    assert ids, queue.text
    signed = await client.post(
        f"/organisations/{room.chamber.org_id}/cosignatures", json={"credentialIds": ids}, headers=room.chamber.headers
    )
    assert {i["outcome"] for i in signed.json()["items"]} == {"cosigned"}, signed.text


async def learners(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> Learners:
    """Jonas passes the welding unit, then the simulation (3 credentials: two units, the programme); Mette,
    another learner of the same provider, passes the welding unit (1 credential). Each claims their record."""
    room = await classroom(client, bootstrap)
    recorded = await client.post(
        room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=room.provider.headers
    )
    assert recorded.status_code == 201, recorded.text
    mette_learner_id = await second_learner(client, room)
    await drain(db, settings)
    await simulator_pass(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)
    assert (await claim(client, await issue(client, room.provider, room.learner_id), email=JONAS)).status_code == 200
    mette_code = await issue(client, room.provider, mette_learner_id)
    assert (await claim(client, mette_code, email=METTE)).status_code == 200
    return Learners(room, await wallet_token(client, JONAS), await wallet_token(client, METTE), mette_learner_id)


async def issued_credentials(db: Database, learner_id: str) -> list[dict[str, Any]]:
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT id, issued_at FROM credentials WHERE learner_id = $1 ORDER BY issued_at, id", learner_id
        )
    return [dict(r) for r in rows]


def payload_of(jwt: str) -> dict[str, Any]:
    part = jwt.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


# --- Discovery and registration ---------------------------------------------------------------------


async def test_discovery_describes_the_service_and_names_our_endpoints(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get(f"{OB}/discovery")
    assert response.status_code == 200, response.text
    document = response.json()
    jsonschema.Draft201909Validator(SERVICE_DESCRIPTION).validate(document)
    scheme = document["components"]["securitySchemes"]["OAuth2ACG"]
    assert scheme["x-imssf-registrationUrl"] == f"{BASE_URL}/oauth/register"
    flow = scheme["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == f"{BASE_URL}/oauth/authorize"
    assert flow["tokenUrl"] == flow["refreshUrl"] == f"{BASE_URL}/oauth/token"
    assert set(flow["scopes"]) == {OB_CREDENTIAL_READONLY, OB_CREDENTIAL_UPSERT, OB_PROFILE_READONLY, OB_PROFILE_UPDATE}
    assert document["servers"] == [{"url": f"{BASE_URL}{OB}", "description": "This Guildhall"}]
    assert {(path, method) for path, item in document["paths"].items() for method in item} == {
        ("/credentials", "get"),
        ("/credentials", "post"),
        ("/profile", "get"),
        ("/profile", "put"),
    }
    for url in (document["info"]["x-imssf-privacyPolicyUrl"], document["info"]["termsOfService"]):
        page = await client.get(url.removeprefix(BASE_URL))
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert f'id="{urlsplit(url).fragment}"' in page.text
    metadata = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["registration_endpoint"] == f"{BASE_URL}/oauth/register"
    assert OB_CREDENTIAL_READONLY in metadata["scopes_supported"]


async def test_a_wallet_registers_itself_and_acts_only_for_a_person_with_open_badges_scopes(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    response = await client.post("/oauth/register", json=wallet())
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    registered = response.json()
    assert registered["client_id"].startswith("gh_") and registered["client_secret"]
    assert registered["client_secret_expires_at"] == 0 and isinstance(registered["client_id_issued_at"], int)
    expected = wallet()
    for name in (
        "client_name",
        "client_uri",
        "logo_uri",
        "tos_uri",
        "policy_uri",
        "software_id",
        "software_version",
        "redirect_uris",
        "token_endpoint_auth_method",
        "response_types",
        "contacts",
    ):
        assert registered[name] == expected[name], name
    assert sorted(registered["grant_types"]) == ["authorization_code", "refresh_token"]
    assert set(registered["scope"].split()) == set(ALL_SCOPES.split())
    async with db.connection() as conn:
        stored = await conn.fetchrow(
            "SELECT c.organisation_id, c.secret_hash, r.metadata FROM oauth_clients c "
            "JOIN oauth_client_registrations r USING (client_id) WHERE c.client_id = $1",
            registered["client_id"],
        )
    assert stored["organisation_id"] == SELF_REGISTERED_ORGANISATION_ID
    assert stored["secret_hash"] == hashlib.sha256(registered["client_secret"].encode()).hexdigest()
    assert registered["client_secret"] not in json.dumps(stored["metadata"])

    room = await classroom(client, bootstrap)
    assert (await claim(client, await issue(client, room.provider, room.learner_id), email=JONAS)).status_code == 200
    # The consent page says that nobody vouches for the wallet.
    page = await client.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": registered["client_id"],
            "redirect_uri": APP_REDIRECT_URI,
            "scope": OB_PROFILE_READONLY,
            "state": "s",
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 200 and "wallet.example" in page.text and "vouches" in page.text
    token = await person_token(
        client, registered["client_id"], registered["client_secret"], JONAS, PASSWORD, OB_PROFILE_READONLY
    )
    whoami = (await client.get("/oauth/whoami", headers={"Authorization": f"Bearer {token}"})).json()
    assert whoami["scopes"] == [OB_PROFILE_READONLY] and whoami["personId"]
    # Never for itself, and never a scope of the platform's own.
    auth = (registered["client_id"], registered["client_secret"])
    refused = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)
    assert refused.status_code in (400, 401) and refused.json()["error"] == "unauthorized_client", refused.text
    foreign = await client.get(
        "/oauth/authorize",
        follow_redirects=False,
        params={
            "response_type": "code",
            "client_id": registered["client_id"],
            "redirect_uri": APP_REDIRECT_URI,
            "scope": "assessments:read",
            "state": "s",
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
        },
    )
    assert foreign.status_code == 302
    assert parse_qs(urlsplit(foreign.headers["location"]).query)["error"] == ["invalid_scope"]
    # Another self-registered wallet learns nothing of this one's token (they share no organisation).
    other = await register(client, client_name="Other Wallet")
    introspected = await client.post(
        "/oauth/introspect", data={"token": token}, auth=(other["client_id"], other["client_secret"])
    )
    assert introspected.json() == {"active": False}
    own = await client.post("/oauth/introspect", data={"token": token}, auth=auth)
    assert own.json()["active"] is True


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"redirect_uris": ["http://wallet.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://wallet.example/cb#fragment"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["com.wallet.app:/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://user:pw@wallet.example/cb"]}, "invalid_redirect_uri"),
        ({"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"grant_types": ["authorization_code", "implicit"]}, "invalid_client_metadata"),
        ({"grant_types": ["refresh_token"]}, "invalid_client_metadata"),
        ({"response_types": ["token"]}, "invalid_client_metadata"),
        ({"scope": f"{OB_CREDENTIAL_READONLY} assessments:read"}, "invalid_client_metadata"),
        ({"scope": "admin"}, "invalid_client_metadata"),
        ({"logo_uri": "ftp://wallet.example/logo.png"}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
        ({"client_name": None}, "invalid_client_metadata"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
    ],
)
async def test_registration_refuses_what_a_self_registered_client_may_not_have(
    client: AsyncTestClient[Litestar], overrides: dict[str, Any], error: str
) -> None:
    body = {k: v for k, v in wallet(**overrides).items() if v is not None}
    response = await client.post("/oauth/register", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error and response.json()["error_description"], response.text


async def test_a_wallet_on_the_persons_own_machine_may_use_http_loopback_and_no_secret(
    client: AsyncTestClient[Litestar],
) -> None:
    registered = await register(
        client,
        redirect_uris=["http://127.0.0.1:7171/cb", "http://[::1]/cb", "http://localhost/cb"],
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        contacts=[],
    )
    assert "client_secret" not in registered and registered["token_endpoint_auth_method"] == "none"
    assert registered["grant_types"] == ["authorization_code"]


# --- getCredentials ---------------------------------------------------------------------------------


async def test_a_learner_reads_their_own_credentials_page_by_page_and_nobody_elses(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    people = await learners(client, bootstrap, db, settings)
    jonas_credentials = await issued_credentials(db, people.room.learner_id)
    [mette_credential] = await issued_credentials(db, people.mette_learner_id)
    assert len(jonas_credentials) == 3

    everything = await client.get(f"{OB}/credentials", headers=people.jonas)
    assert everything.status_code == 200, everything.text
    validate(everything.json(), "getopenbadgecredentialsresponse.schema.json")
    assert everything.headers["x-total-count"] == "3"
    jwts = everything.json()["compactJwsString"]
    assert everything.json()["credential"] == []
    assert [payload_of(j)["id"] for j in jwts] == [f"urn:uuid:{c['id']}" for c in jonas_credentials]
    assert f"urn:uuid:{mette_credential['id']}" not in everything.text
    vc_jwt = await client.get(f"/credentials/{jonas_credentials[0]['id']}/vc-jwt", headers=people.room.provider.headers)
    assert jwts[0] == vc_jwt.text  # the awarding body's VC-JWT, as issued

    first = await client.get(f"{OB}/credentials", params={"limit": 2}, headers=people.jonas)
    assert first.headers["x-total-count"] == "3"
    assert len(first.json()["compactJwsString"]) == 2
    links = httpx.Response(200, headers={"link": first.headers["link"]}).links
    assert set(links) == {"next", "last", "first"}  # no prev on the first page
    assert "offset=2" in links["next"]["url"] and "limit=2" in links["next"]["url"]
    assert "offset=2" in links["last"]["url"] and "offset=0" in links["first"]["url"]
    following = await client.get(links["next"]["url"].removeprefix(BASE_URL), headers=people.jonas)
    assert [payload_of(j)["id"] for j in first.json()["compactJwsString"] + following.json()["compactJwsString"]] == [
        payload_of(j)["id"] for j in jwts
    ]
    last_links = httpx.Response(200, headers={"link": following.headers["link"]}).links
    assert set(last_links) == {"last", "first", "prev"}  # no next on the last page
    assert "offset=0" in last_links["prev"]["url"]

    # Issue times have one-second precision: "since" includes its own second, so that a wallet passing the last
    # issue time it saw misses nothing issued in that second (it gets what it saw again, and knows the ids).
    async with db.connection() as conn:
        await conn.execute(
            "UPDATE credentials SET issued_at = issued_at - interval '1 hour' WHERE id = $1", jonas_credentials[0]["id"]
        )
    since = jonas_credentials[1]["issued_at"].isoformat()
    later = await client.get(f"{OB}/credentials", params={"since": since}, headers=people.jonas)
    assert later.headers["x-total-count"] == "2", later.text
    assert [payload_of(j)["id"] for j in later.json()["compactJwsString"]] == [
        f"urn:uuid:{c['id']}" for c in jonas_credentials[1:]
    ]
    assert "since=" in later.headers["link"]
    zulu = (jonas_credentials[0]["issued_at"] - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    inclusive = await client.get(f"{OB}/credentials", params={"since": zulu}, headers=people.jonas)
    assert inclusive.headers["x-total-count"] == "3"

    mette = await client.get(f"{OB}/credentials", headers=people.mette)
    assert [payload_of(j)["id"] for j in mette.json()["compactJwsString"]] == [f"urn:uuid:{mette_credential['id']}"]
    assert mette.headers["x-total-count"] == "1"

    # A revoked credential is no longer listed.
    revoked = await client.post(
        f"/credentials/{jonas_credentials[2]['id']}/revocation",
        json={"reason": "Issued in error"},
        headers=people.room.provider.headers,
    )
    assert revoked.status_code == 200, revoked.text
    assert (await client.get(f"{OB}/credentials", headers=people.jonas)).headers["x-total-count"] == "2"

    for params in ({"limit": 0}, {"offset": -1}, {"since": "0.5"}, {"since": "2026-11-20"}):
        malformed = await client.get(f"{OB}/credentials", params=params, headers=people.jonas)
        assert malformed.status_code == 400 and imsx_minor(malformed) == "invalid_query_parameter", params
        assert malformed.headers["content-type"] == "application/problem+json"


# --- upsertCredential -------------------------------------------------------------------------------


async def test_a_wallet_stores_a_credential_here_and_gets_it_back_as_it_sent_it(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    people = await learners(client, bootstrap, db, settings)
    [first, *_] = await issued_credentials(db, people.room.learner_id)
    provider = people.room.provider.headers
    vc_jwt = (await client.get(f"/credentials/{first['id']}/vc-jwt", headers=provider)).text
    with_proof = (await client.get(f"/credentials/{first['id']}/json", headers=provider)).json()
    url = f"{OB}/credentials"

    created = await client.post(url, content=vc_jwt, headers={**people.jonas, "Content-Type": "text/plain"})
    assert created.status_code == 201, created.text
    assert created.text == vc_jwt and created.headers["content-type"].startswith("text/plain")
    again = await client.post(url, content=vc_jwt, headers={**people.jonas, "Content-Type": "text/plain"})
    assert again.status_code == 200, again.text

    updated = await client.post(url, json=with_proof, headers=people.jonas)
    assert updated.status_code == 200, updated.text
    assert updated.json() == with_proof
    listed = (await client.get(url, headers=people.jonas)).json()
    validate(listed, "getopenbadgecredentialsresponse.schema.json")
    assert listed["credential"] == [with_proof]  # the form the wallet sent: JSON with its proof
    assert len(listed["compactJwsString"]) == 2
    async with db.connection() as conn:
        hosted = await conn.fetchrow("SELECT person_id, form, version FROM ob_hosted_credentials")
        trail = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'credential.hosted'")
    assert (hosted["form"], hosted["version"], trail) == ("json", 3, 3)

    # Mette's wallet cannot store Jonas's credential as hers.
    stolen = await client.post(url, content=vc_jwt, headers={**people.mette, "Content-Type": "text/plain"})
    assert stolen.status_code == 403 and imsx_minor(stolen) == "forbidden"

    head, payload, signature = vc_jwt.split(".")
    forged_payload = (
        base64.urlsafe_b64encode(json.dumps({**payload_of(vc_jwt), "name": "Master welder"}).encode())
        .rstrip(b"=")
        .decode()
    )
    tampered = {**with_proof, "name": "Master welder"}
    for body, content_type in (
        (f"{head}.{forged_payload}.{signature}", "text/plain"),  # the signature no longer verifies
        ("not a credential", "text/plain"),
        (json.dumps(tampered), "application/json"),  # the proof is over other bytes
        (json.dumps({k: v for k, v in with_proof.items() if k != "proof"}), "application/json"),  # no proof
        (json.dumps([with_proof]), "application/json"),
        ("{", "application/json"),
    ):
        refused = await client.post(url, content=body, headers={**people.jonas, "Content-Type": content_type})
        assert refused.status_code == 400, (body[:40], refused.text)
        assert imsx_minor(refused) == "invalid_data"
        assert refused.headers["content-type"] == "application/problem+json"
    unsupported = await client.post(url, content=vc_jwt, headers={**people.jonas, "Content-Type": "image/png"})
    assert unsupported.status_code == 415 and imsx_minor(unsupported) == "invalid_data"

    # A credential signed by a key this server does not know is not stored unverified.
    foreign_header = (
        base64.urlsafe_b64encode(
            json.dumps({"alg": "EdDSA", "kid": "k1", "typ": "vc+jwt", "iss": "did:web:issuer.example"}).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    foreign = await client.post(
        url, content=f"{foreign_header}.{payload}.{signature}", headers={**people.jonas, "Content-Type": "text/plain"}
    )
    assert foreign.status_code == 400 and "did:web:issuer.example" in foreign.json()["detail"]

    # A revoked credential is not stored.
    revoked = await client.post(
        f"/credentials/{first['id']}/revocation", json={"reason": "Issued in error"}, headers=provider
    )
    assert revoked.status_code == 200
    late = await client.post(url, content=vc_jwt, headers={**people.jonas, "Content-Type": "text/plain"})
    assert late.status_code == 400 and "revoked" in late.json()["detail"]


# --- getProfile / putProfile ------------------------------------------------------------------------


async def test_a_learner_reads_and_changes_their_profile(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    assert (await claim(client, await issue(client, room.provider, room.learner_id), email=JONAS)).status_code == 200
    me = await wallet_token(client, JONAS)
    read = await client.get(f"{OB}/profile", headers=me)
    assert read.status_code == 200, read.text
    profile = read.json()
    validate(profile, "profile.schema.json")
    assert profile["type"] == ["Profile"] and profile["name"] == "Jonas Weber" and profile["email"] == JONAS
    assert profile["id"].startswith("urn:uuid:")

    changed = await client.put(
        f"{OB}/profile",
        json={
            **profile,
            "name": "Jonas A. Weber",
            "givenName": "Jonas",
            "familyName": "Weber",
            "phone": "+49 711 1234567",
            "url": "https://jonas.example",
        },
        headers=me,
    )
    assert changed.status_code == 200, changed.text
    validate(changed.json(), "profile.schema.json")
    assert changed.json()["name"] == "Jonas A. Weber" and changed.json()["givenName"] == "Jonas"
    assert (await client.get(f"{OB}/profile", headers=me)).json() == changed.json()
    cleared = await client.put(f"{OB}/profile", json={"phone": None}, headers=me)
    assert "phone" not in cleared.json() and cleared.json()["familyName"] == "Weber"
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT name FROM persons WHERE email = $1", JONAS) == "Jonas A. Weber"
        details = await conn.fetchval(
            "SELECT details::text FROM audit_log WHERE action = 'person.profile_updated' ORDER BY id LIMIT 1"
        )
    assert "givenName" in details and "+49" not in details  # which fields, not their values

    for refused_body in (
        {"email": "someone.else@mail.example"},
        {"id": "urn:uuid:00000000-0000-0000-0000-000000000000"},
        {"type": ["Organization"]},
        {"name": ""},
        {"dateOfBirth": "1990-01-01"},
    ):
        refused = await client.put(f"{OB}/profile", json=refused_body, headers=me)
        assert refused.status_code == 400, (refused_body, refused.text)
        assert imsx_minor(refused) == "invalid_data"


# --- Who may call ------------------------------------------------------------------------------------


async def test_a_token_without_the_open_badges_scope_or_a_person_is_refused(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    room = await classroom(client, bootstrap)
    assert (await claim(client, await issue(client, room.provider, room.learner_id), email=JONAS)).status_code == 200
    profile_only = await wallet_token(client, JONAS, scope=OB_PROFILE_READONLY)
    for method, path in (("GET", "/credentials"), ("POST", "/credentials"), ("PUT", "/profile")):
        refused = await client.request(method, f"{OB}{path}", headers=profile_only, json={})
        assert refused.status_code == 403, (method, path, refused.text)
        assert imsx_minor(refused) == "forbidden"
    assert (await client.get(f"{OB}/profile", headers=profile_only)).status_code == 200

    anonymous = await client.get(f"{OB}/credentials")
    assert anonymous.status_code == 401 and imsx_minor(anonymous) == "unauthorizedrequest"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")

    # A client acting for itself holds the scope, but has no credentials or profile of its own.
    client_id, secret = await bootstrap.oauth_client(room.provider.org_id, [OB_CREDENTIAL_READONLY])
    assert secret is not None
    own = {"Authorization": "Bearer " + await bootstrap.token(client_id, secret)}
    refused = await client.get(f"{OB}/credentials", headers=own)
    assert refused.status_code == 403 and "person" in refused.json()["detail"]
