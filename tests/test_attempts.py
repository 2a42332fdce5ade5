"""Recording attempts through HTTP: decisions with reasons, idempotent retries, corrections, limits, guards."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.db import Database
from tests.conftest import Bootstrap
from tests.scenarios import classroom


def welding(bead: str, penetration: str, safety: float) -> dict[str, object]:
    return {
        "mode": "performance_standard",
        "scores": [
            {"criterion": "bead", "level": bead},
            {"criterion": "penetration", "level": penetration},
            {"criterion": "safety", "value": safety},
        ],
    }


async def test_a_high_total_fails_when_a_must_pass_criterion_is_under_its_minimum(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    response = await client.post(
        room.attempts_url, headers=room.provider.headers, json=room.attempt(welding("l2", "l4", 10))
    )
    assert response.status_code == 201, response.text
    attempt = response.json()
    decision = attempt["decision"]
    assert attempt["passed"] is False and attempt["attemptNumber"] == 1
    assert decision["score"] >= 60  # above the cut score ...
    assert any("Weld bead geometry" in r and "minimum" in r for r in decision["reasons"])  # ... but bead is too low
    async with db.connection() as conn:
        topics = [r["topic"] for r in await conn.fetch("SELECT topic FROM outbox ORDER BY id")]
    assert topics[-2:] == ["attempt.recorded", "attempt.failed"]

    passed = await client.post(
        room.attempts_url, headers=room.provider.headers, json=room.attempt(welding("l3", "l3", 8))
    )
    assert passed.json()["passed"] is True and passed.json()["attemptNumber"] == 2
    read = await client.get(f"{room.attempts_url}/{passed.json()['id']}", headers=room.provider.headers)
    assert read.status_code == 200 and read.json()["decision"] == passed.json()["decision"]


async def test_a_retried_recording_records_once(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    room = await classroom(client, bootstrap)
    headers = {**room.provider.headers, "Idempotency-Key": "attempt-jonas-1"}
    first = await client.post(room.attempts_url, headers=headers, json=room.attempt(welding("l3", "l3", 8)))
    again = await client.post(room.attempts_url, headers=headers, json=room.attempt(welding("l3", "l3", 8)))
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    listed = await client.get(room.attempts_url, headers=room.provider.headers)
    assert len(listed.json()["items"]) == 1


async def test_attempts_over_the_maximum_are_refused(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    room = await classroom(client, bootstrap)
    for _ in range(3):
        response = await client.post(
            room.attempts_url, headers=room.provider.headers, json=room.attempt(welding("l1", "l1", 1))
        )
        assert response.status_code == 201
    fourth = await client.post(
        room.attempts_url, headers=room.provider.headers, json=room.attempt(welding("l4", "l4", 10))
    )
    assert fourth.status_code == 409
    assert "used all 3 attempts" in fourth.json()["detail"]


async def test_a_correction_is_a_new_record_and_the_decision_follows_it(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    room = await classroom(client, bootstrap)
    original = (
        await client.post(room.attempts_url, headers=room.provider.headers, json=room.attempt(welding("l2", "l4", 10)))
    ).json()
    url = f"{room.attempts_url}/{original['id']}/corrections"
    corrected = await client.post(
        url,
        headers=room.provider.headers,
        json={"reason": "Bead was scored from the wrong specimen", "submission": welding("l3", "l4", 10)},
    )
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["passed"] is True
    assert corrected.json()["correctsAttemptId"] == original["id"] and corrected.json()["attemptNumber"] == 1
    again = await client.post(
        url, headers=room.provider.headers, json={"reason": "x", "submission": welding("l1", "l1", 0)}
    )
    assert again.status_code == 409
    old = await client.get(f"{room.attempts_url}/{original['id']}", headers=room.provider.headers)
    assert old.json()["passed"] is False and old.json()["correctedBy"] == corrected.json()["id"]


async def test_bad_attempts_get_precise_reasons(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    room = await classroom(client, bootstrap)
    cases = [
        (room.attempt(welding("l9", "l3", 5)), 422, "bead"),
        (room.attempt({"mode": "outcome_based", "judgements": []}), 422, "mode"),
        (room.attempt(welding("l3", "l3", 5), supervision="unsupervised"), 422, "requires"),
        (room.attempt(welding("l3", "l3", 5), unitKey=None), 422, "say which unit"),
        (room.attempt(welding("l3", "l3", 5), unitKey="u7"), 422, "no unit 'u7'"),
        ({**room.attempt(welding("l3", "l3", 5)), "enrolmentId": room.learner_id}, 404, "no enrolment"),
    ]
    for body, status, message in cases:
        response = await client.post(room.attempts_url, headers=room.provider.headers, json=body)
        assert response.status_code == status, (body, response.text)
        assert message in response.json()["detail"], (body, response.json())


async def test_learners_and_enrolments_that_cannot_exist_are_refused_not_server_errors(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    room = await classroom(client, bootstrap)
    # The platform operator passes the guard for any organisation id; registering a learner there broke the
    # learners' foreign key (500).
    operator = await bootstrap.integrator(["admin"], name="Guildhall operator", kind="authority")
    nowhere = "00000000-0000-4000-8000-000000000000"
    learner = await client.post(f"/organisations/{nowhere}/learners", headers=operator.headers, json={"name": "X"})
    assert learner.status_code == 404, learner.text
    assert learner.json()["detail"] == f"there is no organisation {nowhere}"
    # Version numbers are PostgreSQL integers: a larger one broke the query (500).
    enrolments = f"/organisations/{room.provider.org_id}/learners/{room.learner_id}/enrolments"
    body = {"programmeId": room.programme_id, "versionNumber": 2**31}
    enrolment = await client.post(enrolments, headers=room.provider.headers, json=body)
    assert enrolment.status_code == 400, enrolment.text
    assert enrolment.json()["invalidParams"] == [{"name": "versionNumber", "reason": "Expected `int` <= 2147483647"}]


async def test_only_the_provider_reads_and_records_its_attempts(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    room = await classroom(client, bootstrap)
    other = await bootstrap.integrator(["assessments:write"], name="Other provider", kind="vet_provider")
    recorded = await client.post(
        room.attempts_url, headers=room.provider.headers, json=room.attempt(welding("l3", "l3", 8))
    )
    for response in (
        await client.get(room.attempts_url, headers=other.headers),
        await client.get(f"{room.attempts_url}/{recorded.json()['id']}", headers=other.headers),
        await client.post(room.attempts_url, headers=other.headers, json=room.attempt(welding("l4", "l4", 10))),
    ):
        assert response.status_code == 403
    # Recording into one's own organisation does not reach another provider's learner either.
    own_url = f"/organisations/{other.org_id}/attempts"
    response = await client.post(own_url, headers=other.headers, json=room.attempt(welding("l4", "l4", 10)))
    assert response.status_code == 404


async def test_the_programmes_coauthors_read_its_attempts(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    room = await classroom(client, bootstrap)
    await client.post(room.attempts_url, headers=room.provider.headers, json=room.attempt(welding("l3", "l3", 8)))
    chamber = await bootstrap.token(room.chamber.client_id, room.chamber.client_secret)
    # The chamber's client lacks assessments:read: the scope is needed too.
    refused = await client.get(
        f"/programmes/{room.programme_id}/attempts", headers={"Authorization": f"Bearer {chamber}"}
    )
    assert refused.status_code == 403
    reader_id, reader_secret = await bootstrap.oauth_client(room.chamber.org_id, ["assessments:read"])
    assert reader_secret is not None
    token = await bootstrap.token(reader_id, reader_secret)
    listed = await client.get(f"/programmes/{room.programme_id}/attempts", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1
    outsider = await bootstrap.integrator(["assessments:read"], name="Outsider", kind="employer")
    assert (await client.get(f"/programmes/{room.programme_id}/attempts", headers=outsider.headers)).status_code == 404
