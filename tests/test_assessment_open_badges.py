"""Decisions as Open Badges 3.0 results, validated against the AchievementCredential JSON schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from assessment import AssessmentError, evaluate, parse_specification, parse_submission, to_open_badges
from assessment.specification import Specification

SCHEMA = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "reference"
    / "openbadges-3.0"
    / "achievementcredential.schema.json"
)

WELDING: dict[str, Any] = {
    "mode": "performance_standard",
    "cutScore": 70,
    "criteria": [
        {
            "key": "bead",
            "title": "Weld bead geometry",
            "minimum": "good",
            "scale": {
                "type": "rubric",
                "levels": [
                    {"key": "insufficient", "name": "Insufficient", "points": 0},
                    {"key": "acceptable", "name": "Acceptable", "points": 2},
                    {"key": "good", "name": "Good", "points": 3},
                    {"key": "excellent", "name": "Excellent", "points": 4},
                ],
            },
        },
        {
            "key": "leak",
            "title": "Leak test",
            "weight": 2,
            "minimum": 6,
            "scale": {"type": "numeric", "min": 0, "max": 10},
        },
    ],
}
WELDING_SCORES = {
    "mode": "performance_standard",
    "scores": [{"criterion": "bead", "level": "excellent"}, {"criterion": "leak", "value": 8.5}],
}
OUTCOMES: dict[str, Any] = {
    "mode": "outcome_based",
    "outcomes": [{"key": "lo1"}, {"key": "lo2", "required": False}, {"key": "lo3"}],
}
OUTCOME_JUDGEMENTS = {
    "mode": "outcome_based",
    "judgements": [{"outcome": "lo1", "achieved": True, "evidence": ["e1"]}, {"outcome": "lo3", "achieved": False}],
}
SIMULATION: dict[str, Any] = {"mode": "simulation", "masteryScore": 0.8}
RUNS = {"mode": "simulation", "runs": [{"scaledScore": 0.62}, {"scaledScore": 0.91}]}
CASES = [(WELDING, WELDING_SCORES), (OUTCOMES, OUTCOME_JUDGEMENTS), (SIMULATION, RUNS), ({**OUTCOMES, "mode": "prior_learning"}, {
    "mode": "prior_learning", "judgements": [{"outcome": "lo1", "achieved": True, "evidence": [{"id": "p1"}]},
                                             {"outcome": "lo3", "achieved": True, "evidence": [{"id": "p1"}]}]})]  # fmt: skip


def badges(
    spec_data: dict[str, Any], submission: dict[str, Any], **options: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    spec: Specification = parse_specification(spec_data)
    decision = evaluate(spec, parse_submission(spec, submission))
    descriptions, results = to_open_badges(spec, decision, unit_title="MIG welding of steel structures", **options)
    return [dict(d) for d in descriptions], [dict(r) for r in results]


def test_a_rubric_criterion_becomes_rubric_criterion_levels() -> None:
    descriptions, results = badges(WELDING, WELDING_SCORES)
    by_id = {d["id"]: d for d in descriptions}
    assert list(by_id) == [
        "urn:guildhall:result:unit:status",
        "urn:guildhall:result:unit:score",
        "urn:guildhall:result:bead",
        "urn:guildhall:result:leak",
    ]
    bead = by_id["urn:guildhall:result:bead"]
    assert (
        bead["resultType"] == "RubricCriterionLevel" and bead["requiredLevel"] == "urn:guildhall:result:bead:level:good"
    )
    assert [(lv["name"], lv["points"]) for lv in bead["rubricCriterionLevel"]] == [
        ("Insufficient", "0"), ("Acceptable", "2"), ("Good", "3"), ("Excellent", "4"),
    ]  # fmt: skip
    leak = by_id["urn:guildhall:result:leak"]
    assert (leak["resultType"], leak["valueMin"], leak["valueMax"], leak["requiredValue"]) == (
        "RawScore",
        "0",
        "10",
        "6",
    )
    score = by_id["urn:guildhall:result:unit:score"]
    assert (score["resultType"], score["requiredValue"]) == ("Percent", "70")
    assert results == [
        {"type": ["Result"], "resultDescription": "urn:guildhall:result:unit:status", "status": "Completed"},
        {"type": ["Result"], "resultDescription": "urn:guildhall:result:unit:score", "value": "90"},
        {
            "type": ["Result"],
            "resultDescription": "urn:guildhall:result:bead",
            "achievedLevel": "urn:guildhall:result:bead:level:excellent",
        },
        {"type": ["Result"], "resultDescription": "urn:guildhall:result:leak", "value": "8.5"},
    ]


def test_outcomes_and_a_failed_decision() -> None:
    descriptions, results = badges(OUTCOMES, OUTCOME_JUDGEMENTS, outcome_titles={"lo1": "Sets up a MIG welder"},
                                   id_prefix="urn:guildhall:result:pv-7:u1:")  # fmt: skip
    lo1, lo2 = descriptions[2], descriptions[3]
    assert lo1 == {
        "id": "urn:guildhall:result:pv-7:u1:lo1", "type": ["ResultDescription"], "name": "Sets up a MIG welder",
        "resultType": "Result", "allowedValue": ["not achieved", "achieved"], "requiredValue": "achieved",
    }  # fmt: skip
    assert lo2["name"] == "Learning outcome lo2" and "requiredValue" not in lo2
    assert [r.get("status", r.get("value")) for r in results] == ["Failed", "33.33", "achieved", "not achieved"]


def test_a_simulation_carries_its_status_and_scaled_score() -> None:
    descriptions, results = badges(SIMULATION, RUNS)
    assert descriptions[1]["resultType"] == "ScaledScore" and descriptions[1]["requiredValue"] == "0.8"
    assert results[0]["status"] == "Completed" and results[1]["value"] == "0.91"


def test_a_decision_of_another_specification_is_refused() -> None:
    spec = parse_specification(SIMULATION)
    decision = evaluate(spec, parse_submission(spec, RUNS))
    with pytest.raises(AssessmentError, match="mode: the decision is 'simulation', the specification 'outcome_based'"):
        to_open_badges(parse_specification(OUTCOMES), decision, unit_title="x")


@pytest.mark.parametrize(("spec_data", "submission"), CASES, ids=lambda c: str(c.get("mode")))
def test_results_validate_against_the_open_badges_schema(spec_data: dict[str, Any], submission: dict[str, Any]) -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"the Open Badges 3.0 reference schema is not at {SCHEMA}")
    schema = json.loads(SCHEMA.read_text())
    descriptions, results = badges(spec_data, submission)

    def validator(definition: str) -> Any:
        return jsonschema.Draft201909Validator(
            {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
        )

    for description in descriptions:
        validator("ResultDescription").validate(description)
    for result in results:
        validator("Result").validate(result)
    subject = {
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "https://guildhall.example/programmes/p1/versions/3/units/u1",
            "type": ["Achievement"],
            "name": "MIG welding of steel structures",
            "description": "A unit of a short AMU course for welders",
            "criteria": {"narrative": "Pass the practical welding test."},
            "resultDescription": descriptions,
        },
        "result": results,
    }
    validator("AchievementSubject").validate(subject)
    # Links hold: every result names a description, every achieved level is one of its description's levels.
    by_id = {d["id"]: d for d in descriptions}
    for result in results:
        description = by_id[result["resultDescription"]]
        if "achievedLevel" in result:
            assert result["achievedLevel"] in {lv["id"] for lv in description["rubricCriterionLevel"]}
        if description["resultType"] == "Status":
            assert result["status"] in description["allowedValue"]
    assert len(by_id) == len(descriptions)


def test_a_decision_naming_a_level_the_rubric_lacks_is_refused() -> None:
    spec = parse_specification(WELDING)
    decision = evaluate(spec, parse_submission(spec, WELDING_SCORES))
    decision.results[0].level = "platinum"
    with pytest.raises(AssessmentError, match=r"^results\[bead\]\.level: 'platinum' is not a level of the rubric$"):
        to_open_badges(spec, decision, unit_title="MIG welding")
    decision.results[0].level = None  # a stored decision without the level: no result for that criterion
    _, results = to_open_badges(spec, decision, unit_title="MIG welding")
    assert "urn:guildhall:result:bead" not in [r["resultDescription"] for r in results]
