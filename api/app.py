"""The Litestar application factory: reads like a table of contents of the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.plugins.prometheus import PrometheusController
from litestar.routes import HTTPRoute

from api import queue
from api.auth import ACCESS_TOKEN_KEY_PURPOSE, TokenVerifier, current_principal, metrics_guard
from api.controllers.health import HealthController
from api.edge import EdgeMiddleware
from api.errors import EXCEPTION_HANDLERS
from api.fast_recording import FastRecording
from api.http import check_json_body, document_body_errors
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
            await app.state.jobs.settled()  # what requests handed over without waiting reaches Redis
            await redis.aclose()
            await db.close()
            proof_pool.shutdown()

    return lifespan


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
        openapi_config=openapi_config(settings),
        request_max_body_size=10 * 1024 * 1024,
        debug=False,
        logging_config=None,  # our JSON logging (api.observability) stays in charge
    )
    app.state.settings = settings
    _answer_options_with_every_method(app)
    document_body_errors(h for r in app.routes if isinstance(r, HTTPRoute) for h in r.route_handlers)
    describe_operations(app)
    # outermost: routing's 404 and 405 answers too
    app.asgi_handler = EdgeMiddleware(app.asgi_handler, fast=FastRecording.for_app(app))
    return app
