"""Reading credentials and changing their state: co-sign or refuse, revoke, suspend and reinstate,
re-issue, hold and release. Issuing itself is ``issuing.py`` (the worker's side).

Who may do what (besides the token's scope):
* the awarding body revokes, suspends and reinstates (scope ``credentials:revoke``);
* the co-signer's signatories co-sign or refuse (``credentials:cosign``, role ``signatory``), and
  withdraw their own signature, which makes the credential invalid (``credentials:revoke``);
* the assessing provider holds, releases and re-issues (``credentials:issue``);
* all three read (``credentials:read``); the learner reads through ``/me``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.credentials import envelopes, facts, issuing, status_lists, verification
from domain.credentials.keys import did_web, ensure_signing_key
from domain.credentials.models import (
    BatchItem,
    BatchResult,
    Credential,
    CredentialLinks,
    CredentialPage,
    CredentialSignature,
    IssuingHold,
    IssuingHoldList,
    ReleaseResult,
)
from domain.db import Connection, Database
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.oauth.principals import Principal
from domain.outbox import HandlerContext
from domain.pagination import decode_cursor, next_cursor
from domain.scopes import Role
from domain.sql import load_queries
from domain.writes import EventDispatcher, IdempotencyKey, Write, write

q = load_queries(__file__, "credentials.sql")

SIGNATORY: frozenset[Role] = frozenset({"signatory"})
ISSUERS: frozenset[Role] = frozenset({"admin", "assessor", "signatory"})
REVOKERS: frozenset[Role] = frozenset({"admin", "signatory"})
# Released in the request; the rest of a large release goes to the worker.
RELEASE_NOW = 200


# --- Reading ----------------------------------------------------------------------------------


def links(public_url: str, credential_id: UUID, under: str = "/credentials") -> CredentialLinks:
    """Where to download each form (``under`` /credentials, or /me/credentials for the learner) and the page."""
    base = f"{public_url}{under}/{credential_id}"
    return CredentialLinks(
        vc_jwt=f"{base}/vc-jwt",
        jws_json=f"{base}/jws",
        json=f"{base}/json",
        elm=f"{base}/elm",
        page=f"{public_url}/c/{credential_id}",
    )


def is_valid(row: Mapping[str, Any], now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    signatures = row["signatures"]
    withdrawn = any(s.get("withdrawnAt") for s in signatures)
    expired = row["valid_until"] is not None and row["valid_until"] <= now
    return row["state"] == "issued" and not row["suspended"] and not expired and not withdrawn


def to_record(row: Mapping[str, Any], public_url: str) -> Credential:
    payload = row["payload"]
    return Credential(
        id=row["id"],
        kind=row["kind"],
        state=row["state"],
        suspended=row["suspended"],
        valid=is_valid(row),
        learner_id=row["learner_id"],
        provider_id=row["provider_id"],
        awarding_body_id=row["awarding_body_id"],
        cosigner_id=row["cosigner_id"],
        programme_id=row["design_id"],
        version_number=row["version_number"],
        unit_key=row["unit_key"],
        attempt_id=row["attempt_id"],
        stands_on=list(row["stands_on"]),
        issued_at=row["issued_at"],
        valid_until=row["valid_until"],
        replaces_credential_id=row["replaces_credential_id"],
        replaced_by=row["replaced_by"],
        renews_credential_id=row["renews_credential_id"],
        revoked_at=row["revoked_at"],
        revocation_reason=row["revocation_reason"],
        suspended_at=row["suspended_at"],
        suspension_reason=row["suspension_reason"],
        cosign_refused_at=row["cosign_refused_at"],
        cosign_refusal_reason=row["cosign_refusal_reason"],
        signatures=[msgspec.convert(s, CredentialSignature, strict=False) for s in row["signatures"]],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        links=links(public_url, row["id"]),
        credential=envelopes.credential_json(payload) if payload is not None else None,
    )


async def fetch_row(conn: Connection, credential_id: UUID) -> Mapping[str, Any]:
    row: Mapping[str, Any] | None = await conn.fetchrow(q.credential, credential_id)
    if row is None:
        raise NotFound(f"there is no credential {credential_id}")
    return row


def _parties(row: Mapping[str, Any]) -> list[UUID]:
    return [i for i in (row["awarding_body_id"], row["provider_id"], row["cosigner_id"]) if i is not None]


def require_party(principal: Principal, row: Mapping[str, Any]) -> None:
    """NotFound (not Forbidden) for outsiders: a credential's existence is not theirs to learn."""
    if not principal.is_operator and not any(principal.roles_in(org) for org in _parties(row)):
        raise NotFound(f"there is no credential {row['id']}")


async def get_credential(db: Database, principal: Principal, credential_id: UUID, public_url: str) -> Credential:
    async with db.connection() as conn:
        row = await fetch_row(conn, credential_id)
    require_party(principal, row)
    return to_record(row, public_url)


class CredentialIncomplete(Conflict):
    """A credential that lacks a signature it needs (held, awaiting a co-signature) or lost one (refused,
    withdrawn): none of its forms is handed out, so that no verifier can take it for a complete one."""

    title = "Credential incomplete"


def _day(moment: Any) -> str:
    return str(moment)[:10]


async def missing_signatures(conn: Connection, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the credential lacks to be complete, one entry per signature: empty when it has every one.

    A revoked or suspended credential is complete (its status list says what became of it); so is an
    expired one (its ``validUntil`` says so)."""
    found: list[tuple[str, UUID, str]] = []  # (role, organisation, problem)
    if row["payload"] is None:
        found.append(("issuer", row["awarding_body_id"], "not signed yet: the assessing provider holds issuing"))
    elif row["state"] == "awaiting_cosignature":
        found.append(("cosigner", row["cosigner_id"], "awaiting the co-signature"))
    elif row["state"] == "cosign_refused":
        refusal = f"refused on {_day(row['cosign_refused_at'])}: {row['cosign_refusal_reason']}"
        found.append(("cosigner", row["cosigner_id"], refusal))
    for signature in row["signatures"]:
        if signature.get("withdrawnAt"):
            withdrawal = f"withdrawn on {_day(signature['withdrawnAt'])}: {signature.get('withdrawalReason')}"
            found.append((signature["role"], UUID(signature["organisationId"]), withdrawal))
    if not found:
        return []
    names = await verification.organisations_by_id(conn, {organisation for _, organisation, _ in found})
    return [
        {
            "signature": role,
            "organisationId": str(organisation),
            "organisationName": verification.organisation_name(names[organisation]) if organisation in names else None,
            "problem": problem,
        }
        for role, organisation, problem in found
    ]


async def require_complete(conn: Connection, row: Mapping[str, Any]) -> None:
    """``CredentialIncomplete`` (a 409 naming what is missing) unless the credential has every signature."""
    missing = await missing_signatures(conn, row)
    if missing:
        parts = "; ".join(
            f"the {'signature' if m['signature'] == 'issuer' else 'co-signature'} of "
            f"{m['organisationName'] or m['organisationId']} ({m['problem']})"
            for m in missing
        )
        raise CredentialIncomplete(
            f"credential {row['id']} is not complete, so none of its forms is handed out: it lacks {parts}",
            state=row["state"],
            missing=missing,
        )


async def signed_forms(db: Database, principal: Principal | None, credential_id: UUID) -> Mapping[str, Any]:
    """The row of a complete credential the caller may see, to hand out in one of its forms (``principal``
    None: the caller was checked). ``CredentialIncomplete`` for a held, awaiting, refused or withdrawn one."""
    async with db.connection() as conn:
        row = await fetch_row(conn, credential_id)
        if principal is not None:
            require_party(principal, row)
        await require_complete(conn, row)
    return row


def signatures_of(row: Mapping[str, Any]) -> list[envelopes.Signature]:
    return [envelopes.Signature(s["protected"], s["signature"]) for s in row["signatures"]]


def vc_jwt(row: Mapping[str, Any]) -> str:
    """The awarding body's VC-JWT."""
    issuer = next(s for s in row["signatures"] if s["role"] == "issuer")
    return envelopes.Signature(issuer["protected"], issuer["signature"]).compact(row["payload"])


def jws_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return envelopes.general_json(row["payload"], signatures_of(row))


async def _page(
    conn: Connection, query: str, args: list[Any], cursor: str | None, limit: int, public_url: str
) -> CredentialPage:
    position = decode_cursor(cursor)
    at, key = position if position else (None, None)
    ids = [r["id"] for r in await conn.fetch(query, *args, at, UUID(key) if key else None, limit + 1)]
    rows = [await fetch_row(conn, i) for i in ids[:limit]]
    more = [{"created_at": r["created_at"], "id": r["id"]} for r in rows] + ([{}] if len(ids) > limit else [])
    return CredentialPage(items=[to_record(r, public_url) for r in rows], next_cursor=next_cursor(more, limit))


async def list_credentials(
    db: Database,
    organisation_id: UUID,
    *,
    state: str | None,
    learner_id: UUID | None,
    programme_id: UUID | None,
    cursor: str | None,
    limit: int,
    public_url: str,
) -> CredentialPage:
    """Credentials the organisation awarded, assessed or co-signs, newest first."""
    async with db.connection() as conn:
        return await _page(
            conn, q.list_for_organisation, [organisation_id, state, learner_id, programme_id], cursor, limit, public_url
        )


async def cosign_queue(
    db: Database,
    organisation_id: UUID,
    *,
    programme_id: UUID | None,
    provider_id: UUID | None,
    cursor: str | None,
    limit: int,
    public_url: str,
) -> CredentialPage:
    """What waits for this organisation's co-signature, oldest first."""
    async with db.connection() as conn:
        return await _page(
            conn, q.cosign_queue, [organisation_id, programme_id, provider_id], cursor, limit, public_url
        )


# --- Co-signing -------------------------------------------------------------------------------


async def _locked(w: Write, credential_id: UUID) -> Mapping[str, Any]:
    row: Mapping[str, Any] | None = await w.conn.fetchrow(q.lock_credential, credential_id)
    if row is None:
        raise NotFound(f"there is no credential {credential_id}")
    return row


def _require(
    principal: Principal, row: Mapping[str, Any], organisation_id: UUID | None, roles: frozenset[Role], duty: str
) -> UUID:
    """The caller acts for ``organisation_id`` (its part in this credential) with one of ``roles``. Outsiders
    get NotFound, parties to the credential in another capacity Forbidden, naming the ``duty``."""
    if organisation_id is None or (not principal.roles_in(organisation_id) and not principal.is_operator):
        require_party(principal, row)
        raise Forbidden(f"only {duty}")
    principal.require_role(organisation_id, roles)
    return organisation_id


async def _cosign_one(w: Write, principal: Principal, row: Mapping[str, Any], context: HandlerContext) -> str:
    cosigner = row["cosigner_id"]
    _require(principal, row, cosigner, SIGNATORY, "the co-signer's signatories co-sign a credential")
    principal.require_second_factor(cosigner, "co-sign a credential")
    if row["state"] == "issued":
        return "already_cosigned"
    if row["state"] != "awaiting_cosignature":
        raise Conflict(f"credential {row['id']} is {row['state']}, not awaiting a co-signature")
    key = await ensure_signing_key(w.conn, context.master_key, cosigner)
    token = await envelopes.sign(key, row["payload"], did_web(context.public_url, cosigner))
    signature = envelopes.Signature.from_compact(token)
    await w.conn.execute(
        issuing.q.insert_signature,
        row["id"],
        cosigner,
        "cosigner",
        key.kid,
        signature.protected,
        signature.signature,
        w.actor.person_id,
        w.actor.client_id,
    )
    await w.conn.execute(q.set_state, row["id"], "issued")
    await w.audit("credential.cosigned", "credential", row["id"], cosigner, {"kid": key.kid})
    await issuing.emit(w, "credential.cosigned", row, state="issued")
    if row["kind"] == "qualification":
        await issuing.emit(w, "qualification.awarded", row, state="issued")
    return "cosigned"


async def cosign(
    db: Database,
    principal: Principal,
    credential_id: UUID,
    context: HandlerContext,
    *,
    public_url: str,
    idempotency: IdempotencyKey | None = None,
    dispatcher: EventDispatcher | None = None,
) -> Credential:
    async with write(db, principal.actor(), idempotency=idempotency, dispatcher=dispatcher) as w:
        if w.replayed is not None:
            return w.replay(Credential)
        await _cosign_one(w, principal, await _locked(w, credential_id), context)
        record = to_record(await fetch_row(w.conn, credential_id), public_url)
        await w.remember(record)
    return record


async def cosign_batch(
    db: Database,
    principal: Principal,
    organisation_id: UUID,
    credential_ids: list[UUID],
    context: HandlerContext,
    *,
    dispatcher: EventDispatcher | None = None,
) -> BatchResult:
    """Co-signs each credential in its own transaction: one that cannot be signed does not stop the rest."""
    items = []
    for credential_id in dict.fromkeys(credential_ids):
        try:
            async with write(db, principal.actor(), dispatcher=dispatcher) as w:
                row = await _locked(w, credential_id)
                if row["cosigner_id"] != organisation_id:
                    raise NotFound(f"credential {credential_id} does not wait for organisation {organisation_id}")
                outcome = await _cosign_one(w, principal, row, context)
            items.append(BatchItem(credential_id=credential_id, outcome=outcome))  # type: ignore[arg-type]
        except (NotFound, Conflict, Forbidden) as exc:
            items.append(BatchItem(credential_id=credential_id, outcome="refused", problem=str(exc)))
    return BatchResult(items=items)


async def refuse_cosignature(
    db: Database,
    principal: Principal,
    credential_id: UUID,
    reason: str,
    *,
    public_url: str,
    dispatcher: EventDispatcher | None = None,
) -> Credential:
    async with write(db, principal.actor(), dispatcher=dispatcher) as w:
        row = await _locked(w, credential_id)
        _require(principal, row, row["cosigner_id"], SIGNATORY, "the co-signer's signatories refuse to co-sign")
        if row["state"] != "awaiting_cosignature":
            raise Conflict(f"credential {credential_id} is {row['state']}, not awaiting a co-signature")
        await w.conn.execute(q.refuse_cosignature, credential_id, reason)
        await _published_as_not_valid(w, row)
        await w.audit("credential.cosign_refused", "credential", credential_id, row["cosigner_id"], {"reason": reason})
        await issuing.emit(w, "credential.cosign_refused", row, reason=reason)
        return to_record(await fetch_row(w.conn, credential_id), public_url)


async def _published_as_not_valid(w: Write, row: Mapping[str, Any]) -> None:
    """Sets the credential's bit in its published revocation list: a refused or withdrawn co-signature is
    final, and a copy of the credential handed out earlier must fail every verifier's status check, not
    only ours. The record keeps its state (not ``revoked``: the awarding body did not revoke it)."""
    if row["signed"]:
        await status_lists.set_status(
            w.conn, row["awarding_body_id"], row["status_number"], row["status_index"], "revocation", True
        )


# --- Revoking, suspending, reinstating ----------------------------------------------------------


async def revoke(
    db: Database,
    principal: Principal,
    credential_id: UUID,
    reason: str,
    *,
    public_url: str,
    dispatcher: EventDispatcher | None = None,
) -> Credential:
    """The awarding body revokes the credential; the co-signer withdraws its own signature."""
    async with write(db, principal.actor(), dispatcher=dispatcher) as w:
        row = await _locked(w, credential_id)
        acting = _acting_party(principal, row)
        principal.require_second_factor(acting, "revoke a credential or withdraw a signature")
        if acting == row["awarding_body_id"]:
            if row["state"] == "revoked":
                raise Conflict(f"credential {credential_id} is already revoked")
            await issuing.revoke(w, credential_id, reason)
        else:
            withdrawn = await w.conn.fetchval(q.withdraw_signature, credential_id, acting, reason)
            if withdrawn is None:
                raise Conflict(f"organisation {acting} has no standing signature on credential {credential_id}")
            await _published_as_not_valid(w, row)
            await w.audit("credential.cosignature_withdrawn", "credential", credential_id, acting, {"reason": reason})
            await issuing.emit(w, "credential.revoked", row, reason=reason, withdrawnBy=str(acting))
        return to_record(await fetch_row(w.conn, credential_id), public_url)


def _acting_party(principal: Principal, row: Mapping[str, Any]) -> UUID:
    parties: tuple[UUID | None, ...] = (row["awarding_body_id"], row["cosigner_id"])
    for org in parties:
        if org is not None and (principal.roles_in(org) or principal.is_operator):
            principal.require_role(org, REVOKERS)
            return org
    require_party(principal, row)
    raise Forbidden("only the awarding body (or the co-signer, for its own signature) may revoke a credential")


async def set_suspended(
    db: Database,
    principal: Principal,
    credential_id: UUID,
    suspended: bool,
    reason: str | None,
    *,
    public_url: str,
    dispatcher: EventDispatcher | None = None,
) -> Credential:
    async with write(db, principal.actor(), dispatcher=dispatcher) as w:
        row = await _locked(w, credential_id)
        awarding = _require(
            principal, row, row["awarding_body_id"], REVOKERS, "the awarding body suspends and reinstates a credential"
        )
        if not row["signed"] or row["state"] in ("revoked", "cosign_refused"):
            raise Conflict(f"credential {credential_id} is {row['state']}; only a signed, live credential is suspended")
        if row["suspended"] == suspended:
            raise Conflict(f"credential {credential_id} is {'already' if suspended else 'not'} suspended")
        await status_lists.set_status(
            w.conn, awarding, row["status_number"], row["status_index"], "suspension", suspended
        )
        await w.conn.execute(q.set_suspension, credential_id, suspended, reason)
        action = "credential.suspended" if suspended else "credential.reinstated"
        await w.audit(action, "credential", credential_id, awarding, {"reason": reason})
        await issuing.emit(w, action, row, reason=reason)
        return to_record(await fetch_row(w.conn, credential_id), public_url)


# --- Holding, releasing, re-issuing --------------------------------------------------------------


def _require_provider(principal: Principal, provider_id: UUID) -> None:
    principal.require_role(provider_id, ISSUERS)


async def hold(
    db: Database, principal: Principal, provider_id: UUID, programme_id: UUID, reason: str | None
) -> IssuingHold:
    _require_provider(principal, provider_id)
    async with write(db, principal.actor()) as w:
        if not await w.conn.fetchval(q.programme_visible_to, programme_id, provider_id):
            raise NotFound(f"there is no programme {programme_id}")
        row = await w.conn.fetchrow(q.hold, provider_id, programme_id, reason)
        await w.audit("issuing.held", "programme", programme_id, provider_id, {"reason": reason})
    return IssuingHold(
        provider_id=provider_id, programme_id=programme_id, reason=row["reason"], created_at=row["created_at"]
    )


async def holds(db: Database, provider_id: UUID) -> IssuingHoldList:
    async with db.connection() as conn:
        rows = await conn.fetch(q.holds, provider_id)
    return IssuingHoldList(
        items=[
            IssuingHold(
                provider_id=r["provider_id"],
                programme_id=r["design_id"],
                reason=r["reason"],
                created_at=r["created_at"],
            )
            for r in rows
        ]
    )


async def release_hold(
    db: Database,
    principal: Principal,
    provider_id: UUID,
    programme_id: UUID,
    context: HandlerContext,
    *,
    dispatcher: EventDispatcher | None = None,
) -> ReleaseResult:
    """Lifts the hold and signs what it held: the first ``RELEASE_NOW`` here, the rest in the worker."""
    _require_provider(principal, provider_id)
    async with write(db, principal.actor(), dispatcher=dispatcher) as w:
        if await w.conn.fetchval(q.release_hold, provider_id, programme_id) is None:
            raise NotFound(f"issuing of programme {programme_id} is not held")
        await w.audit("issuing.released", "programme", programme_id, provider_id)
        held = [r["id"] for r in await w.conn.fetch(q.held_credentials, provider_id, programme_id, RELEASE_NOW + 1)]
        for credential_id in held[:RELEASE_NOW]:
            await issuing.sign(w, credential_id, context)
        remaining = len(held) > RELEASE_NOW
        if remaining:
            await w.emit(
                "credentials.release_requested",
                f"programme/{programme_id}",
                provider_id,
                {"providerId": str(provider_id), "programmeId": str(programme_id)},
            )
    return ReleaseResult(programme_id=programme_id, released=min(len(held), RELEASE_NOW), remaining=int(remaining))


async def release_one(
    db: Database,
    principal: Principal,
    credential_id: UUID,
    context: HandlerContext,
    *,
    public_url: str,
    dispatcher: EventDispatcher | None = None,
) -> Credential:
    async with write(db, principal.actor(), dispatcher=dispatcher) as w:
        row = await _locked(w, credential_id)
        _require(principal, row, row["provider_id"], ISSUERS, "the assessing provider releases a held credential")
        if row["state"] != "held":
            raise Conflict(f"credential {credential_id} is {row['state']}, not held")
        await issuing.sign(w, credential_id, context)
        return to_record(await fetch_row(w.conn, credential_id), public_url)


async def reissue(
    db: Database,
    principal: Principal,
    credential_id: UUID,
    reason: str,
    context: HandlerContext,
    *,
    public_url: str,
    idempotency: IdempotencyKey | None = None,
    dispatcher: EventDispatcher | None = None,
) -> Credential:
    """A new credential for the same decision, replacing this one, which is revoked with ``reason``."""
    async with write(db, principal.actor(), idempotency=idempotency, dispatcher=dispatcher) as w:
        if w.replayed is not None:
            return w.replay(Credential)
        row = await _locked(w, credential_id)
        _require(principal, row, row["provider_id"], ISSUERS, "the assessing provider re-issues a credential")
        if row["state"] == "revoked":
            raise Conflict(f"credential {credential_id} is revoked; re-issue the credential that replaced it, if any")
        if row["state"] == "held":
            raise InvalidInput(f"credential {credential_id} is held: release it instead")
        content = facts.published_content(row["version_id"], issuing.design_kind(row), row["content"])
        new_id = await issuing.create(
            w,
            kind=row["kind"],
            issuance_key=f"reissue:{credential_id}",
            learner_id=row["learner_id"],
            provider_id=row["provider_id"],
            content=content,
            design_id=row["design_id"],
            version_id=row["version_id"],
            unit_key=row["unit_key"],
            attempt_id=row["attempt_id"],
            stands_on=list(row["stands_on"]),
            context=context,
            replaces=credential_id,
        )
        assert new_id is not None  # the old one was not revoked, so it was never re-issued
        await issuing.revoke(w, credential_id, f"replaced by credential {new_id}: {reason}")
        record = to_record(await fetch_row(w.conn, new_id), public_url)
        await w.remember(record)
    return record
