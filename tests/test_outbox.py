"""The outbox with a real arq worker in-process: once-only handling, the sweep, failures and retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq import Retry
from arq.connections import ArqRedis, create_pool
from arq.constants import default_queue_name
from arq.worker import Worker

from api import queue, worker_supervision
from api import worker as worker_module
from api.settings import Settings
from domain import outbox
from domain.db import Connection, Database
from domain.writes import Actor, write

TOPIC = "test.outbox"
ACTOR = Actor(request_id="test-outbox")


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(queue.redis_settings(redis_url))
    yield pool
    await pool.aclose()


class Recorder:
    """A handler for the test topic: records what it handled, can fail its first N calls, and
    writes an audit row in the event's transaction (to show a failure rolls that back)."""

    def __init__(self, failures: int = 0, delay: float = 0) -> None:
        self.handled: list[int] = []
        self.calls = 0
        self.failures = failures
        self.delay = delay

    async def __call__(self, conn: Connection, event: outbox.OutboxEvent) -> None:
        self.calls += 1
        await conn.execute(
            "INSERT INTO audit_log (action, target_type, target_id) VALUES ('test.handled', 'event', $1)",
            str(event.id),
        )
        await asyncio.sleep(self.delay)
        if self.calls <= self.failures:
            raise RuntimeError("boom")
        self.handled.append(event.id)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    handler = Recorder()
    monkeypatch.setitem(outbox.HANDLERS, TOPIC, [handler])
    return handler


async def emit(db: Database, dispatcher: queue.JobQueue, payload: dict[str, Any] | None = None) -> int:
    async with write(db, ACTOR, dispatcher=dispatcher) as w:
        await w.emit(TOPIC, "subject-1", None, payload or {"n": 1})
    return w.event_ids[0]


async def past_the_grace(db: Database, event_id: int) -> None:
    """Makes an undispatched event old enough for the sweep (which first leaves the API a few seconds)."""
    async with db.connection() as conn:
        await conn.execute("UPDATE outbox SET created_at = now() - interval '1 minute' WHERE id = $1", event_id)


async def run_worker(redis: ArqRedis, db: Database, **options: Any) -> Worker:
    worker = Worker(
        functions=worker_module.FUNCTIONS,
        redis_pool=redis,
        burst=True,
        poll_delay=0,
        handle_signals=False,
        ctx={"db": db},
        **options,
    )
    await worker.main()
    return worker


async def outbox_row(db: Database, event_id: int) -> Any:
    async with db.connection() as conn:
        return await conn.fetchrow("SELECT * FROM outbox WHERE id = $1", event_id)


async def handled_audit_rows(db: Database, event_id: int) -> int:
    async with db.connection() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'test.handled' AND target_id = $1", str(event_id)
        )
    return count


async def test_a_dispatched_event_is_processed_once(db: Database, redis: ArqRedis, recorder: Recorder) -> None:
    event_id = await emit(db, queue.JobQueue(redis))

    worker = await run_worker(redis, db)
    assert worker.jobs_complete == 1
    assert recorder.handled == [event_id]
    row = await outbox_row(db, event_id)
    assert row["done_at"] is not None and row["attempts"] == 0 and row["last_error"] is None
    assert await handled_audit_rows(db, event_id) == 1  # the handler's write committed with "done"

    again = await run_worker(redis, db)  # nothing left in the queue
    assert again.jobs_complete == 0
    assert recorder.handled == [event_id]


async def test_running_the_job_twice_handles_the_event_once(db: Database, redis: ArqRedis, recorder: Recorder) -> None:
    jobs = queue.JobQueue(redis)
    event_id = await emit(db, jobs)
    await run_worker(redis, db)

    await jobs.dispatch([event_id])  # keep_result=0: the job id is free again once the job is done
    second = await run_worker(redis, db)
    assert second.jobs_complete == 1  # the job ran ...
    assert recorder.handled == [event_id]  # ... and found nothing to do
    assert await handled_audit_rows(db, event_id) == 1


async def test_concurrent_processing_of_one_event_runs_its_handlers_once(db: Database, recorder: Recorder) -> None:
    recorder.delay = 0.05  # hold the row lock while the other attempt arrives
    async with write(db, ACTOR) as w:
        await w.emit(TOPIC, "subject-1", None, {"n": 1})
    event_id = w.event_ids[0]

    results = await asyncio.gather(outbox.process_event(db, event_id), outbox.process_event(db, event_id))
    assert sorted(results) == [False, True]
    assert recorder.handled == [event_id]


async def test_an_event_written_while_redis_is_down_is_swept_up_later(
    db: Database, redis: ArqRedis, recorder: Recorder
) -> None:
    dead = queue.client("redis://127.0.0.1:1/0")
    try:
        event_id = await emit(db, queue.JobQueue(dead))  # the write commits; the dispatch fails
    finally:
        await dead.aclose()
    await past_the_grace(db, event_id)
    assert await redis.zcard(default_queue_name) == 0
    assert (await outbox_row(db, event_id))["done_at"] is None

    swept = await worker_module.sweep_outbox({"db": db, "redis": redis})
    assert swept == 1
    assert (await outbox_row(db, event_id))["dispatched_at"] is not None
    await run_worker(redis, db)
    assert recorder.handled == [event_id]
    assert (await outbox_row(db, event_id))["done_at"] is not None

    assert await worker_module.sweep_outbox({"db": db, "redis": redis}) == 0  # done events stay done


async def test_the_sweep_leaves_a_fresh_dispatch_alone(db: Database, recorder: Recorder) -> None:
    async with write(db, ACTOR) as w:
        await w.emit(TOPIC, "subject-1", None, {"n": 1})
    event_id = w.event_ids[0]
    assert await outbox.pending_events(db, older_than=worker_module.REDISPATCH_AFTER) == []  # grace
    async with db.connection() as conn:  # the API's dispatch after commit was lost
        await conn.execute("UPDATE outbox SET created_at = now() - interval '10 seconds' WHERE id = $1", event_id)
    assert await outbox.pending_events(db, older_than=worker_module.REDISPATCH_AFTER) == [event_id]

    await outbox.mark_dispatched(db, [event_id])
    assert await outbox.pending_events(db, older_than=worker_module.REDISPATCH_AFTER) == []
    async with db.connection() as conn:  # a minute later the dispatch is presumed lost
        await conn.execute("UPDATE outbox SET dispatched_at = now() - interval '2 minutes' WHERE id = $1", event_id)
    assert await outbox.pending_events(db, older_than=worker_module.REDISPATCH_AFTER) == [event_id]


async def test_events_a_dead_worker_marked_and_never_queued_are_swept_again_once_its_heartbeat_is_gone(
    db: Database, redis: ArqRedis, recorder: Recorder
) -> None:
    async with write(db, ACTOR) as w:
        await w.emit(TOPIC, "subject-1", None, {"n": 1})
    event_id = w.event_ids[0]
    # A worker's sweep marked the event and died before its job reached Redis.
    await outbox.mark_dispatched(db, [event_id], "dead-worker")
    live = {"redis": redis, "worker_id": "live-worker"}
    await redis.set(worker_supervision.heartbeat_key("live-worker"), b"1", px=10_000)
    await redis.set(worker_supervision.heartbeat_key("dead-worker"), b"1", px=10_000)
    async with db.connection() as conn:  # past the grace, well within the minute a lost dispatch is given
        await conn.execute("UPDATE outbox SET dispatched_at = now() - interval '10 seconds' WHERE id = $1", event_id)
    assert await worker_module.sweep_outbox({"db": db, **live}) == 0  # its worker lives: its jobs are on their way
    assert await worker_module.sweep_outbox({"db": db, "redis": redis}) == 0  # a sweep that knows no workers

    await redis.delete(worker_supervision.heartbeat_key("dead-worker"))
    assert await worker_module.sweep_outbox({"db": db, **live}) == 1
    row = await outbox_row(db, event_id)
    assert row["dispatched_by"] == "live-worker"
    assert await worker_module.sweep_outbox({"db": db, **live}) == 0  # now marked by a live worker
    await run_worker(redis, db)
    assert recorder.handled == [event_id]


async def test_a_failing_handler_is_recorded_and_succeeds_on_retry(
    db: Database, redis: ArqRedis, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder.failures = 1
    monkeypatch.setattr(worker_module, "retry_delay", lambda job_try: 0)  # retry at once, not in 1 s
    event_id = await emit(db, queue.JobQueue(redis))

    first = await run_worker(redis, db, max_burst_jobs=1)
    assert first.jobs_retried == 1
    row = await outbox_row(db, event_id)
    assert row["done_at"] is None
    assert row["attempts"] == 1
    assert row["last_error"] == "RuntimeError: boom"
    assert await handled_audit_rows(db, event_id) == 0  # the failed attempt's write was rolled back

    second = await run_worker(redis, db)
    assert second.jobs_complete == 1
    assert recorder.handled == [event_id]
    row = await outbox_row(db, event_id)
    assert row["done_at"] is not None and row["attempts"] == 1 and row["last_error"] is None
    assert await handled_audit_rows(db, event_id) == 1


async def test_the_job_asks_arq_for_a_retry_with_backoff(db: Database, recorder: Recorder) -> None:
    recorder.failures = 1
    async with write(db, ACTOR) as w:
        await w.emit(TOPIC, "subject-1", None, {"n": 1})

    with pytest.raises(Retry) as raised:
        await worker_module.process_outbox_event({"db": db, "job_try": 3}, w.event_ids[0])
    assert raised.value.defer_score == 4000
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert [worker_module.retry_delay(n) for n in (1, 2, 7, 8)] == [1, 2, 60, 60]


async def test_events_of_a_topic_without_handlers_are_marked_done(db: Database) -> None:
    async with write(db, ACTOR) as w:
        await w.emit("test.nobody-listens", "subject-1", None, {})
    assert await outbox.process_event(db, w.event_ids[0]) is True
    assert (await outbox_row(db, w.event_ids[0]))["done_at"] is not None


async def test_the_worker_guildhall_runs_sweeps_up_and_processes_on_its_own(
    settings: Settings, db: Database, recorder: Recorder
) -> None:
    dead = queue.client("redis://127.0.0.1:1/0")
    try:
        event_id = await emit(db, queue.JobQueue(dead))
    finally:
        await dead.aclose()
    await past_the_grace(db, event_id)

    # Its own Redis and PostgreSQL pools from the settings; the sweep runs at start-up. A burst worker
    # may stop before it picks up the job its own sweep just queued (a timing matter of burst mode
    # only): a second burst, as a long-running worker would, then handles it.
    completed = failed = 0
    for _ in range(3):
        worker = worker_module.create_worker(settings, burst=True, poll_delay=0, handle_signals=False)
        try:
            await worker.main()
        finally:
            await worker_module.shutdown(worker.ctx)
            await worker.pool.aclose()
        completed, failed = completed + worker.jobs_complete, failed + worker.jobs_failed
        if recorder.handled:
            break
    assert recorder.handled == [event_id]
    assert failed == 0 and completed >= 2  # the sweep, then the event
