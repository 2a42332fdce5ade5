"""The VC-JWT as the Open Badges 3.0 JWT profile (§8.2) and VC-JOSE-COSE ask, checked by the libraries
integrators use.

The credentials are issued over HTTP by an app whose public URL is a real uvicorn server on a loopback
port, serving https with a certificate of the test's own authority. The issuers' DIDs are therefore
``did:web:127.0.0.1%3A<port>:organisations:<id>``, and did:web resolves the normal way, over https (Node
trusts the test authority through ``NODE_EXTRA_CA_CERTS``). Then:

* ``tests/node/vc_jwt.mjs``: web-did-resolver resolves the DID of the header's ``kid`` (a DID URL) and
  finds the verification method it names; jose's ``jwtVerify`` checks the JWT with that key (and
  enforces ``exp`` and ``nbf``); did-jwt-vc's ``verifyCredential`` checks it against the DID document.
* PyJWT and jwcrypto check the signature and the registered claims with the published JWK.

Issuers: Ed25519 signing as ``EdDSA`` (the default) and as ``Ed25519`` (the issuer's choice), ES256 and
RS256. did-jwt knows no RS256 (its algorithms: ES256, ES256K, ES256K-R, Ed25519, EdDSA), and PyJWT no
JWS alg named ``Ed25519``: what they say instead is asserted, word for word.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import msgspec
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jsonschema import Draft201909Validator
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt
from jwcrypto.common import JWException
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from domain.credentials import envelopes, keys
from domain.db import Database
from tests.conftest import Bootstrap
from tests.live_server import LoopbackServer, loopback_socket
from tests.node_checkers import run_checker
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credential_schema import (
    SCHEMA_FILE,
    assert_valid,
    cosign_everything,
    publish_qualification,
    signing_key,
)
from tests.test_credentials_festo import credentials_of, simulator_pass
from tests.test_verification import cosigned

# did-jwt's default clock tolerance (NBF_SKEW), in seconds, for nbf, iat and exp.
DID_JWT_SKEW = 300
# did-jwt 8's JWS algorithms (SUPPORTED_PUBLIC_KEY_TYPES): no RSA at all.
DID_JWT_RS256 = "not_supported: No supported signature types for algorithm RS256"
# did-jwt-vc's data-model policy is VC 1.1's: it wants the 1.1 context, which a VC 2.0 credential must not have.
DID_JWT_VC_11_CONTEXT = '@context is missing default context "https://www.w3.org/2018/credentials/v1"'


# --- An https test server of our own ------------------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    """A certificate authority made for one test, and a server certificate it issued for 127.0.0.1."""

    ca: Path
    certificate: Path
    key: Path


def make_authority(directory: Path) -> Authority:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Guildhall test authority")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Authority(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.certificate.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@dataclass(frozen=True)
class World:
    """Issuing through ``client`` (in process) with the public URL of ``url`` (the https server)."""

    url: str
    settings: Settings
    client: AsyncTestClient[Litestar]
    bootstrap: Bootstrap
    authority: Authority
    db: Database

    @property
    def node_env(self) -> dict[str, str]:
        return {"NODE_EXTRA_CA_CERTS": str(self.authority.ca)}

    def did(self, organisation_id: Any) -> str:
        return keys.did_web(self.settings.issuer, organisation_id)

    async def jwks(self, organisation_id: Any) -> dict[str, dict[str, Any]]:
        """The organisation's published keys by kid, fetched over https from the real server."""
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=self.authority.ca)) as http:
            response = await http.get(f"{self.url}/organisations/{organisation_id}/jwks.json")
        assert response.status_code == 200, response.text
        return {k["kid"]: {n: v for n, v in k.items() if n != "status"} for k in response.json()["keys"]}


@pytest.fixture(scope="module")
def ob_schema() -> Draft201909Validator:
    """1EdTech's Open Badges 3.0 AchievementCredential JSON Schema (``../shared/reference``)."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return Draft201909Validator(schema, format_checker=Draft201909Validator.FORMAT_CHECKER)


@pytest.fixture
async def world(settings: Settings, db: Database, tmp_path: Path) -> AsyncIterator[World]:
    authority = make_authority(tmp_path)
    sock = loopback_socket()
    url = f"https://127.0.0.1:{sock.getsockname()[1]}"
    public = dataclasses.replace(settings, public_url=url)
    try:
        async with (
            LoopbackServer(create_app(public), sock, certificate=authority.certificate, key=authority.key),
            AsyncTestClient(app=create_app(public), base_url=url) as client,
        ):
            yield World(url, public, client, Bootstrap(db, client), authority, db)
    finally:
        sock.close()


# --- Issuing ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    room: Classroom
    credentials: list[dict[str, Any]]  # the credential API's records, co-signed and issued
    tokens: list[str]  # their VC-JWTs, in the same order


async def issue(world: World, key_options: dict[str, str] | None, *, every_kind: bool = False) -> Issued:
    """A classroom whose provider signs with a key made from ``key_options`` (None: the default one made on
    first use); its simulator unit passed and, with ``every_kind``, the welding unit too, completing the
    programme and the qualification. Everything co-signed by the chamber."""
    client, settings = world.client, world.settings
    room = await classroom(client, world.bootstrap)
    if key_options is not None:
        await signing_key(client, room.provider, key_options)
    if every_kind:
        await publish_qualification(client, room)
        recorded = await client.post(
            room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=room.provider.headers
        )
        assert recorded.status_code == 201, recorded.text
    await simulator_pass(client, room)
    for _ in range(3):  # the unit credentials, then the programme's, then the qualification's
        await drain(world.db, settings)
        await cosign_everything(client, room)
    await drain(world.db, settings)
    credentials = await credentials_of(client, room)
    assert {c["state"] for c in credentials} == {"issued"}, [c["state"] for c in credentials]
    expected = ["programme", "qualification", "unit", "unit"] if every_kind else ["unit"]
    assert sorted(c["kind"] for c in credentials) == expected
    tokens = []
    for credential in credentials:
        response = await client.get(f"/credentials/{credential['id']}/vc-jwt", headers=room.provider.headers)
        assert response.status_code == 200, response.text
        tokens.append(response.text)
    return Issued(room, credentials, tokens)


async def resign(world: World, organisation_id: Any, document: dict[str, Any], **changes: Any) -> str:
    """The credential with ``changes`` signed by the organisation's current key, as Guildhall signs."""
    payload = envelopes.encode_payload({**document, **changes})
    async with world.db.connection() as conn:
        key = await keys.current_signing_key(conn, world.settings.master_key, organisation_id)
    return await envelopes.sign(key, payload, world.did(organisation_id))


def header_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = msgspec.json.decode(envelopes.b64url_decode(token.split(".")[0]))
    return decoded


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = msgspec.json.decode(envelopes.b64url_decode(token.split(".")[1]))
    return decoded


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


# --- Python's JOSE libraries ----------------------------------------------------------------------------


def pyjwt_claims(token: str, public_jwk: dict[str, Any]) -> dict[str, Any]:
    """PyJWT's ``jwt.decode`` as a wallet calls it: the algorithm pinned, the registered claims required."""
    alg = header_of(token)["alg"]
    decoded: dict[str, Any] = jwt.decode(
        token,
        jwt.PyJWK(public_jwk, algorithm=alg).key,
        algorithms=[alg],
        options={"require": ["iss", "jti", "nbf", "iat"]},
    )
    return decoded


def jwcrypto_claims(token: str, public_jwk: dict[str, Any], issuer: str, credential_id: str) -> dict[str, Any]:
    """jwcrypto's JWT: signature with the algorithm pinned; ``iss`` and ``jti`` compared; ``nbf`` and (for a
    credential with a validUntil) ``exp`` required and enforced against the clock."""
    expected: dict[str, Any] = {"iss": issuer, "jti": credential_id, "nbf": None}
    if "exp" in claims_of(token):
        expected["exp"] = None
    token_object = jwcrypto_jwt.JWT(
        jwt=token, key=jwcrypto_jwk.JWK(**public_jwk), algs=[header_of(token)["alg"]], check_claims=expected
    )
    decoded: dict[str, Any] = msgspec.json.decode(token_object.claims)
    return decoded


# --- The claims, pinned -----------------------------------------------------------------------------


def test_the_claims_come_from_the_credential() -> None:
    document = {
        "id": "urn:uuid:0f5c7a52-5d7e-4f58-9e0a-3b1c2d4e5f60",
        "issuer": {"id": "did:web:example.org:organisations:1", "type": ["Profile"]},
        "validFrom": "2026-12-06T10:00:00Z",
        "validUntil": "2029-12-06T10:00:00Z",
        "credentialSubject": {"id": "did:example:learner", "type": ["AchievementSubject"]},
    }
    assert envelopes.jwt_claims(document) == {
        "iss": "did:web:example.org:organisations:1",
        "jti": "urn:uuid:0f5c7a52-5d7e-4f58-9e0a-3b1c2d4e5f60",
        "sub": "did:example:learner",
        "nbf": 1796551200,
        "iat": 1796551200,
        "exp": 1891245600,
    }
    # A subject known by its identifiers alone has no sub; no validUntil, no exp; an issuer as a bare IRI.
    bare = {**document, "issuer": "https://example.org/issuer", "credentialSubject": {"type": ["AchievementSubject"]}}
    bare.pop("validUntil")
    assert envelopes.jwt_claims(bare) == {
        "iss": "https://example.org/issuer",
        "jti": "urn:uuid:0f5c7a52-5d7e-4f58-9e0a-3b1c2d4e5f60",
        "nbf": 1796551200,
        "iat": 1796551200,
    }
    # What is signed is the credential and its claims; the JSON forms carry the credential alone.
    payload = envelopes.encode_payload(document)
    assert msgspec.json.decode(payload) == {**document, **envelopes.jwt_claims(document)}
    assert envelopes.credential_json(payload) == document
    assert envelopes.jwt_claims_problem(msgspec.json.decode(payload)) is None
    assert envelopes.jwt_claims_problem(document) is None, "credentials signed before the profile carry none"
    late = {**msgspec.json.decode(payload), "exp": 1891245600 + 86400}
    assert envelopes.jwt_claims_problem(late) == "the JWT claim exp (1891332000) is not the credential's (1891245600)"


def test_a_header_names_its_key_by_did_url_or_by_the_bare_thumbprint() -> None:
    did = "did:web:example.org:organisations:1"
    assert envelopes.signed_kid(f"{did}#key-abc", did) == "abc"
    assert envelopes.signed_kid("abc", did) == "abc", "credentials handed out before the DID URL"
    assert envelopes.signed_kid("did:web:other#key-abc", did) == "did:web:other#key-abc", "another DID's key"
    assert envelopes.signed_kid(None, did) is None


# --- Issued credentials, checked by others ---------------------------------------------------------------


async def test_every_kind_signed_as_eddsa_by_default_verifies_everywhere(
    world: World, ob_schema: Draft201909Validator
) -> None:
    issued = await issue(world, None, every_kind=True)
    provider, chamber = issued.room.provider.org_id, issued.room.chamber.org_id
    did = world.did(provider)
    published = await world.jwks(provider)
    [thumbprint] = published

    expiring = []
    for credential, token in zip(issued.credentials, issued.tokens, strict=True):
        document = credential["credential"]
        header, claims = header_of(token), claims_of(token)
        assert header == {"typ": "vc+jwt", "cty": "vc", "iss": did, "kid": f"{did}#key-{thumbprint}", "alg": "EdDSA"}
        assert {n: claims[n] for n in envelopes.JWT_CLAIMS if n in claims} == {
            "iss": did,
            "jti": document["id"],
            "nbf": epoch(document["validFrom"]),
            "iat": epoch(document["validFrom"]),
            **({"exp": epoch(document["validUntil"])} if "validUntil" in document else {}),
        }, "no sub: the learner is named by identifiers, not by an id"
        expiring.append("validUntil" in document)
        assert envelopes.credential_json(envelopes.b64url_decode(token.split(".")[1])) == document
        assert document["credentialSubject"].get("id") is None
        assert_valid(ob_schema, claims, f"the {credential['kind']} credential's JWT payload")
        assert pyjwt_claims(token, published[thumbprint]) == claims
        assert jwcrypto_claims(token, published[thumbprint], did, document["id"]) == claims
        verdict = await world.client.post("/verify", json={"credential": token})
        assert verdict.json()["verdict"] == "valid", verdict.text
        assert verdict.json()["signatures"][0]["kid"] == thumbprint

    assert any(expiring), "the programme's validityMonths gives its credentials a validUntil"

    # A co-signed credential's co-signature in the JWS JSON names the chamber's key by its DID URL too.
    unit = next(c for c in issued.credentials if c["kind"] == "unit")
    jws_json = (await world.client.get(f"/credentials/{unit['id']}/jws", headers=issued.room.provider.headers)).json()
    cosignature = msgspec.json.decode(envelopes.b64url_decode(jws_json["signatures"][1]["protected"]))
    assert cosignature["kid"] == f"{world.did(chamber)}#key-{next(iter(await world.jwks(chamber)))}"

    answer = await run_checker(
        "vc_jwt.mjs", {"credentials": [{"token": t, "at": None} for t in issued.tokens]}, world.node_env
    )
    for token, checked in zip(issued.tokens, answer["credentials"], strict=True):
        kid = header_of(token)["kid"]
        assert checked["method"] == {
            "ok": True,
            "id": kid,
            "type": "Multikey",
            "controller": did,
            "assertionMethod": True,
        }, checked
        assert checked["jose"]["ok"] is True and checked["jose"]["payload"] == claims_of(token), checked
        assert checked["didJwtVc"] == {
            "ok": True,
            "signer": kid,
            "issuer": did,
            "credentialId": claims_of(token)["id"],
        }, checked
        assert checked["didJwtVcDataModel"]["ok"] is False
        assert checked["didJwtVcDataModel"]["message"].endswith(DID_JWT_VC_11_CONTEXT), checked


@pytest.mark.parametrize(
    ("options", "alg", "method_type"),
    [
        ({}, "EdDSA", "Multikey"),  # the default: a new Ed25519 key signing as EdDSA
        ({"headerAlg": "Ed25519"}, "Ed25519", "Multikey"),
        ({"alg": "ES256"}, "ES256", "Multikey"),
        ({"alg": "RS256"}, "RS256", "JsonWebKey2020"),
    ],
)
async def test_each_issuer_algorithm_and_expiry_enforced(
    world: World, options: dict[str, str], alg: str, method_type: str
) -> None:
    issued = await issue(world, options)
    provider = issued.room.provider.org_id
    did = world.did(provider)
    published = await world.jwks(provider)
    [thumbprint] = published
    [credential], [token] = issued.credentials, issued.tokens
    document = credential["credential"]
    assert header_of(token)["alg"] == alg and header_of(token)["kid"] == f"{did}#key-{thumbprint}"
    claims = claims_of(token)
    assert claims["exp"] == epoch(document["validUntil"]) and claims["nbf"] == epoch(document["validFrom"])

    # The same credential signed with a validity that ended yesterday.
    yesterday = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    expired = await resolve_expired(world, provider, document, yesterday)

    if alg == "Ed25519":  # PyJWT knows Ed25519 only as "EdDSA" (RFC 8037), not as RFC 9864's "Ed25519"
        okp = jwt.PyJWK({n: v for n, v in published[thumbprint].items() if n != "alg"}).key
        with pytest.raises(jwt.exceptions.InvalidAlgorithmError, match=r"^Algorithm not supported$"):
            jwt.decode(token, okp, algorithms=["Ed25519"])
        with pytest.raises(jwt.exceptions.InvalidAlgorithmError, match=r"^The specified alg value is not allowed$"):
            jwt.decode(token, okp, algorithms=["EdDSA"])
    else:
        assert pyjwt_claims(token, published[thumbprint]) == claims
        with pytest.raises(jwt.ExpiredSignatureError):
            pyjwt_claims(expired, published[thumbprint])
    assert jwcrypto_claims(token, published[thumbprint], did, document["id"]) == claims
    with pytest.raises(JWException, match="Expired"):
        jwcrypto_claims(expired, published[thumbprint], did, document["id"])

    exp = claims["exp"]
    checks = [
        {"token": token, "at": None},  # now
        {"token": token, "at": exp + 1},  # the second after validUntil
        {"token": token, "at": exp + DID_JWT_SKEW + 1},  # past did-jwt's clock tolerance too
        {"token": expired, "at": None},  # validUntil yesterday
    ]
    answer = await run_checker("vc_jwt.mjs", {"credentials": checks}, world.node_env)
    now, just_after, after, past = answer["credentials"]
    for checked in answer["credentials"]:
        assert checked["method"]["ok"] is True and checked["method"]["type"] == method_type, checked
        assert checked["method"]["id"] == f"{did}#key-{thumbprint}"
    assert now["jose"]["ok"] is True and now["jose"]["payload"] == claims, now
    for refused in (just_after, after, past):  # jose tolerates no clock skew unless told to
        assert refused["jose"]["ok"] is False and refused["jose"]["code"] == "ERR_JWT_EXPIRED", refused
    if alg == "RS256":
        for checked in answer["credentials"]:
            assert checked["didJwtVc"]["ok"] is False and checked["didJwtVc"]["message"] == DID_JWT_RS256, checked
    else:
        assert now["didJwtVc"]["ok"] is True and now["didJwtVc"]["signer"] == f"{did}#key-{thumbprint}", now
        assert just_after["didJwtVc"]["ok"] is True, "did-jwt allows 300 s of clock skew by default"
        assert after["didJwtVc"]["message"] == f"invalid_jwt: JWT has expired: exp: {exp} < now: {exp + 301}", after
        assert past["didJwtVc"]["ok"] is False, past
        assert past["didJwtVc"]["message"].startswith("invalid_jwt: JWT has expired: exp: "), past

    verdict = (await world.client.post("/verify", json={"credential": expired})).json()
    validity = next(c for c in verdict["checks"] if c["check"] == "validity")
    assert validity["status"] == "failed" and validity["message"].startswith("expired on"), verdict


async def resolve_expired(world: World, organisation_id: Any, document: dict[str, Any], until: datetime) -> str:
    start = until - timedelta(days=365)
    return await resign(
        world,
        organisation_id,
        document,
        validFrom=start.isoformat().replace("+00:00", "Z"),
        awardedDate=start.isoformat().replace("+00:00", "Z"),
        validUntil=until.isoformat().replace("+00:00", "Z"),
    )


# --- Guildhall's own verifier: the old form, another DID's key, claims that disagree -------------------


async def _signed(db: Database, settings: Settings, payload: bytes, organisation_id: Any, kid: str | None) -> str:
    """``payload`` signed by the organisation's current key, the header naming it by ``kid`` (None: the bare
    thumbprint, as every signature before the DID URL did)."""
    did = keys.did_web(settings.issuer, organisation_id)
    async with db.connection() as conn:
        key = await keys.current_signing_key(conn, settings.master_key, organisation_id)
    header = {"typ": envelopes.VC_JWT_TYPE, "cty": envelopes.VC_CONTENT_TYPE, "iss": did}
    return await keys.sign_compact(key, payload, header if kid is None else {**header, "kid": kid.format(key=key.kid)})


async def test_credentials_handed_out_before_the_profile_still_verify(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await cosigned(client, bootstrap, db, settings)
    document = credential["credential"]
    old = msgspec.json.encode(document)  # no JWT claims, and kids that are bare thumbprints
    signers = (room.provider.org_id, room.chamber.org_id)
    tokens = [await _signed(db, settings, old, org, None) for org in signers]
    assert "#" not in header_of(tokens[0])["kid"] and "iss" not in claims_of(tokens[0])
    signatures = [envelopes.Signature.from_compact(t) for t in tokens]
    old_forms = {
        "jws-json": envelopes.general_json(old, signatures),
        "json-proof": {
            **document,
            "proof": [
                {
                    "type": envelopes.PROOF_TYPE,
                    "proofPurpose": "assertionMethod",
                    "created": document["validFrom"],
                    "jwt": t,
                }
                for t in tokens
            ],
        },
    }
    for form, sent in old_forms.items():
        result = (await client.post("/verify", json={"credential": sent})).json()
        assert result["verdict"] == "valid" and result["form"] == form, result
        assert [s["kid"] for s in result["signatures"]] == [header_of(t)["kid"] for t in tokens]

    # The new form names the same keys by DID URL; the verdict reports the JWKS kid either way.
    new = (await client.get(f"/credentials/{credential['id']}/jws", headers=room.provider.headers)).json()
    result = (await client.post("/verify", json={"credential": new})).json()
    assert result["verdict"] == "valid", result
    assert [s["kid"] for s in result["signatures"]] == [header_of(t)["kid"] for t in tokens]


async def test_a_key_named_by_another_dids_url_or_claims_that_disagree_are_invalid(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await cosigned(client, bootstrap, db, settings)
    document = credential["credential"]
    payload = envelopes.encode_payload(document)
    elsewhere = "did:web:elsewhere.example:organisations:0b5b7c39-8f0e-4a77-9d6f-1f2e3a4b5c6d#key-{key}"
    token = await _signed(db, settings, payload, room.provider.org_id, elsewhere)
    result = (await client.post("/verify", json={"credential": token})).json()
    assert result["verdict"] == "invalid", result
    keys_check = next(c for c in result["checks"] if c["check"] == "keys")
    assert keys_check["message"].startswith("Festo Didactic publishes no key with the kid 'did:web:elsewhere.example:")

    # Well signed, by both, with the DID URL; but its exp says a year later than its validUntil.
    claims = {**msgspec.json.decode(payload), "exp": epoch(document["validUntil"]) + 365 * 86400}
    later = msgspec.json.encode(claims)
    signers = (room.provider.org_id, room.chamber.org_id)
    tokens = [
        await _signed(db, settings, later, org, keys.did_web(settings.issuer, org) + "#key-{key}") for org in signers
    ]
    sent = envelopes.general_json(later, [envelopes.Signature.from_compact(t) for t in tokens])
    result = (await client.post("/verify", json={"credential": sent})).json()
    assert result["verdict"] == "invalid" and all(s["valid"] for s in result["signatures"]), result
    schema = next(c for c in result["checks"] if c["check"] == "schema")
    assert schema["message"] == (
        f"the JWT claim exp ({claims['exp']}) is not the credential's ({epoch(document['validUntil'])})"
    )
