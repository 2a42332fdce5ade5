"""SD-JWT (RFC 9901, formerly draft-ietf-oauth-selective-disclosure-jwt) disclosures and digests: pure.

A disclosure is base64url(JSON ``[salt, name, value]``) for an object property, or ``[salt, value]`` for
an array element; the issuer-signed JWT holds only its digest, base64url(SHA-256(the disclosure's ASCII)),
in the object's ``_sd`` array or as ``{"...": digest}`` in place of the array element. Nesting is by
building inner objects first: a disclosable claim whose value has disclosable parts of its own hides
those parts' digests until it is disclosed itself.

Salts are 128 random bits (the specification's recommendation); ``_sd`` arrays are sorted, so the order
of the digests says nothing about the order of the claims. Decoy digests (RFC 9901 §4.2.5) pad the top
level to a fixed count (``issue``'s ``min_digests``), so that how many claims are hidden does not say
which a credential has (a learner with no recorded date of birth, an achievement with no evidence).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

SD_ALG = "sha-256"
SD_KEY = "_sd"
ARRAY_ELEMENT_KEY = "..."
# Claims an SD-JWT VC never hides (draft-ietf-oauth-sd-jwt-vc §3.2.2.2) nor may a disclosure name.
NEVER_DISCLOSABLE = frozenset({"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "_sd", "_sd_alg", "..."})

Salt = Callable[[], str]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def random_salt() -> str:
    return b64url(secrets.token_bytes(16))


def encode_disclosure(parts: list[Any]) -> str:
    """base64url of the disclosure's JSON array (compact JSON, UTF-8)."""
    return b64url(msgspec.json.encode(parts))


def digest(disclosure: str) -> str:
    """The digest the signed JWT carries for a disclosure: base64url(SHA-256(ASCII of the disclosure))."""
    return b64url(hashlib.sha256(disclosure.encode("ascii")).digest())


@dataclass(frozen=True)
class Disclosable:
    """A value to hide behind a disclosure; ``value`` may itself hold ``Disclosable`` parts (nested)."""

    value: Any


@dataclass
class Builder:
    """Turns claims (with ``Disclosable`` markers anywhere inside) into the JWT's claims and the disclosures."""

    salt: Salt = random_salt
    disclosures: list[str] = field(default_factory=list)

    def _disclose(self, parts: list[Any]) -> str:
        disclosure = encode_disclosure(parts)
        self.disclosures.append(disclosure)
        return digest(disclosure)

    def build(self, value: Any) -> Any:
        """``value`` with every ``Disclosable`` replaced by its digest (innermost first)."""
        if isinstance(value, Disclosable):
            raise ValueError("a disclosable value must be an object's property or an array's element")
        if isinstance(value, Mapping):
            shown: dict[str, Any] = {}
            hidden: list[str] = []
            for name, item in value.items():
                if isinstance(item, Disclosable):
                    if name in NEVER_DISCLOSABLE:
                        raise ValueError(f"the claim {name!r} is never selectively disclosable")
                    hidden.append(self._disclose([self.salt(), name, self.build(item.value)]))
                else:
                    shown[name] = self.build(item)
            if hidden:
                shown[SD_KEY] = sorted(hidden)
            return shown
        if isinstance(value, list | tuple):
            return [
                {ARRAY_ELEMENT_KEY: self._disclose([self.salt(), self.build(item.value)])}
                if isinstance(item, Disclosable)
                else self.build(item)
                for item in value
            ]
        return value


def decoy() -> str:
    """A digest no disclosure has: of 128 random bits (RFC 9901 §4.2.5)."""
    return b64url(hashlib.sha256(secrets.token_bytes(16)).digest())


def issue(
    claims: Mapping[str, Any], salt: Salt = random_salt, *, min_digests: int = 0
) -> tuple[dict[str, Any], list[str]]:
    """The JWT's claims (with ``_sd_alg``) and the disclosures, in the order they were made; the top-level
    ``_sd`` padded with decoys to ``min_digests`` digests."""
    builder = Builder(salt)
    payload: dict[str, Any] = builder.build(claims)
    hidden: list[str] = payload.get(SD_KEY, [])
    if len(hidden) < min_digests:
        payload[SD_KEY] = sorted([*hidden, *(decoy() for _ in range(min_digests - len(hidden)))])
    payload["_sd_alg"] = SD_ALG
    return payload, builder.disclosures


def compact(issuer_jwt: str, disclosures: list[str], key_binding_jwt: str = "") -> str:
    """``<issuer-signed JWT>~<disclosure>~...~<KB-JWT>``: with the trailing ``~`` when there is no KB-JWT."""
    return "~".join([issuer_jwt, *disclosures, key_binding_jwt])


def decode_disclosure(disclosure: str) -> list[Any]:
    """The JSON array of a disclosure (for tests and for reading back what was issued)."""
    padded = disclosure + "=" * (-len(disclosure) % 4)
    parts: list[Any] = msgspec.json.decode(base64.urlsafe_b64decode(padded))
    return parts


def reveal(payload: Mapping[str, Any], disclosures: list[str]) -> dict[str, Any]:
    """The claims ``payload`` shows with ``disclosures`` applied (a holder's view): pure, for tests and pages.

    Digests with no disclosure stay hidden; a disclosure whose digest appears nowhere is ignored.
    """
    by_digest = {digest(d): decode_disclosure(d) for d in disclosures}

    def walk(value: Any) -> Any:
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for name, item in value.items():
                if name in (SD_KEY, "_sd_alg"):
                    continue
                out[name] = walk(item)
            for hidden in value.get(SD_KEY, []):
                found = by_digest.get(hidden)
                if found is not None and len(found) == 3:
                    out[found[1]] = walk(found[2])
            return out
        if isinstance(value, list):
            items = []
            for item in value:
                if isinstance(item, Mapping) and set(item) == {ARRAY_ELEMENT_KEY}:
                    found = by_digest.get(item[ARRAY_ELEMENT_KEY])
                    if found is not None and len(found) == 2:
                        items.append(walk(found[1]))
                    continue
                items.append(walk(item))
            return items
        return value

    result: dict[str, Any] = walk(payload)
    return result
