"""Recordings that wait at the same moment share one call of ``record_attempts_at_once`` (domain/attempts/batching.py).

To make recordings wait together, a test holds an Idempotency-Key from another connection, as a request still
being written would: the recording sent with it takes the process's call and waits there, the next ones queue,
and they are sent together once the key is let go. They are sent through the service, concurrently on the test's own loop
(the test client hands each request to the app's loop and waits for its answer, one at a time), after the
setup and the first attempt of each learner went through HTTP. Every attempt is still checked, numbered, stored and answered on its own:
a key already stored replays, a revoked token gets 401, a key sent twice in one batch is written once."""

from __future__ import annotations

import asyncio
from asyncio import Task
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from arq.constants import job_key_prefix
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api import queue
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
async def holding(database_url: str, sql: str, *args: object) -> AsyncIterator[asyncpg.Connection]:
    """``sql`` run in a transaction that stays open, holding what it locked, until the block ends; then rolled back."""
    holder = await asyncpg.connect(database_url)
    try:
        transaction = holder.transaction()
        await transaction.start()
        try:
            await holder.execute(sql, *args)
            yield holder
        finally:
            await transaction.rollback()
    finally:
        await holder.close()


async def blocked_on(holder: asyncpg.Connection, count: int) -> None:
    """Until ``count`` sessions wait for a lock."""
    for _ in range(500):
        await holder.execute("SELECT pg_stat_clear_snapshot()")  # read afresh inside the holder's transaction
        waiting = await holder.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{waiting} sessions wait for a lock, not {count}")


Sent = tuple[dict[str, Any], str]  # a request's body and its Idempotency-Key


@asynccontextmanager
async def recorder(
    database_url: str, provider: Integrator
) -> AsyncIterator[Callable[[dict[str, Any], str], Task[Any]]]:
    """Sends a recording through the service on a pool of the test's own, as the provider's client."""
    db = await Database.connect(database_url, min_size=4, max_size=4)
    org = UUID(str(provider.org_id))
    actor = Actor(client_id=provider.client_id, organisation_id=org)

    def send(body: dict[str, Any], key: str) -> Task[Any]:
        data = msgspec.convert(body, AttemptCreate)
        idempotency = key_for(provider, key, body)
        return asyncio.ensure_future(service.record_attempt(db, actor, org, data, idempotency=idempotency))

    try:
        yield send, db
    finally:
        await db.close()


async def batched(
    database_url: str, held: tuple[str, str], provider: Integrator, requests: list[Sent]
) -> tuple[Any, list[Any], Counter[int]]:
    """A recording for the ``held`` learner whose key another transaction holds takes the process's call and waits;
    ``requests`` queue meanwhile and are sent together once the key is let go. The held one's answer, the
    requests' (or their errors), and the calls by the number of attempts they held."""
    body = judged(*held)
    key = key_for(provider, "held", body)
    async with recorder(database_url, provider) as (send, own):
        async with holding(
            database_url,
            "INSERT INTO idempotency_keys (scope, key, fingerprint) VALUES ($1, $2, 'someone else')",
            key.scope,
            key.key,
        ) as holder:
            blocker = send(body, "held")
            await blocked_on(holder, 1)
            queued = [send(body, key) for body, key in requests]
            await asyncio.sleep(0.2)  # they reach the batcher's queue
            assert not any(t.done() for t in (blocker, *queued))
        answers = await asyncio.gather(*queued, return_exceptions=True)
        return await blocker, answers, batching.for_database(own).sent


async def test_recordings_sent_together_are_each_numbered_stored_and_answered_once(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, database_url: str
) -> None:
    provider, (held, *others) = await classroom_of(client, bootstrap, 3)
    requests = [(judged(*pair, lo2=i % 2 == 0), f"batch-{pair[0]}-{i}") for i in range(3) for pair in others]
    replay_of = others[0]
    requests.append((judged(*replay_of), f"first-{replay_of[0]}"))  # stored before, through HTTP: replayed
    blocker, answers, sent = await batched(database_url, held, provider, requests)

    assert blocker.attempt_number == 2
    assert not [a for a in answers if isinstance(a, BaseException)], answers
    assert sent == {1: 1, len(requests): 1}, sent  # the held one alone, then all the others in one call
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

    assert sent == {1: 5}, sent  # the held one; the batch failed, and its four went again one at a time
    assert msgspec.to_builtins(answers[0]) == msgspec.to_builtins(answers[2]) and answers[0].attempt_number == 2
    assert answers[1].attempt_number == 2
    assert isinstance(answers[3], DomainError), answers[3]
    assert await stored_counts(db, others[0][0]) == (2, 4, 2)
    assert await stored_counts(db, others[1][0]) == (2, 4, 2)


async def test_an_attempt_whose_number_was_taken_meanwhile_is_recorded_the_usual_way(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, database_url: str
) -> None:
    """The batch numbers from a snapshot taken before its locks, so an attempt that commits in between may hold the
    number it gives. The unique index refuses the second: nothing is written for it, and the usual way numbers it
    under the lock. Here another transaction stores the learner's second attempt without the enrolment's lock, and
    commits once the batch waits to learn whether its own second may stand."""
    provider, ((learner_id, enrolment_id),) = await classroom_of(client, bootstrap, 0)
    holder = await asyncpg.connect(database_url)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(  # the learner's first attempt again, numbered 2, not yet committed
            f"""CREATE TEMPORARY TABLE taken ON COMMIT DROP AS SELECT * FROM attempts WHERE learner_id = '{learner_id}';
                UPDATE taken SET id = gen_random_uuid(), attempt_number = 2;
                INSERT INTO attempts SELECT * FROM taken;"""
        )
        async with recorder(database_url, provider) as (send, own):
            recorded = send(judged(learner_id, enrolment_id, lo2=False), "second")
            await blocked_on(holder, 1)  # the batch's attempt 2 waits on the uncommitted one
            await transaction.commit()
            answer = await asyncio.wait_for(recorded, 10)
            assert batching.for_database(own).sent == {1: 1}
    finally:
        await holder.close()

    assert answer.attempt_number == 3 and answer.passed is False
    assert await stored_counts(db, learner_id) == (3, 4, 2)  # the copy wrote no events, the refused one nothing
    url = f"/organisations/{provider.org_id}/attempts"
    retried = await client.post(
        url, json=judged(learner_id, enrolment_id, lo2=False), headers=keyed(provider, "second")
    )
    assert retried.json() == msgspec.to_builtins(answer)


async def test_a_learner_someone_else_is_recording_for_holds_up_nobody_else(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, database_url: str
) -> None:
    """A batch skips an enrolment another transaction holds: that attempt waits on its own, the usual way, and the
    others are recorded meanwhile."""
    provider, (busy, *others) = await classroom_of(client, bootstrap, 2)
    async with recorder(database_url, provider) as (send, _):
        async with holding(database_url, "SELECT 1 FROM enrolments WHERE id = $1 FOR UPDATE", UUID(busy[1])) as holder:
            waiting = send(judged(*busy), "busy")
            meanwhile = [send(judged(*pair), f"meanwhile-{pair[0]}") for pair in others]
            done = await asyncio.wait_for(asyncio.gather(*meanwhile), 10)
            await blocked_on(holder, 1)  # the busy learner's attempt, the usual way
            assert not waiting.done()
        assert [a.attempt_number for a in done] == [2, 2]
        assert (await waiting).attempt_number == 2
    assert await stored_counts(db, busy[0]) == (2, 4, 2)


async def test_a_batchs_values_reach_postgresql_as_the_usual_way_stores_them(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, database_url: str
) -> None:
    """The call's one JSON document: a time without a zone is UTC (asyncpg's reading), one with a zone keeps its
    instant, text keeps its quotes and letters, evidence and the submission arrive as jsonb."""
    provider, (held, first, second) = await classroom_of(client, bootstrap, 2)
    evidence = [{"mediaType": "image/jpeg", "sha256": "ab" * 32, "url": "https://evidence.example/1.jpg"}]
    requests = [
        (judged(*first, assessedAt="2026-11-20T10:00:00", place='Værksted "B" \\ 2'), "naive"),
        (judged(*second, lo2=False, assessedAt="2026-11-20T11:00:00.000005+01:00", evidence=evidence), "berlin"),
    ]
    _, answers, sent = await batched(database_url, held, provider, requests)
    assert sent == {1: 1, 2: 1}, sent
    async with db.connection() as conn:
        rows = {
            r["id"]: r
            for r in await conn.fetch(
                "SELECT id, assessed_at, place, evidence, passed, submission FROM attempts WHERE id = ANY($1::uuid[])",
                [a.id for a in answers],
            )
        }
    naive, berlin = rows[answers[0].id], rows[answers[1].id]
    assert naive["assessed_at"] == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert berlin["assessed_at"] == datetime(2026, 11, 20, 10, 0, 0, 5, tzinfo=UTC)
    assert naive["place"] == 'Værksted "B" \\ 2' and naive["evidence"] == [] and naive["passed"] is True
    assert [{k: v for k, v in item.items() if v is not None} for item in berlin["evidence"]] == evidence
    assert berlin["passed"] is False
    assert berlin["submission"]["judgements"][1] == {"outcome": "lo2", "achieved": False, "note": None, "evidence": []}


async def test_a_recordings_events_are_queued_in_the_send_after_its_answer(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, redis_url: str
) -> None:
    """They go to Redis in the job queue's next send, which the answer does not wait for (api/queue.py,
    WithoutWaiting); once that send is through, they are queued."""
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    url = f"/organisations/{provider.org_id}/attempts"
    for n in range(2):  # the usual way (the process learns the unit), then the short way
        answer = await client.post(url, json=judged(learner_id, enrolment_id), headers=keyed(provider, f"q-{n}"))
        assert answer.status_code == 201, answer.text
        # The app runs on the test client's portal (a loop of its own): wait there for the queue's send.
        await asyncio.wrap_future(client.blocking_portal.start_task_soon(client.app.state.jobs.settled))
        async with db.connection() as conn:
            events = await conn.fetchval(
                "SELECT array_agg(id ORDER BY id) FROM outbox WHERE payload ->> 'attemptId' = $1", answer.json()["id"]
            )
        assert len(events) == 2
        redis = queue.client(redis_url)
        try:
            assert await redis.exists(job_key_prefix + queue.events_job_id(events)), events
        finally:
            await redis.aclose()
