"""Recording in one round trip (``recording.record_known``): once a process holds an enrolment's unit
specification, the function ``record_attempt_at_once`` locks and checks the enrolment and stores, in a
transaction of its own (tests/test_attempts_keyed_one_round_trip.py: with an Idempotency-Key, a maximum, a
simulation). The answers, the numbers under concurrency, the events and
the audit entries are those of the usual way; whatever does not check out goes the usual way and gets its error."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.attempts import recording, service
from domain.attempts.models import AttemptCreate
from domain.attempts.recording import AuditEntry, Recording
from domain.db import Database
from domain.writes import Actor
from tests.conftest import Bootstrap, Integrator
from tests.scenarios import publish
from tests.test_codesign_tekniq import programme_content, welder_profile

OUTCOMES = {"mode": "outcome_based", "outcomes": [{"key": "lo1"}, {"key": "lo2"}]}  # no maximum


async def outcome_classroom(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, supervision: str = "unsupervised"
) -> tuple[Integrator, str, str]:
    """A published programme whose unit u1 is judged on its outcomes with no maximum of attempts, and one
    learner enrolled in it: (provider, learner id, enrolment id)."""
    provider = await bootstrap.integrator(["programmes:write", "assessments:write"], kind="vet_provider")
    chamber = await bootstrap.integrator(["programmes:write"], kind="chamber")
    profile = await welder_profile(client, provider)
    content = programme_content(profile, str(provider.org_id), str(chamber.org_id), str(provider.org_id))
    content["eqfLevel"] = 4
    content["units"] = [{**content["units"][0], "assessment": {**OUTCOMES, "supervision": supervision}}]
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


def judged(learner_id: str, enrolment_id: str, *, lo2: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "learnerId": learner_id,
        "enrolmentId": enrolment_id,
        "unitKey": "u1",
        "assessedAt": "2026-11-20T10:00:00Z",
        "supervision": "unsupervised",
        "submission": {
            "mode": "outcome_based",
            "judgements": [{"outcome": "lo1", "achieved": True}, {"outcome": "lo2", "achieved": lo2}],
        },
        **extra,
    }


async def test_attempts_recorded_in_one_round_trip_answer_and_store_as_the_usual_way(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    provider, learner_id, enrolment_id = await outcome_classroom(client, bootstrap)
    url = f"/organisations/{provider.org_id}/attempts"
    answers = []
    for lo2 in (False, True, True):  # the first goes the usual way and teaches the process the unit
        answer = await client.post(url, json=judged(learner_id, enrolment_id, lo2=lo2), headers=provider.headers)
        assert answer.status_code == 201, answer.text
        answers.append(answer.json())
    assert [a["attemptNumber"] for a in answers] == [1, 2, 3]
    assert [a["passed"] for a in answers] == [False, True, True]
    for answer in answers:  # what was answered is what was stored
        stored = await client.get(f"{url}/{answer['id']}", headers=provider.headers)
        assert stored.json() == answer
    async with db.connection() as conn:
        events = await conn.fetch(
            "SELECT topic, payload FROM outbox WHERE payload ->> 'attemptId' = ANY($1::text[]) ORDER BY id",
            [a["id"] for a in answers],
        )
        audited = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'attempt.recorded' AND target_id = ANY($1::text[])",
            [a["id"] for a in answers],
        )
    assert [e["topic"] for e in events] == [
        *("attempt.recorded", "attempt.failed"),
        *("attempt.recorded", "attempt.passed"),
        *("attempt.recorded", "attempt.passed"),
    ]
    assert {e["payload"]["versionNumber"] for e in events} == {1}
    assert audited == 3


async def test_concurrent_attempts_in_one_round_trip_get_distinct_numbers(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, database_url: str
) -> None:
    provider, learner_id, enrolment_id = await outcome_classroom(client, bootstrap)
    db = await Database.connect(database_url, min_size=7, max_size=7)
    try:
        org = UUID(str(provider.org_id))
        actor = Actor(client_id=provider.client_id, organisation_id=org)
        data = msgspec.convert(judged(learner_id, enrolment_id), AttemptCreate)
        first = await service.record_attempt(db, actor, org, data)
        results = await asyncio.gather(*(service.record_attempt(db, actor, org, data) for _ in range(6)))
        assert first.attempt_number == 1
        assert sorted(r.attempt_number for r in results) == [2, 3, 4, 5, 6, 7]
    finally:
        await db.close()


async def test_the_next_number_follows_the_attempts_so_far_corrections_left_out(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    provider, learner_id, enrolment_id = await outcome_classroom(client, bootstrap)
    url = f"/organisations/{provider.org_id}/attempts"
    numbers = []
    for n in range(4):
        answer = await client.post(url, json=judged(learner_id, enrolment_id), headers=provider.headers)
        assert answer.status_code == 201, answer.text
        numbers.append(answer.json()["attemptNumber"])
        if n == 1:  # a correction keeps its attempt's number and is not an attempt of its own
            correction = {"reason": "lo2 was misjudged", "submission": judged(learner_id, enrolment_id)["submission"]}
            corrected = await client.post(
                f"{url}/{answer.json()['id']}/corrections", json=correction, headers=provider.headers
            )
            assert corrected.status_code == 201, corrected.text
            assert corrected.json()["attemptNumber"] == 2
    assert numbers == [1, 2, 3, 4]


async def test_a_nul_character_is_refused_on_the_short_way_as_on_the_usual_one(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    provider, learner_id, enrolment_id = await outcome_classroom(client, bootstrap)
    url = f"/organisations/{provider.org_id}/attempts"
    for way in ("usual", "short"):  # the first teaches the process the unit
        body = judged(learner_id, enrolment_id)
        body["submission"]["judgements"][0]["note"] = f"seen on the {way} way\u0000"
        refused = await client.post(url, json=body, headers=provider.headers)
        assert refused.status_code == 422, refused.text
        assert "NUL character" in refused.json()["detail"]
        assert (
            await client.post(url, json=judged(learner_id, enrolment_id), headers=provider.headers)
        ).status_code == 201


async def test_what_does_not_check_out_goes_the_usual_way_and_gets_its_error(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    provider, learner_id, enrolment_id = await outcome_classroom(client, bootstrap, "supervised_no_identity_check")
    url = f"/organisations/{provider.org_id}/attempts"
    warm = await client.post(
        url, json=judged(learner_id, enrolment_id, supervision="supervised_no_identity_check"), headers=provider.headers
    )
    assert warm.status_code == 201, warm.text
    refused = [
        (judged(str(uuid4()), enrolment_id, supervision="supervised_no_identity_check"), 404, "has no enrolment"),
        (
            judged(learner_id, enrolment_id, supervision="supervised_no_identity_check", assessorPersonId=str(uuid4())),
            403,
            "is not an assessor",
        ),
        (judged(learner_id, enrolment_id), 422, "requires at least supervised_no_identity_check"),
        (
            {
                **judged(learner_id, enrolment_id, supervision="supervised_no_identity_check"),
                "submission": {"mode": "outcome_based", "judgements": [{"outcome": "lo9", "achieved": True}]},
            },
            422,
            "does not fit the unit's specification",
        ),
    ]
    for body, status, words in refused:
        answer = await client.post(url, json=body, headers=provider.headers)
        assert answer.status_code == status, answer.text
        assert words in answer.json()["detail"], answer.json()


async def test_record_known_takes_the_one_round_trip_only_where_it_may(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    provider, learner_id, enrolment_id = await outcome_classroom(client, bootstrap)
    org = UUID(str(provider.org_id))
    actor = Actor(client_id=provider.client_id, organisation_id=org)
    audit = AuditEntry("attempt.recorded", {})
    rec = Recording(
        provider_id=org,
        learner_id=UUID(learner_id),
        enrolment_id=UUID(enrolment_id),
        unit_key="u1",
        assessed_at=datetime(2026, 11, 20, tzinfo=UTC),
        supervision="unsupervised",
    )
    submission = judged(learner_id, enrolment_id)["submission"]
    assert await recording.record_known(db, actor, rec, submission, audit) is None  # not known yet
    await service.record_attempt(db, actor, org, msgspec.convert(judged(learner_id, enrolment_id), AttemptCreate))
    known = await recording.record_known(db, actor, rec, submission, audit)
    assert known is not None and known.attempt_number == 2
    for other in (
        Recording(**{**vars(rec), "unit_key": None}),  # which unit: the usual way says or finds out
        Recording(**{**vars(rec), "dedupe_key": "row-1"}),  # a bulk row: its re-sending is the usual way's
        Recording(**{**vars(rec), "learner_id": uuid4()}),  # checked in the function: not this learner's
    ):
        assert await recording.record_known(db, actor, other, submission, audit) is None
