"""Pass decisions: ``evaluate(specification, submission) -> Decision``, and the decision in Open Badges 3.0 terms.

How each mode decides (the functions named hold the precise rules):

- outcome based: passed when every required outcome is judged achieved; score = the share of the
  specification's outcomes achieved, in percent (``_outcomes.evaluate_outcomes``).
- prior learning: the same, where an outcome counts as achieved only when it is judged achieved on at least
  ``minimumEvidencePerOutcome`` distinct portfolio items.
- performance standard: total = 100 × Σ(weight × attainment) / Σ weight, attainment being the criterion's
  place on its scale from 0 (lowest level, or min) to 1 (highest level, or max), rounded to 2 decimals;
  passed when total ≥ ``cutScore`` and every must-pass criterion reaches its minimum, whatever the total
  (``_performance.evaluate_performance``).
- simulation: a run passes when it meets every condition stated (mastery score on the scaled score, success,
  completion, duration, metric thresholds); ``best`` passes when any run passes, ``last`` when the last run
  passes, ``all_of_last`` N when there are N runs or more and the last N all pass
  (``_simulation.evaluate_simulation``).

Every decision states the rule it applied in ``scoreRule`` and its reasons in words in ``reasons``.
"""

from __future__ import annotations

import msgspec

from assessment._outcomes import evaluate_outcomes
from assessment._performance import evaluate_performance
from assessment._simulation import evaluate_simulation
from assessment.decision import CriterionResult, Decision, decision_to_json, parse_decision
from assessment.errors import AssessmentError
from assessment.open_badges import to_open_badges
from assessment.specification import (
    OutcomeBasedSpecification,
    PerformanceStandardSpecification,
    PriorLearningSpecification,
    SimulationSpecification,
    Specification,
    parse_specification,
)
from assessment.submission import (
    OutcomeBasedSubmission,
    PerformanceStandardSubmission,
    PriorLearningSubmission,
    SimulationSubmission,
    Submission,
    parse_submission,
)

__all__ = ["CriterionResult", "Decision", "decision_to_json", "evaluate", "parse_decision", "to_open_badges"]


def evaluate(specification: Specification, submission: Submission, *, as_parsed: bool = False) -> Decision:
    """The decision on ``submission`` under ``specification``.

    Both are checked again first, as ``parse_specification`` and ``parse_submission`` check them, so that a
    Struct built by hand that breaks a rule raises AssessmentError rather than yielding a wrong decision.
    Raises AssessmentError, and nothing else, when they do not hold. ``as_parsed``: the caller vouches that both
    are what those two functions returned (the submission parsed under this very specification), unchanged
    since; the check is then skipped, as it could only find what they found.
    """
    if not as_parsed:
        specification, submission = _rechecked(specification, submission)
    match specification, submission:
        case (
            OutcomeBasedSpecification() | PriorLearningSpecification(),
            OutcomeBasedSubmission() | PriorLearningSubmission(),
        ):
            return evaluate_outcomes(specification, submission)
        case PerformanceStandardSpecification(), PerformanceStandardSubmission():
            return evaluate_performance(specification, submission)
        case SimulationSpecification(), SimulationSubmission():
            return evaluate_simulation(specification, submission)
    raise AssessmentError("mode: the submission does not answer the specification")  # parse_submission refuses it


def _rechecked(specification: object, submission: object) -> tuple[Specification, Submission]:
    try:
        specification_json, submission_json = msgspec.to_builtins(specification), msgspec.to_builtins(submission)
    except (TypeError, ValueError, RecursionError) as error:
        raise AssessmentError(f"not a specification and a submission ({error})") from None
    checked = parse_specification(specification_json)
    return checked, parse_submission(checked, submission_json)
