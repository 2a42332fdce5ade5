"""The signed forms of a credential: VC-JWT, JWS JSON General Serialization, and JSON with its proof.

All three carry the same bytes: the credential JSON exactly as first signed (``payload``).

* **VC-JWT** (W3C VC-JOSE-COSE and the Open Badges 3.0 JWT profile, §8.2): a compact JWS whose payload
  is the credential itself plus the JWT registered claims taken from it (``jwt_claims``: ``iss`` the
  issuer's id, ``jti`` the credential's id, ``sub`` the subject's id when it has one, ``nbf`` and ``iat``
  its ``validFrom``, ``exp`` its ``validUntil`` when it has one), with ``typ: vc+jwt``, ``cty: vc`` and
  ``kid`` the DID URL of the signing key (``{did}#key-{thumbprint}``); signed by the awarding body.
* **JWS JSON General Serialization** (RFC 7515 §7.2.1): one payload, one signature per signer — the
  awarding body's first, then each co-signer's. A co-signer signs the very same payload bytes.
* **JSON with proof** (since Data Integrity): the credential (without the JWT claims, ``credential_json``)
  with a proof set, one ``DataIntegrityProof`` per signer (``eddsa-rdfc-2022`` for Ed25519 keys,
  ``ecdsa-rdfc-2019`` for P-256 keys; see ``data_integrity``), each over the same document and verifiable
  alone. A signer whose key is RSA has no Data Integrity cryptosuite: its proof stays a ``JwtProof2020``.
* **JSON with JwtProof2020 proofs**: the form handed out before; still read and verified. A verifier
  compares each JWS payload (less its JWT claims) with the document itself.

Each protected header names the signer's DID in ``iss`` (RFC 7519 §5.3 lets a header replicate a
claim), so a verifier knows whose JWKS holds the ``kid`` without trusting anything unsigned. Signatures
made before the DID URL carry the bare thumbprint as ``kid``; both are accepted (``signed_kid``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import msgspec

from domain.credentials.data_integrity import pool, proofs
from domain.credentials.keys import IssuerKey, SignatureInvalid, sign_compact, verify_compact
from domain.credentials.multikey import kid_of_verification_method, verification_method_id

VC_JWT_TYPE = "vc+jwt"
VC_CONTENT_TYPE = "vc"
PROOF_TYPE = "JwtProof2020"
DI_PROOF_TYPE = proofs.PROOF_TYPE


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("a JWS part is not base64url") from exc


# The JWT registered claims (RFC 7519 §4.1) a VC-JWT carries beside the credential's own members.
JWT_CLAIMS = ("iss", "jti", "sub", "nbf", "iat", "exp")


def _epoch(value: Any) -> int | None:
    """Seconds since the epoch of an RFC 3339 date-time with a time zone (credentials carry whole seconds)."""
    return _epoch_of(value) if isinstance(value, str) else None


@lru_cache(maxsize=1024)  # a cohort's credentials share their dates: a batch parses each once
def _epoch_of(value: str) -> int | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return int(moment.timestamp()) if moment.tzinfo is not None else None


def _id_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def jwt_claims(document: Mapping[str, Any]) -> dict[str, Any]:
    """The JWT claims the Open Badges 3.0 JWT profile asks for, each taken from the credential itself.

    ``iss`` issuer id, ``jti`` credential id, ``sub`` credentialSubject id (a subject known by its
    ``identifier`` alone has none), ``nbf`` and ``iat`` validFrom (the credential is signed when it
    becomes valid), ``exp`` validUntil; a claim whose source is absent is left out.
    """
    subject = document.get("credentialSubject")
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    valid_from = _epoch(document.get("validFrom"))
    claims = {
        "iss": _id_of(document.get("issuer")),
        "jti": _id_of(document.get("id")),
        "sub": _id_of(subject) if isinstance(subject, Mapping) else None,
        "nbf": valid_from,
        "iat": valid_from,
        "exp": _epoch(document.get("validUntil")),
    }
    return {name: value for name, value in claims.items() if value is not None}


def jwt_claims_problem(document: Mapping[str, Any]) -> str | None:
    """Why the JWT claims in a signed payload disagree with the credential they travel with, or None.

    A payload without them (credentials signed before the JWT profile) has nothing to disagree with.
    """
    expected = jwt_claims(document)
    for name in JWT_CLAIMS:
        if name in document and document[name] != expected.get(name):
            return f"the JWT claim {name} ({document[name]!r}) is not the credential's ({expected.get(name)!r})"
    return None


def encode_payload(document: Mapping[str, Any]) -> bytes:
    """The bytes signed for a credential: the credential and its JWT claims (``jwt_claims``).

    Kept as they are, so that every form carries the same ones.
    """
    return msgspec.json.encode({**document, **jwt_claims(document)})


def credential_json(payload: bytes) -> dict[str, Any]:
    """The credential a payload carries, without the JWT claims (they belong to the VC-JWT)."""
    document: dict[str, Any] = msgspec.json.decode(payload)
    for name in JWT_CLAIMS:
        document.pop(name, None)
    return document


def signed_kid(kid: Any, signer_did: str | None) -> str | None:
    """The JWKS ``kid`` a protected header's ``kid`` names: the thumbprint of ``{signer_did}#key-{thumbprint}``,
    or the bare thumbprint older signatures carry (None if it is not a string)."""
    if not isinstance(kid, str):
        return None
    return (kid_of_verification_method(signer_did, kid) if signer_did else None) or kid


async def sign(key: IssuerKey, payload: bytes, signer_did: str) -> str:
    """A compact JWS (a VC-JWT) of ``payload`` by ``key``, naming the signer's DID in ``iss`` and the
    key's verification method ``{signer_did}#key-{kid}`` in ``kid``."""
    header = {
        "typ": VC_JWT_TYPE,
        "cty": VC_CONTENT_TYPE,
        "iss": signer_did,
        "kid": verification_method_id(signer_did, key.kid),
    }
    return await sign_compact(key, payload, header)


@dataclass(frozen=True)
class Signature:
    """One signer's part of a JWS: the protected header and the signature, both base64url.

    Or one Data Integrity proof (``proof``): then ``protected`` is the proof without its value (sorted JSON)
    and ``signature`` its ``proofValue``, so that the two still identify what was checked.
    """

    protected: str
    signature: str
    proof: Mapping[str, Any] | None = None

    @classmethod
    def from_proof(cls, proof: Mapping[str, Any]) -> Signature:
        value = proof.get("proofValue")
        if not isinstance(value, str) or not isinstance(proof.get("verificationMethod"), str):
            raise SignatureInvalid("a DataIntegrityProof needs a verificationMethod and a proofValue")
        config = msgspec.json.encode({k: v for k, v in proof.items() if k != "proofValue"}, order="sorted")
        return cls(config.decode(), value, dict(proof))

    @classmethod
    def from_compact(cls, token: str) -> Signature:
        parts = token.split(".")
        if len(parts) != 3:
            raise SignatureInvalid("a compact JWS has three parts separated by dots")
        return cls(parts[0], parts[2])

    def compact(self, payload: bytes) -> str:
        return f"{self.protected}.{b64url(payload)}.{self.signature}"

    def header(self) -> dict[str, Any]:
        """The JWS protected header; for a Data Integrity proof, the same names: the signer's DID (``iss``),
        the key's ``kid`` and, as ``alg``, the cryptosuite."""
        if self.proof is not None:
            method = str(self.proof.get("verificationMethod"))
            did = method.split("#", 1)[0]
            return {
                "iss": did,
                "kid": kid_of_verification_method(did, method),
                "alg": self.proof.get("cryptosuite"),
            }
        try:
            header = msgspec.json.decode(b64url_decode(self.protected))
        except (msgspec.DecodeError, RecursionError) as exc:
            raise SignatureInvalid("a protected header is not JSON") from exc
        if not isinstance(header, dict):
            raise SignatureInvalid("a protected header is not a JSON object")
        return header


def general_json(payload: bytes, signatures: list[Signature]) -> dict[str, Any]:
    """RFC 7515 JWS JSON General Serialization of one payload and every signature over it."""
    return {
        "payload": b64url(payload),
        "signatures": [{"protected": s.protected, "signature": s.signature} for s in signatures],
    }


def with_proof(payload: bytes, signatures: list[Signature], created: list[str]) -> dict[str, Any]:
    """The credential JSON with one ``JwtProof2020`` proof per signature (``created`` in the same order)."""
    document = credential_json(payload)
    document["proof"] = [
        {"type": PROOF_TYPE, "created": when, "proofPurpose": "assertionMethod", "jwt": s.compact(payload)}
        for s, when in zip(signatures, created, strict=True)
    ]
    return document


# --- Reading any form back ---------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """What a verifier got: the payload bytes and each signature over them."""

    payload: bytes
    signatures: list[Signature]
    form: str  # "vc+jwt", "jws-json" or "json-proof"


def _as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise SignatureInvalid("a JWS part is not a string")
    return value


def read(credential: str | Mapping[str, Any]) -> Envelope:
    """Any form Guildhall issues, back into payload and signatures; ``SignatureInvalid`` if none."""
    if isinstance(credential, str):
        token = credential.strip()
        signature = Signature.from_compact(token)
        return Envelope(b64url_decode(token.split(".")[1]), [signature], "vc+jwt")
    if "signatures" in credential and "payload" in credential:
        entries = credential["signatures"]
        if not isinstance(entries, list) or not entries:
            raise SignatureInvalid("a JWS JSON serialization needs at least one signature")
        signatures = []
        for entry in entries:
            if not isinstance(entry, Mapping):
                raise SignatureInvalid("each signature is a JSON object")
            signatures.append(Signature(_as_text(entry.get("protected")), _as_text(entry.get("signature"))))
        return Envelope(b64url_decode(_as_text(credential["payload"])), signatures, "jws-json")
    entries = credential.get("proof")
    if entries is None:
        raise SignatureInvalid("the credential has no proof: send the VC-JWT, the JWS JSON or the JSON with its proof")
    entries = entries if isinstance(entries, list) else [entries]
    if not entries:
        raise SignatureInvalid("the credential's proof list is empty")
    document = {name: value for name, value in credential.items() if name != "proof"}
    if any(isinstance(p, Mapping) and p.get("type") == DI_PROOF_TYPE for p in entries):
        return _read_data_integrity(document, entries)
    signed = [_jwt_proof(proof, document) for proof in entries]
    return Envelope(signed[0][0], [signature for _, signature in signed], "json-proof")


def _jwt_proof(proof: Any, document: Mapping[str, Any]) -> tuple[bytes, Signature]:
    """The payload and signature of a ``JwtProof2020`` whose JWS payload is ``document``."""
    if not isinstance(proof, Mapping) or proof.get("type") != PROOF_TYPE:
        raise SignatureInvalid(f"only {DI_PROOF_TYPE} and {PROOF_TYPE} proofs are understood here")
    token = _as_text(proof.get("jwt"))
    signed = b64url_decode(token.split(".")[1]) if token.count(".") == 2 else b""
    try:
        matches = credential_json(signed) == document
    except (msgspec.DecodeError, RecursionError):
        matches = False
    if not matches:
        raise SignatureInvalid("a proof's JWS payload is not the credential it is attached to")
    return signed, Signature.from_compact(token)


def _read_data_integrity(document: dict[str, Any], entries: list[Any]) -> Envelope:
    """A proof set of DataIntegrityProofs (and JwtProof2020s, for RSA signers) over ``document``."""
    signatures = []
    for proof in entries:
        is_di = isinstance(proof, Mapping) and proof.get("type") == DI_PROOF_TYPE
        signatures.append(Signature.from_proof(proof) if is_di else _jwt_proof(proof, document)[1])
    return Envelope(encode_payload(document), signatures, "data-integrity")


@dataclass(frozen=True)
class CheckedSignature:
    signer: str | None  # the DID in the protected header
    kid: str | None  # the key's kid in the signer's JWKS (its RFC 7638 thumbprint)
    alg: str | None
    valid: bool
    problem: str | None


JwksResolver = Callable[[str], Awaitable[Mapping[str, Any] | None]]


async def check_signatures(envelope: Envelope, resolve: JwksResolver, public_url: str) -> list[CheckedSignature]:
    """Each signature checked against the published keys of the DID it names; Data Integrity proofs in the
    proof pool's processes (``public_url`` names Guildhall's own context)."""
    checked: list[CheckedSignature | None] = []
    proof_checks: list[tuple[int, Mapping[str, Any], Mapping[str, Any]]] = []
    for signature in envelope.signatures:
        if signature.proof is not None:
            checked.append(await _proof_key(signature, resolve, proof_checks, len(checked)))
            continue
        try:
            header = signature.header()
        except SignatureInvalid as exc:
            checked.append(CheckedSignature(None, None, None, False, str(exc)))
            continue
        signer, alg = header.get("iss"), header.get("alg")
        signer = signer if isinstance(signer, str) else None
        kid = signed_kid(header.get("kid"), signer)
        jwks = await resolve(signer) if signer else None
        if jwks is None:
            problem = f"the signer {signer!r} is not an organisation known here" if signer else "no signer named"
            checked.append(CheckedSignature(signer, kid, _str(alg), False, problem))
            continue
        try:
            verify_compact(signature.compact(envelope.payload), jwks, signer)
        except SignatureInvalid as exc:
            checked.append(CheckedSignature(signer, kid, _str(alg), False, str(exc)))
            continue
        checked.append(CheckedSignature(signer, kid, _str(alg), True, None))
    if proof_checks:
        document = credential_json(envelope.payload)
        pairs = [(dict(p), {n: v for n, v in k.items() if n != "status"}) for _, p, k in proof_checks]
        problems = await pool.verify_set(document, pairs, public_url)
        for (position, proof, _), verdict in zip(proof_checks, problems, strict=True):
            named = Signature.from_proof(proof).header()
            checked[position] = CheckedSignature(
                _str(named.get("iss")), _str(named.get("kid")), _str(named.get("alg")), verdict is None, verdict
            )
    return [c for c in checked if c is not None]


async def _proof_key(
    signature: Signature,
    resolve: JwksResolver,
    pending: list[tuple[int, Mapping[str, Any], Mapping[str, Any]]],
    position: int,
) -> CheckedSignature | None:
    """A Data Integrity proof's key: None (the proof queued in ``pending``) once found, else why not."""
    assert signature.proof is not None
    header = signature.header()
    signer, kid, alg = _str(header.get("iss")), _str(header.get("kid")), _str(header.get("alg"))
    jwks = await resolve(signer) if signer else None
    if jwks is None:
        problem = f"the signer {signer!r} is not an organisation known here" if signer else "no signer named"
        return CheckedSignature(signer, kid, alg, False, problem)
    jwk = next((k for k in jwks.get("keys", []) if kid and k.get("kid") == kid), None)
    if jwk is None:
        return CheckedSignature(signer, kid, alg, False, f"no published key has the kid {kid!r}")
    pending.append((position, signature.proof, jwk))
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
