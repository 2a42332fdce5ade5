"""The Learner Credential Wallet's VC-API exchange, run as that wallet runs it against a real server.

``tests/node/lcw_exchange.mjs`` plays the wallet with ``@digitalbazaar/vc``, ``@digitalbazaar/did-method-key``
and ``Ed25519Signature2020`` (what LCW's ``composeVp`` signs with): it reads the ``https://lcw.app/request?
request=…`` link the learner's page shows, POSTs ``{}``, signs the DIDAuth presentation with a fresh did:key and
POSTs it. The credential that comes back (the Festo/IHK co-signed one, bound to the wallet's DID) is verified by
``@digitalcredentials/verifier-core`` and ``@digitalbazaar/vc`` (``check_data_integrity.mjs``): both proofs,
and after revocation its status reads revoked. A wrong challenge, a replayed exchange, a key that is not the
holder's DID and an expired exchange are refused, each saying why.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from domain.db import Database
from tests.conftest import Bootstrap
from tests.live_server import LoopbackServer, loopback_socket
from tests.node_checkers import run_checker
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_credential_schema import cosign_everything
from tests.test_credentials_festo import simulator_pass
from tests.test_data_integrity import CHECKER, _assert_verified, _served, _standard_contexts
from tests.test_erasure import ERASING_SCOPES
from tests.test_learner_claims import claim, issue, learner_token
from tests.test_wallet import mine

WALLET = "lcw_exchange.mjs"


@dataclass
class Served:
    url: str
    settings: Settings
    client: AsyncTestClient[Litestar]
    bootstrap: Bootstrap


@pytest.fixture
async def served(settings: Settings, db: Database) -> AsyncIterator[Served]:
    """The app on a loopback port (for the Node wallet) and in process (for the test), one public URL."""
    sock = loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    public = dataclasses.replace(settings, public_url=url)
    try:
        async with (
            LoopbackServer(create_app(public), sock),
            AsyncTestClient(app=create_app(public), base_url=url) as client,
        ):
            yield Served(url, public, client, Bootstrap(db, client))
    finally:
        sock.close()


async def _cosigned_and_claimed(world: Served, db: Database) -> tuple[Classroom, dict[str, str], dict[str, Any]]:
    client = world.client
    room = await classroom(client, world.bootstrap)
    await simulator_pass(client, room)
    await drain(db, world.settings)
    await cosign_everything(client, room)
    assert (await claim(client, await issue(client, room.provider, room.learner_id))).status_code == 200
    me = await learner_token(client, world.bootstrap, scopes=ERASING_SCOPES)
    [credential] = await mine(client, me)
    return room, me, credential


async def _exchange(world: Served, me: dict[str, str], credential_id: str) -> dict[str, Any]:
    made = await world.client.post(f"/me/credentials/{credential_id}/wallet-exchanges", headers=me)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def _wallet(
    link: str, mode: str = "normal", version: float = 1.0, suite: str = "Ed25519Signature2020"
) -> dict[str, Any]:
    payload = {"deepLink": link, "mode": mode, "version": version, "suite": suite}
    result: dict[str, Any] = await run_checker(WALLET, payload)
    return result


async def test_the_wallet_gets_the_cosigned_credential_bound_to_its_did_and_both_proofs_verify(
    served: Served, db: Database
) -> None:
    world, client = served, served.client
    room, me, credential = await _cosigned_and_claimed(world, db)
    exchange = await _exchange(world, me, credential["id"])

    # The link is LCW's: https://lcw.app/request?request=<invitation>, and the dccrequest:// deep link.
    link = urlsplit(exchange["walletRequestUrl"])
    assert (link.scheme, link.netloc, link.path) == ("https", "lcw.app", "/request")
    invitation = json.loads(parse_qs(link.query)["request"][0])
    assert invitation == {"credentialRequestOrigin": world.url, "protocols": {"vcapi": exchange["exchangeUrl"]}}
    assert exchange["deepLink"].startswith("dccrequest://request?request=")
    assert exchange["exchangeUrl"].startswith(f"{world.url}/workflows/learner-credential-wallet/exchanges/")

    # The learner's page offers it; the public page does not.
    page = await client.get(exchange["pageUrl"].removeprefix(world.url))
    assert page.status_code == 200 and "Add to Learner Credential Wallet" in page.text
    assert "dccrequest://request?request=" in page.text and "<svg" in page.text
    public_page = await client.get(f"/c/{credential['id']}")
    assert public_page.status_code == 200 and "Add to Learner Credential Wallet" not in public_page.text

    ran = await _wallet(exchange["walletRequestUrl"])
    request = ran["vpr"]
    assert request["query"]["type"] == "DIDAuthentication" and {"method": "key"} in request["query"]["acceptedMethods"]
    assert request["domain"] == world.url and len(request["challenge"]) >= 32
    assert ran["status"] == 200, ran
    [bound] = ran["response"]["verifiablePresentation"]["verifiableCredential"]
    assert bound["credentialSubject"]["id"] == ran["holder"]
    assert bound["id"] == f"urn:uuid:{credential['id']}"
    assert [p["verificationMethod"].split("#")[0] for p in bound["proof"]] == [
        bound["issuer"]["id"],
        *bound["termsOfUse"][0]["requiredSigner"],
    ]
    # The exchange is used up; its page is gone.
    assert (await client.get(exchange["pageUrl"].removeprefix(world.url))).status_code == 404

    documents = await _served(client, world.settings, room, [bound])
    payload = {
        "documents": documents,
        "contexts": _standard_contexts(),
        "credentials": [{"name": "lcw", "credential": bound}],
    }
    [result] = (await run_checker(CHECKER, payload))["results"]
    _assert_verified(result, 2)  # issuer's and IHK's proofs, each alone; verifier-core; the status is live

    revoked = await client.post(
        f"/credentials/{credential['id']}/revocation", json={"reason": "Issued in error"}, headers=room.provider.headers
    )
    assert revoked.status_code == 200, revoked.text
    documents = await _served(client, world.settings, room, [bound])
    payload = {
        "documents": documents,
        "contexts": _standard_contexts(),
        "credentials": [{"name": "lcw", "credential": bound}],
    }
    [after] = (await run_checker(CHECKER, payload))["results"]
    core = after["verifierCore"]
    assert core["signatureValid"] and {"id": "revocation_status", "valid": False} in core["log"], core
    # And no new exchange is made for a revoked credential.
    refused = await client.post(f"/me/credentials/{credential['id']}/wallet-exchanges", headers=me)
    assert refused.status_code == 409 and "revoked" in refused.json()["detail"], refused.text


async def test_wrong_challenge_replay_foreign_key_and_expiry_are_refused_with_reasons(
    served: Served, db: Database
) -> None:
    world, client = served, served.client
    room, me, credential = await _cosigned_and_claimed(world, db)

    # The provider may make the exchange too (to show in its learning platform); the chamber may not.
    by_provider = await client.post(f"/credentials/{credential['id']}/wallet-exchanges", headers=room.provider.headers)
    assert by_provider.status_code == 201, by_provider.text
    ran = await _wallet(by_provider.json()["walletRequestUrl"])
    assert ran["status"] == 200, ran["response"]
    chamber = await client.post(f"/credentials/{credential['id']}/wallet-exchanges", headers=room.chamber.headers)
    assert chamber.status_code in (403, 404), chamber.text

    wrong = await _wallet((await _exchange(world, me, credential["id"]))["walletRequestUrl"], "wrong-challenge")
    assert wrong["status"] == 400 and "challenge" in wrong["response"]["detail"], wrong["response"]

    foreign = await _wallet((await _exchange(world, me, credential["id"]))["walletRequestUrl"], "foreign-key")
    assert foreign["status"] == 400, foreign["response"]
    assert "verificationMethod is not the holder's key" in foreign["response"]["detail"], foreign["response"]

    for mode in ("forged-key", "tampered"):  # the signature itself is checked (RDFC-1.0, SHA-256, Ed25519)
        forged = await _wallet((await _exchange(world, me, credential["id"]))["walletRequestUrl"], mode)
        assert forged["status"] == 400, forged["response"]
        assert "Ed25519Signature2020 signature does not verify" in forged["response"]["detail"], forged["response"]

    replayed = await _wallet((await _exchange(world, me, credential["id"]))["walletRequestUrl"], "replay")
    assert replayed["status"] == 200, replayed["response"]
    assert replayed["replay"]["status"] == 409, replayed["replay"]
    assert "already used" in replayed["replay"]["response"]["detail"]

    # A VC 2.0 presentation (the context newer wallets use) is as good as LCW's VC 1.1 one.
    v2 = await _wallet((await _exchange(world, me, credential["id"]))["walletRequestUrl"], version=2.0)
    assert v2["status"] == 200, v2["response"]
    # A DataIntegrityProof with eddsa-rdfc-2022 by the same did:key is accepted; tampered, it is not.
    link = (await _exchange(world, me, credential["id"]))["walletRequestUrl"]
    eddsa = await _wallet(link, version=2.0, suite="eddsa-rdfc-2022")
    assert eddsa["presentation"]["proof"]["cryptosuite"] == "eddsa-rdfc-2022", eddsa["presentation"]
    assert eddsa["status"] == 200, eddsa["response"]
    link = (await _exchange(world, me, credential["id"]))["walletRequestUrl"]
    forged = await _wallet(link, "tampered", version=2.0, suite="eddsa-rdfc-2022")
    assert forged["status"] == 400 and "eddsa-rdfc-2022 signature does not verify" in forged["response"]["detail"]

    late = await _exchange(world, me, credential["id"])
    async with db.connection() as conn:
        await conn.execute(
            "UPDATE vc_api_exchanges SET created_at = now() - interval '1 hour', expires_at = now() - interval '1 minute'"
            " WHERE id = $1",
            late["exchangeId"],
        )
    expired = await client.post(late["exchangeUrl"].removeprefix(world.url), json={})
    assert expired.status_code == 409 and "expired" in expired.json()["detail"], expired.text
    unknown = await client.post(
        "/workflows/learner-credential-wallet/exchanges/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12, json={}
    )
    assert unknown.status_code == 404, unknown.text
    # A presentation that is not one: refused, not a 500.
    junk = await _exchange(world, me, credential["id"])
    path = junk["exchangeUrl"].removeprefix(world.url)
    assert (await client.post(path, json={})).status_code == 200
    for body in (
        {"verifiablePresentation": {}},
        {"verifiablePresentation": {"type": "VerifiablePresentation", "holder": "did:web:x"}},
    ):
        answer = await client.post(path, json=body)
        assert answer.status_code == 400, answer.text
    assert (await client.post(path, json={"other": 1})).status_code == 400
    # Erasure deletes the exchanges (they hold the wallets' DIDs), the provider's included.
    erased = await client.post("/me/erasure", json={}, headers=me)
    assert erased.status_code == 200, erased.text
    async with db.connection() as conn:
        left = await conn.fetchval("SELECT count(*) FROM vc_api_exchanges WHERE credential_id = $1", credential["id"])
    assert left == 0
