"""Evaluation of a performance standard: weighted criteria, a cut score and must-pass criteria."""

from __future__ import annotations

from math import fsum

from assessment._text import number
from assessment.decision import CriterionResult, Decision
from assessment.specification import Criterion, PerformanceStandardSpecification, RubricScale
from assessment.submission import CriterionScore, PerformanceStandardSubmission

TOTAL_RULE = (
    "total = 100 × Σ(weight × attainment) / Σ weight over all criteria, rounded to 2 decimals, where attainment "
    "is (points of the level reached − points of the lowest level) / (points of the highest level − points of "
    "the lowest level) on a rubric, and (value − min) / (max − min) on a numeric scale"
)


def evaluate_performance(
    specification: PerformanceStandardSpecification, submission: PerformanceStandardSubmission
) -> Decision:
    """Passed when the total (``TOTAL_RULE``) is at least ``cutScore`` and every must-pass criterion reaches its
    minimum: on a rubric, the level reached is the minimum level or a higher one; on a numeric scale, the value
    is at least the minimum."""
    scores = {s.criterion: s for s in submission.scores}
    total_weight = fsum(c.weight for c in specification.criteria)
    # 100 * share * attainment, where share = weight / total weight: the same total, safe from underflow.
    contributions = [100 * (c.weight / total_weight) * _attainment(c, scores[c.key]) for c in specification.criteria]
    total = round(fsum(contributions), 2)
    cut = specification.cut_score
    results: list[CriterionResult] = []
    reasons: list[str] = []
    for criterion, contribution in zip(specification.criteria, contributions, strict=True):
        result, failure = _criterion_result(criterion, scores[criterion.key], contribution)
        results.append(result)
        reasons += [failure] if failure else []
    if total < cut:
        reasons.insert(0, f"the total {number(total)}% is below the cut score {number(cut)}%")
    passed = not reasons
    if passed:
        must_pass = " and every must-pass criterion reaches its minimum" if any(r.required for r in results) else ""
        reasons = [f"the total {number(total)}% reaches the cut score {number(cut)}%{must_pass}"]
    rule = (
        f"{TOTAL_RULE}; passed when the total is at least the cut score {number(cut)}% and every must-pass "
        "criterion reaches its minimum, whatever the total"
    )
    return Decision(
        passed=passed,
        mode="performance_standard",
        score=total,
        max_score=100.0,
        score_rule=rule,
        results=results,
        reasons=reasons,
    )


def _attainment(criterion: Criterion, score: CriterionScore) -> float:
    """From 0 (the lowest level, or the scale's min) to 1 (the highest level, or the scale's max)."""
    scale = criterion.scale
    if isinstance(scale, RubricScale):
        points = next(level.points for level in scale.levels if level.key == score.level)
        lowest, highest = scale.levels[0].points, scale.levels[-1].points
        return (points - lowest) / (highest - lowest)
    assert score.value is not None  # parse_submission: a numeric criterion has a value
    return (score.value - scale.min) / (scale.max - scale.min)


def _criterion_result(criterion: Criterion, score: CriterionScore, contribution: float) -> tuple[CriterionResult, str]:
    """The result of one criterion, and the reason it fails the attempt ("" when it does not)."""
    scale, minimum, title = criterion.scale, criterion.minimum, criterion.title
    if isinstance(scale, RubricScale):
        keys = [level.key for level in scale.levels]
        position = keys.index(str(score.level))
        level = scale.levels[position]
        reached = f"level {position + 1} of {len(keys)} ({level.name!r}, {_points(level.points)})"
        value, failure, passed = level.points, "", True
        if isinstance(minimum, str):
            required = keys.index(minimum)
            passed = position >= required
            reached += f"; the minimum is level {required + 1} ({scale.levels[required].name!r})"
            if not passed:
                failure = (
                    f"criterion {title!r} reached level {position + 1} of {len(keys)}; the minimum is {required + 1}"
                )
    else:
        assert score.value is not None
        value, failure, passed = score.value, "", True
        reached = f"{number(value)} on a scale of {number(scale.min)}–{number(scale.max)}"
        if isinstance(minimum, float | int):
            passed = value >= minimum
            reached += f"; the minimum is {number(minimum)}"
            if not passed:
                failure = f"criterion {title!r} scored {reached}"
    result = CriterionResult(
        key=criterion.key,
        title=title,
        passed=passed,
        required=minimum is not None,
        reason=reached if passed else f"{reached}: not reached",
        value=value,
        level=score.level,
        contribution=round(contribution, 4),
    )
    return result, failure


def _points(points: float) -> str:
    return f"{number(points)} point{'' if points == 1 else 's'}"
