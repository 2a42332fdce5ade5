"""xAPI 1.0.3 / cmi5 statements from a simulator, read as simulation runs; contradictions refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from assessment import (
    AssessmentError,
    evaluate,
    parse_duration,
    parse_specification,
    parse_statement,
    parse_statements,
    parse_submission,
)
from assessment.xapi import COMPLETED, FAILED, MASTERY_SCORE, PASSED, SESSION_ID

LEARNER = {
    "objectType": "Agent",
    "name": "Jonas Weber",
    "account": {"homePage": "https://lms.festo.example", "name": "jw-4711"},
}
AU = {"objectType": "Activity", "id": "https://sim.festo.example/au/mps-sorting-station"}


def statement(
    verb: str,
    *,
    id: str = "6d4b7a8e-2f0c-4c58-9a53-3b1f2d0e9a11",
    result: dict[str, Any] | None = None,
    mastery: float | None = 0.8,
    session: str | None = None,
    timestamp: str = "2026-03-02T10:15:30.120Z",
) -> dict[str, Any]:
    extensions: dict[str, Any] = {}
    if mastery is not None:
        extensions[MASTERY_SCORE] = mastery
    if session is not None:
        extensions[SESSION_ID] = session
    data: dict[str, Any] = {
        "id": id,
        "actor": LEARNER,
        "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[-1]}},
        "object": AU,
        "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7", "extensions": extensions},
        "timestamp": timestamp,
        "stored": "2026-03-02T10:15:31Z",
        "version": "1.0.3",
    }
    if result is not None:
        data["result"] = result
    return data


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1H2M3.5S", 3723.5),
        ("PT0S", 0.0),
        ("PT45S", 45.0),
        ("PT1,25S", 1.25),
        ("PT90M", 5400.0),
        ("PT1.5H", 5400.0),
        ("P1DT2H", 93600.0),
        ("P2W", 1209600.0),
        ("P0Y0M0DT5M", 300.0),
        ("P1D", 86400.0),
    ],
)
def test_iso_8601_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is not an ISO 8601 duration"),
        ("P", "is not an ISO 8601 duration"),
        ("PT", "is not an ISO 8601 duration"),
        ("P1DT", "is not an ISO 8601 duration"),
        ("1H", "is not an ISO 8601 duration"),
        ("PT-5S", "is not an ISO 8601 duration"),
        ("PT1S2M", "is not an ISO 8601 duration"),
        ("pt5s", "is not an ISO 8601 duration"),
        ("PT\u0665S", "is not an ISO 8601 duration"),  # an Arabic-Indic digit
        ("PT1.5H30M", "only the smallest unit of a duration may have a fraction"),
        ("P1Y", "years and months have no fixed length"),
        ("P2M", "years and months have no fixed length"),
        ("PT99999999999H", "longer than 1000000000 seconds"),
    ],
)
def test_invalid_durations(text: str, problem: str) -> None:
    with pytest.raises(AssessmentError) as error:
        parse_duration(text)
    assert problem in error.value.problems[0]


def test_a_cmi5_passed_statement() -> None:
    run = parse_statement(
        statement(
            PASSED,
            result={
                "score": {"scaled": 0.91, "raw": 91, "min": 0, "max": 100},
                "success": True,
                "duration": "PT23M4.5S",
                "extensions": {
                    "https://sim.festo.example/xapi/cycle-time": 11.2,
                    "https://sim.festo.example/xapi/mode": "auto",
                },
            },
            session="s-1",
        )
    )
    assert (
        run.scaled_score == 0.91 and run.raw is not None and (run.raw.score, run.raw.min, run.raw.max) == (91, 0, 100)
    )
    assert run.success is True and run.completion is None and run.duration_seconds == 1384.5
    assert run.metrics == {"https://sim.festo.example/xapi/cycle-time": 11.2}
    assert run.at == datetime(2026, 3, 2, 10, 15, 30, 120000, tzinfo=UTC)
    assert run.statement_id == "6d4b7a8e-2f0c-4c58-9a53-3b1f2d0e9a11" and run.session_id == "s-1"
    assert run.actor is not None and run.actor.account is not None and run.actor.account.name == "jw-4711"


def test_a_failed_statement_and_a_completed_one() -> None:
    failed = parse_statement(statement(FAILED, result={"score": {"scaled": 0.62}}))
    assert failed.success is False and failed.scaled_score == 0.62
    completed = parse_statement(statement(COMPLETED, result={"duration": "PT10M"}, mastery=None))
    assert completed.completion is True and completed.success is None and completed.duration_seconds == 600


def test_raw_json_and_a_timestamp_without_time_zone() -> None:
    data = statement(FAILED, result={"score": {"raw": 31, "min": 0, "max": 50}}, timestamp="2026-03-02T10:15:30")
    run = parse_statement(json.dumps(data).encode())
    assert run.at == datetime(2026, 3, 2, 10, 15, 30, tzinfo=UTC) and run.scaled() == 0.62
    offset = parse_statement(json.dumps(statement(FAILED, timestamp="2026-03-02T11:15:30+01:00")))
    assert offset.at == datetime(2026, 3, 2, 11, 15, 30, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(
    ("verb", "result", "problem"),
    [
        (
            PASSED,
            {"score": {"scaled": 0.75}, "success": True},
            "the verb is 'passed' but the scaled score 0.75 is below the mastery score 0.8",
        ),
        (
            PASSED,
            {"score": {"raw": 30, "min": 0, "max": 40}},
            "the verb is 'passed' but the scaled score 0.75 is below the mastery score 0.8",
        ),
        (
            FAILED,
            {"score": {"scaled": 0.8}, "success": False},
            "the verb is 'failed' but the scaled score 0.8 reaches the mastery score 0.8",
        ),
        (PASSED, {"score": {"scaled": 0.9}, "success": False}, "the verb is 'passed' but result.success is false"),
        (FAILED, {"success": True}, "the verb is 'failed' but result.success is true"),
        (COMPLETED, {"completion": False}, "the verb is 'completed' but result.completion is false"),
    ],
)
def test_a_statement_that_contradicts_itself_is_refused(verb: str, result: dict[str, Any], problem: str) -> None:
    with pytest.raises(AssessmentError) as error:
        parse_statement(statement(verb, result=result))
    assert error.value.problems == [f"statement: {problem} (statement 6d4b7a8e-2f0c-4c58-9a53-3b1f2d0e9a11)"]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"result": {"score": {"scaled": 1.2}}}, "result.score.scaled: 1.2 is outside [-1, 1]"),
        ({"result": {"score": {"scaled": -1.5}}}, "result.score.scaled: -1.5 is outside [-1, 1]"),
        ({"result": {"score": {"raw": 120, "min": 0, "max": 100}}}, "result.score.raw: 120 is above max 100"),
        ({"result": {"score": {"raw": -1, "min": 0, "max": 100}}}, "result.score.raw: -1 is below min 0"),
        ({"result": {"score": {"raw": 5, "min": 10, "max": 0}}}, "result.score: min 10 must be below max 0"),
        (
            {"result": {"duration": "1 hour"}},
            "result.duration: '1 hour' is not an ISO 8601 duration such as 'PT1H2M3.5S'",
        ),
        ({"result": {"success": "yes"}}, "result.success: expected `bool | null`, got a string"),
        (
            {"verb": {"id": "http://adlnet.gov/expapi/verbs/initialized"}},
            "verb.id: 'http://adlnet.gov/expapi/verbs/initialized' is not a result verb",
        ),
        ({"actor": {"objectType": "Group", "member": []}}, "actor: the actor must be an Agent, not a 'Group'"),
        (
            {"actor": {"name": "Jonas"}},
            "actor: identify the agent by exactly one of mbox, mbox_sha1sum, openid, account",
        ),
        ({"actor": {"mbox": "jonas@example.org"}}, "actor.mbox: expected a string matching regex"),
        (
            {"context": {"extensions": {MASTERY_SCORE: 80}}},
            f"context.extensions[{MASTERY_SCORE}]: 80 is not a mastery score",
        ),
        ({"timestamp": "yesterday"}, "timestamp: invalid RFC3339 encoded datetime"),
        ({"id": "not-a-uuid"}, "id: invalid UUID"),
        ({"object": None}, "object: expected an object, got null"),
    ],
)
def test_malformed_statements_are_refused_naming_the_statement(changes: dict[str, Any], problem: str) -> None:
    data = statement(PASSED, result={"score": {"scaled": 0.9}}) | changes
    with pytest.raises(AssessmentError) as error:
        parse_statement(data)
    assert error.value.problems[0].startswith(problem), error.value.problems
    assert error.value.problems[0].endswith(f"(statement {data['id']})")


def test_the_problems_of_every_statement_are_listed_with_their_index() -> None:
    ok = statement(FAILED, result={"score": {"scaled": 0.62}})
    bad1 = statement(PASSED, id="11111111-1111-4111-8111-111111111111", result={"score": {"scaled": 0.5}})
    bad2 = statement(FAILED, id="22222222-2222-4222-8222-222222222222", result={"score": {"scaled": 2}})
    with pytest.raises(AssessmentError) as error:
        parse_statements([ok, bad1, bad2])
    assert error.value.problems == [
        "statements[1]: the verb is 'passed' but the scaled score 0.5 is below the mastery score 0.8 "
        "(statement 11111111-1111-4111-8111-111111111111)",
        "statements[2].result.score.scaled: 2 is outside [-1, 1] (statement 22222222-2222-4222-8222-222222222222)",
    ]


def test_a_batch_must_hold_statements() -> None:
    for data in ([], "null", 42, b"[1, 2", [1]):
        with pytest.raises(AssessmentError):
            parse_statements(data)


def test_statements_of_one_cmi5_session_make_one_run() -> None:
    completed = statement(
        COMPLETED,
        id="aaaaaaaa-0000-4000-8000-000000000001",
        result={"completion": True, "duration": "PT20M"},
        session="s-2",
        timestamp="2026-03-02T11:20:00Z",
    )
    passed = statement(
        PASSED,
        id="aaaaaaaa-0000-4000-8000-000000000002",
        result={"score": {"scaled": 0.91}, "success": True, "duration": "PT20M1S"},
        session="s-2",
        timestamp="2026-03-02T11:20:01Z",
    )
    earlier = statement(
        FAILED,
        id="aaaaaaaa-0000-4000-8000-000000000003",
        result={"score": {"scaled": 0.62}},
        session="s-1",
        timestamp="2026-03-02T10:00:00Z",
    )
    runs = parse_statements([completed, passed, earlier])
    assert [(r.session_id, r.scaled_score, r.success, r.completion) for r in runs] == [
        ("s-1", 0.62, False, None),
        ("s-2", 0.91, True, True),
    ]
    assert runs[1].duration_seconds == 1201 and runs[1].statement_id == "aaaaaaaa-0000-4000-8000-000000000002"
    assert runs[1].at == datetime(2026, 3, 2, 11, 20, 1, tzinfo=UTC)


def test_statements_of_one_session_must_agree() -> None:
    one = statement(PASSED, result={"score": {"scaled": 0.91}}, session="s-3")
    two = statement(FAILED, id="bbbbbbbb-0000-4000-8000-000000000002", result={"score": {"scaled": 0.5}}, session="s-3")
    with pytest.raises(AssessmentError) as error:
        parse_statements([one, two])
    assert error.value.problems == [
        "statements[0, 1]: the statements of session 's-3' disagree on the scaled score",
        "statements[0, 1]: the statements of session 's-3' disagree on success",
    ]


def test_festo_automation_line_from_statements_to_decision() -> None:
    """Festo / IHK Stuttgart: a failed first run (0.62), then a passed one (0.91); the best run counts."""
    spec = parse_specification(
        {
            "mode": "simulation",
            "masteryScore": 0.8,
            "runs": {"rule": "best"},
            "supervision": "supervised_identity_check_onsite",
        }
    )
    batch = [
        statement(
            FAILED,
            id="cccccccc-0000-4000-8000-000000000001",
            result={"score": {"scaled": 0.62}, "duration": "PT31M"},
            session="run-1",
            timestamp="2026-03-02T09:00:00Z",
        ),
        statement(
            PASSED,
            id="cccccccc-0000-4000-8000-000000000002",
            result={"score": {"scaled": 0.91}, "duration": "PT27M"},
            session="run-2",
            timestamp="2026-03-02T10:00:00Z",
        ),
    ]
    runs = parse_statements(json.dumps(batch))
    submission = parse_submission(spec, {"mode": "simulation", "runs": msgspec.to_builtins(runs)})
    decision = evaluate(spec, submission)
    assert decision.passed and decision.score == 0.91 and decision.deciding_runs == [1]
    assert decision.reasons == [
        "run 2 of 2 passed with a scaled score of 0.91 (mastery score 0.8); the best run counts"
    ]


def test_statements_of_one_session_must_be_by_one_actor_and_agree_on_metrics() -> None:
    one = statement(COMPLETED, result={"extensions": {"https://sim.example/collisions": 0}}, session="s-4")
    other = {**LEARNER, "account": {"homePage": "https://lms.festo.example", "name": "someone-else"}}
    two = statement(PASSED, result={"extensions": {"https://sim.example/collisions": 2}}, session="s-4") | {
        "actor": other
    }
    with pytest.raises(AssessmentError) as error:
        parse_statements([one, two])
    assert error.value.problems == [
        "statements[0, 1]: the statements of session 's-4' are by different actors",
        "statements[0, 1]: the statements of session 's-4' disagree on the metric 'https://sim.example/collisions'",
    ]


def test_a_document_nested_too_deeply_is_refused() -> None:
    with pytest.raises(AssessmentError, match=r"^the document is nested too deeply$"):
        parse_statements(b"[" * 5000 + b"]" * 5000)
