"""Every guarded route of the API is declared with api.routing's decorators, whose guards get the route handler
itself rather than Litestar's per-request copy of it; the guard then sees the handler's own ``opt``."""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from api.routing import RouteHandler
from tests.conftest import Bootstrap

# Litestar's own handlers: the Prometheus controller's (its one guard, not on any hot path).
LITESTARS_OWN = {"/metrics"}


def test_every_guarded_route_uses_the_decorators_of_api_routing(app: Litestar) -> None:
    guarded = [
        (route.path, handler)
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path not in LITESTARS_OWN
        for handler in route.route_handlers
        if handler.resolve_guards()
    ]
    assert len(guarded) > 100
    assert [path for path, handler in guarded if not isinstance(handler, RouteHandler)] == []


async def test_the_guard_reads_the_handlers_own_opt(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    reader = await bootstrap.integrator(["assessments:read"], kind="vet_provider")
    url = f"/organisations/{reader.org_id}/attempts"
    assert (await client.get(url, headers=reader.headers)).status_code == 200
    refused = await client.post(url, json={}, headers=reader.headers)
    assert refused.status_code == 403, refused.text
    assert "lacks the scope assessments:write" in refused.json()["detail"]
