"""The credential endpoint's work (OID4VCI 1.0 §8): which credential the request may have, the wallet's proof
of possession over a live ``c_nonce``, and the credential bound to that key in the asked-for format.

The request names the format by ``credential_configuration_id`` (one of the offer's; for an offer of several
credentials, by ``credential_identifier`` instead, ``<configuration>:<credential id>``, as the token response's
``authorization_details`` list them) and carries one ``jwt`` proof (``proofs.jwt[0]``, or the older
``proof``). Everything happens in one transaction: the nonce is consumed only if the credential is issued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.credentials import service
from domain.credentials.oid4vci import formats, nonces
from domain.credentials.oid4vci.errors import (
    CredentialRequestDenied,
    InvalidCredentialRequest,
    InvalidNonce,
    InvalidProof,
    InvalidToken,
    UnknownCredentialConfiguration,
    UnknownCredentialIdentifier,
)
from domain.credentials.oid4vci.metadata import CONFIGURATIONS
from domain.credentials.oid4vci.offers import Redemption, offer_for_token, q
from domain.credentials.oid4vci.proofs import check_proof
from domain.db import Database
from domain.errors import DomainError
from domain.writes import Actor, Write


@dataclass(frozen=True)
class Issued:
    credential: Any  # a compact JWT / SD-JWT (str) or a JSON-LD credential (dict)
    credential_id: UUID
    configuration_id: str


def credential_identifier(configuration_id: str, credential_id: UUID) -> str:
    return f"{configuration_id}:{credential_id}"


def authorization_details(redemption: Redemption) -> list[dict[str, Any]]:
    """What the token response lists (RFC 9396, OID4VCI §6.2): per configuration, the credentials it buys."""
    return [
        {
            "type": "openid_credential",
            "credential_configuration_id": configuration_id,
            "credential_identifiers": [
                credential_identifier(configuration_id, c) for c in redemption.credentials_for(configuration_id)
            ],
        }
        for configuration_id in redemption.configuration_ids
    ]


def _target(request: Mapping[str, Any], offer: Redemption) -> tuple[str, UUID]:
    configuration_id, identifier = request.get("credential_configuration_id"), request.get("credential_identifier")
    if (configuration_id is None) == (identifier is None):
        raise InvalidCredentialRequest("name exactly one of credential_configuration_id and credential_identifier")
    if identifier is not None:
        if not isinstance(identifier, str):
            raise InvalidCredentialRequest("credential_identifier is a string")
        configuration_id, _, credential = identifier.rpartition(":")
        try:
            credential_id = UUID(credential)
        except ValueError:
            credential_id = None
        if configuration_id not in offer.configuration_ids or credential_id not in offer.credentials_for(
            configuration_id
        ):
            raise UnknownCredentialIdentifier(f"{identifier!r} is none of this access token's credentials")
        return configuration_id, credential_id
    if not isinstance(configuration_id, str) or configuration_id not in CONFIGURATIONS:
        raise UnknownCredentialConfiguration(f"{configuration_id!r} is not a credential configuration of this issuer")
    if configuration_id not in offer.configuration_ids:
        raise UnknownCredentialConfiguration(f"the offer did not include {configuration_id!r}")
    candidates = offer.credentials_for(configuration_id)
    if len(candidates) != 1:
        raise InvalidCredentialRequest(
            "this offer holds several credentials: name one by credential_identifier (see authorization_details)"
        )
    return configuration_id, candidates[0]


def _proof_jwt(request: Mapping[str, Any]) -> Any:
    proofs, proof = request.get("proofs"), request.get("proof")
    if (proofs is None) == (proof is None):
        raise InvalidProof("send one jwt proof, as proofs.jwt (or proof)")
    if proofs is not None:
        jwts = proofs.get("jwt") if isinstance(proofs, Mapping) else None
        if not isinstance(jwts, list) or len(jwts) != 1 or set(proofs) != {"jwt"}:
            raise InvalidProof('proofs must be {"jwt": [one proof]}: only the jwt proof type, one credential a request')
        return jwts[0]
    if not isinstance(proof, Mapping) or proof.get("proof_type") != "jwt":
        raise InvalidProof('proof must be {"proof_type": "jwt", "jwt": …}')
    return proof.get("jwt")


async def issue_credential(
    db: Database,
    jti: str,
    request: Any,
    *,
    issuer: str,
    master_key: bytes,
    actor: Actor,
) -> Issued:
    """The credential a live access token (``jti``) may have, bound to the key of the request's proof."""
    if not isinstance(request, Mapping):
        raise InvalidCredentialRequest("the credential request is a JSON object")
    async with db.transaction() as conn:
        offer = await offer_for_token(conn, jti)
        if offer is None:
            raise InvalidToken("the access token is unknown here, expired or revoked")
        configuration_id, credential_id = _target(request, offer)
        proof = check_proof(_proof_jwt(request), issuer)
        if not await nonces.consume_nonce(conn, proof.nonce):
            raise InvalidNonce("the proof's nonce is not a live c_nonce of ours: get a new one at the nonce endpoint")
        row = await service.fetch_row(conn, credential_id)
        try:
            await service.require_complete(conn, row)
        except DomainError as incomplete:
            raise CredentialRequestDenied(incomplete.message) from None
        if not service.is_valid(row):
            raise CredentialRequestDenied(
                f"credential {credential_id} is no longer valid (revoked, suspended or expired)"
            )
        credential = await formats.credential_in(
            configuration_id, db, conn, row, proof.holder, issuer=issuer, master_key=master_key
        )
        await conn.execute(q.insert_delivery, offer.offer_id, credential_id, configuration_id, proof.holder.did)
        await Write(conn=conn, actor=actor).audit(
            "credential.delivered_to_wallet",
            "credential",
            credential_id,
            row["provider_id"],
            {"offerId": str(offer.offer_id), "configuration": configuration_id},
        )
    return Issued(credential, credential_id, configuration_id)
