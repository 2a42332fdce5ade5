"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Controller, Request, Response

from api.auth import public
from api.errors import problem_response
from api.routing import get
from domain import migrations


class Health(msgspec.Struct):
    status: str
    checks: dict[str, str] = msgspec.field(default_factory=dict)


class HealthController(Controller):
    tags = ["Operations"]

    @get("/healthz", operation_id="getLiveness", summary="The process is alive", **public())
    async def liveness(self) -> Health:
        return Health(status="ok")

    @get(
        "/readyz",
        operation_id="getReadiness",
        summary="PostgreSQL is reachable and the schema is current; Redis is reported, not required",
        description=(
            "Ready (200) while PostgreSQL answers and the schema is current: the API records without Redis (the "
            "outbox keeps the work, the worker's sweep hands it out once Redis is back), so an unreachable Redis "
            "is reported as `degraded` in `checks.redis` and `status`, not taken out of the load balancer."
        ),
        **public(errors=[503]),
    )
    async def readiness(self, request: Request[Any, Any, Any]) -> Response[Any]:
        state = request.app.state
        checks: dict[str, str] = {}
        try:
            async with asyncio.timeout(2), state.db.connection() as conn:
                current = await migrations.status(conn)
            if current.unknown:
                checks["migrations"] = f"database is ahead of the code ({', '.join(current.unknown)})"
            elif current.pending:
                checks["migrations"] = f"pending: {', '.join(current.pending)}; run `guildhall migrate`"
            checks["postgres"] = "ok"
        except Exception as exc:  # any failure means "not ready"; the message says which
            checks["postgres"] = f"unreachable: {type(exc).__name__}"
        try:
            async with asyncio.timeout(2):
                await state.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"degraded: unreachable ({type(exc).__name__}); writes are kept in the outbox"
        checks.setdefault("migrations", "current" if checks["postgres"] == "ok" else "unknown")
        down = [name for name, value in checks.items() if name != "redis" and value not in ("ok", "current")]
        if down:
            return problem_response(
                503,
                "not ready: " + "; ".join(f"{n} {checks[n]}" for n in down),
                headers={"Retry-After": "2"},
                checks=checks,
            )
        return Response(Health(status="ready" if checks["redis"] == "ok" else "degraded", checks=checks))
