"""Verifying a credential of another issuer before it counts: the signature against the issuer's published
keys, the validity dates, and the Bitstring status list it names (itself signed by the same issuer).

A VC-JWT (Open Badges 3.0 JWT profile, or a VC 1.1 JWT with its ``vc`` claim), or a credential JSON with
Data Integrity proofs (canonicalised with the contexts this server holds offline, never fetched). The
result lists every problem found; the credential is valid only when there is none. Checks that could
not be made (a key set or status list that could not be fetched) are problems too: an unverifiable
credential does not count.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from joserfc import jws
from joserfc.errors import JoseError

from domain.credentials import envelopes, status_lists
from domain.credentials.document import GUILDHALL_CONTEXT_PATH
from domain.credentials.foreign.fetch import FetchFailed, FetchOptions, fetch
from domain.credentials.foreign.models import CheckMethod, CredentialCheck
from domain.credentials.foreign.resolve import issuer_keys
from domain.credentials.keys import SignatureInvalid, verify_compact
from domain.credentials.multikey import VERIFICATION_METHOD_PREFIX
from domain.errors import InvalidInput

COMPACT_JWS = re.compile(r"^[a-zA-Z0-9_-]+\.[a-zA-Z0-9_-]+\.[a-zA-Z0-9_-]+$")
CREDENTIAL_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
MAX_TOKEN = 256 * 1024
SKEW = timedelta(minutes=5)
_ALGS = {("OKP", "Ed25519"): {"EdDSA", "Ed25519"}, ("EC", "P-256"): {"ES256"}, ("RSA", None): {"RS256"}}


class NotAForeignCredential(InvalidInput):
    """What was sent is not a credential this verifier can read."""


@dataclass(frozen=True)
class Checked:
    form: str  # "vc_jwt" or "data_integrity"
    document: dict[str, Any]
    issuer: str
    verification: CredentialCheck


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def read_token(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The protected header and the credential document of a VC-JWT; ``NotAForeignCredential`` if it is none."""
    if len(token) > MAX_TOKEN or not COMPACT_JWS.match(token):
        raise NotAForeignCredential("send the credential as a VC-JWT (a compact JWS)")
    try:
        header = dict(jws.extract_compact(token.encode()).protected)
        payload = msgspec.json.decode(envelopes.b64url_decode(token.split(".")[1]))
    except (JoseError, ValueError, msgspec.DecodeError, RecursionError) as exc:
        raise NotAForeignCredential("the VC-JWT's header or payload is not JSON") from exc
    if not isinstance(payload, dict):
        raise NotAForeignCredential("the VC-JWT's payload is not a JSON object")
    vc = payload.get("vc")
    document = dict(vc) if isinstance(vc, dict) else {k: v for k, v in payload.items() if k not in envelopes.JWT_CLAIMS}
    for claim, field in (("jti", "id"), ("iss", "issuer")):
        if isinstance(payload.get(claim), str) and field not in document:
            document[field] = payload[claim]
    types = document.get("type")
    types = types if isinstance(types, list) else [types]
    if not CREDENTIAL_TYPES & {t for t in types if isinstance(t, str)}:
        raise NotAForeignCredential(
            "this is not an Open Badges 3.0 credential (OpenBadgeCredential or AchievementCredential)"
        )
    document["_jwt_claims"] = {k: payload[k] for k in ("iss", "nbf", "exp") if k in payload}
    return header, document


def issuer_of(document: Mapping[str, Any]) -> str | None:
    issuer = document.get("issuer")
    identifier = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return identifier if isinstance(identifier, str) and identifier else None


def _key_for(issuer: str, header: Mapping[str, Any], found: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    kid, alg = header.get("kid"), header.get("alg")
    if isinstance(kid, str) and kid.startswith("did:") and kid.split("#", 1)[0] != issuer:
        raise SignatureInvalid(f"the signature names the key {kid}, which is not the issuer's ({issuer})")
    wanted = kid
    if isinstance(kid, str) and kid.startswith(issuer + VERIFICATION_METHOD_PREFIX):
        wanted = kid[len(issuer + VERIFICATION_METHOD_PREFIX) :]
    jwk: dict[str, Any] | None = (
        found[0] if wanted is None and len(found) == 1 else next((k for k in found if k.get("kid") == wanted), None)
    )
    if jwk is None:
        raise SignatureInvalid(f"the issuer {issuer} publishes no key {kid!r}")
    allowed = _ALGS.get((str(jwk.get("kty")), jwk.get("crv") if jwk.get("kty") != "RSA" else None), set())
    if alg not in allowed:
        raise SignatureInvalid(f"the key {kid} cannot sign with {alg!r}")
    return str(kid or jwk["kid"]), {**jwk, "alg": alg}


def _dates(document: Mapping[str, Any], now: datetime) -> list[str]:
    problems = []
    claims = document.get("_jwt_claims") or {}

    def moment(value: Any) -> datetime | None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return None

    starts = [m for m in (moment(document.get("validFrom")), moment(claims.get("nbf"))) if m]
    ends = [m for m in (moment(document.get("validUntil")), moment(claims.get("exp"))) if m]
    if document.get("validFrom") is not None and moment(document.get("validFrom")) is None:
        problems.append(f"validFrom {document.get('validFrom')!r} is not a date and time")
    if any(start > now + SKEW for start in starts):
        problems.append(f"not valid yet: valid from {min(starts).isoformat()}")
    if any(end <= now for end in ends):
        problems.append(f"expired on {min(ends).isoformat()}")
    return problems


async def _status(
    document: Mapping[str, Any], issuer: str, keys: list[dict[str, Any]], options: FetchOptions
) -> tuple[list[str], list[str]]:
    """Problems found in the credential's Bitstring status lists, and the lists consulted."""
    entries = document.get("credentialStatus")
    entries = entries if isinstance(entries, list) else [entries] if isinstance(entries, Mapping) else []
    problems, consulted = [], []
    for entry in entries:
        types = entry.get("type") if isinstance(entry, Mapping) else None
        types = types if isinstance(types, list) else [types]
        if not isinstance(entry, Mapping) or status_lists.ENTRY_TYPE not in types:
            problems.append(f"a credentialStatus of type {types!r} cannot be checked")
            continue
        url, raw_index = entry.get("statusListCredential"), entry.get("statusListIndex")
        purpose = entry.get("statusPurpose")
        purpose = purpose if isinstance(purpose, str) else "revocation"
        if not isinstance(url, str) or not isinstance(raw_index, str) or not raw_index.isdigit() or len(raw_index) > 10:
            problems.append("a credentialStatus names no status list and index")
            continue
        consulted.append(url)
        try:
            _, body = await fetch(url, options, accept="application/vc+jwt")
            token = body.decode("ascii").strip()
            header, listed = read_status_list(token)
            if issuer_of(listed) != issuer:
                raise SignatureInvalid(f"the status list {url} is not the issuer's")
            _, jwk = _key_for(issuer, header, keys)
            verify_compact(token, {"keys": [jwk]}, issuer)
            subject = listed.get("credentialSubject") or {}
            bits = status_lists.decode_list(str(subject.get("encodedList")))
            index = int(raw_index)
            if index >= len(bits) * 8:
                problems.append(f"statusListIndex {index} is outside the status list {url}")
            elif status_lists.bit(bits, index):
                problems.append(
                    f"{'revoked' if purpose == 'revocation' else purpose + ' set'} (status list {url}, index {index})"
                )
        except (FetchFailed, SignatureInvalid, InvalidInput, UnicodeDecodeError) as exc:
            message = exc.message if isinstance(exc, InvalidInput) else str(exc)
            problems.append(f"the status list {url} could not be checked: {message}")
    return problems, consulted


def read_status_list(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if len(token) > MAX_TOKEN or not COMPACT_JWS.match(token):
        raise SignatureInvalid("the status list is not a VC-JWT")
    try:
        header = dict(jws.extract_compact(token.encode()).protected)
        payload = msgspec.json.decode(envelopes.b64url_decode(token.split(".")[1]))
    except (JoseError, ValueError, msgspec.DecodeError, RecursionError) as exc:
        raise SignatureInvalid("the status list is not a readable VC-JWT") from exc
    if not isinstance(payload, dict):
        raise SignatureInvalid("the status list's payload is not a JSON object")
    vc = payload.get("vc")
    listed: dict[str, Any] = vc if isinstance(vc, dict) else payload
    return header, listed


async def verify_vc_jwt(token: str, options: FetchOptions) -> Checked:
    """The credential a VC-JWT carries and its verification. ``NotAForeignCredential`` when it cannot be
    read at all; otherwise every problem is in ``verification.problems``."""
    token = token.strip()
    header, document = read_token(token)
    claims = document.pop("_jwt_claims")
    issuer = issuer_of(document)
    if issuer is None:
        raise NotAForeignCredential("the credential names no issuer")
    now = _now()
    problems: list[str] = []
    method: CheckMethod | None = None
    key_id = None
    consulted: list[str] = []
    if isinstance(claims.get("iss"), str) and claims["iss"] != issuer:
        problems.append(f"the JWT's iss {claims['iss']} is not the credential's issuer {issuer}")
    try:
        method, keys = await issuer_keys(issuer, header, options)  # type: ignore[assignment]
        key_id, jwk = _key_for(issuer, header, keys)
        verify_compact(token, {"keys": [jwk]}, issuer)
    except SignatureInvalid as exc:
        problems.append(f"the signature is not the issuer's: {exc.message}")
    except FetchFailed as exc:
        problems.append(f"the issuer's keys could not be found: {exc.message}")
    else:
        problems += _dates({**document, "_jwt_claims": claims}, now)
        status_problems, consulted = await _status(document, issuer, keys, options)
        problems += status_problems
    verification = CredentialCheck(
        valid=not problems, method=method, checked_at=now, problems=problems, key_id=key_id, status_lists=consulted
    )
    return Checked("vc_jwt", document, issuer, verification)


def _context_base(document: Mapping[str, Any], fallback: str) -> str:
    """The public URL of the Guildhall whose own context the document uses (its Data Integrity proofs are
    canonicalised with it, built offline), else ``fallback``: contexts are never fetched."""
    contexts = document.get("@context")
    for url in contexts if isinstance(contexts, list) else [contexts]:
        if isinstance(url, str) and url.endswith(GUILDHALL_CONTEXT_PATH) and url.startswith("https://"):
            return url.removesuffix(GUILDHALL_CONTEXT_PATH)
    return fallback


def _read_data_integrity(document: Mapping[str, Any]) -> tuple[envelopes.Envelope, dict[str, Any], str]:
    """The proofs, the credential they sign and its issuer; ``NotAForeignCredential`` if it is none."""
    try:
        envelope = envelopes.read(document)
        signed = envelopes.credential_json(envelope.payload)
    except (SignatureInvalid, msgspec.DecodeError, RecursionError) as exc:
        message = exc.message if isinstance(exc, SignatureInvalid) else "the credential is not JSON"
        raise NotAForeignCredential(message) from exc
    if envelope.form != "data-integrity":
        raise NotAForeignCredential("send the credential as a VC-JWT, or as JSON with DataIntegrityProofs")
    types = signed.get("type")
    types = types if isinstance(types, list) else [types]
    if not CREDENTIAL_TYPES & {t for t in types if isinstance(t, str)}:
        raise NotAForeignCredential(
            "this is not an Open Badges 3.0 credential (OpenBadgeCredential or AchievementCredential)"
        )
    issuer = issuer_of(signed)
    if issuer is None:
        raise NotAForeignCredential("the credential names no issuer")
    return envelope, signed, issuer


async def verify_data_integrity(document: Mapping[str, Any], options: FetchOptions, public_url: str) -> Checked:
    """A credential JSON with Data Integrity proofs (``eddsa-rdfc-2022``, ``ecdsa-rdfc-2019``) of another issuer:
    every proof checked against its signer's published keys (the issuer's proof must be among them), then the
    validity dates and status list. JSON-LD contexts come only from the offline copies this server holds."""
    envelope, signed, issuer = _read_data_integrity(document)
    now = _now()
    problems: list[str] = []
    method: CheckMethod | None = None
    keys: list[dict[str, Any]] = []
    resolved: dict[str, dict[str, Any] | None] = {}

    async def resolve(did: str) -> Mapping[str, Any] | None:
        nonlocal method, keys
        if did not in resolved:
            try:
                found_method, found = await issuer_keys(did, {}, options)
            except FetchFailed as exc:
                problems.append(f"the keys of {did} could not be found: {exc.message}")
                resolved[did] = None
            else:
                resolved[did] = {"keys": found}
                if did == issuer:
                    method, keys = found_method, found  # type: ignore[assignment]
        return resolved[did]

    checked = await envelopes.check_signatures(envelope, resolve, _context_base(signed, public_url))
    key_id = None
    for signature in checked:
        if signature.signer == issuer and signature.valid:
            key_id = f"{issuer}{VERIFICATION_METHOD_PREFIX}{signature.kid}"
        elif not signature.valid:
            problems.append(f"the proof of {signature.signer} does not verify: {signature.problem}")
    if key_id is None and not any(s.signer == issuer for s in checked):
        problems.append(f"no proof is the issuer's ({issuer})")
    consulted: list[str] = []
    if not problems:
        problems += _dates(signed, now)
        status_problems, consulted = await _status(signed, issuer, keys, options)
        problems += status_problems
    verification = CredentialCheck(
        valid=not problems, method=method, checked_at=now, problems=problems, key_id=key_id, status_lists=consulted
    )
    return Checked("data_integrity", dict(signed), issuer, verification)
