"""The SD-JWT VC (``dc+sd-jwt``) of the Festo/IHK co-signed credential, as an EU wallet takes and shows it.

Issued over HTTP (``POST /me/credentials/{id}/sd-jwt-vc``, the learner's own copy bound to their wallet key)
by an app whose public URL is a real https server on a loopback port; then ``tests/node/sd_jwt_vc.mjs``
(@sd-jwt/sd-jwt-vc 0.19, @sd-jwt/crypto-nodejs, @sd-jwt/jwt-status-list, jose) does what a wallet and a
verifier do, fetching everything itself: the issuer's key from the JWT VC Issuer Metadata at the ``iss`` URL,
the Type Metadata at the ``vct`` URL, the Status List Token at ``status.status_list.uri``. It verifies the
credential, makes a presentation with a KB-JWT signed by the holder key that discloses nothing selectively
disclosable (so: the achievement, the awarding body and the co-signer, not the name, date of birth or
results) and verifies that, and reads the status VALID, SUSPENDED after a suspension, VALID again after
reinstatement and INVALID after revocation or a withdrawn co-signature. Forgeries are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import jwt
import pytest
from joserfc.jwk import ECKey
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from domain.credentials.sd_jwt import disclosures, type_metadata
from domain.credentials.sd_jwt.issuance import issue_sd_jwt_vc
from domain.db import Database
from tests.conftest import Bootstrap
from tests.live_server import LoopbackServer, loopback_socket
from tests.node_checkers import run_checker
from tests.test_jwt_profile import World, make_authority
from tests.test_jwt_profile import issue as issue_every_kind
from tests.test_wallet import cosign_all, mine, passed_and_claimed

EVIDENCE = [
    {"mediaType": "video/mp4", "sha256": "ab" * 32, "url": "https://evidence.example/weld.mp4", "description": "Weld"},
    {"mediaType": "image/jpeg", "sha256": "cd" * 32, "fileRef": "lms:files/1234"},
]
BIRTHDATE = "2001-04-12"
PERSONAL = {"name", "birthdate", "results", "evidence", "assessed_on", "credential_id"}
ALWAYS = {"achievement", "awarding_body", "cosigner", "awarded_date", "credits_earned", "supervision"}
JWT_CLAIMS = {"iss", "iat", "nbf", "exp", "vct", "cnf", "status"}


@pytest.fixture
async def world(settings: Settings, db: Database, tmp_path: Path) -> AsyncIterator[World]:
    """The app served over https on a loopback port (its public URL), and an in-process client of the same."""
    authority = make_authority(tmp_path)
    sock = loopback_socket()
    url = f"https://127.0.0.1:{sock.getsockname()[1]}"
    public_settings = dataclasses.replace(settings, public_url=url)
    try:
        async with (
            LoopbackServer(create_app(public_settings), sock, certificate=authority.certificate, key=authority.key),
            AsyncTestClient(app=create_app(public_settings), base_url=url) as client,
        ):
            yield World(url, public_settings, client, Bootstrap(db, client), authority, db)
    finally:
        sock.close()


def p256() -> dict[str, Any]:
    jwk: dict[str, Any] = ECKey.generate_key("P-256", private=True).as_dict(private=True)
    return jwk


def public(jwk: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y")}


async def issued_to_wallet(
    world: World, rotate_to: dict[str, str] | None = None
) -> tuple[Any, dict[str, str], dict[str, Any], dict[str, Any], str]:
    """The Festo/IHK classroom: a learner with a recorded date of birth passed unit u1 with evidence, the chamber
    co-signed, the learner claimed their record and took the credential into a wallet whose key is ``holder``
    (signed by Festo's key of ``rotate_to`` when given: its keys rotated before the wallet asked)."""
    client = world.client
    room, me = await passed_and_claimed(client, world.bootstrap, world.db, world.settings, evidence=EVIDENCE)
    url = f"/organisations/{room.provider.org_id}/learners/{room.learner_id}"
    current = await client.get(url, headers=room.provider.headers)
    changed = await client.patch(
        url, json={"dateOfBirth": BIRTHDATE}, headers={**room.provider.headers, "If-Match": current.headers["etag"]}
    )
    assert changed.status_code == 200, changed.text
    await cosign_all(client, room)
    if rotate_to is not None:
        rotated = await client.post(
            f"/organisations/{room.provider.org_id}/signing-keys/rotation",
            json=rotate_to,
            headers=room.provider.headers,
        )
        assert rotated.status_code in (200, 201), rotated.text
    [listed] = await mine(client, me)
    record = await client.get(f"/credentials/{listed['id']}", headers=room.provider.headers)
    credential: dict[str, Any] = record.json()
    holder = p256()
    response = await client.post(
        f"/me/credentials/{credential['id']}/sd-jwt-vc", json={"holderJwk": public(holder)}, headers=me
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/dc+sd-jwt")
    assert response.headers["cache-control"] == "no-store"
    return room, me, credential, holder, response.text


async def wallet_check(world: World, sd_jwt: str, holder: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = await run_checker(
        "sd_jwt_vc.mjs",
        {
            "sdJwt": sd_jwt,
            "holderJwk": holder,
            "otherJwk": p256(),
            "nonce": "n-0S6_WzA2Mj",
            "aud": "https://verifier.example",
        },
        env=world.node_env,
    )
    return result


async def test_an_eu_wallet_verifies_presents_only_the_achievement_and_reads_every_status(world: World) -> None:
    room, me, credential, holder, sd_jwt = await issued_to_wallet(world)
    issuer = f"{world.url}/organisations/{room.provider.org_id}"
    checked = await wallet_check(world, sd_jwt, holder)

    # The wallet verified the issuer's signature with the key it found at the issuer's metadata.
    issued = checked["issued"]
    assert issued["ok"] is True, issued
    assert issued["header"]["typ"] == "dc+sd-jwt"
    claims = issued["claims"]
    assert claims["iss"] == issuer and claims["vct"] == type_metadata.vct(world.url, "unit")
    assert claims["cnf"] == {"jwk": public(holder)}
    assert set(claims) == JWT_CLAIMS | ALWAYS | PERSONAL
    assert claims["name"] == "Jonas Weber" and claims["birthdate"] == BIRTHDATE
    assert claims["credential_id"] == f"urn:uuid:{credential['id']}"
    assert [e["name"] for e in claims["evidence"]] == ["Weld", "Evidence 2"]
    assert len(claims["results"]) == len(credential["credential"]["credentialSubject"]["result"])
    assert claims["achievement"] == credential["credential"]["credentialSubject"]["achievement"]
    assert claims["awarding_body"]["name"] == "Festo Didactic"
    assert claims["cosigner"]["name"] == "IHK Region Stuttgart"
    assert claims["exp"] > claims["iat"] >= claims["nbf"]
    assert f"{world.url}/.well-known/jwt-vc-issuer/organisations/{room.provider.org_id}" in checked["fetched"]
    # ... and fetched the type metadata at the vct URL.
    metadata = issued["typeMetadata"]
    assert metadata["vct"] == claims["vct"]
    assert {c["sd"] for c in metadata["claims"] if c["path"] == ["birthdate"]} == {"always"}
    assert {d["locale"] for d in metadata["display"]} >= {"en", "de", "da"}

    # The Status List Token, read by @sd-jwt/jwt-status-list and by sd-jwt-vc's own status check: VALID.
    status = checked["status"]
    assert status["list"] == 0 and status["verifyStatus"] == 0, status
    token = status["token"]
    assert token["contentType"].startswith("application/statuslist+jwt")
    assert token["header"]["typ"] == "statuslist+jwt" and status["tokenSignature"] is True
    assert token["payload"]["sub"] == claims["status"]["status_list"]["uri"]
    assert token["payload"]["iss"] == issuer and token["payload"]["status_list"] == {"bits": 2}
    assert token["payload"]["exp"] > token["payload"]["iat"] and token["payload"]["ttl"] == 60

    # A presentation that discloses nothing selectively disclosable, bound to the holder by its KB-JWT.
    presented = checked["presentation"]
    assert presented["ok"] is True, presented
    assert presented["disclosures"] == 0
    assert set(presented["claims"]) == JWT_CLAIMS | ALWAYS  # the achievement, not the person
    assert presented["claims"]["achievement"]["name"] == claims["achievement"]["name"]
    assert not PERSONAL & set(presented["claims"])
    assert presented["kbHeader"]["typ"] == "kb+jwt" and presented["kbPayload"]["nonce"] == "n-0S6_WzA2Mj"

    # One disclosing the name and the first result: exactly those, nothing else of the person.
    partial = checked["partialPresentation"]
    assert partial["ok"] is True and partial["disclosures"] == 3, partial  # name, results, results[0]
    assert set(partial["claims"]) == JWT_CLAIMS | ALWAYS | {"name", "results"}
    assert partial["claims"]["name"] == "Jonas Weber" and partial["claims"]["results"] == claims["results"][:1]

    # Forgeries: each refused by the library, none accepted.
    negative = checked["negative"]
    assert set(negative) == {
        "signatureTampered",
        "payloadTampered",
        "forgedDisclosure",
        "otherIssuerKey",
        "kbByAnotherKey",
        "kbWrongNonce",
        "noKbJwt",
    }
    assert "accepted" not in negative.values(), negative
    # The library drops a disclosure that no digest names (RFC 9901 §7.1): the forged date never shows.
    assert negative["forgedDisclosure"] == f"ignored: birthdate is {BIRTHDATE}"
    assert "Invalid JWT Signature" in negative["otherIssuerKey"]
    assert "Invalid JWT Signature" in negative["kbByAnotherKey"]
    assert "Invalid JWT Signature" in negative["signatureTampered"]
    assert "Invalid Nonce" in negative["kbWrongNonce"]
    assert "Key Binding JWT not exist" in negative["noKbJwt"]

    # Suspended: the wallet reads SUSPENDED (2) and its verification fails; reinstated: VALID again.
    client, url = world.client, f"/credentials/{credential['id']}"
    headers = room.provider.headers
    suspended = await client.post(f"{url}/suspension", json={"reason": "Under investigation"}, headers=headers)
    assert suspended.status_code == 200, suspended.text
    checked = await wallet_check(world, sd_jwt, holder)
    assert checked["status"]["list"] == 2 and checked["status"]["verifyStatus"] == 2
    assert checked["issued"] == {"ok": False, "error": "Status is not valid: 2"}
    refused = await client.post(
        f"/me/credentials/{credential['id']}/sd-jwt-vc", json={"holderJwk": public(holder)}, headers=me
    )
    assert refused.status_code == 409 and "suspended" in refused.json()["detail"]
    assert (await client.delete(f"{url}/suspension", headers=headers)).status_code == 200
    checked = await wallet_check(world, sd_jwt, holder)
    assert checked["status"]["list"] == 0 and checked["issued"]["ok"] is True

    # Revoked: INVALID (1), for good.
    revoked = await client.post(f"{url}/revocation", json={"reason": "Issued in error"}, headers=headers)
    assert revoked.status_code == 200, revoked.text
    checked = await wallet_check(world, sd_jwt, holder)
    assert checked["status"]["list"] == 1 and checked["issued"] == {"ok": False, "error": "Status is not valid: 1"}


@pytest.mark.parametrize(
    ("options", "alg"),
    [({"alg": "Ed25519", "headerAlg": "Ed25519"}, "Ed25519"), ({"alg": "ES256"}, "ES256"), ({"alg": "RS256"}, "RS256")],
)
async def test_every_issuer_key_algorithm_verifies_in_the_wallet(
    world: World, options: dict[str, str], alg: str
) -> None:
    room, _, _, holder, sd_jwt = await issued_to_wallet(world, rotate_to=options)
    checked = await wallet_check(world, sd_jwt, holder)
    assert checked["issued"]["ok"] is True, checked["issued"]
    assert checked["issued"]["header"]["alg"] == alg
    assert checked["status"]["list"] == 0 and checked["status"]["tokenSignature"] is True
    assert checked["presentation"]["ok"] is True, checked["presentation"]
    assert "accepted" not in checked["negative"].values(), checked["negative"]
    # The metadata lists the retired key too: what it signed before the rotation still verifies.
    metadata = (await world.client.get(f"/.well-known/jwt-vc-issuer/organisations/{room.provider.org_id}")).json()
    assert sorted(k["status"] for k in metadata["jwks"]["keys"]) == ["current", "retired"]


async def test_a_withdrawn_cosignature_reads_invalid_in_the_wallet(world: World) -> None:
    room, me, credential, holder, sd_jwt = await issued_to_wallet(world)
    withdrawn = await world.client.post(
        f"/credentials/{credential['id']}/revocation",
        json={"reason": "Exam irregularity"},
        headers=room.chamber.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    checked = await wallet_check(world, sd_jwt, holder)
    assert checked["status"]["list"] == 1, checked["status"]
    # No new copy for a credential that lost its co-signature: the problem names what is missing.
    again = await world.client.post(
        f"/me/credentials/{credential['id']}/sd-jwt-vc", json={"holderJwk": public(holder)}, headers=me
    )
    assert again.status_code == 409
    assert again.json()["type"] == "urn:guildhall:problem:credential-incomplete"


async def test_what_the_openid4vci_endpoint_calls_and_what_the_learner_is_refused(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, me = await passed_and_claimed(client, bootstrap, db, settings)
    [listed] = await mine(client, me)
    holder = p256()
    url = f"/me/credentials/{listed['id']}/sd-jwt-vc"
    awaiting = await client.post(url, json={"holderJwk": public(holder)}, headers=me)
    assert awaiting.status_code == 409, awaiting.text
    assert awaiting.json()["type"] == "urn:guildhall:problem:credential-incomplete"
    await cosign_all(client, room)
    assert (await client.post(url, json={"holderJwk": holder}, headers=me)).status_code == 422  # a private key
    assert (await client.post(url, json={"holderJwk": {"kty": "RSA"}}, headers=me)).status_code == 422
    assert (await client.post(url, json={"jwk": public(holder)}, headers=me)).status_code == 400
    assert (await client.post(url, json={"holderJwk": public(holder)})).status_code == 401
    elsewhere = f"/me/credentials/{uuid4()}/sd-jwt-vc"
    assert (await client.post(elsewhere, json={"holderJwk": public(holder)}, headers=me)).status_code == 404
    provider = await client.post(url, json={"holderJwk": public(holder)}, headers=room.provider.headers)
    assert provider.status_code == 403  # a client's own token has no learner

    # The function itself, as the OpenID4VCI credential endpoint calls it once the wallet proved its key.
    async with db.connection() as conn:
        issued = await issue_sd_jwt_vc(
            conn, UUID(listed["id"]), public(holder), public_url=settings.issuer, master_key=settings.master_key
        )
    token, *made, tail = issued.split("~")
    # name, results and its five results, assessed_on, credential_id: no date of birth recorded, no evidence
    assert tail == "" and len(made) == 1 + 1 + 5 + 1 + 1
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "dc+sd-jwt"
    metadata = (await client.get(f"/.well-known/jwt-vc-issuer/organisations/{room.provider.org_id}")).json()
    [key] = [k for k in metadata["jwks"]["keys"] if k["kid"] == header["kid"]]
    payload = jwt.decode(
        token,
        jwt.PyJWK({n: v for n, v in key.items() if n != "status"}, algorithm=header["alg"]).key,
        algorithms=[header["alg"]],
        issuer=metadata["issuer"],
        options={"require": ["iss", "iat", "nbf", "exp", "vct", "cnf", "status"]},
    )
    assert payload["cnf"] == {"jwk": public(holder)} and payload["_sd_alg"] == "sha-256"
    assert len(payload["_sd"]) == 6  # name, results, assessed_on, credential_id, and two decoys
    shown = disclosures.reveal(payload, made)
    assert shown["name"] == "Jonas Weber" and "birthdate" not in shown
    assert payload["status"]["status_list"]["uri"] == listed_status_uri(
        await client.get(f"/credentials/{listed['id']}", headers=room.provider.headers)
    )


def listed_status_uri(record: Any) -> str:
    """The Token Status List of a credential is at the URL of the W3C revocation list it names, at its index."""
    status: dict[str, str] = record.json()["credential"]["credentialStatus"]
    return status["statusListCredential"]


async def test_every_achievement_type_has_its_vct_and_type_metadata(world: World) -> None:
    issued = await issue_every_kind(world, None, every_kind=True)
    holder = p256()
    for credential in issued.credentials:
        async with world.db.connection() as conn:
            sd_jwt = await issue_sd_jwt_vc(
                conn,
                UUID(credential["id"]),
                public(holder),
                public_url=world.settings.issuer,
                master_key=world.settings.master_key,
            )
        checked = await wallet_check(world, sd_jwt, holder)
        assert checked["issued"]["ok"] is True, (credential["kind"], checked["issued"])
        vct = type_metadata.vct(world.url, credential["kind"])
        assert checked["issued"]["vct"] == checked["issued"]["typeMetadata"]["vct"] == vct
        assert checked["presentation"]["ok"] is True and not PERSONAL & set(checked["presentation"]["claims"])
        if credential["kind"] != "unit":  # what it stands on is its evidence, disclosed only by choice
            assert checked["issued"]["claims"]["evidence"] == credential["credential"]["evidence"]
            assert "results" not in checked["issued"]["claims"]
