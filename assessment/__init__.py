"""The assessment engine: specifications, evaluation and statement parsing — pure functions, no I/O.

- ``parse_specification(data) -> Specification`` and ``specification_to_json(specification) -> dict``
- ``parse_submission(specification, data) -> Submission`` and ``submission_to_json(submission) -> dict``
- ``evaluate(specification, submission) -> Decision``, ``decision_to_json`` and ``parse_decision``
- ``to_open_badges(specification, decision, *, unit_title) -> (resultDescription[], result[])``
- ``parse_statement(data) -> SimulationRun``, ``parse_statements(data) -> list[SimulationRun]``,
  ``parse_duration(text) -> float`` (xAPI 1.0.3 / cmi5)

Every function that takes outside data raises ``AssessmentError`` (a ``ValueError``) and nothing else.
"""

from assessment.decision import CriterionResult, Decision, decision_to_json, parse_decision
from assessment.errors import AssessmentError
from assessment.evaluation import evaluate
from assessment.open_badges import to_open_badges
from assessment.specification import Specification, parse_specification, specification_to_json
from assessment.submission import SimulationRun, Submission, parse_submission, submission_to_json
from assessment.xapi import parse_duration, parse_statement, parse_statements

__all__ = [
    "AssessmentError",
    "CriterionResult",
    "Decision",
    "SimulationRun",
    "Specification",
    "Submission",
    "decision_to_json",
    "evaluate",
    "parse_decision",
    "parse_duration",
    "parse_specification",
    "parse_statement",
    "parse_statements",
    "parse_submission",
    "specification_to_json",
    "submission_to_json",
    "to_open_badges",
]
