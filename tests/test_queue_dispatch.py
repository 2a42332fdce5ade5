"""``JobQueue.dispatch``: the writes committed together share one command to Redis (one every BATCH_INTERVAL
under load) and one job, each caller returning once its events are queued or with the error that kept them out;
the sweep's dispatches keep a job each; ``dispatch_soon`` gives its events to the next send without waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.constants import default_queue_name, job_key_prefix
from arq.jobs import Job
from redis.exceptions import ConnectionError as RedisConnectionError

from api import queue


class CountingRedis(ArqRedis):
    """Counts the round trips: a pipeline's execution is one, a lone command another."""

    round_trips = 0

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        type(self).round_trips += 1
        return await super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        pipeline = super().pipeline(transaction, shard_hint)
        execute = pipeline.execute

        async def counted(raise_on_error: bool = True) -> Any:
            type(self).round_trips += 1
            return await execute(raise_on_error=raise_on_error)

        pipeline.execute = counted  # type: ignore[method-assign]
        return pipeline


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[ArqRedis]:
    connections = queue.client(redis_url).connection_pool  # the API's settings
    counting = CountingRedis(connections)
    yield counting
    await counting.aclose()
    await connections.disconnect()


async def test_writes_committed_together_share_one_round_trip_and_one_job(redis: ArqRedis) -> None:
    jobs = queue.JobQueue(redis)
    await jobs.dispatch([1])  # alone: its own job, as ever (this loads the script: EVALSHA refused, then EVAL)
    assert await redis.exists(job_key_prefix + "outbox:1")
    CountingRedis.round_trips = 0
    await asyncio.gather(*(jobs.dispatch([10 * n, 10 * n + 1]) for n in range(1, 31)))
    assert CountingRedis.round_trips == 1
    queued = sorted(job.decode() for job in await redis.zrange(default_queue_name, 0, -1))
    assert len(queued) == 2 and queued[0] == "outbox:1"
    together = queued[1]
    assert together.startswith("outbox:10..301:60:")  # the events in the order written, and a digest of them
    job = await Job(together, redis).info()
    assert job is not None and job.function == queue.PROCESS_OUTBOX_EVENTS
    assert job.args == ([e for n in range(1, 31) for e in (10 * n, 10 * n + 1)],)

    CountingRedis.round_trips = 0
    await asyncio.gather(*(jobs.dispatch([10 * n, 10 * n + 1]) for n in range(1, 31)))  # queued already: a no-op
    assert CountingRedis.round_trips == 1
    assert await redis.zcard(default_queue_name) == 2


async def test_a_job_carries_at_most_job_events_and_the_sweeps_jobs_stay_their_own(redis: ArqRedis) -> None:
    jobs = queue.JobQueue(redis)
    await jobs.dispatch([1])
    writes = [jobs.dispatch([1000 + 2 * n, 1001 + 2 * n]) for n in range(queue.JOB_EVENTS)]  # twice JOB_EVENTS
    sweep = [jobs.dispatch([5000 + n], generation="sweep1") for n in range(3)]
    await asyncio.gather(*writes, *sweep)
    queued = {job.decode() for job in await redis.zrange(default_queue_name, 0, -1)}
    assert {"outbox:5000:sweep1", "outbox:5001:sweep1", "outbox:5002:sweep1"} < queued
    carried = []
    for job_id in sorted(queued - {"outbox:1", "outbox:5000:sweep1", "outbox:5001:sweep1", "outbox:5002:sweep1"}):
        job = await Job(job_id, redis).info()
        assert job is not None and len(job.args[0]) == queue.JOB_EVENTS
        carried += job.args[0]
    assert sorted(carried) == list(range(1000, 1000 + 2 * queue.JOB_EVENTS))


async def test_under_a_steady_stream_of_writes_a_pipeline_leaves_at_most_every_batch_interval(redis: ArqRedis) -> None:
    jobs = queue.JobQueue(redis)
    await jobs.dispatch([1])

    async def write_then_dispatch(n: int) -> float:
        await asyncio.sleep(n * queue.BATCH_INTERVAL / 8)  # eight writes per interval, for five intervals
        started = asyncio.get_running_loop().time()
        await jobs.dispatch([1000 + n])
        return asyncio.get_running_loop().time() - started

    CountingRedis.round_trips = 0
    waited = await asyncio.gather(*(write_then_dispatch(n) for n in range(40)))
    assert CountingRedis.round_trips <= 8  # not forty
    assert max(waited) < 0.25  # and none waits long (an interval and a round trip, on a quiet machine)
    assert await redis.zcard(default_queue_name) <= 9  # the writes of each send in one job


async def test_a_caller_that_goes_away_leaves_the_others_their_jobs(redis: ArqRedis) -> None:
    jobs = queue.JobQueue(redis)
    await jobs.dispatch([1])
    callers = [asyncio.ensure_future(jobs.dispatch([n])) for n in range(2, 7)]
    await asyncio.sleep(0)  # each has joined the batch
    callers[0].cancel()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError) and results[1:] == [None] * 4
    queued = {job.decode() for job in await redis.zrange(default_queue_name, 0, -1)}
    assert len(queued) == 2  # the cancelled caller's events went with the others', in one job


async def test_while_redis_is_away_every_caller_hears_it() -> None:
    dead = queue.client("redis://127.0.0.1:1/0")
    try:
        jobs = queue.JobQueue(dead)
        results = await asyncio.gather(*(jobs.dispatch([n]) for n in range(5)), return_exceptions=True)
    finally:
        await dead.aclose()
    assert all(isinstance(r, RedisConnectionError) for r in results), results


async def test_events_given_without_waiting_go_in_the_next_send_and_settled_waits_for_it(redis: ArqRedis) -> None:
    jobs = queue.JobQueue(redis)
    waiting = asyncio.ensure_future(jobs.dispatch([1]))
    await asyncio.sleep(0)  # it has given its events
    jobs.dispatch_soon([2, 3])  # returns at once, and joins the send with the waiting caller's
    jobs.dispatch_soon([])  # nothing to send
    await jobs.settled()
    assert waiting.done() and waiting.result() is None
    queued = sorted(job.decode() for job in await redis.zrange(default_queue_name, 0, -1))
    assert len(queued) == 1 and queued[0].startswith("outbox:1..3:3:")
    await jobs.settled()  # nothing on its way: at once


async def test_events_given_without_waiting_while_redis_is_away_are_logged_for_the_sweep(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = queue.client("redis://127.0.0.1:1/0")
    try:
        jobs = queue.JobQueue(dead)
        jobs.dispatch_soon([7])
        jobs.dispatch_soon([8, 9])
        with caplog.at_level("WARNING", logger="api.queue"):
            await jobs.settled()
    finally:
        await dead.aclose()
    assert [r.getMessage() for r in caplog.records] == ["could not dispatch events [7, 8, 9] now; the sweep will"]
