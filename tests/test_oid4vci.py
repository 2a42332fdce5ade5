"""OpenID4VCI 1.0: a wallet made of Animo's @openid4vc libraries (tests/node/oid4vci_wallet.mjs) redeems
Guildhall's credential offers against a real server over https, and checks what it gets with libraries of
its own; the spec's error codes for a wrong PIN, a replayed code, a stale nonce, a proof by another key and a
proof for another audience.

The server is a real uvicorn on a loopback port serving https with a certificate of the test's own authority
(the libraries accept https URLs only, as wallets do); the test reaches the same app in process to set up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from domain.db import Database
from tests.conftest import Bootstrap
from tests.live_server import LoopbackServer, loopback_socket
from tests.node_checkers import run_checker
from tests.test_data_integrity import CHECKER, _assert_verified, _served, _standard_contexts
from tests.test_jwt_profile import World, issue, make_authority
from tests.test_sd_jwt_vc import p256
from tests.test_status_independent import bit_set, independent

JWT_VC_JSON = "open_badge_jwt_vc_json"
LDP_VC = "open_badge_ldp_vc"
SD_JWT = "unit_dc_sd_jwt"


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


async def provider_offer(world: World, provider: Any, credential_ids: list[str], **body: Any) -> dict[str, Any]:
    response = await world.client.post(
        f"/organisations/{provider.org_id}/credential-offers",
        json={"credentialIds": credential_ids, **body},
        headers=provider.headers,
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    offer: dict[str, Any] = response.json()
    return offer


async def wallet(world: World, offer: dict[str, Any], **scenario: Any) -> dict[str, Any]:
    payload = {"offer": offer["offerUri"], "txCode": offer["txCode"], "grant": "pre-authorized", **scenario}
    answer: dict[str, Any] = await run_checker("oid4vci_wallet.mjs", payload, world.node_env)
    return answer


def wrong_pin(pin: str) -> str:
    return f"{(int(pin) + 1) % 10**6:06d}"


async def test_metadata_is_served_beside_the_authorization_server_metadata(world: World) -> None:
    issuer = (await world.client.get("/.well-known/openid-credential-issuer")).json()
    assert issuer["credential_issuer"] == world.url
    assert issuer["authorization_servers"] == [world.url]
    assert issuer["nonce_endpoint"] == f"{world.url}/oid4vci/nonce"
    configurations = issuer["credential_configurations_supported"]
    assert {c["format"] for c in configurations.values()} == {"jwt_vc_json", "ldp_vc", "dc+sd-jwt"}
    for configuration in configurations.values():
        algorithms = configuration["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
        assert algorithms == ["ES256", "EdDSA"]
        assert {d["locale"] for d in configuration["credential_metadata"]["display"]} == {"en", "de", "da"}
    assert {d["locale"] for d in issuer["display"]} == {"en", "de", "da"}
    logo = await world.client.get(issuer["display"][0]["logo"]["uri"].removeprefix(world.url))
    assert logo.status_code == 200 and logo.headers["content-type"].startswith("image/svg+xml")
    oauth = (await world.client.get("/.well-known/oauth-authorization-server")).json()
    assert "urn:ietf:params:oauth:grant-type:pre-authorized_code" in oauth["grant_types_supported"]
    assert oauth["pre-authorized_grant_anonymous_access_supported"] is True


async def test_a_wallet_redeems_the_pre_authorized_code_and_gets_the_vc_jwt_bound_to_its_key(world: World) -> None:
    issued = await issue(world, None)
    room, [credential] = issued.room, issued.credentials
    offer = await provider_offer(world, room.provider, [credential["id"]], credentialConfigurationIds=[JWT_VC_JSON])
    assert offer["offerUri"].startswith("openid-credential-offer://?credential_offer=")
    assert offer["txCode"] not in offer["offerUri"] and len(offer["txCode"]) == 6
    page = await world.client.get(offer["page"].removeprefix(world.url))
    assert page.status_code == 200 and "<svg" in page.text and offer["txCode"] not in page.text

    answer = await wallet(
        world,
        offer,
        wrongTxCode=wrong_pin(offer["txCode"]),
        replay=True,
        requests=[
            {"configurationId": JWT_VC_JSON, "keyAlg": "ES256", "binding": "jwk"},
            {"configurationId": JWT_VC_JSON, "keyAlg": "EdDSA", "binding": "did:key"},
            {"configurationId": JWT_VC_JSON, "keyAlg": "ES256", "binding": "did:key"},
            {"configurationId": JWT_VC_JSON, "keyAlg": "EdDSA", "binding": "did:jwk"},
        ],
        attacks=["stale_nonce", "other_key", "wrong_aud"],
    )
    assert answer["credentialIssuer"] == world.url
    assert answer["offerCarriesTxCode"] is False
    assert answer["wrongTxCode"]["errorResponse"]["error"] == "invalid_grant", answer["wrongTxCode"]
    assert answer["replay"]["errorResponse"]["error"] == "invalid_grant", answer["replay"]
    assert answer["token"]["authorization_details"] == [
        {
            "type": "openid_credential",
            "credential_configuration_id": JWT_VC_JSON,
            "credential_identifiers": [f"{JWT_VC_JSON}:{credential['id']}"],
        }
    ]
    document = credential["credential"]
    for received in answer["credentials"]:
        assert "error" not in received, received
        verified = received["verified"]
        assert verified["ok"] is True and verified["boundToHolder"] is True, verified
        if received["binding"] != "jwk":  # a jwk is named by the issuer's did:jwk of it
            assert verified["sub"] == received["holder"]["did"]
        assert verified["credentialId"] == document["id"]
        assert verified["credentialStatus"] == document["credentialStatus"]
        assert verified["header"]["kid"].startswith(world.did(room.provider.org_id))
        assert received["proofHeader"]["typ"] == "openid4vci-proof+jwt"
    # The replay revoked the token the first redemption got: nothing more can be fetched with it, so the
    # attacks that followed were refused for that reason or for their own.
    attacks = answer["attacks"]
    assert {name: a["ok"] for name, a in attacks.items()} == {
        "stale_nonce": False,
        "other_key": False,
        "wrong_aud": False,
    }


async def test_proof_errors_carry_the_spec_codes(world: World) -> None:
    issued = await issue(world, None)
    room, [credential] = issued.room, issued.credentials
    offer = await provider_offer(world, room.provider, [credential["id"]])
    answer = await wallet(
        world,
        offer,
        requests=[{"configurationId": JWT_VC_JSON, "keyAlg": "ES256", "binding": "jwk"}],
        attacks=["stale_nonce", "other_key", "wrong_aud"],
    )
    assert "error" not in answer["credentials"][0], answer["credentials"][0]
    errors = {name: (a["status"], (a["errorResponse"] or {}).get("error")) for name, a in answer["attacks"].items()}
    assert errors == {
        "stale_nonce": (400, "invalid_nonce"),
        "other_key": (400, "invalid_proof"),
        "wrong_aud": (400, "invalid_proof"),
    }, answer["attacks"]


async def test_the_festo_ihk_credential_goes_into_the_wallet_as_sd_jwt_vc_and_ldp_vc_and_reads_revoked(
    world: World,
) -> None:
    issued = await issue(world, None)
    room, [credential] = issued.room, issued.credentials
    offer = await provider_offer(world, room.provider, [credential["id"]])
    assert offer["credentialConfigurationIds"] == [JWT_VC_JSON, LDP_VC, SD_JWT]
    answer = await wallet(
        world,
        offer,
        requests=[
            {"configurationId": SD_JWT, "keyAlg": "ES256", "binding": "jwk"},
            {"configurationId": LDP_VC, "keyAlg": "EdDSA", "binding": "did:key"},
            {"configurationId": LDP_VC, "keyAlg": "ES256", "binding": "did:jwk"},
        ],
    )
    assert set(answer["configurations"].values()) == {"jwt_vc_json", "ldp_vc", "dc+sd-jwt"}
    sd_jwt, *linked_data = answer["credentials"]
    for received in answer["credentials"]:
        assert "error" not in received, received

    # The SD-JWT VC, as an EU wallet checks it: bound to the wallet's key (cnf), the achievement presentable
    # alone, the Token Status List VALID.
    checked = await sd_jwt_check(world, sd_jwt)
    assert checked["issued"]["ok"] is True, checked["issued"]
    assert checked["issued"]["claims"]["cnf"] == {"jwk": sd_jwt["holder"]["jwk"]}
    assert checked["issued"]["claims"]["vct"] == f"{world.url}/vct/unit"
    assert checked["issued"]["claims"]["cosigner"]["name"] == "IHK Region Stuttgart"
    assert checked["presentation"]["ok"] is True and checked["presentation"]["disclosures"] == 0
    assert checked["status"]["list"] == 0

    # The credential with both Data Integrity proofs (Festo's, IHK's), made over the copy bound to the wallet's
    # DID: @digitalbazaar/vc and verifier-core verify them; the status bit is clear.
    documents = await _served(world.client, world.settings, room, [r["credential"] for r in linked_data])
    results = await data_integrity_check(documents, linked_data)
    for received, result in zip(linked_data, results, strict=True):
        assert received["credential"]["credentialSubject"]["id"] == received["holder"]["did"]
        _assert_verified(result, 2)
        assert bit_set(await independent(world.client, received["credential"])) is False

    revoked = await world.client.post(
        f"/credentials/{credential['id']}/revocation", json={"reason": "Issued in error"}, headers=room.provider.headers
    )
    assert revoked.status_code == 200, revoked.text
    checked = await sd_jwt_check(world, sd_jwt)
    assert checked["status"]["list"] == 1 and checked["issued"] == {"ok": False, "error": "Status is not valid: 1"}
    for received in linked_data:
        assert bit_set(await independent(world.client, received["credential"])) is True

    # A revoked credential is offered no more, and an offer made before gives nothing now.
    refused = await world.client.post(
        f"/organisations/{room.provider.org_id}/credential-offers",
        json={"credentialIds": [credential["id"]]},
        headers=room.provider.headers,
    )
    assert refused.status_code == 409, refused.text


async def sd_jwt_check(world: World, received: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = await run_checker(
        "sd_jwt_vc.mjs",
        {
            "sdJwt": received["credential"],
            "holderJwk": received["holder"]["privateJwk"],
            "otherJwk": p256(),
            "nonce": "n-0S6_WzA2Mj",
            "aud": "https://verifier.example",
        },
        env=world.node_env,
    )
    return result


async def data_integrity_check(documents: dict[str, Any], received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    payload = {
        "documents": documents,
        "contexts": _standard_contexts(),
        "credentials": [{"name": r["holder"]["did"], "credential": r["credential"]} for r in received],
    }
    results: list[dict[str, Any]] = (await run_checker(CHECKER, payload))["results"]
    return results
