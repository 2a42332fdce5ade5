"""Data Integrity proof sets on the credential JSON, checked by independent implementations.

The credential JSON carries one ``DataIntegrityProof`` per signature: ``eddsa-rdfc-2022`` for Ed25519 keys,
``ecdsa-rdfc-2019`` for P-256 keys (an RSA signer's proof stays a ``JwtProof2020``). ``tests/node/
check_data_integrity.mjs`` verifies them, offline, with ``@digitalbazaar/vc`` and its cryptosuites (the
whole proof set, then each proof alone) and with ``@digitalcredentials/verifier-core`` (what the Learner
Credential Wallet runs), and expands each credential in JSON-LD safe mode. They get the standard contexts
from their npm packages; the server's own context, DID documents and status lists are fetched from the test
server here and passed in.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.credentials import envelopes, keys, multikey
from domain.credentials.data_integrity import contexts, pool, proofs, rdfc
from domain.credentials.document import OB_CONTEXT, OB_SCHEMA
from domain.db import Database
from tests.conftest import Bootstrap
from tests.node_checkers import run_checker
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credential_schema import cosign_everything, publish_qualification, signing_key
from tests.test_credentials_festo import credentials_of, simulator_pass

SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference"
CHECKER = "check_data_integrity.mjs"


async def _served(
    client: AsyncTestClient[Litestar], settings: Settings, room: Classroom, credentials: list[dict[str, Any]]
) -> dict[str, Any]:
    """What a verifier would fetch from the server: its context, the signers' DID documents, status lists."""
    documents: dict[str, Any] = {}
    context_url = contexts.guildhall_context_url(settings.issuer)
    documents[context_url] = (await client.get(context_url.removeprefix(settings.issuer))).json()
    for organisation in (room.provider, room.chamber):
        did = keys.did_web(settings.issuer, organisation.org_id)
        response = await client.get(f"/organisations/{organisation.org_id}/did.json")
        assert response.status_code == 200, response.text
        documents[did] = response.json()
    for credential in credentials:
        status = credential.get("credentialStatus")
        for entry in status if isinstance(status, list) else [status] if status else []:
            url = entry["statusListCredential"]
            if url not in documents:
                listed = await client.get(url.removeprefix(settings.issuer), headers={"Accept": "application/json"})
                assert listed.status_code == 200, listed.text
                documents[url] = listed.json()
    schema = SHARED / "openbadges-3.0" / "achievementcredential.schema.json"
    documents[OB_SCHEMA] = json.loads(schema.read_text(encoding="utf-8"))
    return documents


def _standard_contexts() -> dict[str, Any]:
    """The OB 3.0.3 context, which no npm package of @digitalbazaar ships: the copy in ../shared/reference."""
    index = json.loads((SHARED / "jsonld-contexts" / "index.json").read_text(encoding="utf-8"))
    return {OB_CONTEXT: json.loads((SHARED / "jsonld-contexts" / index[OB_CONTEXT]).read_text(encoding="utf-8"))}


async def _json_forms(client: AsyncTestClient[Litestar], room: Classroom) -> list[tuple[str, dict[str, Any]]]:
    forms = []
    for credential in await credentials_of(client, room):
        response = await client.get(f"/credentials/{credential['id']}/json", headers=room.provider.headers)
        assert response.status_code == 200, response.text
        forms.append((f"{credential['kind']} {credential.get('unitKey') or ''}".strip(), response.json()))
    return forms


def _assert_verified(result: dict[str, Any], proofs_expected: int) -> None:
    name = result["name"]
    assert result["vc"]["verified"], f"{name}: @digitalbazaar/vc: {result['vc']['errors']}"
    assert len(result["proofs"]) == proofs_expected, name
    for position, proof in enumerate(result["proofs"]):
        assert proof.get("verified"), f"{name}: the proof of {proof.get('verificationMethod')} alone: {proof}"
        # @digitalbazaar/vc on one proof alone also wants its signer to be the issuer: the first proof only.
        assert proof["asIssuer"]["verified"] == (position == 0), f"{name}: {proof}"
    core = result["verifierCore"]
    assert core["signatureValid"], f"{name}: verifier-core: {core}"
    # The status list it fetches carries a Data Integrity proof too: verifier-core checks it, and the bit.
    assert {"id": "revocation_status", "valid": True} in core["log"], f"{name}: verifier-core: {core}"
    assert result["safe"]["ok"], f"{name}: safe-mode expansion: {result['safe']}"
    assert result["safeWithProof"]["ok"], f"{name}: safe-mode expansion with its proofs: {result['safeWithProof']}"


async def test_every_kind_of_credential_verifies_with_vc_and_verifier_core_each_proof_alone_and_tampered_fails(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    await publish_qualification(client, room)
    evidence = [{"mediaType": "video/mp4", "sha256": "ab" * 32, "url": "https://evidence.example/weld.mp4"}]
    recorded = await client.post(
        room.attempts_url, json=room.attempt(welding("l3", "l4", 10), evidence=evidence), headers=room.provider.headers
    )
    assert recorded.status_code == 201, recorded.text
    await simulator_pass(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)

    forms = await _json_forms(client, room)
    assert sorted(name.split()[0] for name, _ in forms) == ["programme", "qualification", "unit", "unit"]
    for name, form in forms:  # the fast expansion and pyoxigraph's own JSON-LD processing agree on each kind
        unsecured = {k: v for k, v in form.items() if k != "proof"}
        fast = rdfc.canonical_nquads(unsecured, settings.issuer)
        assert fast == rdfc.canonical_nquads_general(unsecured, settings.issuer), name
        assert "issuer-dependent" not in fast, name  # no term falls back to the VC 2.0 context's @vocab
    for name, form in forms:
        assert [p["type"] for p in form["proof"]] == ["DataIntegrityProof"] * len(form["proof"]), name
        assert {p["cryptosuite"] for p in form["proof"]} == {"eddsa-rdfc-2022"}
        signers = [p["verificationMethod"].split("#")[0] for p in form["proof"]]
        assert signers[0] == form["issuer"]["id"], name
        if "termsOfUse" in form:  # co-signed: the chamber's proof is the second of the set
            assert signers[1:] == form["termsOfUse"][0]["requiredSigner"], name
        again = await client.get(
            f"/credentials/{form['id'].removeprefix('urn:uuid:')}/json", headers=room.provider.headers
        )
        assert again.json() == form  # kept: the same proofs every time

    tampered = copy.deepcopy(forms[0][1])
    tampered["credentialSubject"]["achievement"]["name"] = "Master welder"
    documents = await _served(client, settings, room, [f for _, f in forms])
    # The JSON form handed out before Data Integrity (JwtProof2020 proofs): its JSON-LD is checked too.
    some_id = forms[-1][1]["id"].removeprefix("urn:uuid:")
    jws = (await client.get(f"/credentials/{some_id}/jws", headers=room.provider.headers)).json()
    signatures = [envelopes.Signature(s["protected"], s["signature"]) for s in jws["signatures"]]
    signed = envelopes.b64url_decode(jws["payload"])
    old_form = envelopes.with_proof(signed, signatures, ["2026-11-20T11:00:00Z"] * len(signatures))
    payload = {
        "documents": documents,
        "contexts": _standard_contexts(),
        "credentials": [{"name": n, "credential": f} for n, f in forms]
        + [{"name": "tampered", "credential": tampered}, {"name": "old", "credential": old_form, "only": "safe"}],
    }
    results = {r["name"]: r for r in (await run_checker(CHECKER, payload))["results"]}
    for name, form in forms:
        _assert_verified(results[name], len(form["proof"]))
    assert any(len(f["proof"]) == 2 for _, f in forms), "a co-signed credential carries a proof set of two"
    old = results["old"]
    assert old["safe"]["ok"] and old["safeWithProof"]["ok"], old
    bad = results["tampered"]
    assert not bad["vc"]["verified"]
    assert not any(p.get("verified") for p in bad["proofs"])
    assert not bad["verifierCore"]["signatureValid"], bad["verifierCore"]

    # Our own verifier agrees: the new form is valid, the tampered one is not; the old JwtProof2020 form still reads.
    for name, form in forms:
        verdict = (await client.post("/verify", json={"credential": form})).json()
        assert verdict["verdict"] == "valid" and verdict["form"] == "data-integrity", (name, verdict)
        assert [s["valid"] for s in verdict["signatures"]] == [True] * len(form["proof"]), verdict
    verdict = (await client.post("/verify", json={"credential": tampered})).json()
    assert verdict["verdict"] == "invalid", verdict
    assert "does not verify" in verdict["summary"], verdict


@pytest.mark.parametrize(
    ("issuer_key", "types", "suites"),
    [
        ({"alg": "ES256"}, ["DataIntegrityProof", "DataIntegrityProof"], ["ecdsa-rdfc-2019", "eddsa-rdfc-2022"]),
        ({"alg": "RS256"}, ["JwtProof2020", "DataIntegrityProof"], [None, "eddsa-rdfc-2022"]),
    ],
)
async def test_es256_issuers_prove_with_ecdsa_rdfc_2019_and_rs256_issuers_keep_a_jwt_proof(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    settings: Settings,
    issuer_key: dict[str, str],
    types: list[str],
    suites: list[str | None],
) -> None:
    room = await classroom(client, bootstrap)
    await signing_key(client, room.provider, issuer_key)
    await simulator_pass(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)
    [(name, form)] = await _json_forms(client, room)
    assert [p["type"] for p in form["proof"]] == types
    assert [p.get("cryptosuite") for p in form["proof"]] == suites

    documents = await _served(client, settings, room, [form])
    payload = {
        "documents": documents,
        "contexts": _standard_contexts(),
        "credentials": [{"name": name, "credential": form}],
    }
    [result] = (await run_checker(CHECKER, payload))["results"]
    first, cosigner = result["proofs"]
    assert cosigner["verified"], result  # the chamber's eddsa-rdfc-2022 proof, alone
    assert result["safe"]["ok"] and result["safeWithProof"]["ok"], result
    # The Learner Credential Wallet's verifier knows eddsa-rdfc-2022 only: no proof of the issuer it can check.
    assert not result["verifierCore"]["signatureValid"], result
    if issuer_key["alg"] == "ES256":
        assert result["vc"]["verified"] and first["verified"] and first["asIssuer"]["verified"], result
    else:  # an RSA key has no Data Integrity cryptosuite: DI verifiers find no proof by the issuer
        assert first["type"] == "JwtProof2020" and not result["vc"]["verified"], result
    verdict = (await client.post("/verify", json={"credential": form})).json()
    assert verdict["verdict"] == "valid", verdict
    assert [s["alg"] for s in verdict["signatures"]] == [suites[0] or "RS256", "eddsa-rdfc-2022"], verdict


def test_canonical_form_is_the_same_both_ways_and_proofs_check_here() -> None:
    """The fast expansion (Guildhall's own documents) and pyoxigraph's own JSON-LD processing agree."""
    public_url = "https://guildhall.example"
    document = {
        "@context": [contexts.VC_V2, OB_CONTEXT, contexts.guildhall_context_url(public_url)],
        "id": "urn:uuid:0b5f6a43-5b8e-4a35-9d8c-4f4b1c1f7f11",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": 'Schweißen "MIG" – Grundlagen\nund mehr',
        "issuer": {"id": "did:web:guildhall.example:organisations:1", "type": ["Profile"], "name": "Zürich AG"},
        "validFrom": "2026-12-06T10:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://guildhall.example/register/programmes/1/versions/1",
                "type": ["Achievement"],
                "name": "Welding",
                "criteria": {"narrative": "- a\n- b"},
                "learningOutcome": [{"id": "urn:guildhall:outcome:u1/l1", "title": "Welds"}],
                "eqfLevel": 4,
                "volumeOfLearning": "PT40H",
                "creditsAvailable": 2.5,
            },
            "creditsEarned": 2.5,
        },
    }
    general = rdfc.canonical_nquads_general(document, public_url)
    assert rdfc.canonical_nquads(document, public_url) == general
    # Documents the fast expansion does not take (an embedded context, an @json value) or takes with care (a term
    # no context defines, falling back to the VC 2.0 context's @vocab): the same canonical form either way.
    for variant in (
        {**document, "undefinedTerm": "falls back to the issuer-dependent @vocab"},
        {**document, "credentialSubject": {**document["credentialSubject"], "@context": {"x": "https://x.example/"}}},
        {**document, "credentialSchema": [{"id": "https://s.example/", "type": "JsonSchema", "jsonSchema": {"a": 1}}]},
    ):
        assert rdfc.canonical_nquads(variant, public_url) == rdfc.canonical_nquads_general(variant, public_url)
    config = proofs.proof_config(document, "eddsa-rdfc-2022", "did:web:guildhall.example#key-1", "2026-12-06T10:00:00Z")
    config_nquads = rdfc.canonical_nquads_general(config, public_url)
    assert rdfc.canonical_nquads(config, public_url) == config_nquads
    assert "<https://w3id.org/security#proofPurpose> <https://w3id.org/security#assertionMethod>" in config_nquads
    assert '"Schwei\u00dfen \\"MIG\\" \u2013 Grundlagen\\nund mehr"' in general
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    signer = proofs.Signer(
        proofs.SigningKey("Ed25519", private.private_bytes_raw()), "did:x#key-1", "2026-12-06T10:00:00Z"
    )
    proof = proofs.create(document, signer, public_url)
    import base64

    x = base64.urlsafe_b64encode(private.public_key().public_bytes_raw()).rstrip(b"=").decode()
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": x, "alg": "Ed25519"}
    proofs.verify(document, proof, jwk, public_url)
    assert proofs.verify_set({**document, "name": "Other"}, [(proof, jwk)], public_url) == [
        "the proof's signature does not verify"
    ]


async def test_broken_proofs_and_foreign_documents_get_a_verdict_not_an_error(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    await simulator_pass(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)
    [(_, form)] = await _json_forms(client, room)

    long_value = copy.deepcopy(form)
    long_value["proof"][0]["proofValue"] = "z" + "1" * 100_000  # base58 decoding is quadratic: refused unread
    unknown_context = copy.deepcopy(form)
    unknown_context["@context"].append("https://contexts.example/never-fetched")
    deep: Any = "x"
    for _ in range(55):  # as deep as the edge lets through (64 levels in all; deeper answers 400 there)
        deep = {"n": deep}
    nested = copy.deepcopy(form)
    nested["credentialSubject"]["deep"] = deep
    created = copy.deepcopy(form)
    created["proof"][1]["created"] = {"@value": "not a date"}
    for broken, expected in (
        (long_value, "multibase"),
        (unknown_context, "not one this server knows"),
        (nested, "does not verify"),
        (created, "does not verify"),
    ):
        response = await client.post("/verify", json={"credential": broken})
        assert response.status_code in (200, 422), response.text
        if response.status_code == 200:
            verdict = response.json()
            assert verdict["verdict"] == "invalid", verdict
            assert (
                any(expected in (s["problem"] or "") for s in verdict["signatures"]) or expected in verdict["summary"]
            ), verdict


async def test_a_revoked_and_an_expired_credential_fail_in_the_data_integrity_form(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    await simulator_pass(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)
    [(_, held)] = await _json_forms(client, room)  # what the learner's wallet holds
    credential_id = held["id"].removeprefix("urn:uuid:")
    revoked = await client.post(
        f"/credentials/{credential_id}/revocation", json={"reason": "Issued in error"}, headers=room.provider.headers
    )
    assert revoked.status_code == 200, revoked.text

    # The same credential with a validity that ended yesterday, proved by the awarding body's key.
    document = {k: v for k, v in held.items() if k != "proof"}
    yesterday = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    document["validFrom"] = document["awardedDate"] = (
        (yesterday - timedelta(days=365)).isoformat().replace("+00:00", "Z")
    )
    document["validUntil"] = yesterday.isoformat().replace("+00:00", "Z")
    async with db.connection() as conn:
        key = await keys.current_signing_key(conn, settings.master_key, room.provider.org_id)
    d = key.jwk.as_dict(private=True)["d"]
    method = multikey.verification_method_id(keys.did_web(settings.issuer, room.provider.org_id), key.kid)
    signer = proofs.Signer(proofs.SigningKey("Ed25519", envelopes.b64url_decode(d)), method, document["validFrom"])
    expired = {**document, "proof": [proofs.create(document, signer, settings.issuer)]}

    documents = await _served(client, settings, room, [held])  # the status list as published now
    payload = {
        "documents": documents,
        "contexts": _standard_contexts(),
        "credentials": [{"name": "revoked", "credential": held}, {"name": "expired", "credential": expired}],
    }
    results = {r["name"]: r for r in (await run_checker(CHECKER, payload))["results"]}
    core = results["revoked"]["verifierCore"]
    assert core["signatureValid"] and {"id": "revocation_status", "valid": False} in core["log"], core
    core = results["expired"]["verifierCore"]
    assert core["signatureValid"] and {"id": "expiration", "valid": False} in core["log"], core
    assert not results["expired"]["vc"]["verified"], results["expired"]["vc"]
    assert any('is after "validUntil"' in e for e in results["expired"]["vc"]["errors"]), results["expired"]["vc"]

    verdict = (await client.post("/verify", json={"credential": held})).json()
    assert verdict["verdict"] == "revoked" and verdict["form"] == "data-integrity", verdict
    verdict = (await client.post("/verify", json={"credential": expired})).json()
    validity = next(c for c in verdict["checks"] if c["check"] == "validity")
    assert validity["status"] == "failed" and validity["message"].startswith("expired on"), verdict
    assert next(c for c in verdict["checks"] if c["check"] == "signatures")["status"] == "passed", verdict


async def test_a_poison_graph_gets_a_verdict_in_bounded_time_and_leaves_the_proof_pool_working(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, monkeypatch: Any
) -> None:
    # RDFC-1.0 canonicalisation of blank nodes that all point at each other is factorial in their number: ten of
    # them (1.5 KB, no token needed) would hold a proof process for minutes. Verification is bounded in time,
    # and the stuck process is replaced.
    room = await classroom(client, bootstrap)
    await simulator_pass(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)
    [(_, form)] = await _json_forms(client, room)
    assert (await client.post("/verify", json={"credential": form})).json()["verdict"] == "valid"  # the pool is warm

    monkeypatch.setattr(pool, "VERIFY_SECONDS", 3.0)
    poisoned = copy.deepcopy(form)
    nodes = [f"_:b{i}" for i in range(10)]
    poisoned["credentialSubject"]["https://example.org/knows"] = [
        {"@id": node, "https://example.org/knows": [{"@id": other} for other in nodes if other != node]}
        for node in nodes
    ]
    started = time.monotonic()
    response = await client.post("/verify", json={"credential": poisoned})
    assert time.monotonic() - started < 20
    assert response.status_code == 200, response.text
    assert response.json()["verdict"] == "invalid", response.json()
    problems = [s["problem"] or "" for s in response.json()["signatures"]]
    assert any("could not be canonicalised within 3 seconds" in p for p in problems), problems
    assert (await client.post("/verify", json={"credential": form})).json()["verdict"] == "valid"
