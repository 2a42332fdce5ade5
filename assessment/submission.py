"""Submissions: what an assessor (or a simulator) records for one attempt, tagged by ``mode`` like the
specification it answers.

``outcome_based``
    ``{"mode": "outcome_based", "judgements": [{"outcome": "lo1", "achieved": true, "evidence": ["…id or
    URL…"], "note": "…"}]}`` — every required outcome of the specification must be judged; optional ones may be.
``prior_learning``
    The same, but ``evidence`` lists portfolio items: ``[{"id": "p1", "description"?, "url"?, "sha256"?}]``.
    One item may back several outcomes; wherever it appears, the same ``id`` must carry the same item.
``performance_standard``
    ``{"mode": "performance_standard", "scores": [{"criterion": "bead", "level": "good"}, {"criterion":
    "leak", "value": 7.5}]}`` — every criterion is scored: a rubric criterion with a ``level`` key, a numeric
    one with a ``value`` within its scale.
``simulation``
    ``{"mode": "simulation", "runs": [{"scaledScore"?, "raw"?: {"score", "min"?, "max"?}, "success"?,
    "completion"?, "durationSeconds"?, "metrics": {name: number}, "at"?, "statementId"?, "sessionId"?,
    "actor"?}]}`` — at least one run, in the order they were made (runs with an ``at`` must be in
    chronological order), all by the same actor where one is given. ``assessment.xapi`` builds runs from
    xAPI / cmi5 statements.

``parse_submission`` decodes a submission and checks it against its specification.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from assessment import _convert
from assessment._text import number, quoted
from assessment.errors import AssessmentError, raise_if
from assessment.errors import at as _at
from assessment.specification import (
    HINTS,
    Criterion,
    Key,
    MetricName,
    Number,
    OutcomeBasedSpecification,
    OutcomeSpecification,
    Part,
    PerformanceStandardSpecification,
    PriorLearningSpecification,
    RubricScale,
    Seconds,
    SimulationSpecification,
    Specification,
)

Note = Annotated[str, Meta(max_length=4000)]
EvidenceRef = Annotated[str, Meta(min_length=1, max_length=2000)]
Uri = Annotated[str, Meta(pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", max_length=2000)]


class _Submission(Part, tag_field="mode"):
    pass


class OutcomeJudgement(Part):
    """An assessor's judgement of one learning outcome, with references (ids or URLs) to the evidence."""

    outcome: Key
    achieved: bool
    evidence: Annotated[list[EvidenceRef], Meta(max_length=100)] = msgspec.field(default_factory=list)
    note: Note | None = None


class OutcomeBasedSubmission(_Submission, tag="outcome_based"):
    judgements: Annotated[list[OutcomeJudgement], Meta(max_length=200)]


class PortfolioItem(Part):
    """A piece of evidence the learner submits for recognition of prior learning."""

    id: Annotated[str, Meta(min_length=1, max_length=200)]
    description: Annotated[str, Meta(max_length=4000)] | None = None
    url: Uri | None = None
    sha256: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")] | None = None


class PriorLearningJudgement(Part):
    outcome: Key
    achieved: bool
    evidence: Annotated[list[PortfolioItem], Meta(max_length=100)] = msgspec.field(default_factory=list)
    note: Note | None = None


class PriorLearningSubmission(_Submission, tag="prior_learning"):
    judgements: Annotated[list[PriorLearningJudgement], Meta(max_length=200)]


class CriterionScore(Part):
    """The score of one criterion: ``level`` (a level key) on a rubric, ``value`` on a numeric scale."""

    criterion: Key
    level: Annotated[str, Meta(max_length=64)] | None = None
    value: Number | None = None
    note: Note | None = None


class PerformanceStandardSubmission(_Submission, tag="performance_standard"):
    scores: Annotated[list[CriterionScore], Meta(max_length=200)]


class RawScore(Part):
    """xAPI ``result.score.raw`` with its optional ``min`` and ``max`` (``min < max``, ``min ≤ score ≤ max``)."""

    score: Number
    min: Number | None = None
    max: Number | None = None


class Account(Part):
    home_page: Annotated[str, Meta(min_length=1, max_length=2000)]
    name: Annotated[str, Meta(min_length=1, max_length=300)]


class Agent(Part):
    """The xAPI actor (an Agent) of a run, identified by one of mbox, mbox_sha1sum, openid or account."""

    name: Annotated[str, Meta(max_length=300)] | None = None
    mbox: Annotated[str, Meta(pattern=r"^mailto:\S+$", max_length=2000)] | None = None
    mbox_sha1sum: Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{40}$")] | None = msgspec.field(
        default=None, name="mbox_sha1sum"
    )
    openid: Uri | None = None
    account: Account | None = None

    def identifier(self) -> tuple[str, ...]:
        """The inverse functional identifier(s) given, which two runs of one learner share (the name aside)."""
        parts = (("mbox", self.mbox), ("mbox_sha1sum", self.mbox_sha1sum), ("openid", self.openid))
        found = tuple(f"{kind}={value}" for kind, value in parts if value is not None)
        if self.account is not None:
            found += (f"account={self.account.home_page}|{self.account.name}",)
        return found


class SimulationRun(Part):
    """One run of a simulation, as the simulator reported it."""

    scaled_score: Annotated[float, Meta(ge=-1, le=1)] | None = None
    raw: RawScore | None = None
    success: bool | None = None
    completion: bool | None = None
    duration_seconds: Seconds | None = None
    metrics: Annotated[dict[MetricName, Number], Meta(max_length=200)] = msgspec.field(default_factory=dict)
    at: Annotated[datetime, Meta(tz=True)] | None = None
    statement_id: Annotated[str, Meta(max_length=200)] | None = None
    session_id: Annotated[str, Meta(max_length=2000)] | None = None
    actor: Agent | None = None

    def scaled(self) -> float | None:
        """The scaled score: ``scaledScore`` if reported, else ``(raw − min) / (max − min)`` when the raw score
        has a min and a max; None when neither is known."""
        if self.scaled_score is not None:
            return self.scaled_score
        raw = self.raw
        if raw is None or raw.min is None or raw.max is None or raw.max <= raw.min:
            return None
        return (raw.score - raw.min) / (raw.max - raw.min)


class SimulationSubmission(_Submission, tag="simulation"):
    runs: Annotated[list[SimulationRun], Meta(min_length=1, max_length=1000)]


Submission = OutcomeBasedSubmission | PerformanceStandardSubmission | SimulationSubmission | PriorLearningSubmission


def parse_submission(specification: Specification, data: object) -> Submission:
    """The submission in ``data`` (decoded JSON, or raw JSON as ``bytes``/``str``), checked against
    ``specification``: the same mode; outcomes and criteria that the specification has, each judged or scored
    once; every required outcome judged and every criterion scored; rubric levels on the rubric, numeric
    values within the scale; raw scores within their min and max; runs in chronological order, by one actor;
    each portfolio item listed once per outcome and the same wherever its id appears.
    Raises AssessmentError listing every problem found.
    """
    submission: Submission = _convert.decode(data, Submission, hints=HINTS)
    raise_if(submission_problems(specification, submission))
    return submission


def submission_to_json(submission: Submission) -> dict[str, object]:
    """The submission as decoded JSON (camelCase), which ``parse_submission`` reads back equal."""
    encoded: dict[str, object] = msgspec.to_builtins(submission)
    return encoded


def submission_problems(specification: Specification, submission: Submission) -> list[str]:
    """Every rule of ``parse_submission`` that ``submission`` breaks, beyond its types."""
    match specification, submission:
        case OutcomeBasedSpecification(), OutcomeBasedSubmission():
            return _judgement_problems(specification, submission.judgements)
        case PriorLearningSpecification(), PriorLearningSubmission():
            return _judgement_problems(specification, submission.judgements) + _portfolio_problems(submission)
        case PerformanceStandardSpecification(), PerformanceStandardSubmission():
            return _score_problems(specification, submission)
        case SimulationSpecification(), SimulationSubmission():
            return _run_problems(submission)
    raise AssessmentError(
        _at("mode", f"the specification is {_mode(specification)!r}, the submission {_mode(submission)!r}")
    )


def _mode(value: object) -> str:
    config = getattr(type(value), "__struct_config__", None)
    return str(getattr(config, "tag", type(value).__name__))


def _judgement_problems(
    specification: OutcomeSpecification, judgements: Sequence[OutcomeJudgement | PriorLearningJudgement]
) -> list[str]:
    keys = [o.key for o in specification.outcomes]
    problems = [
        _at(f"judgements[{i}].outcome", f"{j.outcome!r} is not an outcome of the specification ({quoted(keys)})")
        for i, j in enumerate(judgements)
        if j.outcome not in keys
    ]
    counts = Counter(j.outcome for j in judgements)
    problems += [
        _at(f"judgements[{k}]", f"judged {n} times; judge each outcome once") for k, n in counts.items() if n > 1
    ]
    problems += [
        _at("judgements", f"the required outcome {o.key!r} is not judged")
        for o in specification.outcomes
        if o.required and o.key not in counts
    ]
    return problems


def _portfolio_problems(submission: PriorLearningSubmission) -> list[str]:
    problems: list[str] = []
    first: dict[str, tuple[str, PortfolioItem]] = {}
    for judgement in submission.judgements:
        path = f"judgements[{judgement.outcome}].evidence"
        counts = Counter(item.id for item in judgement.evidence)
        problems += [_at(path, f"portfolio item {i!r} is listed {n} times") for i, n in counts.items() if n > 1]
        for item in judgement.evidence:
            outcome, known = first.setdefault(item.id, (judgement.outcome, item))
            if known != item:
                problems.append(
                    _at(
                        f"{path}[{item.id}]",
                        f"differs from the portfolio item with the same id under outcome {outcome!r}",
                    )
                )
    return problems


def _score_problems(
    specification: PerformanceStandardSpecification, submission: PerformanceStandardSubmission
) -> list[str]:
    criteria = {c.key: c for c in specification.criteria}
    counts = Counter(s.criterion for s in submission.scores)
    problems = [_at(f"scores[{k}]", f"scored {n} times; score each criterion once") for k, n in counts.items() if n > 1]
    problems += [_at("scores", f"criterion {k!r} is not scored") for k in criteria if k not in counts]
    for i, score in enumerate(submission.scores):
        criterion = criteria.get(score.criterion)
        if criterion is None:
            known = quoted(criteria)
            problems.append(
                _at(f"scores[{i}].criterion", f"{score.criterion!r} is not a criterion of the specification ({known})")
            )
        else:
            problems += _scale_problems(f"scores[{score.criterion}]", criterion, score)
    return problems


def _scale_problems(path: str, criterion: Criterion, score: CriterionScore) -> list[str]:
    """A rubric criterion is scored with a level of its rubric, a numeric one with a value within its scale."""
    scale, title = criterion.scale, criterion.title
    if isinstance(scale, RubricScale):
        levels = quoted(level.key for level in scale.levels)
        if score.value is not None or score.level is None:
            return [_at(path, f"criterion {title!r} is scored on a rubric: give a level ({levels}), not a value")]
        if all(score.level != level.key for level in scale.levels):
            return [_at(f"{path}.level", f"{score.level!r} is not one of the rubric's levels ({levels})")]
        return []
    bounds = f"{number(scale.min)}–{number(scale.max)}"
    if score.level is not None or score.value is None:
        return [
            _at(path, f"criterion {title!r} is scored on a numeric scale: give a value within {bounds}, not a level")
        ]
    if not scale.min <= score.value <= scale.max:
        return [_at(f"{path}.value", f"{number(score.value)} is outside the scale {bounds}")]
    return []


def _run_problems(submission: SimulationSubmission) -> list[str]:
    problems: list[str] = []
    previous: datetime | None = None
    actor: tuple[str, ...] | None = None
    for i, run in enumerate(submission.runs):
        problems += raw_score_problems(f"runs[{i}].raw", run.raw)
        if run.at is not None:
            if previous is not None and run.at < previous:
                problems.append(_at(f"runs[{i}].at", "the runs are not in chronological order"))
            previous = run.at
        if run.actor is not None:
            if not run.actor.identifier():
                problems.append(_at(f"runs[{i}].actor", "identify the agent by mbox, mbox_sha1sum, openid or account"))
            elif actor is None:
                actor = run.actor.identifier()
            elif run.actor.identifier() != actor:
                problems.append(_at(f"runs[{i}].actor", "the runs are by different actors"))
    return problems


def raw_score_problems(path: str, raw: RawScore | None, score_field: str = "score") -> list[str]:
    """A raw score's ``min`` must be below its ``max``, and the score within them (``path`` is the raw score's,
    ``score_field`` names the score in it)."""
    if raw is None:
        return []
    if raw.min is not None and raw.max is not None and raw.min >= raw.max:
        return [_at(path, f"min {number(raw.min)} must be below max {number(raw.max)}")]
    if raw.min is not None and raw.score < raw.min:
        return [_at(f"{path}.{score_field}", f"{number(raw.score)} is below min {number(raw.min)}")]
    if raw.max is not None and raw.score > raw.max:
        return [_at(f"{path}.{score_field}", f"{number(raw.score)} is above max {number(raw.max)}")]
    return []
