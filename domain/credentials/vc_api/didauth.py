"""Checking a wallet's DIDAuth presentation: the holder proves control of its did:key.

The Learner Credential Wallet signs a presentation holding no credential (``holder`` = its DID) with
``Ed25519Signature2020`` (``@digitalcredentials/vc`` ``signPresentation``, proofPurpose ``authentication``, the
request's ``challenge`` and ``domain``); ``DataIntegrityProof`` / ``eddsa-rdfc-2022`` is accepted the same way.
Both suites sign SHA-256(canonical proof configuration) ‖ SHA-256(canonical presentation without its proof),
canonicalised with RDFC-1.0 (the proof configuration with the presentation's ``@context``), and carry the
signature as multibase base58btc ``proofValue``. The key is the DID's own: a did:key names one Ed25519 key
(multicodec 0xed01), whose verification method is ``did:key:<fingerprint>#<fingerprint>``.

Pure and CPU-bound: run in the proof pool (``pool.run_bounded``), where a canonicalisation that takes too long
(RDFC poison graphs) is cut off.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from domain.credentials.data_integrity import rdfc
from domain.credentials.multikey import base58btc_decode

Json = dict[str, Any]
SUITES = ("Ed25519Signature2020", "eddsa-rdfc-2022")
_ED25519_MULTICODEC = b"\xed\x01"
_MAX_FINGERPRINT = 64  # z + base58btc of 34 bytes is 48 characters
_MAX_PROOF_VALUE = 128


class PresentationRefused(ValueError):
    """The presentation does not prove what the exchange asks; the message says why."""


def did_key_public_key(did: str) -> bytes:
    """The Ed25519 public key a ``did:key:z6Mk…`` names; ``PresentationRefused`` for any other DID."""
    if not did.startswith("did:key:z"):
        raise PresentationRefused(f"the holder {did[:80]!r} is not a did:key (the accepted DID method is key)")
    fingerprint = did.removeprefix("did:key:")
    if len(fingerprint) > _MAX_FINGERPRINT:
        raise PresentationRefused("the holder's did:key is too long to be an Ed25519 key")
    try:
        decoded = base58btc_decode(fingerprint[1:])
    except ValueError:
        raise PresentationRefused("the holder's did:key is not base58btc") from None
    if len(decoded) != 34 or not decoded.startswith(_ED25519_MULTICODEC):
        raise PresentationRefused("the holder's did:key is not an Ed25519 key (multicodec 0xed01)")
    return decoded[2:]


def _one_proof(presentation: Json) -> Json:
    proof = presentation.get("proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if not isinstance(proof, dict):
        raise PresentationRefused("the presentation carries no proof (a DIDAuth presentation is signed by its holder)")
    return proof


def _suite(proof: Json) -> str:
    if proof.get("type") == "Ed25519Signature2020":
        return "Ed25519Signature2020"
    if proof.get("type") == "DataIntegrityProof" and proof.get("cryptosuite") == "eddsa-rdfc-2022":
        return "eddsa-rdfc-2022"
    raise PresentationRefused(
        f"the presentation's proof is a {str(proof.get('type'))[:60]!r}: accepted are Ed25519Signature2020 and "
        "DataIntegrityProof with eddsa-rdfc-2022"
    )


def _holder(presentation: Json) -> str:
    types = presentation.get("type")
    if "VerifiablePresentation" not in (types if isinstance(types, list) else [types]):
        raise PresentationRefused("the presentation's type does not include VerifiablePresentation")
    holder = presentation.get("holder")
    holder = holder.get("id") if isinstance(holder, dict) else holder
    if not isinstance(holder, str):
        raise PresentationRefused("the presentation names no holder (the DID the wallet authenticates as)")
    return holder


def _check_binding(proof: Json, holder: str, challenge: str, domain: str) -> None:
    """The proof is an authentication by the holder's own key, for this exchange's challenge and domain."""
    if proof.get("proofPurpose") != "authentication":
        raise PresentationRefused("the proof's purpose is not authentication")
    if proof.get("challenge") != challenge:
        raise PresentationRefused("the proof's challenge is not this exchange's challenge")
    if proof.get("domain") != domain:
        raise PresentationRefused(f"the proof's domain is not {domain!r}")
    fingerprint = holder.removeprefix("did:key:")
    if proof.get("verificationMethod") != f"{holder}#{fingerprint}":
        raise PresentationRefused(
            "the proof's verificationMethod is not the holder's key: a did:key is proven by its own key, "
            f"{holder}#{fingerprint}"
        )


def verify(presentation: Json, *, challenge: str, domain: str, public_url: str) -> str:
    """The holder DID the presentation proves, after checking its type, proof purpose, challenge, domain, the
    key (the holder's did:key) and the signature; ``PresentationRefused`` naming the first thing wrong."""
    if not isinstance(presentation, dict):
        raise PresentationRefused("verifiablePresentation is not a JSON object")
    holder = _holder(presentation)
    public_key = did_key_public_key(holder)
    proof = _one_proof(presentation)
    suite = _suite(proof)
    _check_binding(proof, holder, challenge, domain)
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z") or len(value) > _MAX_PROOF_VALUE:
        raise PresentationRefused("proofValue is not a multibase base58btc signature")
    try:
        signature = base58btc_decode(value[1:])
    except ValueError:
        raise PresentationRefused("proofValue is not base58btc") from None
    unsecured = {k: v for k, v in presentation.items() if k != "proof"}
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    if suite == "eddsa-rdfc-2022" and "@context" in config and config["@context"] != presentation.get("@context"):
        raise PresentationRefused("the proof's @context is not the presentation's")
    config["@context"] = presentation.get("@context")
    try:
        data = hashlib.sha256(rdfc.canonical_nquads(config, public_url).encode()).digest()
        data += hashlib.sha256(rdfc.canonical_nquads(unsecured, public_url).encode()).digest()
    except (ValueError, RecursionError) as exc:  # not JSON-LD, a context not held here (nothing is fetched)
        raise PresentationRefused(f"the presentation cannot be canonicalised: {exc}") from None
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        raise PresentationRefused(f"the presentation's {suite} signature does not verify with {holder}") from None
    return holder


def checked(presentation: Json, challenge: str, domain: str, public_url: str) -> tuple[str | None, str | None]:
    """``verify`` for the pool: (holder DID, None) or (None, why it was refused)."""
    try:
        return verify(presentation, challenge=challenge, domain=domain, public_url=public_url), None
    except PresentationRefused as exc:
        return None, str(exc)
