"""A recognised prior-learning attempt is numbered as every other attempt is: under its enrolment's lock.

Attempts at a unit are numbered 1, 2, 3… by the highest number so far plus one. The usual way and the one-round-trip
way take the enrolment's row lock before they read that number; a grant that did not could read it beside a
recording in flight, and both attempts would carry the same number.
"""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.db import Database
from domain.recognition.granting import grant
from domain.writes import Actor, write
from tests.conftest import Bootstrap
from tests.scenarios import classroom
from tests.worker_harness import FAILING

# The learner's second attempt, as the usual way stores it (a copy of the first, numbered 2).
SECOND_ATTEMPT = """
INSERT INTO attempts (id, provider_id, learner_id, enrolment_id, version_id, unit_key, attempt_number, assessed_at,
                      supervision, submission, evidence, decision, passed, source, recorded_by_client)
SELECT gen_random_uuid(), provider_id, learner_id, enrolment_id, version_id, unit_key, 2, assessed_at, supervision,
       submission, evidence, decision, passed, source, recorded_by_client
FROM attempts WHERE id = $1
"""


async def test_a_grant_waits_for_the_enrolments_lock_and_numbers_after_the_attempts_before_it(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, database_url: str
) -> None:
    room = await classroom(client, bootstrap)
    first = await client.post(room.attempts_url, json=room.attempt(FAILING), headers=room.provider.headers)
    assert first.status_code == 201, first.text
    assert first.json()["attemptNumber"] == 1
    async with db.connection() as conn:  # the learner is a person's, who asked for recognition
        person_id = await conn.fetchval(
            "INSERT INTO persons (email, name, email_canonical) VALUES ($1, $1, $1) RETURNING id", "kim@example.de"
        )
        await conn.execute(
            "UPDATE learners SET person_id = $1, claimed_at = now() WHERE id = $2", person_id, UUID(room.learner_id)
        )
        version_id = await conn.fetchval("SELECT version_id FROM enrolments WHERE id = $1", UUID(room.enrolment_id))
    request = {
        "id": uuid4(),
        "awarding_body_id": room.provider.org_id,
        "person_id": person_id,
        "version_id": version_id,
        "design_id": UUID(room.programme_id),
        "unit_key": "u1",
        "credentials": [],
    }

    async def granting() -> int:
        async with write(db, Actor(person_id=person_id, request_id="test-recognition-numbering")) as w:
            attempt_id = await grant(w, request, ["the unit's outcomes are covered elsewhere"])
        async with db.connection() as conn:
            number: int = await conn.fetchval("SELECT attempt_number FROM attempts WHERE id = $1", attempt_id)
        return number

    holder = await Database.connect(database_url, min_size=1, max_size=1)
    try:
        async with holder.transaction() as conn:  # a recording of the usual way: locked, numbered 2, not committed
            await conn.execute("SELECT 1 FROM enrolments WHERE id = $1 FOR UPDATE", UUID(room.enrolment_id))
            await conn.execute(SECOND_ATTEMPT, UUID(first.json()["id"]))
            granted = asyncio.create_task(granting())
            await asyncio.sleep(0.5)
            assert not granted.done(), "the grant stored its attempt without waiting for the enrolment's lock"
        assert await asyncio.wait_for(granted, 10) == 3  # not 2 again: it read the number after the lock
        async with db.connection() as conn:
            numbers = [r[0] for r in await conn.fetch("SELECT attempt_number FROM attempts ORDER BY attempt_number")]
        assert numbers == [1, 2, 3]
    finally:
        await holder.close()
