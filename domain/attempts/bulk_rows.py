"""The rows of a bulk upload of results: read from JSON, kept until decided, split into chunks.

Every attempt of an upload becomes one ``BulkRow``, whatever its format: a JSON row is one attempt, and
CSV rows that share a learner, programme, unit and assessment time form one (``domain.attempts.csv_rows``).
A row that cannot be read is kept too, with its ``problem``, so that the report names it.
Queued batches keep their rows in ``result_batches.payload`` as these structs' JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from assessment.specification import Supervision
from domain.attempts.models import EvidenceItem
from domain.errors import InvalidInput
from domain.learners.models import ExternalIdentifier
from domain.structs import Input

MAX_ROWS = 50_000  # more than this in one upload is refused (413): split the batch
Format = Literal["json", "csv"]

_MSGSPEC_AT = re.compile(r"^(?P<message>.*) - at `\$\.?(?P<path>[^`]*)`$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_BYTE = re.compile(r"\(byte (\d+)\)")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SCHEME = re.compile(r"^(student_number|national:[A-Z]{2}|[a-z][a-z0-9_.-]{0,40})$")


class MalformedBatch(InvalidInput):
    """The upload cannot be read at all (not JSON or CSV, a missing column); ``line`` says where."""

    title = "Malformed batch"

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message if line is None else f"line {line}: {message}", **({"line": line} if line else {}))
        self.line = line


class TooManyRows(InvalidInput):
    title = "Batch too large"

    def __init__(self, count: int | None = None) -> None:
        counted = f"{count} rows" if count is not None else f"more than {MAX_ROWS} rows"
        super().__init__(f"the batch has {counted}; send at most {MAX_ROWS} rows per batch", maxRows=MAX_ROWS)


class Mark(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One CSV row's part of a submission: a criterion with a level or a value, or an outcome judgement."""

    row: int
    criterion: str | None = None
    level: str | None = None
    value: float | None = None
    outcome: str | None = None
    achieved: bool | None = None
    evidence: str | None = None


class BulkRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One attempt of an upload. ``row`` is its position (JSON: 1-based index; CSV: its first row, the header
    being row 1) and ``rows`` every CSV row it was built from. ``submission`` is a JSON row's; a CSV attempt
    has ``marks`` instead, turned into a submission once the unit's specification says which mode it takes."""

    row: int
    rows: list[int] | None = None
    learner_id: UUID | None = None
    scheme: str | None = None
    value: str | None = None
    enrolment_id: UUID | None = None
    programme_id: UUID | None = None
    unit_key: str | None = None
    assessed_at: datetime | None = None
    supervision: str | None = None
    submission: dict[str, Any] | None = None
    marks: list[Mark] | None = None
    assessor_person_id: UUID | None = None
    place: str | None = None
    evidence: list[Any] = msgspec.field(default_factory=list)
    problem: str | None = None

    def all_rows(self) -> list[int]:
        return self.rows or [self.row]

    def learner_key(self) -> str:
        """Rows of one learner stay in one chunk: their order decides attempt numbers and the attempt limit."""
        return str(self.learner_id) if self.learner_id else f"{self.scheme}:{self.value}"

    def learner_text(self) -> str:
        return str(self.learner_id) if self.learner_id else f"{self.scheme} {self.value!r}"


class ParsedBatch(msgspec.Struct, kw_only=True):
    format: Format
    rows: list[BulkRow]
    rows_total: int  # rows as uploaded: JSON rows, or CSV rows without the header and blank lines


class JsonRow(Input, kw_only=True):
    """One attempt of a JSON batch: the learner by ``learnerId`` or by an identifier at this provider
    (``learner``), and the enrolment by ``enrolmentId`` or by ``programmeId`` (the learner's enrolment in it)."""

    learner_id: UUID | None = None
    learner: ExternalIdentifier | None = None
    enrolment_id: UUID | None = None
    programme_id: UUID | None = None
    unit_key: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    assessed_at: Annotated[datetime, Meta(tz=True)]
    supervision: Supervision
    submission: dict[str, Any]  # the engine's submission for the unit's mode, as for a single attempt
    assessor_person_id: UUID | None = None  # default: the person uploading
    place: Annotated[str, Meta(max_length=500)] | None = None
    evidence: Annotated[list[EvidenceItem], Meta(max_length=100)] = msgspec.field(default_factory=list)


class JsonBatch(Input):
    """A JSON upload: one attempt per row."""

    rows: Annotated[list[JsonRow], Meta(min_length=1, max_length=MAX_ROWS)]


class _RawBatch(msgspec.Struct, forbid_unknown_fields=True):
    # Each row stays raw until decoded on its own, so that one bad row is one rejection, not a refused batch.
    rows: list[msgspec.Raw]


def readable(error: msgspec.ValidationError) -> str:
    """``"Expected `str`, got `int` - at `$.supervision`"`` → ``"supervision: expected `str`, got `int`"``."""
    text = str(error)
    match = _MSGSPEC_AT.match(text)
    message, path = (match["message"], match["path"]) if match else (text, "")
    if missing := _MISSING.match(message):
        message, path = "required, but missing", ".".join(p for p in (path, missing["field"]) if p)
    message = message[:1].lower() + message[1:]
    return f"{path}: {message}" if path else message


def rows_from_json(body: bytes) -> ParsedBatch:
    """The rows of ``{"rows": [...]}``; raises MalformedBatch for JSON that cannot be read as such a batch."""
    try:
        batch = msgspec.json.decode(body, type=_RawBatch)
    except msgspec.ValidationError as exc:
        raise MalformedBatch(f'the body must be {{"rows": [...]}}: {readable(exc)}', 1) from exc
    except msgspec.DecodeError as exc:
        offset = _BYTE.search(str(exc))
        line = body[: int(offset.group(1))].count(b"\n") + 1 if offset else 1
        raise MalformedBatch(f"not valid JSON ({exc})", line) from exc
    if not batch.rows:
        raise MalformedBatch("the batch has no rows", 1)
    if len(batch.rows) > MAX_ROWS:
        raise TooManyRows(len(batch.rows))
    rows = [_json_row(n, raw) for n, raw in enumerate(batch.rows, start=1)]
    return ParsedBatch(format="json", rows=rows, rows_total=len(rows))


def _json_row(n: int, raw: msgspec.Raw) -> BulkRow:
    try:
        data = msgspec.json.decode(raw, type=JsonRow)
    except msgspec.ValidationError as exc:
        return BulkRow(row=n, problem=readable(exc))
    if (data.learner_id is None) == (data.learner is None):
        return BulkRow(row=n, problem="give the learner by learnerId or by learner {scheme, value}, not both")
    if data.enrolment_id is None and data.programme_id is None:
        return BulkRow(row=n, problem="give enrolmentId, or programmeId to use the learner's enrolment in it")
    return BulkRow(
        row=n,
        learner_id=data.learner_id,
        scheme=data.learner.scheme if data.learner else None,
        value=data.learner.value if data.learner else None,
        enrolment_id=data.enrolment_id,
        programme_id=data.programme_id,
        unit_key=data.unit_key,
        assessed_at=data.assessed_at,
        supervision=data.supervision,
        submission=data.submission,
        assessor_person_id=data.assessor_person_id,
        place=data.place,
        evidence=msgspec.to_builtins(data.evidence),
    )


def learner_reference(text: str) -> tuple[UUID | None, str | None, str | None]:
    """A learner id, or ``scheme:value`` (``student_number:S-1``, ``national:DK:0101901234``): the id, or the
    scheme and value. Raises ValueError with a sentence for anything else."""
    if _UUID.match(text):
        return UUID(text), None, None
    if text.startswith("national:"):
        scheme, _, value = text.partition(":")[2].partition(":")
        scheme = f"national:{scheme}"
    else:
        scheme, _, value = text.partition(":")
    if not _SCHEME.match(scheme) or not value or len(value) > 100:
        raise ValueError(f"learner {text!r} is neither a learner id nor 'scheme:value' (e.g. 'student_number:S-1')")
    return None, scheme, value


def chunks(rows: Iterable[BulkRow], size: int) -> list[list[BulkRow]]:
    """The rows in chunks of about ``size`` uploaded rows, each learner's rows together and in upload order,
    so that chunks can be decided in any order (even side by side) with the same result."""
    by_learner: dict[str, list[BulkRow]] = {}
    for row in rows:
        by_learner.setdefault(row.learner_key(), []).append(row)
    result: list[list[BulkRow]] = []
    current: list[BulkRow] = []
    count = 0
    for group in by_learner.values():
        if current and count + sum(len(r.all_rows()) for r in group) > size:
            result.append(current)
            current, count = [], 0
        current.extend(group)
        count += sum(len(r.all_rows()) for r in group)
    if current:
        result.append(current)
    return result
