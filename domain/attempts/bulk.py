"""Bulk uploads of results: many attempts at once, as JSON or CSV, each row checked by the rules of a single
attempt, the accepted ones stored, every rejected one named with its reason.

- The same upload twice (the same bytes) is the same batch: the second answer is the first batch's report.
- A row recorded before, in any batch, is recorded once: its dedupe key (``bulk_checks.dedupe_key``) finds
  the earlier attempt, and the report lists it under ``alreadyRecorded``.
- Up to ``INLINE_LIMIT`` rows are decided in the request. Larger batches are stored with their rows and
  decided by the worker in chunks of about ``CHUNK_SIZE`` rows: one outbox event ``results.batch_uploaded``
  per chunk, each chunk decided and committed in its event's transaction, so progress can be polled and a
  crashed worker loses at most the chunk it was deciding (which runs again). Chunks keep each learner's rows
  together, so they may run in any order, side by side.

Cost: per chunk, two queries fetch its context (``chunk_context``, ``chunk_usage``), the engine runs in
Python, and one ``INSERT … SELECT FROM unnest(…)`` stores its attempts, another their outbox events
(``attempt.recorded`` and ``attempt.passed``/``attempt.failed``, as for a single attempt). A batch decided in
the request hands those events to the queue in one job after commit; the worker, which has no queue at hand
in an outbox handler, leaves its chunks' events to its sweep.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from assessment.specification import SimulationSpecification
from domain.attempts.bulk_checks import (
    Accepted,
    Candidate,
    Checker,
    ChunkContext,
    Duplicate,
    Outcome,
    Rejected,
    Slot,
    Usage,
)
from domain.attempts.bulk_models import ResultBatch, RowOutcome, report
from domain.attempts.bulk_rows import BulkRow, Format, ParsedBatch, chunks, rows_from_json
from domain.attempts.csv_rows import rows_from_csv
from domain.db import Connection, Database
from domain.errors import NotFound
from domain.outbox import OutboxEvent, follow_up, register
from domain.sql import load_queries
from domain.writes import Actor, EventDispatcher, Write, write

q = load_queries(__file__, "bulk.sql")
log = logging.getLogger(__name__)

INLINE_LIMIT = 1_000  # rows decided within the request; a larger batch goes to the worker
CHUNK_SIZE = 1_000  # rows per chunk: one transaction each, so progress shows and a crash costs one chunk
GIVE_UP_AFTER = 5  # failed tries of a chunk before its rows are reported unprocessed and the batch failed
BATCH_TOPIC = "results.batch_uploaded"


@dataclass(frozen=True)
class Upload:
    batch: ResultBatch
    replayed: bool  # the same upload was received before: this is that batch


def fingerprint(format: Format, body: bytes) -> str:
    return hashlib.sha256(format.encode() + b"\n" + body).hexdigest()


def parse(format: Format, body: bytes) -> ParsedBatch:
    return rows_from_json(body) if format == "json" else rows_from_csv(body)


async def upload(
    db: Database,
    actor: Actor,
    provider_id: UUID,
    format: Format,
    body: bytes,
    *,
    dispatcher: EventDispatcher | None = None,
    inline_limit: int | None = None,
) -> Upload:
    """Receives a batch: decides it now (up to ``inline_limit`` rows) or queues it for the worker."""
    upload_fingerprint = fingerprint(format, body)
    async with db.connection() as conn:  # a re-sent batch is answered without reading it again
        known = await conn.fetchval(q.batch_by_fingerprint, provider_id, upload_fingerprint)
        if known is not None:
            return Upload(await fetch_batch(conn, provider_id, known), replayed=True)
    parsed = parse(format, body)
    limit = INLINE_LIMIT if inline_limit is None else inline_limit
    inline = parsed.rows_total <= limit
    groups = [] if inline else chunks(parsed.rows, CHUNK_SIZE)
    async with write(db, actor, dispatcher=dispatcher) as w:
        try:
            batch_id = await w.conn.fetchval(
                q.insert_batch,
                provider_id,
                format,
                upload_fingerprint,
                "running" if inline else "queued",
                parsed.rows_total,
                groups,
                actor.client_id,
                actor.person_id,
            )
        except asyncpg.ForeignKeyViolationError as exc:  # the provider is the only reference
            raise NotFound(f"there is no organisation {provider_id}") from exc
        if batch_id is None:  # the same batch, uploaded at the same moment, won
            known = await w.conn.fetchval(q.batch_by_fingerprint, provider_id, upload_fingerprint)
            return Upload(await fetch_batch(w.conn, provider_id, known), replayed=True)
        if inline:
            outcomes = await decide_chunk(w, provider_id, batch_id, parsed.rows)
            await _finish(w, provider_id, batch_id, outcomes)
        chunk_events = await _emit_chunks(w.conn, provider_id, batch_id, len(groups))
        batch = await fetch_batch(w.conn, provider_id, batch_id)
    dispatcher = dispatcher or db.dispatcher
    if dispatcher is not None:
        await _dispatch_each(dispatcher, chunk_events)
    return Upload(batch, replayed=False)


async def _emit_chunks(conn: Connection, provider_id: UUID, batch_id: UUID, count: int) -> list[int]:
    """One ``results.batch_uploaded`` event per chunk, in the upload's transaction."""
    if not count:
        return []
    payloads = [
        msgspec.json.encode({"batchId": str(batch_id), "chunk": i, "chunks": count}).decode() for i in range(count)
    ]
    rows = await conn.fetch(
        q.insert_events, provider_id, [BATCH_TOPIC] * count, [f"result-batch/{batch_id}"] * count, payloads
    )
    return [row["id"] for row in rows]


async def _dispatch_each(dispatcher: EventDispatcher, event_ids: list[int]) -> None:
    """A job per chunk, so that several workers (or one worker's concurrent jobs) decide chunks side by side;
    a dispatch that fails is the sweep's to repeat."""
    for event_id in event_ids:
        try:
            await dispatcher.dispatch([event_id])
        except Exception:
            log.warning("could not dispatch chunk event %s now; the sweep will", event_id, exc_info=True)


async def fetch_batch(conn: Connection, provider_id: UUID, batch_id: UUID) -> ResultBatch:
    record = await conn.fetchrow(q.select_batch, provider_id, batch_id)
    if record is None:
        raise NotFound(f"there is no result batch {batch_id} at this provider")
    outcomes = record["outcomes"]
    return report(record, None if outcomes is None else msgspec.convert(outcomes, list[RowOutcome]))


async def get_batch(db: Database, provider_id: UUID, batch_id: UUID) -> ResultBatch:
    async with db.connection() as conn:
        return await fetch_batch(conn, provider_id, batch_id)


@register(BATCH_TOPIC)
async def decide_queued_chunk(conn: Connection, event: OutboxEvent) -> None:
    """The worker's part: decides one chunk of a queued batch in the event's transaction."""
    batch_id, index = UUID(event.payload["batchId"]), int(event.payload["chunk"])
    record = await conn.fetchrow(q.chunk_rows, batch_id, index)
    if record is None or record["rows"] is None:
        log.warning("result batch %s has no chunk %s to decide", batch_id, index)
        return
    rows = msgspec.json.decode(record["rows"], type=list[BulkRow])
    # The uploader's name is on every attempt and on the audit entry, as if the request had decided them.
    actor = Actor(
        client_id=record["recorded_by_client"],
        person_id=record["recorded_by_person"],
        request_id=f"result-batch/{batch_id}",
    )
    w = Write(conn=conn, actor=actor)
    if event.attempts >= GIVE_UP_AFTER:
        reason = f"not decided: deciding this part of the batch failed {event.attempts} times; send the row again"
        outcomes: list[Outcome] = [Rejected(row, reason, unprocessed=True) for row in rows]
    else:
        outcomes = await decide_chunk(w, record["provider_id"], batch_id, rows)
    await _finish(w, record["provider_id"], batch_id, outcomes)
    follow_up(w.event_ids)  # the attempts' events: dispatched when this chunk commits


async def decide_chunk(w: Write, provider_id: UUID, batch_id: UUID, rows: list[BulkRow]) -> list[Outcome]:
    """Checks, decides and stores one chunk's rows; the caller's transaction holds it all."""
    assessors = {r.assessor_person_id for r in rows if r.assessor_person_id} | (
        {w.actor.person_id} if w.actor.person_id else set()
    )
    context = await w.conn.fetchrow(
        q.chunk_context,
        provider_id,
        list({r.learner_id for r in rows if r.learner_id}),
        [r.scheme for r in rows if r.scheme],
        [r.value for r in rows if r.scheme],
        list(assessors),
    )
    checker = Checker(provider_id, ChunkContext.from_record(context), w.actor.person_id)
    items = [checker.check(row) for row in rows]
    usage = await _usage(w.conn, provider_id, [i for i in items if isinstance(i, Candidate)])
    return await _store(w, provider_id, batch_id, checker.decide(items, usage))


async def _usage(conn: Connection, provider_id: UUID, candidates: list[Candidate]) -> Usage:
    simulated = {c.slot for c in candidates if isinstance(c.specification, SimulationSpecification)}
    record = await conn.fetchrow(
        q.chunk_usage,
        list({c.enrolment.learner_id for c in candidates}),
        [s[0] for s in simulated],
        [s[1] for s in simulated],
        [s[2] for s in simulated],
        provider_id,
        [c.dedupe_key for c in candidates],
    )
    return Usage(
        attempts_used={_slot(lr, v, u): n for lr, v, u, n in record["used"]},
        latest={_slot(lr, v, u): submission for lr, v, u, submission in record["latest"]},
        existing={key: UUID(attempt) for key, attempt in record["existing"].items()},
    )


def _slot(learner: str, version: str, unit: str) -> Slot:
    return UUID(learner), UUID(version), unit


async def _store(w: Write, provider_id: UUID, batch_id: UUID, outcomes: list[Outcome]) -> list[Outcome]:
    """Inserts the accepted attempts and their events; one recorded meanwhile by another transaction (a race
    on the same dedupe key) becomes a duplicate of that attempt."""
    accepted = [o for o in outcomes if isinstance(o, Accepted)]
    if not accepted:
        return outcomes
    columns: list[list[Any]] = [[] for _ in range(15)]
    for a in accepted:
        c, row = a.candidate, a.candidate.row
        values = (
            a.attempt_id, c.enrolment.learner_id, c.enrolment.id, c.enrolment.version_id, c.unit_key,
            a.attempt_number, c.assessor_person_id, row.assessed_at, row.place, row.supervision,
            a.submission_json, msgspec.json.encode(row.evidence).decode(), a.decision_json, a.passed, c.dedupe_key,
        )  # fmt: skip
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    inserted = {
        r["id"]
        for r in await w.conn.fetch(
            q.insert_attempts, provider_id, batch_id, w.actor.client_id, w.actor.person_id, *columns
        )
    }
    if len(inserted) < len(accepted):
        lost = [a.candidate.dedupe_key for a in accepted if a.attempt_id not in inserted]
        found = {r["dedupe_key"]: r["id"] for r in await w.conn.fetch(q.attempts_by_dedupe_key, provider_id, lost)}
        outcomes = [
            Duplicate(o.candidate.row, found[o.candidate.dedupe_key])
            if isinstance(o, Accepted) and o.attempt_id not in inserted
            else o
            for o in outcomes
        ]
    # Dispatched after commit: by the request's write (one job), or in the worker as the handler's follow-ups.
    w.event_ids.extend(await _emit(w.conn, provider_id, [a for a in accepted if a.attempt_id in inserted]))
    return outcomes


async def _emit(conn: Connection, provider_id: UUID, accepted: list[Accepted]) -> list[int]:
    """``attempt.recorded`` and ``attempt.passed``/``attempt.failed`` per attempt, as ``record()`` emits them."""
    topics: list[str] = []
    subjects: list[str] = []
    payloads: list[str] = []
    for a in accepted:
        c = a.candidate
        payload = msgspec.json.encode(
            {
                "attemptId": str(a.attempt_id),
                "learnerId": str(c.enrolment.learner_id),
                "providerId": str(provider_id),
                "programmeId": str(c.enrolment.programme_id),
                "versionNumber": c.enrolment.version_number,
                "unitKey": c.unit_key,
                "passed": a.passed,
                "score": a.score,
                "correctsAttemptId": None,
            }
        ).decode()
        subject = f"learner/{c.enrolment.learner_id}/{c.enrolment.programme_id}/{c.unit_key}"
        topics += ["attempt.recorded", "attempt.passed" if a.passed else "attempt.failed"]
        subjects += [subject, subject]
        payloads += [payload, payload]
    if not topics:
        return []
    return [row["id"] for row in await conn.fetch(q.insert_events, provider_id, topics, subjects, payloads)]


async def _finish(w: Write, provider_id: UUID, batch_id: UUID, outcomes: list[Outcome]) -> None:
    """Adds the chunk's outcomes to the batch; the chunk that completes it writes the batch's audit entry."""
    stored: list[RowOutcome] = []
    done = accepted = rejected = 0
    gave_up = False
    for o in outcomes:
        rows = o.candidate.row.all_rows() if isinstance(o, Accepted) else o.row.all_rows()
        first, listed = rows[0], (rows if len(rows) > 1 else None)
        done += len(rows)
        if isinstance(o, Accepted):
            accepted += len(rows)
            stored.append(RowOutcome(row=first, rows=listed, attempt_id=o.attempt_id, passed=o.passed))
        elif isinstance(o, Duplicate):
            stored.append(RowOutcome(row=first, rows=listed, duplicate_of=o.attempt_id))
        else:
            rejected += len(rows)
            gave_up = gave_up or o.unprocessed
            stored.append(RowOutcome(row=first, rows=listed, reason=o.reason, unprocessed=o.unprocessed))
    batch = await w.conn.fetchrow(q.finish_chunk, batch_id, done, accepted, rejected, stored, gave_up)
    if batch["status"] in ("done", "failed"):
        await w.audit(
            "results.uploaded",
            "result_batch",
            batch_id,
            provider_id,
            {
                "status": batch["status"],
                "rowsTotal": batch["rows_total"],
                "accepted": batch["accepted"],
                "rejected": batch["rejected"],
                "alreadyRecorded": batch["rows_done"] - batch["accepted"] - batch["rejected"],
            },
        )
