"""Real arq workers in-process for fault tests: burst runs, the sweep, and what the outbox and the
credentials tables hold afterwards. Nothing here is a mock: PostgreSQL, Redis and arq are the real ones."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from arq.connections import ArqRedis
from arq.worker import Worker
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api import worker as worker_module
from api.settings import Settings
from domain import outbox
from domain.db import Database
from tests.scenarios import Classroom
from tests.test_attempts import welding

PASSING = welding("l3", "l4", 10)
FAILING = welding("l1", "l1", 0)


def handler_context(settings: Settings) -> outbox.HandlerContext:
    """What the worker's start-up puts in ``ctx["handler_context"]``."""
    return worker_module.handler_context(settings)


def worker(redis: ArqRedis, db: Database, context: outbox.HandlerContext, **options: Any) -> Worker:
    """A burst worker with the production functions, on a pool and a database the test owns."""
    return Worker(
        functions=worker_module.FUNCTIONS,
        redis_pool=redis,
        burst=True,
        poll_delay=0,
        handle_signals=False,
        ctx={"db": db, "handler_context": context},
        **options,
    )


async def run_worker(redis: ArqRedis, db: Database, context: outbox.HandlerContext, **options: Any) -> Worker:
    w = worker(redis, db, context, **options)
    await w.main()
    return w


@contextlib.asynccontextmanager
async def running_worker(settings: Settings, **overrides: Any) -> AsyncIterator[Worker]:
    """The worker `guildhall worker` runs (its start-up, its own pools), polling Redis beside the test until the
    block ends. ``cron_jobs=[]`` leaves the sweeps out: then only a dispatch at commit moves an event on."""
    running = worker_module.create_worker(settings, handle_signals=False, **overrides)
    task = asyncio.create_task(running.main())
    try:
        async with asyncio.timeout(30):
            while "db" not in running.ctx:  # its start-up has connected
                assert not task.done(), task
                await asyncio.sleep(0.02)
        yield running
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # arq's own close() calls a deprecated redis close: the same steps by hand.
        for job in running.tasks.values():
            job.cancel()
        await asyncio.gather(*running.tasks.values(), return_exceptions=True)
        await _arq_finishing()
        await worker_module.shutdown(running.ctx)
        await running.pool.aclose()


async def _arq_finishing() -> None:
    """Waits for the results arq is still writing. arq writes a job's result under ``asyncio.shield``: a job cancelled
    while its result is being written (a test that ends as soon as the job's work is seen, a mail received, is cancelled
    in that window) leaves the write running on its own, a Redis pipeline open, which can outlive the pool's close and
    the test's event loop, and then be reported as an unclosed client when it is collected, in whichever test runs
    then (seen once in CI, in a later test)."""
    finishing = [
        task
        for task in asyncio.all_tasks()
        if not task.done()
        and getattr(task.get_coro(), "__qualname__", "") in ("Worker.finish_job", "Worker.finish_failed_job")
    ]
    if finishing:
        await asyncio.wait(finishing, timeout=10)


async def undone(db: Database) -> list[int]:
    async with db.connection() as conn:
        return [r["id"] for r in await conn.fetch("SELECT id FROM outbox WHERE done_at IS NULL ORDER BY id")]


async def past_the_grace(db: Database) -> None:
    """Ages every undispatched event past the sweep's grace (the API's own dispatch is not marked)."""
    async with db.connection() as conn:
        await conn.execute(
            "UPDATE outbox SET created_at = now() - interval '1 minute' WHERE done_at IS NULL AND dispatched_at IS NULL"
        )


async def work_off(
    redis: ArqRedis, dbs: list[Database], context: outbox.HandlerContext, rounds: int = 6
) -> list[Worker]:
    """Runs one burst worker per database at once until the outbox is empty; what a burst leaves (a
    follow-up queued as it stopped, an event nobody dispatched) goes to the sweep, as in production."""
    workers: list[Worker] = []
    for _ in range(rounds):
        batch = [worker(redis, db, context) for db in dbs]
        await asyncio.gather(*(w.main() for w in batch))
        workers += batch
        if not await undone(dbs[0]):
            return workers
        await past_the_grace(dbs[0])
        await worker_module.sweep_outbox({"db": dbs[0], "redis": redis})
    raise AssertionError(f"outbox events still undone after {rounds} rounds: {await undone(dbs[0])}")


@dataclass(frozen=True)
class Issued:
    id: UUID
    kind: str
    attempt_id: UUID | None
    learner_id: UUID
    unit_key: str | None
    state: str
    signatures: int
    status_number: int | None
    status_index: int | None
    replaces: UUID | None
    revocation_reason: str | None
    stands_on: list[UUID]


async def credentials(db: Database) -> list[Issued]:
    async with db.connection() as conn:
        rows = await conn.fetch(
            """
            SELECT c.id, c.kind, c.attempt_id, c.learner_id, c.unit_key, c.state, c.status_number, c.status_index,
                   c.replaces_credential_id AS replaces, c.revocation_reason, c.stands_on,
                   (SELECT count(*) FROM credential_signatures s WHERE s.credential_id = c.id) AS signatures
            FROM credentials c ORDER BY c.created_at, c.id
            """
        )
    return [Issued(**dict(r)) for r in rows]


def live(issued: list[Issued]) -> list[Issued]:
    return [c for c in issued if c.state in ("held", "awaiting_cosignature", "issued")]


async def passed_attempts(db: Database) -> list[UUID]:
    async with db.connection() as conn:
        return [r["id"] for r in await conn.fetch("SELECT id FROM attempts WHERE passed ORDER BY created_at, id")]


async def event_of(db: Database, topic: str, attempt_id: UUID | str) -> int:
    async with db.connection() as conn:
        event_id: int | None = await conn.fetchval(
            "SELECT id FROM outbox WHERE topic = $1 AND payload->>'attemptId' = $2", topic, str(attempt_id)
        )
    assert event_id is not None, f"no {topic} event for attempt {attempt_id}"
    return event_id


async def enrol_learners(client: AsyncTestClient[Litestar], room: Classroom, count: int) -> list[tuple[str, str]]:
    """``count`` more learners enrolled in the classroom's programme: (learner id, enrolment id) each."""
    learners = f"/organisations/{room.provider.org_id}/learners"
    enrolled = []
    for n in range(count):
        learner = await client.post(
            learners,
            headers=room.provider.headers,
            json={
                "name": f"Learner {n}",
                "email": f"learner{n}@example.de",
                "identifiers": [{"scheme": "student_number", "value": f"F-{n}"}],
            },
        )
        assert learner.status_code == 201, learner.text
        enrolment = await client.post(
            f"{learners}/{learner.json()['id']}/enrolments",
            json={"programmeId": room.programme_id},
            headers=room.provider.headers,
        )
        assert enrolment.status_code == 201, enrolment.text
        enrolled.append((learner.json()["id"], enrolment.json()["id"]))
    return enrolled


async def record(
    client: AsyncTestClient[Litestar], room: Classroom, learner: tuple[str, str], submission: dict[str, Any]
) -> dict[str, Any]:
    body = {**room.attempt(submission), "learnerId": learner[0], "enrolmentId": learner[1]}
    response = await client.post(room.attempts_url, json=body, headers=room.provider.headers)
    assert response.status_code == 201, response.text
    attempt: dict[str, Any] = response.json()
    return attempt


async def correct(
    client: AsyncTestClient[Litestar], room: Classroom, attempt_id: str, submission: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        f"{room.attempts_url}/{attempt_id}/corrections",
        json={"reason": "Scored from the wrong specimen", "submission": submission},
        headers=room.provider.headers,
    )
    assert response.status_code == 201, response.text
    attempt: dict[str, Any] = response.json()
    return attempt
