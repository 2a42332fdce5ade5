"""Exactly one credential per passing decision, whatever happens to the workers, the jobs and Redis.

Real PostgreSQL, real Redis, real arq workers in-process; the faults are made, not mocked: jobs run
twice, two workers on one queue, two transactions issuing at once, a handler that fails after the
credential is written, a connection killed mid-transaction, an API whose Redis is not there.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from arq.connections import ArqRedis, create_pool
from arq.constants import default_queue_name
from arq.worker import Worker
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api import queue
from api import worker as worker_module
from api.app import create_app
from api.settings import Settings
from domain import outbox
from domain.credentials import issuing
from domain.db import Connection, Database
from domain.writes import Actor, write
from tests.conftest import BASE_URL, Bootstrap
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credentials_festo import simulator_pass
from tests.worker_harness import (
    FAILING,
    PASSING,
    Issued,
    correct,
    credentials,
    enrol_learners,
    event_of,
    handler_context,
    live,
    passed_attempts,
    past_the_grace,
    record,
    run_worker,
    undone,
    work_off,
)

ACTOR = Actor(request_id="test-issuing-faults")
LEARNERS = 30
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every dispatch fails at once


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(queue.redis_settings(redis_url))
    yield pool
    await pool.aclose()


@pytest.fixture
async def second_db(database_url: str) -> AsyncIterator[Database]:
    """Another worker's pool: its own connections to the same database."""
    database = await Database.connect(database_url, min_size=1, max_size=4)
    yield database
    await database.close()


@pytest.fixture
def context(settings: Settings) -> outbox.HandlerContext:
    return handler_context(settings)


@pytest.fixture
async def room(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> Classroom:
    return await classroom(client, bootstrap)


def jonas(room: Classroom) -> tuple[str, str]:
    return room.learner_id, room.enrolment_id


def one_per_attempt(issued: list[Issued], attempts: list[UUID]) -> None:
    """Each passing attempt has exactly one unit credential, signed once, in a status slot of its own."""
    units = [c for c in issued if c.kind == "unit"]
    assert Counter(c.attempt_id for c in units) == Counter(attempts)
    assert all(c.state == "awaiting_cosignature" and c.signatures == 1 for c in units), units
    slots = [(c.status_number, c.status_index) for c in units]
    assert None not in {s[0] for s in slots} and len(set(slots)) == len(slots)


async def count(db: Database, sql: str, *args: Any) -> int:
    async with db.connection() as conn:
        value: int = await conn.fetchval(sql, *args)
    return value


# --- 1. The issuing job run twice -------------------------------------------------------------


async def test_processing_the_pass_event_again_issues_no_second_credential(
    client: AsyncTestClient[Litestar], room: Classroom, db: Database, context: outbox.HandlerContext
) -> None:
    attempt = await record(client, room, jonas(room), PASSING)
    event_id = await event_of(db, "attempt.passed", attempt["id"])

    assert await outbox.process_event(db, event_id, context) is True
    assert await outbox.process_event(db, event_id, context) is False  # done: nothing to do
    one_per_attempt(await credentials(db), [UUID(attempt["id"])])

    # The outbox forgets that the event was done (a restored backup, an operator re-opening it): the
    # handlers run again and find the learner's credential.
    async with db.connection() as conn:
        await conn.execute("UPDATE outbox SET done_at = NULL WHERE id = $1", event_id)
    assert await outbox.process_event(db, event_id, context) is True
    one_per_attempt(await credentials(db), [UUID(attempt["id"])])

    # Even when that credential has expired (so a new pass would renew it), the same decision cannot
    # issue again: the unique issuance_key is the last line.
    async with db.connection() as conn:
        await conn.execute("UPDATE credentials SET valid_until = now() - interval '1 day'")
        await conn.execute("UPDATE outbox SET done_at = NULL WHERE id = $1", event_id)
    assert await outbox.process_event(db, event_id, context) is True
    one_per_attempt(await credentials(db), [UUID(attempt["id"])])


async def test_the_job_enqueued_again_under_other_ids_issues_one_credential(
    client: AsyncTestClient[Litestar],
    room: Classroom,
    db: Database,
    redis: ArqRedis,
    context: outbox.HandlerContext,
) -> None:
    queued = await redis.zcard(default_queue_name)  # the classroom's design events
    attempt = await record(client, room, jonas(room), PASSING)  # the app queued its job after commit
    recorded = await event_of(db, "attempt.recorded", attempt["id"])
    passed = await event_of(db, "attempt.passed", attempt["id"])
    jobs = queue.JobQueue(redis)
    await jobs.enqueue(queue.PROCESS_OUTBOX_EVENT, passed, job_id="again-1")
    await jobs.enqueue(queue.PROCESS_OUTBOX_EVENT, passed, job_id="again-2")
    await jobs.enqueue(queue.PROCESS_OUTBOX_EVENTS, [recorded, passed], job_id="again-3")
    assert await redis.zcard(default_queue_name) == queued + 4

    worker = await run_worker(redis, db, context)  # up to ten jobs at once: these four race
    assert worker.jobs_failed == 0 and worker.jobs_retried == 0 and worker.jobs_complete >= 4
    one_per_attempt(await credentials(db), [UUID(attempt["id"])])
    assert await count(db, "SELECT count(*) FROM outbox WHERE topic = 'credential.awaiting_cosignature'") == 1


# --- 2. Two workers at once ---------------------------------------------------------------------


async def many_passes(client: AsyncTestClient[Litestar], room: Classroom, db: Database) -> list[UUID]:
    for learner in await enrol_learners(client, room, LEARNERS):
        await record(client, room, learner, PASSING)
    attempts = await passed_attempts(db)
    assert len(attempts) == LEARNERS
    return attempts


async def test_two_workers_on_one_queue_issue_one_credential_per_pass(
    client: AsyncTestClient[Litestar],
    room: Classroom,
    db: Database,
    second_db: Database,
    redis: ArqRedis,
    context: outbox.HandlerContext,
) -> None:
    attempts = await many_passes(client, room, db)
    # Each pass again under another job id, so that the two workers meet on the same events.
    jobs = queue.JobQueue(redis)
    for attempt_id in attempts:
        await jobs.enqueue(
            queue.PROCESS_OUTBOX_EVENT, await event_of(db, "attempt.passed", attempt_id), job_id=f"dup:{attempt_id}"
        )

    workers = await work_off(redis, [db, second_db], context)
    assert sum(w.jobs_failed for w in workers) == 0
    assert all(w.jobs_complete > 0 for w in workers[:2])  # both took a share
    one_per_attempt(await credentials(db), attempts)
    assert await count(db, "SELECT count(*) FROM outbox WHERE attempts > 0") == 0  # nobody failed on the way
    # The provider's first signatures happened at once: one signing key, one pair of status lists.
    provider = room.provider.org_id
    assert (
        await count(
            db, "SELECT count(*) FROM signing_keys WHERE purpose = 'credential' AND organisation_id = $1", provider
        )
        == 1
    )
    assert await count(db, "SELECT count(*) FROM status_lists WHERE organisation_id = $1", provider) == 2


async def test_each_event_processed_on_two_connections_at_once_is_handled_once(
    client: AsyncTestClient[Litestar],
    room: Classroom,
    db: Database,
    second_db: Database,
    context: outbox.HandlerContext,
) -> None:
    attempts = await many_passes(client, room, db)
    events = [await event_of(db, "attempt.passed", a) for a in attempts]

    results = await asyncio.gather(
        *(outbox.process_event(pool, e, context) for e in events for pool in (db, second_db))
    )
    handled = Counter(e for e, done in zip([e for e in events for _ in (0, 1)], results, strict=True) if done)
    assert handled == Counter(events)  # for each event one call ran the handlers; the other skipped it
    one_per_attempt(await credentials(db), attempts)


async def waiting_on_a_lock(db: Database, pid: int) -> bool:
    for _ in range(100):
        if await count(db, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", pid):
            return True
        await asyncio.sleep(0.02)
    return False


class Crash(Exception):
    """The failure a test's handler raises on purpose."""


@pytest.mark.parametrize("first_commits", [True, False], ids=["first-commits", "first-dies"])
async def test_two_transactions_issuing_for_one_attempt_past_the_outbox_lock_make_one_credential(
    client: AsyncTestClient[Litestar],
    room: Classroom,
    db: Database,
    second_db: Database,
    context: outbox.HandlerContext,
    first_commits: bool,
) -> None:
    """Without the outbox's row lock (two events, a replay, a bug upstream) the issuance_key still holds:
    the second transaction waits for the first, then finds the credential (or issues it, if the first
    died) — no exception either way."""
    attempt_id = UUID((await record(client, room, jonas(room), PASSING))["id"])
    inserted, release = asyncio.Event(), asyncio.Event()
    second_pid: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def first() -> UUID | None:
        async with write(db, ACTOR) as w:
            credential_id = await issuing.issue_for_attempt(w, attempt_id, context)
            inserted.set()
            await release.wait()
            if not first_commits:
                raise Crash
        return credential_id

    async def second() -> UUID | None:
        async with write(second_db, ACTOR) as w:
            # The backend asked, not get_server_pid(): through PgBouncer that is the pooler's, not the backend's.
            second_pid.set_result(await w.conn.fetchval("SELECT pg_backend_pid()"))
            return await issuing.issue_for_attempt(w, attempt_id, context)

    first_task = asyncio.create_task(first())
    await inserted.wait()
    second_task = asyncio.create_task(second())
    assert await waiting_on_a_lock(db, await second_pid)  # it waits for the first: neither skips ahead
    assert not second_task.done()
    release.set()

    if first_commits:
        first_id = await first_task
        assert first_id is not None
        assert await second_task is None
        [credential] = await credentials(db)
        assert credential.id == first_id
    else:
        with pytest.raises(Crash):
            await first_task
        second_id = await second_task
        assert second_id is not None
        [credential] = await credentials(db)
        assert credential.id == second_id
    one_per_attempt([credential], [attempt_id])


class Rendezvous:
    """Makes issuing.create wait until ``parties`` issuances reach it (or ``timeout`` passes), so that each
    has read what it decides on before any of them writes. A fix that serialises issuing never lets the
    second arrive while the first waits: the timeout then lets the first go on alone."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, parties: int, timeout: float = 1.5) -> None:
        self.parties, self.timeout = parties, timeout
        self.arrivals = 0
        self.first, self.together = asyncio.Event(), asyncio.Event()
        original = issuing.create

        async def create(w: Any, **kwargs: Any) -> UUID | None:
            await self.meet()
            return await original(w, **kwargs)

        monkeypatch.setattr(issuing, "create", create)

    async def meet(self) -> None:
        self.arrivals += 1
        self.first.set()
        if self.arrivals >= self.parties:
            self.together.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.together.wait(), self.timeout)


async def test_two_passes_of_one_unit_handled_at_once_give_the_learner_one_credential(
    client: AsyncTestClient[Litestar],
    room: Classroom,
    db: Database,
    second_db: Database,
    context: outbox.HandlerContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await record(client, room, jonas(room), PASSING)
    again = await record(client, room, jonas(room), PASSING)  # e.g. two rows of one bulk upload
    events = [await event_of(db, "attempt.passed", a["id"]) for a in (first, again)]
    Rendezvous(monkeypatch, parties=2)

    await asyncio.gather(
        outbox.process_event(db, events[0], context), outbox.process_event(second_db, events[1], context)
    )
    assert len(live(await credentials(db))) == 1


# --- 3. The worker dies half-way ---------------------------------------------------------------


async def credentials_in(conn: Connection, attempt_id: str) -> int:
    value: int = await conn.fetchval("SELECT count(*) FROM credentials WHERE attempt_id = $1", UUID(attempt_id))
    return value


async def test_a_handler_failing_after_the_credential_is_written_rolls_it_back_and_the_retry_issues_one(
    client: AsyncTestClient[Litestar],
    room: Classroom,
    db: Database,
    redis: ArqRedis,
    context: outbox.HandlerContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[int] = []

    async def crash_once(conn: Connection, event: outbox.OutboxEvent) -> None:
        seen.append(await credentials_in(conn, event.payload["attemptId"]))
        if len(seen) == 1:
            raise RuntimeError("worker lost half-way")

    monkeypatch.setitem(outbox.HANDLERS, "attempt.passed", [*outbox.HANDLERS["attempt.passed"], crash_once])
    monkeypatch.setattr(worker_module, "retry_delay", lambda job_try: 0)  # retry at once, not in 1 s
    attempt = await record(client, room, jonas(room), PASSING)

    worker = await run_worker(redis, db, context)
    assert worker.jobs_retried == 1 and worker.jobs_failed == 0
    assert seen == [1, 1]  # each try had written its credential when it failed / went on
    one_per_attempt(await credentials(db), [UUID(attempt["id"])])
    event = await event_of(db, "attempt.passed", attempt["id"])
    async with db.connection() as conn:
        row = await conn.fetchrow("SELECT attempts, done_at, last_error FROM outbox WHERE id = $1", event)
        follow_ups = await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'credential.awaiting_cosignature'")
        audited = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'credential.awaiting_cosignature'")
    assert row["attempts"] == 1 and row["done_at"] is not None and row["last_error"] is None
    assert follow_ups == audited == 1  # the failed try's event and audit row went with its rollback


async def test_a_connection_killed_mid_transaction_leaves_nothing_and_the_retry_issues_one(
    client: AsyncTestClient[Litestar],
    room: Classroom,
    db: Database,
    context: outbox.HandlerContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker's process dies with the credential written: PostgreSQL sees its connection go and rolls
    the transaction back; the event is still there for the next try."""
    killed: list[int] = []

    async def die_once(conn: Connection, event: outbox.OutboxEvent) -> None:
        if not killed:
            killed.append(await credentials_in(conn, event.payload["attemptId"]))
            await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    monkeypatch.setitem(outbox.HANDLERS, "attempt.passed", [*outbox.HANDLERS["attempt.passed"], die_once])
    attempt = await record(client, room, jonas(room), PASSING)
    event = await event_of(db, "attempt.passed", attempt["id"])

    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError)):
        await outbox.process_event(db, event, context)
    assert killed == [1]
    assert await credentials(db) == []
    assert event in await undone(db)

    assert await outbox.process_event(db, event, context) is True
    one_per_attempt(await credentials(db), [UUID(attempt["id"])])


# --- 4. Redis down while attempts are recorded ----------------------------------------------------


async def record_while_redis_is_down(settings: Settings, db: Database, redis: ArqRedis) -> list[UUID]:
    """Five passes recorded through an app whose Redis is not there; returns their attempts."""
    blind = Settings(**{**settings.__dict__, "redis_url": DEAD_REDIS})
    async with AsyncTestClient(app=create_app(blind), base_url=BASE_URL) as dead_client:
        room = await classroom(dead_client, Bootstrap(db, dead_client))  # tokens too: their rate limit fails open
        learners = [jonas(room), *await enrol_learners(dead_client, room, 4)]
        for learner in learners:
            await record(dead_client, room, learner, PASSING)  # 201 although the dispatch failed
    attempts = await passed_attempts(db)
    assert len(attempts) == len(learners)
    assert await redis.zcard(default_queue_name) == 0  # nothing reached the queue
    assert await credentials(db) == []
    async with db.connection() as conn:  # past the sweep's grace for the API's own dispatch
        await conn.execute("UPDATE outbox SET created_at = now() - interval '1 minute'")
    return attempts


async def run_guildhall_worker(settings: Settings, **overrides: Any) -> Worker:
    """The worker `guildhall worker` runs (its own pools, its start-up, its cron), in burst mode. Its cron
    jobs are fresh copies: arq keeps a cron job's next run on the CronJob object, so a worker given
    api.worker.CRON_JOBS itself would spend their run_at_startup for every later worker in this process."""
    fresh = [dataclasses.replace(job, next_run=None) for job in worker_module.CRON_JOBS]
    options: dict[str, Any] = {"cron_jobs": fresh, **overrides}
    worker = worker_module.create_worker(settings, burst=True, poll_delay=0, handle_signals=False, **options)
    try:
        await worker.main()
    finally:
        await worker_module.shutdown(worker.ctx)
        await worker.pool.aclose()
    return worker


async def left_undone(db: Database) -> list[dict[str, Any]]:
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT id, topic, attempts, last_error, dispatched_at FROM outbox WHERE done_at IS NULL ORDER BY id"
        )
    return [dict(r) for r in rows]


async def test_passes_recorded_while_redis_is_down_are_each_issued_once_after_the_sweep(
    settings: Settings, db: Database, redis: ArqRedis
) -> None:
    attempts = await record_while_redis_is_down(settings, db, redis)

    # The worker's sweep dispatches what the API could not; then the worker guildhall runs, on the real
    # Redis, works them off (its cron is left out here: see the next test for the sweep racing its jobs).
    assert await worker_module.sweep_outbox({"db": db, "redis": redis}) > 0
    for _ in range(3):
        worker = await run_guildhall_worker(settings, cron_jobs=[])
        assert worker.jobs_failed == 0
        if not await undone(db):
            break
        await past_the_grace(db)  # follow-ups a stopped burst left: the next sweep's
        await worker_module.sweep_outbox({"db": db, "redis": redis})
    assert await left_undone(db) == []
    one_per_attempt(await credentials(db), attempts)


async def test_the_worker_issues_what_its_start_up_sweep_dispatches_in_the_same_run(
    settings: Settings, db: Database, redis: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = await record_while_redis_is_down(settings, db, redis)

    async def slow_to_commit(database: Database, event_ids: Any, worker_id: str | None = None) -> None:
        async with database.transaction() as conn:  # the marking's row locks last until its commit
            await conn.execute(outbox.q.mark_dispatched, list(event_ids), worker_id)
            await asyncio.sleep(0.3)

    monkeypatch.setattr(outbox, "mark_dispatched", slow_to_commit)
    for _ in range(2):  # a second run takes follow-ups the first left queued
        worker = await run_guildhall_worker(settings)  # with its cron: the sweep runs at start-up
        assert worker.jobs_failed == 0
    assert await left_undone(db) == []
    one_per_attempt(await credentials(db), attempts)


# --- 5. Passing again, and corrections ----------------------------------------------------------


async def test_passing_a_unit_again_while_holding_its_credential_issues_none(
    client: AsyncTestClient[Litestar],
    room: Classroom,
    db: Database,
    redis: ArqRedis,
    context: outbox.HandlerContext,
) -> None:
    first = await record(client, room, jonas(room), PASSING)
    await work_off(redis, [db], context)
    await record(client, room, jonas(room), PASSING)
    await work_off(redis, [db], context)
    [credential] = await credentials(db)
    assert credential.attempt_id == UUID(first["id"]) and credential.state == "awaiting_cosignature"


async def test_a_correction_to_a_fail_revokes_the_credential(
    client: AsyncTestClient[Litestar],
    room: Classroom,
    db: Database,
    redis: ArqRedis,
    context: outbox.HandlerContext,
) -> None:
    attempt = await record(client, room, jonas(room), PASSING)
    await work_off(redis, [db], context)
    corrected = await correct(client, room, attempt["id"], FAILING)
    assert corrected["passed"] is False
    await work_off(redis, [db], context)
    [credential] = await credentials(db)
    assert credential.state == "revoked"
    assert credential.revocation_reason is not None and corrected["id"] in credential.revocation_reason


async def test_a_correction_that_keeps_the_pass_reissues_and_revokes_the_old_naming_the_new(
    client: AsyncTestClient[Litestar],
    room: Classroom,
    db: Database,
    redis: ArqRedis,
    context: outbox.HandlerContext,
) -> None:
    attempt = await record(client, room, jonas(room), PASSING)
    await work_off(redis, [db], context)
    corrected = await correct(client, room, attempt["id"], welding("l4", "l4", 10))
    assert corrected["passed"] is True
    await work_off(redis, [db], context)
    await work_off(redis, [db], context)  # nothing more happens
    old, new = await credentials(db)
    assert old.attempt_id == UUID(attempt["id"]) and old.state == "revoked"
    assert new.attempt_id == UUID(corrected["id"]) and new.state == "awaiting_cosignature"
    assert new.replaces == old.id
    assert old.revocation_reason is not None and str(new.id) in old.revocation_reason


async def test_a_correction_to_a_fail_racing_the_original_issuance_leaves_no_valid_credential(
    client: AsyncTestClient[Litestar],
    room: Classroom,
    db: Database,
    second_db: Database,
    context: outbox.HandlerContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempt = await record(client, room, jonas(room), PASSING)
    passed = await event_of(db, "attempt.passed", attempt["id"])
    pause = Rendezvous(monkeypatch, parties=2, timeout=3)
    issuing_task = asyncio.create_task(outbox.process_event(db, passed, context))

    async def correct_and_handle() -> None:
        corrected = await correct(client, room, attempt["id"], FAILING)
        await outbox.process_event(second_db, await event_of(db, "attempt.failed", corrected["id"]), context)

    await asyncio.wait_for(pause.first.wait(), 5)  # the issuance read the attempt (not yet corrected)
    racer = asyncio.create_task(correct_and_handle())
    await asyncio.wait([racer], timeout=0.5)  # a fix that serialises them makes the racer wait here
    await pause.meet()  # lets the issuance go on
    await asyncio.gather(issuing_task, racer)
    assert live(await credentials(db)) == []


async def test_the_programme_credential_stands_on_every_unit_credential_when_both_passes_wait_in_the_outbox(
    client: AsyncTestClient[Litestar], room: Classroom, db: Database, settings: Settings
) -> None:
    await record(client, room, jonas(room), PASSING)  # unit u1 ...
    await simulator_pass(client, room)  # ... and unit sim, both recorded before any worker ran (Redis was down)
    await drain(db, settings)  # oldest event first, as a single worker's sweep would
    issued = await credentials(db)
    units = {c.id for c in issued if c.kind == "unit"}
    [programme] = [c for c in issued if c.kind == "programme"]
    assert len(units) == 2
    assert set(programme.stands_on) == units
