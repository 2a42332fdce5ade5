"""Simulators post xAPI statements: kept as received, turned into attempts, refused whole when one is wrong."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from assessment.xapi import COMPLETED, FAILED, MASTERY_SCORE, PASSED, SESSION_ID
from domain.db import Database
from tests.conftest import Bootstrap
from tests.oauth_flow import APP_REDIRECT_URI, person_token
from tests.scenarios import Classroom, classroom

URL = "/xapi/statements"
SIMULATOR = "https://sim.festo.example"
JONAS = {"objectType": "Agent", "name": "Jonas Weber", "account": {"homePage": SIMULATOR, "name": "student_number:S-1"}}


def unit_urn(room: Classroom, unit: str = "sim") -> str:
    return f"urn:guildhall:programme:{room.programme_id}:unit:{unit}"


def statement(
    room: Classroom,
    verb: str,
    scaled: float | None,
    *,
    at: str = "2026-11-20T10:00:00Z",
    actor: dict[str, Any] | None = None,
    unit: str = "sim",
    **extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": actor or JONAS,
        "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[-1]}},
        "object": {
            "objectType": "Activity",
            "id": unit_urn(room, unit),
            "definition": {"name": {"en-US": "MPS sorting station"}},
        },
        "context": {"extensions": {MASTERY_SCORE: 0.8}},
        "timestamp": at,
        **extra,
    }
    if scaled is not None:
        data["result"] = {"score": {"scaled": scaled}, "duration": "PT12M30S"}
    return data


async def kept(db: Database) -> list[dict[str, Any]]:
    async with db.connection() as conn:
        return [dict(r) for r in await conn.fetch("SELECT * FROM xapi_statements ORDER BY received_at, id")]


async def attempt_count(db: Database) -> int:
    async with db.connection() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM attempts")
        return count


async def test_festo_ihk_a_failed_run_then_a_passed_run_and_the_best_run_decides(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    headers = {**room.provider.headers, "X-Experience-API-Version": "1.0.3"}
    first = statement(room, FAILED, 0.62, at="2026-11-20T09:00:00Z")
    failed = await client.post(URL, json=first, headers=headers)
    assert failed.status_code == 200, failed.text
    assert failed.headers["X-Experience-API-Version"] == "1.0.3"
    assert failed.json()["ids"] == [first["id"]]
    outcome = failed.json()["statements"][0]
    assert outcome["status"] == "recorded" and outcome["decision"]["passed"] is False
    assert outcome["decision"]["score"] == 0.62
    assert any("below the mastery score 0.8" in r for r in outcome["decision"]["reasons"])

    second = statement(room, PASSED, 0.91, at="2026-11-20T11:00:00Z")
    passed = await client.post(URL, json=[second], headers=headers)
    assert passed.status_code == 200, passed.text
    decision = passed.json()["statements"][0]["decision"]
    assert decision["passed"] is True and decision["score"] == 0.91
    assert decision["decidingRuns"] == [1]  # runs accumulate: run 2 of 2, the best, decides

    listed = (await client.get(room.attempts_url, headers=room.provider.headers)).json()["items"]
    assert [(a["attemptNumber"], a["passed"], a["source"]) for a in listed] == [(1, False, "xapi"), (2, True, "xapi")]
    assert listed[1]["id"] == passed.json()["statements"][0]["attemptId"]
    assert listed[1]["supervision"] == "supervised_no_identity_check"  # the specification's own
    assert listed[1]["assessedAt"].startswith("2026-11-20T11:00:00")
    assert [r["statementId"] for r in listed[1]["submission"]["runs"]] == [first["id"], second["id"]]
    rows = await kept(db)
    assert [(str(r["id"]), r["statement"], r["problem"]) for r in rows] == [
        (first["id"], first, None),
        (second["id"], second, None),
    ]
    assert [str(r["attempt_id"]) for r in rows] == [a["id"] for a in listed]
    assert rows[0]["client_id"] == room.provider.client_id


async def test_a_statement_sent_again_records_nothing_twice(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    by_id = {"objectType": "Agent", "account": {"homePage": SIMULATOR, "name": room.learner_id}}
    first = statement(room, FAILED, 0.5, at="2026-11-20T09:00:00Z", actor=by_id)
    once = await client.post(URL, json=first, headers=room.provider.headers)
    again = await client.post(URL, json=first, headers=room.provider.headers)
    assert once.status_code == again.status_code == 200, again.text
    assert again.json()["statements"][0]["status"] == "received_before"
    assert again.json()["statements"][0]["attemptId"] == once.json()["statements"][0]["attemptId"]
    assert again.json()["statements"][0]["decision"] == once.json()["statements"][0]["decision"]

    second = statement(room, PASSED, 0.85, at="2026-11-20T10:00:00Z", actor=by_id)
    mixed = await client.post(URL, json=[first, second], headers=room.provider.headers)
    assert [s["status"] for s in mixed.json()["statements"]] == ["received_before", "recorded"]
    assert await attempt_count(db) == 2 and len(await kept(db)) == 2
    async with db.connection() as conn:
        events = await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'attempt.recorded'")
    assert events == 2

    changed = {**first, "result": {"score": {"scaled": 0.45}}}
    conflict = await client.post(URL, json=changed, headers=room.provider.headers)
    assert conflict.status_code == 409 and "received before with other content" in conflict.json()["detail"]
    assert await attempt_count(db) == 2


async def test_a_self_contradicting_statement_refuses_the_request_and_nothing_is_stored(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    good = statement(room, FAILED, 0.5)
    bad = statement(room, PASSED, 0.62)  # passed, under the mastery score the statement itself carries
    response = await client.post(URL, json=[good, bad], headers=room.provider.headers)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"] == "urn:guildhall:problem:invalid-statements"
    assert [(p["index"], p["id"]) for p in problem["statements"]] == [(1, bad["id"])]
    assert "the verb is 'passed' but the scaled score 0.62 is below the mastery score 0.8" in problem["detail"]
    assert await attempt_count(db) == 0 and await kept(db) == []

    twice = await client.post(URL, json=[good, good], headers=room.provider.headers)
    assert twice.status_code == 400 and "sent twice" in twice.json()["detail"]
    version = await client.post(URL, json=good, headers={**room.provider.headers, "X-Experience-API-Version": "0.9"})
    assert version.status_code == 400 and "1.0.x" in version.json()["detail"]


async def test_unknown_learners_and_units_are_clear_problems_and_a_fixed_statement_can_be_sent_again(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    stranger = {"objectType": "Agent", "account": {"homePage": SIMULATOR, "name": "student_number:S-404"}}
    cases = [
        (statement(room, PASSED, 0.9, actor=stranger), 404, "no learner with the identifier student_number 'S-404'"),
        (statement(room, PASSED, 0.9, unit="u9"), 422, "no unit 'u9'"),
        (statement(room, PASSED, 0.9, unit="u1"), 422, "does not fit the unit's specification"),
        (
            {**statement(room, PASSED, 0.9), "object": {"id": "https://sim.example/au/1"}},
            422,
            "names no Guildhall unit",
        ),
        (
            statement(room, PASSED, 0.9, context={"extensions": {"urn:guildhall:supervision": "unsupervised"}}),
            422,
            "requires at least supervised_no_identity_check",
        ),
    ]
    for body, status, message in cases:
        response = await client.post(URL, json=body, headers=room.provider.headers)
        assert response.status_code == status, (body, response.text)
        assert message in response.json()["detail"], response.json()
        assert response.json()["statements"][0]["id"] == body["id"]
    assert await attempt_count(db) == 0
    rows = await kept(db)
    assert len(rows) == len(cases) and all(r["problem"] and r["attempt_id"] is None for r in rows)

    # A request is recorded whole or not at all: the good statement waits for the unknown learner's.
    good, unknown = statement(room, FAILED, 0.5), statement(room, PASSED, 0.9, actor=stranger)
    refused = await client.post(URL, json=[good, unknown], headers=room.provider.headers)
    assert refused.status_code == 404 and [p["index"] for p in refused.json()["statements"]] == [1]
    assert await attempt_count(db) == 0
    # Fixed, the refused statement is tried again under its id.
    fixed = await client.post(URL, json=[good, {**unknown, "actor": JONAS}], headers=room.provider.headers)
    assert fixed.status_code == 200, fixed.text
    assert [s["status"] for s in fixed.json()["statements"]] == ["recorded", "recorded"]
    by_id = {str(r["id"]): r for r in await kept(db)}
    assert by_id[unknown["id"]]["problem"] is None and by_id[unknown["id"]]["statement"]["actor"] == JONAS


async def test_cmi5_sessions_mailboxes_learner_ids_and_statements_without_ids(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    jonas_by_mail = {"objectType": "Agent", "mbox": "mailto:Jonas@Example.de"}
    au = {"objectType": "Activity", "id": "https://sim.festo.example/au/mps"}
    cmi5 = {
        "contextActivities": {"parent": [{"id": unit_urn(room)}]},
        "extensions": {MASTERY_SCORE: 0.8, SESSION_ID: "session-1"},
    }
    completed = {**statement(room, COMPLETED, 0.82, actor=jonas_by_mail, object=au, context=cmi5)}
    passed = {**statement(room, PASSED, 0.82, actor=jonas_by_mail, object=au, context=cmi5)}
    del passed["id"]  # an LRS gives it one
    response = await client.post(URL, json=[completed, passed], headers=room.provider.headers)
    assert response.status_code == 200, response.text
    ids = response.json()["ids"]
    assert ids[0] == completed["id"] and uuid.UUID(ids[1])
    outcomes = response.json()["statements"]
    assert outcomes[0]["attemptId"] == outcomes[1]["attemptId"] and outcomes[1]["decision"]["passed"] is True
    rows = {str(r["id"]): r for r in await kept(db)}
    assert rows[ids[1]]["statement"] == {**passed, "id": ids[1]}
    assert await attempt_count(db) == 1

    # The runs of a unit accumulate, and the engine wants them by one actor, identified one way.
    by_id = {"objectType": "Agent", "account": {"homePage": SIMULATOR, "name": room.learner_id}}
    mixed = await client.post(
        URL, json=statement(room, FAILED, 0.4, actor=by_id, at="2026-11-21T09:00:00Z"), headers=room.provider.headers
    )
    assert mixed.status_code == 422 and "the runs are by different actors" in mixed.json()["detail"]
    later = await client.post(
        URL,
        json=statement(room, FAILED, 0.4, actor=jonas_by_mail, at="2026-11-21T09:00:00Z"),
        headers=room.provider.headers,
    )
    assert later.status_code == 200, later.text
    assert later.json()["statements"][0]["decision"]["decidingRuns"] == [0]  # the session's run stays the best
    earlier = await client.post(
        URL,
        json=statement(room, FAILED, 0.4, actor=jonas_by_mail, at="2026-11-19T09:00:00Z"),
        headers=room.provider.headers,
    )
    assert earlier.status_code == 422 and "chronological order" in earlier.json()["detail"]


async def test_only_a_providers_own_client_with_assessments_write_posts_statements(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    body = statement(room, PASSED, 0.9, actor={"account": {"homePage": SIMULATOR, "name": room.learner_id}})
    reader_id, reader_secret = await bootstrap.oauth_client(room.provider.org_id, ["assessments:read"])
    assert reader_secret is not None
    reader = {"Authorization": "Bearer " + await bootstrap.token(reader_id, reader_secret)}
    lacking = await client.post(URL, json=body, headers=reader)
    assert lacking.status_code == 403 and "assessments:write" in lacking.json()["detail"]

    other = await bootstrap.integrator(["assessments:write"], name="Other provider", kind="vet_provider")
    foreign = await client.post(URL, json=body, headers=other.headers)
    assert foreign.status_code == 404, foreign.text
    assert f"no learner with id {room.learner_id}" in foreign.json()["detail"]
    # The refused statement is kept at the other provider; its id is then taken for this one.
    taken = await client.post(URL, json=body, headers=room.provider.headers)
    assert taken.status_code == 409 and "another source" in taken.json()["detail"]

    password = "correct horse battery staple"
    app_id, app_secret = await bootstrap.oauth_client(
        room.provider.org_id,
        ["assessments:write"],
        grant_types=["authorization_code"],
        redirect_uris=[APP_REDIRECT_URI],
    )
    assert app_secret is not None
    await bootstrap.member(room.provider.org_id, "assessor@festo.example", ["assessor"], password=password)
    token = await person_token(client, app_id, app_secret, "assessor@festo.example", password, "assessments:write")
    person = await client.post(
        URL, json={**body, "id": str(uuid.uuid4())}, headers={"Authorization": f"Bearer {token}"}
    )
    assert person.status_code == 403 and "client credentials" in person.json()["detail"]
    assert await attempt_count(db) == 0
