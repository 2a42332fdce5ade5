"""The one way a service writes: a transaction that also keeps the audit trail, outbox events and
the answer to an ``Idempotency-Key``, so none of them can drift from the change they describe."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import msgspec

from domain.db import Connection, Database
from domain.db import EventDispatcher as EventDispatcher  # where services import it from
from domain.errors import IdempotencyKeyReused, Unauthenticated
from domain.sql import load_queries

q = load_queries(__file__, "writes.sql")
log = logging.getLogger(__name__)
T = TypeVar("T")
TOKEN_NOT_LIVE = "the access token is expired or revoked; get a new one"


@dataclass(frozen=True)
class Actor:
    """Who is writing: a client acting for its organisation, or for a person."""

    client_id: str | None = None
    person_id: UUID | None = None
    organisation_id: UUID | None = None  # the client's organisation
    request_id: str | None = None
    # The jti of an access token the guard has not confirmed as live (a remembered client principal): the write
    # confirms it in its own transaction, before anything else, and raises Unauthenticated if it is not.
    token_to_confirm: str | None = None


@dataclass(frozen=True)
class IdempotencyKey:
    scope: str  # the caller and the operation: the same key may be used for two operations
    key: str
    fingerprint: str  # a hash of the request body: the same key with another body is refused


@dataclass
class Write:
    conn: Connection
    actor: Actor
    replayed: Any = None
    # A retry whose first write kept its answer by reference: the id of the record it created, which is the answer
    # (a batched recording's attempt: domain/attempts/service.py renders it). ``replayed`` is None then.
    replayed_record_id: UUID | None = None
    event_ids: list[int] = field(default_factory=list)
    _idempotency: IdempotencyKey | None = None

    def replay(self, result_type: type[T]) -> T:
        return msgspec.convert(self.replayed, result_type, strict=False)

    async def remember(self, result: Any) -> None:
        """Stores the result as the answer to this write's Idempotency-Key, if it has one."""
        if self._idempotency is not None:
            await self.conn.execute(
                q.store_idempotent_response, self._idempotency.scope, self._idempotency.key, msgspec.to_builtins(result)
            )

    async def audit(
        self,
        action: str,
        target_type: str,
        target_id: object,
        organisation_id: UUID | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await self.conn.execute(
            q.insert_audit,
            organisation_id,
            self.actor.person_id,
            self.actor.client_id,
            action,
            target_type,
            str(target_id),
            self.actor.request_id,
            details or {},
        )

    async def emit(self, topic: str, subject: str, organisation_id: UUID | None, payload: Any) -> None:
        await self.emit_many([topic], subject, organisation_id, payload)

    async def emit_many(self, topics: list[str], subject: str, organisation_id: UUID | None, payload: Any) -> None:
        """Several events about one subject with one payload, in one round trip."""
        rows = await self.conn.fetch(q.insert_outbox, topics, organisation_id, subject, msgspec.to_builtins(payload))
        self.event_ids.extend(row["id"] for row in rows)


@asynccontextmanager
async def write(
    db: Database, actor: Actor, *, idempotency: IdempotencyKey | None = None, dispatcher: EventDispatcher | None = None
) -> AsyncIterator[Write]:
    """Opens a write transaction; ``w.replayed`` is set when this is a retry of a stored write. The events it
    emitted go to ``dispatcher`` (else the database's) as soon as it commits.

    A retry that arrives while the first request is still running waits on the key's row lock
    (the first transaction's INSERT) and then sees its answer: nothing is done twice.
    """
    async with db.transaction() as conn:
        if actor.token_to_confirm is not None and not await conn.fetchval(q.token_live, actor.token_to_confirm):
            raise Unauthenticated(TOKEN_NOT_LIVE)
        w = Write(conn=conn, actor=actor, _idempotency=idempotency)
        if idempotency is not None:
            row = await conn.fetchrow(
                q.claim_idempotency_key, idempotency.scope, idempotency.key, idempotency.fingerprint
            )
            if row is None:  # someone used this key before
                prior = await conn.fetchrow(q.idempotent_response, idempotency.scope, idempotency.key)
                if prior["fingerprint"] != idempotency.fingerprint:
                    raise IdempotencyKeyReused(
                        f"the Idempotency-Key {idempotency.key!r} was already used for a different "
                        "request; use a new key for a new request"
                    )
                w.replayed, w.replayed_record_id = prior["response"], prior["record_id"]
                w._idempotency = None
        yield w
    await dispatch_after_commit(dispatcher or db.dispatcher, w.event_ids)


async def dispatch_after_commit(dispatcher: EventDispatcher | None, event_ids: Sequence[int]) -> None:
    """Hands committed outbox events to the job queue; should that fail, the outbox sweep dispatches them."""
    if not event_ids or dispatcher is None:
        return
    try:
        await dispatcher.dispatch(event_ids)
    except Exception:  # the outbox sweep will dispatch them
        log.warning("could not dispatch events %s now; the sweep will", list(event_ids), exc_info=True)


EXPIRY_CHUNK = 5_000  # keys deleted per statement: each a short transaction of its own, beside the traffic


async def expire_idempotency_keys(db: Database, older_than: timedelta) -> int:
    """Deletes the ``Idempotency-Key``s first used more than ``older_than`` ago, with the answers stored under them,
    a chunk at a time; returns how many. A request that repeats an expired key is a new request (README,
    Configuration: ``IDEMPOTENCY_KEY_TTL``)."""
    before = datetime.now(UTC) - older_than
    deleted = 0
    while True:
        async with db.connection() as conn:
            status = await conn.execute(q.expire_idempotency_keys, before, EXPIRY_CHUNK)
        count = int(status.rsplit(" ", 1)[1])  # "DELETE n"
        deleted += count
        if count < EXPIRY_CHUNK:
            return deleted
