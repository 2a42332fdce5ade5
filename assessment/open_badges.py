"""A decision in Open Badges 3.0 terms: ``achievement.resultDescription[]`` and ``credentialSubject.result[]``.

The result descriptions come from the specification alone (the same for every learner); the results from the
decision. Ids are ``<prefix><key>`` for criteria and outcomes, ``<prefix>unit:status`` and
``<prefix>unit:score`` for the unit as a whole (keys never hold a colon, so these never collide), and
``<prefix><key>:level:<level key>`` for rubric levels. The default prefix is ``urn:guildhall:result:``; give
each unit its own prefix when one achievement carries the results of several units.

- The unit: a ``Status`` description (``allowedValue`` Failed, Completed; ``requiredValue`` Completed) whose
  result has ``status`` ``Completed`` when passed, ``Failed`` when not; and a score description: ``Percent``
  (0–100) for the outcome modes and the performance standard (``requiredValue`` = the cut score), or
  ``ScaledScore`` (−1 to 1, ``requiredValue`` = the mastery score) for a simulation.
- A rubric criterion: ``RubricCriterionLevel``, with ``rubricCriterionLevel[]`` (the levels with their points)
  and, when must-pass, ``requiredLevel``; its result names the ``achievedLevel``.
- A numeric criterion: ``RawScore`` with ``valueMin``, ``valueMax`` and, when must-pass, ``requiredValue``.
- A learning outcome: ``Result`` with ``allowedValue`` "not achieved", "achieved" (``requiredValue`` "achieved"
  when required); an outcome not judged has no result.
"""

from __future__ import annotations

from collections.abc import Mapping

from assessment._text import number
from assessment.decision import CriterionResult, Decision
from assessment.errors import AssessmentError
from assessment.specification import (
    Criterion,
    OutcomeBasedSpecification,
    PerformanceStandardSpecification,
    PriorLearningSpecification,
    RubricScale,
    SimulationSpecification,
    Specification,
)

Json = dict[str, object]
PREFIX = "urn:guildhall:result:"


def to_open_badges(
    specification: Specification,
    decision: Decision,
    *,
    unit_title: str,
    outcome_titles: Mapping[str, str] | None = None,
    id_prefix: str = PREFIX,
) -> tuple[list[Json], list[Json]]:
    """``(resultDescription[], result[])`` for ``decision`` under ``specification``.

    ``unit_title`` names the unit-wide descriptions; ``outcome_titles`` maps outcome keys to the outcomes'
    texts (default: "Learning outcome <key>"). Raises AssessmentError when the decision is not one of this
    specification (another mode, or a rubric level it does not have).
    """
    mode = type(specification).__struct_config__.tag
    if decision.mode != mode:
        raise AssessmentError(f"mode: the decision is {decision.mode!r}, the specification {mode!r}")
    descriptions, results = _unit(specification, decision, unit_title, id_prefix)
    by_key = {r.key: r for r in decision.results}
    if isinstance(specification, PerformanceStandardSpecification):
        for criterion in specification.criteria:
            description, result = _criterion(criterion, by_key.get(criterion.key), id_prefix)
            descriptions.append(description)
            results += [result] if result else []
    elif isinstance(specification, OutcomeBasedSpecification | PriorLearningSpecification):
        titles = outcome_titles or {}
        for outcome in specification.outcomes:
            rd_id = f"{id_prefix}{outcome.key}"
            description = _description(
                rd_id,
                titles.get(outcome.key, f"Learning outcome {outcome.key}"),
                "Result",
                allowedValue=["not achieved", "achieved"],
            )
            if outcome.required:
                description["requiredValue"] = "achieved"
            descriptions.append(description)
            achieved = by_key[outcome.key].achieved if outcome.key in by_key else None
            if achieved is not None:
                results.append(_result(rd_id, value="achieved" if achieved else "not achieved"))
    return descriptions, results


def _unit(specification: Specification, decision: Decision, title: str, prefix: str) -> tuple[list[Json], list[Json]]:
    status_id, score_id = f"{prefix}unit:status", f"{prefix}unit:score"
    status = _description(
        status_id,
        f"{title}: assessment result",
        "Status",
        allowedValue=["Failed", "Completed"],
        requiredValue="Completed",
    )
    if isinstance(specification, SimulationSpecification):
        score = _description(score_id, f"{title}: scaled score", "ScaledScore", valueMin="-1", valueMax="1")
        if specification.mastery_score is not None:
            score["requiredValue"] = number(specification.mastery_score)
    elif isinstance(specification, PerformanceStandardSpecification):
        score = _description(
            score_id,
            f"{title}: total score",
            "Percent",
            valueMin="0",
            valueMax="100",
            requiredValue=number(specification.cut_score),
        )
    else:
        score = _description(score_id, f"{title}: learning outcomes achieved", "Percent", valueMin="0", valueMax="100")
    results = [_result(status_id, status="Completed" if decision.passed else "Failed")]
    if decision.score is not None:
        results.append(_result(score_id, value=number(decision.score)))
    return [status, score], results


def _criterion(criterion: Criterion, outcome: CriterionResult | None, prefix: str) -> tuple[Json, Json | None]:
    rd_id = f"{prefix}{criterion.key}"
    scale = criterion.scale
    if not isinstance(scale, RubricScale):
        description = _description(
            rd_id, criterion.title, "RawScore", valueMin=number(scale.min), valueMax=number(scale.max)
        )
        if isinstance(criterion.minimum, float | int):
            description["requiredValue"] = number(criterion.minimum)
        value = None if outcome is None or outcome.value is None else number(outcome.value)
        return description, None if value is None else _result(rd_id, value=value)
    levels: list[Json] = [
        {
            "id": f"{rd_id}:level:{level.key}",
            "type": ["RubricCriterionLevel"],
            "name": level.name,
            "level": f"{i} of {len(scale.levels)}",
            "points": number(level.points),
        }
        for i, level in enumerate(scale.levels, start=1)
    ]
    description = _description(rd_id, criterion.title, "RubricCriterionLevel", rubricCriterionLevel=levels)
    if isinstance(criterion.minimum, str):
        description["requiredLevel"] = f"{rd_id}:level:{criterion.minimum}"
    if outcome is None or outcome.level is None:
        return description, None
    if outcome.level not in {level.key for level in scale.levels}:
        raise AssessmentError(f"results[{criterion.key}].level: {outcome.level!r} is not a level of the rubric")
    return description, _result(rd_id, achievedLevel=f"{rd_id}:level:{outcome.level}")


def _description(rd_id: str, name: str, result_type: str, **fields: object) -> Json:
    return {"id": rd_id, "type": ["ResultDescription"], "name": name, "resultType": result_type, **fields}


def _result(rd_id: str, **fields: object) -> Json:
    return {"type": ["Result"], "resultDescription": rd_id, **fields}
