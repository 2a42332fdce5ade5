"""Credentials of another issuer in a person's portfolio: verified against the issuer's published keys over
https (did:web), their dates and their status list, before they count; refused with the reason when forged
or revoked.

The other issuer is a second Guildhall: its own database, served by uvicorn over https on a loopback port
with a certificate of the test's own authority. This server may fetch from it only because the test allows
loopback explicitly and trusts that authority (``foreign_fetch_allowed_networks``, ``foreign_fetch_ca_bundle``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from domain.credentials import envelopes, keys
from domain.credentials.multikey import public_key_multibase
from domain.db import Database
from tests.conftest import Bootstrap
from tests.live_server import LoopbackServer, loopback_socket
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credential_schema import cosign_everything
from tests.test_credentials_festo import credentials_of
from tests.test_jwt_profile import Authority, make_authority
from tests.test_learner_claims import claim, issue, learner_token

PORTFOLIO_SCOPES = "credentials:read portfolio:write"


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return make_authority(tmp_path)


@pytest.fixture
def settings(settings: Settings, authority: Authority) -> Settings:
    """This server: it may fetch from loopback (the other issuer) and trusts the test's authority."""
    return dataclasses.replace(
        settings, foreign_fetch_allowed_networks=("127.0.0.1/32",), foreign_fetch_ca_bundle=str(authority.ca)
    )


@dataclass(frozen=True)
class Elsewhere:
    """Another Guildhall: set up in process through ``client``, reached by this server over https at ``url``."""

    url: str
    settings: Settings
    client: AsyncTestClient[Litestar]
    bootstrap: Bootstrap
    db: Database

    def did(self, organisation_id: Any) -> str:
        return keys.did_web(self.url, organisation_id)


@pytest.fixture
async def elsewhere(settings: Settings, isolated_database_url: str, authority: Authority) -> AsyncIterator[Elsewhere]:
    sock = loopback_socket()
    url = f"https://127.0.0.1:{sock.getsockname()[1]}"
    other = dataclasses.replace(
        settings,
        database_url=isolated_database_url,
        public_url=url,
        foreign_fetch_allowed_networks=(),
        foreign_fetch_ca_bundle=None,
    )
    db = await Database.connect(isolated_database_url, min_size=1, max_size=2)
    try:
        async with (
            LoopbackServer(create_app(other), sock, certificate=authority.certificate, key=authority.key),
            AsyncTestClient(app=create_app(other), base_url=url) as client,
        ):
            yield Elsewhere(url, other, client, Bootstrap(db, client), db)
    finally:
        await db.close()
        sock.close()


async def foreign_credential(world: Elsewhere) -> tuple[Classroom, dict[str, Any], str]:
    """A unit credential the other Guildhall issued (co-signed), its record and its VC-JWT."""
    room = await classroom(world.client, world.bootstrap)
    recorded = await world.client.post(
        room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=room.provider.headers
    )
    assert recorded.status_code == 201, recorded.text
    await drain(world.db, world.settings)
    await cosign_everything(world.client, room)
    await drain(world.db, world.settings)
    [credential] = [c for c in await credentials_of(world.client, room) if c["kind"] == "unit"]
    token = await world.client.get(f"/credentials/{credential['id']}/vc-jwt", headers=room.provider.headers)
    assert token.status_code == 200, token.text
    return room, credential, token.text


async def someone(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> tuple[Classroom, dict[str, str]]:
    """A person of this server (they claimed a learner record here) with a wallet app's token."""
    room = await classroom(client, bootstrap)
    assert (await claim(client, await issue(client, room.provider, room.learner_id))).status_code == 200
    return room, await learner_token(client, bootstrap, scopes=PORTFOLIO_SCOPES)


def tampered(token: str, **changes: Any) -> str:
    """The VC-JWT with its payload changed and the issuer's signature left as it was."""
    header, payload, signature = token.split(".")
    document = msgspec.json.decode(envelopes.b64url_decode(payload))
    document.update(changes)
    return ".".join([header, envelopes.b64url(msgspec.json.encode(document)), signature])


async def test_another_issuers_credential_is_verified_over_https_and_counts_until_revoked(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, elsewhere: Elsewhere
) -> None:
    foreign_room, credential, token = await foreign_credential(elsewhere)
    _, me = await someone(client, bootstrap)

    added = await client.post("/me/portfolio/credentials", json={"credential": token}, headers=me)
    assert added.status_code == 201, added.text
    entry = added.json()
    issuer_did = elsewhere.did(foreign_room.provider.org_id)
    assert entry["source"] == "added" and entry["issuer"] == {"id": issuer_did, "name": "Festo Didactic"}
    assert entry["credentialUri"] == f"urn:uuid:{credential['id']}"
    verification = entry["verification"]
    assert verification["valid"] is True and verification["method"] == "did:web" and verification["problems"] == []
    assert verification["keyId"].startswith(issuer_did + "#key-")
    assert verification["statusLists"] == [credential["credential"]["credentialStatus"]["statusListCredential"]]
    assert entry["eqfLevel"] == 4 and entry["hours"] == 37 and entry["ectsCredits"] == 1.5
    assert (
        entry["escoSkills"]
        and entry["achievement"]["id"] == credential["credential"]["credentialSubject"]["achievement"]["id"]
    )

    again = await client.post("/me/portfolio/credentials", json={"credential": token}, headers=me)
    assert again.status_code == 200 and again.json()["id"] == entry["id"]  # the same bytes: stored once
    listed = (await client.get("/me/portfolio", headers=me)).json()["entries"]
    assert [e["id"] for e in listed if e["source"] == "added"] == [entry["id"]]

    # Forged: a changed payload under the issuer's signature.
    forged = tampered(token, name="Master welder")
    refused = await client.post("/me/portfolio/credentials", json={"credential": forged}, headers=me)
    assert refused.status_code == 422, refused.text
    assert "the signature is not the issuer's" in refused.json()["detail"]

    # Revoked at its issuer: refused when added, and no longer valid when checked again.
    revoked = await elsewhere.client.post(
        f"/credentials/{credential['id']}/revocation",
        json={"reason": "assessment found irregular"},
        headers=foreign_room.provider.headers,
    )
    assert revoked.status_code == 200, revoked.text
    readded = await client.post(
        "/me/portfolio/credentials", json={"credential": token + " "}, headers={**me, "Idempotency-Key": "r1"}
    )
    assert readded.status_code == 422, readded.text
    assert "revoked (status list" in readded.json()["detail"]
    rechecked = await client.post(f"/me/portfolio/credentials/{entry['id']}/verification", headers=me)
    assert rechecked.status_code == 200, rechecked.text
    assert rechecked.json()["verification"]["valid"] is False
    assert any(p.startswith("revoked (status list") for p in rechecked.json()["verification"]["problems"])


async def test_fetching_the_issuers_keys_is_refused_where_the_operator_did_not_allow_it(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, elsewhere: Elsewhere, settings: Settings
) -> None:
    _, _, token = await foreign_credential(elsewhere)
    strict = dataclasses.replace(settings, foreign_fetch_allowed_networks=())
    async with AsyncTestClient(app=create_app(strict), base_url=str(client.base_url)) as guarded:
        _, me = await someone(guarded, Bootstrap(bootstrap.db, guarded))
        refused = await guarded.post("/me/portfolio/credentials", json={"credential": token}, headers=me)
    assert refused.status_code == 422, refused.text
    assert "127.0.0.1 is a loopback address" in refused.json()["detail"]


def did_key_credential(private: Any, **changes: Any) -> str:
    """An Open Badges credential of a did:key issuer, signed with PyJWT as any JOSE signer would."""
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    multibase = public_key_multibase({"kty": "OKP", "crv": "Ed25519", "x": envelopes.b64url(raw)})
    did = f"did:key:{multibase}"
    document = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "urn:uuid:7b7c3b52-8f35-4bd5-9d1c-1f1d3d6d2c11",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": did, "type": ["Profile"], "name": "Pipeline Academy"},
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://pipeline.example/achievements/pipe-fitting",
                "type": ["Achievement"],
                "name": "Pipe fitting",
                "criteria": {"narrative": "Fits pipes"},
                "volumeOfLearning": "PT40H",
                "alignment": [{"targetUrl": "http://data.europa.eu/snb/eqf/4"}],
            },
        },
        **changes,
    }
    return jwt.encode({**document, "iss": did}, private, algorithm="EdDSA", headers={"kid": f"{did}#{multibase}"})


async def test_a_did_key_credential_is_verified_from_the_did_itself(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    _, me = await someone(client, bootstrap)
    added = await client.post("/me/portfolio/credentials", json={"credential": did_key_credential(private)}, headers=me)
    assert added.status_code == 201, added.text
    assert added.json()["verification"]["method"] == "did:key" and added.json()["hours"] == 40
    expired = did_key_credential(private, validUntil="2026-02-01T00:00:00Z")
    refused = await client.post("/me/portfolio/credentials", json={"credential": expired}, headers=me)
    assert refused.status_code == 422 and "expired on 2026-02-01" in refused.json()["detail"], refused.text
    impostor = did_key_credential(ed25519.Ed25519PrivateKey.generate())
    swapped = ".".join([*impostor.split(".")[:2], did_key_credential(private).split(".")[2]])
    refused = await client.post("/me/portfolio/credentials", json={"credential": swapped}, headers=me)
    assert refused.status_code == 422 and "the signature is not the issuer's" in refused.json()["detail"]
    for nonsense in ("a.b.c", "eyJhbGciOiJub25lIn0.eyJ9.x"):
        answer = await client.post("/me/portfolio/credentials", json={"credential": nonsense}, headers=me)
        assert answer.status_code == 422, answer.text


async def test_the_json_form_with_data_integrity_proofs_is_verified_too(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, elsewhere: Elsewhere
) -> None:
    foreign_room, credential, _ = await foreign_credential(elsewhere)
    with_proofs = await elsewhere.client.get(
        f"/credentials/{credential['id']}/json", headers=foreign_room.provider.headers
    )
    assert with_proofs.status_code == 200, with_proofs.text
    document = with_proofs.json()
    assert {p["cryptosuite"] for p in document["proof"]} == {"eddsa-rdfc-2022"}
    _, me = await someone(client, bootstrap)

    added = await client.post("/me/portfolio/credentials", json={"credential": document}, headers=me)
    assert added.status_code == 201, added.text
    verification = added.json()["verification"]
    assert verification["valid"] is True and verification["method"] == "did:web", verification
    assert added.json()["hours"] == 37

    altered = {**document, "name": "Master welder"}
    refused = await client.post("/me/portfolio/credentials", json={"credential": altered}, headers=me)
    assert refused.status_code == 422 and "does not verify" in refused.json()["detail"], refused.text
    unproven = {k: v for k, v in document.items() if k != "proof"}
    refused = await client.post("/me/portfolio/credentials", json={"credential": unproven}, headers=me)
    assert refused.status_code == 422 and "no proof" in refused.json()["detail"], refused.text


async def test_an_issuer_named_by_its_url_is_checked_against_the_jwks_its_header_names(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, elsewhere: Elsewhere
) -> None:
    foreign_room, _, token = await foreign_credential(elsewhere)
    organisation = foreign_room.provider.org_id
    document = envelopes.credential_json(envelopes.b64url_decode(token.split(".")[1]))
    document.pop("credentialStatus")  # its status list is the DID's, not the URL issuer's
    document["issuer"] = {"id": elsewhere.url, "type": ["Profile"], "name": "Festo Didactic"}
    async with elsewhere.db.connection() as conn:
        key = await keys.current_signing_key(conn, elsewhere.settings.master_key, organisation)
    jwks = f"{elsewhere.url}/organisations/{organisation}/jwks.json"
    signed = await keys.sign_compact(key, envelopes.encode_payload(document), {"jku": jwks, "typ": "vc+jwt"})
    _, me = await someone(client, bootstrap)

    added = await client.post("/me/portfolio/credentials", json={"credential": signed}, headers=me)
    assert added.status_code == 201, added.text
    assert added.json()["verification"]["method"] == "jwks" and added.json()["issuer"]["id"] == elsewhere.url

    elsewhere_jwks = "https://jwks.example/keys.json"
    other = await keys.sign_compact(key, envelopes.encode_payload(document), {"jku": elsewhere_jwks})
    refused = await client.post("/me/portfolio/credentials", json={"credential": other}, headers=me)
    assert refused.status_code == 422 and "not on the issuer's own origin" in refused.json()["detail"], refused.text
