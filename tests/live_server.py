"""The app served by a real uvicorn on a loopback port, for tests whose client is another program.

Node checkers, a browser, schemathesis or a client generator reach the API as any client would, over
TCP (and TLS when a certificate is given). The socket is bound before the app is made, so a test can
put the server's own URL in the app's settings (a did:web must name the host it is served from).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import uvicorn
from litestar import Litestar


def loopback_socket() -> socket.socket:
    """A TCP socket bound to a port the OS picks on 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


class LoopbackServer:
    """uvicorn in a thread of its own, on ``sock`` (a fresh loopback port unless given); TLS when given a
    certificate and its key."""

    def __init__(
        self,
        app: Litestar,
        sock: socket.socket | None = None,
        *,
        certificate: Path | None = None,
        key: Path | None = None,
    ) -> None:
        self.socket = sock or loopback_socket()
        self._owns_socket = sock is None
        config = uvicorn.Config(
            app,
            lifespan="on",
            log_config=None,
            access_log=False,
            ws="none",
            ssl_certfile=None if certificate is None else str(certificate),
            ssl_keyfile=None if key is None else str(key),
        )
        self.scheme = "http" if certificate is None else "https"
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()
        return f"{self.scheme}://{host}:{port}"

    async def __aenter__(self) -> LoopbackServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start: see the log for the lifespan's error")
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.server.should_exit = True
        await asyncio.to_thread(self.thread.join, 30)
        if self._owns_socket:
            self.socket.close()
