"""Another issuer's public keys: from its DID document (did:web over HTTPS), from the DID itself (did:key),
or from a JWKS URL the credential's header names (``jku``) on the issuer's own origin.

Each key comes back as a JWK whose ``kid`` is what a JWS header names it by (the part after ``#key-`` of
a Guildhall verification method, else the whole DID URL), so ``keys.verify_compact`` can pick it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from domain.credentials.foreign.fetch import FetchFailed, FetchOptions, fetch_json
from domain.credentials.multikey import VERIFICATION_METHOD_PREFIX, base58btc_decode

_ED25519_PUB = b"\xed\x01"
_P256_PUB = b"\x80\x24"


class KeysNotFound(FetchFailed):
    """The issuer's keys could not be found or read."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_of_multikey(multibase: str) -> dict[str, Any]:
    """The public JWK of a Multikey ``publicKeyMultibase`` (Ed25519 or P-256)."""
    if not multibase.startswith("z") or len(multibase) > 100:
        raise KeysNotFound("a publicKeyMultibase must be base58btc (z...)")
    try:
        raw = base58btc_decode(multibase[1:])
    except ValueError as exc:
        raise KeysNotFound(str(exc)) from exc
    if raw.startswith(_ED25519_PUB) and len(raw) == 34:
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw[2:])}
    if raw.startswith(_P256_PUB) and len(raw) == 35:
        try:
            numbers = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw[2:]).public_numbers()
        except ValueError as exc:
            raise KeysNotFound("a P-256 Multikey is not a point on the curve") from exc
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
        }
    raise KeysNotFound("only Ed25519 and P-256 Multikeys are understood")


def did_web_url(did: str) -> str:
    """The https URL of a did:web's DID document (W3C did:web method, section 3.2)."""
    parts = did.split(":")
    if len(parts) < 3 or parts[:2] != ["did", "web"] or not parts[2]:
        raise KeysNotFound(f"{did!r} is not a did:web")
    host = unquote(parts[2])
    if "/" in host or "@" in host:
        raise KeysNotFound(f"{did!r} names no host")
    path = "/".join(unquote(p) for p in parts[3:])
    return f"https://{host}/{path}/did.json" if path else f"https://{host}/.well-known/did.json"


_DEFAULT_ALG = {"OKP": "EdDSA", "EC": "ES256", "RSA": "RS256"}


def _with_alg(jwk: dict[str, Any]) -> dict[str, Any]:
    """The key with the JWS algorithm its type signs with (a JWT's header may name Ed25519 instead of EdDSA:
    ``verify._key_for`` decides by key type); Data Integrity checks pick the cryptosuite from it."""
    return {**jwk, "alg": _DEFAULT_ALG.get(str(jwk.get("kty")), "none")}


def _kid(did: str, method_id: str) -> str:
    prefix = did + VERIFICATION_METHOD_PREFIX
    return method_id[len(prefix) :] if method_id.startswith(prefix) else method_id


def _method_id(did: str, raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    return did + raw if raw.startswith("#") else raw


def keys_of_did_document(did: str, document: Any) -> list[dict[str, Any]]:
    """The assertion keys of a DID document (``assertionMethod``, or every method when it names none)."""
    if not isinstance(document, Mapping) or document.get("id") != did:
        raise KeysNotFound(f"the DID document of {did} does not name {did} as its id")
    methods = document.get("verificationMethod")
    methods = methods if isinstance(methods, list) else []
    assertion = document.get("assertionMethod")
    allowed = None
    if isinstance(assertion, list):
        allowed = {
            _method_id(did, a) if isinstance(a, str) else _method_id(did, (a or {}).get("id")) for a in assertion
        }
        methods = methods + [a for a in assertion if isinstance(a, Mapping)]
    found = []
    for method in methods:
        if not isinstance(method, Mapping):
            continue
        method_id = _method_id(did, method.get("id"))
        if method_id is None or (allowed is not None and method_id not in allowed):
            continue
        if method.get("controller") not in (None, did):
            continue
        if isinstance(method.get("publicKeyJwk"), Mapping):
            jwk = {n: v for n, v in method["publicKeyJwk"].items() if n in ("kty", "crv", "x", "y", "n", "e")}
        elif isinstance(method.get("publicKeyMultibase"), str):
            jwk = jwk_of_multikey(method["publicKeyMultibase"])
        else:
            continue
        found.append(_with_alg({**jwk, "kid": _kid(did, method_id)}))
    if not found:
        raise KeysNotFound(f"the DID document of {did} publishes no key for assertions")
    return found


def keys_of_did_key(did: str) -> list[dict[str, Any]]:
    multibase = did.removeprefix("did:key:").split("#", 1)[0]
    jwk = jwk_of_multikey(multibase)
    return [_with_alg({**jwk, "kid": f"{did}#{multibase}"}), _with_alg({**jwk, "kid": multibase})]


async def issuer_keys(
    issuer: str, header: Mapping[str, Any], options: FetchOptions
) -> tuple[str, list[dict[str, Any]]]:
    """How the keys were found ("did:web", "did:key" or "jwks") and the issuer's public JWKs."""
    if issuer.startswith("did:web:"):
        return "did:web", keys_of_did_document(issuer, await fetch_json(did_web_url(issuer), options))
    if issuer.startswith("did:key:"):
        return "did:key", keys_of_did_key(issuer)
    jku = header.get("jku")
    if issuer.startswith("https://") and isinstance(jku, str):
        if urlsplit(jku).netloc != urlsplit(issuer).netloc or not jku.startswith("https://"):
            raise KeysNotFound(f"the JWKS {jku} is not on the issuer's own origin {issuer}")
        document = await fetch_json(jku, options)
        keys = document.get("keys") if isinstance(document, Mapping) else None
        if not isinstance(keys, list):
            raise KeysNotFound(f"{jku} is not a JSON Web Key Set")
        return "jwks", [dict(k) for k in keys if isinstance(k, Mapping) and isinstance(k.get("kid"), str)]
    raise KeysNotFound(
        f"the issuer {issuer!r} is neither a did:web, a did:key, nor an https URL whose JWKS the credential names (jku)"
    )
