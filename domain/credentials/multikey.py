"""Verification methods of an issuer's DID document: their ids and Multikey encodings.

* A key's verification method is ``{did}#key-{kid}``, the kid being the key's RFC 7638 thumbprint.
  The same DID URL is the ``kid`` of the VC-JWTs it signs and the ``verificationMethod`` of its
  Data Integrity proofs.
* ``publicKeyMultibase`` (W3C Controlled Identifiers 1.0, Multikey): ``z`` + base58btc of the
  multicodec prefix and the raw public key: ``0xed 0x01`` + 32 bytes for Ed25519, ``0x80 0x24`` + the
  33-byte compressed point for P-256. RSA keys have no Multikey form here; they stay JSON Web Keys.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

VERIFICATION_METHOD_PREFIX = "#key-"

_ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub (0xed) as an unsigned varint
_P256_PUB = b"\x80\x24"  # multicodec p256-pub (0x1200) as an unsigned varint
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {c: i for i, c in enumerate(_BASE58_ALPHABET)}


def verification_method_id(did: str, kid: str) -> str:
    """The DID URL of the issuer key ``kid``: ``{did}#key-{kid}``."""
    return f"{did}{VERIFICATION_METHOD_PREFIX}{kid}"


def kid_of_verification_method(did: str, method_id: str) -> str | None:
    """The key's kid a DID URL of ``did`` names (``{did}#key-{kid}``), else None."""
    prefix = did + VERIFICATION_METHOD_PREFIX
    if not method_id.startswith(prefix) or len(method_id) == len(prefix):
        return None
    return method_id[len(prefix) :]


def base58btc(data: bytes) -> str:
    """Bitcoin's base58 (the multibase ``z`` alphabet): leading zero bytes become ``1``."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(_BASE58_ALPHABET[remainder])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def base58btc_decode(text: str) -> bytes:
    """The bytes of a base58btc text; ValueError for a character outside the alphabet. Quadratic in the
    length: callers bound it first."""
    number = 0
    for char in text:
        if char not in _BASE58_INDEX:
            raise ValueError(f"{char!r} is not a base58btc character")
        number = number * 58 + _BASE58_INDEX[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def _b64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def public_key_multibase(public_jwk: Mapping[str, Any]) -> str:
    """The Multikey ``publicKeyMultibase`` of an Ed25519 (OKP) or P-256 (EC) public JWK.

    ValueError for any other key (RSA, other curves) or a malformed one.
    """
    kty, crv = public_jwk.get("kty"), public_jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        raw = _b64url(public_jwk["x"])
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        return "z" + base58btc(_ED25519_PUB + raw)
    if kty == "EC" and crv == "P-256":
        x, y = _b64url(public_jwk["x"]), _b64url(public_jwk["y"])
        if len(x) != 32 or len(y) != 32:
            raise ValueError("a P-256 coordinate is 32 bytes")
        compressed = (b"\x03" if y[-1] & 1 else b"\x02") + x
        return "z" + base58btc(_P256_PUB + compressed)
    raise ValueError(f"no Multikey form for a {kty} key on {crv!r}")
