"""Recording an attempt: find the unit's specification, check the rules, let the engine decide, store.

Used by the single-attempt endpoint, bulk uploads and simulator statements alike, so that every route
applies the same rules: the enrolment, the assessor's role, the supervision the specification demands,
the maximum number of attempts, and the engine's own checks of the submission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from assessment import (
    AssessmentError,
    Decision,
    Specification,
    Submission,
    decision_to_json,
    evaluate,
    parse_specification,
    parse_submission,
    submission_to_json,
)
from assessment.specification import SimulationSpecification
from assessment.submission import SimulationSubmission
from domain.attempts.models import Attempt, Source
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.sql import load_queries
from domain.writes import Write

q = load_queries(__file__)

# How strong each kind of supervision is; an attempt must be at least as strong as its specification asks.
_SUPERVISION_STRENGTH = {
    "unsupervised": 0,
    "supervised_no_identity_check": 1,
    "supervised_identity_check_online": 2,
    "supervised_identity_check_onsite": 3,
}


@dataclass(frozen=True)
class Recording:
    """Everything an attempt needs besides its submission."""

    provider_id: UUID
    learner_id: UUID
    enrolment_id: UUID
    unit_key: str | None
    assessed_at: datetime
    supervision: str
    source: Source = "api"
    place: str | None = None
    assessor_person_id: UUID | None = None
    evidence: list[Any] = field(default_factory=list)
    batch_id: UUID | None = None
    dedupe_key: str | None = None


@dataclass(frozen=True)
class Recorded:
    attempt_id: UUID
    passed: bool
    decision: Decision
    created: bool  # False when a retry (same dedupe key) found the attempt already recorded
    attempt: Attempt | None = None  # the new record, when created


def supervision_problem(required: str, applied: str) -> str | None:
    if required == "supervised_identity_check_onsite" and applied != required:
        return f"the specification requires {required}; this attempt was {applied}"
    if _SUPERVISION_STRENGTH[applied] < _SUPERVISION_STRENGTH[required]:
        return f"the specification requires at least {required}; this attempt was {applied}"
    return None


def unit_specification(content: dict[str, Any], unit_key: str) -> Specification:
    unit = next((u for u in content.get("units", []) if u.get("key") == unit_key), None)
    if unit is None:
        raise InvalidInput(f"the programme version has no unit {unit_key!r}")
    if unit.get("assessment") is None:
        raise Conflict(f"unit {unit_key!r} has no assessment specification")
    try:
        return parse_specification(unit["assessment"])
    except AssessmentError as exc:  # stored before specifications were checked on save
        raise Conflict(f"unit {unit_key!r} has an invalid assessment specification: {exc}") from exc


async def record(
    w: Write,
    rec: Recording,
    submission_data: object,
    *,
    corrects: UUID | None = None,
    correction_reason: str | None = None,
    attempt_number: int | None = None,
) -> Recorded:
    ctx = await w.conn.fetchrow(
        q.attempt_context, rec.enrolment_id, rec.provider_id, rec.learner_id, rec.unit_key, rec.assessor_person_id
    )
    if ctx is None:
        raise NotFound(f"learner {rec.learner_id} has no enrolment {rec.enrolment_id} at this provider")
    unit_key = resolve_unit_key(rec.unit_key, ctx["enrolled_unit"])
    if rec.unit_key is None:  # counted for the right unit now that it is known
        ctx = await w.conn.fetchrow(
            q.attempt_context, rec.enrolment_id, rec.provider_id, rec.learner_id, unit_key, rec.assessor_person_id
        )
    if not ctx["assessor_ok"]:
        raise Forbidden(f"person {rec.assessor_person_id} is not an assessor of this provider")
    specification = unit_specification(ctx["content"], unit_key)
    if problem := supervision_problem(specification.supervision, rec.supervision):
        raise InvalidInput(problem)
    if (
        corrects is None
        and specification.max_attempts is not None
        and ctx["attempts_used"] >= specification.max_attempts
    ):
        raise Conflict(
            f"learner {rec.learner_id} has used all {specification.max_attempts} attempts at unit {unit_key!r}",
            attemptsUsed=ctx["attempts_used"],
        )
    submission, decision = _decide(specification, submission_data, None if corrects else ctx["latest_submission"])
    inserted = await w.conn.fetchrow(
        q.insert_attempt,
        rec.provider_id,
        rec.learner_id,
        rec.enrolment_id,
        ctx["version_id"],
        unit_key,
        attempt_number or ctx["attempts_used"] + 1,
        rec.assessor_person_id,
        rec.assessed_at,
        rec.place,
        rec.supervision,
        submission_to_json(submission),
        rec.evidence,
        decision_to_json(decision),
        decision.passed,
        corrects,
        correction_reason,
        rec.source,
        rec.batch_id,
        rec.dedupe_key,
        w.actor.client_id,
        w.actor.person_id,
    )
    if inserted is None:  # a conflict on the dedupe key (a re-sent row) or on the corrected attempt
        if corrects is not None:
            raise Conflict(f"attempt {corrects} has already been corrected; correct the latest correction")
        existing = await w.conn.fetchval(q.attempt_by_dedupe_key, rec.provider_id, rec.dedupe_key)
        return Recorded(attempt_id=existing, passed=decision.passed, decision=decision, created=False)
    attempt_id = inserted["id"]
    payload = {
        "attemptId": str(attempt_id),
        "learnerId": str(rec.learner_id),
        "providerId": str(rec.provider_id),
        "programmeId": str(ctx["design_id"]),
        "versionNumber": ctx["number"],
        "unitKey": unit_key,
        "passed": decision.passed,
        "score": decision.score,
        "correctsAttemptId": corrects and str(corrects),
    }
    subject = f"learner/{rec.learner_id}/{ctx['design_id']}/{unit_key}"
    outcome = "attempt.passed" if decision.passed else "attempt.failed"
    await w.emit_many(["attempt.recorded", outcome], subject, rec.provider_id, payload)
    attempt = Attempt(
        id=attempt_id,
        provider_id=rec.provider_id,
        learner_id=rec.learner_id,
        enrolment_id=rec.enrolment_id,
        programme_id=ctx["design_id"],
        version_number=ctx["number"],
        unit_key=unit_key,
        attempt_number=inserted["attempt_number"],
        assessor_person_id=rec.assessor_person_id,
        assessed_at=rec.assessed_at,
        place=rec.place,
        supervision=rec.supervision,
        submission=submission_to_json(submission),
        evidence=rec.evidence,
        decision=decision,
        passed=decision.passed,
        corrects_attempt_id=corrects,
        correction_reason=correction_reason,
        corrected_by=None,
        source=rec.source,
        created_at=inserted["created_at"],
    )
    return Recorded(attempt_id=attempt_id, passed=decision.passed, decision=decision, created=True, attempt=attempt)


def resolve_unit_key(given: str | None, enrolled: str | None) -> str:
    """The unit an attempt is for: the one given, which must be the enrolment's if that names one."""
    if enrolled is not None and given is not None and given != enrolled:
        raise InvalidInput(f"the enrolment is for unit {enrolled!r}, not {given!r}")
    unit_key = given or enrolled
    if unit_key is None:
        raise InvalidInput("the enrolment is for the whole programme: say which unit with unitKey")
    return unit_key


def submission_of(specification: Specification, data: object, latest: object | None) -> Submission:
    """The submission checked against the specification; for a simulation, after the runs of the latest
    standing attempt (``latest``): runs accumulate over attempts, so the run rule sees them all."""
    try:
        submission = parse_submission(specification, data)
        if isinstance(specification, SimulationSpecification) and latest is not None:
            earlier = parse_submission(specification, latest)
            assert isinstance(earlier, SimulationSubmission) and isinstance(submission, SimulationSubmission)
            submission = msgspec.structs.replace(submission, runs=[*earlier.runs, *submission.runs])
    except AssessmentError as exc:
        raise _unfit(exc) from exc
    return submission


def decide(specification: Specification, submission: Submission) -> Decision:
    """The engine's decision; it checks the combined runs again (one actor, in time order), so its
    refusal is the caller's input problem too, never a server error."""
    try:
        return evaluate(specification, submission)
    except AssessmentError as exc:
        raise _unfit(exc) from exc


def _unfit(exc: AssessmentError) -> InvalidInput:
    return InvalidInput(f"the submission does not fit the unit's specification: {exc}", problems=exc.problems)


def _decide(specification: Specification, data: object, latest: object | None) -> tuple[Submission, Decision]:
    submission = submission_of(specification, data, latest)
    return submission, decide(specification, submission)
