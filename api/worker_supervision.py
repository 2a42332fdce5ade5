"""Keeping a worker process alive through outages, and taking up the jobs of workers that died.

An arq ``Worker`` ends when Redis goes away and never reconnects by itself; its start-up fails while
PostgreSQL is away. ``supervise`` runs one, and when it ends on a lost dependency, builds a new one after a
backoff (0.5 s doubling to 10 s): the process keeps running, the new worker's sweep runs at its start and
hands out what the API recorded meanwhile.

Its health is written to a file (``GUILDHALL_WORKER_HEALTH_FILE``) every ``HEALTH_INTERVAL`` seconds:
whether Redis and PostgreSQL answer and whether an arq worker is running. ``guildhall worker --check`` reads it:
healthy only while it is fresh and every dependency answers.

A worker killed with ``kill -9`` leaves its jobs in arq's queue behind an ``arq:in-progress:<job id>`` key
that lives until the job's timeout (minutes): no other worker takes them meanwhile. So every worker has
an id and a heartbeat key in Redis that lives ``HEARTBEAT_TTL`` seconds, and each job records which worker
holds it (``hold``); every worker, each heartbeat, removes the in-progress keys of jobs whose holder's
heartbeat has gone (``reap_dead_holders``). The job is still in arq's queue, so the next poll of a live
worker runs it again (arq counts the try). A worker killed in the instant between arq marking a job in progress
and the job recording its holder leaves an in-progress key nobody holds: a live worker that sees such a key of a
held job (``HELD_JOB_PREFIXES``) go unclaimed for ``ORPHAN_GRACE`` seconds removes it too
(``reap_orphans``); a live worker records its holder within milliseconds of the mark. PostgreSQL decides
what it does: the events and deliveries a dead worker held were rolled back with its connection, and are
claimed again exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.typing import WorkerCoroutine
from arq.worker import Worker
from redis.exceptions import RedisError

from api import queue
from api.settings import Settings
from domain.db import Database, database_unavailable

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 2.0  # seconds between a worker's heartbeats (and its reaping of dead workers' jobs)
HEARTBEAT_TTL = 8.0  # a worker silent this long is taken for dead
HEALTH_INTERVAL = 2.0
HEALTH_STALE_AFTER = 10.0  # `worker --check`: a health file older than this is unhealthy
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0
HOLDERS_KEY = "guildhall:job-holders"  # hash: arq job id -> id of the worker running it
HELD_JOB_PREFIXES = ("outbox:", "webhook:")  # the ids of the jobs that record their holder (``held``)
ORPHAN_GRACE = 6.0  # seconds an in-progress key of a held job may go without a holder before it is freed


def heartbeat_key(worker_id: str) -> str:
    return f"guildhall:worker:{worker_id}"


async def live_workers(redis: ArqRedis) -> list[str]:
    """The ids of the workers whose heartbeat is fresh."""
    prefix = heartbeat_key("")
    return [_text(key).removeprefix(prefix) async for key in redis.scan_iter(match=heartbeat_key("*"), count=500)]


async def hold(ctx: dict[str, Any]) -> None:
    """Records that this worker runs the job of ``ctx`` (best effort: without it, arq's timeout frees the job)."""
    worker_id, job_id = ctx.get("worker_id"), ctx.get("job_id")
    if worker_id and job_id and "redis" in ctx:
        with contextlib.suppress(RedisError, OSError):
            await ctx["redis"].hset(HOLDERS_KEY, job_id, worker_id)


async def release(ctx: dict[str, Any]) -> None:
    if ctx.get("worker_id") and ctx.get("job_id") and "redis" in ctx:
        with contextlib.suppress(RedisError, OSError):
            await ctx["redis"].hdel(HOLDERS_KEY, ctx["job_id"])


def held(job: Callable[..., Awaitable[Any]]) -> WorkerCoroutine:
    """A job function that records its holder while it runs (``hold``)."""

    async def run(ctx: dict[str, Any], *args: Any) -> Any:
        await hold(ctx)
        try:
            return await job(ctx, *args)
        finally:
            await release(ctx)

    run.__name__ = run.__qualname__ = job.__name__
    run.__doc__ = job.__doc__
    return run


async def reap_dead_holders(redis: ArqRedis) -> list[str]:
    """Frees the jobs whose holder's heartbeat is gone, for a live worker to run again; returns their ids."""
    holders: dict[bytes | str, bytes | str] = await redis.hgetall(HOLDERS_KEY)  # type: ignore[misc]
    if not holders:
        return []
    workers = sorted({_text(w) for w in holders.values()})
    async with redis.pipeline(transaction=False) as pipe:
        for worker_id in workers:
            pipe.exists(heartbeat_key(worker_id))
        alive = {w for w, exists in zip(workers, await pipe.execute(), strict=True) if exists}
    dead_jobs = [_text(job) for job, worker in holders.items() if _text(worker) not in alive]
    if dead_jobs:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(*(in_progress_key_prefix + job for job in dead_jobs))
            pipe.hdel(HOLDERS_KEY, *dead_jobs)
            await pipe.execute()
        log.warning("took up %d jobs of workers that stopped: %s", len(dead_jobs), dead_jobs[:10])
    return dead_jobs


async def reap_orphans(redis: ArqRedis, unheld_since: dict[str, float], now: float | None = None) -> list[str]:
    """Frees the in-progress keys of held jobs that no worker has claimed for ``ORPHAN_GRACE`` seconds (their
    worker died before recording itself); ``unheld_since`` is this worker's memory of when it first saw each
    unclaimed. Returns the ids freed."""
    now = time.monotonic() if now is None else now
    keys = [
        _text(key)
        for prefix in HELD_JOB_PREFIXES
        async for key in redis.scan_iter(match=f"{in_progress_key_prefix}{prefix}*", count=500)
    ]
    jobs = [key.removeprefix(in_progress_key_prefix) for key in keys]
    holders = {_text(job) for job in await redis.hkeys(HOLDERS_KEY)}  # type: ignore[misc]
    unheld = {job for job in jobs if job not in holders}
    for job in list(unheld_since):
        if job not in unheld:
            del unheld_since[job]
    orphans = []
    for job in unheld:
        first_seen = unheld_since.setdefault(job, now)
        if now - first_seen >= ORPHAN_GRACE:
            orphans.append(job)
    if orphans:
        # Only if still unclaimed: a holder recorded meanwhile keeps its job.
        async with redis.pipeline(transaction=False) as pipe:
            for job in orphans:
                pipe.hexists(HOLDERS_KEY, job)
            claimed = await pipe.execute()
        orphans = [job for job, is_claimed in zip(orphans, claimed, strict=True) if not is_claimed]
        if orphans:
            await redis.delete(*(in_progress_key_prefix + job for job in orphans))
            for job in orphans:
                unheld_since.pop(job, None)
            log.warning("took up %d jobs no worker held: %s", len(orphans), orphans[:10])
    return orphans


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def heartbeat(ctx: dict[str, Any]) -> None:
    """Runs while the worker does: keeps its heartbeat fresh and reaps the jobs of dead workers."""
    redis: ArqRedis = ctx["redis"]
    key = heartbeat_key(ctx["worker_id"])
    unheld_since: dict[str, float] = {}
    while True:
        try:
            await redis.set(key, b"1", px=int(HEARTBEAT_TTL * 1000))
            await reap_dead_holders(redis)
            await reap_orphans(redis, unheld_since)
        except (RedisError, OSError) as exc:  # the worker's poll meets the same outage and ends; supervise restarts
            log.debug("heartbeat failed: %s", exc)
        await asyncio.sleep(HEARTBEAT_INTERVAL)


def start_heartbeat(ctx: dict[str, Any]) -> None:
    ctx.setdefault("worker_id", uuid4().hex)
    if "redis" in ctx and "heartbeat" not in ctx:
        ctx["heartbeat"] = asyncio.create_task(heartbeat(ctx))


async def stop_heartbeat(ctx: dict[str, Any]) -> None:
    task: asyncio.Task[None] | None = ctx.pop("heartbeat", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if "redis" in ctx and "worker_id" in ctx:  # a clean stop: no need to wait for the heartbeat to expire
        with contextlib.suppress(RedisError, OSError):
            await ctx["redis"].delete(heartbeat_key(ctx["worker_id"]))


# --- The supervising loop ------------------------------------------------------------------------------------


class Health:
    """What ``--check`` reads: each dependency's state and whether a worker runs, written to a file."""

    def __init__(self, settings: Settings, path: Path | None) -> None:
        self.settings = settings
        self.path = path
        self.running = False
        self.db: Database | None = None  # the running worker's pool, when there is one
        self.redis = queue.client(settings.redis_url)
        self.state: dict[str, Any] = {}

    async def probe(self) -> dict[str, Any]:
        checks = {"redis": "ok", "postgres": "ok", "worker": "running" if self.running else "restarting"}
        try:
            async with asyncio.timeout(2):
                await self.redis.ping()
        except Exception as exc:
            checks["redis"] = f"unreachable: {type(exc).__name__}"
        try:
            async with asyncio.timeout(2):
                if self.db is not None:
                    async with self.db.connection() as conn:
                        await conn.fetchval("SELECT 1")
                else:
                    import asyncpg

                    conn = await asyncpg.connect(self.settings.database_url, timeout=2, statement_cache_size=0)
                    await conn.close()
        except Exception as exc:
            checks["postgres"] = f"unreachable: {type(exc).__name__}"
        healthy = checks["redis"] == "ok" and checks["postgres"] == "ok" and self.running
        self.state = {"status": "healthy" if healthy else "unhealthy", "checks": checks, "at": time.time()}
        return self.state

    def write(self) -> None:
        if self.path is None:
            return
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(self.state))
        os.replace(temporary, self.path)  # a reader never sees half a file

    async def run(self) -> None:
        while True:
            before = self.state.get("status")
            await self.probe()
            if self.state["status"] != before:
                log.info("worker %s: %s", self.state["status"], self.state["checks"])
            with contextlib.suppress(OSError):
                self.write()
            await asyncio.sleep(HEALTH_INTERVAL)

    async def close(self) -> None:
        await self.redis.aclose()


def read_health(path: Path, now: float | None = None) -> bool:
    """``guildhall worker --check``: True while the file is fresh and says healthy."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    fresh = (now or time.time()) - float(state.get("at", 0)) <= HEALTH_STALE_AFTER
    return fresh and state.get("status") == "healthy"


def lost_dependency(exc: BaseException) -> bool:
    """True when a worker ended because Redis or PostgreSQL went away (then it is started again)."""
    return isinstance(exc, RedisError | OSError | asyncio.TimeoutError) or database_unavailable(exc)


async def close_worker(worker: Worker, grace: float = 10.0) -> None:
    """Ends a worker's jobs (waiting up to ``grace`` seconds for them), its start-up's resources and its pool,
    without arq's ``close`` (which calls a deprecated Redis close and fails while Redis is away)."""
    tasks = list(worker.tasks.values())
    if tasks:
        _done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    on_shutdown = worker.on_shutdown
    if on_shutdown is not None and "redis" in worker.ctx:
        with contextlib.suppress(Exception):
            await on_shutdown(worker.ctx)
    pool = worker._pool
    if pool is not None:
        with contextlib.suppress(Exception):
            await pool.aclose()
        worker._pool = None


async def supervise(
    settings: Settings,
    make_worker: Callable[[], Worker],
    health_file: Path | None = None,
) -> None:
    """Runs a worker until cancelled (SIGINT/SIGTERM), building a new one whenever one ends on an outage."""
    health = Health(settings, health_file)
    monitor = asyncio.create_task(health.run())
    backoff = BACKOFF_FIRST
    try:
        while True:
            worker = make_worker()
            started = time.monotonic()
            try:
                health.running = True
                await _run_and_watch(worker, health)
                return  # a burst worker that finished
            except Exception as exc:
                if not lost_dependency(exc):
                    raise
                log.warning("worker stopped: %s: %s; starting again in %.1f s", type(exc).__name__, exc, backoff)
            finally:
                health.running = False
                health.db = None
                await close_worker(worker)
            if time.monotonic() - started > 60:  # it ran a while: the next outage starts the backoff afresh
                backoff = BACKOFF_FIRST
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
    finally:
        monitor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await monitor
        await health.close()


async def _run_and_watch(worker: Worker, health: Health) -> None:
    main = asyncio.create_task(worker.main())
    try:
        while not main.done():
            health.db = worker.ctx.get("db")
            await asyncio.wait([main], timeout=0.5)
    finally:
        if not main.done():  # cancelled: a stop
            main.cancel()
            await asyncio.gather(main, return_exceptions=True)
    main.result()
