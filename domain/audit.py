"""Reading an organisation's part of the append-only audit trail (writing is in ``domain.writes``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.db import Database
from domain.errors import InvalidInput
from domain.sql import load_queries
from domain.structs import Model, Page, from_row

q = load_queries(__file__, "audit.sql")
_AUDIT_CURSOR = re.compile(r"^[0-9]{1,18}$")  # an entry's id: a PostgreSQL bigint, in ASCII digits


class AuditEntry(Model):
    id: int
    occurred_at: datetime
    organisation_id: UUID | None
    actor_person_id: UUID | None
    actor_client_id: str | None
    action: str
    target_type: str
    target_id: str
    request_id: str | None
    details: dict[str, Any]


class AuditPage(Page):
    items: list[AuditEntry]


async def list_audit(
    db: Database, organisation_id: UUID, *, cursor: str | None, limit: int, action: str | None = None
) -> AuditPage:
    """Newest first; the cursor is the id of the last entry seen."""
    if cursor is not None and not _AUDIT_CURSOR.match(cursor):
        raise InvalidInput("the cursor is not one this API returned; start again without it")
    async with db.connection() as conn:
        rows = await conn.fetch(q.select_audit, organisation_id, int(cursor) if cursor else None, action, limit + 1)
    items = [from_row(AuditEntry, r) for r in rows[:limit]]
    return AuditPage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)
