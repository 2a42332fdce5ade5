"""Recordings that wait at the same moment are written together: one call of ``record_attempts_at_once``.

Most of what a short-way recording costs PostgreSQL is paid per call, whatever the call writes: calling the
function, starting its statement's executor over some fifteen relations, acquiring their locks, the commit and
its flush to disk (bench/README.md, "Seventh session"); since the twelfth session the function is one statement,
and a key keeps its attempt by reference instead of a copy of the answer. So the recordings a process has ready
while its call is running share the next one, on the same connection.

Nobody waits for company: while no call is running, a recording is sent at once, alone, so an idle API answers
as fast as ever. Those that arrive while a call runs gather, and are sent together as soon as it returns (up to
``MAX_BATCH``). One call at a time per process (``IN_FLIGHT``) measured best: fewer, fuller calls cost PostgreSQL
less (bench/README.md, "Eighth session"). A call waits for no learner: an enrolment another transaction holds is
skipped, and its attempt recorded the usual way, so one busy learner holds up nobody else.

A request cancelled while its recording waits in the queue does not take it out: the attempt may still be
recorded, as it may be once its statement has been sent; a retry with the same ``Idempotency-Key`` tells.

Each attempt in a call is checked and answered on its own. A call that fails as a whole (a key whose original was
being written meanwhile, text PostgreSQL cannot store) has written nothing: its recordings are sent again one at
a time, so that each gets its own answer or error. When the database is away, each gets that error.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import Counter
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from domain.db import Connection, Database, database_unavailable
from domain.sql import load_queries

q = load_queries(__file__)
log = logging.getLogger(__name__)

IN_FLIGHT = 1  # calls running at once per process
MAX_BATCH = 32


def _attempt(parameters: tuple[Any, ...]) -> tuple[Any, ...]:
    """An attempt's element of the call's JSON array: ``record_attempt_at_once``'s parameters but the maximum, the
    runs' flag and the latest attempt ($18 to $20), which batches never need, and the answer ($30), which a batch
    keeps by reference; a time without a zone is UTC, as asyncpg takes it."""
    assessed_at = parameters[7]
    if assessed_at is not None and assessed_at.tzinfo is None:
        parameters = (*parameters[:7], assessed_at.replace(tzinfo=UTC), *parameters[8:])
    return parameters[:17] + parameters[20:29] + parameters[30:]


Row = Mapping[str, Any]


class RecordingBatcher:
    """One per database pool (``for_database``); its queue and calls live on the pool's event loop."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: list[tuple[tuple[Any, ...], asyncio.Future[Row]]] = []
        self._running = 0
        self._calls: set[asyncio.Task[None]] = set()
        self.sent: Counter[int] = Counter()  # calls that succeeded, by the number of attempts they held

    async def record(self, parameters: tuple[Any, ...]) -> Row:
        """This attempt's row of ``record_attempts_at_once``, given ``record_attempt_at_once``'s 31 ``parameters``
        for an attempt at a unit without a maximum that is no simulation's run (``$18`` to ``$20``: None, False,
        None; ``$30``, the answer, unused: the key keeps the attempt by reference, the row's ``record_id`` on a
        replay)."""
        answer: asyncio.Future[Row] = asyncio.get_running_loop().create_future()
        self._queue.append((parameters, answer))
        if self._running < IN_FLIGHT:
            self._running += 1
            call = asyncio.create_task(self._send_while_queued())
            self._calls.add(call)
            call.add_done_callback(self._calls.discard)
        return await answer

    async def _send_while_queued(self) -> None:
        try:
            while self._queue:
                batch = self._take()
                try:
                    # One connection for calls back to back: handing it back to the pool between them would wait a
                    # turn of the event loop (asyncpg releases in a task of its own), and every recording queued
                    # meanwhile with it (bench/README.md, "Twelfth session"). A call that fails ends the block, so
                    # its connection goes back as after any failure, and the next call takes another.
                    async with self._db.connection() as conn:
                        while True:
                            rows = await self._call(conn, [parameters for parameters, _ in batch])
                            for (_, answer), row in zip(batch, rows, strict=True):
                                _answer(answer, row)
                            if not self._queue:
                                break
                            batch = self._take()
                except Exception as exc:
                    await self._after_failure(batch, exc)
                except BaseException as exc:  # cancelled at shutdown: nobody waits for ever
                    _fail(batch, exc)
                    raise
        finally:
            self._running -= 1

    def _take(self) -> list[tuple[tuple[Any, ...], asyncio.Future[Row]]]:
        batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        return batch

    async def _after_failure(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Row]]], exc: Exception) -> None:
        batch = [(parameters, answer) for parameters, answer in batch if not answer.done()]  # answered: not again
        if not batch:
            return
        if len(batch) == 1 or database_unavailable(exc) or isinstance(exc, TimeoutError):
            _fail(batch, exc)
            return
        log.info("a call of %d recordings failed as a whole (%r): sent again one at a time", len(batch), exc)
        for parameters, answer in batch:
            try:
                async with self._db.connection() as conn:
                    (row,) = await self._call(conn, [parameters])
            except Exception as alone:
                _fail([(parameters, answer)], alone)
            else:
                _answer(answer, row)

    async def _call(self, conn: Connection, batch: list[tuple[Any, ...]]) -> list[Row]:
        attempts = [_attempt(parameters) for parameters in batch]  # the jsonb codec encodes them in one go
        rows = await conn.fetch(q.record_attempts_at_once, attempts)
        self.sent[len(batch)] += 1
        return list(rows)


def _answer(answer: asyncio.Future[Row], row: Row) -> None:
    if not answer.done():  # its request may have been cancelled meanwhile
        answer.set_result(row)


def _fail(batch: list[tuple[tuple[Any, ...], asyncio.Future[Row]]], exc: BaseException) -> None:
    for _, answer in batch:
        if answer.done():
            continue
        if isinstance(exc, asyncio.CancelledError):
            answer.cancel()
        else:
            answer.set_exception(exc)


_batchers: weakref.WeakKeyDictionary[Database, RecordingBatcher] = weakref.WeakKeyDictionary()


def for_database(db: Database) -> RecordingBatcher:
    batcher = _batchers.get(db)
    if batcher is None:
        batcher = _batchers[db] = RecordingBatcher(db)
    return batcher
