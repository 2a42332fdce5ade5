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
from tests.test_learner_claims import EMAIL, PASSWORD
from tests.test_sd_jwt_vc import p256
from tests.test_status_independent import bit_set, independent
from tests.test_wallet import cosign_all, mine, passed_and_claimed

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
        replayLast=True,
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
    errors = {name: (a["status"], (a["errorResponse"] or {}).get("error")) for name, a in answer["attacks"].items()}
    assert errors == {
        "stale_nonce": (400, "invalid_nonce"),
        "other_key": (400, "invalid_proof"),
        "wrong_aud": (400, "invalid_proof"),
    }, answer["attacks"]
    # The replay revoked the token the first redemption got.
    assert answer["afterReplay"]["status"] == 401, answer["afterReplay"]
    assert answer["afterReplay"]["errorResponse"]["error"] == "invalid_token", answer["afterReplay"]


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


async def test_the_learner_offers_their_own_credential_and_the_wallet_uses_the_authorization_code_grant(
    world: World,
) -> None:
    """The learner (a claimed record, a login) makes the offer at /me; the wallet registers itself (RFC 7591),
    sends the learner to our authorization page with the offer's issuer_state and PKCE S256, signs them in with
    plain HTTP, and exchanges the code."""
    room, me = await passed_and_claimed(world.client, world.bootstrap, world.db, world.settings)
    await cosign_all(world.client, room)
    [listed] = await mine(world.client, me)
    made = await world.client.post("/me/credential-offers", json={"credentialIds": [listed["id"]]}, headers=me)
    assert made.status_code == 201, made.text
    offer = made.json()
    answer = await wallet(
        world,
        offer,
        grant="authorization_code",
        login={"redirectUri": "https://wallet.example/callback", "email": EMAIL, "password": PASSWORD},
        replay=True,
        replayLast=True,
        requests=[
            {"configurationId": JWT_VC_JSON, "keyAlg": "EdDSA", "binding": "did:key"},
            {"configurationId": SD_JWT, "keyAlg": "ES256", "binding": "jwk"},
            {"configurationId": LDP_VC, "keyAlg": "EdDSA", "binding": "did:jwk"},
        ],
    )
    request = answer["authorizationRequest"]
    assert request["code_challenge_method"] == "S256" and request["issuer_state"]
    # The library asks for no scope (it names the issuer as resource): the client's registered scopes are granted,
    # those of the offered configurations.
    assert answer["registeredScopes"] == answer["token"]["scope"] == f"{JWT_VC_JSON} {LDP_VC} {SD_JWT}"
    assert answer["redirectedTo"] == "https://wallet.example/callback"
    assert [d["credential_configuration_id"] for d in answer["token"]["authorization_details"]] == [
        JWT_VC_JSON,
        LDP_VC,
        SD_JWT,
    ]
    jwt_vc, sd_jwt, ldp_vc = answer["credentials"]
    for received in answer["credentials"]:
        assert "error" not in received, received
    assert jwt_vc["verified"]["boundToHolder"] is True and jwt_vc["verified"]["sub"] == jwt_vc["holder"]["did"]
    assert ldp_vc["credential"]["credentialSubject"]["id"] == ldp_vc["holder"]["did"]
    assert (await sd_jwt_check(world, sd_jwt))["issued"]["ok"] is True
    # The offer once more: a new authorization naming the used issuer_state is refused at the authorization
    # endpoint (RFC 6749 §4.1.2.1 has no invalid_grant); the same code again is invalid_grant at the token endpoint.
    assert answer["replay"]["errorResponse"]["error"] == "invalid_request", answer["replay"]
    assert answer["replayCode"]["errorResponse"]["error"] == "invalid_grant", answer["replayCode"]


async def test_an_offer_is_only_for_the_credentials_owner_and_offers_are_checked(world: World) -> None:
    room, me = await passed_and_claimed(world.client, world.bootstrap, world.db, world.settings)
    [listed] = await mine(world.client, me)
    # Awaiting the chamber's co-signature: not complete, so not offered.
    early = await world.client.post("/me/credential-offers", json={"credentialIds": [listed["id"]]}, headers=me)
    assert early.status_code == 409, early.text
    await cosign_all(world.client, room)
    unknown = await world.client.post(
        "/me/credential-offers", json={"credentialIds": ["6b0e8a52-0000-4000-8000-000000000000"]}, headers=me
    )
    assert unknown.status_code == 404, unknown.text
    # Another organisation's client cannot offer it.
    stranger = await world.bootstrap.integrator(["credentials:issue"], name="Elsewhere", kind="vet_provider")
    foreign = await world.client.post(
        f"/organisations/{stranger.org_id}/credential-offers",
        json={"credentialIds": [listed["id"]]},
        headers=stranger.headers,
    )
    assert foreign.status_code == 404, foreign.text
    # A programme's SD-JWT configuration does not fit a unit credential.
    unfit = await world.client.post(
        "/me/credential-offers",
        json={"credentialIds": [listed["id"]], "credentialConfigurationIds": ["programme_dc_sd_jwt"]},
        headers=me,
    )
    assert unfit.status_code == 422, unfit.text

    # Five wrong PINs void the offer; the right one comes too late.
    offer = (
        await world.client.post("/me/credential-offers", json={"credentialIds": [listed["id"]]}, headers=me)
    ).json()
    token_form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        "pre-authorized_code": offer["credentialOffer"]["grants"][
            "urn:ietf:params:oauth:grant-type:pre-authorized_code"
        ]["pre-authorized_code"],
    }
    missing = await world.client.post("/oauth/token", data=token_form)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request", missing.text
    for _ in range(5):
        wrong = await world.client.post("/oauth/token", data={**token_form, "tx_code": wrong_pin(offer["txCode"])})
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant", wrong.text
    late = await world.client.post("/oauth/token", data={**token_form, "tx_code": offer["txCode"]})
    assert late.status_code == 400 and "too many" in late.json()["error_description"], late.text
    gone = await world.client.get(offer["page"].removeprefix(world.url))
    assert gone.status_code == 404

    # The credential endpoint without a token, and with a token of another kind.
    nonce = await world.client.post("/oid4vci/nonce")
    assert nonce.status_code == 200 and nonce.headers["cache-control"] == "no-store", nonce.text
    assert nonce.json()["c_nonce_expires_in"] == 300
    anonymous = await world.client.post("/oid4vci/credential", json={"credential_configuration_id": JWT_VC_JSON})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_token", anonymous.text
    assert anonymous.json()["status"] == 401 and anonymous.json()["type"].startswith("urn:guildhall:problem:")
    learner_token = await world.client.post(
        "/oid4vci/credential", json={"credential_configuration_id": JWT_VC_JSON}, headers=me
    )
    assert learner_token.status_code == 401 and learner_token.json()["error"] == "invalid_token", learner_token.text
    garbage = await world.client.post(
        "/oid4vci/credential", content=b"{not json", headers={**me, "Content-Type": "application/json"}
    )
    assert garbage.status_code == 400 and garbage.json()["error"] == "invalid_credential_request", garbage.text
    empty = await world.client.post("/oid4vci/credential")
    assert empty.status_code == 400 and empty.json()["error"] == "invalid_credential_request", empty.text
    nul = await world.client.post("/oid4vci/credential", content=b"\x00", headers={"Content-Type": "application/json"})
    assert nul.status_code == 400 and nul.json()["error"] == "invalid_credential_request", nul.text


async def test_erasure_deletes_the_learners_offers_and_what_they_delivered(world: World) -> None:
    scopes = "credentials:read assessments:read credentials:revoke"
    room, me = await passed_and_claimed(world.client, world.bootstrap, world.db, world.settings, scopes=scopes)
    await cosign_all(world.client, room)
    [listed] = await mine(world.client, me)
    offer = (
        await world.client.post("/me/credential-offers", json={"credentialIds": [listed["id"]]}, headers=me)
    ).json()
    answer = await wallet(
        world, offer, requests=[{"configurationId": JWT_VC_JSON, "keyAlg": "ES256", "binding": "jwk"}]
    )
    assert "error" not in answer["credentials"][0], answer["credentials"][0]
    async with world.db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM credential_offer_deliveries") == 1
    erased = await world.client.post("/me/erasure", json={"reason": "leaving"}, headers=me)
    assert erased.status_code == 200, erased.text
    async with world.db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM credential_offers") == 0
        assert await conn.fetchval("SELECT count(*) FROM credential_offer_deliveries") == 0
