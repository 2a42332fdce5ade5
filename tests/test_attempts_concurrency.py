"""Attempts recorded concurrently: the maximum holds, numbers stay distinct, simulation runs accumulate."""

from __future__ import annotations

import asyncio
from uuid import UUID

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.attempts import service
from domain.attempts.models import AttemptCreate
from domain.db import Database
from domain.errors import Conflict
from domain.writes import Actor
from tests.conftest import Bootstrap
from tests.scenarios import classroom
from tests.test_attempts import welding


async def test_concurrent_attempts_do_not_exceed_the_maximum(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, database_url: str
) -> None:
    room = await classroom(client, bootstrap)
    db = await Database.connect(database_url, min_size=7, max_size=7)
    try:
        org = UUID(str(room.provider.org_id))
        data = msgspec.convert(room.attempt(welding("l1", "l1", 1)), AttemptCreate)
        actor = Actor(client_id=room.provider.client_id, organisation_id=org)
        await service.record_attempt(db, actor, org, data)
        results = await asyncio.gather(
            *(service.record_attempt(db, actor, org, data) for _ in range(4)), return_exceptions=True
        )
        ok = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, Conflict)]
        async with db.connection() as conn:
            n = await conn.fetchval("SELECT count(*) FROM attempts WHERE learner_id = $1", UUID(room.learner_id))
        assert n == 3, n
        assert len(ok) == 2 and len(refused) == 2
    finally:
        await db.close()


async def test_concurrent_simulation_runs_accumulate(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, database_url: str
) -> None:
    room = await classroom(client, bootstrap)
    db = await Database.connect(database_url, min_size=7, max_size=7)
    try:
        org = UUID(str(room.provider.org_id))
        actor = Actor(client_id=room.provider.client_id, organisation_id=org)

        def attempt(score: float, minute: int) -> AttemptCreate:
            body = room.attempt(
                {"mode": "simulation", "runs": [{"scaledScore": score}]},
                unit_key="sim",
                supervision="supervised_no_identity_check",
            )
            return msgspec.convert(body, AttemptCreate)

        await service.record_attempt(db, actor, org, attempt(0.1, 1))  # caches the specification
        results = await asyncio.gather(
            *(service.record_attempt(db, actor, org, attempt(0.2 + i / 10, 2 + i)) for i in range(6)),
            return_exceptions=True,
        )
        ok = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, Conflict)]
        runs = sorted(len(r.submission["runs"]) for r in ok)
        numbers = sorted(r.attempt_number for r in ok)
        assert runs == [2, 3, 4, 5] and numbers == [2, 3, 4, 5] and len(refused) == 2
    finally:
        await db.close()


async def test_concurrent_attempts_without_a_limit_get_distinct_numbers(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, database_url: str
) -> None:
    room = await classroom(client, bootstrap)
    db = await Database.connect(database_url, min_size=7, max_size=7)
    try:
        org = UUID(str(room.provider.org_id))
        actor = Actor(client_id=room.provider.client_id, organisation_id=org)
        # unit u1 allows 3 attempts: three at once, none recorded before, take the numbers 1, 2 and 3
        data = msgspec.convert(room.attempt(welding("l3", "l3", 8)), AttemptCreate)
        results = await asyncio.gather(*(service.record_attempt(db, actor, org, data) for _ in range(3)))
        assert sorted(r.attempt_number for r in results) == [1, 2, 3]
    finally:
        await db.close()
