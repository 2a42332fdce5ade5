"""The report of a bulk upload of results, as the API returns it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from domain.structs import Model

BatchStatus = Literal["queued", "running", "done", "failed"]


class RowOutcome(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """What became of one attempt of a batch, as kept in ``result_batches.rejections`` (which holds every
    row's outcome, not only the rejections): recorded, already recorded, or rejected."""

    row: int
    rows: list[int] | None = None
    attempt_id: UUID | None = None
    passed: bool | None = None
    duplicate_of: UUID | None = None
    reason: str | None = None
    unprocessed: bool = False


class RecordedRow(Model, omit_defaults=True):
    row: int
    attempt_id: UUID
    passed: bool
    rows: list[int] | None = None  # CSV: every row of the attempt


class DuplicateRow(Model, omit_defaults=True):
    """A row recorded before (in this batch or another): nothing was recorded twice."""

    row: int
    duplicate_of: UUID
    rows: list[int] | None = None


class RejectedRow(Model, omit_defaults=True):
    row: int
    reason: str
    rows: list[int] | None = None
    unprocessed: bool = False  # not decided at all (the batch failed); send the row again


class ResultBatch(Model):
    """A bulk upload and its progress. ``accepted`` and ``rejected`` count uploaded rows (for CSV, every row of
    an attempt); the lists are there once the batch is done (or failed), sorted by row."""

    id: UUID
    format: Literal["json", "csv"]
    status: BatchStatus
    rows_total: int
    rows_done: int
    accepted: int
    rejected: int
    recorded: list[RecordedRow] | None
    already_recorded: list[DuplicateRow] | None
    rejections: list[RejectedRow] | None
    created_at: datetime
    finished_at: datetime | None


def report(batch: Mapping[str, Any], outcomes: list[RowOutcome] | None) -> ResultBatch:
    """The batch (a ``result_batches`` record) with its outcomes sorted into the three lists, or None for
    each while it is not finished."""
    ordered = sorted(outcomes, key=lambda o: o.row) if outcomes is not None else None
    return ResultBatch(
        id=batch["id"],
        format=batch["format"],
        status=batch["status"],
        rows_total=batch["rows_total"],
        rows_done=batch["rows_done"],
        accepted=batch["accepted"],
        rejected=batch["rejected"],
        recorded=None
        if ordered is None
        else [
            RecordedRow(row=o.row, attempt_id=o.attempt_id, passed=bool(o.passed), rows=o.rows)
            for o in ordered
            if o.attempt_id is not None
        ],
        already_recorded=None
        if ordered is None
        else [
            DuplicateRow(row=o.row, duplicate_of=o.duplicate_of, rows=o.rows)
            for o in ordered
            if o.duplicate_of is not None
        ],
        rejections=None
        if ordered is None
        else [
            RejectedRow(row=o.row, reason=o.reason, rows=o.rows, unprocessed=o.unprocessed)
            for o in ordered
            if o.reason is not None
        ],
        created_at=batch["created_at"],
        finished_at=batch["finished_at"],
    )
