"""Attempts as the API offers them: record one, correct one, read them."""

from __future__ import annotations

from uuid import UUID

import msgspec

from domain.attempts.models import Attempt, AttemptCreate, AttemptPage, CorrectionCreate
from domain.attempts.recording import AuditEntry, Recording, fetch_attempt, record, record_known, recorded_answer
from domain.db import Database
from domain.errors import Conflict, NotFound
from domain.pagination import decode_cursor, next_cursor
from domain.sql import load_queries
from domain.structs import from_row
from domain.writes import Actor, EventDispatcher, IdempotencyKey, write

q = load_queries(__file__)


async def get_attempt(db: Database, provider_id: UUID, attempt_id: UUID) -> Attempt:
    async with db.connection() as conn:
        return await fetch_attempt(conn, provider_id, attempt_id)


async def list_attempts(
    db: Database,
    *,
    provider_id: UUID | None = None,
    learner_id: UUID | None = None,
    programme_id: UUID | None = None,
    cursor: str | None,
    limit: int,
) -> AttemptPage:
    after = decode_cursor(cursor)
    async with db.connection() as conn:
        rows = await conn.fetch(
            q.select_attempts,
            provider_id,
            None,
            learner_id,
            programme_id,
            after[0] if after else None,
            after[1] if after else None,
            limit + 1,
        )
    return AttemptPage(items=[from_row(Attempt, r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit))


async def record_attempt(
    db: Database,
    actor: Actor,
    provider_id: UUID,
    data: AttemptCreate,
    *,
    idempotency: IdempotencyKey | None = None,
    dispatcher: EventDispatcher | None = None,
) -> Attempt:
    """Records one attempt; the engine decides at once and the decision is stored with it."""
    recording = Recording(
        provider_id=provider_id,
        learner_id=data.learner_id,
        enrolment_id=data.enrolment_id,
        unit_key=data.unit_key,
        assessed_at=data.assessed_at,
        supervision=data.supervision,
        place=data.place,
        assessor_person_id=data.assessor_person_id or actor.person_id,
        evidence=msgspec.to_builtins(data.evidence),
    )
    audit = AuditEntry("attempt.recorded", {"learnerId": str(data.learner_id)})
    known = await record_known(db, actor, recording, data.submission, audit, dispatcher, idempotency)
    if known is not None:
        return known
    async with write(db, actor, idempotency=idempotency, dispatcher=dispatcher) as w:
        if w.replayed is not None:
            return w.replay(Attempt)
        if w.replayed_record_id is not None:  # a batched recording's key: the attempt is the answer
            return await recorded_answer(w.conn, provider_id, w.replayed_record_id)
        recorded = await record(w, recording, data.submission, audit=audit)
        attempt = recorded.attempt or await fetch_attempt(w.conn, provider_id, recorded.attempt_id)
        await w.remember(attempt)
    return attempt


async def correct_attempt(
    db: Database,
    actor: Actor,
    provider_id: UUID,
    attempt_id: UUID,
    data: CorrectionCreate,
    *,
    dispatcher: EventDispatcher | None = None,
) -> Attempt:
    """Records a correction of an attempt: a new record pointing at it, with a reason."""
    async with write(db, actor, dispatcher=dispatcher) as w:
        original = await w.conn.fetchrow(q.lock_attempt, attempt_id, provider_id)
        if original is None:
            raise NotFound(f"there is no attempt {attempt_id} at this provider")
        if original["corrected"]:
            raise Conflict(f"attempt {attempt_id} has already been corrected; correct the latest correction")
        evidence = msgspec.to_builtins(data.evidence) if data.evidence is not None else original["evidence"]
        recorded = await record(
            w,
            Recording(
                provider_id=provider_id,
                learner_id=original["learner_id"],
                enrolment_id=original["enrolment_id"],
                unit_key=original["unit_key"],
                assessed_at=data.assessed_at or original["assessed_at"],
                supervision=data.supervision or original["supervision"],
                place=original["place"],
                assessor_person_id=actor.person_id or original["assessor_person_id"],
                evidence=evidence,
            ),
            data.submission,
            corrects=attempt_id,
            correction_reason=data.reason,
            attempt_number=original["attempt_number"],
            audit=AuditEntry("attempt.corrected", {"corrects": str(attempt_id), "reason": data.reason}),
        )
        return recorded.attempt or await fetch_attempt(w.conn, provider_id, recorded.attempt_id)
