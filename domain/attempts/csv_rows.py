"""Results uploaded as CSV: one row per learner and criterion (or outcome), grouped into attempts.

The first row names the columns (in any order; names are case-insensitive). UTF-8, comma-separated,
double quotes around fields that hold commas, quotes or line breaks (RFC 4180).

====================  ==========================================================================
Column                Meaning
====================  ==========================================================================
learner               required: a learner id, or ``scheme:value`` of an identifier at this
                      provider, e.g. ``student_number:S-1`` or ``national:DK:0101901234``
programme_id          the programme: the learner's enrolment in it (whole, or in this unit)
enrolment_id          or the enrolment itself; every row needs programme_id or enrolment_id
unit_key              required: the unit assessed
assessed_at           required: ISO 8601 with a timezone, e.g. ``2026-11-20T10:00:00Z``
supervision           required: ``unsupervised``, ``supervised_no_identity_check``,
                      ``supervised_identity_check_online`` or ``supervised_identity_check_onsite``
criterion             a performance criterion's key, with ``level`` or ``value``
level                 the rubric level key reached on the criterion
value                 the number reached on the criterion's numeric scale
outcome               or a learning outcome's key, with ``achieved``
achieved              ``true`` or ``false``: whether the outcome was achieved
evidence              optional: a URL of the evidence for the outcome
assessor_person_id    optional: the assessor (default: the person uploading)
place                 optional: where the assessment took place
====================  ==========================================================================

Rows with the same ``learner``, ``programme_id``, ``enrolment_id``, ``unit_key`` and ``assessed_at`` (the
same text) form one attempt; its mode is the unit's (criteria for a performance standard, outcomes for
outcome-based assessment and recognition of prior learning; simulation runs come as JSON or xAPI). They
must agree on ``supervision``, ``assessor_person_id`` and ``place``. Blank lines are skipped.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from assessment.specification import SUPERVISIONS
from domain.attempts.bulk_rows import (
    MAX_ROWS,
    BulkRow,
    MalformedBatch,
    Mark,
    ParsedBatch,
    TooManyRows,
    learner_reference,
)

# Column -> what it holds; the OpenAPI description of the upload is written from this.
COLUMNS: dict[str, str] = {
    "learner": "required: a learner id, or `scheme:value` of an identifier at this provider "
    "(`student_number:S-1`, `national:DK:0101901234`)",
    "programme_id": "the programme: the learner's enrolment in it (whole, or in this unit) is used",
    "enrolment_id": "or the enrolment itself; every row needs programme_id or enrolment_id",
    "unit_key": "required: the unit assessed",
    "assessed_at": "required: ISO 8601 with a timezone, e.g. `2026-11-20T10:00:00Z`",
    "supervision": "required: `unsupervised`, `supervised_no_identity_check`, "
    "`supervised_identity_check_online` or `supervised_identity_check_onsite`",
    "criterion": "a performance criterion's key, with `level` or `value`",
    "level": "the rubric level key reached on the criterion",
    "value": "the number reached on the criterion's numeric scale",
    "outcome": "or a learning outcome's key, with `achieved`",
    "achieved": "`true` or `false`: whether the outcome was achieved",
    "evidence": "optional: a URL of the evidence for the outcome",
    "assessor_person_id": "optional: the assessor (default: the person uploading)",
    "place": "optional: where the assessment took place",
}
REQUIRED = ("learner", "unit_key", "assessed_at", "supervision")
_ATTEMPT_KEY = ("learner", "programme_id", "enrolment_id", "unit_key", "assessed_at")
_SHARED = ("supervision", "assessor_person_id", "place")  # the same on every row of one attempt
_MAX_FIELD = 2000


@dataclass
class _Line:
    row: int
    values: dict[str, str]
    problems: list[str] = field(default_factory=list)


def rows_from_csv(body: bytes) -> ParsedBatch:
    """The attempts of a CSV upload. Raises MalformedBatch (naming the line) when the text cannot be read
    as CSV with the columns above, TooManyRows over MAX_ROWS rows; every other problem is a row's."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise MalformedBatch("the text is not UTF-8", line) from exc
    records = _records(text)
    header = next(records, None)
    if header is None:
        raise MalformedBatch("the upload is empty; its first row names the columns", 1)
    columns = _columns(header[1])
    lines: list[_Line] = []
    misfits: list[BulkRow] = []
    for row, fields in records:
        if not any(f.strip() for f in fields):
            continue
        if len(lines) + len(misfits) >= MAX_ROWS:
            raise TooManyRows()
        if len(fields) != len(columns):
            misfits.append(BulkRow(row=row, problem=f"{len(fields)} fields, but the header names {len(columns)}"))
            continue
        lines.append(_line(row, dict(zip(columns, (f.strip() for f in fields), strict=True))))
    if not lines and not misfits:
        raise MalformedBatch("the upload has a header but no rows", 2)
    attempts = [_attempt(group) for group in _groups(lines)]
    rows = sorted(attempts + misfits, key=lambda r: r.row)
    return ParsedBatch(format="csv", rows=rows, rows_total=len(lines) + len(misfits))


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with its row number (the header is row 1, every record counts, blank ones too)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    row = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise MalformedBatch(f"not valid CSV ({exc})", reader.line_num or 1) from exc
        row += 1
        yield row, fields


def _columns(header: list[str]) -> list[str]:
    columns = [c.strip().lower() for c in header]
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise MalformedBatch(f"unknown column {unknown[0]!r}; the columns are {', '.join(COLUMNS)}", 1)
    doubled = sorted({c for c in columns if columns.count(c) > 1})
    if doubled:
        raise MalformedBatch(f"column {doubled[0]!r} is named twice", 1)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise MalformedBatch(f"the column {missing[0]!r} is missing; {', '.join(REQUIRED)} are required", 1)
    if "programme_id" not in columns and "enrolment_id" not in columns:
        raise MalformedBatch("name the enrolment: a programme_id or an enrolment_id column is required", 1)
    if "criterion" not in columns and "outcome" not in columns:
        raise MalformedBatch("a criterion or an outcome column is required", 1)
    return columns


def _line(row: int, values: dict[str, str]) -> _Line:
    line = _Line(row, values)
    long = [c for c, v in values.items() if len(v) > _MAX_FIELD]
    if long:
        line.problems.append(f"{long[0]} is longer than {_MAX_FIELD} characters")
        line.values = {c: v[:_MAX_FIELD] for c, v in values.items()}
    return line


def _groups(lines: list[_Line]) -> list[list[_Line]]:
    groups: dict[tuple[str, ...], list[_Line]] = {}
    for line in lines:
        groups.setdefault(tuple(line.values.get(c, "") for c in _ATTEMPT_KEY), []).append(line)
    return list(groups.values())


def _attempt(group: list[_Line]) -> BulkRow:
    """One attempt from its rows; the rows' problems, each named by its row, reject it as a whole."""
    first = group[0].values
    rows = [line.row for line in group]
    problems = [f"row {line.row}: {p}" for line in group for p in line.problems]
    attempt = BulkRow(row=rows[0], rows=rows, unit_key=first["unit_key"] or None)
    for name in _SHARED:
        differing = next((line for line in group if line.values.get(name, "") != first.get(name, "")), None)
        if differing is not None:
            problems.append(f"rows {rows[0]} and {differing.row} of one attempt give different {name}")
    problems += _read_attempt(attempt, first)
    marks: list[Mark] = []
    for line in group:
        mark, problem = _mark(line)
        if problem:
            problems.append(f"row {line.row}: {problem}")
        elif mark is not None:
            marks.append(mark)
    attempt.marks = marks
    if problems:
        return BulkRow(row=rows[0], rows=rows, problem="; ".join(problems))
    return attempt


def _read_attempt(attempt: BulkRow, values: dict[str, str]) -> list[str]:
    """Fills the attempt's own fields from its first row; returns what is wrong with them."""
    problems: list[str] = []
    try:
        attempt.learner_id, attempt.scheme, attempt.value = learner_reference(values["learner"])
    except ValueError as exc:
        problems.append(str(exc) if values["learner"] else "learner is missing")
    for name in ("programme_id", "enrolment_id", "assessor_person_id"):
        if text := values.get(name, ""):
            try:
                setattr(attempt, name, UUID(text))
            except ValueError:
                problems.append(f"{name} {text!r} is not a UUID")
    if not attempt.programme_id and not attempt.enrolment_id:
        problems.append("give programme_id or enrolment_id")
    if not attempt.unit_key:
        problems.append("unit_key is missing")
    attempt.assessed_at, problem = _instant(values["assessed_at"])
    if problem:
        problems.append(problem)
    if values["supervision"] in SUPERVISIONS:
        attempt.supervision = values["supervision"]
    else:
        problems.append(f"supervision {values['supervision']!r} is not one of {', '.join(SUPERVISIONS)}")
    attempt.place = values.get("place") or None
    if attempt.place and len(attempt.place) > 500:
        problems.append("place is longer than 500 characters")
    return problems


def _instant(text: str) -> tuple[datetime | None, str | None]:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, f"assessed_at {text!r} is not an ISO 8601 date and time"
    if moment.tzinfo is None:
        return None, f"assessed_at {text!r} has no timezone; add one, e.g. Z for UTC"
    return moment, None


def _mark(line: _Line) -> tuple[Mark | None, str | None]:
    """The row's criterion score or outcome judgement, or what is wrong with it."""
    v = line.values
    criterion, outcome = v.get("criterion", ""), v.get("outcome", "")
    if bool(criterion) == bool(outcome):
        return None, "give a criterion or an outcome (one per row)"
    if criterion:
        level, value = v.get("level", ""), v.get("value", "")
        if bool(level) == bool(value):
            return None, f"give criterion {criterion!r} a level or a value (one of them)"
        if level:
            return Mark(row=line.row, criterion=criterion, level=level), None
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            return None, f"value {value!r} of criterion {criterion!r} is not a number"
        return Mark(row=line.row, criterion=criterion, value=number), None
    achieved = v.get("achieved", "").lower()
    if achieved not in ("true", "false"):
        return None, f"achieved of outcome {outcome!r} must be true or false, not {v.get('achieved', '')!r}"
    return Mark(row=line.row, outcome=outcome, achieved=achieved == "true", evidence=v.get("evidence") or None), None
