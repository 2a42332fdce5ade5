"""The signed forms of a credential: VC-JWT, JWS JSON General Serialization, and JSON with its proof.

All three carry the same bytes: the credential JSON exactly as first signed (``payload``).

* **VC-JWT** (W3C VC-JOSE-COSE): a compact JWS whose payload is the credential itself, with
  ``typ: vc+jwt`` and ``cty: vc``; signed by the awarding body.
* **JWS JSON General Serialization** (RFC 7515 §7.2.1): one payload, one signature per signer — the
  awarding body's first, then each co-signer's. A co-signer signs the very same payload bytes.
* **JSON with proof**: the credential with ``proof`` entries of type ``JwtProof2020``, each holding a
  signer's compact JWS. JWS is the proof format because RDF canonicalisation costs over a hundred
  times more per credential; a verifier compares the JWS payload with the document itself.

Each protected header names the signer's DID in ``iss`` (RFC 7519 §5.3 lets a header replicate a
claim), so a verifier knows whose JWKS holds the ``kid`` without trusting anything unsigned.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from domain.credentials.keys import IssuerKey, SignatureInvalid, sign_compact, verify_compact

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


def encode_payload(document: Mapping[str, Any]) -> bytes:
    """The bytes signed for a credential; kept as they are so that every form carries the same ones."""
    return msgspec.json.encode(document)


async def sign(key: IssuerKey, payload: bytes, signer_did: str) -> str:
    """A compact JWS (a VC-JWT) of ``payload`` by ``key``, naming the signer's DID in ``iss``."""
    return await sign_compact(key, payload, {"typ": VC_JWT_TYPE, "cty": VC_CONTENT_TYPE, "iss": signer_did})


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
    document: dict[str, Any] = msgspec.json.decode(payload)
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
            matches = msgspec.json.decode(signed) == document
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
    kid: str | None
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
        signer, kid, alg = header.get("iss"), header.get("kid"), header.get("alg")
        signer = signer if isinstance(signer, str) else None
        jwks = await resolve(signer) if signer else None
        if jwks is None:
            problem = f"the signer {signer!r} is not an organisation known here" if signer else "no signer named"
            checked.append(CheckedSignature(signer, _str(kid), _str(alg), False, problem))
            continue
        try:
            verify_compact(signature.compact(envelope.payload), jwks)
        except SignatureInvalid as exc:
            checked.append(CheckedSignature(signer, _str(kid), _str(alg), False, str(exc)))
            continue
        checked.append(CheckedSignature(signer, _str(kid), _str(alg), True, None))
    return checked


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
