"""A credential bound to its holder's DID (``data_integrity.holder_binding``): ``credentialSubject.id`` set,
every proof (the awarding body's and the co-signing chamber's) re-made over the bound document, checked by
``@digitalbazaar/vc`` and ``@digitalcredentials/verifier-core`` (``tests/node/check_data_integrity.mjs``) and
by our own ``POST /verify``; the stored credential and its kept proofs are untouched."""

from __future__ import annotations

from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.credentials import service
from domain.credentials.data_integrity import holder_binding
from domain.db import Database
from tests.conftest import Bootstrap
from tests.node_checkers import run_checker
from tests.outbox_drain import drain
from tests.scenarios import classroom
from tests.test_credential_schema import cosign_everything, signing_key
from tests.test_credentials_festo import credentials_of, simulator_pass
from tests.test_data_integrity import CHECKER, _assert_verified, _served, _standard_contexts

HOLDER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


async def test_a_cosigned_credential_bound_to_a_did_keeps_both_proofs_valid(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    await simulator_pass(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)
    [credential] = await credentials_of(client, room)
    stored = (await client.get(f"/credentials/{credential['id']}/json", headers=room.provider.headers)).json()
    row = await service.signed_forms(db, None, UUID(credential["id"]))

    bound = await holder_binding.bound_to_holder(
        db, row, HOLDER, master_key=settings.master_key, public_url=settings.issuer
    )
    again = await holder_binding.bound_to_holder(
        db, row, HOLDER, master_key=settings.master_key, public_url=settings.issuer
    )
    assert bound == again  # Ed25519 proofs, created = when each signer signed: deterministic
    assert bound["credentialSubject"]["id"] == HOLDER
    assert {k: v for k, v in bound.items() if k not in ("proof", "credentialSubject")} == {
        k: v for k, v in stored.items() if k not in ("proof", "credentialSubject")
    }
    assert [p["verificationMethod"] for p in bound["proof"]] == [p["verificationMethod"] for p in stored["proof"]]
    assert [p["created"] for p in bound["proof"]] == [p["created"] for p in stored["proof"]]
    assert [p["proofValue"] for p in bound["proof"]] != [p["proofValue"] for p in stored["proof"]]
    unchanged = (await client.get(f"/credentials/{credential['id']}/json", headers=room.provider.headers)).json()
    assert unchanged == stored and "id" not in unchanged["credentialSubject"]

    other = await holder_binding.bound_to_holder(
        db,
        row,
        "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH",
        master_key=settings.master_key,
        public_url=settings.issuer,
    )
    moved = {**bound, "credentialSubject": other["credentialSubject"]}  # another holder's subject, these proofs
    documents = await _served(client, settings, room, [bound])
    payload = {
        "documents": documents,
        "contexts": _standard_contexts(),
        "credentials": [{"name": "bound", "credential": bound}, {"name": "moved", "credential": moved}],
    }
    results = {r["name"]: r for r in (await run_checker(CHECKER, payload))["results"]}
    _assert_verified(results["bound"], 2)
    assert not results["moved"]["vc"]["verified"]
    assert not results["moved"]["verifierCore"]["signatureValid"], results["moved"]["verifierCore"]

    verdict = (await client.post("/verify", json={"credential": bound})).json()
    assert verdict["verdict"] == "valid" and verdict["form"] == "data-integrity", verdict
    assert [s["valid"] for s in verdict["signatures"]] == [True, True], verdict


@pytest.mark.parametrize("holder", ["not a did", "did:key:", "did:KEY:z6Mk", "did:key:z6Mk\n"])
def test_a_holder_that_is_not_a_did_is_refused(holder: str) -> None:
    with pytest.raises(holder_binding.HolderBindingUnavailable):
        holder_binding.bound_document({"credentialSubject": {"type": ["AchievementSubject"]}}, holder)


async def test_an_rsa_signer_cannot_prove_a_bound_copy(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    await signing_key(client, room.provider, {"alg": "RS256"})
    await simulator_pass(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)
    [credential] = await credentials_of(client, room)
    row = await service.signed_forms(db, None, UUID(credential["id"]))
    with pytest.raises(holder_binding.HolderBindingUnavailable, match="RSA"):
        await holder_binding.bound_to_holder(
            db, row, HOLDER, master_key=settings.master_key, public_url=settings.issuer
        )
