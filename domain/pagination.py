"""Keyset (cursor) pagination over ``(created_at, id)``: stable while rows are added."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from domain.errors import InvalidInput

MAX_LIMIT = 100
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


def encode_cursor(created_at: datetime, row_id: Any) -> str:
    raw = msgspec.json.encode([created_at.isoformat(), str(row_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, uuid_key: bool = True) -> tuple[datetime, str] | None:
    """The position a cursor names; ``uuid_key`` when the rows' key is a UUID (their ``id``), not text."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = msgspec.json.decode(raw, type=tuple[AwareDatetime, str])
        # A hand-made cursor can name a time PostgreSQL cannot hold, or a key that is no UUID.
        created_at = created_at.astimezone(UTC)
        if uuid_key:
            row_id = str(UUID(row_id))
    except (ValueError, OverflowError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidInput("the cursor is not one this API returned; start again without it") from exc
    return created_at, row_id


def next_cursor(rows: list[Any], limit: int, key: str = "id", at: str = "created_at") -> str | None:
    """The cursor after the last row, if a further row was fetched (queries fetch limit + 1)."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor(last[at], last[key])
