"""The Litestar application factory: reads like a table of contents of the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, ScalarRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from api import queue
from api.auth import ACCESS_TOKEN_KEY_PURPOSE, SECURITY_SCHEME, TokenVerifier, current_principal
from api.controllers.health import HealthController
from api.errors import EXCEPTION_HANDLERS
from api.observability import RequestIdMiddleware
from api.settings import Settings
from domain import keys, migrations
from domain.db import Database
from domain.scopes import SCOPES
from domain.structs import Input


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
        app.state.token_verifier = TokenVerifier(db, settings.issuer)
        try:
            yield
        finally:
            await redis.aclose()
            await db.close()

    return lifespan


def _openapi(settings: Settings) -> OpenAPIConfig:
    flows = OAuthFlows(
        client_credentials=OAuthFlow(token_url=f"{settings.issuer}/oauth/token", scopes=SCOPES),
        authorization_code=OAuthFlow(
            authorization_url=f"{settings.issuer}/oauth/authorize",
            token_url=f"{settings.issuer}/oauth/token",
            refresh_url=f"{settings.issuer}/oauth/token",
            scopes=SCOPES,
        ),
    )
    return OpenAPIConfig(
        title="Guildhall API",
        version="0.1.0",
        description=(
            "Co-designed short training programmes, assessments and signed micro-credentials. "
            "Every error is an RFC 9457 problem document."
        ),
        path="/schema",
        render_plugins=[ScalarRenderPlugin(), OpenAPIJson()],
        components=Components(
            security_schemes={
                SECURITY_SCHEME: SecurityScheme(
                    type="oauth2", flows=flows, description="OAuth 2.0 (RFC 9068 JWT access tokens)"
                ),
            }
        ),
        use_handler_docstrings=False,
    )


class OpenAPIJson(JsonRenderPlugin):
    """Serves /schema/openapi.json, saying what Litestar does not: request bodies refuse unknown
    fields (``forbid_unknown_fields``), so clients and fuzzers know."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        schemas = openapi_schema.get("components", {}).get("schemas", {})
        for cls in _subclasses(Input):
            if cls.__name__ in schemas:
                schemas[cls.__name__]["additionalProperties"] = False
        return super().render(request, openapi_schema)


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def create_app(settings: Settings) -> Litestar:
    from api.routes import route_handlers

    prometheus = PrometheusConfig(app_name="guildhall", group_path=True, exclude=["/metrics", "/healthz", "/readyz"])

    class Metrics(PrometheusController):
        path = "/metrics"
        include_in_schema = False

    app = Litestar(
        route_handlers=[HealthController, Metrics, *route_handlers()],
        lifespan=[_lifespan(settings)],
        dependencies={"principal": Provide(current_principal, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[prometheus.middleware],
        openapi_config=_openapi(settings),
        request_max_body_size=10 * 1024 * 1024,
        debug=False,
        logging_config=None,  # our JSON logging (api.observability) stays in charge
    )
    app.state.settings = settings
    # Outermost wrapper, so 404/405 answers from routing also carry the request id and are logged.
    app.asgi_handler = RequestIdMiddleware(app.asgi_handler)
    return app
