"""The route handler decorators every controller uses (``get``, ``post``, ``put``, ``patch``, ``delete``): Litestar's,
but the guards get the route handler itself.

Litestar 2 hands each guard a ``copy()`` of the route handler on every request: a generic copy of an object of
some fifty slots, about a thirtieth of a recording's CPU. Our guards (``api.auth``) only read the handler's
``opt``, so they get the handler as it is. The decorators are what Litestar's ``get`` and the rest are, a
``HTTPRouteHandler`` with its method (subclassing those is deprecated); ``tests/test_routing.py`` checks every
route uses them.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.types import ExceptionHandlersMap


class RouteHandler(HTTPRouteHandler):
    _exception_handlers: ExceptionHandlersMap | None = None

    def resolve_exception_handlers(self) -> ExceptionHandlersMap:
        """As Litestar's, worked out once: Litestar's says it is memoized but walks the handler's layers and merges
        their maps on every request (about a hundredth of a recording's CPU). A handler belongs to one app
        (registering a controller copies its handlers), whose layers do not change once it serves."""
        if self._exception_handlers is None:
            self._exception_handlers = super().resolve_exception_handlers()
        return self._exception_handlers

    async def authorize_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        """As Litestar's, but for the copy."""
        for guard in self.resolve_guards():
            await guard(connection, self)  # type: ignore[misc]  # resolve_guards made each one async


def get(path: str | list[str] | None = None, **kwargs: Any) -> RouteHandler:
    return RouteHandler(path, http_method=HttpMethod.GET, **kwargs)


def post(path: str | list[str] | None = None, **kwargs: Any) -> RouteHandler:
    return RouteHandler(path, http_method=HttpMethod.POST, **kwargs)


def put(path: str | list[str] | None = None, **kwargs: Any) -> RouteHandler:
    return RouteHandler(path, http_method=HttpMethod.PUT, **kwargs)


def patch(path: str | list[str] | None = None, **kwargs: Any) -> RouteHandler:
    return RouteHandler(path, http_method=HttpMethod.PATCH, **kwargs)


def delete(path: str | list[str] | None = None, **kwargs: Any) -> RouteHandler:
    return RouteHandler(path, http_method=HttpMethod.DELETE, **kwargs)
