"""The decision on one attempt: passed or not, the score, the result of each criterion and the reasons."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from assessment import _convert
from assessment.specification import HINTS, Mode, Part

Text = Annotated[str, Meta(max_length=10_000)]


class CriterionResult(Part):
    """How one item of the specification fared: a criterion, a learning outcome, or a simulation run.

    ``required`` — a must-pass criterion, a required outcome, a run that counts. ``passed`` — the item meets
    its own requirement: a criterion reaches its minimum (or has none), an outcome counts as achieved, a run
    passes. ``value`` — the points of the level reached or the numeric value (criteria), the scaled score
    (runs). ``level`` — the rubric level key reached. ``achieved`` — whether an outcome counts as achieved
    (None when it was not judged), or the success the simulator reported for a run. ``contribution`` — for a
    criterion, the percentage points it adds to the total. ``reason`` — the item's result in words.
    """

    key: Text
    title: Text
    passed: bool
    required: bool
    reason: Text
    value: float | None = None
    level: Text | None = None
    achieved: bool | None = None
    contribution: float | None = None


class Decision(Part):
    """The decision on one attempt.

    ``score`` / ``maxScore``: the total as a percentage of 100 (performance standard); the share of the
    specification's outcomes achieved, as a percentage of 100 (outcome based, prior learning); the scaled
    score of the run that counts — for ``all_of_last``, the lowest of the runs that count — out of 1
    (simulation). ``scoreRule`` states in words how the score was computed and what it took to pass.
    ``reasons`` says why it failed, every reason of it, or in short why it passed. ``decidingRuns`` are the
    indices (from 0) into the submission's runs of the runs that counted (simulation only).
    """

    passed: bool
    mode: Mode
    score: float | None
    max_score: float | None
    score_rule: Text
    results: list[CriterionResult]
    reasons: list[Text]
    deciding_runs: list[int] = msgspec.field(default_factory=list)


def decision_to_json(decision: Decision) -> dict[str, object]:
    """The decision as decoded JSON (camelCase), for storing; ``parse_decision`` reads it back equal."""
    encoded: dict[str, object] = msgspec.to_builtins(decision)
    return encoded


def parse_decision(data: object) -> Decision:
    """A stored decision (decoded JSON, or raw JSON as ``bytes``/``str``). Raises AssessmentError."""
    decision: Decision = _convert.decode(data, Decision, hints=HINTS)
    return decision
