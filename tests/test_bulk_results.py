"""Bulk uploads of results through HTTP: JSON and CSV, every rejected row named, nothing recorded twice,
large batches decided by a real arq worker in chunks with progress; and the CSV reader on arbitrary text."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.connections import ArqRedis, create_pool
from arq.worker import Worker
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api import queue
from api import worker as worker_module
from api.settings import decode_master_key
from domain import outbox
from domain.attempts import bulk, csv_rows
from domain.attempts.bulk_rows import chunks
from domain.db import Database
from domain.errors import InvalidInput
from tests.conftest import BASE_URL, TEST_MASTER_KEY, Bootstrap
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding

ONSITE = "supervised_identity_check_onsite"
CSV_HEADER = "learner,programme_id,unit_key,assessed_at,supervision,criterion,level,value"
CSV = {"Content-Type": "text/csv"}


def batches_url(room: Classroom) -> str:
    return f"/organisations/{room.provider.org_id}/result-batches"


def row(room: Classroom, submission: dict[str, Any], at: str, **extra: Any) -> dict[str, Any]:
    return {
        "learnerId": room.learner_id,
        "enrolmentId": room.enrolment_id,
        "unitKey": "u1",
        "assessedAt": at,
        "supervision": ONSITE,
        "submission": submission,
        **extra,
    }


def weld_rows(
    learner: str, programme: str, at: str, bead: str = "l3", safety: str = "8", supervision: str = ONSITE
) -> list[str]:
    """The three CSV rows of one welding attempt."""
    head = f"{learner},{programme},u1,{at},{supervision}"
    return [f"{head},bead,{bead},", f"{head},penetration,l3,", f"{head},safety,,{safety}"]


def csv_body(*rows: str) -> bytes:
    return "\r\n".join([CSV_HEADER, *rows, ""]).encode()


async def second_learner(client: AsyncTestClient[Litestar], room: Classroom, number: str) -> str:
    learners = f"/organisations/{room.provider.org_id}/learners"
    learner = await client.post(
        learners,
        headers=room.provider.headers,
        json={"name": f"Learner {number}", "identifiers": [{"scheme": "student_number", "value": number}]},
    )
    assert learner.status_code == 201, learner.text
    learner_id: str = learner.json()["id"]
    enrolment = await client.post(
        f"{learners}/{learner_id}/enrolments", json={"programmeId": room.programme_id}, headers=room.provider.headers
    )
    assert enrolment.status_code == 201, enrolment.text
    return learner_id


async def count(db: Database, sql: str, *args: Any) -> int:
    async with db.connection() as conn:
        value: int = await conn.fetchval(sql, *args)
    return value


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(queue.redis_settings(redis_url))
    yield pool
    await pool.aclose()


async def run_worker(redis: ArqRedis, db: Database, **options: Any) -> Worker:
    worker = Worker(
        functions=worker_module.FUNCTIONS,
        redis_pool=redis,
        burst=True,
        poll_delay=0,
        handle_signals=False,
        # What the worker's startup gives its handlers: issuing on attempt.passed signs credentials.
        ctx={"db": db, "handler_context": outbox.HandlerContext(decode_master_key(TEST_MASTER_KEY), BASE_URL)},
        **options,
    )
    await worker.main()
    return worker


async def test_a_json_batch_is_decided_row_by_row(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, redis: ArqRedis
) -> None:
    room = await classroom(client, bootstrap)
    by_number = {"learner": {"scheme": "student_number", "value": "S-1"}, "programmeId": room.programme_id}
    rows = [
        row(room, welding("l3", "l3", 8), "2026-11-20T09:00:00Z"),
        {
            **row(room, welding("l2", "l4", 10), "2026-11-20T10:00:00Z"),
            "learnerId": None,
            "enrolmentId": None,
            **by_number,
        },
        row(room, {"mode": "simulation", "runs": [{"scaledScore": 0.9}]}, "2026-11-20T11:00:00Z", unitKey="sim"),
        row(room, welding("l3", "l3", 8), "2026-11-20T12:00:00Z", enrolmentId=room.learner_id),
        {key: value for key, value in row(room, welding("l3", "l3", 8), "x").items() if key != "assessedAt"},
    ]
    response = await client.post(batches_url(room), headers=room.provider.headers, json={"rows": rows})
    assert response.status_code == 201, response.text
    report = response.json()
    assert response.headers["location"] == f"{batches_url(room)}/{report['id']}"
    assert report["status"] == "done" and report["format"] == "json"
    assert (report["rowsTotal"], report["rowsDone"], report["accepted"], report["rejected"]) == (5, 5, 3, 2)
    assert [(r["row"], r["passed"]) for r in report["recorded"]] == [(1, True), (2, False), (3, True)]
    assert [r["row"] for r in report["rejections"]] == [4, 5]
    assert "has no enrolment" in report["rejections"][0]["reason"]
    assert report["rejections"][1]["reason"] == "assessedAt: required, but missing"
    assert report["alreadyRecorded"] == []

    attempts = (
        await client.get(f"/organisations/{room.provider.org_id}/attempts", headers=room.provider.headers)
    ).json()["items"]
    assert {a["id"] for a in attempts} == {r["attemptId"] for r in report["recorded"]}
    assert sorted((a["unitKey"], a["attemptNumber"], a["source"]) for a in attempts) == [
        ("sim", 1, "bulk"),
        ("u1", 1, "bulk"),
        ("u1", 2, "bulk"),
    ]
    async with db.connection() as conn:
        topics = [r["topic"] for r in await conn.fetch("SELECT topic FROM outbox WHERE topic LIKE 'attempt.%'")]
        audit = await conn.fetch("SELECT details FROM audit_log WHERE action = 'results.uploaded'")
    assert sorted(topics) == sorted(["attempt.recorded"] * 3 + ["attempt.passed"] * 2 + ["attempt.failed"])
    assert [json.loads(a["details"]) if isinstance(a["details"], str) else a["details"] for a in audit] == [
        {"status": "done", "rowsTotal": 5, "accepted": 3, "rejected": 2, "alreadyRecorded": 0}
    ]
    await run_worker(redis, db)  # the attempts' events went to the queue in one job after commit
    assert await count(db, "SELECT count(*) FROM outbox WHERE topic LIKE 'attempt.%' AND done_at IS NULL") == 0


async def test_a_csv_batch_names_every_rejected_row_and_records_nothing_twice(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    other = await second_learner(client, room, "S-2")
    pid = room.programme_id
    body = csv_body(
        *weld_rows("student_number:S-1", pid, "2026-11-20T09:00:00Z"),  # rows 2-4: recorded
        *weld_rows("student_number:S-404", pid, "2026-11-20T09:00:00Z"),  # rows 5-7: no such learner
        *weld_rows("student_number:S-1", pid, "2026-11-20T10:00:00Z", bead="l9"),  # rows 8-10: not on the rubric
        *weld_rows("student_number:S-1", pid, "2026-11-20T11:00:00Z")[:2],  # rows 11-12: safety not scored
        *weld_rows(other, pid, "2026-11-20T09:00:00Z", supervision="unsupervised"),  # rows 13-15: too weak
        *weld_rows(other, pid, "2026-11-20T10:00:00Z", bead="l2"),  # rows 16-18: recorded, failed
    )
    first = await client.post(batches_url(room), headers={**room.provider.headers, **CSV}, content=body)
    assert first.status_code == 201, first.text
    report = first.json()
    assert (report["format"], report["rowsTotal"], report["accepted"], report["rejected"]) == ("csv", 17, 6, 11)
    assert [(r["row"], r["rows"], r["passed"]) for r in report["recorded"]] == [
        (2, [2, 3, 4], True),
        (16, [16, 17, 18], False),
    ]
    reasons = {r["row"]: (r["rows"], r["reason"]) for r in report["rejections"]}
    assert sorted(reasons) == [5, 8, 11, 13]
    assert reasons[5] == ([5, 6, 7], "there is no learner student_number 'S-404' at this provider")
    assert reasons[8][0] == [8, 9, 10]
    assert "row 8: scores[bead].level: 'l9' is not one of the rubric's levels" in reasons[8][1]
    assert "criterion 'safety' is not scored" in reasons[11][1] and reasons[11][0] == [11, 12]
    assert "requires supervised_identity_check_onsite; this attempt was unsupervised" in reasons[13][1]
    assert await count(db, "SELECT count(*) FROM attempts WHERE batch_id = $1", report["id"]) == 2

    again = await client.post(batches_url(room), headers={**room.provider.headers, **CSV}, content=body)
    assert again.status_code == 200, again.text
    assert again.json() == report
    assert await count(db, "SELECT count(*) FROM attempts") == 2
    assert await count(db, "SELECT count(*) FROM result_batches") == 1

    # Another batch that repeats a recorded attempt (by learner id this time) records only what is new.
    overlapping = csv_body(
        *weld_rows(room.learner_id, pid, "2026-11-20T09:00:00Z"),
        *weld_rows(room.learner_id, pid, "2026-11-20T12:00:00Z", safety="9"),
    )
    third = await client.post(batches_url(room), headers={**room.provider.headers, **CSV}, content=overlapping)
    assert third.status_code == 201, third.text
    assert third.json()["alreadyRecorded"] == [
        {"row": 2, "rows": [2, 3, 4], "duplicateOf": report["recorded"][0]["attemptId"]}
    ]
    assert [r["row"] for r in third.json()["recorded"]] == [5] and third.json()["rejections"] == []
    assert await count(db, "SELECT count(*) FROM attempts") == 3
    numbers = await count(db, "SELECT max(attempt_number) FROM attempts WHERE learner_id = $1", room.learner_id)
    assert numbers == 2


async def test_the_attempt_limit_counts_earlier_rows_of_the_same_batch(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    room = await classroom(client, bootstrap)
    rows = [row(room, welding("l1", "l1", s), f"2026-11-2{s}T10:00:00Z") for s in range(1, 5)]
    rows.append(rows[0])  # the same attempt twice in one batch: recorded once
    report = (await client.post(batches_url(room), headers=room.provider.headers, json={"rows": rows})).json()
    assert [r["row"] for r in report["recorded"]] == [1, 2, 3]
    assert report["rejections"] == [
        {"row": 4, "reason": f"learner {room.learner_id} has used all 3 attempts at unit 'u1'"}
    ]
    assert report["alreadyRecorded"] == [{"row": 5, "duplicateOf": report["recorded"][0]["attemptId"]}]


async def test_simulation_runs_accumulate_over_the_rows_of_a_batch(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    room = await classroom(client, bootstrap)
    runs = [(0.7, "2026-11-20T10:00:00Z"), (0.9, "2026-11-20T11:00:00Z")]
    rows = [
        row(room, {"mode": "simulation", "runs": [{"scaledScore": score, "at": at}]}, at, unitKey="sim")
        for score, at in runs
    ]
    report = (await client.post(batches_url(room), headers=room.provider.headers, json={"rows": rows})).json()
    assert [(r["row"], r["passed"]) for r in report["recorded"]] == [(1, False), (2, True)]
    second = (
        await client.get(
            f"/organisations/{room.provider.org_id}/attempts/{report['recorded'][1]['attemptId']}",
            headers=room.provider.headers,
        )
    ).json()
    assert [r["scaledScore"] for r in second["submission"]["runs"]] == [0.7, 0.9]  # the best of both decided


async def test_a_large_batch_is_decided_in_the_background_in_chunks(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    redis: ArqRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk, "INLINE_LIMIT", 10)  # as if it held more than 1,000 rows
    monkeypatch.setattr(bulk, "CHUNK_SIZE", 10)
    room = await classroom(client, bootstrap)
    learners = [room.learner_id] + [await second_learner(client, room, f"S-{n}") for n in range(2, 6)]
    rows = [
        {
            "learnerId": learner,
            "programmeId": room.programme_id,
            "unitKey": "u1",
            "supervision": ONSITE,
            "assessedAt": f"2026-11-2{n}T10:00:00Z",
            "submission": welding("l3", "l3", 5 + n),
        }
        for learner in learners
        for n in range(1, 5)  # the fourth attempt of each is over the limit
    ] + [
        {
            "learnerId": learner,
            "programmeId": room.programme_id,
            "unitKey": "sim",
            "supervision": ONSITE,
            "assessedAt": "2026-11-20T08:00:00Z",
            "submission": {"mode": "simulation", "runs": [{"scaledScore": 0.7}]},
        }
        for learner in learners
    ]

    await run_worker(redis, db)  # the jobs of setting up the classroom, out of the way
    queued = await client.post(batches_url(room), headers=room.provider.headers, json={"rows": rows})
    assert queued.status_code == 202, queued.text
    assert (queued.json()["status"], queued.json()["rowsTotal"], queued.json()["rowsDone"]) == ("queued", 25, 0)
    assert queued.json()["recorded"] is None
    location = queued.headers["location"]
    assert await count(db, "SELECT count(*) FROM outbox WHERE topic = $1", bulk.BATCH_TOPIC) == 3

    first = await run_worker(redis, db, max_burst_jobs=1)  # one chunk, committed on its own
    assert first.jobs_complete == 1
    polled = (await client.get(location, headers=room.provider.headers)).json()
    assert polled["status"] == "running" and 0 < polled["rowsDone"] < 25 and polled["rejections"] is None

    await run_worker(redis, db)
    done = (await client.get(location, headers=room.provider.headers)).json()
    assert (done["status"], done["rowsDone"], done["accepted"], done["rejected"]) == ("done", 25, 20, 5)
    assert {r["reason"].rsplit(" has ", 1)[1] for r in done["rejections"]} == {"used all 3 attempts at unit 'u1'"}
    assert sorted(r["row"] for r in done["rejections"]) == [4, 8, 12, 16, 20]
    assert await count(db, "SELECT count(*) FROM attempts WHERE batch_id = $1", done["id"]) == 20
    assert await count(db, "SELECT count(*) FROM outbox WHERE topic LIKE 'attempt.%'") == 40
    # The chunks' attempt events were handed to the queue as each chunk committed, not left for the sweep:
    # the same burst handled them (and the credentials they earned) without one.
    assert await count(db, "SELECT count(*) FROM outbox WHERE done_at IS NULL") == 0
    assert await count(db, "SELECT count(*) FROM audit_log WHERE action = 'results.uploaded'") == 1
    assert await count(db, "SELECT count(*) FROM result_batches WHERE payload <> '[]'") == 0  # kept until decided

    resent = await client.post(batches_url(room), headers=room.provider.headers, json={"rows": rows})
    assert resent.status_code == 200 and resent.json() == done


async def test_a_chunk_that_keeps_failing_is_given_up_and_its_rows_named(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "INLINE_LIMIT", 1)
    room = await classroom(client, bootstrap)
    rows = [
        row(room, welding("l3", "l3", 8), "2026-11-20T09:00:00Z"),
        row(room, welding("l4", "l4", 9), "2026-11-20T10:00:00Z"),
    ]
    queued = (await client.post(batches_url(room), headers=room.provider.headers, json={"rows": rows})).json()
    async with db.connection() as conn:  # as if five tries had failed before this one
        event_id = await conn.fetchval(
            "UPDATE outbox SET attempts = $2 WHERE topic = $1 RETURNING id", bulk.BATCH_TOPIC, bulk.GIVE_UP_AFTER
        )
    assert await outbox.process_event(db, event_id) is True

    failed = (await client.get(f"{batches_url(room)}/{queued['id']}", headers=room.provider.headers)).json()
    assert (failed["status"], failed["rowsDone"], failed["rejected"]) == ("failed", 2, 2)
    assert [(r["row"], r.get("unprocessed")) for r in failed["rejections"]] == [(1, True), (2, True)]
    assert "send the row again" in failed["rejections"][0]["reason"]
    assert await count(db, "SELECT count(*) FROM attempts") == 0


async def test_unreadable_uploads_are_refused_whole(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    room = await classroom(client, bootstrap)
    url, headers = batches_url(room), room.provider.headers
    cases: list[tuple[bytes, str, int, str]] = [
        (b'{"rows": [\n  {"a": 1},\n  {"b": 2\n]}', "application/json", 400, "line 4: not valid JSON"),
        (b'{"rows": 3}', "application/json", 400, "rows: expected `array`, got `int`"),
        (
            b'learner,programme_id,unit_key,assessed_at,supervision,criterion,level\n"S-1,x',
            "text/csv",
            400,
            "line 2: not valid CSV",
        ),
        (b"learner,unit_key,assessed_at,supervision,criterion\n", "text/csv", 400, "programme_id or an enrolment_id"),
        (b"learner,colour\n", "text/csv", 400, "line 1: unknown column 'colour'"),
        (b"\xff\xfe", "text/csv", 400, "not UTF-8"),
        (b"a,b", "text/plain", 415, "application/json or as text/csv"),
        (b'{"rows": [' + b",".join([b"{}"] * 50_001) + b"]}", "application/json", 413, "at most 50000 rows"),
    ]
    for body, media_type, status, detail in cases:
        response = await client.post(url, headers={**headers, "Content-Type": media_type}, content=body)
        assert response.status_code == status, (body[:60], response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert detail in response.json()["detail"], (body[:60], response.json())
    assert (
        await client.post(url, headers={**headers, "Content-Type": "application/json"}, content=b'{"rows": [\n1,\n}')
    ).json()["line"] == 3


async def test_only_the_provider_uploads_and_reads_its_batches(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    room = await classroom(client, bootstrap)
    other = await bootstrap.integrator(["assessments:write"], name="Other provider", kind="vet_provider")
    body = {"rows": [row(room, welding("l3", "l3", 8), "2026-11-20T09:00:00Z")]}
    assert (await client.post(batches_url(room), headers=other.headers, json=body)).status_code == 403
    mine = (await client.post(batches_url(room), headers=room.provider.headers, json=body)).json()
    assert (await client.get(f"{batches_url(room)}/{mine['id']}", headers=other.headers)).status_code == 403
    # Through its own organisation, the other provider reaches neither the batch nor the learner.
    own = f"/organisations/{other.org_id}/result-batches"
    assert (await client.get(f"{own}/{mine['id']}", headers=other.headers)).status_code == 404
    theirs = (await client.post(own, headers=other.headers, json=body)).json()
    assert theirs["accepted"] == 0 and "there is no learner" in theirs["rejections"][0]["reason"]


async def test_the_upload_is_documented_with_both_formats(client: AsyncTestClient[Litestar]) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    operation = document["paths"]["/organisations/{org_id}/result-batches"]["post"]
    content = operation["requestBody"]["content"]
    row_schema, anything = content["application/json"]["schema"]["properties"]["rows"]["items"]["anyOf"]
    assert row_schema["required"] == ["assessedAt", "supervision", "submission"]
    assert anything == {}, "a row that is no attempt is rejected on its own, so the body admits it"
    assert content["text/csv"]["schema"]["type"] == "string"
    assert all(f"`{column}`" in operation["description"] for column in csv_rows.COLUMNS)
    assert all(column in (csv_rows.__doc__ or "") for column in csv_rows.COLUMNS)
    assert {"200", "201", "202", "400", "404", "413", "415"} <= set(operation["responses"])


async def test_a_row_with_an_unknown_field_is_rejected_and_the_batch_is_not(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    room = await classroom(client, bootstrap)
    body = {"rows": [row(room, welding("l3", "l3", 8), "2026-11-20T09:00:00Z", colour="red"), 42]}
    response = await client.post(batches_url(room), headers=room.provider.headers, json=body)
    assert response.status_code == 201, response.text
    assert [r["row"] for r in response.json()["rejections"]] == [1, 2]
    assert "unknown field `colour`" in response.json()["rejections"][0]["reason"]


async def test_an_upload_for_an_organisation_that_does_not_exist_is_404(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    # The platform operator passes the guard for any organisation id; the batch's insert then broke the
    # foreign key, and the answer was a 500.
    operator = await bootstrap.integrator(["admin"], name="Guildhall operator", kind="authority")
    nowhere = "/organisations/00000000-0000-4000-8000-000000000000/result-batches"
    response = await client.post(nowhere, headers=operator.headers, json={"rows": [{"assessedAt": "x"}]})
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "there is no organisation 00000000-0000-4000-8000-000000000000"


# The CSV reader on its own.

CELL = st.sampled_from(
    [
        "",
        "S-1",
        "student_number:S-1",
        "u1",
        "2026-11-20T10:00:00Z",
        "bead",
        "l3",
        "8",
        "true",
        "x,y",
        '"q"',
        "line\nbreak",
        ONSITE,
    ]
)


@given(st.text(max_size=300))
def test_arbitrary_text_is_read_or_refused_with_invalid_input(text: str) -> None:
    for body in (text.encode(), (CSV_HEADER + "\n" + text).encode()):
        with contextlib.suppress(InvalidInput):  # anything else fails the test
            csv_rows.rows_from_csv(body)


@given(st.lists(st.lists(CELL, min_size=8, max_size=8), max_size=30))
def test_every_row_ends_up_in_exactly_one_attempt(cells: list[list[str]]) -> None:
    text = io.StringIO()
    csv.writer(text).writerows([CSV_HEADER.split(","), *cells])
    try:
        parsed = csv_rows.rows_from_csv(text.getvalue().encode())
    except InvalidInput as exc:
        assert "no rows" in exc.message
        return
    numbers = [n for attempt in parsed.rows for n in attempt.all_rows()]
    assert len(numbers) == len(set(numbers)) == parsed.rows_total
    assert all(attempt.problem or attempt.marks for attempt in parsed.rows)
    groups = chunks(parsed.rows, 3)  # a learner's rows never straddle two chunks
    owners = [{r.learner_key() for r in group} for group in groups]
    assert sum(len(keys) for keys in owners) == len(set().union(*owners))


def test_rows_of_one_attempt_must_agree() -> None:
    body = csv_body(
        "S-1:x,p,u1,2026-11-20T10:00:00Z,unsupervised,bead,l3,",
        "S-1:x,p,u1,2026-11-20T10:00:00Z,supervised_no_identity_check,safety,,8",
    )
    (attempt,) = csv_rows.rows_from_csv(body).rows
    assert attempt.problem is not None
    assert "rows 2 and 3 of one attempt give different supervision" in attempt.problem
    assert "programme_id 'p' is not a UUID" in attempt.problem
