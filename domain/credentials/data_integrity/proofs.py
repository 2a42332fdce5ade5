"""One ``DataIntegrityProof`` made or checked (W3C VC Data Integrity 1.0, EdDSA Cryptosuites v1.0 §3.3 and
ECDSA Cryptosuites v1.0 §3.3): pure, CPU-bound, run in ``pool``'s processes.

* proof configuration: the proof without ``proofValue``, with the document's ``@context``;
* hash data: SHA-256(canonical proof configuration) ‖ SHA-256(canonical document without ``proof``);
* ``eddsa-rdfc-2022``: Ed25519 over the hash data; ``ecdsa-rdfc-2019``: ECDSA P-256 with SHA-256 over it,
  the signature as r ‖ s (IEEE P1363, 64 bytes);
* ``proofValue``: multibase base58btc (``z`` + base58btc of the signature).

A proof set is several proofs over the same document, each made and checked without the others.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from domain.credentials.data_integrity import rdfc
from domain.credentials.multikey import base58btc, base58btc_decode

Json = dict[str, Any]
Cryptosuite = Literal["eddsa-rdfc-2022", "ecdsa-rdfc-2019"]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITES: dict[str, Cryptosuite] = {"Ed25519": "eddsa-rdfc-2022", "ES256": "ecdsa-rdfc-2019"}
# A "created" that N-Quads carry as it is: the cached canonical proof configuration can take it verbatim.
_PLAIN_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_PLACEHOLDER = "1970-01-01T00:00:00Z"
# A 64-byte signature is at most 88 base58 characters; decoding is quadratic, so longer values are refused unread.
_MAX_PROOF_VALUE = 128


class ProofInvalid(ValueError):
    """A proof that does not verify, or is not one this server can check; the message says why."""


@dataclass(frozen=True)
class SigningKey:
    """What a pool process needs to sign: the JWS alg of the key ("Ed25519" or "ES256") and its private
    scalar (32 bytes either way)."""

    alg: str
    private: bytes


def _canonical_config(config: Json, public_url: str) -> str:
    created = config.get("created")
    if isinstance(created, str) and _PLAIN_MOMENT.fullmatch(created):
        rest = msgspec.json.encode({**config, "created": _PLACEHOLDER}, order="sorted")
        return _cached_config(rest, public_url).replace(f'"{_PLACEHOLDER}"', f'"{created}"')
    return rdfc.canonical_nquads(config, public_url)


@lru_cache(maxsize=256)
def _cached_config(config: bytes, public_url: str) -> str:
    """A proof configuration differs from the last by its ``created`` alone: canonicalised once per signer."""
    canonical = rdfc.canonical_nquads(msgspec.json.decode(config), public_url)
    if canonical.count(f'"{_PLACEHOLDER}"') != 1:
        raise ProofInvalid("a proof configuration's created is not where it is expected")
    return canonical


def document_hash(document: Json, public_url: str) -> bytes:
    """SHA-256 of the canonical document without its ``proof``: the same for every proof of a set."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    return hashlib.sha256(rdfc.canonical_nquads(unsecured, public_url).encode()).digest()


def hash_data(config: Json, document_digest: bytes, public_url: str) -> bytes:
    return hashlib.sha256(_canonical_config(config, public_url).encode()).digest() + document_digest


def proof_config(document: Json, cryptosuite: str, verification_method: str, created: str) -> Json:
    return {
        "@context": document.get("@context"),
        "type": PROOF_TYPE,
        "cryptosuite": cryptosuite,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }


@lru_cache(maxsize=64)
def _private_key(alg: str, private: bytes) -> Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
    if alg == "Ed25519":
        return Ed25519PrivateKey.from_private_bytes(private)
    return ec.derive_private_key(int.from_bytes(private, "big"), ec.SECP256R1())


def sign(data: bytes, key: SigningKey) -> bytes:
    private = _private_key(key.alg, key.private)
    if isinstance(private, Ed25519PrivateKey):
        return private.sign(data)
    r, s = decode_dss_signature(private.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@dataclass(frozen=True)
class Signer:
    """One proof to make: whose key, the verification method naming it, and the proof's ``created``."""

    key: SigningKey
    verification_method: str
    created: str


def create(document: Json, signer: Signer, public_url: str, document_digest: bytes | None = None) -> Json:
    """A ``DataIntegrityProof`` by ``signer`` over ``document`` (without its ``proof``, if it has one)."""
    cryptosuite = CRYPTOSUITES.get(signer.key.alg)
    if cryptosuite is None:
        raise ValueError(f"a {signer.key.alg} key makes no Data Integrity proof here (Ed25519 and P-256 keys do)")
    config = proof_config(document, cryptosuite, signer.verification_method, signer.created)
    digest = document_hash(document, public_url) if document_digest is None else document_digest
    signature = sign(hash_data(config, digest, public_url), signer.key)
    proof = {k: v for k, v in config.items() if k != "@context"}
    return {**proof, "proofValue": "z" + base58btc(signature)}


def create_set(document: Json, signers: list[Signer], public_url: str) -> list[Json]:
    """A proof set: one proof per signer, each over the same document (canonicalised once)."""
    digest = document_hash(document, public_url)
    return [create(document, signer, public_url, digest) for signer in signers]


def verify_set(document: Json, checks: list[tuple[Json, Json]], public_url: str) -> list[str | None]:
    """Each (proof, public JWK) checked alone: None where it verifies, else why not."""
    try:
        digest = document_hash(document, public_url)
    except (ValueError, RecursionError, MemoryError) as exc:  # rdfc.NotJsonLd, an unknown context, too deep
        return [f"the credential cannot be canonicalised: {exc}"] * len(checks)
    results: list[str | None] = []
    for proof, jwk in checks:
        try:
            verify(document, proof, jwk, public_url, digest)
            results.append(None)
        except ProofInvalid as exc:
            results.append(str(exc))
        except (ValueError, TypeError, RecursionError) as exc:  # a proof no processor could read
            results.append(f"the proof cannot be read: {exc}")
    return results


def verify(
    document: Json, proof: Json, public_jwk: Json, public_url: str, document_digest: bytes | None = None
) -> None:
    """Checks one proof of ``document`` against the signer's public key (a JWK); ``ProofInvalid`` if not."""
    if proof.get("type") != PROOF_TYPE:
        raise ProofInvalid(f"the proof is not a {PROOF_TYPE}")
    cryptosuite, value = proof.get("cryptosuite"), proof.get("proofValue")
    alg = public_jwk.get("alg")
    expected = CRYPTOSUITES.get("Ed25519" if alg in ("Ed25519", "EdDSA") else str(alg))
    if cryptosuite != expected:
        raise ProofInvalid(f"the key signs with {expected or 'no Data Integrity cryptosuite'}, not {cryptosuite!r}")
    if proof.get("proofPurpose") != "assertionMethod":
        raise ProofInvalid("the proof's purpose is not assertionMethod")
    if not isinstance(value, str) or not value.startswith("z") or len(value) > _MAX_PROOF_VALUE:
        raise ProofInvalid("proofValue is not a multibase base58btc signature")
    try:
        signature = base58btc_decode(value[1:])
    except ValueError:
        raise ProofInvalid("proofValue is not base58btc") from None
    if "@context" in proof and proof["@context"] != document.get("@context"):
        raise ProofInvalid("the proof's @context is not the credential's")
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    config["@context"] = document.get("@context")
    try:
        digest = document_hash(document, public_url) if document_digest is None else document_digest
        data = hash_data(config, digest, public_url)
    except (rdfc.NotJsonLd, ValueError) as exc:
        raise ProofInvalid(str(exc)) from exc
    try:
        if cryptosuite == "eddsa-rdfc-2022":
            Ed25519PublicKey.from_public_bytes(_b64(public_jwk["x"])).verify(signature, data)
        else:
            if len(signature) != 64:
                raise ProofInvalid("an ecdsa-rdfc-2019 P-256 signature is 64 bytes")
            x, y = (int.from_bytes(_b64(public_jwk[c]), "big") for c in ("x", "y"))
            numbers = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1())
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            numbers.public_key().verify(der, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, KeyError, ValueError) as exc:
        raise ProofInvalid("the proof's signature does not verify") from exc


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
