"""The learner's VC-API exchange with the Learner Credential Wallet, from creation to the bound credential.

1. The learner (``/me``) creates an exchange for one of their complete credentials: a random challenge, 15
   minutes to live, shown as a link and QR code (``invitations``).
2. The wallet POSTs ``{}`` to the exchange URL and gets a ``verifiablePresentationRequest``: DIDAuthentication
   by a did:key, with the exchange's challenge and this server's domain (its public URL).
3. The wallet POSTs its signed presentation; Guildhall checks it (``didauth``, in the proof pool), binds the
   credential to the wallet's DID with every proof re-made (``holder_binding``) and marks the exchange done in
   one statement that only the first completion passes, then answers ``{"verifiablePresentation": {…}}``.

The exchange URL is the capability (anyone holding it can run the exchange once, as with any VC-API
exchange): single use, expiring, rate limited, and shown only to the learner.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from domain.credentials import service, wallet
from domain.credentials.data_integrity import holder_binding, pool
from domain.credentials.data_integrity.contexts import VC_V2
from domain.credentials.vc_api import didauth, invitations
from domain.credentials.vc_api.models import WalletExchange
from domain.db import Database
from domain.errors import Conflict, DomainError, NotFound
from domain.oauth.principals import Principal
from domain.sql import load_queries
from domain.writes import Actor, IdempotencyKey, write

q = load_queries(__file__, "exchanges.sql")
Json = dict[str, Any]
EXCHANGE_SECONDS = 15 * 60
WORKFLOW_PATH = "/workflows/learner-credential-wallet/exchanges"


class PresentationRefused(DomainError):
    """The wallet's DIDAuth presentation does not prove what the exchange asked (a 400 naming why)."""

    title = "Presentation refused"


class ExchangeClosed(Conflict):
    """The exchange was already used, or has expired: a new one is made on the learner's page."""

    title = "Exchange closed"


def exchange_url(public_url: str, exchange_id: UUID) -> str:
    return f"{public_url}{WORKFLOW_PATH}/{exchange_id}"


def page_url(public_url: str, credential_id: UUID, exchange_id: UUID) -> str:
    return f"{public_url}/c/{credential_id}/wallet/{exchange_id}"


def to_wallet_exchange(public_url: str, row: Mapping[str, Any]) -> WalletExchange:
    url = exchange_url(public_url, row["id"])
    return WalletExchange(
        exchange_id=row["id"],
        credential_id=row["credential_id"],
        exchange_url=url,
        invitation=invitations.invitation(public_url, url),
        wallet_request_url=invitations.wallet_request_url(public_url, url),
        deep_link=invitations.deep_link(public_url, url),
        page_url=page_url(public_url, row["credential_id"], row["id"]),
        expires_at=row["expires_at"],
    )


async def create(
    db: Database,
    actor: Actor,
    person_id: UUID,
    credential_id: UUID,
    public_url: str,
    *,
    idempotency: IdempotencyKey | None = None,
) -> WalletExchange:
    """A new exchange for one of the person's complete, unrevoked credentials (NotFound for anyone else's;
    ``CredentialIncomplete`` while it lacks a signature)."""
    row = await wallet.signed_row(db, person_id, credential_id)
    return await _create(db, actor, row, public_url, person_id=person_id, idempotency=idempotency)


async def create_for_learner(
    db: Database, principal: Principal, credential_id: UUID, public_url: str, *, idempotency: IdempotencyKey | None
) -> WalletExchange:
    """A new exchange made by the credential's provider or awarding body (to show the learner, say in its
    learning platform); the same rules as the learner's own."""
    row = await service.signed_forms(db, principal, credential_id)  # NotFound for outsiders, then 409 if incomplete
    parties = {row["awarding_body_id"], row["provider_id"]}
    if not parties & set(principal.organisations()) and not principal.is_operator:
        raise NotFound(f"there is no credential {credential_id} that your organisation issued or provided")
    actor = principal.actor()
    return await _create(db, actor, row, public_url, client_id=principal.client_id, idempotency=idempotency)


async def _create(
    db: Database,
    actor: Actor,
    row: Mapping[str, Any],
    public_url: str,
    *,
    person_id: UUID | None = None,
    client_id: str | None = None,
    idempotency: IdempotencyKey | None,
) -> WalletExchange:
    credential_id = row["id"]
    if row["state"] == "revoked":
        raise Conflict(f"credential {credential_id} is revoked: there is nothing to add to a wallet")
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(WalletExchange)
        created = await w.conn.fetchrow(
            q.create_exchange, credential_id, person_id, client_id, secrets.token_urlsafe(32), EXCHANGE_SECONDS
        )
        # In the trail of the organisation whose client made it; a learner's own is in no organisation's.
        made_by = actor.organisation_id if client_id is not None else None
        await w.audit("credential.wallet_exchange_created", "credential", credential_id, made_by)
        result = to_wallet_exchange(public_url, created)
        await w.remember(result)
    return result


async def _open(db: Database, exchange_id: UUID) -> Mapping[str, Any]:
    async with db.connection() as conn:
        row: Mapping[str, Any] | None = await conn.fetchrow(q.open_exchange, exchange_id)
    if row is None:
        raise NotFound(f"there is no exchange {exchange_id}")
    if row["completed_at"] is not None:
        raise ExchangeClosed(
            "this exchange was already used: each delivers the credential once. Make a new one on the credential's page"
        )
    if row["expired"]:
        raise ExchangeClosed("this exchange has expired. Make a new one on the credential's page")
    return row


def presentation_request(challenge: str, domain: str) -> Json:
    """The VC-API ``verifiablePresentationRequest`` for DIDAuthentication by a did:key."""
    return {
        "verifiablePresentationRequest": {
            "query": {
                "type": "DIDAuthentication",
                "acceptedMethods": [{"method": "key"}],
                "acceptedCryptosuites": [{"cryptosuite": suite} for suite in didauth.SUITES],
            },
            "challenge": challenge,
            "domain": domain,
        }
    }


async def start(db: Database, exchange_id: UUID, public_url: str) -> Json:
    """The wallet's first message: the request it must answer (the same until the exchange is done)."""
    row = await _open(db, exchange_id)
    async with db.connection() as conn:
        await conn.execute(q.mark_started, exchange_id)
    return presentation_request(row["challenge"], public_url)


async def complete(db: Database, exchange_id: UUID, presentation: Json, *, master_key: bytes, public_url: str) -> Json:
    """The wallet's answer checked; the credential bound to its DID, in a presentation. Single use."""
    row = await _open(db, exchange_id)
    if row["started_at"] is None:
        raise PresentationRefused("the exchange was not started: POST {} first to get its challenge")
    try:
        holder, refused = await pool.run_bounded(
            didauth.checked, presentation, row["challenge"], public_url, public_url
        )
    except TimeoutError:
        raise PresentationRefused("the presentation could not be canonicalised in time") from None
    if refused is not None or holder is None:
        raise PresentationRefused(refused or "the presentation proves no holder")
    credential = await service.signed_forms(db, None, row["credential_id"])
    if credential["state"] == "revoked":
        raise ExchangeClosed(f"credential {row['credential_id']} was revoked: there is nothing to add to a wallet")
    try:
        bound = await holder_binding.bound_to_holder(
            db, credential, holder, master_key=master_key, public_url=public_url
        )
    except holder_binding.HolderBindingUnavailable as exc:
        raise Conflict(str(exc)) from None
    async with write(db, Actor(person_id=row["person_id"], client_id=row["client_id"])) as w:
        if await w.conn.fetchval(q.complete_exchange, exchange_id, holder) is None:
            raise ExchangeClosed("this exchange was already used or has expired")
        await w.audit("credential.wallet_exchange_completed", "credential", row["credential_id"], None)
    return {
        "verifiablePresentation": {
            "@context": [VC_V2],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [bound],
        }
    }


async def live_for_page(db: Database, exchange_id: UUID, credential_id: UUID, public_url: str) -> WalletExchange | None:
    """The exchange the learner's page shows, while it can still be used."""
    async with db.connection() as conn:
        row = await conn.fetchrow(q.live_exchange_of_credential, exchange_id, credential_id)
    if row is None:
        return None
    return to_wallet_exchange(
        public_url, {"id": row["id"], "credential_id": credential_id, "expires_at": row["expires_at"]}
    )
