"""Assessment specifications: how a unit is assessed and what it takes to pass.

A specification is a JSON object tagged by ``mode``. Every mode also states ``supervision`` (one of
``unsupervised`` — the default —, ``supervised_no_identity_check``, ``supervised_identity_check_online``,
``supervised_identity_check_onsite``: the Annex I element "supervision and identity verification") and
``maxAttempts`` (an integer ≥ 1, or null — the default — for no limit; the engine does not count attempts,
the service that records them does).

``outcome_based``
    ``{"mode": "outcome_based", "outcomes": [{"key": "lo1", "required": true}, ...]}``. Each listed learning
    outcome of the unit (by its key; the caller checks that the unit has it) is judged achieved or not, with
    evidence. The unit is passed when every required outcome is achieved. At least one outcome is required.
``prior_learning``
    Recognition of prior learning: the same ``outcomes`` and pass rule, judged on portfolio items the
    learner submits; ``minimumEvidencePerOutcome`` (default 1) is how many portfolio items must back an
    outcome for it to count as achieved.
``performance_standard``
    Weighted ``criteria``, each scored on a ``scale``: a rubric
    ``{"type": "rubric", "levels": [{"key", "name", "points"}, ...]}`` listed from the lowest level to the
    highest with strictly rising points, or a numeric range ``{"type": "numeric", "min", "max"}``. A criterion
    with a ``minimum`` (a level key for a rubric, a number for a numeric scale) is *must-pass*: it must reach
    that minimum whatever the total. ``cutScore`` is the pass mark for the total, a percentage 0–100; see
    ``assessment.evaluation`` for exactly how the total is computed.
``simulation``
    Runs reported by a simulator (see ``assessment.xapi``): ``masteryScore`` (0–1, on the scaled score),
    ``requireSuccess`` / ``requireCompletion`` (the simulator must report success / completion),
    ``minDurationSeconds`` / ``maxDurationSeconds``, ``metrics`` (thresholds on named extra metrics) and
    ``runs`` — which runs count: ``{"rule": "best"}`` (the default), ``{"rule": "last"}`` or
    ``{"rule": "all_of_last", "count": N}``.

``parse_specification`` decodes and checks a specification, ``specification_to_json`` gives it back as JSON.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from assessment import _convert
from assessment._text import number, quoted
from assessment.errors import at, raise_if

KEY_PATTERN = _convert.KEY_PATTERN
Key = Annotated[str, Meta(pattern=KEY_PATTERN, description="A stable identifier, e.g. 'bead' or 'lo1'")]
Title = Annotated[str, Meta(min_length=1, max_length=300)]
MetricName = Annotated[str, Meta(min_length=1, max_length=300)]
Number = Annotated[float, Meta(ge=-1e12, le=1e12)]
"""A finite number within ±10¹²: NaN and infinities are refused."""
Seconds = Annotated[float, Meta(ge=0, le=1e9)]

Mode = Literal["outcome_based", "performance_standard", "simulation", "prior_learning"]
MODES: tuple[Mode, ...] = ("outcome_based", "performance_standard", "simulation", "prior_learning")
Supervision = Literal[
    "unsupervised",
    "supervised_no_identity_check",
    "supervised_identity_check_online",
    "supervised_identity_check_onsite",
]
SUPERVISIONS: tuple[Supervision, ...] = (
    "unsupervised",
    "supervised_no_identity_check",
    "supervised_identity_check_online",
    "supervised_identity_check_onsite",
)
RunRuleName = Literal["best", "last", "all_of_last"]
HINTS = {
    "mode": MODES,
    "supervision": SUPERVISIONS,
    "rule": ("best", "last", "all_of_last"),
    "type": ("rubric", "numeric"),
}


class Part(Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """A piece of a specification: camelCase on the wire, unknown fields refused."""


class _Specification(Part, tag_field="mode"):
    supervision: Supervision = "unsupervised"
    max_attempts: Annotated[int, Meta(ge=1, le=1000)] | None = None


class OutcomeRequirement(Part):
    """A learning outcome of the unit, by key; ``required`` outcomes must be achieved to pass."""

    key: Key
    required: bool = True


class _OutcomeSpecification(_Specification, kw_only=True):
    outcomes: Annotated[list[OutcomeRequirement], Meta(min_length=1, max_length=200)]


class OutcomeBasedSpecification(_OutcomeSpecification, tag="outcome_based", kw_only=True):
    """Passed when every required outcome is judged achieved."""


class PriorLearningSpecification(_OutcomeSpecification, tag="prior_learning", kw_only=True):
    """Passed when every required outcome is judged achieved on at least ``minimumEvidencePerOutcome``
    portfolio items."""

    minimum_evidence_per_outcome: Annotated[int, Meta(ge=1, le=100)] = 1


class RubricLevel(Part):
    key: Key
    name: Title
    points: Number


class RubricScale(Part, tag_field="type", tag="rubric"):
    """Ordered levels, lowest first, with strictly rising points."""

    levels: Annotated[list[RubricLevel], Meta(min_length=2, max_length=20)]


class NumericScale(Part, tag_field="type", tag="numeric"):
    """Any number from ``min`` to ``max`` inclusive, ``min < max``."""

    min: Number
    max: Number


Scale = RubricScale | NumericScale


class Criterion(Part):
    """A performance criterion. With a ``minimum`` it is must-pass: a rubric level key the achieved level must
    reach (be that level or a higher one), or a number the value must reach (be at least)."""

    key: Key
    title: Title
    scale: Scale
    weight: Annotated[float, Meta(gt=0, le=1e6)] = 1.0
    minimum: Annotated[str, Meta(max_length=64)] | Number | None = None
    description: Annotated[str, Meta(max_length=2000)] | None = None


class PerformanceStandardSpecification(_Specification, tag="performance_standard", kw_only=True):
    """Passed when the weighted total reaches ``cutScore`` and every must-pass criterion reaches its minimum."""

    criteria: Annotated[list[Criterion], Meta(min_length=1, max_length=200)]
    cut_score: Annotated[float, Meta(ge=0, le=100)]


class RunRule(Part):
    """Which runs count: the best, the last, or all of the last ``count`` (which must then all pass)."""

    rule: RunRuleName = "best"
    count: Annotated[int, Meta(ge=1, le=100)] | None = None


class MetricThreshold(Part):
    """A named metric the simulator reports, which must be at least ``min`` and at most ``max``."""

    name: MetricName
    min: Number | None = None
    max: Number | None = None


class SimulationSpecification(_Specification, tag="simulation", kw_only=True):
    """A run passes when every condition stated holds; ``runs`` says which runs decide (see evaluation)."""

    mastery_score: Annotated[float, Meta(ge=0, le=1)] | None = None
    require_success: bool = False
    require_completion: bool = False
    min_duration_seconds: Seconds | None = None
    max_duration_seconds: Seconds | None = None
    runs: RunRule = msgspec.field(default_factory=RunRule)
    metrics: Annotated[list[MetricThreshold], Meta(max_length=50)] = msgspec.field(default_factory=list)


Specification = (
    OutcomeBasedSpecification | PerformanceStandardSpecification | SimulationSpecification | PriorLearningSpecification
)
OutcomeSpecification = OutcomeBasedSpecification | PriorLearningSpecification


def parse_specification(data: object) -> Specification:
    """The specification in ``data`` (decoded JSON, or raw JSON as ``bytes``/``str``), checked.

    Beyond the types, it checks: unique outcome, criterion, rubric level and metric keys; at least one
    required outcome; rubric levels listed with strictly rising points; ``min < max`` for numeric scales;
    a criterion's ``minimum`` is one of its rubric's level keys, or a number within its numeric scale;
    ``count`` given for ``all_of_last`` and only for it; ``minDurationSeconds ≤ maxDurationSeconds``; every
    metric threshold has a ``min`` or a ``max`` (and ``min ≤ max``); a simulation states at least one pass
    condition (``masteryScore``, ``requireSuccess``, ``requireCompletion`` or ``metrics``).
    Raises AssessmentError listing every problem found.
    """
    specification: Specification = _convert.decode(data, Specification, hints=HINTS)
    raise_if(specification_problems(specification))
    return specification


def specification_to_json(specification: Specification) -> dict[str, object]:
    """The specification as decoded JSON (camelCase), which ``parse_specification`` reads back equal."""
    encoded: dict[str, object] = msgspec.to_builtins(specification)
    return encoded


def specification_problems(specification: Specification) -> list[str]:
    """Every rule of ``parse_specification`` that ``specification`` breaks, beyond its types."""
    match specification:
        case OutcomeBasedSpecification() | PriorLearningSpecification():
            return _outcome_problems(specification)
        case PerformanceStandardSpecification():
            return _performance_problems(specification)
        case SimulationSpecification():
            return _simulation_problems(specification)


def _duplicates(path: str, keys: list[str]) -> list[str]:
    counts = Counter(keys)
    return [at(f"{path}[{k}]", f"used {n} times; each must be unique") for k, n in counts.items() if n > 1]


def _outcome_problems(specification: OutcomeSpecification) -> list[str]:
    problems = _duplicates("outcomes", [o.key for o in specification.outcomes])
    if not any(o.required for o in specification.outcomes):
        problems.append(at("outcomes", "at least one outcome must be required, or every submission would pass"))
    return problems


def _performance_problems(specification: PerformanceStandardSpecification) -> list[str]:
    problems = _duplicates("criteria", [c.key for c in specification.criteria])
    for criterion in specification.criteria:
        path = f"criteria[{criterion.key}]"
        if isinstance(criterion.scale, RubricScale):
            problems += _rubric_problems(path, criterion.scale, criterion.minimum)
        else:
            problems += _numeric_problems(path, criterion.scale, criterion.minimum)
    return problems


def _rubric_problems(path: str, scale: RubricScale, minimum: str | float | None) -> list[str]:
    problems = _duplicates(f"{path}.scale.levels", [level.key for level in scale.levels])
    for i, (lower, level) in enumerate(zip(scale.levels, scale.levels[1:], strict=False), start=1):
        if level.points <= lower.points:
            problems.append(
                at(
                    f"{path}.scale.levels[{i}].points",
                    f"{number(level.points)} is not above the {number(lower.points)} points of "
                    f"{lower.key!r}; list the levels from lowest to highest, with rising points",
                )
            )
    keys = [level.key for level in scale.levels]
    if isinstance(minimum, str) and minimum not in keys:
        problems.append(at(f"{path}.minimum", f"{minimum!r} is not one of the rubric's levels ({quoted(keys)})"))
    elif isinstance(minimum, float | int):
        problems.append(
            at(
                f"{path}.minimum",
                f"a rubric criterion's minimum is a level key ({quoted(keys)}), not the number {number(minimum)}",
            )
        )
    return problems


def _numeric_problems(path: str, scale: NumericScale, minimum: str | float | None) -> list[str]:
    if scale.min >= scale.max:
        return [at(f"{path}.scale", f"min {number(scale.min)} must be below max {number(scale.max)}")]
    if isinstance(minimum, str):
        return [at(f"{path}.minimum", f"a numeric criterion's minimum is a number, not {minimum!r}")]
    if minimum is not None and not scale.min <= minimum <= scale.max:
        return [
            at(f"{path}.minimum", f"{number(minimum)} is outside the scale {number(scale.min)}–{number(scale.max)}")
        ]
    return []


def _simulation_problems(specification: SimulationSpecification) -> list[str]:
    s = specification
    problems = _duplicates("metrics", [m.name for m in s.metrics])
    if s.runs.rule == "all_of_last" and s.runs.count is None:
        problems.append(at("runs.count", "the 'all_of_last' rule needs a count: how many of the last runs must pass"))
    if s.runs.rule != "all_of_last" and s.runs.count is not None:
        problems.append(at("runs.count", f"only the 'all_of_last' rule takes a count, not {s.runs.rule!r}"))
    if (
        s.min_duration_seconds is not None
        and s.max_duration_seconds is not None
        and s.min_duration_seconds > s.max_duration_seconds
    ):
        problems.append(
            at(
                "minDurationSeconds",
                f"{number(s.min_duration_seconds)} is above maxDurationSeconds {number(s.max_duration_seconds)}",
            )
        )
    for metric in s.metrics:
        path = f"metrics[{metric.name}]"
        if metric.min is None and metric.max is None:
            problems.append(at(path, "give a min, a max or both"))
        elif metric.min is not None and metric.max is not None and metric.min > metric.max:
            problems.append(at(path, f"min {number(metric.min)} is above max {number(metric.max)}"))
    if s.mastery_score is None and not (s.require_success or s.require_completion or s.metrics):
        problems.append(
            "a simulation needs at least one pass condition: masteryScore, requireSuccess, requireCompletion or metrics"
        )
    return problems
