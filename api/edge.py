"""The edge every HTTP request passes, outside Litestar: its request id, the security headers of its answer, its
access-log line and its metrics, in one wrapper.

One wrapper rather than three middlewares: each layer wraps ``send`` again and every answer passes each wrapper
twice (its start, its body), and Litestar's own middleware layer matched the excluded paths on every request.
With the access log, they cost about a seventh of a recording's rate (bench/README.md, "Tenth session").
Outermost, so that 404 and 405 answers from routing also carry the request id and the headers, and are logged; the
metrics count a request under the route template Litestar's router wrote into its scope, once it is answered.
"""

from __future__ import annotations

import time

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.fast_recording import FastRecording
from api.headers import with_security_headers
from api.metrics import RequestMetrics, request_metrics
from api.observability import REQUEST_ID_HEADER, VALID_REQUEST_ID, log_access, new_request_id, request_id_var

_REQUEST_ID_HEADER = REQUEST_ID_HEADER.encode()


class EdgeMiddleware:
    """Gives every request an id (the caller's ``X-Request-ID`` if well-formed) and echoes it, adds the security
    headers (api/headers.py), counts the request for ``/metrics`` and writes one access-log line for it."""

    def __init__(
        self, app: ASGIApp, metrics: RequestMetrics = request_metrics, fast: FastRecording | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.fast = fast  # plain recordAttempt requests, past Litestar's routing (api/fast_recording.py)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = incoming if VALID_REQUEST_ID.match(incoming) else new_request_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status, answered = 500, 0.0  # what an exception that escaped every handler stands for

        async def send_at_edge(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = with_security_headers(list(message.get("headers", ())))
                headers.append((_REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                answered = time.perf_counter()  # the metrics' duration ends with the answer's (last) body
            await send(message)

        self.metrics.enter(scope)  # type: ignore[arg-type]
        try:
            if self.fast is not None and self.fast.takes(scope):
                await self.fast(scope, receive, send_at_edge, self.app)
            else:
                await self.app(scope, receive, send_at_edge)
        finally:
            ended = time.perf_counter()
            self.metrics.leave(scope, status, (answered or ended) - started)  # type: ignore[arg-type]
            # the log's duration takes in what runs after the answer (background tasks, where a handler has one)
            log_access(method, scope["path"], status, round((ended - started) * 1000, 2))
            request_id_var.reset(token)
