"""Pass decisions per mode, on realistic units: submissions checked against their specification, then evaluated."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from assessment import (
    AssessmentError,
    Decision,
    decision_to_json,
    evaluate,
    parse_decision,
    parse_specification,
    parse_submission,
    submission_to_json,
)
from assessment.specification import Criterion, NumericScale, PerformanceStandardSpecification

# TEKNIQ / AMU welding course: a practical test against a performance standard.
WELDING: dict[str, Any] = {
    "mode": "performance_standard",
    "supervision": "supervised_identity_check_onsite",
    "maxAttempts": 2,
    "cutScore": 70,
    "criteria": [
        {
            "key": "bead",
            "title": "Weld bead geometry",
            "weight": 1,
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
        {"key": "leak", "title": "Leak test", "weight": 2, "scale": {"type": "numeric", "min": 0, "max": 10}},
        {
            "key": "penetration",
            "title": "Root penetration",
            "weight": 2,
            "minimum": 6,
            "scale": {"type": "numeric", "min": 0, "max": 10},
        },
    ],
}


def welding(bead: str = "good", leak: float = 10, penetration: float = 9.5) -> Decision:
    spec = parse_specification(WELDING)
    scores = [
        {"criterion": "bead", "level": bead},
        {"criterion": "leak", "value": leak},
        {"criterion": "penetration", "value": penetration, "note": "checked by macro etch"},
    ]
    return evaluate(spec, parse_submission(spec, {"mode": "performance_standard", "scores": scores}))


def test_a_high_total_does_not_pass_a_must_pass_criterion_below_its_minimum() -> None:
    decision = welding(bead="acceptable")
    # 100 × (1 × 2/4 + 2 × 1 + 2 × 0.95) / 5 = 88
    assert decision.score == 88.0 and decision.max_score == 100.0
    assert not decision.passed
    assert decision.reasons == ["criterion 'Weld bead geometry' reached level 2 of 4; the minimum is 3"]
    bead = decision.results[0]
    assert (bead.key, bead.passed, bead.required, bead.level, bead.value) == ("bead", False, True, "acceptable", 2.0)
    assert bead.reason == "level 2 of 4 ('Acceptable', 2 points); the minimum is level 3 ('Good'): not reached"


def test_the_total_is_the_weighted_attainment_and_passes_at_the_cut_score() -> None:
    decision = welding(bead="good")  # 100 × (1 × 3/4 + 2 × 1 + 2 × 0.95) / 5 = 93
    assert decision.passed and decision.score == 93.0
    assert decision.reasons == [
        "the total 93% reaches the cut score 70% and every must-pass criterion reaches its minimum"
    ]
    assert [r.contribution for r in decision.results] == [15.0, 40.0, 38.0]
    assert "total = 100 × Σ(weight × attainment) / Σ weight" in decision.score_rule
    assert "cut score 70%" in decision.score_rule


def test_a_total_below_the_cut_score_fails_and_every_reason_is_given() -> None:
    decision = welding(bead="insufficient", leak=3, penetration=5)
    # 100 × (0 + 2 × 0.3 + 2 × 0.5) / 5 = 32
    assert not decision.passed and decision.score == 32.0
    assert decision.reasons == [
        "the total 32% is below the cut score 70%",
        "criterion 'Weld bead geometry' reached level 1 of 4; the minimum is 3",
        "criterion 'Root penetration' scored 5 on a scale of 0–10; the minimum is 6",
    ]


def test_criteria_without_a_minimum_never_block_a_pass_on_their_own() -> None:
    decision = welding(leak=0, penetration=10)  # 100 × (0.75 + 0 + 2) / 5 = 55
    assert not decision.passed and decision.reasons == ["the total 55% is below the cut score 70%"]
    leak = decision.results[1]
    assert leak.passed and not leak.required and leak.reason == "0 on a scale of 0–10"


def test_the_cut_score_is_compared_with_the_rounded_total() -> None:
    spec = parse_specification(
        {
            "mode": "performance_standard",
            "cutScore": 66.67,
            "criteria": [
                {"key": "a", "title": "A", "scale": {"type": "numeric", "min": 0, "max": 3}},
            ],
        }
    )
    decision = evaluate(
        spec, parse_submission(spec, {"mode": "performance_standard", "scores": [{"criterion": "a", "value": 2}]})
    )
    assert decision.score == 66.67 and decision.passed


def test_tiny_weights_are_shares_like_any_other() -> None:
    criteria = [{"key": "a", "title": "A", "weight": 5e-324, "scale": {"type": "numeric", "min": 0, "max": 10}}]
    spec = parse_specification({"mode": "performance_standard", "cutScore": 50, "criteria": criteria})
    submission = parse_submission(spec, {"mode": "performance_standard", "scores": [{"criterion": "a", "value": 5}]})
    assert evaluate(spec, submission).score == 50.0


OUTCOMES: dict[str, Any] = {
    "mode": "outcome_based",
    "outcomes": [{"key": "lo1"}, {"key": "lo2", "required": True}, {"key": "lo3", "required": False}],
}


def test_outcome_based_passes_when_every_required_outcome_is_achieved() -> None:
    spec = parse_specification(OUTCOMES)
    submission = parse_submission(
        spec,
        {
            "mode": "outcome_based",
            "judgements": [
                {"outcome": "lo1", "achieved": True, "evidence": ["https://evidence.example/lo1.pdf"]},
                {"outcome": "lo2", "achieved": True, "evidence": ["observation-2026-03-02"], "note": "fluent"},
            ],
        },
    )
    decision = evaluate(spec, submission)
    assert decision.passed and decision.score == 66.67 and decision.mode == "outcome_based"
    assert decision.reasons == ["all 2 required learning outcomes were achieved (2 of 3 outcomes in all)"]
    assert [(r.key, r.achieved, r.required) for r in decision.results] == [
        ("lo1", True, True),
        ("lo2", True, True),
        ("lo3", None, False),
    ]
    assert decision.results[0].reason == "was judged achieved on 1 piece of evidence"
    assert decision.results[2].reason == "was not judged"


def test_outcome_based_fails_on_a_required_outcome_not_achieved() -> None:
    spec = parse_specification(OUTCOMES)
    judgements = [
        {"outcome": "lo1", "achieved": True},
        {"outcome": "lo2", "achieved": False},
        {"outcome": "lo3", "achieved": True},
    ]
    decision = evaluate(spec, parse_submission(spec, {"mode": "outcome_based", "judgements": judgements}))
    assert not decision.passed and decision.score == 66.67
    assert decision.reasons == ["the required learning outcome 'lo2' was judged not achieved"]


PRIOR_LEARNING: dict[str, Any] = {
    "mode": "prior_learning",
    "supervision": "supervised_no_identity_check",
    "minimumEvidencePerOutcome": 2,
    "outcomes": [{"key": "lo1"}, {"key": "lo2"}],
}
PAYSLIP = {"id": "p1", "description": "Employer's statement: 4 years as a pipe fitter", "sha256": "a" * 64}
PHOTOS = {"id": "p2", "description": "Photos of installed heating systems", "url": "https://portfolio.example/p2"}
CERT = {"id": "p3", "description": "Gas safety certificate"}


def test_prior_learning_needs_the_minimum_evidence_for_each_outcome() -> None:
    spec = parse_specification(PRIOR_LEARNING)
    judgements = [
        {"outcome": "lo1", "achieved": True, "evidence": [PAYSLIP, PHOTOS]},
        {"outcome": "lo2", "achieved": True, "evidence": [CERT]},
    ]
    decision = evaluate(spec, parse_submission(spec, {"mode": "prior_learning", "judgements": judgements}))
    assert not decision.passed and decision.mode == "prior_learning" and decision.score == 50.0
    assert decision.reasons == [
        "the required learning outcome 'lo2' was judged achieved on 1 portfolio item; at least 2 are required"
    ]
    judgements[1]["evidence"] = [CERT, PAYSLIP]  # one item may back several outcomes
    decision = evaluate(spec, parse_submission(spec, {"mode": "prior_learning", "judgements": judgements}))
    assert decision.passed and decision.score == 100.0
    assert "on at least 2 portfolio items each" in decision.score_rule


def test_prior_learning_portfolio_items_must_be_consistent() -> None:
    spec = parse_specification(PRIOR_LEARNING)
    judgements = [
        {"outcome": "lo1", "achieved": True, "evidence": [PAYSLIP, PAYSLIP]},
        {"outcome": "lo2", "achieved": True, "evidence": [{**PAYSLIP, "description": "other"}, CERT]},
    ]
    with pytest.raises(AssessmentError) as error:
        parse_submission(spec, {"mode": "prior_learning", "judgements": judgements})
    assert error.value.problems == [
        "judgements[lo1].evidence: portfolio item 'p1' is listed 2 times",
        "judgements[lo2].evidence[p1]: differs from the portfolio item with the same id under outcome 'lo1'",
    ]


FESTO: dict[str, Any] = {
    "mode": "simulation",
    "supervision": "supervised_identity_check_onsite",
    "masteryScore": 0.8,
    "runs": {"rule": "best"},
}


def simulate(spec_changes: dict[str, Any], runs: list[dict[str, Any]]) -> Decision:
    spec = parse_specification({**FESTO, **spec_changes})
    return evaluate(spec, parse_submission(spec, {"mode": "simulation", "runs": runs}))


def test_festo_automation_best_run_counts() -> None:
    decision = simulate({}, [{"scaledScore": 0.62, "success": False}, {"scaledScore": 0.91, "success": True}])
    assert decision.passed and decision.score == 0.91 and decision.max_score == 1.0
    assert decision.deciding_runs == [1]
    assert decision.reasons == [
        "run 2 of 2 passed with a scaled score of 0.91 (mastery score 0.8); the best run counts"
    ]
    assert [(r.key, r.passed, r.required) for r in decision.results] == [
        ("runs[0]", False, False),
        ("runs[1]", True, True),
    ]
    assert decision.results[0].reason == "the scaled score 0.62 is below the mastery score 0.8"


def test_best_run_fails_with_the_reasons_of_the_best_run() -> None:
    decision = simulate({}, [{"scaledScore": 0.62}, {"scaledScore": 0.75}, {"scaledScore": 0.7}])
    assert not decision.passed and decision.score == 0.75 and decision.deciding_runs == [1]
    assert decision.reasons == [
        "none of the 3 runs passed; the best run counts",
        "run 2 of 3: the scaled score 0.75 is below the mastery score 0.8",
    ]


def test_last_run_counts() -> None:
    decision = simulate({"runs": {"rule": "last"}}, [{"scaledScore": 0.91}, {"scaledScore": 0.62}])
    assert not decision.passed and decision.score == 0.62 and decision.deciding_runs == [1]
    assert decision.reasons == [
        "the last run counts, and it did not pass",
        "run 2 of 2: the scaled score 0.62 is below the mastery score 0.8",
    ]
    decision = simulate({"runs": {"rule": "last"}}, [{"scaledScore": 0.62}, {"scaledScore": 0.8}])
    assert decision.passed and decision.reasons == [
        "the last run, run 2 of 2, passed with a scaled score of 0.8 (mastery score 0.8)"
    ]


def test_all_of_the_last_runs_must_pass_and_there_must_be_enough() -> None:
    rule = {"runs": {"rule": "all_of_last", "count": 3}}
    decision = simulate(rule, [{"scaledScore": 0.9}, {"scaledScore": 0.95}])
    assert not decision.passed and decision.deciding_runs == [0, 1]
    assert decision.reasons == ["the last 3 runs must all pass, but only 2 runs were submitted"]
    decision = simulate(
        rule, [{"scaledScore": 0.2}, {"scaledScore": 0.9}, {"scaledScore": 0.85}, {"scaledScore": 0.95}]
    )
    assert decision.passed and decision.deciding_runs == [1, 2, 3] and decision.score == 0.85
    assert decision.reasons == ["each of the last 3 runs passed with a lowest scaled score of 0.85 (mastery score 0.8)"]
    decision = simulate(rule, [{"scaledScore": 0.9}, {"scaledScore": 0.5}, {"scaledScore": 0.95}])
    assert not decision.passed and decision.reasons == [
        "run 2 of 3: the scaled score 0.5 is below the mastery score 0.8"
    ]


def test_every_condition_of_a_run_is_checked_and_reported() -> None:
    spec = {
        "requireSuccess": True,
        "requireCompletion": True,
        "minDurationSeconds": 600,
        "maxDurationSeconds": 3600,
        "metrics": [{"name": "collisions", "max": 0}, {"name": "cycle_time_s", "min": 5, "max": 12.5}],
    }
    run: dict[str, Any] = {
        "raw": {"score": 34, "min": 0, "max": 50},
        "success": False,
        "durationSeconds": 95,
        "metrics": {"collisions": 2},
    }
    decision = simulate(spec, [run])
    assert not decision.passed and decision.score == 0.68
    assert decision.reasons[1:] == [
        "run 1 of 1: the scaled score 0.68 is below the mastery score 0.8",
        "run 1 of 1: the simulator reported failure",
        "run 1 of 1: no completion was reported",
        "run 1 of 1: the duration 95 s is shorter than the minimum 600 s",
        "run 1 of 1: metric 'collisions' is 2, above the maximum 0",
        "run 1 of 1: metric 'cycle_time_s' was not reported",
    ]
    good = {
        "raw": {"score": 45, "min": 0, "max": 50},
        "success": True,
        "completion": True,
        "durationSeconds": 1800,
        "metrics": {"collisions": 0, "cycle_time_s": 11.2},
    }
    decision = simulate(spec, [run, good])
    assert decision.passed and decision.score == 0.9 and decision.deciding_runs == [1]
    assert "metric 'cycle_time_s' is at least 5 and at most 12.5" in decision.score_rule


def test_a_run_without_a_score_cannot_reach_the_mastery_score() -> None:
    decision = simulate({}, [{"success": True}])
    assert not decision.passed and decision.score is None
    assert decision.reasons[1:] == ["run 1 of 1: no score was reported; the mastery score is 0.8"]


def test_success_alone_can_be_the_pass_condition() -> None:
    spec = {"masteryScore": None, "requireSuccess": True, "runs": {"rule": "last"}}
    assert simulate(spec, [{"success": False}, {"success": True}]).passed
    decision = simulate(spec, [{"success": True}, {}])
    assert not decision.passed and decision.reasons[1:] == ["run 2 of 2: no success was reported"]


@pytest.mark.parametrize(
    ("scores", "problem"),
    [
        (
            [{"criterion": "bead", "level": "good"}, {"criterion": "leak", "value": 1}],
            "scores: criterion 'penetration' is not scored",
        ),
        (
            [{"criterion": "bead", "level": "superb"}],
            "scores[bead].level: 'superb' is not one of the rubric's levels ('insufficient', 'acceptable', 'good', 'excellent')",
        ),
        (
            [{"criterion": "bead", "value": 3}],
            "scores[bead]: criterion 'Weld bead geometry' is scored on a rubric: give a level",
        ),
        (
            [{"criterion": "leak", "level": "good"}],
            "scores[leak]: criterion 'Leak test' is scored on a numeric scale: give a value",
        ),
        ([{"criterion": "leak", "value": 11}], "scores[leak].value: 11 is outside the scale 0–10"),
        ([{"criterion": "leak", "value": 1}, {"criterion": "leak", "value": 2}], "scores[leak]: scored 2 times"),
        ([{"criterion": "weld", "value": 1}], "scores[0].criterion: 'weld' is not a criterion of the specification"),
        ([{"criterion": "leak", "value": float("nan")}], "scores[0].value: expected a number >= "),
        ([{"criterion": "leak", "value": True}], "scores[0].value: expected `float | null`, got true or false"),
        ([{"criterion": "leak", "value": 1, "grade": "A"}], "scores[0].grade: unknown field"),
    ],
)
def test_a_performance_submission_is_checked_against_the_specification(
    scores: list[dict[str, Any]], problem: str
) -> None:
    spec = parse_specification(WELDING)
    with pytest.raises(AssessmentError) as error:
        parse_submission(spec, {"mode": "performance_standard", "scores": scores})
    assert any(p.startswith(problem) for p in error.value.problems), error.value.problems


@pytest.mark.parametrize(
    ("spec", "submission", "problem"),
    [
        (
            OUTCOMES,
            {"mode": "simulation", "runs": [{}]},
            "mode: the specification is 'outcome_based', the submission 'simulation'",
        ),
        (
            OUTCOMES,
            {"mode": "outcome_based", "judgements": [{"outcome": "lo1", "achieved": True}]},
            "judgements: the required outcome 'lo2' is not judged",
        ),
        (
            OUTCOMES,
            {"mode": "outcome_based", "judgements": [{"outcome": "lo9", "achieved": True}]},
            "judgements[0].outcome: 'lo9' is not an outcome of the specification ('lo1', 'lo2', 'lo3')",
        ),
        (
            OUTCOMES,
            {"mode": "outcome_based", "judgements": [{"outcome": "lo1"}]},
            "judgements[0].achieved: required, but missing",
        ),
        (FESTO, {"mode": "simulation", "runs": []}, "runs: expected an array of length >= 1"),
        (FESTO, {"mode": "simulation", "runs": [{"scaledScore": 1.5}]}, "runs[0].scaledScore: expected a number <= 1"),
        (
            FESTO,
            {"mode": "simulation", "runs": [{"raw": {"score": 60, "min": 0, "max": 50}}]},
            "runs[0].raw.score: 60 is above max 50",
        ),
        (
            FESTO,
            {"mode": "simulation", "runs": [{"raw": {"score": 5, "min": 10, "max": 10}}]},
            "runs[0].raw: min 10 must be below max 10",
        ),
        (
            FESTO,
            {"mode": "simulation", "runs": [{"at": "2026-03-02T10:00:00Z"}, {"at": "2026-03-02T09:00:00Z"}]},
            "runs[1].at: the runs are not in chronological order",
        ),
        (
            FESTO,
            {"mode": "simulation", "runs": [{"at": "2026-03-02T10:00:00"}]},
            "runs[0].at: expected a date-time with a timezone",
        ),
        (
            FESTO,
            {
                "mode": "simulation",
                "runs": [{"actor": {"mbox": "mailto:a@x.example"}}, {"actor": {"mbox": "mailto:b@x.example"}}],
            },
            "runs[1].actor: the runs are by different actors",
        ),
        (
            FESTO,
            {"mode": "simulation", "runs": [{"actor": {"name": "Ada"}}]},
            "runs[0].actor: identify the agent by mbox",
        ),
        (FESTO, b'{"mode": "simulation", "runs": [', "not valid JSON"),
        (FESTO, ["simulation"], "expected an object, got an array"),
    ],
)
def test_submissions_are_checked(spec: dict[str, Any], submission: object, problem: str) -> None:
    with pytest.raises(AssessmentError) as error:
        parse_submission(parse_specification(spec), submission)
    assert any(p.startswith(problem) for p in error.value.problems), error.value.problems


def test_every_problem_of_a_submission_is_listed() -> None:
    spec = parse_specification(WELDING)
    scores = [
        {"criterion": "bead", "level": "superb"},
        {"criterion": "leak", "value": 12},
        {"criterion": "x", "value": 1},
    ]
    with pytest.raises(AssessmentError) as error:
        parse_submission(spec, {"mode": "performance_standard", "scores": scores})
    assert len(error.value.problems) == 4  # penetration not scored, superb, 12, x
    assert str(error.value) == "; ".join(error.value.problems)


def test_submissions_and_decisions_round_trip_through_json() -> None:
    spec = parse_specification(FESTO)
    data = {
        "mode": "simulation",
        "runs": [{"scaledScore": 0.9, "at": "2026-03-02T10:00:00+01:00", "metrics": {"m": 1}}],
    }
    submission = parse_submission(spec, data)
    assert parse_submission(spec, msgspec.json.encode(submission_to_json(submission))) == submission
    decision = evaluate(spec, submission)
    stored = msgspec.json.encode(decision_to_json(decision))
    assert parse_decision(stored) == decision
    assert parse_decision(msgspec.json.decode(stored)) == decision
    with pytest.raises(AssessmentError):
        parse_decision({"passed": "yes"})


def test_evaluate_checks_structs_built_by_hand() -> None:
    numeric = {"key": "a", "title": "A", "scale": {"type": "numeric", "min": 0, "max": 1}}
    valid = parse_specification({"mode": "performance_standard", "cutScore": 50, "criteria": [numeric]})
    submission = parse_submission(valid, {"mode": "performance_standard", "scores": [{"criterion": "a", "value": 1}]})
    assert evaluate(valid, submission).passed
    spec = PerformanceStandardSpecification(
        cut_score=50, criteria=[Criterion(key="a", title="A", weight=-1, scale=NumericScale(min=0, max=1))]
    )
    with pytest.raises(AssessmentError) as error:
        evaluate(spec, submission)
    assert error.value.problems == ["criteria[0].weight: expected a number > 0.0"]
    with pytest.raises(AssessmentError):
        evaluate(valid, object())  # type: ignore[arg-type]
