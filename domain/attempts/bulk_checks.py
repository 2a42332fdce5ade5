"""Deciding one chunk of a bulk upload in Python, once its context is fetched (``bulk.py`` does the I/O).

The rules are a single attempt's (``recording.py``): the learner and the enrolment, the unit's specification,
the assessor's role, the supervision, the attempt limit — counting earlier rows of the same batch — and the
engine's checks of the submission. Two passes: ``check`` needs only the chunk's learners, enrolments and
programme versions and yields each row's dedupe key; ``decide`` then needs what is already recorded (the
attempts used, the attempts those keys name) and runs the engine.

The engine is a pure function of (specification, submission), and batches repeat a few rubric levels many
times over, so parsed submissions and decisions are remembered, keyed by the unit's assessment specification
(its JSON, not its name: a changed specification never meets an old decision): the engine runs once per
distinct submission of a unit, not once per row.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import msgspec

from assessment import Specification, Submission, decision_to_json, submission_to_json
from assessment.specification import (
    OutcomeBasedSpecification,
    PerformanceStandardSpecification,
    PriorLearningSpecification,
    SimulationSpecification,
)
from domain.attempts.bulk_rows import BulkRow, Mark
from domain.attempts.recording import (
    decide,
    resolve_unit_key,
    submission_of,
    supervision_problem,
    unit_specification,
)
from domain.errors import DomainError, InvalidInput

Slot = tuple[UUID, UUID, str]  # learner, programme version, unit: what the attempt limit counts
_MEMO_SIZE = 20_000  # entries per memo; a full memo starts afresh


class _Memo(dict[tuple[bytes, bytes], Any]):
    """Results of the engine's pure functions by (specification digest, submission JSON), within a bound."""

    def remember(self, key: tuple[bytes, bytes], value: Any) -> Any:
        if len(self) >= _MEMO_SIZE:
            self.clear()
        self[key] = value
        return value


_PARSED = _Memo()  # -> (Submission, canonical JSON) or the InvalidInput it raised
_DECIDED = _Memo()  # -> (decision JSON, passed, score)


@dataclass(frozen=True)
class Enrolled:
    id: UUID
    learner_id: UUID
    version_id: UUID
    programme_id: UUID
    version_number: int
    unit_key: str | None


@dataclass(frozen=True)
class ChunkContext:
    """What the chunk's rows need from the database before any of them is checked."""

    learners: dict[str, UUID]  # BulkRow.learner_key() -> learner id
    enrolments: dict[UUID, list[Enrolled]]  # by learner, oldest first
    contents: dict[UUID, dict[str, Any]]  # programme version id -> its content
    assessors: frozenset[UUID]  # the named people who may assess at this provider

    @classmethod
    def from_record(cls, record: Any) -> ChunkContext:
        learners = {(str(v) if s is None else f"{s}:{v}"): UUID(i) for s, v, i in record["learners"]}
        enrolments: dict[UUID, list[Enrolled]] = {}
        for e, learner, version, programme, number, unit in record["enrolments"]:
            item = Enrolled(UUID(e), UUID(learner), UUID(version), UUID(programme), number, unit)
            enrolments.setdefault(item.learner_id, []).append(item)
        contents = {UUID(k): v for k, v in record["contents"].items()}
        return cls(learners, enrolments, contents, frozenset(record["assessors"]))


@dataclass(frozen=True)
class Usage:
    """What is already recorded, read after the chunk's enrolments are locked."""

    attempts_used: dict[Slot, int]
    latest: dict[Slot, Any]  # the standing submission of simulation units: runs accumulate over attempts
    existing: dict[str, UUID]  # dedupe key -> the attempt recorded with it


@dataclass(frozen=True)
class Candidate:
    """A row that passed every check that does not depend on the attempts already recorded."""

    row: BulkRow
    enrolment: Enrolled
    unit_key: str
    specification: Specification
    digest: bytes  # of the specification's JSON: what the memos key on
    submission: Submission
    canonical: bytes  # the submission as sorted JSON: part of the dedupe key, and what is stored
    dedupe_key: str
    assessor_person_id: UUID | None

    @property
    def slot(self) -> Slot:
        return self.enrolment.learner_id, self.enrolment.version_id, self.unit_key


@dataclass(frozen=True)
class Rejected:
    row: BulkRow
    reason: str
    unprocessed: bool = False  # not decided at all (the chunk kept failing): send the row again


@dataclass(frozen=True)
class Duplicate:
    row: BulkRow
    attempt_id: UUID


@dataclass(frozen=True)
class Accepted:
    candidate: Candidate
    attempt_id: UUID
    attempt_number: int
    submission_json: str
    decision_json: str
    passed: bool
    score: float | None


Outcome = Accepted | Duplicate | Rejected


def dedupe_key(
    provider_id: UUID, learner_id: UUID, version_id: UUID, unit_key: str, assessed_at: datetime, canonical: bytes
) -> str:
    """The same row sent again, in any batch, in either format, has the same key: the attempt is recorded once.
    The programme version is part of it, so that a unit key shared by two programmes cannot collide."""
    at = assessed_at.astimezone(UTC).isoformat()
    head = f"bulk|{provider_id}|{learner_id}|{version_id}|{unit_key}|{at}|".encode()
    return hashlib.sha256(head + canonical).hexdigest()


class Checker:
    """Checks and decides the rows of one chunk; remembers specifications, submissions and decisions."""

    def __init__(self, provider_id: UUID, context: ChunkContext, default_assessor: UUID | None) -> None:
        self.provider_id = provider_id
        self.context = context
        self.default_assessor = default_assessor
        self._specifications: dict[tuple[UUID, str], tuple[Specification, bytes] | str] = {}

    def check(self, row: BulkRow) -> Candidate | Rejected:
        if row.problem:
            return Rejected(row, row.problem)
        learner_id = self.context.learners.get(row.learner_key())
        if learner_id is None:
            return Rejected(row, f"there is no learner {row.learner_text()} at this provider")
        enrolment = self._enrolment(row, learner_id)
        if isinstance(enrolment, str):
            return Rejected(row, enrolment)
        try:  # the unit rules of a single attempt
            unit_key = resolve_unit_key(row.unit_key, enrolment.unit_key)
        except InvalidInput as exc:
            return Rejected(row, exc.message)
        assessor = row.assessor_person_id or self.default_assessor
        if assessor is not None and assessor not in self.context.assessors:
            return Rejected(row, f"person {assessor} is not an assessor of this provider")
        found = self._specification(enrolment.version_id, unit_key)
        if isinstance(found, str):
            return Rejected(row, found)
        specification, digest = found
        assert row.supervision is not None
        if problem := supervision_problem(specification.supervision, row.supervision):
            return Rejected(row, problem)
        parsed = _parse(specification, digest, unit_key, row)
        if isinstance(parsed, str):
            return Rejected(row, parsed)
        submission, canonical = parsed
        assert row.assessed_at is not None  # a row without it has a problem
        key = dedupe_key(self.provider_id, learner_id, enrolment.version_id, unit_key, row.assessed_at, canonical)
        return Candidate(row, enrolment, unit_key, specification, digest, submission, canonical, key, assessor)

    def decide(self, items: list[Candidate | Rejected], usage: Usage) -> list[Outcome]:
        """Every row's outcome, in row order: earlier rows of the batch count towards the attempt limit."""
        added: Counter[Slot] = Counter()
        recorded: dict[str, UUID] = {}
        latest: dict[Slot, Any] = {}
        outcomes: list[Outcome] = []
        for item in items:
            if isinstance(item, Rejected):
                outcomes.append(item)
                continue
            earlier = usage.existing.get(item.dedupe_key) or recorded.get(item.dedupe_key)
            if earlier is not None:
                outcomes.append(Duplicate(item.row, earlier))
                continue
            used = usage.attempts_used.get(item.slot, 0) + added[item.slot]
            limit = item.specification.max_attempts
            if limit is not None and used >= limit:
                outcomes.append(
                    Rejected(
                        item.row,
                        f"learner {item.row.learner_text()} has used all {limit} attempts at unit {item.unit_key!r}",
                    )
                )
                continue
            accepted = self._accept(item, used + 1, latest.get(item.slot, usage.latest.get(item.slot)))
            if isinstance(accepted, Rejected):
                outcomes.append(accepted)
                continue
            added[item.slot] += 1
            recorded[item.dedupe_key] = accepted.attempt_id
            if isinstance(item.specification, SimulationSpecification):
                latest[item.slot] = msgspec.json.decode(accepted.submission_json)
            outcomes.append(accepted)
        return outcomes

    def _accept(self, item: Candidate, number: int, standing: Any) -> Accepted | Rejected:
        submission, canonical = item.submission, item.canonical
        if isinstance(item.specification, SimulationSpecification) and standing is not None:
            try:  # the runs of earlier attempts count too, as for a single attempt
                submission = submission_of(item.specification, item.row.submission, standing)
            except InvalidInput as exc:
                return Rejected(item.row, exc.message)
            canonical = msgspec.json.encode(submission_to_json(submission), order="sorted")
        decided = _DECIDED.get((item.digest, canonical))
        if decided is None:
            try:  # the engine checks combined simulation runs again (one actor, in time order)
                decision = decide(item.specification, submission)
            except InvalidInput as exc:
                return Rejected(item.row, exc.message)
            decided = _DECIDED.remember(
                (item.digest, canonical),
                (msgspec.json.encode(decision_to_json(decision)).decode(), decision.passed, decision.score),
            )
        decision_json, passed, score = decided
        return Accepted(item, uuid4(), number, canonical.decode(), decision_json, passed, score)

    def _enrolment(self, row: BulkRow, learner_id: UUID) -> Enrolled | str:
        """The enrolment the row names, or the learner's one enrolment in its programme (and unit)."""
        mine = self.context.enrolments.get(learner_id, [])
        if row.enrolment_id is not None:
            found = next((e for e in mine if e.id == row.enrolment_id), None)
            if found is None:
                return f"learner {row.learner_text()} has no enrolment {row.enrolment_id} at this provider"
            if row.programme_id is not None and found.programme_id != row.programme_id:
                return f"enrolment {found.id} is in programme {found.programme_id}, not {row.programme_id}"
            return found
        fitting = [
            e
            for e in mine
            if e.programme_id == row.programme_id
            and (row.unit_key is None or e.unit_key is None or e.unit_key == row.unit_key)
        ]
        if not fitting:
            unit = f" (unit {row.unit_key!r})" if row.unit_key else ""
            return f"learner {row.learner_text()} is not enrolled in programme {row.programme_id}{unit}"
        closest = [e for e in fitting if e.unit_key is not None and e.unit_key == row.unit_key] or fitting
        if len(closest) > 1:
            versions = ", ".join(str(e.version_number) for e in closest)
            return (
                f"learner {row.learner_text()} has {len(closest)} enrolments in programme {row.programme_id} "
                f"(versions {versions}); say which with enrolmentId"
            )
        return closest[0]

    def _specification(self, version_id: UUID, unit_key: str) -> tuple[Specification, bytes] | str:
        key = (version_id, unit_key)
        if key not in self._specifications:
            content = self.context.contents[version_id]
            try:
                specification = unit_specification(content, unit_key)
            except DomainError as exc:
                self._specifications[key] = exc.message
            else:
                unit = next(u for u in content["units"] if u.get("key") == unit_key)
                digest = hashlib.sha256(msgspec.json.encode(unit["assessment"], order="sorted")).digest()
                self._specifications[key] = specification, digest
        return self._specifications[key]


def _parse(specification: Specification, digest: bytes, unit_key: str, row: BulkRow) -> tuple[Submission, bytes] | str:
    """The row's submission, checked by the engine, and its canonical JSON; or why it is refused."""
    data = row.submission if row.submission is not None else _from_marks(specification, unit_key, row.marks or [])
    if isinstance(data, str):
        return data
    key = (digest, msgspec.json.encode(data))
    found = _PARSED.get(key)
    if found is None:
        try:
            submission = submission_of(specification, data, None)
            found = _PARSED.remember(
                key, (submission, msgspec.json.encode(submission_to_json(submission), order="sorted"))
            )
        except InvalidInput as exc:
            found = _PARSED.remember(key, exc)
    parsed: tuple[Submission, bytes] | InvalidInput = found
    return _located(parsed, row.marks) if isinstance(parsed, InvalidInput) else parsed


def _from_marks(specification: Specification, unit_key: str, marks: list[Mark]) -> dict[str, Any] | str:
    """The submission a CSV attempt's rows make in the unit's mode, or why they cannot make one."""
    if isinstance(specification, PerformanceStandardSpecification):
        if wrong := next((m for m in marks if m.criterion is None), None):
            return f"row {wrong.row}: unit {unit_key!r} is assessed on performance criteria: give a criterion"
        scores = [
            {"criterion": m.criterion, "level": m.level} if m.level else {"criterion": m.criterion, "value": m.value}
            for m in marks
        ]
        return {"mode": "performance_standard", "scores": scores}
    if isinstance(specification, OutcomeBasedSpecification | PriorLearningSpecification):
        if wrong := next((m for m in marks if m.outcome is None), None):
            return f"row {wrong.row}: unit {unit_key!r} is assessed on learning outcomes: give an outcome"
        prior = isinstance(specification, PriorLearningSpecification)
        judgements = [
            {
                "outcome": m.outcome,
                "achieved": m.achieved,
                "evidence": ([{"id": m.evidence, "url": m.evidence}] if prior else [m.evidence]) if m.evidence else [],
            }
            for m in marks
        ]
        return {"mode": specification.__struct_config__.tag, "judgements": judgements}
    return f"unit {unit_key!r} is assessed by simulation: upload its runs as JSON rows or xAPI statements, not CSV"


def _located(exc: InvalidInput, marks: list[Mark] | None) -> str:
    """The engine's problems, each CSV one prefixed with the row it is about where the path names one."""
    problems: list[str] = exc.extra.get("problems") or []
    if not marks or not problems:
        return exc.message
    return "the submission does not fit the unit's specification: " + "; ".join(_at_row(p, marks) for p in problems)


def _at_row(problem: str, marks: list[Mark]) -> str:
    head, bracket, rest = problem.partition("[")
    if head not in ("scores", "judgements") or not bracket:
        return problem
    ref = rest.partition("]")[0]
    if ref.isdigit():
        row = marks[int(ref)].row if int(ref) < len(marks) else None
    else:
        row = next((m.row for m in marks if ref in (m.criterion, m.outcome)), None)
    return f"row {row}: {problem}" if row is not None else problem
