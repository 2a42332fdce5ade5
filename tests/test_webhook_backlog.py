"""When a failing webhook endpoint answers again, its backlog is sent promptly, in order per subject.

A real receiver is down while a burst of issue-then-suspend events is recorded; every subject's first delivery
fails twice and waits two minutes for its next try (the later events of each subject wait behind it). The
receiver comes back; the next event's delivery succeeds, and that success brings the endpoint's backlog
forward: everything is delivered within seconds, not on each delivery's old timer, each subject in order.
The drain rate is printed (bench/README.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from uuid import UUID, uuid4

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api import queue
from api.settings import Settings
from domain.db import Database
from domain.writes import Actor, write
from tests.conftest import Bootstrap
from tests.webhook_receiver import Receiver, free_port
from tests.worker_harness import running_worker

SUBJECTS = 150
# A first retry after a second, then two minutes: the backlog would wait that long without being brought forward.
SCHEDULE = (1.0, 120.0, 600.0)
DRAIN_LIMIT = 30.0


async def emit(db: Database, dispatcher: queue.JobQueue, topic: str, subject: str, audience: UUID) -> None:
    async with write(db, Actor(request_id="test-webhook-backlog"), dispatcher=dispatcher) as w:
        await w.emit(topic, subject, audience, {"id": subject, "audience": [str(audience)]})


async def count(db: Database, sql: str) -> int:
    async with db.connection() as conn:
        value: int = await conn.fetchval(sql)
    return value


async def test_a_backlog_drains_promptly_in_order_once_the_endpoint_answers_again(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    settings = dataclasses.replace(settings, webhook_retry_schedule=SCHEDULE)
    receiver = Receiver(port=free_port())  # not started: the endpoint is down
    admin = await bootstrap.integrator(["webhooks:manage"])
    subscribed = await client.post(
        f"/organisations/{admin.org_id}/webhook-endpoints",
        json={"url": receiver.url(), "eventTypes": ["credential.issued", "credential.suspended"]},
        headers=admin.headers,
    )
    assert subscribed.status_code == 201, subscribed.text
    redis = queue.client(settings.redis_url)
    dispatcher = queue.JobQueue(redis)
    try:
        async with running_worker(settings):
            subjects = [str(uuid4()) for _ in range(SUBJECTS)]
            for subject in subjects:
                await emit(db, dispatcher, "credential.issued", subject, admin.org_id)
                await emit(db, dispatcher, "credential.suspended", subject, admin.org_id)
            waiting_long = (
                "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND failures >= 2"
                " AND next_attempt_at > now() + interval '60 seconds'"
            )
            deadline = time.monotonic() + 60
            while await count(db, waiting_long) < SUBJECTS:  # every subject's head failed twice
                assert time.monotonic() < deadline, await count(db, waiting_long)
                await asyncio.sleep(0.2)
            assert await count(db, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'") == 2 * SUBJECTS

            await receiver.start()  # back
            back = time.monotonic()
            await emit(db, dispatcher, "credential.issued", str(uuid4()), admin.org_id)  # new traffic succeeds
            total = 2 * SUBJECTS + 1
            while await count(db, "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'") < total:
                assert time.monotonic() - back < DRAIN_LIMIT, "the backlog was not drained promptly"
                await asyncio.sleep(0.1)
            took = time.monotonic() - back
    finally:
        await redis.aclose()
        await receiver.stop()
    print(f"\nbacklog of {total} deliveries drained in {took:.1f} s after the endpoint came back: {total / took:.0f}/s")
    first: dict[tuple[str, str], float] = {}
    for r in receiver.requests:
        first.setdefault((r.message["data"]["id"], r.message["type"]), r.at)
    assert len(first) == total
    assert [s for s in subjects if first[(s, "credential.suspended")] < first[(s, "credential.issued")]] == []
