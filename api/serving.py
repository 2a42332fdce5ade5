"""uvicorn's httptools protocol with each response leaving in one write, not two.

uvicorn writes a response's status line and headers the moment the app sends them, and its body in a second
write: two system calls and two TCP segments per answer. On loopback, and on a proxy's connection on the same
host, the sending call does the receiving side's work too, so each write cost about 6% of the API's CPU per
recording (bench/README.md, "Ninth session"). Here a connection holds the first write of an event-loop turn:
the write that follows it in the same turn (the body, which the app sends right after the headers) leaves
with it, in one system call. Nothing is held past its turn: a header block whose body comes later (a stream,
``100 Continue``) leaves when the turn ends, as it did before.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _WritesJoined:
    """The connection's transport, with the first write of a turn held until the next write or the turn's end.
    Everything else is the transport's own; closing it sends what is held first."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is None:
            self._held = bytes(data)
            self._loop.call_soon(self._release)
        else:
            self._held = None
            self._transport.write(b"".join((held, data)))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def _release(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self._release()
        self._transport.close()

    def write_eof(self) -> None:
        self._release()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading, set_protocol, ...
        return getattr(self._transport, name)


class OneWritePerResponse(HttpToolsProtocol):
    """``uvicorn.run(..., http=OneWritePerResponse)``: httptools' parsing and uvicorn's every rule, one write."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_WritesJoined(transport, self.loop))  # type: ignore[arg-type]
