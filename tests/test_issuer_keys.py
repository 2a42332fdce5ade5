"""Issuer signing keys through HTTP: created, rotated, published, encrypted at rest, and their JWS
signatures checked by a second implementation (``cryptography`` directly, not joserfc)."""

from __future__ import annotations

import asyncio
import base64
import json
import warnings
from typing import Any
from uuid import UUID

import pytest
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, SECP256R1, EllipticCurvePublicNumbers
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain import keys as platform_keys
from domain.credentials import keys
from domain.credentials.multikey import public_key_multibase
from domain.db import Database
from tests.conftest import OPERATOR, Bootstrap, Integrator
from tests.oauth_flow import APP_REDIRECT_URI, person_token

PAYLOAD = b'{"type":["VerifiableCredential","OpenBadgeCredential"],"name":"MIG welding, fillet welds"}'
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


def b64d(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64int(value: str) -> int:
    return int.from_bytes(b64d(value), "big")


def verify_independently(token: str, jwk: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """RFC 7515 compact verification written against `cryptography` alone; raises InvalidSignature."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    signing_input, signature = f"{header_b64}.{payload_b64}".encode(), b64d(signature_b64)
    if jwk["kty"] == "OKP":
        assert jwk["crv"] == "Ed25519"
        Ed25519PublicKey.from_public_bytes(b64d(jwk["x"])).verify(signature, signing_input)
    elif jwk["kty"] == "EC":
        assert jwk["crv"] == "P-256" and len(signature) == 64  # JWS carries r || s, not DER
        public = EllipticCurvePublicNumbers(b64int(jwk["x"]), b64int(jwk["y"]), SECP256R1()).public_key()
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        public.verify(der, signing_input, ECDSA(SHA256()))
    else:
        assert jwk["kty"] == "RSA"
        public_rsa = RSAPublicNumbers(b64int(jwk["e"]), b64int(jwk["n"])).public_key()
        assert public_rsa.key_size == 2048
        public_rsa.verify(signature, signing_input, PKCS1v15(), SHA256())
    return json.loads(b64d(header_b64)), b64d(payload_b64)


async def issuer(bootstrap: Bootstrap, name: str = "AMU Welding Centre", kind: str = "vet_provider") -> Integrator:
    return await bootstrap.integrator(["credentials:issue", "organisations:read"], name=name, kind=kind)


async def sign_with_current_key(db: Database, settings: Settings, org_id: UUID) -> tuple[keys.IssuerKey, str]:
    async with db.connection() as conn:
        key = await keys.current_signing_key(conn, settings.master_key, org_id)
    return key, await keys.sign_compact(key, PAYLOAD, {"typ": "vc+jwt"})


async def public_jwks(client: AsyncTestClient[Litestar], org_id: UUID) -> dict[str, Any]:
    response = await client.get(f"/organisations/{org_id}/jwks.json")  # no token
    assert response.status_code == 200, response.text
    jwks: dict[str, Any] = response.json()
    return jwks


@pytest.mark.parametrize(
    ("options", "alg", "header_alg", "kty"),
    [
        ({}, "Ed25519", "EdDSA", "OKP"),  # the name every verifier knows, by default
        ({"headerAlg": "Ed25519"}, "Ed25519", "Ed25519", "OKP"),
        ({"headerAlg": "EdDSA"}, "Ed25519", "EdDSA", "OKP"),
        ({"alg": "ES256"}, "ES256", "ES256", "EC"),
        ({"alg": "RS256"}, "RS256", "RS256", "RSA"),
    ],
)
async def test_a_new_key_signs_what_a_second_implementation_verifies(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    settings: Settings,
    options: dict[str, str],
    alg: str,
    header_alg: str,
    kty: str,
) -> None:
    provider = await issuer(bootstrap)
    created = await client.post(
        f"/organisations/{provider.org_id}/signing-keys", json=options, headers=provider.headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["alg"], body["headerAlg"], body["status"], body["retiredAt"]) == (alg, header_alg, "current", None)
    jwk = body["publicJwk"]
    assert jwk["kty"] == kty and jwk["kid"] == body["kid"] and jwk["alg"] == header_alg and jwk["use"] == "sig"
    assert not PRIVATE_MEMBERS & set(jwk), "the private part never leaves the server"

    key, token = await sign_with_current_key(db, settings, provider.org_id)
    assert key.kid == body["kid"]
    header, payload = verify_independently(token, jwk)
    assert header == {"typ": "vc+jwt", "alg": header_alg, "kid": body["kid"]}
    assert payload == PAYLOAD
    # ... and the second implementation does refuse a forgery, so its "yes" above means something.
    head, _, signature = token.split(".")
    forged = f"{head}.{base64.urlsafe_b64encode(PAYLOAD + b' ').rstrip(b'=').decode()}.{signature}"
    with pytest.raises(InvalidSignature):
        verify_independently(forged, jwk)

    # joserfc agrees, against the public JWKS.
    assert keys.verify_compact(token, await public_jwks(client, provider.org_id)) == (header, PAYLOAD)


async def test_the_eddsa_header_name_raises_no_warning_although_joserfc_deprecates_it(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    # Plain joserfc warns about "EdDSA" (RFC 9864); the suite turns warnings into errors.
    with pytest.warns(SecurityWarning, match="EdDSA"):
        jws.serialize_compact({"alg": "EdDSA"}, b"x", OKPKey.generate_key("Ed25519"), algorithms=["EdDSA"])

    provider = await issuer(bootstrap)
    await client.post(
        f"/organisations/{provider.org_id}/signing-keys", json={"headerAlg": "EdDSA"}, headers=provider.headers
    )
    jwks = await public_jwks(client, provider.org_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        key, token = await sign_with_current_key(db, settings, provider.org_id)
        header, _ = keys.verify_compact(token, jwks)
    assert caught == [] and header["alg"] == "EdDSA"

    # The published alg pins the verification: the same signature under the other name is refused.
    unpinned = OKPKey.import_key({n: v for n, v in key.jwk.as_dict(private=True).items() if n != "alg"})
    renamed = jws.serialize_compact({"alg": "Ed25519", "kid": key.kid}, PAYLOAD, unpinned, algorithms=["Ed25519"])
    with pytest.raises(keys.SignatureInvalid, match="signs with 'EdDSA', not 'Ed25519'"):
        keys.verify_compact(renamed, jwks)


async def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_published(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    provider = await issuer(bootstrap)
    base = f"/organisations/{provider.org_id}/signing-keys"
    first = (await client.post(base, json={"headerAlg": "EdDSA"}, headers=provider.headers)).json()
    _, old_token = await sign_with_current_key(db, settings, provider.org_id)

    rotated = await client.post(f"{base}/rotation", json={}, headers=provider.headers)
    assert rotated.status_code == 201, rotated.text
    second = rotated.json()
    assert second["kid"] != first["kid"]
    assert (second["alg"], second["headerAlg"]) == ("Ed25519", "EdDSA"), "rotation keeps the issuer's header name"
    key, new_token = await sign_with_current_key(db, settings, provider.org_id)
    assert key.kid == second["kid"]

    jwks = await public_jwks(client, provider.org_id)
    assert [(k["kid"], k["status"]) for k in jwks["keys"]] == [(second["kid"], "current"), (first["kid"], "retired")]
    assert keys.verify_compact(old_token, jwks)[0]["kid"] == first["kid"]
    assert keys.verify_compact(new_token, jwks)[0]["kid"] == second["kid"]
    verify_independently(old_token, first["publicJwk"])

    # Another algorithm on the next rotation; a retried request (same Idempotency-Key) rotates once.
    retry = {**provider.headers, "Idempotency-Key": "rotate-to-rsa-1"}
    to_rsa = await client.post(f"{base}/rotation", json={"alg": "RS256"}, headers=retry)
    again = await client.post(f"{base}/rotation", json={"alg": "RS256"}, headers=retry)
    assert to_rsa.status_code == again.status_code == 201 and to_rsa.json() == again.json()
    assert to_rsa.json()["headerAlg"] == "RS256"
    listed = await client.get(base, headers=provider.headers)
    assert listed.status_code == 200
    assert [(k["kid"], k["status"]) for k in listed.json()["items"]] == [
        (to_rsa.json()["kid"], "current"),
        (second["kid"], "retired"),
        (first["kid"], "retired"),
    ]
    async with db.connection() as conn:
        actions = await conn.fetch(
            "SELECT action, target_id FROM audit_log WHERE organisation_id = $1 AND target_type = 'signing_key' ORDER BY id",
            provider.org_id,
        )
    assert [(a["action"], a["target_id"]) for a in actions] == [
        ("signing_key.created", first["kid"]),
        ("signing_key.rotated", second["kid"]),
        ("signing_key.rotated", to_rsa.json()["kid"]),
    ]


async def test_private_keys_are_stored_encrypted_under_the_master_key(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    provider = await issuer(bootstrap)
    base = f"/organisations/{provider.org_id}/signing-keys"
    await client.post(base, json={}, headers=provider.headers)
    await client.post(f"{base}/rotation", json={"alg": "RS256"}, headers=provider.headers)
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT kid, purpose, public_jwk, private_key_ciphertext FROM signing_keys WHERE organisation_id = $1",
            provider.org_id,
        )
    assert len(rows) == 2
    for row in rows:
        assert row["purpose"] == "credential"
        assert not PRIVATE_MEMBERS & set(row["public_jwk"])
        stored: bytes = row["private_key_ciphertext"]
        private = json.loads(platform_keys.decrypt(settings.master_key, stored, row["kid"].encode()))
        d = private["d"]
        assert d.encode() not in stored and b64d(d) not in stored and b'"d"' not in stored
        # The kid is bound in as associated data: the ciphertext does not decrypt as another key's.
        with pytest.raises(InvalidTag):
            platform_keys.decrypt(settings.master_key, stored, b"another-kid")

    # Decrypted once, then served from the process cache (key material never changes).
    async with db.connection() as conn:
        first = await keys.current_signing_key(conn, settings.master_key, provider.org_id)
        again = await keys.current_signing_key(conn, settings.master_key, provider.org_id)
    assert again is first


async def test_only_admins_with_credentials_issue_of_the_organisation_create_keys(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    provider = await issuer(bootstrap)
    base = f"/organisations/{provider.org_id}/signing-keys"

    without_scope = await bootstrap.oauth_client(provider.org_id, ["organisations:write"])
    token = await bootstrap.token(without_scope[0], str(without_scope[1]))
    refused = await client.post(base, json={}, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403 and "credentials:issue" in refused.json()["detail"]

    other = await issuer(bootstrap, name="Other provider")
    for path in (base, f"{base}/rotation"):
        response = await client.post(path, json={}, headers=other.headers)
        assert response.status_code == 403 and "not a member" in response.json()["detail"]

    scopes = "credentials:issue organisations:read"
    app_id, app_secret = await bootstrap.oauth_client(
        provider.org_id,
        scopes.split(),
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[APP_REDIRECT_URI],
    )
    assert app_secret is not None
    password = "correct horse battery staple"
    await bootstrap.member(provider.org_id, "signatory@amu.example", ["signatory"], password=password)
    await bootstrap.member(provider.org_id, "admin@amu.example", ["admin"], password=password)
    signatory = await person_token(client, app_id, app_secret, "signatory@amu.example", password, scopes)
    admin = await person_token(client, app_id, app_secret, "admin@amu.example", password, scopes)

    by_signatory = await client.post(base, json={}, headers={"Authorization": f"Bearer {signatory}"})
    assert by_signatory.status_code == 403 and "you hold signatory" in by_signatory.json()["detail"]
    by_admin = await client.post(base, json={"alg": "ES256"}, headers={"Authorization": f"Bearer {admin}"})
    assert by_admin.status_code == 201, by_admin.text
    # Every member may list the keys; other organisations may not.
    listed = await client.get(base, headers={"Authorization": f"Bearer {signatory}"})
    assert listed.status_code == 200 and [k["alg"] for k in listed.json()["items"]] == ["ES256"]
    assert (await client.get(base, headers=other.headers)).status_code == 403


async def test_jwks_and_did_document_are_public(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    chamber = await issuer(bootstrap, name="IHK Region Stuttgart", kind="chamber")
    base = f"/organisations/{chamber.org_id}"
    empty = await client.get(f"{base}/jwks.json")
    assert empty.status_code == 200 and empty.json() == {"keys": []}
    await client.post(f"{base}/signing-keys", json={"alg": "RS256"}, headers=chamber.headers)
    await client.post(f"{base}/signing-keys/rotation", json={"alg": "Ed25519"}, headers=chamber.headers)

    jwks_response = await client.get(f"{base}/jwks.json")
    assert jwks_response.status_code == 200
    assert "max-age=300" in jwks_response.headers["cache-control"]
    published = jwks_response.json()["keys"]
    assert [(k["kty"], k["status"]) for k in published] == [("OKP", "current"), ("RSA", "retired")]

    did_response = await client.get(f"{base}/did.json")
    assert did_response.status_code == 200, did_response.text
    assert "max-age=300" in did_response.headers["cache-control"]
    document = did_response.json()
    did = f"did:web:testserver.local:organisations:{chamber.org_id}"
    assert document["id"] == did
    assert document["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
        "https://w3id.org/security/suites/jws-2020/v1",  # for the RSA key's JsonWebKey2020
    ]
    methods = document["verificationMethod"]
    assert [m["id"] for m in methods] == [f"{did}#key-{k['kid']}" for k in published]
    assert [m["type"] for m in methods] == ["Multikey", "JsonWebKey2020"] and {m["controller"] for m in methods} == {did}
    assert methods[0]["publicKeyMultibase"] == public_key_multibase(published[0]) and "publicKeyJwk" not in methods[0]
    assert methods[0]["publicKeyMultibase"].startswith("z6Mk"), "the ed25519-pub prefix in base58btc"
    assert methods[1]["publicKeyJwk"] == {n: v for n, v in published[1].items() if n != "status"}
    assert "publicKeyMultibase" not in methods[1]
    assert document["assertionMethod"] == [m["id"] for m in methods], "retired keys still verify what they signed"
    assert document["authentication"] == [m["id"] for m in methods]

    unknown = "/organisations/00000000-0000-0000-0000-000000000000"
    for path in ("jwks.json", "did.json"):
        missing = await client.get(f"{unknown}/{path}")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


def test_the_did_follows_the_public_url() -> None:
    org = UUID("6f1c2b9e-0000-4000-8000-000000000001")
    assert keys.did_web("https://guildhall.example.eu", org) == f"did:web:guildhall.example.eu:organisations:{org}"
    assert keys.did_web("https://Guildhall.example.eu:8443/api/v1/", org) == (
        f"did:web:guildhall.example.eu%3A8443:api:v1:organisations:{org}"
    )


async def test_the_rules_of_keys(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    provider = await issuer(bootstrap)
    base = f"/organisations/{provider.org_id}/signing-keys"

    no_key_yet = await client.post(f"{base}/rotation", json={}, headers=provider.headers)
    assert no_key_yet.status_code == 409 and "create one first" in no_key_yet.json()["detail"]
    wrong_header = await client.post(base, json={"alg": "ES256", "headerAlg": "EdDSA"}, headers=provider.headers)
    assert wrong_header.status_code == 422 and "Ed25519 keys only" in wrong_header.json()["detail"]
    unknown_alg = await client.post(base, json={"alg": "HS256"}, headers=provider.headers)
    assert unknown_alg.status_code == 400 and unknown_alg.json()["invalidParams"][0]["name"] == "alg"
    assert (await client.post(base, json={}, headers=provider.headers)).status_code == 201
    twice = await client.post(base, json={}, headers=provider.headers)
    assert twice.status_code == 409 and "rotate it" in twice.json()["detail"]

    union = await issuer(bootstrap, name="3F", kind="social_partner")
    refused = await client.post(f"/organisations/{union.org_id}/signing-keys", json={}, headers=union.headers)
    assert refused.status_code == 409 and "neither issues nor co-signs" in refused.json()["detail"]


async def test_concurrent_changes_leave_one_current_key(bootstrap: Bootstrap, db: Database, settings: Settings) -> None:
    # Straight to the domain on two pooled connections, interleaved at every await. Without the
    # per-organisation lock two creations may both find no key and both insert one, and the second of
    # two rotations finds the key it meant to retire already retired (this test then fails).
    org = (await bootstrap.organisation("AMU Nord", kind="vet_provider")).id
    create = [keys.create_key(db, OPERATOR, org, master_key=settings.master_key) for _ in range(2)]
    created = await asyncio.gather(*create, return_exceptions=True)
    assert sorted(type(r).__name__ for r in created) == ["Conflict", "IssuerSigningKey"]
    rotate = [keys.rotate_key(db, OPERATOR, org, master_key=settings.master_key) for _ in range(2)]
    assert all(isinstance(r, keys.IssuerSigningKey) for r in await asyncio.gather(*rotate))
    async with db.connection() as conn:
        statuses = await conn.fetch(
            "SELECT retired_at IS NULL AS current FROM signing_keys WHERE organisation_id = $1", org
        )
    assert sorted(r["current"] for r in statuses) == [False, False, True]
