"""The ``jwt`` proof of possession a wallet sends with a credential request (OID4VCI 1.0 §8.2.1.1,
Appendix F.1), and the holder key it names.

The proof's header says which key signed it: a ``jwk`` (public only), or a ``kid`` that is a DID URL of
``did:key`` or ``did:jwk`` (both resolve from the identifier alone, offline). The signature must verify with that
key, with ``typ: openid4vci-proof+jwt``, ``alg`` ES256 or EdDSA (Ed25519), ``aud`` this credential issuer, a
recent ``iat`` and a ``nonce``; whether the nonce is live is the caller's to check (it is consumed there).
The holder is named by a DID: the ``kid``'s DID, or ``did:jwk`` of the ``jwk``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey

from domain.credentials.envelopes import b64url, b64url_decode
from domain.credentials.keys import jws_registry
from domain.credentials.multikey import base58btc_decode
from domain.credentials.oid4vci.errors import InvalidProof
from domain.credentials.oid4vci.metadata import PROOF_TYPE

# A proof made more than this long ago (or this far ahead of our clock) is refused.
MAX_AGE = 300
CLOCK_SKEW = 60
_MAX_PROOF_LENGTH = 8192
_ED25519_PUB = b"\xed\x01"
_P256_PUB = b"\x80\x24"
_CURVE_OF_ALG = {"ES256": ("EC", "P-256"), "EdDSA": ("OKP", "Ed25519"), "Ed25519": ("OKP", "Ed25519")}


@dataclass(frozen=True)
class Holder:
    """The wallet's key the credential is bound to."""

    jwk: dict[str, Any]  # public members only
    did: str  # did:jwk:… or did:key:…
    verification_method: str  # the DID URL of the key


@dataclass(frozen=True)
class Proof:
    holder: Holder
    nonce: str


def public_jwk(jwk: dict[str, Any]) -> dict[str, Any]:
    """The members that make up the public key (RFC 7638's), nothing else."""
    names = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}.get(str(jwk.get("kty")))
    if names is None or not all(isinstance(jwk.get(n), str) for n in names):
        raise InvalidProof("the proof's key must be an Ed25519 (OKP) or P-256 (EC) public JWK")
    if "d" in jwk:
        raise InvalidProof("the proof's jwk header carries a private key: never send it")
    return {n: jwk[n] for n in names}


def did_jwk(jwk: dict[str, Any]) -> str:
    return "did:jwk:" + b64url(msgspec.json.encode(public_jwk(jwk)))


def _did_key_jwk(identifier: str) -> dict[str, Any]:
    if not identifier.startswith("z") or len(identifier) > 100:
        raise InvalidProof("a did:key must be a base58btc multibase value (z…)")
    try:
        raw = base58btc_decode(identifier[1:])
    except ValueError as exc:
        raise InvalidProof(f"the did:key is not base58btc: {exc}") from exc
    if raw.startswith(_ED25519_PUB) and len(raw) == 34:
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw[2:])}
    if raw.startswith(_P256_PUB) and len(raw) == 35:
        try:
            point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw[2:])
        except ValueError as exc:
            raise InvalidProof("the did:key's P-256 point is not on the curve") from exc
        numbers = point.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }
    raise InvalidProof("a did:key here must hold an Ed25519 or a P-256 public key")


def resolve_kid(kid: str) -> Holder:
    """The key a ``did:key`` or ``did:jwk`` DID URL names, resolved from the identifier itself."""
    did, _, fragment = kid.partition("#")
    if did.startswith("did:key:"):
        identifier = did.removeprefix("did:key:")
        if fragment not in ("", identifier):
            raise InvalidProof("a did:key's key is named by its own identifier: did:key:z…#z…")
        jwk = _did_key_jwk(identifier)
        return Holder(jwk=jwk, did=did, verification_method=f"{did}#{identifier}")
    if did.startswith("did:jwk:"):
        if fragment not in ("", "0"):
            raise InvalidProof("a did:jwk's key is named #0")
        try:
            jwk = msgspec.json.decode(b64url_decode(did.removeprefix("did:jwk:")))
        except (ValueError, msgspec.DecodeError) as exc:
            raise InvalidProof("the did:jwk is not base64url JSON") from exc
        if not isinstance(jwk, dict):
            raise InvalidProof("the did:jwk does not hold a JWK")
        return Holder(jwk=public_jwk(jwk), did=did, verification_method=f"{did}#0")
    raise InvalidProof("the proof's kid must be a did:key or did:jwk DID URL (or send the key as jwk)")


def _holder(header: dict[str, Any]) -> Holder:
    jwk, kid = header.get("jwk"), header.get("kid")
    if (jwk is None) == (kid is None):
        raise InvalidProof("the proof's header names its key by exactly one of jwk and kid")
    if jwk is not None:
        if not isinstance(jwk, dict):
            raise InvalidProof("the proof's jwk header is not a JSON object")
        public = public_jwk(jwk)
        did = did_jwk(public)
        return Holder(jwk=public, did=did, verification_method=f"{did}#0")
    if not isinstance(kid, str):
        raise InvalidProof("the proof's kid is not a string")
    return resolve_kid(kid)


def _audience_matches(aud: Any, issuer: str) -> bool:
    return aud == issuer or (isinstance(aud, list) and issuer in aud)


def check_proof(token: Any, issuer: str, now: float | None = None) -> Proof:
    """The holder and nonce of a valid ``jwt`` proof for this credential issuer; ``InvalidProof`` otherwise."""
    if not isinstance(token, str) or not 0 < len(token) <= _MAX_PROOF_LENGTH:
        raise InvalidProof("the jwt proof must be a compact JWS of at most 8192 characters")
    try:
        header = dict(jws.extract_compact(token.encode()).protected)
    except (JoseError, ValueError) as exc:
        raise InvalidProof("the jwt proof is not a compact JWS") from exc
    if header.get("typ") != PROOF_TYPE:
        raise InvalidProof(f"the proof's typ must be {PROOF_TYPE}")
    alg = header.get("alg")
    if alg not in _CURVE_OF_ALG:
        raise InvalidProof("the proof must be signed with ES256 or EdDSA (Ed25519)")
    holder = _holder(header)
    if (holder.jwk["kty"], holder.jwk["crv"]) != _CURVE_OF_ALG[alg]:
        raise InvalidProof(f"the proof's key ({holder.jwk['crv']}) cannot sign {alg}")
    try:
        key = OKPKey.import_key(holder.jwk) if holder.jwk["kty"] == "OKP" else ECKey.import_key(holder.jwk)
        verified = jws.deserialize_compact(token, key, registry=jws_registry(alg))
        claims = msgspec.json.decode(verified.payload)
    except (JoseError, ValueError, msgspec.DecodeError) as exc:
        raise InvalidProof("the proof's signature does not verify with the key it names") from exc
    if not isinstance(claims, dict):
        raise InvalidProof("the proof's payload is not a JSON object")
    if not _audience_matches(claims.get("aud"), issuer):
        raise InvalidProof(f"the proof's aud must be this credential issuer, {issuer}")
    iat, moment = claims.get("iat"), time.time() if now is None else now
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise InvalidProof("the proof needs iat, the time it was made (seconds since the epoch)")
    if iat > moment + CLOCK_SKEW or iat < moment - MAX_AGE:
        raise InvalidProof(f"the proof's iat is not within the last {MAX_AGE} seconds")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise InvalidProof("the proof needs the nonce (c_nonce) from the nonce endpoint")
    return Proof(holder=holder, nonce=nonce)
