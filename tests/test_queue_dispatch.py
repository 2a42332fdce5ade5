"""``JobQueue.dispatch``: the writes committed together share one command to Redis (one every BATCH_INTERVAL
under load), each still with its own job under its own id, each caller returning once its job is queued or with
the error that kept it out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.constants import default_queue_name, job_key_prefix
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


async def test_writes_committed_together_share_one_round_trip_each_with_its_own_job(redis: ArqRedis) -> None:
    jobs = queue.JobQueue(redis)
    await jobs.dispatch([1])  # loads the script: EVALSHA refused, then EVAL
    CountingRedis.round_trips = 0
    await asyncio.gather(*(jobs.dispatch([10 * n, 10 * n + 1]) for n in range(1, 31)))
    assert CountingRedis.round_trips == 1
    queued = {job.decode() for job in await redis.zrange(default_queue_name, 0, -1)}
    assert queued == {"outbox:1", *(f"outbox:{10 * n}..{10 * n + 1}:2" for n in range(1, 31))}
    assert await redis.exists(job_key_prefix + "outbox:10..11:2")

    CountingRedis.round_trips = 0
    await asyncio.gather(*(jobs.dispatch([10 * n, 10 * n + 1]) for n in range(1, 31)))  # queued already: no-ops
    assert CountingRedis.round_trips == 1
    assert await redis.zcard(default_queue_name) == 31


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
    assert await redis.zcard(default_queue_name) == 41


async def test_a_caller_that_goes_away_leaves_the_others_their_jobs(redis: ArqRedis) -> None:
    jobs = queue.JobQueue(redis)
    await jobs.dispatch([1])
    callers = [asyncio.ensure_future(jobs.dispatch([n])) for n in range(2, 7)]
    await asyncio.sleep(0)  # each has joined the batch
    callers[0].cancel()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError) and results[1:] == [None] * 4
    assert await redis.zcard(default_queue_name) == 6  # the cancelled caller's job went with the batch


async def test_while_redis_is_away_every_caller_hears_it() -> None:
    dead = queue.client("redis://127.0.0.1:1/0")
    try:
        jobs = queue.JobQueue(dead)
        results = await asyncio.gather(*(jobs.dispatch([n]) for n in range(5)), return_exceptions=True)
    finally:
        await dead.aclose()
    assert all(isinstance(r, RedisConnectionError) for r in results), results
