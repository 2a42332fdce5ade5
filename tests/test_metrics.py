"""Request metrics: Litestar's series, counted at the edge and read by /metrics."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import CollectorRegistry, generate_latest

from api.metrics import RequestMetrics


def _sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` whose labels include ``labels``; None if there is none."""
    for line in text.splitlines():
        found = re.match(r"^(\w+)\{(.*)\} (\S+)$", line)
        if found is None or found.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(2)))
        if all(have.get(k) == v for k, v in labels.items()):
            return float(found.group(3))
    return None


def _exposition(metrics: RequestMetrics) -> str:
    registry = CollectorRegistry()
    registry.register(metrics)
    return generate_latest(registry).decode()


def test_a_duration_counts_in_every_bucket_from_the_first_bound_it_does_not_exceed() -> None:
    metrics = RequestMetrics()
    for seconds, status in ((0.005, 201), (0.0051, 201), (0.3, 201), (42.0, 201), (0.02, 503)):
        scope = {"method": "POST", "path_template": "/organisations/{org_id:uuid}/attempts"}
        metrics.enter(scope)
        metrics.leave(scope, status, seconds)
    text = _exposition(metrics)
    route = {"method": "POST", "path": "/organisations/{org_id:uuid}/attempts", "app_name": "guildhall"}
    ok = {**route, "status_code": "201"}
    assert _sample(text, "litestar_requests_total", **ok) == 4
    assert _sample(text, "litestar_request_duration_seconds_bucket", **ok, le="0.005") == 1  # bounds are inclusive
    assert _sample(text, "litestar_request_duration_seconds_bucket", **ok, le="0.01") == 2
    assert _sample(text, "litestar_request_duration_seconds_bucket", **ok, le="0.5") == 3
    assert _sample(text, "litestar_request_duration_seconds_bucket", **ok, le="10.0") == 3
    assert _sample(text, "litestar_request_duration_seconds_bucket", **ok, le="+Inf") == 4
    assert _sample(text, "litestar_request_duration_seconds_count", **ok) == 4
    assert abs((_sample(text, "litestar_request_duration_seconds_sum", **ok) or 0) - 42.3101) < 1e-9
    assert _sample(text, "litestar_requests_error_total", **ok) is None
    assert _sample(text, "litestar_requests_error_total", **route, status_code="503") == 1


def test_requests_in_progress_are_those_routed_and_not_yet_answered() -> None:
    metrics = RequestMetrics()
    routed = {"method": "GET", "path_template": "/organisations/{org_id:uuid}"}
    being_routed: dict[str, str] = {"method": "GET"}
    probe = {"method": "GET", "path_template": "/healthz"}
    for scope in (routed, being_routed, probe):
        metrics.enter(scope)
    text = _exposition(metrics)
    assert _sample(text, "litestar_requests_in_progress", method="GET", path="/organisations/{org_id:uuid}") == 1
    assert _sample(text, "litestar_requests_in_progress", path="/healthz") is None
    metrics.leave(routed, 200, 0.001)
    metrics.leave(probe, 200, 0.001)
    metrics.leave(being_routed, 404, 0.001)  # never routed: not counted
    text = _exposition(metrics)
    assert _sample(text, "litestar_requests_in_progress", method="GET") is None
    assert _sample(text, "litestar_requests_total", path="/healthz") is None
    assert _sample(text, "litestar_requests_total", status_code="404") is None


async def test_metrics_count_each_route_by_its_template(client: AsyncTestClient[Litestar]) -> None:
    before = (await client.get("/metrics")).text
    labels = {"method": "GET", "path": "/schema/openapi.json", "status_code": "200", "app_name": "guildhall"}
    for _ in range(3):
        assert (await client.get("/schema/openapi.json")).status_code == 200
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/no/such/route")).status_code == 404
    after = (await client.get("/metrics")).text
    assert (_sample(after, "litestar_requests_total", **labels) or 0) - (
        _sample(before, "litestar_requests_total", **labels) or 0
    ) == 3
    assert (_sample(after, "litestar_request_duration_seconds_count", **labels) or 0) >= 3
    assert _sample(after, "litestar_requests_total", path="/healthz") is None
    assert _sample(after, "litestar_requests_total", path="/metrics") is None
    assert _sample(after, "litestar_requests_total", path="/no/such/route") is None  # not routed: not counted
