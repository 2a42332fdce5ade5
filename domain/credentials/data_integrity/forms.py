"""The credential JSON with its proof set: one ``DataIntegrityProof`` per signature.

Made on the first request for the JSON form and kept (``credential_proofs``), rather than eagerly at
issuance: most credentials are fetched as a VC-JWT (the OB 3.0 API's default) or never downloaded, a
co-signature adds its proof later anyway, and a proof costs milliseconds of CPU where issuing a whole
credential costs a fraction of one. The first request pays ~2–7 ms in the proof pool; every later one reads
the kept proofs. Ed25519 proofs are deterministic (``created`` = the signature's time), so two first requests
at once make the same proof and the second insert is a no-op; ECDSA (P-256) signatures are randomised, so
there the second request answers with a proof of its own (as valid) and later ones read the first one kept.

Each proof is made with the key that made the signer's JWS signature, as ``{did}#key-{kid}``. An RSA key has no
Data Integrity cryptosuite: that signer's proof stays a ``JwtProof2020`` (its VC-JWT).
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.credentials import envelopes, keys, multikey
from domain.credentials.data_integrity import pool, proofs
from domain.credentials.keys import did_web
from domain.db import Database
from domain.sql import load_queries

q = load_queries(__file__, "forms.sql")
Json = dict[str, Any]
JWT_PROOF_TYPE = "JwtProof2020"
# The JWS algs of keys that have a Data Integrity cryptosuite (RSA has none).
_DI_ALGS = frozenset({"Ed25519", "EdDSA", "ES256"})


def proof_created(signature: Mapping[str, Any]) -> str:
    moment = datetime.fromisoformat(signature["signedAt"]).astimezone(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _jwt_proof(row: Mapping[str, Any], signature: Mapping[str, Any]) -> Json:
    payload = base64.urlsafe_b64encode(row["payload"]).rstrip(b"=").decode()
    return {
        "type": JWT_PROOF_TYPE,
        "created": proof_created(signature),
        "proofPurpose": "assertionMethod",
        "jwt": f"{signature['protected']}.{payload}.{signature['signature']}",
    }


def signing_key(key_row: Mapping[str, Any], master_key: bytes) -> proofs.SigningKey | None:
    """What a pool process signs with, for a key that has a Data Integrity cryptosuite (not RSA)."""
    key = keys.decrypted_key(key_row, master_key)
    if key.alg not in proofs.CRYPTOSUITES:
        return None
    d = str(key.jwk.as_dict(private=True)["d"])  # the private scalar of an OKP or EC key
    return proofs.SigningKey(key.alg, base64.urlsafe_b64decode(d + "=" * (-len(d) % 4)))


async def json_with_proofs(db: Database, row: Mapping[str, Any], *, master_key: bytes, public_url: str) -> Json:
    """The credential JSON with one proof per signature, the awarding body's first (as in the JWS forms)."""
    document = envelopes.credential_json(row["payload"])  # the credential, without the VC-JWT's claims
    signatures = list(row["signatures"])
    async with db.connection() as conn:
        kept = {(r["organisation_id"], r["kid"]): r["proof"] for r in await conn.fetch(q.kept_proofs, row["id"])}
        missing = [s for s in signatures if (UUID(s["organisationId"]), s["kid"]) not in kept]
        key_rows = await conn.fetch(q.signing_keys, [s["kid"] for s in missing]) if missing else []
    has_suite = {r["kid"] for r in key_rows if r["alg"] in _DI_ALGS}
    to_make = [s for s in missing if s["kid"] in has_suite]
    if to_make:
        private = {r["kid"]: signing_key(r, master_key) for r in key_rows}
        signers = []
        for signature in to_make:
            key = private[signature["kid"]]
            assert key is not None
            method = multikey.verification_method_id(
                did_web(public_url, UUID(signature["organisationId"])), signature["kid"]
            )
            signers.append(proofs.Signer(key, method, proof_created(signature)))
        made = await pool.create_set(document, signers, public_url)
        async with db.connection() as conn:
            for signature, proof in zip(to_make, made, strict=True):
                organisation = UUID(signature["organisationId"])
                await conn.execute(q.keep_proof, row["id"], organisation, signature["kid"], proof)
                kept[(organisation, signature["kid"])] = proof
    set_of_proofs = [kept.get((UUID(s["organisationId"]), s["kid"])) or _jwt_proof(row, s) for s in signatures]
    return {**document, "proof": set_of_proofs}


# A status list's proof, by the signature of the VC-JWT it accompanies: a list is re-signed when its bits
# change, so the JWS signature names one version of one list (a few hundred bytes each, least recent out).
_STATUS_PROOFS = 512
_status_proofs: OrderedDict[str, Json] = OrderedDict()


async def status_list_with_proof(
    db: Database, jwt: str, organisation_id: UUID, *, master_key: bytes, public_url: str
) -> Json:
    """A ``BitstringStatusListCredential``'s JSON with a ``DataIntegrityProof`` by the key that signed its
    VC-JWT, so that verifiers which check a status list's proof (Data Integrity only) can; a list signed by an
    RSA key keeps its ``JwtProof2020``."""
    signature = envelopes.Signature.from_compact(jwt)
    payload = envelopes.b64url_decode(jwt.split(".")[1])
    document = envelopes.credential_json(payload)
    proof = _status_proofs.get(signature.signature)
    if proof is not None:
        _status_proofs.move_to_end(signature.signature)
        return {**document, "proof": [proof]}
    header = signature.header()
    signer = header.get("iss") if isinstance(header.get("iss"), str) else did_web(public_url, organisation_id)
    kid = envelopes.signed_kid(header.get("kid"), signer)
    async with db.connection() as conn:
        rows = await conn.fetch(q.signing_keys, [kid]) if kid else []
    key = signing_key(rows[0], master_key) if rows and rows[0]["organisation_id"] == organisation_id else None
    if key is None:
        return envelopes.with_proof(payload, [signature], [str(document.get("validFrom"))])
    method = multikey.verification_method_id(str(signer), str(kid))
    [proof] = await pool.create_set(document, [proofs.Signer(key, method, str(document.get("validFrom")))], public_url)
    _status_proofs[signature.signature] = proof
    if len(_status_proofs) > _STATUS_PROOFS:
        _status_proofs.popitem(last=False)
    return {**document, "proof": [proof]}
