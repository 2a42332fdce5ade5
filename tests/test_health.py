"""Liveness, readiness, and the problem documents every error becomes."""

from __future__ import annotations

import dataclasses

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from domain.db import Database
from tests.conftest import BASE_URL, Bootstrap


async def test_liveness(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {}}
    assert response.headers["x-request-id"]


async def test_readiness_reports_postgres_redis_and_migrations(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok", "migrations": "current"}


async def test_readiness_stays_ready_and_reports_redis_degraded_when_it_is_down(settings: Settings) -> None:
    """The API records without Redis (the outbox keeps the work): a load balancer must not take it out."""
    app = create_app(dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0"))
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/healthz")).status_code == 200  # the API runs without Redis
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"].startswith("degraded: unreachable")
    assert body["checks"]["postgres"] == "ok" and body["checks"]["migrations"] == "current"


async def test_readiness_is_503_naming_postgres_when_it_is_down(settings: Settings) -> None:
    """Unready only for what the API cannot do without: PostgreSQL (the problem names it, Retry-After says when)."""
    async with AsyncTestClient(app=create_app(settings)) as client:
        client.app.state.db.pool.terminate()  # every connection gone, and the pool refuses to make more
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "2"
    assert "postgres unreachable" in response.json()["detail"]


async def test_unknown_url_is_a_problem_document(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/no/such/thing", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-request-id"] == "abc-123"
    problem = response.json()
    assert problem["status"] == 404 and problem["requestId"] == "abc-123"
    assert "/schema" in problem["detail"]


async def test_wrong_method_is_a_problem_document(client: AsyncTestClient[Litestar]) -> None:
    response = await client.delete("/healthz")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_unexpected_failure_is_a_problem_document_without_internals(
    isolated_database_url: str, settings: Settings
) -> None:
    app = create_app(dataclasses.replace(settings, database_url=isolated_database_url))
    async with AsyncTestClient(app=app, base_url=BASE_URL) as client:
        db = await Database.connect(isolated_database_url, min_size=1, max_size=1)
        try:
            reader = await Bootstrap(db, client).integrator(["organisations:read"])
            async with db.transaction() as conn:  # a fault no code path expects
                await conn.execute("ALTER TABLE accreditations RENAME TO accreditations_gone")
        finally:
            await db.close()
        response = await client.get(
            f"/organisations/{reader.org_id}", headers={**reader.headers, "X-Request-ID": "r-500"}
        )
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert "r-500" in problem["detail"] and "accreditations" not in problem["detail"]
