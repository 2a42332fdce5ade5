"""Properties of the engine over generated specifications, submissions and arbitrary input.

- A decision never passes a submission that misses a must-pass criterion or a required outcome.
- Raising any score (a higher level, a higher value, a higher scaled or raw score, an outcome achieved, more
  evidence) never turns a pass into a fail.
- Parsing and evaluation never raise anything but AssessmentError, whatever the input.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment import (
    AssessmentError,
    Decision,
    evaluate,
    parse_decision,
    parse_duration,
    parse_specification,
    parse_statement,
    parse_statements,
    parse_submission,
    specification_to_json,
    to_open_badges,
)
from assessment.specification import MODES, Specification

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROPERTY = settings(max_examples=200, deadline=None)
Json = Any


# --- performance standard -------------------------------------------------------------------------------------


@st.composite
def rubric_criterion(draw: st.DrawFn, key: str) -> tuple[Json, Json]:
    points = sorted(draw(st.lists(st.integers(-100, 100) | st.floats(-1e6, 1e6), min_size=2, max_size=6, unique=True)))
    keys = [f"l{i}" for i in range(len(points))]
    criterion: Json = {
        "key": key,
        "title": f"Criterion {key}",
        "weight": draw(st.floats(0.001, 1000)),
        "scale": {
            "type": "rubric",
            "levels": [{"key": k, "name": k.upper(), "points": p} for k, p in zip(keys, points, strict=True)],
        },
    }
    minimum = draw(st.none() | st.sampled_from(keys))
    if minimum is not None:
        criterion["minimum"] = minimum
    return criterion, {"criterion": key, "level": draw(st.sampled_from(keys))}


@st.composite
def numeric_criterion(draw: st.DrawFn, key: str) -> tuple[Json, Json]:
    low = draw(st.floats(-1e6, 1e6 - 1) | st.integers(-100, 99))
    high = draw(st.floats(low, 1e6, exclude_min=True) | st.integers(math.floor(low) + 1, math.floor(low) + 200))
    criterion: Json = {"key": key, "title": f"Criterion {key}", "weight": draw(st.floats(0.001, 1000)),
                       "scale": {"type": "numeric", "min": low, "max": high}}  # fmt: skip
    minimum = draw(st.none() | st.floats(low, high))
    if minimum is not None:
        criterion["minimum"] = minimum
    return criterion, {"criterion": key, "value": draw(st.floats(low, high))}


@st.composite
def performance_case(draw: st.DrawFn) -> tuple[Json, Json]:
    pairs = [
        draw(rubric_criterion(f"c{i}") if draw(st.booleans()) else numeric_criterion(f"c{i}"))
        for i in range(draw(st.integers(1, 5)))
    ]
    scores = [score for _, score in pairs]
    spec = {"mode": "performance_standard", "cutScore": draw(st.floats(0, 100)), "criteria": [c for c, _ in pairs]}
    return spec, {"mode": "performance_standard", "scores": draw(st.permutations(scores))}


def misses_a_minimum(criterion: Json, score: Json) -> bool:
    if "minimum" not in criterion:
        return False
    if criterion["scale"]["type"] == "rubric":
        keys = [level["key"] for level in criterion["scale"]["levels"]]
        return bool(keys.index(score["level"]) < keys.index(criterion["minimum"]))
    return bool(score["value"] < criterion["minimum"])


def expected_total(spec: Json, submission: Json) -> float:
    scores = {s["criterion"]: s for s in submission["scores"]}
    weighted = 0.0
    for criterion in spec["criteria"]:
        scale, score = criterion["scale"], scores[criterion["key"]]
        if scale["type"] == "rubric":
            points = {lv["key"]: lv["points"] for lv in scale["levels"]}
            low, high = scale["levels"][0]["points"], scale["levels"][-1]["points"]
            weighted += criterion["weight"] * ((points[score["level"]] - low) / (high - low))
        else:
            weighted += criterion["weight"] * ((score["value"] - scale["min"]) / (scale["max"] - scale["min"]))
    return float(100 * weighted / sum(c["weight"] for c in spec["criteria"]))


def decide(spec_data: Json, submission_data: Json) -> Decision:
    spec = parse_specification(spec_data)
    return evaluate(spec, parse_submission(spec, submission_data))


@PROPERTY
@given(performance_case())
def test_a_decision_never_passes_a_submission_that_misses_a_must_pass_criterion(case: tuple[Json, Json]) -> None:
    spec, submission = case
    decision = decide(spec, submission)
    scores = {s["criterion"]: s for s in submission["scores"]}
    missed = [c["title"] for c in spec["criteria"] if misses_a_minimum(c, scores[c["key"]])]
    if missed:
        assert not decision.passed
        assert all(any(f"criterion {title!r}" in reason for reason in decision.reasons) for title in missed)
    assert decision.score is not None and 0 <= decision.score <= 100
    assert math.isclose(decision.score, expected_total(spec, submission), abs_tol=0.0051)
    assert decision.passed == (not missed and decision.score >= spec["cutScore"])
    assert decision.reasons and all(decision.reasons)


@st.composite
def raised_performance(draw: st.DrawFn) -> tuple[Json, Json, Json]:
    spec, submission = draw(performance_case())
    raised = copy.deepcopy(submission)
    score = draw(st.sampled_from(raised["scores"]))
    criterion = next(c for c in spec["criteria"] if c["key"] == score["criterion"])
    scale = criterion["scale"]
    if scale["type"] == "rubric":
        keys = [level["key"] for level in scale["levels"]]
        score["level"] = draw(st.sampled_from(keys[keys.index(score["level"]) :]))
    else:
        score["value"] = draw(st.floats(score["value"], scale["max"]))
    return spec, submission, raised


@PROPERTY
@given(raised_performance())
def test_raising_a_criterion_score_never_turns_a_pass_into_a_fail(case: tuple[Json, Json, Json]) -> None:
    spec, before, after = case
    first, second = decide(spec, before), decide(spec, after)
    assert second.passed or not first.passed
    assert second.score is not None and first.score is not None and second.score >= first.score


# --- outcomes ---------------------------------------------------------------------------------------------------


@st.composite
def outcome_case(draw: st.DrawFn) -> tuple[Json, Json]:
    mode = draw(st.sampled_from(["outcome_based", "prior_learning"]))
    n = draw(st.integers(1, 6))
    required = draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(any))
    spec: Json = {"mode": mode, "outcomes": [{"key": f"lo{i}", "required": r} for i, r in enumerate(required)]}
    if mode == "prior_learning":
        spec["minimumEvidencePerOutcome"] = draw(st.integers(1, 3))
    judgements = []
    for i, r in enumerate(required):
        if r or draw(st.booleans()):
            items = draw(st.lists(st.sampled_from(["p1", "p2", "p3", "p4"]), unique=True, max_size=4))
            evidence = [{"id": item} for item in items] if mode == "prior_learning" else items
            judgements.append({"outcome": f"lo{i}", "achieved": draw(st.booleans()), "evidence": evidence})
    return spec, {"mode": mode, "judgements": draw(st.permutations(judgements))}


def counts_as_achieved(spec: Json, judgement: Json) -> bool:
    return bool(judgement["achieved"]) and len(judgement["evidence"]) >= spec.get("minimumEvidencePerOutcome", 0)


@PROPERTY
@given(outcome_case())
def test_a_decision_never_passes_when_a_required_outcome_is_not_achieved(case: tuple[Json, Json]) -> None:
    spec, submission = case
    decision = decide(spec, submission)
    judged = {j["outcome"]: j for j in submission["judgements"]}
    missed = [o["key"] for o in spec["outcomes"] if o["required"] and not counts_as_achieved(spec, judged[o["key"]])]
    assert decision.passed == (not missed)
    assert [r.key for r in decision.results] == [o["key"] for o in spec["outcomes"]]
    achieved = sum(1 for j in submission["judgements"] if counts_as_achieved(spec, j))
    assert decision.score == round(100 * achieved / len(spec["outcomes"]), 2)


@PROPERTY
@given(outcome_case(), st.data())
def test_achieving_an_outcome_or_adding_evidence_never_turns_a_pass_into_a_fail(
    case: tuple[Json, Json], data: st.DataObject
) -> None:
    spec, before = case
    if not before["judgements"]:
        return
    after = copy.deepcopy(before)
    judgement = data.draw(st.sampled_from(after["judgements"]))
    judgement["achieved"] = True
    if spec["mode"] == "prior_learning":
        judgement["evidence"] = [{"id": i} for i in ("p1", "p2", "p3", "p4")]
    assert decide(spec, after).passed or not decide(spec, before).passed


# --- simulation ---------------------------------------------------------------------------------------------------


@st.composite
def simulation_run(draw: st.DrawFn) -> Json:
    run: Json = {}
    if draw(st.booleans()):
        run["scaledScore"] = draw(st.floats(-1, 1))
    if draw(st.booleans()):
        low = draw(st.integers(-10, 50))
        high = draw(st.integers(low + 1, 100))
        run["raw"] = {"score": draw(st.floats(low, high)), "min": low, "max": high}
    for field in ("success", "completion"):
        if draw(st.booleans()):
            run[field] = draw(st.booleans())
    if draw(st.booleans()):
        run["durationSeconds"] = draw(st.floats(0, 7200))
    run["metrics"] = draw(st.dictionaries(st.sampled_from(["m0", "m1"]), st.floats(-100, 100), max_size=2))
    return run


@st.composite
def simulation_case(draw: st.DrawFn) -> tuple[Json, Json]:
    spec: Json = {"mode": "simulation", "masteryScore": draw(st.none() | st.floats(0, 1))}
    spec["requireSuccess"], spec["requireCompletion"] = draw(st.booleans()), draw(st.booleans())
    if spec["masteryScore"] is None and not spec["requireCompletion"]:
        spec["requireSuccess"] = True
    low = draw(st.none() | st.floats(0, 3600))
    high = draw(st.none() | st.floats(low or 0, 7200))
    spec["minDurationSeconds"], spec["maxDurationSeconds"] = low, high
    rule = draw(st.sampled_from(["best", "last", "all_of_last"]))
    spec["runs"] = {"rule": rule, "count": draw(st.integers(1, 4))} if rule == "all_of_last" else {"rule": rule}
    spec["metrics"] = [
        {"name": name, "min": draw(st.floats(-100, 0)), "max": draw(st.floats(0, 100))}
        for name in draw(st.lists(st.sampled_from(["m0", "m1"]), unique=True, max_size=2))
    ]
    return spec, {"mode": "simulation", "runs": draw(st.lists(simulation_run(), min_size=1, max_size=5))}


@PROPERTY
@given(simulation_case(), st.data())
def test_raising_a_run_score_never_turns_a_pass_into_a_fail(case: tuple[Json, Json], data: st.DataObject) -> None:
    spec, before = case
    after = copy.deepcopy(before)
    run = data.draw(st.sampled_from(after["runs"]))
    if "scaledScore" in run:
        run["scaledScore"] = data.draw(st.floats(run["scaledScore"], 1))
    elif "raw" in run:
        run["raw"]["score"] = data.draw(st.floats(run["raw"]["score"], run["raw"]["max"]))
    else:
        run["scaledScore"] = data.draw(st.floats(-1, 1))
    first, second = decide(spec, before), decide(spec, after)
    assert second.passed or not first.passed
    n, rule = len(before["runs"]), spec["runs"]
    if rule["rule"] == "all_of_last":
        assert first.deciding_runs == list(range(max(0, n - rule["count"]), n))
        assert first.passed == (n >= rule["count"] and all(first.results[i].passed for i in first.deciding_runs))
    else:
        assert len(first.deciding_runs) == 1
        assert first.passed == (
            any(r.passed for r in first.results) if rule["rule"] == "best" else first.results[-1].passed
        )


# --- only AssessmentError, whatever the input ------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "mode", "supervision", "maxAttempts", "outcomes", "key", "required", "minimumEvidencePerOutcome", "criteria",
    "title", "weight", "scale", "type", "levels", "name", "points", "min", "max", "minimum", "cutScore",
    "masteryScore", "requireSuccess", "requireCompletion", "minDurationSeconds", "maxDurationSeconds", "runs",
    "rule", "count", "metrics", "judgements", "outcome", "achieved", "evidence", "id", "scores", "criterion",
    "level", "value", "scaledScore", "raw", "score", "success", "completion", "durationSeconds", "at", "actor",
    "verb", "object", "result", "context", "timestamp", "scaled", "duration", "extensions", "mbox", "account",
    "homePage", "objectType",
]  # fmt: skip
shaped = st.fixed_dictionaries(
    {"mode": st.sampled_from(MODES) | scalars},
    optional={field: json_values for field in FIELDS if field != "mode"},
)

SPECIFICATIONS: list[Json] = [
    {"mode": "outcome_based", "outcomes": [{"key": "lo1"}, {"key": "lo2", "required": False}]},
    {"mode": "prior_learning", "minimumEvidencePerOutcome": 2, "outcomes": [{"key": "lo1"}]},
    {
        "mode": "performance_standard", "cutScore": 70,
        "criteria": [
            {"key": "bead", "title": "Weld bead geometry", "minimum": "b",
             "scale": {"type": "rubric", "levels": [{"key": "a", "name": "A", "points": 0}, {"key": "b", "name": "B", "points": 1}]}},
            {"key": "leak", "title": "Leak test", "weight": 2, "minimum": 5, "scale": {"type": "numeric", "min": 0, "max": 10}},
        ],
    },
    {"mode": "simulation", "masteryScore": 0.8, "minDurationSeconds": 60, "runs": {"rule": "all_of_last", "count": 2},
     "metrics": [{"name": "m", "max": 3}]},
]  # fmt: skip
SUBMISSIONS: list[Json] = [
    {"mode": "outcome_based", "judgements": [{"outcome": "lo1", "achieved": True, "evidence": ["e"]}]},
    {"mode": "prior_learning", "judgements": [{"outcome": "lo1", "achieved": True, "evidence": [{"id": "p", "sha256": "0" * 64}]}]},
    {"mode": "performance_standard", "scores": [{"criterion": "bead", "level": "b"}, {"criterion": "leak", "value": 6}]},
    {"mode": "simulation", "runs": [{"scaledScore": 0.9, "raw": {"score": 1, "min": 0, "max": 2}, "durationSeconds": 61,
                                     "metrics": {"m": 1}, "at": "2026-01-01T00:00:00Z", "actor": {"mbox": "mailto:a@b.example"}}]},
]  # fmt: skip
STATEMENT: Json = {
    "id": "6d4b7a8e-2f0c-4c58-9a53-3b1f2d0e9a11",
    "actor": {"objectType": "Agent", "account": {"homePage": "https://lms.example", "name": "jw"}},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
    "object": {"id": "https://sim.example/au/1"},
    "result": {"score": {"scaled": 0.9, "raw": 9, "min": 0, "max": 10}, "success": True, "duration": "PT1M", "extensions": {"x": 1}},
    "context": {"extensions": {"https://w3id.org/xapi/cmi5/context/extensions/masteryscore": 0.8,
                               "https://w3id.org/xapi/cmi5/context/extensions/sessionid": "s"}},
    "timestamp": "2026-01-01T00:00:00Z",
}  # fmt: skip


def mutate(draw: st.DrawFn, value: Json) -> Json:
    """``value`` with one part somewhere inside replaced by arbitrary JSON, removed, or added."""
    if isinstance(value, dict) and value and draw(st.integers(0, 3)):
        key = draw(st.sampled_from(sorted(value)))
        action = draw(st.sampled_from(["descend", "descend", "delete", "add"]))
        if action == "delete":
            return {k: v for k, v in value.items() if k != key}
        if action == "add":
            return {**value, draw(st.sampled_from(FIELDS) | st.text(max_size=5)): draw(json_values)}
        return {**value, key: mutate(draw, value[key])}
    if isinstance(value, list) and value and draw(st.integers(0, 3)):
        i = draw(st.integers(0, len(value) - 1))
        return [*value[:i], mutate(draw, value[i]), *value[i + 1 :]]
    return draw(json_values)


@st.composite
def mutated(draw: st.DrawFn, documents: list[Json]) -> Json:
    document = draw(st.sampled_from(documents))
    for _ in range(draw(st.integers(1, 3))):
        document = mutate(draw, document)
    return document


def refuses_only_with_assessment_error(function: Any, *arguments: Any) -> Any:
    try:
        return function(*arguments)
    except AssessmentError as error:
        assert error.problems and all(isinstance(p, str) and p for p in error.problems)
        return None


raw_inputs = json_values | shaped | st.binary(max_size=60) | st.text(max_size=60)


@FUZZ
@given(raw_inputs | mutated(SPECIFICATIONS))
def test_parse_specification_raises_only_assessment_error(data: Json) -> None:
    spec = refuses_only_with_assessment_error(parse_specification, data)
    if spec is not None:
        assert parse_specification(specification_to_json(spec)) == spec


@FUZZ
@given(st.sampled_from(range(len(SPECIFICATIONS))), raw_inputs | mutated(SUBMISSIONS))
def test_parse_submission_and_evaluate_raise_only_assessment_error(index: int, data: Json) -> None:
    spec: Specification = parse_specification(SPECIFICATIONS[index])
    submission = refuses_only_with_assessment_error(parse_submission, spec, data)
    if submission is not None:
        decision = evaluate(spec, submission)  # a submission that parsed is evaluated without any error
        assert parse_decision(msgspec.json.encode(decision)) == decision
        to_open_badges(spec, decision, unit_title="Unit")


@FUZZ
@given(raw_inputs | mutated([STATEMENT, [STATEMENT, STATEMENT]]))
def test_parse_statements_raises_only_assessment_error(data: Json) -> None:
    refuses_only_with_assessment_error(parse_statement, data)
    runs = refuses_only_with_assessment_error(parse_statements, data)
    if runs:
        spec = parse_specification(SPECIFICATIONS[3])
        submission = refuses_only_with_assessment_error(
            parse_submission, spec, {"mode": "simulation", "runs": msgspec.to_builtins(runs)}
        )
        if submission is not None:
            evaluate(spec, submission)


@FUZZ
@given(st.text(max_size=30) | st.from_regex(r"P(\d+[YMWD])*(T(\d+([.,]\d+)?[HMS])+)?", fullmatch=True))
def test_parse_duration_raises_only_assessment_error(text: str) -> None:
    seconds = refuses_only_with_assessment_error(parse_duration, text)
    assert seconds is None or 0 <= seconds <= 1e9


@FUZZ
@given(json_values | mutated(SPECIFICATIONS), json_values | mutated(SUBMISSIONS))
def test_evaluate_raises_only_assessment_error_on_anything_passed_to_it(spec: Json, submission: Json) -> None:
    refuses_only_with_assessment_error(evaluate, spec, submission)


@FUZZ
@given(json_values | st.binary(max_size=40))
def test_parse_decision_raises_only_assessment_error(data: Json) -> None:
    refuses_only_with_assessment_error(parse_decision, data)


@PROPERTY
@given(performance_case() | simulation_case() | outcome_case())
def test_generated_specifications_round_trip(case: tuple[Json, Json]) -> None:
    spec = parse_specification(case[0])
    assert parse_specification(msgspec.json.encode(specification_to_json(spec))) == spec


@PROPERTY
@given(performance_case() | outcome_case() | simulation_case())
def test_a_decision_on_what_the_parsers_returned_is_the_same_without_checking_them_again(
    case: tuple[Json, Json],
) -> None:
    spec_data, submission_data = case
    spec = parse_specification(spec_data)
    submission = parse_submission(spec, submission_data)
    assert evaluate(spec, submission, as_parsed=True) == evaluate(spec, submission)
