"""Processes that outlive their dependencies: a real `guildhall worker` process and the API, with a Redis and a
PostgreSQL of the test's own stopped and started under them.

- Redis away: the API keeps recording (201) and stays ready, reporting Redis degraded; the worker keeps
  running, says it is unhealthy, and once Redis is back issues everything recorded meanwhile, once.
- PostgreSQL away (fast, smart, immediate shutdown): the API answers 503 with Retry-After and a problem
  naming the database, never 500; within 2 s of the restart it serves again, and the worker goes on. So do
  keyed recordings, which take the batched short way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from domain.db import Database, database_unavailable
from tests.conftest import BASE_URL, TEST_MASTER_KEY, Bootstrap
from tests.fault_servers import OwnPostgres, OwnRedis, WorkerProcess
from tests.scenarios import Classroom, classroom
from tests.worker_harness import PASSING, credentials, enrol_learners, live, passed_attempts, record, undone


def worker_env(settings: Settings, health_file: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "GUILDHALL_MASTER_KEY": TEST_MASTER_KEY,
        "GUILDHALL_PUBLIC_URL": BASE_URL,
        "GUILDHALL_ENV": "test",
        "GUILDHALL_WORKER_HEALTH_FILE": str(health_file),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",  # a killed worker's log keeps its last lines
    }


def check(settings: Settings, health_file: Path) -> int:
    """The exit status of `guildhall worker --check`."""
    done = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", "worker", "--check"],
        env={**os.environ, **worker_env(settings, health_file)},
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode


def health(path: Path) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> float:
    """Waits until ``check`` holds; returns the seconds it took."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


@pytest.fixture
async def own_redis() -> AsyncIterator[OwnRedis]:
    redis = OwnRedis()
    await redis.start()
    yield redis
    redis.stop()


def one_live_unit_credential_per_pass(issued: list[Any], attempts: list[Any]) -> bool:
    units = [c for c in live(issued) if c.kind == "unit"]
    return sorted(str(c.attempt_id) for c in units) == sorted(str(a) for a in attempts)


async def test_a_worker_survives_redis_going_away_and_issues_what_was_recorded_meanwhile(
    isolated_database_url: str, settings: Settings, own_redis: OwnRedis, tmp_path: Path
) -> None:
    settings = dataclasses.replace(settings, database_url=isolated_database_url, redis_url=own_redis.url)
    health_file = tmp_path / "worker-health.json"
    worker = WorkerProcess(worker_env(settings, health_file), tmp_path / "worker.log")
    db = await Database.connect(isolated_database_url, min_size=1, max_size=2)
    worker.start()
    try:
        async with AsyncTestClient(app=create_app(settings), base_url=BASE_URL) as client:
            room: Classroom = await classroom(client, Bootstrap(db, client))
            learners = await enrol_learners(client, room, 6)
            await eventually(lambda: _healthy(health_file), 30, "the worker reports healthy")
            for learner in learners[:2]:
                await record(client, room, learner, PASSING)

            async def issued_so_far() -> bool:
                return one_live_unit_credential_per_pass(await credentials(db), await passed_attempts(db))

            await eventually(issued_so_far, 30, "the first passes issued")

            own_redis.stop()
            for learner in learners[2:]:  # the API keeps recording
                await record(client, room, learner, PASSING)
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["status"] == "degraded"
            assert ready.json()["checks"]["redis"].startswith("degraded")
            assert ready.json()["checks"]["postgres"] == "ok"

            async def unhealthy() -> bool:
                return health(health_file).get("status") == "unhealthy"

            await eventually(unhealthy, 10, "the worker reports itself unhealthy while Redis is away")
            assert health(health_file)["checks"]["redis"].startswith("unreachable")
            assert check(settings, health_file) == 1  # `guildhall worker --check`, as compose runs it
            await asyncio.sleep(3)  # an outage of several seconds: the worker must not exit
            assert worker.alive, (tmp_path / "worker.log").read_text()[-3000:]
            assert await credentials(db) == [] or not await issued_so_far()  # the later passes wait

            await own_redis.start()  # empty: the queue is gone, the outbox is not
            back = time.monotonic()
            await eventually(lambda: _healthy(health_file), 15, "the worker healthy again")
            assert check(settings, health_file) == 0
            await eventually(issued_so_far, 30, "everything recorded during the outage issued")
            took = time.monotonic() - back
            await eventually(lambda: _nothing_undone(db), 30, "the outbox worked off")
            assert len(await passed_attempts(db)) == len(learners)
            print(f"issued {took:.1f} s after Redis came back")
            assert (await client.get("/readyz")).json()["status"] == "ready"
    finally:
        worker.stop()
        await db.close()
    assert worker.process is not None and worker.process.returncode == 0  # a clean stop on SIGTERM


async def _nothing_undone(db: Database) -> bool:
    return await undone(db) == []


async def _healthy(path: Path) -> bool:
    return health(path).get("status") == "healthy"


# --- PostgreSQL away -------------------------------------------------------------------------------------------


@pytest.fixture
async def own_postgres() -> AsyncIterator[OwnPostgres]:
    # Not under pytest's tmp_path: the postgres system user must reach it.
    server = OwnPostgres(Path(tempfile.mkdtemp(prefix="guildhall-pg-")))
    await server.create()
    yield server
    server.destroy()


@pytest.mark.parametrize("mode", ["fast", "smart", "immediate"])
async def test_while_postgres_is_away_the_api_answers_503_and_serves_within_2_s_of_its_return(
    mode: str, own_postgres: OwnPostgres, settings: Settings
) -> None:
    # A smart shutdown waits until every session has ended: a pool that keeps none open when idle (DB_POOL_MIN=0)
    # lets it finish once its connections have been idle for domain.db.MAX_INACTIVE_SECONDS.
    settings = dataclasses.replace(settings, database_url=own_postgres.url, db_pool_min=0 if mode == "smart" else 1)
    db = await Database.connect(own_postgres.url, min_size=1, max_size=2)
    try:
        async with AsyncTestClient(app=create_app(settings), base_url=BASE_URL) as client:
            reader = await Bootstrap(db, client).integrator(["organisations:read"])
            await db.close()
            url = f"/organisations/{reader.org_id}"
            assert (await client.get(url, headers=reader.headers)).status_code == 200
            # Connections in the pool, idle: the shutdown ends them under the pool's feet.
            await asyncio.gather(*(client.get(url, headers=reader.headers) for _ in range(4)))

            await asyncio.to_thread(own_postgres.stop, mode)
            for _ in range(5):
                away = await client.get(url, headers=reader.headers)
                assert away.status_code == 503, away.text
                assert away.headers["retry-after"] == "2"
                assert away.headers["content-type"].startswith("application/problem+json")
                assert "database" in away.json()["detail"].lower()
                assert away.json()["type"] == "urn:guildhall:problem:database-unavailable"
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and "postgres" in ready.json()["detail"]

            await own_postgres.start()
            back = time.monotonic()
            statuses = []
            while True:
                response = await client.get(url, headers=reader.headers)
                statuses.append(response.status_code)
                if response.status_code == 200:
                    break
                assert response.status_code == 503, response.text
                assert time.monotonic() - back < 2, statuses
                await asyncio.sleep(0.05)
            assert time.monotonic() - back < 2
            print(f"\n{mode}: served again {time.monotonic() - back:.2f} s after PostgreSQL was back: {statuses}")
            # Every pooled connection works again: none that the restart killed is handed out.
            answers = await asyncio.gather(*(client.get(url, headers=reader.headers) for _ in range(8)))
            assert [a.status_code for a in answers] == [200] * 8
            assert (await client.get("/readyz")).status_code == 200
    finally:
        await db.close()


async def test_a_worker_survives_postgres_restarting_and_goes_on_issuing(
    own_postgres: OwnPostgres, own_redis: OwnRedis, settings: Settings, tmp_path: Path
) -> None:
    settings = dataclasses.replace(settings, database_url=own_postgres.url, redis_url=own_redis.url)
    health_file = tmp_path / "worker-health.json"
    worker = WorkerProcess(worker_env(settings, health_file), tmp_path / "worker.log")
    db = await Database.connect(own_postgres.url, min_size=1, max_size=2)
    worker.start()
    try:
        async with AsyncTestClient(app=create_app(settings), base_url=BASE_URL) as client:
            room: Classroom = await classroom(client, Bootstrap(db, client))
            learners = await enrol_learners(client, room, 4)
            await eventually(lambda: _healthy(health_file), 30, "the worker reports healthy")
            for learner in learners[:2]:
                await record(client, room, learner, PASSING)

            async def all_issued() -> bool:
                return one_live_unit_credential_per_pass(await credentials(db), await passed_attempts(db))

            await eventually(all_issued, 30, "the first passes issued")

            await asyncio.to_thread(own_postgres.stop, "fast")

            async def postgres_unhealthy() -> bool:
                state = health(health_file)
                return state.get("status") == "unhealthy" and "unreachable" in state["checks"]["postgres"]

            await eventually(postgres_unhealthy, 10, "the worker reports PostgreSQL unreachable")
            await asyncio.sleep(2)
            assert worker.alive, (tmp_path / "worker.log").read_text()[-3000:]

            await own_postgres.start()
            await eventually(lambda: _healthy(health_file), 10, "the worker healthy again")
            for learner in learners[2:]:
                await record(client, room, learner, PASSING)
            took = await eventually(all_issued, 15, "the passes after the restart issued")
            print(f"issued {took:.1f} s after recording, PostgreSQL restarted under the worker")
            await eventually(lambda: _nothing_undone(db), 30, "the outbox worked off")
            assert len(await passed_attempts(db)) == len(learners)
    finally:
        worker.stop()
        await db.close()
    assert worker.process is not None and worker.process.returncode == 0


async def test_recordings_sent_together_answer_503_while_postgres_is_away_and_201_within_2_s_of_its_return(
    own_postgres: OwnPostgres, settings: Settings
) -> None:
    """Keyed recordings the short way (domain/attempts/batching.py) while PostgreSQL goes away under them: each gets
    503 (never 500), and once it is back no lost connection is used again: recordings are stored within 2 s."""
    from tests.test_attempts_keyed_one_round_trip import OUTCOMES, keyed
    from tests.test_attempts_keyed_one_round_trip import classroom as outcome_classroom
    from tests.test_attempts_one_round_trip import judged

    settings = dataclasses.replace(settings, database_url=own_postgres.url)
    db = await Database.connect(own_postgres.url, min_size=1, max_size=2)
    try:
        async with AsyncTestClient(app=create_app(settings), base_url=BASE_URL) as client:
            provider, learner_id, enrolment_id = await outcome_classroom(client, Bootstrap(db, client), OUTCOMES)
            await db.close()
            url, body = f"/organisations/{provider.org_id}/attempts", judged(learner_id, enrolment_id)
            statuses: list[tuple[float, int]] = []
            keys = iter(range(1_000_000))
            stop = asyncio.Event()

            async def recording() -> None:
                while not stop.is_set():
                    answer = await client.post(url, json=body, headers=keyed(provider, f"k{next(keys)}"))
                    statuses.append((time.monotonic(), answer.status_code))
                    if answer.status_code == 503:
                        assert answer.headers["retry-after"] == "2", answer.text
                    await asyncio.sleep(0.005)  # the test client blocks this loop while the app answers

            async def answered(status: int, after: float, count: int) -> bool:
                return sum(s == status for t, s in statuses if t > after) >= count

            senders = [asyncio.create_task(recording()) for _ in range(6)]
            await eventually(lambda: answered(201, 0, 50), 30, "recordings before the outage")
            await asyncio.to_thread(own_postgres.stop, "fast")
            away = time.monotonic()
            await eventually(lambda: answered(503, away, 1), 10, "a 503")
            await own_postgres.start()
            back = time.monotonic()
            await eventually(lambda: answered(201, back, 20), 10, "201 again")
            stop.set()
            await asyncio.gather(*senders)
    finally:
        await db.close()

    assert {s for _, s in statuses} <= {201, 503}, sorted({s for _, s in statuses})
    first_again = min(t for t, s in statuses if t > back and s == 201)
    print(f"\nrecording again {first_again - back:.2f} s after PostgreSQL was back")
    assert first_again - back < 2
    assert all(s == 201 for t, s in statuses if t > first_again + 0.5)  # no lost connection handed out again


def test_a_connection_caught_by_the_shutdown_message_counts_as_the_database_away() -> None:
    """asyncpg refuses a statement, before sending it, on a pooled connection still consuming the server's shutdown
    message (its state 2): the database is going away (503). Another operation in progress is not that."""
    refused = asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress")
    assert database_unavailable(refused)
    busy = asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (12) is in progress")
    assert not database_unavailable(busy)
