"""Request metrics for Prometheus, counted in plain Python and turned into metric families when scraped.

The series are those Litestar's Prometheus middleware keeps — ``litestar_requests_total``,
``litestar_request_duration_seconds`` (prometheus_client's default buckets), ``litestar_requests_in_progress``
and ``litestar_requests_error_total``, labelled by method, route template, status and app name — but a request
only adds to a few numbers in a dict: prometheus_client's counters and histograms take a lock and walk their
buckets in Python on every update, about 10 µs a request (bench/README.md, "Tenth session"). ``/metrics``
(Litestar's controller, the default registry) reads them through ``collect``.

One process's numbers, as before: a process answers a scrape with its own.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.metrics import Histogram
from prometheus_client.utils import floatToGoString

PREFIX = "litestar"
APP_NAME = "guildhall"
# Not counted: the scrape itself and the probes, which would drown the API's own traffic.
UNCOUNTED = frozenset({"/metrics", "/healthz", "/readyz"})
BUCKETS = tuple(b for b in Histogram.DEFAULT_BUCKETS if b != float("inf"))
_LABELS = ["method", "path", "status_code", "app_name"]
_BOUNDS = [floatToGoString(b) for b in (*BUCKETS, float("inf"))]  # type: ignore[no-untyped-call]


class _Series:
    """One (method, route, status)'s requests: how many, their durations' sum, and how many fell in each bucket
    (the last one for those above every bound)."""

    __slots__ = ("buckets", "count", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.buckets = [0] * (len(BUCKETS) + 1)


class RequestMetrics:
    """A collector for the default registry: ``enter``/``leave`` around every HTTP request."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str, int], _Series] = {}
        self._live: dict[int, dict[str, Any]] = {}  # the scopes of requests being served, by id

    def enter(self, scope: dict[str, Any]) -> None:
        self._live[id(scope)] = scope

    def leave(self, scope: dict[str, Any], status: int, seconds: float) -> None:
        """Counts a finished request under its route's template, if it was routed to one that is counted."""
        del self._live[id(scope)]
        template = scope.get("path_template")
        if template is None or template in UNCOUNTED:
            return
        key = (scope["method"], template, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series()
        series.count += 1
        series.seconds += seconds
        series.buckets[bisect_left(BUCKETS, seconds)] += 1  # a bucket counts durations up to its bound, inclusive

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(f"{PREFIX}_requests", "Total requests", labels=_LABELS)
        errors = CounterMetricFamily(f"{PREFIX}_requests_error", "Total errors in requests", labels=_LABELS)
        durations = HistogramMetricFamily(
            f"{PREFIX}_request_duration_seconds", "Request duration, in seconds", labels=_LABELS
        )
        for (method, path, status), series in list(self._series.items()):
            labels = [method, path, str(status), APP_NAME]
            requests.add_metric(labels, series.count)
            if status >= 500:
                errors.add_metric(labels, series.count)
            cumulative, buckets = 0, []
            for bound, count in zip(_BOUNDS, series.buckets, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            durations.add_metric(labels, buckets, series.seconds)
        in_progress = GaugeMetricFamily(
            f"{PREFIX}_requests_in_progress", "Total requests currently in progress", labels=_LABELS
        )
        live: dict[tuple[str, str], int] = {}
        for scope in list(self._live.values()):
            template = scope.get("path_template")  # None while it is being routed
            if template is not None and template not in UNCOUNTED:
                live[(scope["method"], template)] = live.get((scope["method"], template), 0) + 1
        for (method, path), count in live.items():
            in_progress.add_metric([method, path, "200", APP_NAME], count)  # "200", as Litestar's middleware labels it
        yield from (requests, errors, durations, in_progress)


request_metrics = RequestMetrics()
REGISTRY.register(request_metrics)
