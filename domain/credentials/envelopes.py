"""The signed forms of a credential: VC-JWT, JWS JSON General Serialization, and JSON with its proof.

All three carry the same bytes: the credential JSON exactly as first signed (``payload``).

* **VC-JWT** (W3C VC-JOSE-COSE and the Open Badges 3.0 JWT profile, §8.2): a compact JWS whose payload
  is the credential itself plus the JWT registered claims taken from it (``jwt_claims``: ``iss`` the
  issuer's id, ``jti`` the credential's id, ``sub`` the subject's id when it has one, ``nbf`` and ``iat``
  its ``validFrom``, ``exp`` its ``validUntil`` when it has one), with ``typ: vc+jwt``, ``cty: vc`` and
  ``kid`` the DID URL of the signing key (``{did}#key-{thumbprint}``); signed by the awarding body.
* **JWS JSON General Serialization** (RFC 7515 §7.2.1): one payload, one signature per signer — the
  awarding body's first, then each co-signer's. A co-signer signs the very same payload bytes.
* **JSON with proof**: the credential (without the JWT claims, ``credential_json``) with ``proof``
  entries of type ``JwtProof2020``, each holding a signer's compact JWS. JWS is the proof format
  because RDF canonicalisation costs over a hundred times more per credential; a verifier compares the
  JWS payload (less its JWT claims) with the document itself.

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
from typing import Any

import msgspec

from domain.credentials.keys import IssuerKey, SignatureInvalid, sign_compact, verify_compact
from domain.credentials.multikey import kid_of_verification_method, verification_method_id

VC_JWT_TYPE = "vc+jwt"
VC_CONTENT_TYPE = "vc"
PROOF_TYPE = "JwtProof2020"


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
    if not isinstance(value, str):
        return None
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
    """One signer's part of a JWS: the protected header and the signature, both base64url."""

    protected: str
    signature: str

    @classmethod
    def from_compact(cls, token: str) -> Signature:
        parts = token.split(".")
        if len(parts) != 3:
            raise SignatureInvalid("a compact JWS has three parts separated by dots")
        return cls(parts[0], parts[2])

    def compact(self, payload: bytes) -> str:
        return f"{self.protected}.{b64url(payload)}.{self.signature}"

    def header(self) -> dict[str, Any]:
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
    proofs = credential.get("proof")
    if proofs is None:
        raise SignatureInvalid("the credential has no proof: send the VC-JWT, the JWS JSON or the JSON with its proof")
    proofs = proofs if isinstance(proofs, list) else [proofs]
    signatures, payload = [], None
    document = {name: value for name, value in credential.items() if name != "proof"}
    for proof in proofs:
        if not isinstance(proof, Mapping) or proof.get("type") != PROOF_TYPE:
            raise SignatureInvalid(f"only {PROOF_TYPE} proofs are understood here")
        token = _as_text(proof.get("jwt"))
        signed = b64url_decode(token.split(".")[1]) if token.count(".") == 2 else b""
        try:
            matches = credential_json(signed) == document
        except (msgspec.DecodeError, RecursionError):
            matches = False
        if not matches:
            raise SignatureInvalid("a proof's JWS payload is not the credential it is attached to")
        payload = signed
        signatures.append(Signature.from_compact(token))
    if payload is None:
        raise SignatureInvalid("the credential's proof list is empty")
    return Envelope(payload, signatures, "json-proof")


@dataclass(frozen=True)
class CheckedSignature:
    signer: str | None  # the DID in the protected header
    kid: str | None  # the key's kid in the signer's JWKS (its RFC 7638 thumbprint)
    alg: str | None
    valid: bool
    problem: str | None


JwksResolver = Callable[[str], Awaitable[Mapping[str, Any] | None]]


async def check_signatures(envelope: Envelope, resolve: JwksResolver) -> list[CheckedSignature]:
    """Each signature checked against the published keys of the DID it names."""
    checked = []
    for signature in envelope.signatures:
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
    return checked


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
