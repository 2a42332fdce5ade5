"""Recordings that wait at the same moment share one call of ``record_attempts_at_once`` (domain/attempts/batching.py).

To make recordings wait together, each test holds one learner's enrolment locked from another connection: the
recordings for that learner take the process's calls in flight and block there, the next ones queue, and they are
sent together once the lock is let go. They are sent through the service, concurrently on the test's own loop
(the test client hands each request to the app's loop and waits for its answer, one at a time), after the
setup and the first attempt of each learner went through HTTP. Every attempt is still checked, numbered, stored and answered on its own:
a key already stored replays, a revoked token gets 401, a key sent twice in one batch is written once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.attempts import batching, service
from domain.attempts.models import AttemptCreate
from domain.db import Database
from domain.errors import DomainError
from domain.writes import Actor
from tests.conftest import Bootstrap, Integrator
from tests.test_attempts_keyed_one_round_trip import OUTCOMES, classroom, key_for, keyed, stored_counts
from tests.test_attempts_one_round_trip import judged


async def classroom_of(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, n: int
) -> tuple[Integrator, list[tuple[str, str]]]:
    """``classroom`` with ``n`` learners more, each with one attempt recorded the usual way (which teaches the
    process the unit): the (learner, enrolment) ids, the first learner's first."""
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    url = f"/organisations/{provider.org_id}/attempts"
    first = await client.post(
        url, json=judged(learner_id, enrolment_id), headers=keyed(provider, f"first-{learner_id}")
    )
    assert first.status_code == 201, first.text
    programme = first.json()["programmeId"]
    learners = f"/organisations/{provider.org_id}/learners"
    pairs = [(learner_id, enrolment_id)]
    for i in range(n):
        learner = await client.post(
            learners, json={"name": f"Learner {i}", "email": f"l{i}@example.dk"}, headers=provider.headers
        )
        assert learner.status_code == 201, learner.text
        enrolment = await client.post(
            f"{learners}/{learner.json()['id']}/enrolments", json={"programmeId": programme}, headers=provider.headers
        )
        assert enrolment.status_code == 201, enrolment.text
        pair = (learner.json()["id"], enrolment.json()["id"])
        first = await client.post(url, json=judged(*pair), headers=keyed(provider, f"first-{pair[0]}"))
        assert first.status_code == 201, first.text
        pairs.append(pair)
    return provider, pairs


@asynccontextmanager
async def enrolment_held(database_url: str, enrolment_id: str) -> AsyncIterator[asyncpg.Connection]:
    """The enrolment locked, as a slow recording would hold it, until the block ends."""
    holder = await asyncpg.connect(database_url)
    try:
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM enrolments WHERE id = $1 FOR UPDATE", UUID(enrolment_id))
            yield holder
    finally:
        await holder.close()


async def blocked_on(holder: asyncpg.Connection, count: int) -> None:
    """Until ``count`` sessions wait for a lock (the holder's, or their turn behind one who waits for it)."""
    for _ in range(500):
        await holder.execute("SELECT pg_stat_clear_snapshot()")  # read afresh inside the holder's transaction
        waiting = await holder.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting >= count:
            return
        await asyncio.sleep(0.01)
    rows = await holder.fetch(
        "SELECT pid, state, wait_event_type, wait_event, left(query, 60) AS q FROM pg_stat_activity WHERE datname = current_database()"
    )
    raise AssertionError(f"{waiting} sessions wait for the enrolment, not {count}: {[dict(r) for r in rows]}")


Sent = tuple[dict[str, Any], str]  # a request's body and its Idempotency-Key


async def batched(
    database_url: str, held: tuple[str, str], provider: Integrator, requests: list[Sent]
) -> tuple[list[Any], list[Any], Counter[int]]:
    """Two recordings for the ``held`` learner take the process's calls in flight and wait for its enrolment;
    ``requests`` queue meanwhile and are sent together once the lock goes. The held two's answers, the requests'
    (or their errors), and the calls of the batched function by their sizes."""
    db = await Database.connect(database_url, min_size=4, max_size=4)
    org = UUID(str(provider.org_id))
    actor = Actor(client_id=provider.client_id, organisation_id=org)

    def send(body: dict[str, Any], key: str) -> Awaitable[Any]:
        data = msgspec.convert(body, AttemptCreate)
        return asyncio.ensure_future(
            service.record_attempt(db, actor, org, data, idempotency=key_for(provider, key, body))
        )

    try:
        async with enrolment_held(database_url, held[1]) as holder:
            blockers = []
            for i in range(batching.IN_FLIGHT):  # one by one: each takes a call of its own
                blockers.append(send(judged(*held), f"held-{i}"))
                await blocked_on(holder, i + 1)
            queued = [send(body, key) for body, key in requests]
            await asyncio.sleep(0.2)  # they reach the batcher's queue
            assert not any(t.done() for t in (*blockers, *queued))
        answers = await asyncio.gather(*queued, return_exceptions=True)
        return list(await asyncio.gather(*blockers)), answers, batching.for_database(db).sent
    finally:
        await db.close()


async def test_recordings_sent_together_are_each_numbered_stored_and_answered_once(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, database_url: str
) -> None:
    provider, (held, *others) = await classroom_of(client, bootstrap, 3)
    requests = [(judged(*pair, lo2=i % 2 == 0), f"batch-{pair[0]}-{i}") for i in range(3) for pair in others]
    replay_of = others[0]
    requests.append((judged(*replay_of), f"first-{replay_of[0]}"))  # stored before, through HTTP: replayed
    blockers, answers, sent = await batched(database_url, held, provider, requests)

    assert sorted(a.attempt_number for a in blockers) == [2, 3]
    assert not [a for a in answers if isinstance(a, BaseException)], answers
    assert sent == {len(requests): 1}, sent  # all of them in one call
    url = f"/organisations/{provider.org_id}/attempts"
    for learner, enrolment in others:
        mine = [a for a in answers[:-1] if str(a.learner_id) == learner]
        assert [a.attempt_number for a in mine] == [2, 3, 4]  # in the order they were sent, each once
        assert [a.passed for a in mine] == [True, False, True]
        assert await stored_counts(db, learner) == (4, 8, 4)
        for answer in mine:  # what was stored is what was answered
            stored = await client.get(f"{url}/{answer.id}", headers=provider.headers)
            assert stored.json() == msgspec.to_builtins(answer)
        retried = await client.post(url, json=judged(learner, enrolment), headers=keyed(provider, f"batch-{learner}-0"))
        assert retried.json() == msgspec.to_builtins(mine[0])  # the answer kept under its key
    replayed = await client.post(url, json=judged(*replay_of), headers=keyed(provider, f"first-{replay_of[0]}"))
    assert msgspec.to_builtins(answers[-1]) == replayed.json() and replayed.json()["attemptNumber"] == 1

    async with db.connection() as conn:
        events = await conn.fetch(
            "SELECT topic, payload ->> 'attemptId' AS attempt FROM outbox WHERE payload ->> 'learnerId' = $1 "
            "ORDER BY id",
            others[1][0],
        )
    mine = [a for a in answers[:-1] if str(a.learner_id) == others[1][0]]
    assert [(e["topic"], e["attempt"]) for e in events[2:]] == [
        (topic, str(a.id))
        for a in mine
        for topic in ("attempt.recorded", "attempt.passed" if a.passed else "attempt.failed")
    ]


async def test_a_batch_that_fails_as_a_whole_is_sent_again_one_at_a_time(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, database_url: str
) -> None:
    """One key twice in one batch: the batch's second answer under it fails the whole call, which wrote nothing;
    sent again one at a time, the first records and the second replays it. The others record as if alone, and
    a request the short way cannot take (another learner's enrolment) gets the usual way's answer."""
    provider, (held, *others) = await classroom_of(client, bootstrap, 2)
    twice = (judged(*others[0]), "twice")
    requests = [twice, (judged(*others[1]), "alone"), twice, (judged(others[0][0], others[1][1]), "mismatched")]
    _, answers, sent = await batched(database_url, held, provider, requests)

    assert sent == {}, sent  # the one call failed, and was not counted
    assert msgspec.to_builtins(answers[0]) == msgspec.to_builtins(answers[2]) and answers[0].attempt_number == 2
    assert answers[1].attempt_number == 2
    assert isinstance(answers[3], DomainError), answers[3]
    assert await stored_counts(db, others[0][0]) == (2, 4, 2)
    assert await stored_counts(db, others[1][0]) == (2, 4, 2)
