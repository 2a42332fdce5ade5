"""The consumer side of the outbox: handlers per topic, run once per event in the event's own transaction.

Services write events with ``Write.emit`` in the transaction that makes the change; the job queue
only says "event N is ready". Processing locks the row, runs the topic's handlers on the same
connection and marks the row done, all in one transaction, so a handler's writes and the "done"
mark commit together: an event is handled once even when its job runs twice.
"""

from __future__ import annotations

import logging
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


_context: ContextVar[HandlerContext | None] = ContextVar("outbox_handler_context", default=None)
_follow_ups: ContextVar[list[int] | None] = ContextVar("outbox_follow_ups", default=None)


def follow_up(event_ids: Sequence[int]) -> None:
    """Events a handler wrote: dispatched as soon as its transaction commits (else the sweep finds them)."""
    pending = _follow_ups.get()
    if pending is not None:
        pending.extend(event_ids)


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


async def pending_events(
    db: Database, older_than: timedelta, limit: int = 500, grace: timedelta = timedelta(seconds=5)
) -> list[int]:
    """Events not done whose dispatch is older than ``older_than``, or that were never marked dispatched
    and are older than ``grace`` (the API's own dispatch after commit is not marked): the sweep dispatches
    them again (a Redis outage, a crashed worker, a job that ran out of retries)."""
    async with db.transaction() as conn:
        rows = await conn.fetch(q.pending_events, older_than, limit, grace)
    return [row["id"] for row in rows]


async def mark_dispatched(db: Database, event_ids: Sequence[int]) -> None:
    if event_ids:
        async with db.connection() as conn:
            await conn.execute(q.mark_dispatched, list(event_ids))
