"""``issue_sd_jwt_vc``: a complete Guildhall credential as an SD-JWT VC bound to the holder's key.

What the OpenID4VCI credential endpoint calls once it has checked the wallet's proof of possession, and
``POST /me/credentials/{id}/sd-jwt-vc`` for a key the signed-in learner names (``issue_to_person``). The
result is the compact SD-JWT: the issuer-signed JWT (``typ: dc+sd-jwt``), then every disclosure, each
followed by ``~`` (no key binding JWT: the holder adds one when presenting).

* ``iss`` the awarding body's https issuer URL (keys: ``issuer_metadata``), ``kid`` its current key's
  thumbprint; ``iat`` now, ``nbf`` the credential's ``validFrom``, ``exp`` its ``validUntil`` (none if it
  has none); ``vct`` its achievement type's (``type_metadata``); ``cnf.jwk`` the holder's public key;
  ``status.status_list`` its slot in the Token Status List (``idx``, ``uri``); the rest as ``claims`` says.
* Only a complete credential (every signature, the chamber's included: ``service.require_complete``, a 409
  naming what is missing) that is valid now — not revoked, suspended or expired, and whose learner was not
  erased — is issued; anything else is a ``Conflict``. The status list takes over from there.
* Each call makes new salts, so two copies for two wallets share no digest; the top-level ``_sd`` always
  holds as many digests as there are disclosable claims (decoys fill in for absent ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey

from domain.credentials import envelopes, keys, service, status_lists, verification
from domain.credentials.sd_jwt import claims, disclosures, issuer_metadata, type_metadata
from domain.db import Connection, Database
from domain.errors import Conflict, InvalidInput, NotFound
from domain.sql import load_queries
from domain.structs import Input

q = load_queries(__file__, "issuance.sql")

SD_JWT_VC_TYPE = "dc+sd-jwt"
FORMAT = "dc+sd-jwt"  # the OpenID4VCI credential format identifier

# The holder keys a credential can be bound to: what HAIP and EU wallets use (ES256), and Ed25519.
_PUBLIC_MEMBERS = {"OKP": ("kty", "crv", "x"), "EC": ("kty", "crv", "x", "y")}
_CURVES = {"OKP": ("Ed25519",), "EC": ("P-256", "P-384", "P-521")}


def holder_public_jwk(jwk: Mapping[str, Any]) -> dict[str, Any]:
    """The holder's public key as ``cnf.jwk`` carries it: its public members only.

    ``InvalidInput`` for anything but an Ed25519 or NIST EC public key (a private key, another key type,
    coordinates that are not a point of the curve).
    """
    if not isinstance(jwk, Mapping):
        raise InvalidInput("the holder key is not a JWK (a JSON object)")
    kty = jwk.get("kty")
    if not isinstance(kty, str) or kty not in _PUBLIC_MEMBERS:
        raise InvalidInput("the holder key must be an EC (P-256, P-384, P-521) or OKP (Ed25519) JWK")
    if "d" in jwk:
        raise InvalidInput("the holder key is a private key: send only its public part")
    if jwk.get("crv") not in _CURVES[kty]:
        raise InvalidInput(f"the holder key's curve must be one of {', '.join(_CURVES[kty])}")
    public = {name: jwk[name] for name in _PUBLIC_MEMBERS[kty] if name in jwk}
    if any(not isinstance(value, str) for value in public.values()) or len(public) != len(_PUBLIC_MEMBERS[kty]):
        raise InvalidInput(f"the holder key lacks one of {', '.join(_PUBLIC_MEMBERS[kty])}, or one is not a string")
    try:
        (OKPKey if kty == "OKP" else ECKey).import_key(dict(public))
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidInput("the holder key is not a valid public key of its curve") from exc
    return public


def _epoch(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return int(moment.timestamp()) if moment.tzinfo is not None else None


async def _cosigner(conn: Connection, public_url: str, cosigner_id: UUID | None) -> dict[str, Any] | None:
    if cosigner_id is None:
        return None
    found = await verification.organisations_by_id(conn, {cosigner_id})
    cosigner: dict[str, Any] = {"id": keys.did_web(public_url, cosigner_id)}
    if cosigner_id in found:
        cosigner["name"] = verification.organisation_name(found[cosigner_id])
    return cosigner


def _require_valid_now(row: Mapping[str, Any], now: datetime) -> None:
    if row["revoked_at"] is not None:
        raise Conflict(f"credential {row['id']} was revoked: it is not issued to a wallet")
    if row["suspended"]:
        raise Conflict(f"credential {row['id']} is suspended: it is issued to a wallet once reinstated")
    if row["valid_until"] is not None and row["valid_until"] <= now:
        raise Conflict(f"credential {row['id']} expired on {row['valid_until']:%Y-%m-%d}")


async def issue_sd_jwt_vc(
    conn: Connection,
    credential_id: UUID,
    holder_jwk: Mapping[str, Any],
    *,
    public_url: str,
    master_key: bytes,
) -> str:
    """The compact SD-JWT VC (``<JWT>~<disclosure>~…~``) of credential ``credential_id``, bound to
    ``holder_jwk`` (its public part goes in ``cnf.jwk``). The caller has checked who may have it.

    ``NotFound`` for an unknown credential; ``CredentialIncomplete`` (a ``Conflict``) for one lacking a
    signature; ``Conflict`` for one that is revoked, suspended, expired or whose learner was erased;
    ``InvalidInput`` for a holder key that is not an Ed25519 or EC public JWK.
    """
    holder = holder_public_jwk(holder_jwk)
    row = await service.fetch_row(conn, credential_id)
    await service.require_complete(conn, row)
    now = datetime.now(UTC)
    _require_valid_now(row, now)
    extra = await conn.fetchrow(q.sd_jwt_facts, credential_id)
    if extra is None or extra["erased"]:
        raise Conflict(f"the learner of credential {credential_id} was erased: it is not issued to a wallet")
    if extra["revocation_list_id"] is None or row["status_number"] is None:
        raise Conflict(f"credential {credential_id} has no status list entry")
    credential = envelopes.credential_json(row["payload"])
    key = await keys.current_signing_key(conn, master_key, row["awarding_body_id"])
    jwt_claims: dict[str, Any] = {
        "iss": issuer_metadata.issuer_url(public_url, row["awarding_body_id"]),
        "iat": int(now.timestamp()),
        "nbf": _epoch(credential.get("validFrom")),
        "exp": _epoch(credential.get("validUntil")),
        "vct": type_metadata.vct(public_url, row["kind"]),
        "cnf": {"jwk": holder},
        "status": {
            "status_list": {
                "idx": row["status_index"],
                "uri": status_lists.status_list_url(public_url, extra["revocation_list_id"]),
            }
        },
    }
    body = claims.vc_claims(
        credential,
        birthdate=extra["date_of_birth"],
        cosigner=await _cosigner(conn, public_url, row["cosigner_id"]),
    )
    payload, made = disclosures.issue(
        {**{k: v for k, v in jwt_claims.items() if v is not None}, **body},
        min_digests=len(claims.SELECTIVELY_DISCLOSABLE),
    )
    header = {"typ": SD_JWT_VC_TYPE, "kid": key.kid}
    token = await keys.sign_compact(key, msgspec.json.encode(payload), header)
    return disclosures.compact(token, made)


class HolderKey(Input):
    """The wallet key to bind a credential to."""

    holder_jwk: dict[str, Any]


async def issue_to_person(
    db: Database,
    person_id: UUID,
    credential_id: UUID,
    holder_jwk: Mapping[str, Any],
    *,
    public_url: str,
    master_key: bytes,
) -> str:
    """``issue_sd_jwt_vc`` of one of the person's own credentials (``NotFound`` for anyone else's)."""
    async with db.connection() as conn:
        if await conn.fetchval(q.owned, credential_id, person_id) is None:
            raise NotFound(f"you have no credential {credential_id}")
        return await issue_sd_jwt_vc(conn, credential_id, holder_jwk, public_url=public_url, master_key=master_key)
