"""The integrator's recording path: an attempt sent with an ``Idempotency-Key`` costs one round trip to PostgreSQL
(``record_attempts_at_once``: the key's lookup, the enrolment's lock and checks, the attempt, its events and audit
entry, and the key's answer, the attempt by reference, in one statement), as does one at a unit with a maximum of
attempts (``record_attempt_at_once``, which keeps the answer itself), and a simulation's next run where the
process knows the latest standing attempt. Round trips are counted as asyncpg
sends them (a query logger on every pooled connection: each logged statement is one exchange with the server once
its statement is prepared). A retried key answers what was stored, with nothing written twice; concurrent
requests with one key write once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.attempts import service
from domain.attempts.models import AttemptCreate
from domain.db import Database, _init_connection, _keep_connection, statement_cache_size_from_env
from domain.errors import Conflict, IdempotencyKeyReused
from domain.writes import Actor, IdempotencyKey
from tests.conftest import Bootstrap, Integrator
from tests.scenarios import publish
from tests.test_attempts_one_round_trip import judged
from tests.test_codesign_tekniq import programme_content, welder_profile

OUTCOMES = {"mode": "outcome_based", "outcomes": [{"key": "lo1"}, {"key": "lo2"}], "supervision": "unsupervised"}
SIMULATION = {"mode": "simulation", "masteryScore": 0.8, "runs": {"rule": "best"}, "supervision": "unsupervised"}


class CountingDatabase(Database):
    """A pool whose connections log every statement they send: ``statements`` lists them in order."""

    statements: list[str]

    @classmethod
    async def open(cls, url: str, size: int = 2) -> CountingDatabase:
        statements: list[str] = []

        async def init(conn: asyncpg.Connection) -> None:
            await _init_connection(conn)
            conn.add_query_logger(lambda logged: statements.append(logged.query))

        pool = await asyncpg.create_pool(
            url,
            min_size=size,
            max_size=size,
            init=init,
            reset=_keep_connection,
            statement_cache_size=statement_cache_size_from_env(),
        )
        assert pool is not None
        database = cls(pool)
        database.statements = statements
        return database


@pytest.fixture
async def counting_db(database_url: str) -> AsyncIterator[CountingDatabase]:
    database = await CountingDatabase.open(database_url)
    yield database
    await database.close()


async def classroom(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, assessment: dict[str, Any]
) -> tuple[Integrator, str, str]:
    """A published programme whose unit u1 is assessed by ``assessment``, one learner enrolled in it."""
    provider = await bootstrap.integrator(["programmes:write", "assessments:write"], kind="vet_provider")
    chamber = await bootstrap.integrator(["programmes:write"], kind="chamber")
    profile = await welder_profile(client, provider)
    content = programme_content(profile, str(provider.org_id), str(chamber.org_id), str(provider.org_id))
    content["eqfLevel"] = 4
    content["units"] = [{**content["units"][0], "assessment": assessment}]
    pid = await publish(client, provider, chamber, content)
    learners = f"/organisations/{provider.org_id}/learners"
    learner = await client.post(
        learners, json={"name": "Ida Holm", "email": "ida@example.dk"}, headers=provider.headers
    )
    enrolment = await client.post(
        f"{learners}/{learner.json()['id']}/enrolments", json={"programmeId": pid}, headers=provider.headers
    )
    assert enrolment.status_code == 201, enrolment.text
    return provider, learner.json()["id"], enrolment.json()["id"]


def simulated(learner_id: str, enrolment_id: str, score: float) -> dict[str, Any]:
    return {
        **judged(learner_id, enrolment_id),
        "submission": {"mode": "simulation", "runs": [{"scaledScore": score, "success": score >= 0.8}]},
    }


def keyed(provider: Integrator, key: str) -> dict[str, str]:
    return {**provider.headers, "Idempotency-Key": key}


def key_for(provider: Integrator, key: str, body: object) -> IdempotencyKey:
    """What api.http.idempotency_key makes of a request to the recording endpoint."""
    import hashlib

    scope = f"{provider.client_id}/- POST /organisations/{provider.org_id}/attempts"
    return IdempotencyKey(scope=scope, key=key, fingerprint=hashlib.sha256(msgspec.json.encode(body)).hexdigest())


async def stored_counts(db: Database, learner_id: str) -> tuple[int, int, int]:
    async with db.connection() as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM attempts WHERE learner_id = $1) AS attempts, "
            "(SELECT count(*) FROM outbox WHERE payload ->> 'learnerId' = $1::text) AS events, "
            "(SELECT count(*) FROM audit_log WHERE action = 'attempt.recorded' "
            " AND details ->> 'learnerId' = $1::text) AS audited",
            UUID(learner_id),
        )
    return row["attempts"], row["events"], row["audited"]


async def test_a_keyed_recording_costs_one_round_trip_and_its_retry_two_writing_nothing(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, counting_db: CountingDatabase
) -> None:
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    org = UUID(str(provider.org_id))
    actor = Actor(client_id=provider.client_id, organisation_id=org)
    body = judged(learner_id, enrolment_id)
    data = msgspec.convert(body, AttemptCreate)
    await service.record_attempt(counting_db, actor, org, data, idempotency=key_for(provider, "warm", body))
    warm = len(counting_db.statements)  # the usual way, which teaches the process the unit: seven statements
    assert warm >= 5, counting_db.statements
    for n in range(3):  # prepared statements warm up on the first calls; every call counts the same
        del counting_db.statements[:]
        first = await service.record_attempt(
            counting_db, actor, org, data, idempotency=key_for(provider, f"k{n}", body)
        )
        assert len(counting_db.statements) == 1, counting_db.statements
        assert "record_attempts_at_once" in counting_db.statements[0]
        del counting_db.statements[:]
        again = await service.record_attempt(
            counting_db, actor, org, data, idempotency=key_for(provider, f"k{n}", body)
        )
        assert len(counting_db.statements) == 2, counting_db.statements  # the key's lookup, then the attempt
        assert "record_attempts_at_once" in counting_db.statements[0]
        assert msgspec.to_builtins(again) == msgspec.to_builtins(first)  # jsonb orders an object's keys its way
    assert await stored_counts(counting_db, learner_id) == (4, 8, 4)


async def test_a_retried_key_answers_what_was_stored_over_http_and_another_body_is_refused(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    url = f"/organisations/{provider.org_id}/attempts"
    answers = []
    for key in ("first", "second", "first", "second", "third"):  # "first" goes the usual way, the rest the short
        answer = await client.post(url, json=judged(learner_id, enrolment_id), headers=keyed(provider, key))
        assert answer.status_code == 201, answer.text
        answers.append(answer)
    assert answers[2].json() == answers[0].json() and answers[3].json() == answers[1].json()
    assert answers[2].headers["location"] == answers[0].headers["location"]
    assert [a.json()["attemptNumber"] for a in answers] == [1, 2, 1, 2, 3]
    stored = await client.get(answers[1].headers["location"], headers=provider.headers)
    assert stored.json() == answers[1].json()
    assert await stored_counts(db, learner_id) == (3, 6, 3)
    other = await client.post(url, json=judged(learner_id, enrolment_id, lo2=False), headers=keyed(provider, "second"))
    assert other.status_code == 422, other.text
    assert "already used for a different request" in other.json()["detail"]
    assert await stored_counts(db, learner_id) == (3, 6, 3)


async def test_a_retry_answers_the_attempt_as_recorded_in_a_process_that_never_saw_it_and_after_its_correction(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    """A key the short way answered keeps the attempt by reference: a process that does not know the unit replays it
    the usual way, from the attempt as stored, and a correction made since does not change the answer."""
    from domain.attempts import recording

    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    url = f"/organisations/{provider.org_id}/attempts"
    body = judged(learner_id, enrolment_id)
    await client.post(url, json=body, headers=keyed(provider, "teaches"))  # the usual way: the process learns the unit
    first = await client.post(url, json=body, headers=keyed(provider, "short"))
    assert first.status_code == 201, first.text
    correction = {
        "reason": "lo2 was misjudged",
        "submission": judged(learner_id, enrolment_id, lo2=False)["submission"],
    }
    corrected = await client.post(f"{url}/{first.json()['id']}/corrections", json=correction, headers=provider.headers)
    assert corrected.status_code == 201, corrected.text
    recording._specifications.version_of.pop(UUID(enrolment_id))  # as in a new process: the usual way replays
    again = await client.post(url, json=body, headers=keyed(provider, "short"))
    assert again.status_code == 201, again.text
    assert again.json() == first.json() and again.json()["correctedBy"] is None
    assert again.headers["location"] == first.headers["location"]
    stored = await client.get(first.headers["location"], headers=provider.headers)
    assert stored.json()["correctedBy"] == corrected.json()["id"]


async def test_concurrent_requests_with_one_key_write_once(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, database_url: str
) -> None:
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    db = await Database.connect(database_url, min_size=8, max_size=8)
    try:
        org = UUID(str(provider.org_id))
        actor = Actor(client_id=provider.client_id, organisation_id=org)
        body = judged(learner_id, enrolment_id)
        data = msgspec.convert(body, AttemptCreate)
        await service.record_attempt(db, actor, org, data)  # teaches the process the unit
        for key in ("a", "b", "c"):
            results = await asyncio.gather(
                *(
                    service.record_attempt(db, actor, org, data, idempotency=key_for(provider, key, body))
                    for _ in range(8)
                )
            )
            assert all(msgspec.to_builtins(r) == msgspec.to_builtins(results[0]) for r in results)
        assert await stored_counts(db, learner_id) == (4, 8, 4)
    finally:
        await db.close()


async def test_a_unit_with_a_maximum_records_in_one_round_trip_and_refuses_the_one_too_many(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, counting_db: CountingDatabase
) -> None:
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, {**OUTCOMES, "maxAttempts": 3})
    org = UUID(str(provider.org_id))
    actor = Actor(client_id=provider.client_id, organisation_id=org)
    body = judged(learner_id, enrolment_id, lo2=False)
    data = msgspec.convert(body, AttemptCreate)
    await service.record_attempt(counting_db, actor, org, data)
    for n in (2, 3):
        del counting_db.statements[:]
        recorded = await service.record_attempt(
            counting_db, actor, org, data, idempotency=key_for(provider, f"{n}", body)
        )
        assert recorded.attempt_number == n
        assert len(counting_db.statements) == 1, counting_db.statements
    with pytest.raises(Conflict) as used_up:
        await service.record_attempt(counting_db, actor, org, data, idempotency=key_for(provider, "4", body))
    assert used_up.value.extra == {"attemptsUsed": 3}
    async with counting_db.connection() as conn:  # the refused request's key is not kept: nothing was answered
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = '4'") == 0
    assert await stored_counts(counting_db, learner_id) == (3, 6, 3)


async def test_simulation_runs_accumulate_in_one_round_trip_and_a_stale_latest_goes_the_usual_way(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, counting_db: CountingDatabase, database_url: str
) -> None:
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, SIMULATION)
    org = UUID(str(provider.org_id))
    actor = Actor(client_id=provider.client_id, organisation_id=org)
    scores = (0.5, 0.9, 0.6)
    recorded = []
    for n, score in enumerate(scores):
        body = simulated(learner_id, enrolment_id, score)
        del counting_db.statements[:]
        data = msgspec.convert(body, AttemptCreate)
        recorded.append(
            await service.record_attempt(counting_db, actor, org, data, idempotency=key_for(provider, f"s{n}", body))
        )
        if n > 0:
            assert len(counting_db.statements) == 1, counting_db.statements
    assert [len(r.submission["runs"]) for r in recorded] == [1, 2, 3]  # runs accumulate over attempts
    assert [r.passed for r in recorded] == [False, True, True]  # the best run counts
    # Another process records the next run: this one's idea of the latest attempt is stale. The function
    # notices and writes nothing; the usual way then adds the run to the true latest attempt.
    other = await Database.connect(database_url, min_size=1, max_size=1)
    try:
        from domain.attempts import recording

        held = dict(recording._specifications.latest)
        recording._specifications.latest.clear()  # as in another process: it has not seen these attempts
        try:
            body = simulated(learner_id, enrolment_id, 0.4)
            elsewhere = await service.record_attempt(other, actor, org, msgspec.convert(body, AttemptCreate))
        finally:
            recording._specifications.latest.clear()
            recording._specifications.latest.update(held)
    finally:
        await other.close()
    assert len(elsewhere.submission["runs"]) == 4
    body = simulated(learner_id, enrolment_id, 0.3)
    del counting_db.statements[:]
    last = await service.record_attempt(counting_db, actor, org, msgspec.convert(body, AttemptCreate))
    assert len(counting_db.statements) > 1  # the short way refused, the usual way recorded
    assert len(last.submission["runs"]) == 5 and last.attempt_number == 5


async def test_a_key_reused_for_another_request_is_refused_by_the_short_way(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    org = UUID(str(provider.org_id))
    actor = Actor(client_id=provider.client_id, organisation_id=org)
    body = judged(learner_id, enrolment_id)
    await service.record_attempt(db, actor, org, msgspec.convert(body, AttemptCreate))
    await service.record_attempt(
        db, actor, org, msgspec.convert(body, AttemptCreate), idempotency=key_for(provider, "x", body)
    )
    changed = judged(learner_id, enrolment_id, lo2=False)
    with pytest.raises(IdempotencyKeyReused):
        await service.record_attempt(
            db, actor, org, msgspec.convert(changed, AttemptCreate), idempotency=key_for(provider, "x", changed)
        )


async def test_a_retry_that_meets_its_original_still_being_written_undoes_itself_and_replays_the_answer(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, database_url: str
) -> None:
    """The short way no longer claims the key first: a retry that finds no stored answer records, and its answer
    meets the original's at the key's primary key. It waits for the original to commit, fails, writes nothing,
    and the usual way answers what the original stored."""
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    org = UUID(str(provider.org_id))
    actor = Actor(client_id=provider.client_id, organisation_id=org)
    body = judged(learner_id, enrolment_id)
    data = msgspec.convert(body, AttemptCreate)
    original = await service.record_attempt(db, actor, org, data, idempotency=key_for(provider, "first", body))
    before = await stored_counts(db, learner_id)
    retry = key_for(provider, "retried", body)
    writer = await asyncpg.connect(database_url)  # the original of "retried", between its write and its commit
    try:
        async with writer.transaction():
            await writer.execute(
                "INSERT INTO idempotency_keys (scope, key, fingerprint, response) "
                "SELECT scope, $2, fingerprint, response FROM idempotency_keys WHERE key = $1",
                "first",
                retry.key,
            )
            recording = asyncio.create_task(service.record_attempt(db, actor, org, data, idempotency=retry))
            original_pid = await writer.fetchval("SELECT pg_backend_pid()")
            for _ in range(500):  # until the retry waits for the original's key
                # pg_stat_activity is read once per transaction unless its snapshot is cleared
                await writer.execute("SELECT pg_stat_clear_snapshot()")
                waiting = await writer.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) AND query LIKE "
                    "'%record_attempts_at_once%'",
                    original_pid,
                )
                if waiting:
                    break
                await asyncio.sleep(0.01)
            assert waiting == 1 and not recording.done()
    finally:
        await writer.close()
    replayed = await recording
    assert msgspec.to_builtins(replayed) == msgspec.to_builtins(original)
    assert await stored_counts(db, learner_id) == before  # the retry's attempt, events and audit entry undone
