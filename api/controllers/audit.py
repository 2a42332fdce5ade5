"""An organisation's audit trail, for its admins."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request
from litestar.params import FromPath, FromQuery

from api.auth import secured
from api.http import Cursor, Limit
from api.routing import get
from domain import audit


class AuditController(Controller):
    path = "/organisations/{org_id:uuid}/audit"
    tags = ["Audit"]

    @get(
        "/",
        operation_id="listAuditEntries",
        summary="Who did what, when: the organisation's audit trail, newest first (its admins)",
        **secured("organisations:read", roles=["admin"], member_of_path_org=True, errors=[404, 422]),
    )
    async def list(
        self,
        request: Request[Any, Any, Any],
        org_id: FromPath[UUID],
        action: FromQuery[str | None] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> audit.AuditPage:
        return await audit.list_audit(request.app.state.db, org_id, cursor=cursor, limit=limit, action=action)
