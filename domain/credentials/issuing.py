"""Issuing: a passing decision becomes exactly one credential, signed by the awarding body.

The outbox handler of ``attempt.passed`` runs in the event's transaction, and the credential's
``issuance_key`` is unique: a job run twice, two workers racing, or a worker that died half-way (its
transaction rolled back) all end with one credential per passing decision. A Redis outage only
delays the job; the outbox sweep dispatches it later.

A credential is first a row in state ``held``; signing fills in its payload and moves it on to
``awaiting_cosignature`` (the programme names a co-signer) or ``issued``. A provider that holds
issuing for a programme leaves its new credentials ``held`` until it releases them.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain import outbox
from domain.credentials import envelopes, facts, status_lists
from domain.credentials.document import achievement_credential
from domain.credentials.keys import did_web, ensure_signing_key
from domain.designs.content import ProgrammeContent
from domain.outbox import HandlerContext
from domain.sql import load_queries
from domain.writes import Write

q = load_queries(__file__, "issuing.sql")
log = logging.getLogger(__name__)


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def audience(row: Mapping[str, Any]) -> list[str]:
    """The organisations that may see a credential's events: awarding body, provider, co-signer."""
    ids = [row["awarding_body_id"], row["provider_id"], row.get("cosigner_id")]
    return list(dict.fromkeys(str(i) for i in ids if i is not None))


def event_payload(row: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "credentialId": str(row["id"]),
        "kind": row["kind"],
        "learnerId": str(row["learner_id"]),
        "programmeId": str(row["design_id"]),
        "unitKey": row["unit_key"],
        "audience": audience(row),
        **extra,
    }


async def emit(w: Write, topic: str, row: Mapping[str, Any], **extra: Any) -> None:
    await w.emit(topic, f"credential/{row['id']}", row["awarding_body_id"], event_payload(row, **extra))
    # In a worker's handler the events follow up after the handler's transaction; in a request (co-signing,
    # revoking, suspending ...) they stay with the write, which dispatches them when it commits.
    if outbox.follow_up(w.event_ids):
        w.event_ids.clear()


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def sign(w: Write, credential_id: UUID, context: HandlerContext) -> str | None:
    """Signs a held credential as its awarding body; returns its new state (None: it was not held)."""
    conn = w.conn
    row = await conn.fetchrow(q.credential_for_signing, credential_id)
    if row is None or row["state"] != "held":
        return None
    key = await ensure_signing_key(conn, context.master_key, row["awarding_body_id"])
    slot = await status_lists.allocate(conn, row["awarding_body_id"])
    issued_at = _now()
    content = facts.published_content(row["version_id"], design_kind(row), row["content"])
    valid_until = add_months(issued_at, content.validity_months) if content.validity_months else None
    credential_facts = await facts.load(
        conn,
        row,
        public_url=context.public_url,
        issued_at=issued_at,
        valid_until=valid_until,
        credential_status=status_lists.credential_status(context.public_url, slot),
    )
    payload = envelopes.encode_payload(achievement_credential(credential_facts, context.public_url))
    token = await envelopes.sign(key, payload, did_web(context.public_url, row["awarding_body_id"]))
    signature = envelopes.Signature.from_compact(token)
    await conn.execute(
        q.insert_signature,
        credential_id,
        row["awarding_body_id"],
        "issuer",
        key.kid,
        signature.protected,
        signature.signature,
        w.actor.person_id,
        w.actor.client_id,
    )
    state = "awaiting_cosignature" if row["cosigner_id"] is not None else "issued"
    await conn.execute(q.mark_signed, credential_id, state, payload, slot.number, slot.index, issued_at, valid_until)
    await w.audit(f"credential.{state}", "credential", credential_id, row["awarding_body_id"], {"kid": key.kid})
    topic = "credential.issued" if state == "issued" else "credential.awaiting_cosignature"
    await emit(w, topic, row, state=state)
    if row["kind"] == "qualification" and state == "issued":
        await emit(w, "qualification.awarded", row, state=state)
    return state


def design_kind(row: Mapping[str, Any]) -> str:
    return "qualification" if row["kind"] == "qualification" else "programme"


async def create(
    w: Write,
    *,
    kind: str,
    issuance_key: str,
    learner_id: UUID,
    provider_id: UUID,
    content: Any,
    design_id: UUID,
    version_id: UUID,
    unit_key: str | None,
    attempt_id: UUID | None,
    stands_on: list[UUID],
    context: HandlerContext,
    replaces: UUID | None = None,
    renews: UUID | None = None,
) -> UUID | None:
    """A new credential, signed at once unless the provider holds issuing; None when it already exists
    or the learner was erased (an event still queued at the erasure must not issue in their name)."""
    if await w.conn.fetchval(q.learner_erased, learner_id):
        return None
    credential_id: UUID | None = await w.conn.fetchval(
        q.insert_credential,
        kind,
        issuance_key,
        learner_id,
        provider_id,
        content.awarding_body_id or provider_id,
        content.cosigner_id,
        design_id,
        version_id,
        unit_key,
        attempt_id,
        stands_on,
        replaces,
        renews,
    )
    if credential_id is None:
        return None
    if await w.conn.fetchval(q.is_held, provider_id, design_id):
        await w.audit("credential.held", "credential", credential_id, provider_id, {"issuanceKey": issuance_key})
        return credential_id
    await sign(w, credential_id, context)
    return credential_id


async def revoke(w: Write, credential_id: UUID, reason: str) -> bool:
    """Revokes a credential (its status bit too, when it was signed); False when it already was."""
    row = await w.conn.fetchrow(q.revoke, credential_id, reason)
    if row is None:
        return False
    if row["signed"]:
        await status_lists.set_status(
            w.conn, row["awarding_body_id"], row["status_number"], row["status_index"], "revocation", True
        )
    await w.audit("credential.revoked", "credential", credential_id, row["awarding_body_id"], {"reason": reason})
    await emit(w, "credential.revoked", row, reason=reason)
    return True


async def lock_achievement(w: Write, attempt_id: UUID) -> None:
    """Serialises what decides a learner's credentials for one programme (passes, corrections): each
    handler then reads what the other committed (statements after the lock see a fresh snapshot)."""
    await w.conn.execute(q.lock_achievement, attempt_id)


async def issue_for_attempt(w: Write, attempt_id: UUID, context: HandlerContext) -> UUID | None:
    """The unit credential of a passing attempt (and the programme's, when this completes it)."""
    await lock_achievement(w, attempt_id)
    attempt = await w.conn.fetchrow(q.attempt_for_issuing, attempt_id)
    if attempt is None or not attempt["passed"] or attempt["corrected_by"] is not None:
        return None  # a later correction decides, with its own event
    content = facts.published_content(attempt["version_id"], "programme", attempt["content"])
    assert isinstance(content, ProgrammeContent)
    unit = facts.unit_of(content, attempt["unit_key"])
    replaces = None
    if attempt["corrects_attempt_id"] is not None:
        earlier = await w.conn.fetchrow(q.credential_of_attempt_chain, attempt["corrects_attempt_id"])
        if earlier is not None:
            replaces = earlier["id"]
    renews = None
    if replaces is None:
        held = await w.conn.fetchrow(
            q.live_credential_for_achievement, attempt["learner_id"], attempt["design_id"], attempt["unit_key"]
        )
        if held is not None:
            if held["valid_until"] is None or held["valid_until"] > _now():
                log.info("learner %s already holds credential %s for this unit", attempt["learner_id"], held["id"])
                return None
            renews = held["id"]  # expired: a new pass renews it
    credential_id = None
    if unit is not None and unit.certifiable_alone:
        credential_id = await create(
            w,
            kind="unit",
            issuance_key=f"attempt:{attempt_id}",
            learner_id=attempt["learner_id"],
            provider_id=attempt["provider_id"],
            content=content,
            design_id=attempt["design_id"],
            version_id=attempt["version_id"],
            unit_key=attempt["unit_key"],
            attempt_id=attempt_id,
            stands_on=[],
            context=context,
            replaces=replaces,
            renews=renews,
        )
        if credential_id is not None and replaces is not None:
            await revoke(w, replaces, f"replaced by credential {credential_id}: the decision was corrected")
    return credential_id


async def revoke_for_failed_correction(w: Write, attempt_id: UUID, corrected: UUID) -> None:
    """A correction that turns a pass into a fail revokes what the pass earned."""
    await lock_achievement(w, attempt_id)
    earlier = await w.conn.fetchrow(q.credential_of_attempt_chain, corrected)
    if earlier is not None:
        await revoke(w, earlier["id"], f"the decision was corrected to a fail by attempt {attempt_id}")
