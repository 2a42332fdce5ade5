"""A credential bound to its holder: ``credentialSubject.id`` set to the wallet's DID, every proof re-made.

Wallets that receive a credential through an exchange (the Learner Credential Wallet's VC-API exchange,
OpenID4VCI's ``ldp_vc``) prove a DID and expect the credential to name it as its subject. Guildhall signs the
learner by ``identifier``s (no DID), so the stored credential has no ``credentialSubject.id``; the bound copy
adds it, and since a Data Integrity proof covers the whole document, each signer's proof (the awarding
body's, a co-signing chamber's) is made again over the bound document with the key that made that signer's
signature, ``created`` = when that signer signed (Ed25519 proofs are then the same every time for the same
holder).

Not kept: bound copies are made per exchange (single-use and rate limited), so a kept copy would almost
never be read again, and it would hold the holder's DID, one more piece of personal data to erase. Making one
costs a couple of milliseconds in the proof pool. The stored canonical document and its proofs
(``credential_proofs``) are untouched.

A signer whose key has no Data Integrity cryptosuite (RSA) cannot prove the bound document (its
``JwtProof2020`` covers the unbound payload): such a credential is refused with ``HolderBindingUnavailable``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from domain.credentials import envelopes, multikey
from domain.credentials.data_integrity import forms, pool, proofs
from domain.credentials.keys import did_web
from domain.db import Database

Json = dict[str, Any]
# DID syntax (W3C DID Core §3.1): did:<method>:<method-specific-id>, ASCII, percent-encoding allowed.
_DID = re.compile(r"did:[a-z0-9]+:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}|:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})")
_MAX_DID = 2048


class HolderBindingUnavailable(ValueError):
    """The credential cannot be bound to a holder: the message says why (an RSA signer, or not a DID)."""


def is_did(value: str) -> bool:
    return len(value) <= _MAX_DID and _DID.fullmatch(value) is not None


def bound_document(document: Mapping[str, Any], holder_did: str) -> Json:
    """The credential (without proofs) whose ``credentialSubject.id`` is ``holder_did``, nothing else changed."""
    if not is_did(holder_did):
        raise HolderBindingUnavailable(f"{holder_did[:80]!r} is not a DID")
    bound = {k: v for k, v in document.items() if k != "proof"}
    subject = bound.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise HolderBindingUnavailable("the credential has no single credentialSubject to bind")
    bound["credentialSubject"] = {"id": holder_did, **{k: v for k, v in subject.items() if k != "id"}}
    return bound


async def bound_to_holder(
    db: Database, row: Mapping[str, Any], holder_did: str, *, master_key: bytes, public_url: str
) -> Json:
    """The credential of ``row`` (a signed credential: ``id``, ``payload``, ``signatures``, as
    ``forms.json_with_proofs`` takes it) with ``credentialSubject.id`` = ``holder_did`` and one
    ``DataIntegrityProof`` per signature over that bound document, the awarding body's first.

    Raises ``HolderBindingUnavailable`` when ``holder_did`` is not a DID or a signer's key has no Data
    Integrity cryptosuite."""
    document = bound_document(envelopes.credential_json(row["payload"]), holder_did)
    signatures = list(row["signatures"])
    async with db.connection() as conn:
        key_rows = {r["kid"]: r for r in await conn.fetch(forms.q.signing_keys, [s["kid"] for s in signatures])}
    signers = []
    for signature in signatures:
        key_row = key_rows.get(signature["kid"])
        key = forms.signing_key(key_row, master_key) if key_row is not None else None
        if key is None:
            raise HolderBindingUnavailable(
                "a signer of this credential signs with a key that has no Data Integrity cryptosuite (RSA): "
                "its proof cannot cover a copy bound to the holder"
            )
        method = multikey.verification_method_id(
            did_web(public_url, UUID(signature["organisationId"])), signature["kid"]
        )
        signers.append(proofs.Signer(key, method, forms.proof_created(signature)))
    made = await pool.create_set(document, signers, public_url)
    return {**document, "proof": made}
