"""Issued credentials against the standards' own artefacts: the 1EdTech Open Badges 3.0 JSON Schema
(AchievementCredential, JSON Schema 2019-09) and a second JOSE implementation (PyJWT, not joserfc).

PyJWT knows Ed25519 only under the RFC 8037 name "EdDSA" (Guildhall's default), not the RFC 9864 name
"Ed25519" an issuer may choose: such a signature is checked with PyJWT's own OKP (EdDSA) algorithm object
over the JWS signing input. An issuer whose keys sign as "EdDSA", and one with RS256 (what 1EdTech's
conformance suite uses), are verified by ``jwt.decode`` itself; an ES256 co-signature by PyJWT's ES256
algorithm.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from jsonschema import Draft201909Validator
from jwt.algorithms import ECAlgorithm, OKPAlgorithm
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.credentials import envelopes, keys
from domain.db import Database
from tests.conftest import OPERATOR, Bootstrap, Integrator
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credentials_festo import credentials_of, simulator_pass

SCHEMA_FILE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "reference"
    / "openbadges-3.0"
    / "achievementcredential.schema.json"
)


@pytest.fixture(scope="module")
def validator() -> Draft201909Validator:
    if not SCHEMA_FILE.is_file():
        pytest.skip(f"the 1EdTech Open Badges 3.0 schemas are not here ({SCHEMA_FILE}); CI has them")
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema, format_checker=Draft201909Validator.FORMAT_CHECKER)


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def assert_valid(validator: Draft201909Validator, document: dict[str, Any], what: str) -> None:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, f"{what}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


async def jwks_of(client: AsyncTestClient[Litestar], organisation: Integrator) -> dict[str, dict[str, Any]]:
    response = await client.get(f"/organisations/{organisation.org_id}/jwks.json")
    assert response.status_code == 200, response.text
    return {k["kid"]: k for k in response.json()["keys"]}


async def signing_key(client: AsyncTestClient[Litestar], organisation: Integrator, options: dict[str, str]) -> None:
    response = await client.post(
        f"/organisations/{organisation.org_id}/signing-keys", json=options, headers=organisation.headers
    )
    assert response.status_code == 201, response.text


def verify_with_pyjwt(token: str, jwk: dict[str, Any]) -> bytes:
    """The payload of a compact JWS, verified by PyJWT against the published public JWK."""
    header = json.loads(b64d(token.split(".")[0]))
    public = {name: value for name, value in jwk.items() if name != "status"}
    if header["alg"] == "Ed25519":  # RFC 9864's name, unknown to PyJWT: its OKP algorithm, by hand
        head, payload, signature = token.split(".")
        key = OKPAlgorithm.from_jwk(json.dumps(public))
        assert OKPAlgorithm().verify(f"{head}.{payload}".encode(), key, b64d(signature)), "Ed25519 signature"
        return b64d(payload)
    if header["alg"] == "ES256":
        head, payload, signature = token.split(".")
        ec_key = ECAlgorithm.from_jwk(json.dumps(public))
        assert ECAlgorithm(ECAlgorithm.SHA256).verify(f"{head}.{payload}".encode(), ec_key, b64d(signature))
        return b64d(payload)
    decoded = jwt.api_jws.decode_complete(token, jwt.PyJWK(public).key, algorithms=[header["alg"]])
    payload_bytes: bytes = decoded["payload"]
    return payload_bytes


async def cosign_everything(client: AsyncTestClient[Litestar], room: Classroom) -> None:
    queue = await client.get(f"/organisations/{room.chamber.org_id}/cosignature-queue", headers=room.chamber.headers)
    ids = [c["id"] for c in queue.json()["items"]]
    if ids:
        done = await client.post(
            f"/organisations/{room.chamber.org_id}/cosignatures",
            json={"credentialIds": ids},
            headers=room.chamber.headers,
        )
        assert done.status_code == 200, done.text
        assert {i["outcome"] for i in done.json()["items"]} == {"cosigned"}, done.text


async def publish_qualification(client: AsyncTestClient[Litestar], room: Classroom) -> str:
    """A qualification awarded by the provider on the programme's unit u1, approved by the chamber."""
    lead, approver = room.provider, room.chamber
    created = await client.post(
        "/qualifications",
        headers=lead.headers,
        json={
            "content": {
                "title": {"en": "Certified automation welder"},
                "awardingBodyId": str(lead.org_id),
                "eqfLevel": 4,
                "qualityAssurance": {"type": "state_recognition"},
                "rule": {"allOf": [{"programmeId": room.programme_id, "unitKey": "u1"}]},
            }
        },
    )
    assert created.status_code == 201, created.text
    qid: str = created.json()["designId"]
    await client.put(
        f"/qualifications/{qid}/coauthors/{approver.org_id}", json={"roles": ["approver"]}, headers=lead.headers
    )
    proposed = await client.post(
        f"/qualifications/{qid}/versions/1/proposal", headers={**lead.headers, "If-Match": '"v1"'}
    )
    assert proposed.status_code == 200, proposed.text
    decided = await client.post(
        f"/qualifications/{qid}/versions/1/decisions", json={"decision": "approve"}, headers=approver.headers
    )
    assert decided.json()["status"] == "published", decided.text
    return qid


async def test_unit_programme_and_qualification_credentials_validate_against_the_1edtech_schema(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    settings: Settings,
    validator: Draft201909Validator,
) -> None:
    room = await classroom(client, bootstrap)
    await publish_qualification(client, room)
    evidence = [
        {
            "mediaType": "video/mp4",
            "sha256": "ab" * 32,
            "url": "https://evidence.example/weld.mp4",
            "description": "Weld",
        },
        {"mediaType": "image/jpeg", "sha256": "cd" * 32, "fileRef": "lms:files/1234"},
    ]
    attempt = room.attempt(welding("l3", "l4", 10), evidence=evidence)
    recorded = await client.post(room.attempts_url, json=attempt, headers=room.provider.headers)
    assert recorded.status_code == 201, recorded.text
    await simulator_pass(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)

    issued = await credentials_of(client, room)
    kinds = sorted(c["kind"] for c in issued)
    assert kinds == ["programme", "qualification", "unit", "unit"], kinds
    [welded] = [c for c in issued if c["unitKey"] == "u1"]
    assert [e["name"] for e in welded["credential"]["evidence"]] == ["Weld", "Evidence 2"]
    for credential in issued:
        what = f"{credential['kind']} credential {credential.get('unitKey') or ''}"
        assert_valid(validator, credential["credential"], what)
        with_proof = (await client.get(f"/credentials/{credential['id']}/json", headers=room.provider.headers)).json()
        assert_valid(validator, with_proof, f"{what} with its proof")
        verdict = await client.post("/verify", json={"credential": with_proof})
        assert verdict.json()["verdict"] == "valid", verdict.text


async def test_signatures_verify_with_pyjwt_for_ed25519_eddsa_rs256_and_an_es256_cosignature(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    for options, alg in (({}, "EdDSA"), ({"headerAlg": "Ed25519"}, "Ed25519"), ({"alg": "RS256"}, "RS256")):
        room = await classroom(client, bootstrap)
        await signing_key(client, room.provider, options)  # before the first credential: it signs with this
        # The chamber's client may co-sign but not manage keys: its admin makes an ES256 key (as the CLI would).
        await keys.create_key(db, OPERATOR, room.chamber.org_id, "ES256", master_key=settings.master_key)
        await simulator_pass(client, room)
        await drain(db, settings)
        await cosign_everything(client, room)
        [credential] = await credentials_of(client, room)
        url = f"/credentials/{credential['id']}"
        token = (await client.get(f"{url}/vc-jwt", headers=room.provider.headers)).text
        header = json.loads(b64d(token.split(".")[0]))
        assert header["alg"] == alg and header["typ"] == "vc+jwt"

        provider_keys = await jwks_of(client, room.provider)
        did, thumbprint = header["kid"].split("#key-")
        assert did == header["iss"] == credential["credential"]["issuer"]["id"]
        payload = verify_with_pyjwt(token, provider_keys[thumbprint])
        assert envelopes.credential_json(payload) == credential["credential"]
        if alg != "Ed25519":  # PyJWT's own decode, with the algorithm pinned, as a wallet would call it
            public = {n: v for n, v in provider_keys[thumbprint].items() if n != "status"}
            claims = jwt.decode(token, jwt.PyJWK(public).key, algorithms=[alg], options={"verify_aud": False})
            assert claims["id"] == f"urn:uuid:{credential['id']}"

        # Guildhall's own verifier agrees, whatever the algorithms.
        verdict = await client.post("/verify", json={"credential": token})
        assert verdict.json()["verdict"] == "valid", verdict.text
        assert [s["alg"] for s in verdict.json()["signatures"]] == [alg, "ES256"]

        # The chamber's ES256 co-signature in the JWS JSON signs the very same payload bytes.
        jws_json = (await client.get(f"{url}/jws", headers=room.provider.headers)).json()
        _, cosig = jws_json["signatures"]
        chamber_keys = await jwks_of(client, room.chamber)
        cosigned_token = f"{cosig['protected']}.{jws_json['payload']}.{cosig['signature']}"
        cosig_header = json.loads(b64d(cosig["protected"]))
        assert cosig_header["alg"] == "ES256"
        assert verify_with_pyjwt(cosigned_token, chamber_keys[cosig_header["kid"].split("#key-")[1]]) == payload

        # ... and PyJWT refuses a changed payload, so its "yes" above means something.
        forged = json.loads(payload)
        forged["credentialSubject"]["identifier"][0]["identityHash"] = "Mallory"
        forged_b64 = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
        head, _, signature = token.split(".")
        with pytest.raises((jwt.InvalidSignatureError, AssertionError)):
            verify_with_pyjwt(f"{head}.{forged_b64}.{signature}", provider_keys[thumbprint])
