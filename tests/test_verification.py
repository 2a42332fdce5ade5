"""Verifying credentials through HTTP: POST /verify in every form, the public page, its printable view with
a QR code, and the JSON-LD context — on the Festo/IHK case (a provider's credential co-signed by a chamber)."""

from __future__ import annotations

import base64
import copy
import json
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest
from joserfc import jws
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry
from joserfc.registry import HeaderParameter, is_str
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.controllers.verification import qr_svg
from api.settings import Settings
from domain.credentials import envelopes, keys, service, verification
from domain.db import Database
from domain.organisations import service as organisations
from domain.organisations.models import AccreditationCreate
from tests.conftest import BASE_URL, OPERATOR, Bootstrap
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_credentials_festo import credentials_of, simulator_pass

# A forger's JWS library: Ed25519, with "iss" in the protected header as Guildhall's signatures have it.
ROGUE_REGISTRY = JWSRegistry(header_registry={"iss": HeaderParameter("Issuer", is_str)}, algorithms=["Ed25519"])
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
GUILDHALL_TERMS = [
    "learningOutcome",
    "title",
    "relatedESCOSkill",
    "volumeOfLearning",
    "eqfLevel",
    "typeOfAssessment",
    "formOfParticipation",
    "qualityAssurance",
    "languages",
    "prerequisites",
    "stackability",
    "furtherInformation",
    "supervisionAndIdentityVerification",
    "accreditation",
    "accreditingBody",
    "scope",
    "reference",
    "fileRef",
    "digestSRI",
    "CoSignaturePolicy",
    "requiredSigner",
    "JwtProof2020",
    "jwt",
]


DEEP = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).rstrip(b"=")  # a JWS payload nested too deeply


# --- Helpers --------------------------------------------------------------------------------------


async def awaiting(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> tuple[Classroom, dict[str, Any]]:
    """The classroom's simulator unit passed: its credential, signed by Festo and waiting for the IHK."""
    room = await classroom(client, bootstrap)
    await simulator_pass(client, room)
    await drain(db, settings)
    [credential] = await credentials_of(client, room)
    assert credential["state"] == "awaiting_cosignature"
    return room, credential


async def cosigned(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> tuple[Classroom, dict[str, Any]]:
    room, credential = await awaiting(client, bootstrap, db, settings)
    response = await client.post(f"/credentials/{credential['id']}/cosignature", headers=room.chamber.headers)
    assert response.status_code == 200, response.text
    return room, response.json()


async def forms(client: AsyncTestClient[Litestar], room: Classroom, credential_id: str) -> dict[str, Any]:
    base = f"/credentials/{credential_id}"
    headers = room.provider.headers
    return {
        "vc+jwt": (await client.get(f"{base}/vc-jwt", headers=headers)).text,
        "jws-json": (await client.get(f"{base}/jws", headers=headers)).json(),
        "json-proof": (await client.get(f"{base}/json", headers=headers)).json(),
    }


async def copy_made_before(db: Database, credential_id: str) -> dict[str, Any]:
    """An incomplete credential's forms as they are stored: a copy made before its downloads answered 409
    (or taken some other way), which must still not verify as complete."""
    async with db.connection() as conn:
        row = await service.fetch_row(conn, UUID(credential_id))
    return {"vc+jwt": service.vc_jwt(row), "jws-json": service.jws_json(row)}


async def verify(client: AsyncTestClient[Litestar], credential: Any) -> dict[str, Any]:
    response = await client.post("/verify", json={"credential": credential})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def check(result: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in result["checks"] if c["check"] == name)
    return found


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def payload_of(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def rename_learner(document: dict[str, Any], name: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    for identifier in changed["credentialSubject"]["identifier"]:
        if identifier["identityType"] == "name":
            identifier["identityHash"] = name
    return changed


async def sign_as(db: Database, settings: Settings, document: dict[str, Any], *organisation_ids: Any) -> dict[str, Any]:
    """The document signed by each organisation's current key, as a JWS JSON General Serialization."""
    payload = envelopes.encode_payload(document)
    signatures = []
    async with db.connection() as conn:
        for organisation_id in organisation_ids:
            key = await keys.current_signing_key(conn, settings.master_key, organisation_id)
            token = await envelopes.sign(key, payload, keys.did_web(settings.issuer, organisation_id))
            signatures.append(envelopes.Signature.from_compact(token))
    return envelopes.general_json(payload, signatures)


# --- The Festo/IHK flow ----------------------------------------------------------------------------


async def test_awaiting_then_cosigned_then_valid_in_each_of_the_three_forms(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await awaiting(client, bootstrap, db, settings)
    refused = await client.get(f"/credentials/{credential['id']}/jws", headers=room.provider.headers)
    assert refused.status_code == 409 and refused.json()["state"] == "awaiting_cosignature", refused.text
    waiting = await verify(client, (await copy_made_before(db, credential["id"]))["jws-json"])
    assert waiting["verdict"] == "awaiting_cosignature", waiting
    assert waiting["summary"] == "awaiting the co-signature of IHK Region Stuttgart"
    assert check(waiting, "cosignatures")["status"] == "failed"
    assert check(waiting, "signatures")["status"] == "passed"
    assert waiting["credentialId"] == f"urn:uuid:{credential['id']}"

    done = await client.post(f"/credentials/{credential['id']}/cosignature", headers=room.chamber.headers)
    assert done.status_code == 200, done.text
    signed = await forms(client, room, credential["id"])
    for form, sent in signed.items():
        result = await verify(client, sent)
        assert result["form"] == form
        assert result["verdict"] == "valid", (form, result)
        assert result["summary"] == "awarded by Festo Didactic, co-signed by IHK Region Stuttgart"
        signers = [(s["role"], s["organisationName"], s["valid"]) for s in result["signatures"]]
        assert signers == [("issuer", "Festo Didactic", True), ("cosigner", "IHK Region Stuttgart", True)]
        issuer, cosigner = result["signatures"]
        assert issuer["organisationId"] == str(room.provider.org_id) and issuer["alg"] == "EdDSA"
        assert issuer["kid"] and cosigner["organisationId"] == str(room.chamber.org_id)
        # The VC-JWT carries the awarding body's signature alone; the IHK's is the one recorded here.
        assert cosigner["inCredential"] is (form != "vc+jwt")
        statuses = {c["check"]: c["status"] for c in result["checks"]}
        assert statuses == {
            "signatures": "passed",
            "keys": "passed",
            "issuer": "passed",
            "schema": "passed",
            "validity": "passed",
            "status": "passed",
            "cosignatures": "passed",
            "accreditation": "warning",
        }

    # The VC-JWT as raw text, and as the whole JSON body (a string), verify the same.
    raw = await client.post("/verify", content=signed["vc+jwt"], headers={"Content-Type": "application/vc+jwt"})
    assert raw.status_code == 200 and raw.json()["verdict"] == "valid", raw.text
    bare = await client.post("/verify", json=signed["vc+jwt"])
    assert bare.status_code == 200 and bare.json()["verdict"] == "valid", bare.text
    # So does the credential with its proofs sent as the whole body.
    whole = await client.post("/verify", json=signed["json-proof"])
    assert whole.status_code == 200 and whole.json()["verdict"] == "valid", whole.text


async def test_suspended_reinstated_and_revoked(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await cosigned(client, bootstrap, db, settings)
    jwt = (await forms(client, room, credential["id"]))["vc+jwt"]
    url = f"/credentials/{credential['id']}"

    suspended = await client.post(f"{url}/suspension", json={"reason": "Under review"}, headers=room.provider.headers)
    assert suspended.status_code == 200, suspended.text
    result = await verify(client, jwt)
    assert result["verdict"] == "suspended" and check(result, "status")["status"] == "failed", result

    reinstated = await client.delete(f"{url}/suspension", headers=room.provider.headers)
    assert reinstated.status_code == 200, reinstated.text
    assert (await verify(client, jwt))["verdict"] == "valid"

    revoked = await client.post(f"{url}/revocation", json={"reason": "Issued in error"}, headers=room.provider.headers)
    assert revoked.status_code == 200, revoked.text
    result = await verify(client, jwt)
    assert result["verdict"] == "revoked" and result["summary"] == "revoked by its awarding body", result


async def test_a_withdrawn_or_refused_cosignature_makes_the_credential_invalid(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await cosigned(client, bootstrap, db, settings)
    jws_json = (await forms(client, room, credential["id"]))["jws-json"]
    withdrawn = await client.post(
        f"/credentials/{credential['id']}/revocation",
        json={"reason": "Exam irregularity"},
        headers=room.chamber.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    result = await verify(client, jws_json)
    assert result["verdict"] == "invalid", result
    assert check(result, "cosignatures")["message"].startswith("IHK Region Stuttgart withdrew its co-signature on ")

    room, credential = await awaiting(client, bootstrap, db, settings)
    refused = await client.post(
        f"/credentials/{credential['id']}/cosignature-refusal", json={"reason": "No"}, headers=room.chamber.headers
    )
    assert refused.status_code == 200, refused.text
    result = await verify(client, (await copy_made_before(db, credential["id"]))["vc+jwt"])
    assert result["verdict"] == "invalid", result
    assert result["summary"] == "IHK Region Stuttgart refused to co-sign this credential"


async def test_a_tampered_credential_is_invalid_in_the_jwt_and_in_the_json(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await cosigned(client, bootstrap, db, settings)
    signed = await forms(client, room, credential["id"])

    header, _, signature = signed["vc+jwt"].split(".")
    forged_payload = rename_learner(payload_of(signed["vc+jwt"]), "Mallory Weber")
    forged = f"{header}.{b64url(msgspec.json.encode(forged_payload))}.{signature}"
    result = await verify(client, forged)
    assert result["verdict"] == "invalid", result
    assert check(result, "signatures")["status"] == "failed"
    assert "Festo Didactic does not verify" in check(result, "signatures")["message"]
    assert result["signatures"][0]["valid"] is False

    changed = rename_learner(signed["json-proof"], "Mallory Weber")
    result = await verify(client, changed)
    assert result["verdict"] == "invalid" and result["form"] == "json-proof", result
    assert "changed after signing" in check(result, "signatures")["message"]

    jws_json = dict(signed["jws-json"], payload=b64url(msgspec.json.encode(forged_payload)))
    result = await verify(client, jws_json)
    assert result["verdict"] == "invalid", result
    assert not any(s["valid"] for s in result["signatures"] if s["inCredential"])


async def test_a_credential_signed_by_an_unpublished_key_is_invalid(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await cosigned(client, bootstrap, db, settings)
    payload = payload_of((await forms(client, room, credential["id"]))["vc+jwt"])
    did = keys.did_web(settings.issuer, room.provider.org_id)
    rogue = OKPKey.generate_key("Ed25519", {"use": "sig", "alg": "Ed25519"}, private=True, auto_kid=True)
    header = {"alg": "Ed25519", "kid": rogue.kid, "typ": "vc+jwt", "cty": "vc", "iss": did}
    token = jws.serialize_compact(header, msgspec.json.encode(payload), rogue, registry=ROGUE_REGISTRY)
    result = await verify(client, token)
    assert result["verdict"] == "invalid", result
    assert check(result, "keys")["message"] == f"Festo Didactic publishes no key with the kid {rogue.kid!r}"

    # The same payload under the real kid but the rogue key: the signature does not verify.
    published = (await client.get(f"/organisations/{room.provider.org_id}/jwks.json")).json()["keys"][0]["kid"]
    token = jws.serialize_compact(
        {**header, "kid": published}, msgspec.json.encode(payload), rogue, registry=ROGUE_REGISTRY
    )
    result = await verify(client, token)
    assert result["verdict"] == "invalid" and check(result, "signatures")["status"] == "failed", result

    # A signer that is no organisation of this server.
    elsewhere = "did:web:elsewhere.example:organisations:0b5b7c39-8f0e-4a77-9d6f-1f2e3a4b5c6d"
    token = jws.serialize_compact(
        {**header, "iss": elsewhere}, msgspec.json.encode(payload), rogue, registry=ROGUE_REGISTRY
    )
    result = await verify(client, token)
    assert result["verdict"] == "invalid", result
    assert check(result, "keys")["message"] == f"the signer {elsewhere} is not an organisation of this server"


async def test_an_expired_and_a_not_yet_valid_credential(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await cosigned(client, bootstrap, db, settings)
    document = {k: v for k, v in (await forms(client, room, credential["id"]))["json-proof"].items() if k != "proof"}
    assert document["validUntil"] > document["validFrom"]  # the programme's validityMonths: 36

    expired = {**document, "validFrom": "2020-01-01T00:00:00Z", "validUntil": "2021-01-01T00:00:00Z"}
    result = await verify(client, await sign_as(db, settings, expired, room.provider.org_id, room.chamber.org_id))
    assert result["verdict"] == "expired" and result["summary"] == "expired on 2021-01-01", result
    assert all(s["valid"] for s in result["signatures"]) and len(result["signatures"]) == 2

    future = {**document, "validFrom": "2999-01-01T00:00:00Z"}
    future.pop("validUntil")
    result = await verify(client, await sign_as(db, settings, future, room.provider.org_id, room.chamber.org_id))
    assert result["verdict"] == "not_yet_valid", result

    # A payload that breaks the Open Badges shape, however well signed, is invalid.
    broken = {**document, "credentialSubject": {**document["credentialSubject"], "type": ["Nothing"]}}
    result = await verify(client, await sign_as(db, settings, broken, room.provider.org_id, room.chamber.org_id))
    assert result["verdict"] == "invalid", result
    assert "'AchievementSubject'" in check(result, "schema")["message"]
    assert "$.credentialSubject" in check(result, "schema")["message"]


async def test_a_status_list_elsewhere_is_not_checked_and_an_unknown_one_here_is_invalid(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await cosigned(client, bootstrap, db, settings)
    document = {k: v for k, v in (await forms(client, room, credential["id"]))["json-proof"].items() if k != "proof"}
    signers = (room.provider.org_id, room.chamber.org_id)
    elsewhere = "https://status.elsewhere.example/lists/7"
    entry = {**document["credentialStatus"], "id": f"{elsewhere}#3", "statusListCredential": elsewhere}
    result = await verify(client, await sign_as(db, settings, {**document, "credentialStatus": entry}, *signers))
    assert result["verdict"] == "valid", result
    assert check(result, "status") == {
        "check": "status",
        "status": "warning",
        "message": f"not checked: the status list {elsewhere} is not on this server",
    }

    unknown = f"{BASE_URL}/status-lists/0b5b7c39-8f0e-4a77-9d6f-1f2e3a4b5c6d"
    entry = {**document["credentialStatus"], "statusListCredential": unknown}
    result = await verify(client, await sign_as(db, settings, {**document, "credentialStatus": entry}, *signers))
    assert result["verdict"] == "invalid", result
    assert check(result, "status")["message"] == f"the status list {unknown} does not exist on this server"

    entry = {**document["credentialStatus"], "statusListIndex": "²"}
    result = await verify(client, await sign_as(db, settings, {**document, "credentialStatus": entry}, *signers))
    assert result["verdict"] == "invalid" and "statusListIndex" in check(result, "status")["message"], result

    without = {k: v for k, v in document.items() if k != "credentialStatus"}
    result = await verify(client, await sign_as(db, settings, without, *signers))
    assert result["verdict"] == "valid" and check(result, "status")["status"] == "not_applicable", result


async def test_the_awarding_body_accreditation_is_a_warning_until_recorded(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(verification, "ORGANISATION_CACHE_SECONDS", 0.0)  # names and accreditations lag otherwise
    room, credential = await cosigned(client, bootstrap, db, settings)
    jwt = (await forms(client, room, credential["id"]))["vc+jwt"]
    before = check(await verify(client, jwt), "accreditation")
    assert before == {
        "check": "accreditation",
        "status": "warning",
        "message": "Festo Didactic holds no current accreditation recorded here",
    }
    accreditation = AccreditationCreate(
        scope="Industrial automation training", valid_from=date(2025, 1, 1), accrediting_body_name="DAkkS"
    )
    await organisations.add_accreditation(
        db, OPERATOR, room.provider.org_id, accreditation, acting_for=frozenset(), operator=True
    )
    after = await verify(client, jwt)
    assert after["verdict"] == "valid"
    assert check(after, "accreditation")["status"] == "passed"
    assert "accredited by DAkkS for Industrial automation training" in check(after, "accreditation")["message"]


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (b"[1, 2]", "application/json", "not a JSON array"),
        (b"5", "application/json", "not a JSON number"),
        (b'"hello"', "application/json", "a compact JWS has three parts separated by dots"),
        (b'{"foo": 1}', "application/json", "the credential has no proof"),
        (b'{"credential": null}', "application/json", "not a JSON null"),
        (b'{"credential": "a.b.c", "extra": 1}', "application/json", "no other member"),
        (b"{not json", "application/json", "the body is not JSON"),
        (b"", "application/json", "the body is not JSON"),
        (b'{"payload": "e30", "signatures": []}', "application/json", "at least one signature"),
        (b'{"payload": "e30", "signatures": [{"protected": 1, "signature": "x"}]}', "application/json", "not a string"),
        (b'{"proof": [{"type": "DataIntegrityProof"}]}', "application/json", "only JwtProof2020 proofs"),
        (b"bm90IGpzb24.bm90IGpzb24.c2ln", "application/vc+jwt", "the signed payload is not JSON"),
        (b"WzFd.WzFd.c2ln", "application/vc+jwt", "the signed payload is not a JSON object"),
        ("é.é.é".encode(), "application/vc+jwt", "ASCII"),
        (b"eyJ", "application/vc+jwt", "three parts"),
        # A body itself nested too deeply is refused at the edge with a 400 (tests/test_security_review.py).
        (
            b'{"proof": [{"type": "JwtProof2020", "jwt": "e30.' + DEEP + b'.c2ln"}]}',
            "application/json",
            "nested too deeply",
        ),
        (("e" * 2000 + ".e30.c2ln").encode(), "application/vc+jwt", "protected header of more than 1024"),
    ],
)
async def test_what_is_no_credential_gets_a_422_saying_why(
    client: AsyncTestClient[Litestar], body: bytes, content_type: str, detail: str
) -> None:
    response = await client.post("/verify", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"], response.json()


async def test_an_unsupported_media_type_or_a_huge_body_is_refused(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/verify", content=b"<credential/>", headers={"Content-Type": "application/xml"})
    assert response.status_code == 415 and response.headers["content-type"] == "application/problem+json"
    huge = b'"' + b"a" * (600 * 1024) + b'"'
    response = await client.post("/verify", content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text


# --- The public page and its printable view ---------------------------------------------------------


async def test_the_public_page_shows_the_live_verdict_and_only_what_the_credential_says(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await awaiting(client, bootstrap, db, settings)
    page = await client.get(f"/c/{credential['id']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Awaiting co-signature" in page.text and "IHK Region Stuttgart" in page.text

    await client.post(f"/credentials/{credential['id']}/cosignature", headers=room.chamber.headers)
    page = await client.get(f"/c/{credential['id']}")
    html = page.text
    assert "<strong>Valid</strong>" in html
    assert "Jonas Weber" in html and "Festo Didactic" in html and "IHK Region Stuttgart" in html
    assert credential["credential"]["credentialSubject"]["achievement"]["name"] in html
    assert credential["credential"]["validFrom"][:10] in html
    for secret in ("jonas@example.de", room.learner_id, str(room.provider.org_id), str(room.chamber.org_id)):
        assert secret not in html, secret
    assert "sha256$" not in html  # not even the salted hash of the e-mail address
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
    assert "<script" not in html and "http://" not in html.replace(BASE_URL, "")
    assert page.headers["cache-control"] == "no-store" and "noindex" in page.headers["x-robots-tag"]

    await client.post(
        f"/credentials/{credential['id']}/revocation", json={"reason": "Issued in error"}, headers=room.provider.headers
    )
    assert "<strong>Revoked</strong>" in (await client.get(f"/c/{credential['id']}")).text


async def test_the_print_view_carries_a_qr_code_of_the_public_page(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    _, credential = await cosigned(client, bootstrap, db, settings)
    view = await client.get(f"/c/{credential['id']}/print")
    assert view.status_code == 200 and view.headers["content-type"].startswith("text/html")
    url = f"{BASE_URL}/c/{credential['id']}"
    assert "<svg" in view.text and qr_svg(url) in view.text  # segno is deterministic: the QR encodes the URL
    assert url in view.text and "Jonas Weber" in view.text and "IHK Region Stuttgart" in view.text
    assert "default-src 'none'" in view.headers["content-security-policy"]


async def test_unknown_malformed_and_held_credentials_have_no_page(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    for path in (
        "/c/0b5b7c39-8f0e-4a77-9d6f-1f2e3a4b5c6d",
        "/c/not-an-id",
        "/c/0b5b7c39-8f0e-4a77-9d6f-1f2e3a4b5c6d/print",
    ):
        response = await client.get(path)
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html"), path
        assert "No such credential" in response.text

    room = await classroom(client, bootstrap)
    held = await client.put(
        f"/organisations/{room.provider.org_id}/issuing-holds/{room.programme_id}",
        json={"reason": "Waiting for the exam board"},
        headers=room.provider.headers,
    )
    assert held.status_code == 200, held.text
    await simulator_pass(client, room)
    await drain(db, settings)
    [credential] = await credentials_of(client, room)
    assert credential["state"] == "held"
    assert (await client.get(f"/c/{credential['id']}")).status_code == 404
    assert (await client.get(f"/c/{credential['id']}/print")).status_code == 404


# --- The JSON-LD context ----------------------------------------------------------------------------


async def test_the_guildhall_context_defines_every_extension_term(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/contexts/guildhall/v1")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/ld+json")
    assert response.headers["cache-control"].startswith("public")
    context = response.json()["@context"]
    assert set(GUILDHALL_TERMS) <= set(context), set(GUILDHALL_TERMS) - set(context)
    assert context["learningOutcome"]["@id"] == "elm:learningOutcome"
    assert context["elm"] == "http://data.europa.eu/snb/model/elm/"
    assert context["gh"] == f"{BASE_URL}/contexts/guildhall/v1#"
    assert context["typeOfAssessment"]["@id"] == "gh:typeOfAssessment"
    if not REFERENCE.is_dir():
        pytest.skip(f"the reference contexts ({REFERENCE}) are not here to compare protected terms with")
    vc = json.loads((REFERENCE / "jsonld-contexts" / "www.w3.org_ns_credentials_v2.json").read_text())["@context"]
    ob_file = REFERENCE / "jsonld-contexts" / "purl.imsglobal.org_spec_ob_v3p0_context_3.0.3.json"
    ob = json.loads(ob_file.read_text())["@context"]
    # Both contexts are @protected: a term of theirs may only be repeated with the very same definition.
    for term, definition in context.items():
        for other in (vc, ob):
            if term in other and not term.startswith("@") and term not in ("id", "type"):
                assert other[term] == definition, term
