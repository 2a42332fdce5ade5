"""``recordAttempt``, the integrator's hot path, served past Litestar's routing and parameter machinery when the
request is plain.

Litestar's router, its parameter and signature models, its dependency injection, its response objects and its
wrappers around ``send`` cost about a fifth of a recording's API CPU, more than any part of Guildhall's own work for
it (bench/README.md, "Fourteenth session"). This is Litestar's ``HTTPRoute.handle`` for that one route, with the
route found by a pattern and the handler's arguments given directly: the same guard (``authorize_connection``), the
same checks of the body (``checked_json_data``, as ``check_json_body`` makes them), the principal from the same
dependency, the handler's own work (``record_attempt``, ``attempt_location``), its answer encoded as Litestar encodes
JSON, and the app's exception handlers for whatever these raise, resolved and rendered as Litestar does. Only a plain
request takes this way: the canonical path with no query, a body of known length under ``MAX_BODY``, no header sent
twice, a plain host. Any other, and any body whose checks leave it to Litestar to say what is wrong, goes to Litestar
itself (nothing has been written then), so every answer is the one the documented operation gives:
``tests/test_fast_recording.py`` sends the same requests both ways and compares the answers.
"""

from __future__ import annotations

import inspect
import re
from typing import Any
from uuid import UUID

import msgspec
from litestar import Litestar, Request, Response
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp, ExceptionHandlersMap, HTTPResponseStartEvent, Receive, ReceiveMessage, Scope, Send
from litestar.utils.scope.state import ScopeState

from api.controllers.attempts import attempt_location, record_attempt
from api.http import check_json_body, checked_json_data, idempotency_key_of, json_body_parameter

OPERATION_ID = "recordAttempt"
MAX_BODY = 64 * 1024  # larger bodies (Litestar refuses them past request_max_body_size) go Litestar's way
_PATH = re.compile(r"/organisations/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/attempts")
_PLAIN_HOST = re.compile(rb"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?")
_PLAIN_LENGTH = re.compile(rb"[0-9]{1,5}")
_encoder = msgspec.json.Encoder()
_ARGUMENTS = {"request", "principal", "org_id", "data", "idempotency_key_header"}  # what the handler is called with


class FastRecording:
    """Serves plain ``recordAttempt`` requests (``takes``); ``None`` from ``for_app`` if the operation is not the one
    this was written for (its arguments, guards or hooks changed): then Litestar serves every request."""

    def __init__(self, app: Litestar, handler: HTTPRouteHandler, path_template: str, principal: Provide) -> None:
        self.app = app
        self.handler = handler
        self.principal = principal  # the dependency, called as Litestar calls it
        self.path_template = path_template
        self.data = handler.parsed_fn_signature.parameters["data"]
        self.exception_handlers: ExceptionHandlersMap = handler.resolve_exception_handlers()
        self.type_encoders = handler.resolve_type_encoders()
        self.served = self.handed_on = 0  # requests answered here, and handed to Litestar

    @classmethod
    def for_app(cls, app: Litestar) -> FastRecording | None:
        sample = "/organisations/00000000-0000-4000-8000-000000000000/attempts"
        _, handler, _, _, template = app.asgi_router.handle_routing(path=sample, method="POST")
        if not isinstance(handler, HTTPRouteHandler) or handler.operation_id != OPERATION_ID:
            return None
        principal = handler.resolve_dependencies().get("principal")
        if (
            set(handler.parsed_fn_signature.parameters) != _ARGUMENTS
            or principal is None
            or set(inspect.signature(principal.dependency).parameters) != {"request"}
        ):
            return None
        if (
            json_body_parameter(handler) is None
            or handler.resolve_before_request() is None
            or inspect.unwrap(handler.resolve_before_request()) is not check_json_body  # type: ignore[arg-type]
            or handler.resolve_after_response() is not None
            or any(layer.after_request for layer in handler.ownership_layers)
            or handler.resolve_response_headers()
            or handler.resolve_response_cookies()
            or handler.resolve_response_class() is not Response
            or handler.background is not None
            or handler.cache
            or handler.resolve_return_dto() is not None
        ):
            return None  # its answer would not be the bytes and headers this path writes
        return cls(app, handler, template, principal)

    def takes(self, scope: Scope) -> bool:
        if scope.get("method") != "POST" or scope.get("query_string"):
            return False
        return _PATH.fullmatch(scope["path"]) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send, litestar: ASGIApp) -> None:
        """Answers the request, or hands it to ``litestar`` (the app's ASGI handler) as it came."""
        headers = _plain_headers(scope["headers"])
        if headers is None or scope.get("root_path"):
            await self._hand_on(litestar, scope, receive, send)
            return
        received = await _body(receive)
        if isinstance(received, list):  # the client went away: Litestar meets what came, as it would have
            await self._hand_on(litestar, scope, _replaying(received, receive), send)
            return
        body = received
        match = _PATH.fullmatch(scope["path"])
        assert match is not None  # takes()
        org_id = UUID(match.group(1))
        scope["path_params"] = {"org_id": org_id}  # type: ignore[dict-item]  # parsed, as Litestar's router leaves them
        scope["route_handler"] = self.handler
        scope["path_template"] = self.path_template
        ScopeState.from_scope(scope).body = body  # what Litestar's Request.body() answers, here or once handed on
        request: Request[Any, Any, Any] = self.handler.resolve_request_class()(scope=scope, receive=receive, send=send)
        try:
            await self.handler.authorize_connection(connection=request)  # the guard
            data = checked_json_data(self.data, headers.get(b"content-type", ""), body)  # the edge's body checks
        except Exception as exc:
            await self._answer_error(scope, receive, send, request, exc)
            return
        if type(data) is not self.data.annotation:  # the checks left the body to Litestar, which says what is wrong
            await self._hand_on(litestar, scope, receive, send)
            return
        key = headers.get(b"idempotency-key")
        try:  # the handler's body (api/controllers/attempts.py), its arguments as Litestar would give them
            principal = await self.principal(request=request)
            idempotency = None if key is None else idempotency_key_of(principal, "POST", scope["path"], body, key)
            attempt = await record_attempt(self.app.state, principal, org_id, data, idempotency)
        except Exception as exc:
            await self._answer_error(scope, receive, send, request, exc)
            return
        self.served += 1
        content = _encoder.encode(attempt)  # as Litestar renders JSON: msgspec's encoding, the same bytes
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 201,
            "headers": [
                (b"location", attempt_location(org_id, attempt.id).encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
            ],
        }
        await send(start)
        await send({"type": "http.response.body", "body": content, "more_body": False})

    async def _hand_on(self, litestar: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        self.handed_on += 1
        await litestar(scope, receive, send)

    async def _answer_error(
        self, scope: Scope, receive: Receive, send: Send, request: Request[Any, Any, Any], exc: Exception
    ) -> None:
        """As Litestar's exception middleware answers an exception raised inside the route."""
        exception_handler = _exception_handler(self.exception_handlers, exc)
        if exception_handler is None:
            raise exc
        self.served += 1
        response = exception_handler(request, exc)
        await response.to_asgi_response(app=None, request=request, type_encoders=self.type_encoders)(
            scope, receive, send
        )


async def _body(receive: Receive) -> bytes | list[ReceiveMessage]:
    """The request's body; or, if the client disconnected first, the messages received."""
    messages: list[ReceiveMessage] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        if not message.get("more_body", False):
            return b"".join(m.get("body", b"") for m in messages)  # type: ignore[misc]


def _replaying(messages: list[ReceiveMessage], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> ReceiveMessage:
        return pending.pop(0) if pending else await receive()

    return replay


def _plain_headers(raw: Any) -> dict[bytes, str] | None:
    """The headers of a plain request by lower-case name, or None: a header sent twice, a host or a length out of the
    ordinary, a body of unknown length or one over MAX_BODY."""
    headers: dict[bytes, str] = {}
    for name, value in raw:
        if name in headers:
            return None
        headers[name] = value.decode("latin-1")
        if (name == b"host" and not _PLAIN_HOST.fullmatch(value)) or name == b"transfer-encoding":
            return None
    length = headers.get(b"content-length")
    if length is None or not _PLAIN_LENGTH.fullmatch(length.encode()) or int(length) > MAX_BODY:
        return None
    return headers


def _exception_handler(handlers: ExceptionHandlersMap, exc: Exception) -> Any:
    """Litestar's choice: by status code for an HTTPException, else by the first of the exception's classes, else
    the handler of status 500 for any other exception."""
    default = None
    if isinstance(exc, HTTPException):
        if by_status := handlers.get(exc.status_code):
            return by_status
    else:
        default = handlers.get(500)
    return next((handlers[kind] for kind in type(exc).__mro__ if kind in handlers), default)
