"""Recording an attempt: find the unit's specification, check the rules, let the engine decide, store.

Used by the single-attempt endpoint, bulk uploads and simulator statements alike, so that every route
applies the same rules: the enrolment, the assessor's role, the supervision the specification demands,
the maximum number of attempts, and the engine's own checks of the submission.

Two statements in the caller's transaction: ``attempt_context`` locks the enrolment and reads what the checks
need; ``store_attempt`` writes the attempt, its outbox events and its audit entry. Attempts at one enrolment are
serialised by that lock, but the first statement's snapshot predates any wait for it, so the second one — a
later snapshot, under the lock — counts the attempts (number, maximum) and checks that the latest standing one
is still the one the decision saw; if not, the context is read again (now fresh) and the attempt decided anew.

``record_known`` is the short way for the common case: when this process already holds the unit's specification,
the engine decides first and one call of the function ``record_attempt_at_once`` confirms the caller's access
token when the guard did not (``Actor.token_to_confirm``), answers a request whose ``Idempotency-Key`` was stored
already, locks and checks the enrolment, counts against the unit's maximum, checks that a simulation's runs were
added to the latest standing attempt, stores, and keeps the answer under the key, in a transaction of its own (one
round trip instead of seven with a key, eight with the token's; recordings that wait at the same moment share a
call of ``record_attempts_at_once``, ``batching.py``, whose keys keep the attempt by reference: ``recorded_answer``
renders it for a retry). Anything that does not check out there goes the usual way, which says what is wrong; so does a
retry that meets its original still being written (the key's primary key refuses the second answer, which undoes
the whole recording).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from uuid import UUID, uuid4

import asyncpg
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
from domain.attempts import batching
from domain.attempts.models import Attempt, Source
from domain.db import Connection, Database
from domain.errors import Conflict, Forbidden, IdempotencyKeyReused, InvalidInput, NotFound, Unauthenticated
from domain.sql import load_queries
from domain.structs import from_row
from domain.writes import TOKEN_NOT_LIVE, Actor, EventDispatcher, IdempotencyKey, Write, dispatch_after_commit

q = load_queries(__file__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

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


@dataclass(frozen=True)
class AuditEntry:
    """The audit entry an attempt is written with; ``passed`` (the decision's) is added to its details."""

    action: str
    details: dict[str, Any]


class _Specifications:
    """The unit specifications of published programme versions, parsed once per process.

    A published version never changes (a trigger refuses it), so its specifications are kept by version id,
    with the version each enrolment was last seen in: an attempt then reads neither the content nor parses
    it again. Bounded: a full table starts afresh.
    """

    limit = 20_000

    def __init__(self) -> None:
        self.by_unit: dict[tuple[UUID, str], Specification] = {}
        self.version_of: dict[UUID, UUID] = {}  # enrolment -> version
        self.programme_of: dict[UUID, tuple[UUID, int]] = {}  # version -> (programme, version number)
        # (enrolment, unit) -> the latest standing attempt this process stored there and its submission (a
        # simulation's runs so far); record_attempt_at_once checks it is still the latest before storing.
        self.latest: dict[tuple[UUID, str], tuple[UUID, object]] = {}

    def known(self, enrolment_id: UUID, unit_key: str | None) -> tuple[UUID, Specification] | None:
        version_id = self.version_of.get(enrolment_id)
        if version_id is None or unit_key is None:
            return None
        specification = self.by_unit.get((version_id, unit_key))
        return None if specification is None else (version_id, specification)

    def keep(
        self,
        enrolment_id: UUID,
        version_id: UUID,
        unit_key: str,
        specification: Specification,
        programme: tuple[UUID, int],
    ) -> None:
        for table in (self.by_unit, self.version_of, self.programme_of, self.latest):
            if len(table) >= self.limit:
                table.clear()
        self.by_unit[(version_id, unit_key)] = specification
        self.version_of[enrolment_id] = version_id
        self.programme_of[version_id] = programme

    def keep_latest(self, enrolment_id: UUID, unit_key: str, attempt_id: UUID, submission: object) -> None:
        if len(self.latest) >= self.limit:
            self.latest.clear()
        self.latest[(enrolment_id, unit_key)] = (attempt_id, submission)


_specifications = _Specifications()


@dataclass(frozen=True)
class _Context:
    version_id: UUID
    design_id: UUID
    number: int
    unit_key: str
    specification: Specification
    attempts_used: int | None  # read when the unit has a maximum (store_attempt counts again, exactly)
    latest_id: UUID | None  # the latest standing attempt (store_attempt checks it is still the latest)
    latest_submission: object | None  # its submission, read when runs accumulate (simulations)


async def _context(conn: Connection, rec: Recording, *, runs: bool) -> _Context:
    """The enrolment's context, its row locked; ``runs``: the latest standing submission is wanted when the
    unit turns out to be a simulation. One round trip, two on a whole-programme enrolment without unitKey."""
    unit_key, force_latest = rec.unit_key, False
    while True:
        known = _specifications.known(rec.enrolment_id, unit_key)
        held, cached = (known[0], known[1]) if known is not None else (None, None)
        # The attempts are read with the context when the unit has a maximum (checked early, before the
        # submission), when runs accumulate (a simulation), and while the unit's specification is not known.
        plain = not (
            cached is None
            or force_latest
            or cached.max_attempts is not None
            or (runs and isinstance(cached, SimulationSpecification))
        )
        ctx = await conn.fetchrow(
            q.attempt_context if plain else q.attempt_context_with_usage,
            rec.enrolment_id,
            rec.provider_id,
            rec.learner_id,
            unit_key,
            rec.assessor_person_id,
            held,
        )
        if ctx is None:
            raise NotFound(f"learner {rec.learner_id} has no enrolment {rec.enrolment_id} at this provider")
        resolved = resolve_unit_key(rec.unit_key, ctx["enrolled_unit"])
        if unit_key is None:  # read again for the right unit now that it is known
            unit_key = resolved
            continue
        if not ctx["assessor_ok"]:
            raise Forbidden(f"person {rec.assessor_person_id} is not an assessor of this provider")
        if ctx["content"] is None:  # the version we hold
            assert cached is not None
            specification = cached
        else:
            specification = unit_specification(ctx["content"], unit_key)
            if ctx["published"]:
                programme = (ctx["design_id"], ctx["number"])
                _specifications.keep(rec.enrolment_id, ctx["version_id"], unit_key, specification, programme)
            if runs and plain and isinstance(specification, SimulationSpecification):
                force_latest = True  # the enrolment is in another version than last seen, a simulation
                continue
        return _Context(
            version_id=ctx["version_id"],
            design_id=ctx["design_id"],
            number=ctx["number"],
            unit_key=unit_key,
            specification=specification,
            attempts_used=ctx["attempts_used"],
            latest_id=ctx["latest_id"],
            latest_submission=ctx["latest_submission"],
        )


# A stale context is read again under the enrolment's lock, so a second try finds it fresh.
_TRIES = 3


async def record(
    w: Write,
    rec: Recording,
    submission_data: object,
    *,
    corrects: UUID | None = None,
    correction_reason: str | None = None,
    attempt_number: int | None = None,
    audit: AuditEntry | None = None,
) -> Recorded:
    """Checks, decides and stores one attempt with its ``attempt.recorded`` and ``attempt.passed``/``.failed``
    events (and ``audit``, if given) in ``w``'s transaction: two round trips."""
    runs = corrects is None  # a correction replaces its attempt's submission; it does not add runs to it
    for _ in range(_TRIES):
        ctx = await _context(w.conn, rec, runs=runs)
        specification, unit_key = ctx.specification, ctx.unit_key
        if problem := supervision_problem(specification.supervision, rec.supervision):
            raise InvalidInput(problem)
        limit = None if corrects is not None else specification.max_attempts
        if limit is not None and ctx.attempts_used is not None and ctx.attempts_used >= limit:
            raise _used_up(rec, limit, unit_key, ctx.attempts_used)
        submission, decision = _decide(specification, submission_data, ctx.latest_submission if runs else None)
        new = _NewAttempt(rec, ctx.version_id, ctx.design_id, ctx.number, unit_key, submission, decision)
        stored = await w.conn.fetchrow(
            q.store_attempt,
            *new.columns(w.actor, attempt_number if corrects is not None else None, corrects, correction_reason),
            limit,
            ctx.latest_id,
            *new.events_and_audit(w.actor, audit, corrects),
            False,  # attempt_context locked the enrolment
        )
        if not stored["fresh"]:
            continue  # another attempt came in while the context waited for the lock: read it again
        if not stored["within_limit"]:
            assert limit is not None
            raise _used_up(rec, limit, unit_key, stored["used"])
        if stored["id"] is None:  # a conflict on the dedupe key (a re-sent row) or on the corrected attempt
            if corrects is not None:
                raise Conflict(f"attempt {corrects} has already been corrected; correct the latest correction")
            existing = await w.conn.fetchval(q.attempt_by_dedupe_key, rec.provider_id, rec.dedupe_key)
            return Recorded(attempt_id=existing, passed=decision.passed, decision=decision, created=False)
        w.event_ids.extend(stored["event_ids"])
        if isinstance(specification, SimulationSpecification):  # what the short way adds the next runs to
            if corrects is None:
                _specifications.keep_latest(rec.enrolment_id, unit_key, new.attempt_id, new.submission_json)
            else:
                _specifications.latest.pop((rec.enrolment_id, unit_key), None)
        return new.recorded(stored, corrects, correction_reason)
    raise Conflict(f"attempts at unit {rec.unit_key!r} are being recorded for this learner right now; send it again")


async def record_known(
    db: Database,
    actor: Actor,
    rec: Recording,
    submission_data: object,
    audit: AuditEntry,
    dispatcher: EventDispatcher | None = None,
    idempotency: IdempotencyKey | None = None,
) -> Attempt | None:
    """``record`` in one round trip, in a transaction of its own, when this process holds the specification of
    the enrolment's unit: the function ``record_attempt_at_once`` looks the ``Idempotency-Key`` (if any) up, locks
    and checks the enrolment, counts the attempts against the unit's maximum, checks that the latest standing
    attempt is the one a simulation's runs were added to, stores, and stores the answer under the key. A key used
    before answers what was stored (or IdempotencyKeyReused for another request). None when this process does not
    hold what is needed, when the enrolment, its version, the assessor, the supervision, the submission, the maximum
    or the latest attempt does not check out, or when the key's original committed while this one was written: the
    caller then records the usual way, which says precisely what is wrong, in the usual order (or replays)."""
    known = _specifications.known(rec.enrolment_id, rec.unit_key)
    if known is None or rec.dedupe_key is not None or rec.unit_key is None:
        return None
    version_id, specification = known
    programme = _specifications.programme_of.get(version_id)
    if programme is None or supervision_problem(specification.supervision, rec.supervision):
        return None
    runs = isinstance(specification, SimulationSpecification)
    latest_id, latest_submission = _specifications.latest.get((rec.enrolment_id, rec.unit_key), (None, None))
    try:
        submission, decision = _decide(specification, submission_data, latest_submission if runs else None)
    except InvalidInput:
        return None
    new = _NewAttempt(rec, version_id, *programme, rec.unit_key, submission, decision)
    batched = specification.max_attempts is None and not runs
    parameters = (
        *new.columns_at_once(actor),
        specification.max_attempts,
        runs,
        latest_id,
        *new.events_and_audit(actor, audit, None),
        *((idempotency.scope, idempotency.key, idempotency.fingerprint) if idempotency else (None, None, None)),
        new.answer(actor) if idempotency and not batched else None,  # a batch keeps the attempt as the answer
        actor.token_to_confirm,
    )
    try:
        stored = await _at_once(db, parameters, batched=batched)
    except asyncpg.UniqueViolationError as e:
        if e.constraint_name != "idempotency_keys_pkey":
            raise
        return None  # its key's original committed meanwhile: nothing stored, the usual way replays the answer
    if not stored["token_live"]:
        raise Unauthenticated(TOKEN_NOT_LIVE)
    if stored["replayed"]:
        return await _replayed(db, rec.provider_id, stored, idempotency)
    if stored["id"] is None:  # nothing written
        if not stored["fresh"]:
            _specifications.latest.pop((rec.enrolment_id, rec.unit_key), None)
        return None
    if runs:
        _specifications.keep_latest(rec.enrolment_id, rec.unit_key, new.attempt_id, new.submission_json)
    await dispatch_after_commit(dispatcher or db.dispatcher, stored["event_ids"])
    return new.attempt(stored, None, None)


async def _replayed(
    db: Database, provider_id: UUID, stored: Mapping[str, Any], idempotency: IdempotencyKey | None
) -> Attempt | None:
    """The answer kept under the key the short way found used, or None for the usual way to replay it."""
    if not stored["same_request"]:
        raise IdempotencyKeyReused(
            f"the Idempotency-Key {idempotency and idempotency.key!r} was already used for a different "
            "request; use a new key for a new request"
        )
    if stored["response"] is not None:
        return msgspec.convert(stored["response"], Attempt, strict=False)
    if (record_id := stored.get("record_id")) is None:
        return None
    async with db.connection() as conn:  # kept by reference (a batch's key): the attempt is the answer
        return await recorded_answer(conn, provider_id, record_id)


async def fetch_attempt(conn: Connection, provider_id: UUID | None, attempt_id: UUID) -> Attempt:
    rows = await conn.fetch(q.select_attempts, provider_id, attempt_id, None, None, None, None, 1)
    if not rows:
        raise NotFound(f"there is no attempt {attempt_id} at this provider")
    return from_row(Attempt, rows[0])


async def recorded_answer(conn: Connection, provider_id: UUID, attempt_id: UUID) -> Attempt:
    """The answer an attempt's recording gave, for a retry of it: the attempt as stored (it never changes), before
    any correction of it."""
    return msgspec.structs.replace(await fetch_attempt(conn, provider_id, attempt_id), corrected_by=None)


async def _at_once(db: Database, parameters: tuple[Any, ...], *, batched: bool) -> Mapping[str, Any]:
    """``record_attempt_at_once``'s row; ``batched``: in a call shared with the recordings that wait at the same
    moment (domain/attempts/batching.py), which takes only attempts that neither count against a maximum nor add
    a simulation's runs."""
    if batched:
        return await batching.for_database(db).record(parameters)
    async with db.connection() as conn:
        stored: Mapping[str, Any] | None = await conn.fetchrow(q.record_attempt_at_once, *parameters)
    assert stored is not None
    return stored


@dataclass(frozen=True)
class _NewAttempt:
    """An attempt about to be stored: the columns of ``store_attempt`` it fills, and the record once stored."""

    rec: Recording
    version_id: UUID
    design_id: UUID
    number: int
    unit_key: str
    submission: Submission
    decision: Decision
    attempt_id: UUID = field(default_factory=uuid4)

    @cached_property
    def submission_json(self) -> dict[str, Any]:
        return submission_to_json(self.submission)

    def columns(
        self, actor: Actor, attempt_number: int | None, corrects: UUID | None, correction_reason: str | None
    ) -> tuple[Any, ...]:
        """``store_attempt``'s $1 to $22."""
        rec = self.rec
        return (
            self.attempt_id, rec.provider_id, rec.learner_id, rec.enrolment_id, self.version_id, self.unit_key,
            attempt_number, rec.assessor_person_id, rec.assessed_at, rec.place, rec.supervision,
            self.submission_json, rec.evidence, decision_to_json(self.decision), self.decision.passed,
            corrects, correction_reason, rec.source, rec.batch_id, rec.dedupe_key, actor.client_id, actor.person_id,
        )  # fmt: skip

    def columns_at_once(self, actor: Actor) -> tuple[Any, ...]:
        """``record_attempt_at_once``'s $1 to $17."""
        rec = self.rec
        return (
            self.attempt_id, rec.provider_id, rec.learner_id, rec.enrolment_id, self.version_id, self.unit_key,
            rec.assessor_person_id, rec.assessed_at, rec.place, rec.supervision, self.submission_json, rec.evidence,
            decision_to_json(self.decision), self.decision.passed, rec.source, actor.client_id, actor.person_id,
        )  # fmt: skip

    def answer(self, actor: Actor) -> Attempt:
        """The answer stored under an Idempotency-Key (the jsonb codec encodes the Struct), but for the attempt's
        number and time, placeholders here, which ``record_attempt_at_once`` sets as the usual way's
        ``Write.remember`` would have stored them."""
        return self.attempt({"attempt_number": 0, "created_at": _EPOCH}, None, None)

    def events_and_audit(self, actor: Actor, audit: AuditEntry | None, corrects: UUID | None) -> tuple[Any, ...]:
        """``store_attempt``'s $25 to $30 (``record_attempt_at_once``'s $21 to $26): the decision's topic, the
        events' subject, the audit action, the events' payload, the request id, the audit details."""
        rec, passed = self.rec, self.decision.passed
        payload = {  # UUIDs as they are: the jsonb codec (msgspec) writes them as the canonical strings, in C
            "attemptId": self.attempt_id,
            "learnerId": rec.learner_id,
            "providerId": rec.provider_id,
            "programmeId": self.design_id,
            "versionNumber": self.number,
            "unitKey": self.unit_key,
            "passed": passed,
            "score": self.decision.score,
            "correctsAttemptId": corrects,
        }
        return (
            "attempt.passed" if passed else "attempt.failed",
            f"learner/{rec.learner_id}/{self.design_id}/{self.unit_key}",
            audit and audit.action,
            payload,
            actor.request_id,
            audit and {**audit.details, "passed": passed},
        )

    def attempt(self, stored: Mapping[str, Any], corrects: UUID | None, correction_reason: str | None) -> Attempt:
        rec, decision = self.rec, self.decision
        return Attempt(
            id=self.attempt_id,
            provider_id=rec.provider_id,
            learner_id=rec.learner_id,
            enrolment_id=rec.enrolment_id,
            programme_id=self.design_id,
            version_number=self.number,
            unit_key=self.unit_key,
            attempt_number=stored["attempt_number"],
            assessor_person_id=rec.assessor_person_id,
            assessed_at=rec.assessed_at,
            place=rec.place,
            supervision=rec.supervision,
            submission=self.submission_json,
            evidence=rec.evidence,
            decision=decision,
            passed=decision.passed,
            corrects_attempt_id=corrects,
            correction_reason=correction_reason,
            corrected_by=None,
            source=rec.source,
            created_at=stored["created_at"],
        )

    def recorded(self, stored: Mapping[str, Any], corrects: UUID | None, correction_reason: str | None) -> Recorded:
        return Recorded(
            attempt_id=self.attempt_id,
            passed=self.decision.passed,
            decision=self.decision,
            created=True,
            attempt=self.attempt(stored, corrects, correction_reason),
        )


def _used_up(rec: Recording, limit: int, unit_key: str, used: int) -> Conflict:
    return Conflict(f"learner {rec.learner_id} has used all {limit} attempts at unit {unit_key!r}", attemptsUsed=used)


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


def decide(specification: Specification, submission: Submission, *, as_parsed: bool = False) -> Decision:
    """The engine's decision; it checks the combined runs again (one actor, in time order), so its
    refusal is the caller's input problem too, never a server error. ``as_parsed``: as ``evaluate``'s."""
    try:
        return evaluate(specification, submission, as_parsed=as_parsed)
    except AssessmentError as exc:
        raise _unfit(exc) from exc


def _unfit(exc: AssessmentError) -> InvalidInput:
    return InvalidInput(f"the submission does not fit the unit's specification: {exc}", problems=exc.problems)


def _decide(specification: Specification, data: object, latest: object | None) -> tuple[Submission, Decision]:
    submission = submission_of(specification, data, latest)
    # The specification is parse_specification's (kept unchanged by _Specifications), the submission
    # parse_submission's, but for a simulation's runs added to earlier ones: the engine checks those again.
    combined = isinstance(specification, SimulationSpecification) and latest is not None
    return submission, decide(specification, submission, as_parsed=not combined)
