"""The Litestar application factory: reads like a table of contents of the service."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController, PrometheusMiddleware
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api import queue
from api.auth import ACCESS_TOKEN_KEY_PURPOSE, TokenVerifier, current_principal, metrics_guard
from api.controllers.health import HealthController
from api.errors import EXCEPTION_HANDLERS
from api.headers import SecurityHeadersMiddleware
from api.http import check_json_body, document_body_errors
from api.observability import RequestIdMiddleware
from api.openapi import describe_operations, openapi_config
from api.settings import Settings
from domain import keys, migrations
from domain.credentials.data_integrity import pool as proof_pool
from domain.db import Database


class SchemaNotCurrent(RuntimeError):
    pass


def _lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db = await Database.connect(
            settings.database_url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            statement_cache_size=settings.db_statement_cache_size,
            command_timeout=settings.db_command_timeout,
        )
        try:
            async with db.connection() as conn:
                state = await migrations.status(conn)
                if not state.current:
                    raise SchemaNotCurrent(
                        f"the database schema is not current (pending: {state.pending or 'none'}, "
                        f"unknown to this code: {state.unknown or 'none'}); run `guildhall migrate`"
                    )
                await keys.ensure_key(conn, settings.master_key, ACCESS_TOKEN_KEY_PURPOSE)
            redis = queue.client(settings.redis_url)
        except BaseException:
            await db.close()
            raise
        app.state.db = db
        app.state.redis = redis
        app.state.jobs = queue.JobQueue(redis)
        db.dispatcher = app.state.jobs  # every write's events go to the worker when it commits
        app.state.token_verifier = TokenVerifier(db, settings.issuer)
        try:
            yield
        finally:
            await redis.aclose()
            await db.close()
            proof_pool.shutdown()

    return lifespan


class _Metrics(PrometheusMiddleware):
    """Litestar's Prometheus middleware with the same metrics, labels and values, for less CPU per request: each
    label combination's children are looked up once (prometheus_client's ``labels()`` takes a lock and checks
    the values on every call), and no Request is built. Configured labels or exemplars: Litestar's own."""

    def __init__(self, app: ASGIApp, config: PrometheusConfig) -> None:
        super().__init__(app, config)
        self._in_progress: dict[tuple[str, str], Any] = {}
        self._done: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        config = self._config
        method = scope["method"] if scope["type"] == ScopeType.HTTP else scope["type"]
        if (
            config.labels
            or config.exemplars
            or (config.excluded_http_methods and method in config.excluded_http_methods)
        ):
            await super().__call__(scope, receive, send)
            return
        path = scope["path_template"] if config.group_path else scope["path"]
        labels: dict[str, str | int | float] = {
            "method": method,
            "path": path,
            "status_code": 200,
            "app_name": config.app_name,
        }
        in_progress = self._in_progress.get((method, path))
        if in_progress is None:
            in_progress = self._in_progress[(method, path)] = self.requests_in_progress(labels).labels(*labels.values())
        started, span = time.perf_counter(), {"status": 200, "duration": 0.0}

        async def wrapped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                span["status"] = message["status"]
            elif message["type"] == "http.response.body":
                span["duration"] = time.perf_counter() - started
            await send(message)

        in_progress.inc()
        try:
            await self.app(scope, receive, wrapped_send)
        finally:
            in_progress.dec()
            status = int(span["status"])
            labels["status_code"] = status
            if status >= HTTP_500_INTERNAL_SERVER_ERROR:  # rare: no cached child, so no series until one happens
                self.requests_error_count(labels).labels(*labels.values()).inc()
            done = self._done.get((method, path, status))
            if done is None:
                values = [*labels.values()]
                done = self._done[(method, path, status)] = (
                    self.request_count(labels).labels(*values),
                    self.request_time(labels).labels(*values),
                )
            done[0].inc()
            done[1].observe(span["duration"])


def _answer_options_with_every_method(app: Litestar) -> None:
    """Litestar 2 makes a path's OPTIONS handler when the path's first handler registers, and its Allow
    header then lists that handler's methods only (litestar#4169, fixed in 3.0): bind each to its route."""
    for route in app.routes:
        if isinstance(route, HTTPRoute) and (entry := route.route_handler_map.get("OPTIONS")):
            handler = entry[0]
            if handler.handler_name == "options_handler":  # Litestar's own, not one the API declares
                handler._fn = route.create_options_handler(route.path).fn


def create_app(settings: Settings) -> Litestar:
    from api.routes import route_handlers

    prometheus = PrometheusConfig(
        app_name="guildhall",
        group_path=True,
        exclude=["/metrics", "/healthz", "/readyz"],
        middleware_class=_Metrics,
    )

    class Metrics(PrometheusController):
        path = "/metrics"
        include_in_schema = False
        guards = [metrics_guard]

    handlers: list[Any] = [HealthController, Metrics, *route_handlers()]
    if settings.environment == "development" and settings.dev_mail_dir:
        from api.devmail import DevMailController

        handlers.append(DevMailController)  # development only: production has no such route
    app = Litestar(
        route_handlers=handlers,
        lifespan=[_lifespan(settings)],
        dependencies={"principal": Provide(current_principal, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=check_json_body,
        middleware=[prometheus.middleware],
        openapi_config=openapi_config(settings),
        request_max_body_size=10 * 1024 * 1024,
        debug=False,
        logging_config=None,  # our JSON logging (api.observability) stays in charge
    )
    app.state.settings = settings
    _answer_options_with_every_method(app)
    document_body_errors(h for r in app.routes if isinstance(r, HTTPRoute) for h in r.route_handlers)
    describe_operations(app)
    # Outermost wrapper, so 404/405 answers from routing also carry the request id and are logged.
    app.asgi_handler = RequestIdMiddleware(SecurityHeadersMiddleware(app.asgi_handler))
    return app
