"""Work held by a worker that died is taken up within seconds, once, in order.

Real `guildhall worker` processes are killed with SIGKILL (no shutdown, no cleanup) while they hold work:

- mid-chunk: a sweep's chunk of passes being issued in one transaction (held at its insert by the test's lock
  on the credentials table, so that the kill lands inside it every time). arq keeps such a job behind its
  ``arq:in-progress`` key until the job's timeout (minutes); the survivors' reaper frees it as soon as the
  dead worker's heartbeat is gone, and PostgreSQL (which rolled the dead transaction back) lets it be
  issued exactly once.
- mid-delivery, during a burst of issue-then-suspend events: the receiver holds the first request open
  when both workers die. The delivery is retried at once by the workers started after (not after its
  lease, not after arq's hour), every subject's ``credential.suspended`` arrives after its
  ``credential.issued``, and nothing arrives twice but what the dead workers had claimed and not recorded.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from api import queue, worker_supervision
from api.app import create_app
from api.settings import Settings
from domain.db import Database
from domain.writes import Actor, write
from tests.conftest import BASE_URL, Bootstrap
from tests.fault_servers import OwnRedis, WorkerProcess
from tests.scenarios import Classroom, classroom
from tests.test_worker_outages import eventually, health, worker_env
from tests.webhook_receiver import Answer, Receiver
from tests.worker_harness import PASSING, credentials, enrol_learners, live, passed_attempts, record, undone

RECOVERY_LIMIT = 30.0  # seconds after the restart by which everything must be through
DEAD_REDIS = "redis://127.0.0.1:1/0"
# Not the sweep's own cron job (cron:sweep_outbox:…): killed there, the worker holds no chunk yet.
CHUNK_IN_PROGRESS = "arq:in-progress:outbox:"


@pytest.fixture
async def own_redis() -> AsyncIterator[OwnRedis]:
    redis = OwnRedis()
    await redis.start()
    yield redis
    redis.stop()


@pytest.fixture
async def env(isolated_database_url: str, settings: Settings, own_redis: OwnRedis) -> Settings:
    return dataclasses.replace(settings, database_url=isolated_database_url, redis_url=own_redis.url)


class Workers:
    """`guildhall worker` processes started and killed by the test; all stopped at the end."""

    def __init__(self, settings: Settings, directory: Path) -> None:
        self.settings = settings
        self.directory = directory
        self.started: list[WorkerProcess] = []

    def start(self) -> WorkerProcess:
        n = len(self.started)
        worker = WorkerProcess(
            worker_env(self.settings, self.directory / f"health-{n}.json"), self.directory / f"worker-{n}.log"
        )
        worker.start()
        self.started.append(worker)
        return worker

    async def up(self, *workers: WorkerProcess) -> float:
        """Waits until these (re)started workers report healthy, and answers when that was (time.monotonic()).
        Recovery is timed from there: a process's own start-up (imports, pool, first sweep scheduled), which a
        loaded CI machine stretches severalfold, is not the recovery under test."""
        health_files = [self.directory / f"health-{self.started.index(w)}.json" for w in workers]

        async def all_healthy() -> bool:
            return all(health(path).get("status") == "healthy" for path in health_files)

        await eventually(all_healthy, 60, "the restarted workers report healthy")
        return time.monotonic()

    def logs(self) -> str:
        return "\n".join(w.log.read_text()[-2000:] for w in self.started if w.log.exists())

    def stop(self) -> None:
        for worker in self.started:
            worker.stop()


@pytest.fixture
def workers(env: Settings, tmp_path: Path) -> Any:
    running = Workers(env, tmp_path)
    yield running
    running.stop()


async def in_progress(redis_url: str) -> list[str]:
    settings = queue.redis_settings(redis_url)
    redis = Redis(host=settings.host, port=settings.port)
    try:
        return [key.decode() for key in await redis.keys("arq:in-progress:*")]
    finally:
        await redis.aclose()


async def where_the_work_is(db: Database, redis_url: str) -> str:
    """What a failure report needs: the events not done, arq's queue, its in-progress keys and their holders."""
    settings = queue.redis_settings(redis_url)
    redis = Redis(host=settings.host, port=settings.port, decode_responses=True)
    try:
        queued = await redis.zrange("arq:queue", 0, -1, withscores=True)
        progress = await redis.keys("arq:in-progress:*")
        holders = await redis.hgetall(worker_supervision.HOLDERS_KEY)  # type: ignore[misc]
        beating = await redis.keys(worker_supervision.heartbeat_key("*"))
    finally:
        await redis.aclose()
    async with db.connection() as conn:
        events = await conn.fetch(
            "SELECT id, topic, created_at, dispatched_at FROM outbox WHERE done_at IS NULL ORDER BY id LIMIT 20"
        )
    return (
        f"undone events: {[dict(e) for e in events]}\nqueued: {queued}\nin progress: {progress}\n"
        f"holders: {holders}\nheartbeats: {beating}"
    )


async def transactions_waiting_for_a_lock(db: Database) -> int:
    async with db.connection() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND xact_start IS NOT NULL AND wait_event_type = 'Lock'"
        )
    return count


async def test_a_worker_killed_mid_chunk_leaves_its_passes_to_be_issued_once_within_seconds(
    env: Settings, workers: Workers
) -> None:
    db = await Database.connect(env.database_url, min_size=1, max_size=2)
    try:
        # Passes recorded while nothing could be dispatched: the worker's start-up sweep hands them out in chunks.
        blind = dataclasses.replace(env, redis_url=DEAD_REDIS)
        async with AsyncTestClient(app=create_app(blind), base_url=BASE_URL) as client:
            room: Classroom = await classroom(client, Bootstrap(db, client))
            for learner in await enrol_learners(client, room, 60):
                await record(client, room, learner, PASSING)
        attempts = await passed_attempts(db)
        async with db.connection() as conn:  # past the sweep's grace for the API's own dispatch
            await conn.execute("UPDATE outbox SET created_at = now() - interval '1 minute'")

        # The chunk's batch issues all its passes in one transaction, in a tenth of a second: to kill the worker
        # inside it every time, the test holds the credentials table (a SHARE lock: reads go on, inserts wait) until
        # the worker is dead. PostgreSQL rolls the dead worker's transaction back once it may go on.
        holder = await asyncpg.connect(env.database_url)
        blocker = holder.transaction()
        await blocker.start()
        await holder.execute("LOCK TABLE credentials IN SHARE MODE")
        first = workers.start()

        async def chunks_held() -> list[str]:  # a chunk's job id: outbox:<first>..<last>:<count>:sweep<time>
            return [k for k in await in_progress(env.redis_url) if k.startswith(CHUNK_IN_PROGRESS)]

        async def mid_chunk() -> bool:
            return bool(await chunks_held()) and await transactions_waiting_for_a_lock(db) > 0

        try:
            await eventually(mid_chunk, 30, "the worker holding a chunk in a transaction")
            first.kill()
        finally:
            await blocker.rollback()
            await holder.close()
        held = await chunks_held()
        assert held, "the kill came too late: the worker held no chunk"
        issued_before = len([c for c in live(await credentials(db)) if c.kind == "unit"])
        assert issued_before == 0 < len(attempts)

        restarted = await workers.up(workers.start())

        async def all_issued() -> bool:
            units = [c for c in live(await credentials(db)) if c.kind == "unit"]
            return len(units) >= len(attempts) and await undone(db) == []

        took = await eventually(all_issued, RECOVERY_LIMIT, "every pass issued after the restart")
        print(f"\nkilled mid-chunk ({len(held)} jobs held); all {len(attempts)} issued {took:.1f} s after the restart")
        units = [c for c in await credentials(db) if c.kind == "unit"]
        assert Counter(c.attempt_id for c in units) == Counter(attempts)  # one each: nothing lost, nothing doubled
        assert time.monotonic() - restarted < RECOVERY_LIMIT
    except AssertionError:
        print(workers.logs())
        print(await where_the_work_is(db, env.redis_url))
        raise
    finally:
        await db.close()


# --- Mid-delivery, and the order of each subject's events ------------------------------------------------------

SUBJECTS = 30


async def emit(db: Database, redis_url: str, topic: str, subject: str, audience: UUID) -> None:
    """An event as a service writes it (in its own transaction), dispatched at commit."""
    settings = queue.redis_settings(redis_url)
    redis = queue.client(redis_url)
    try:
        async with write(db, Actor(request_id="test-dead-workers"), dispatcher=queue.JobQueue(redis)) as w:
            await w.emit(topic, subject, audience, {"id": subject, "audience": [str(audience)]})
    finally:
        await redis.aclose()
    del settings


async def test_a_worker_killed_mid_delivery_during_a_burst_keeps_each_subjects_order_and_sends_all_once(
    env: Settings, workers: Workers
) -> None:
    receiver = await Receiver(script=[Answer(delay=120)]).start()  # the first request hangs: a worker is mid-delivery
    db = await Database.connect(env.database_url, min_size=1, max_size=4)
    try:
        async with AsyncTestClient(app=create_app(env), base_url=BASE_URL) as client:
            bootstrap = Bootstrap(db, client)
            admin = await bootstrap.integrator(["webhooks:manage"])
            subscribed = await client.post(
                f"/organisations/{admin.org_id}/webhook-endpoints",
                json={"url": receiver.url(), "eventTypes": ["credential.issued", "credential.suspended"]},
                headers=admin.headers,
            )
            assert subscribed.status_code == 201, subscribed.text
        dying = [workers.start(), workers.start()]
        await eventually(lambda: _nothing_undone(db), 30, "the setup's events handled")

        subjects = [str(uuid4()) for _ in range(SUBJECTS)]
        killed_at = None
        in_flight: set[str] = set()
        for n, subject in enumerate(subjects):  # the burst: each subject issued, then suspended at once
            await emit(db, env.redis_url, "credential.issued", subject, admin.org_id)
            await emit(db, env.redis_url, "credential.suspended", subject, admin.org_id)
            if n == SUBJECTS // 3:  # a third through the burst: both workers die while one holds a delivery
                await eventually(lambda: _hanging(receiver), 10, "a delivery in flight")
                for worker in dying:
                    worker.kill()
                killed_at = n
                async with db.connection() as conn:  # what the dead workers held: claimed, its outcome unrecorded
                    in_flight = {
                        "msg_" + row["id"].hex
                        for row in await conn.fetch(
                            "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND lease IS NOT NULL"
                        )
                    }
        assert killed_at is not None, "no delivery was in flight to kill"

        restarted = await workers.up(workers.start(), workers.start())

        async def all_delivered() -> bool:
            async with db.connection() as conn:
                left = await conn.fetchval("SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'")
                total = await conn.fetchval("SELECT count(*) FROM webhook_deliveries")
            return left == 0 and total == 2 * SUBJECTS and await undone(db) == []

        took = await eventually(all_delivered, RECOVERY_LIMIT, "every delivery made after the restart")
        print(f"\nkilled both workers mid-delivery after {killed_at + 1} subjects; all delivered {took:.1f} s after")

        ids = Counter(r.headers["webhook-id"] for r in receiver.requests)
        assert len(ids) == 2 * SUBJECTS
        repeated = {i: n for i, n in ids.items() if n > 1}
        # Only what a dead worker had claimed and not recorded arrives again (at least once is the promise: it may
        # have reached the receiver), and only once more; nothing recorded as delivered is sent twice.
        assert set(repeated) <= in_flight and all(n == 2 for n in repeated.values()), (repeated, in_flight)
        first_arrival: dict[tuple[str, str], float] = {}
        for r in receiver.requests:
            message = r.message
            first_arrival.setdefault((message["data"]["id"], message["type"]), r.at)
        out_of_order = [
            s for s in subjects if first_arrival[(s, "credential.suspended")] < first_arrival[(s, "credential.issued")]
        ]
        assert out_of_order == []
        assert time.monotonic() - restarted < RECOVERY_LIMIT
    except AssertionError:
        print(workers.logs())
        raise
    finally:
        await receiver.stop()
        await db.close()


async def _nothing_undone(db: Database) -> bool:
    return await undone(db) == []


async def _hanging(receiver: Receiver) -> bool:
    return len(receiver.requests) >= 1


async def test_the_reaper_frees_only_the_jobs_of_workers_whose_heartbeat_is_gone(own_redis: OwnRedis) -> None:
    from api.worker_supervision import HOLDERS_KEY, heartbeat_key, reap_dead_holders

    redis = queue.client(own_redis.url)
    try:
        await redis.set(heartbeat_key("alive"), b"1", px=5000)
        await redis.hset(HOLDERS_KEY, mapping={"job-a": "alive", "job-b": "dead", "job-c": "dead"})  # type: ignore[misc]
        for job in ("job-a", "job-b", "job-c"):
            await redis.set(f"arq:in-progress:{job}", b"1", px=300_000)
        assert sorted(await reap_dead_holders(redis)) == ["job-b", "job-c"]
        assert await redis.exists("arq:in-progress:job-a") == 1
        assert await redis.exists("arq:in-progress:job-b", "arq:in-progress:job-c") == 0
        assert await redis.hkeys(HOLDERS_KEY) == [b"job-a"]  # type: ignore[misc]
        assert await reap_dead_holders(redis) == []
    finally:
        await redis.aclose()


async def test_an_in_progress_job_no_worker_ever_held_is_freed_after_the_grace(own_redis: OwnRedis) -> None:
    """A worker killed between arq's in-progress mark and the job recording its holder: the key is freed once it
    has gone unclaimed for ORPHAN_GRACE seconds; a job that records a holder meanwhile, or one of the jobs that
    never record one (the sweeps), is left alone."""
    from api.worker_supervision import HOLDERS_KEY, ORPHAN_GRACE, reap_orphans

    redis = queue.client(own_redis.url)
    try:
        for job in ("outbox:7", "webhook:d:0", "outbox:8", "cron:sweep_outbox"):
            await redis.set(f"arq:in-progress:{job}", b"1", px=300_000)
        seen: dict[str, float] = {}
        assert await reap_orphans(redis, seen, now=100.0) == []  # first seen: within the grace
        await redis.hset(HOLDERS_KEY, "outbox:8", "alive")  # type: ignore[misc]
        freed = await reap_orphans(redis, seen, now=100.0 + ORPHAN_GRACE)
        assert sorted(freed) == ["outbox:7", "webhook:d:0"]
        assert await redis.exists("arq:in-progress:outbox:7", "arq:in-progress:webhook:d:0") == 0
        assert await redis.exists("arq:in-progress:outbox:8", "arq:in-progress:cron:sweep_outbox") == 2
        assert seen == {}
    finally:
        await redis.aclose()
