"""The consumer side of the outbox: handlers per topic, run once per event in the event's own transaction.

Services write events with ``Write.emit`` in the transaction that makes the change; the job queue
only says "event N is ready". Processing locks the row, runs the topic's handlers on the same
connection and marks the row done, all in one transaction, so a handler's writes and the "done"
mark commit together: an event is handled once even when its job runs twice.

A job may carry many events (a write's, or a chunk the sweep hands out). A topic whose handler has a
batch form (``register_batch``) then has its events of the chunk handled together, in one transaction:
the rows are locked at once, the batch handler does set-based what the single handler does per event,
and all are marked done with its writes. Should the batch fail, its events are handled again one by
one, each in its own transaction as above, so one bad event cannot hold back the rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import msgspec

from domain.db import Connection, Database
from domain.sql import load_queries
from domain.writes import EventDispatcher

q = load_queries(__file__, "outbox.sql")
log = logging.getLogger(__name__)

_MAX_ERROR_LENGTH = 2000


class OutboxEvent(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    topic: str
    organisation_id: UUID | None
    subject: str
    payload: Any
    created_at: datetime
    attempts: int  # failed attempts before this one


@dataclass(frozen=True)
class HandlerContext:
    """What handlers that sign need beyond the connection: set once by the worker (``process_event``)."""

    master_key: bytes
    public_url: str
    smtp_url: str | None = None  # where mail goes (domain.mail.sending); None: mail waits
    mail_from: str = "Guildhall <noreply@guildhall.localdomain>"


_context: ContextVar[HandlerContext | None] = ContextVar("outbox_handler_context", default=None)
_follow_ups: ContextVar[list[int] | None] = ContextVar("outbox_follow_ups", default=None)


def follow_up(event_ids: Sequence[int]) -> bool:
    """Events a handler wrote: dispatched as soon as its transaction commits. False outside a handler: the
    caller's own write (``domain.writes.write``) then dispatches them when it commits."""
    pending = _follow_ups.get()
    if pending is None:
        return False
    pending.extend(event_ids)
    return True


def handler_context() -> HandlerContext:
    context = _context.get()
    if context is None:
        raise RuntimeError("this outbox handler needs a HandlerContext: pass context= to process_event")
    return context


Handler = Callable[[Connection, OutboxEvent], Awaitable[None]]
H = TypeVar("H", bound=Handler)

# topic -> handlers, run in registration order. Modules register theirs at import time.
HANDLERS: dict[str, list[Handler]] = {}


def register(topic: str) -> Callable[[H], H]:
    """Decorator: ``@register("credential.requested") async def issue(conn, event): ...``."""

    def decorator(handler: H) -> H:
        HANDLERS.setdefault(topic, []).append(handler)
        return handler

    return decorator


BatchHandler = Callable[[Connection, list[OutboxEvent]], Awaitable[None]]
B = TypeVar("B", bound=BatchHandler)

# topic -> {single-event handler: the batch handler that stands in for it}.
BATCH_HANDLERS: dict[str, dict[Handler, BatchHandler]] = {}


def register_batch(topic: str, replaces: Handler) -> Callable[[B], B]:
    """Decorator: the batch form of the handler ``replaces`` of ``topic``; it gets the events of one chunk
    (in id order, each claimed and not done) on one connection, in one transaction.

    Its effect must be that of ``replaces`` run on each event in turn: the worker uses either. It may call
    ``replaces`` itself for the events it cannot do set-based. Used only while ``replaces`` is registered.
    """

    def decorator(handler: B) -> B:
        BATCH_HANDLERS.setdefault(topic, {})[replaces] = handler
        return handler

    return decorator


def batchable(topic: str) -> bool:
    """True when a handler of ``topic`` has a batch form."""
    forms = BATCH_HANDLERS.get(topic, {})
    return any(handler in forms for handler in HANDLERS.get(topic, []))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_LENGTH]


async def _record_failure(db: Database, event_id: int, exc: BaseException) -> None:
    try:
        async with db.transaction() as conn:
            await conn.execute(q.record_failure, event_id, _describe(exc))
    except Exception:  # the original failure matters more; the next attempt records again
        log.exception("could not record the failure of outbox event %s", event_id)


async def process_event(
    db: Database, event_id: int, context: HandlerContext | None = None, dispatcher: EventDispatcher | None = None
) -> bool:
    """Runs the handlers of one event; False when there is nothing to do (it is done, or another
    worker holds it right now). A handler's failure rolls back everything it wrote, is recorded
    on the row (``attempts``, ``last_error``) and is raised again so that the job is retried."""
    claimed: OutboxEvent | None = None
    token = _context.set(context) if context is not None else None
    follow_ups: list[int] = []
    follow_token = _follow_ups.set(follow_ups)
    try:
        async with db.transaction() as conn:
            row = await conn.fetchrow(q.claim_event, event_id)
            if row is None:
                return False
            claimed = msgspec.convert(row, OutboxEvent)
            for handler in HANDLERS.get(claimed.topic, []):
                await handler(conn, claimed)
            await conn.execute(q.mark_done, event_id)
    except Exception as exc:
        if claimed is not None:
            await _record_failure(db, event_id, exc)
        raise
    finally:
        _follow_ups.reset(follow_token)
        if token is not None:
            _context.reset(token)
    if follow_ups and dispatcher is not None:
        try:
            await dispatcher.dispatch(follow_ups)
        except Exception:  # the sweep will
            log.warning("could not dispatch follow-up events %s now; the sweep will", follow_ups, exc_info=True)
    log.info(
        "outbox event %s (%s) processed", event_id, claimed.topic, extra={"event_id": event_id, "topic": claimed.topic}
    )
    return True


async def drain(db: Database, context: HandlerContext, rounds: int = 10) -> int:
    """Runs every undone event here and now, oldest first, then what those emitted, as the worker would;
    for the demo loader and tests, which need the results before they go on. Returns how many ran."""
    done = 0
    for _ in range(rounds):
        async with db.connection() as conn:
            event_ids = [row["id"] for row in await conn.fetch(q.undone_events)]
        if not event_ids:
            return done
        for event_id in event_ids:
            done += await process_event(db, event_id, context)
    raise RuntimeError(f"the outbox still has undone events after {rounds} rounds")


async def pending_events(
    db: Database,
    older_than: timedelta,
    limit: int = 500,
    grace: timedelta = timedelta(seconds=5),
    live_workers: Sequence[str] | None = None,
) -> list[int]:
    """Events not done whose dispatch is older than ``older_than``, or that were never marked dispatched
    and are older than ``grace`` (the API's own dispatch after commit is not marked): the sweep dispatches
    them again (a Redis outage, a crashed worker, a job that ran out of retries). With ``live_workers``, also
    those marked more than ``grace`` ago by the sweep of a worker not among them (it died, perhaps before its
    jobs reached Redis)."""
    live = list(live_workers) if live_workers is not None else None
    async with db.transaction() as conn:
        rows = await conn.fetch(q.pending_events, older_than, limit, grace, live)
    return [row["id"] for row in rows]


async def mark_dispatched(db: Database, event_ids: Sequence[int], worker_id: str | None = None) -> None:
    """Marks events handed to Redis (by ``worker_id``'s sweep: should it die before they are queued, a later sweep
    takes them again, see ``pending_events``)."""
    if event_ids:
        async with db.connection() as conn:
            await conn.execute(q.mark_dispatched, list(event_ids), worker_id)


# --- Many events at once ---------------------------------------------------------------------------

MIN_BATCH = 2  # fewer events of a batchable topic in a chunk go the single way


async def process_events(
    db: Database,
    event_ids: Sequence[int],
    context: HandlerContext | None = None,
    dispatcher: EventDispatcher | None = None,
    processed: list[int] | None = None,
) -> int:
    """Processes several events, in order; returns how many this call handled (and appends their ids to
    ``processed``). The events of a topic with a batch form go together, at the place of the first of
    them, in one transaction; the others one by one (``process_event``). Events a batch found locked are
    tried once more right after it. A single event's failure is raised at once, as before; a batch that
    fails is handled again event by event, and the first of their failures is raised once all of them were
    tried."""
    processed = [] if processed is None else processed
    for group in await _plan(db, event_ids):
        if len(group) == 1:
            if await process_event(db, group[0], context, dispatcher):
                processed.append(group[0])
            continue
        try:
            handled = await process_batch(db, group, context, dispatcher)
            processed.extend(handled)
            if skipped := sorted(set(group) - set(handled)):
                # Done meanwhile, or locked a moment ago: by a job handling them (it still holds them; nothing
                # happens), or by the sweep marking them dispatched (then nobody would take them for a minute).
                group = skipped
                processed.extend(await process_batch(db, skipped, context, dispatcher))
            continue
        except Exception:
            log.warning("a batch of %d outbox events failed; handling them one by one", len(group), exc_info=True)
        failure: Exception | None = None
        for event_id in group:
            try:
                if await process_event(db, event_id, context, dispatcher):
                    processed.append(event_id)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
    return len(processed)


async def _plan(db: Database, event_ids: Sequence[int]) -> list[list[int]]:
    """The events in groups: a batch per batchable topic with enough pending events, placed where its first
    event was, and every other event on its own."""
    if len(event_ids) < MIN_BATCH:
        return [[event_id] for event_id in event_ids]
    async with db.connection() as conn:
        topics = {row["id"]: row["topic"] for row in await conn.fetch(q.pending_topics, list(event_ids))}
    counts: dict[str, int] = {}
    for topic in topics.values():
        counts[topic] = counts.get(topic, 0) + 1
    batches: dict[str, list[int]] = {}
    groups: list[list[int]] = []
    for event_id in event_ids:
        topic = topics.get(event_id)
        if topic is not None and counts[topic] >= MIN_BATCH and batchable(topic):
            if topic not in batches:
                batches[topic] = []
                groups.append(batches[topic])
            if event_id not in batches[topic]:
                batches[topic].append(event_id)
        else:  # done already, of another topic, or alone: the single way (which skips it if done)
            groups.append([event_id])
    return groups


async def process_batch(
    db: Database,
    event_ids: Sequence[int],
    context: HandlerContext | None = None,
    dispatcher: EventDispatcher | None = None,
) -> list[int]:
    """Handles the events (of one topic) together in one transaction: those not done and not held by another
    worker are claimed and marked done, and the topic's handlers run (a batch form once for all of them, any
    other handler per event). Returns the ids handled; a failure rolls back every one of them."""
    token = _context.set(context) if context is not None else None
    follow_ups: list[int] = []
    follow_token = _follow_ups.set(follow_ups)
    started = time.perf_counter()
    try:
        async with db.transaction() as conn:
            rows = await conn.fetch(q.claim_events, list(event_ids))  # and marks them done
            events = sorted(msgspec.convert(rows, list[OutboxEvent]), key=lambda e: e.id)
            await asyncio.sleep(0)  # a hundred events read: the handlers' work is the event loop's next step
            for topic in dict.fromkeys(e.topic for e in events):
                of_topic = [e for e in events if e.topic == topic]
                forms = BATCH_HANDLERS.get(topic, {})
                for handler in HANDLERS.get(topic, []):
                    batch = forms.get(handler)
                    if batch is not None:
                        await batch(conn, of_topic)
                    else:
                        for event in of_topic:
                            await handler(conn, event)
    finally:
        _follow_ups.reset(follow_token)
        if token is not None:
            _context.reset(token)
    if follow_ups and dispatcher is not None:
        try:
            await dispatcher.dispatch(follow_ups)
        except Exception:  # the sweep will
            log.warning("could not dispatch follow-up events %s now; the sweep will", follow_ups, exc_info=True)
    if events:
        log.info(
            "%d outbox events (%s) processed in a batch",
            len(events),
            events[0].topic,
            extra={"topic": events[0].topic, "events": len(events), "seconds": round(time.perf_counter() - started, 4)},
        )
    return [e.id for e in events]
