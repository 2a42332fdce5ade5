"""Assessment specifications: the four modes, their defaults, their JSON, and every rule checked on saving."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from assessment import AssessmentError, parse_specification, specification_to_json
from assessment.specification import (
    NumericScale,
    OutcomeBasedSpecification,
    PerformanceStandardSpecification,
    PriorLearningSpecification,
    RubricScale,
    RunRule,
    SimulationSpecification,
)

RUBRIC = {
    "type": "rubric",
    "levels": [
        {"key": "insufficient", "name": "Insufficient", "points": 0},
        {"key": "acceptable", "name": "Acceptable", "points": 2},
        {"key": "good", "name": "Good", "points": 3},
        {"key": "excellent", "name": "Excellent", "points": 4},
    ],
}
EXAMPLES: list[dict[str, Any]] = [
    {"mode": "outcome_based", "outcomes": [{"key": "lo1"}, {"key": "lo2", "required": False}]},
    {"mode": "prior_learning", "minimumEvidencePerOutcome": 2, "outcomes": [{"key": "lo1"}]},
    {
        "mode": "performance_standard",
        "supervision": "supervised_identity_check_onsite",
        "maxAttempts": 2,
        "cutScore": 70,
        "criteria": [
            {"key": "bead", "title": "Weld bead geometry", "weight": 2, "minimum": "good", "scale": RUBRIC},
            {"key": "leak", "title": "Leak test", "minimum": 6, "scale": {"type": "numeric", "min": 0, "max": 10}},
        ],
    },
    {
        "mode": "simulation",
        "supervision": "supervised_identity_check_online",
        "masteryScore": 0.8,
        "requireCompletion": True,
        "minDurationSeconds": 600,
        "maxDurationSeconds": 3600,
        "runs": {"rule": "all_of_last", "count": 2},
        "metrics": [{"name": "https://sim.festo.example/xapi/cycle-time", "max": 12.5}],
    },
]


@pytest.mark.parametrize("data", EXAMPLES, ids=lambda d: str(d["mode"]))
def test_each_mode_parses_from_dicts_bytes_and_text_and_round_trips(data: dict[str, Any]) -> None:
    spec = parse_specification(data)
    assert parse_specification(json.dumps(data)) == spec
    assert parse_specification(json.dumps(data).encode()) == spec
    assert parse_specification(bytearray(json.dumps(data).encode())) == spec
    as_json = specification_to_json(spec)
    assert as_json["mode"] == data["mode"]
    assert parse_specification(as_json) == spec
    assert parse_specification(msgspec.json.encode(as_json)) == spec


def test_defaults() -> None:
    outcome = parse_specification({"mode": "outcome_based", "outcomes": [{"key": "lo1"}]})
    assert isinstance(outcome, OutcomeBasedSpecification)
    assert (outcome.supervision, outcome.max_attempts, outcome.outcomes[0].required) == ("unsupervised", None, True)
    prior = parse_specification({"mode": "prior_learning", "outcomes": [{"key": "lo1"}]})
    assert isinstance(prior, PriorLearningSpecification) and prior.minimum_evidence_per_outcome == 1
    simulation = parse_specification({"mode": "simulation", "masteryScore": 0.5})
    assert isinstance(simulation, SimulationSpecification)
    assert simulation.runs == RunRule(rule="best", count=None) and not simulation.require_success
    assert simulation.metrics == [] and simulation.min_duration_seconds is None
    performance = parse_specification(EXAMPLES[2])
    assert isinstance(performance, PerformanceStandardSpecification)
    assert isinstance(performance.criteria[0].scale, RubricScale) and isinstance(
        performance.criteria[1].scale, NumericScale
    )
    assert performance.criteria[1].weight == 1.0 and performance.criteria[1].minimum == 6


def test_the_wire_names_are_camel_case() -> None:
    as_json = specification_to_json(parse_specification(EXAMPLES[3]))
    assert set(as_json) == {
        "mode", "supervision", "maxAttempts", "masteryScore", "requireSuccess", "requireCompletion",
        "minDurationSeconds", "maxDurationSeconds", "runs", "metrics",
    }  # fmt: skip


def performance(*criteria: dict[str, Any], cut: float = 70) -> dict[str, Any]:
    return {"mode": "performance_standard", "cutScore": cut, "criteria": list(criteria)}


def rubric(key: str = "bead", minimum: object = None, levels: list[tuple[str, float]] | None = None) -> dict[str, Any]:
    pairs = levels or [("fair", 1), ("good", 2), ("very_good", 3)]
    data: dict[str, Any] = {
        "key": key,
        "title": "Weld bead geometry",
        "scale": {"type": "rubric", "levels": [{"key": k, "name": k.title(), "points": p} for k, p in pairs]},
    }
    if minimum is not None:
        data["minimum"] = minimum
    return data


def numeric(key: str = "leak", low: float = 0, high: float = 10, minimum: object = None) -> dict[str, Any]:
    data: dict[str, Any] = {"key": key, "title": "Leak test", "scale": {"type": "numeric", "min": low, "max": high}}
    if minimum is not None:
        data["minimum"] = minimum
    return data


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        (
            performance(rubric(minimum="excellent")),
            ["criteria[bead].minimum: 'excellent' is not one of the rubric's levels ('fair', 'good', 'very_good')"],
        ),
        (
            performance(rubric(minimum=2)),
            [
                "criteria[bead].minimum: a rubric criterion's minimum is a level key ('fair', 'good', 'very_good'), not the number 2"
            ],
        ),
        (
            performance(rubric(levels=[("a", 1), ("b", 3), ("c", 3), ("d", 2)])),
            [
                "criteria[bead].scale.levels[2].points: 3 is not above the 3 points of 'b'; list the levels from lowest to highest, with rising points",
                "criteria[bead].scale.levels[3].points: 2 is not above the 3 points of 'c'; list the levels from lowest to highest, with rising points",
            ],
        ),
        (
            performance(rubric(levels=[("a", 1), ("a", 2)])),
            ["criteria[bead].scale.levels[a]: used 2 times; each must be unique"],
        ),
        (performance(rubric(), rubric()), ["criteria[bead]: used 2 times; each must be unique"]),
        (performance(numeric(low=5, high=5)), ["criteria[leak].scale: min 5 must be below max 5"]),
        (performance(numeric(minimum=11)), ["criteria[leak].minimum: 11 is outside the scale 0–10"]),
        (
            performance(numeric(minimum="good")),
            ["criteria[leak].minimum: a numeric criterion's minimum is a number, not 'good'"],
        ),
        (
            {
                "mode": "outcome_based",
                "outcomes": [{"key": "lo1", "required": False}, {"key": "lo1", "required": False}],
            },
            [
                "outcomes[lo1]: used 2 times; each must be unique",
                "outcomes: at least one outcome must be required, or every submission would pass",
            ],
        ),
        (
            {"mode": "simulation", "masteryScore": 0.8, "runs": {"rule": "all_of_last"}},
            ["runs.count: the 'all_of_last' rule needs a count: how many of the last runs must pass"],
        ),
        (
            {"mode": "simulation", "masteryScore": 0.8, "runs": {"rule": "best", "count": 2}},
            ["runs.count: only the 'all_of_last' rule takes a count, not 'best'"],
        ),
        (
            {"mode": "simulation", "masteryScore": 0.8, "minDurationSeconds": 60, "maxDurationSeconds": 30},
            ["minDurationSeconds: 60 is above maxDurationSeconds 30"],
        ),
        (
            {"mode": "simulation", "metrics": [{"name": "collisions"}, {"name": "speed", "min": 3, "max": 2}]},
            ["metrics[collisions]: give a min, a max or both", "metrics[speed]: min 3 is above max 2"],
        ),
        (
            {"mode": "simulation", "minDurationSeconds": 60},
            [
                "a simulation needs at least one pass condition: masteryScore, requireSuccess, requireCompletion or metrics"
            ],
        ),
    ],
)
def test_the_rules_checked_after_decoding_are_all_reported(data: dict[str, Any], problems: list[str]) -> None:
    with pytest.raises(AssessmentError) as error:
        parse_specification(data)
    assert error.value.problems == problems


def test_several_broken_rules_in_one_specification() -> None:
    data = performance(rubric(minimum="excellent", levels=[("a", 2), ("b", 1)]), numeric(minimum=-1), numeric())
    with pytest.raises(AssessmentError) as error:
        parse_specification(data)
    assert error.value.problems == [
        "criteria[leak]: used 2 times; each must be unique",
        "criteria[bead].scale.levels[1].points: 1 is not above the 2 points of 'a'; list the levels from lowest to highest, with rising points",
        "criteria[bead].minimum: 'excellent' is not one of the rubric's levels ('a', 'b')",
        "criteria[leak].minimum: -1 is outside the scale 0–10",
    ]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            {"mode": "exam"},
            "mode: 'exam' is not an allowed value; one of 'outcome_based', 'performance_standard', 'simulation', 'prior_learning'",
        ),
        ({"outcomes": []}, "mode: required, but missing"),
        ({"mode": "outcome_based"}, "outcomes: required, but missing"),
        ({"mode": "outcome_based", "outcomes": []}, "outcomes: expected an array of length >= 1"),
        (
            {"mode": "outcome_based", "outcomes": [{"key": "LO 1"}]},
            "outcomes[0].key: expected a key: 1 to 64 lowercase letters",
        ),
        ({"mode": "outcome_based", "outcomes": [{"key": "lo1"}], "grading": "A-F"}, "grading: unknown field"),
        (
            {"mode": "outcome_based", "outcomes": [{"key": "lo1"}], "maxAttempts": 0},
            "maxAttempts: expected an integer >= 1",
        ),
        (
            {"mode": "outcome_based", "outcomes": [{"key": "lo1"}], "supervision": "proctored"},
            "supervision: 'proctored' is not an allowed value; one of 'unsupervised', 'supervised_no_identity_check', "
            "'supervised_identity_check_online', 'supervised_identity_check_onsite'",
        ),
        ({"mode": "simulation", "masteryScore": 80}, "masteryScore: expected a number <= 1"),
        ({"mode": "simulation", "masteryScore": float("nan")}, "masteryScore: expected a number >= 0"),
        (
            {"mode": "simulation", "masteryScore": 0.8, "runs": {"rule": "median"}},
            "runs.rule: 'median' is not an allowed value; one of 'best', 'last', 'all_of_last'",
        ),
        (performance(numeric(), cut=101), "cutScore: expected a number <= 100"),
        (performance({**numeric(), "weight": 0}), "criteria[0].weight: expected a number > 0"),
        (
            performance({**numeric(), "scale": {"type": "stars", "max": 5}}),
            "criteria[0].scale.type: 'stars' is not an allowed value; one of 'rubric', 'numeric'",
        ),
        (performance({**numeric(), "scale": {"min": 0, "max": 5}}), "criteria[0].scale.type: required, but missing"),
        (performance(rubric(levels=[("only", 1)])), "criteria[0].scale.levels: expected an array of length >= 2"),
        (
            performance({**numeric(), "minimum": True}),
            "criteria[0].minimum: expected `float | str | null`, got true or false",
        ),
        ([], "expected an object, got an array"),
        (None, "expected an object, got null"),
        ("{", "not valid JSON (Input data was truncated)"),
        ('{"mode": "simulation", "masteryScore": 1e999}', "masteryScore: number out of range"),
        ('{"mode": "\ud800"}', "not valid JSON (the text is not valid Unicode)"),
        (b"\xff", "not valid JSON (JSON is malformed: invalid character (byte 0))"),
        ({"mode": "simulation", "masteryScore": 0.5, 1: 2}, "a key: expected a string"),
    ],
)
def test_structural_problems_name_the_path(data: object, problem: str) -> None:
    with pytest.raises(AssessmentError) as error:
        parse_specification(data)
    assert len(error.value.problems) == 1
    assert error.value.problems[0].startswith(problem), error.value.problems


def test_the_error_is_a_value_error_with_a_readable_message() -> None:
    with pytest.raises(ValueError, match=r"^outcomes: required, but missing$"):
        parse_specification({"mode": "outcome_based"})
    assert AssessmentError([]).problems == ["the data was refused"]
