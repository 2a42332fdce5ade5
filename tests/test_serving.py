"""A response leaves in one write: api.serving's transport joins the header block and the body that follows it.

The served app's answers themselves are checked through the live server (tests/live_server.py serves with the
same protocol); here the write calls the socket sees, which a client cannot tell apart.
"""

from __future__ import annotations

import asyncio
import socket

import httpx
from litestar import Litestar, delete, get

from api.serving import _WritesJoined
from tests.live_server import LoopbackServer


class _Socket:
    """What a transport's write calls reach: each call's bytes, in order."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"extra {name}"


async def test_the_body_written_right_after_the_headers_leaves_with_them() -> None:
    sent = _Socket()
    transport = _WritesJoined(sent, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert sent.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    await asyncio.sleep(0)
    assert len(sent.writes) == 1  # nothing left to release


async def test_a_write_alone_in_its_turn_leaves_when_the_turn_ends() -> None:
    sent = _Socket()
    transport = _WritesJoined(sent, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert sent.writes == []
    await asyncio.sleep(0)
    assert sent.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    transport.write(b"5\r\nhello\r\n")  # a stream's next chunk, in a later turn: held for its own turn only
    await asyncio.sleep(0)
    assert sent.writes[1:] == [b"5\r\nhello\r\n"]


async def test_closing_sends_what_is_held_first_and_aborting_drops_it() -> None:
    sent = _Socket()
    transport = _WritesJoined(sent, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    transport.close()
    assert sent.writes == [b"HTTP/1.1 400 Bad Request\r\n\r\n"]
    assert sent.closed
    await asyncio.sleep(0)
    assert len(sent.writes) == 1

    aborted = _Socket()
    aborted.abort = lambda: setattr(aborted, "closed", True)  # type: ignore[attr-defined]
    transport = _WritesJoined(aborted, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.abort()
    await asyncio.sleep(0)
    assert aborted.writes == []
    assert transport.get_extra_info("peername") == "extra peername"  # the rest is the transport's own


@get("/big", sync_to_thread=False)
def _big() -> str:
    return "x" * 1_000_000


@get("/small", sync_to_thread=False)
def _small() -> dict[str, str]:
    return {"hello": "world"}


@delete("/nothing", sync_to_thread=False)
def _nothing() -> None:
    return None


async def test_answers_of_every_size_arrive_whole_over_keep_alive() -> None:
    async with (
        LoopbackServer(Litestar([_big, _small, _nothing])) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        for _ in range(3):
            assert (await client.get("/small")).json() == {"hello": "world"}
            big = await client.get("/big")
            assert big.status_code == 200 and big.text == "x" * 1_000_000
        nothing = await client.delete("/nothing")
        assert nothing.status_code == 204 and nothing.content == b""


async def test_the_first_answer_arrives_in_one_segment() -> None:
    """One write on loopback is one segment: the whole answer is there to read at once."""
    async with LoopbackServer(Litestar([_small])) as server:
        host, port = server.url.removeprefix("http://").split(":")
        loop = asyncio.get_running_loop()
        with socket.create_connection((host, int(port))) as sock:
            sock.setblocking(False)
            await loop.sock_sendall(sock, b"GET /small HTTP/1.1\r\nhost: x\r\n\r\n")
            first = await loop.sock_recv(sock, 65536)
        assert first.startswith(b"HTTP/1.1 200 OK\r\n")
        assert first.endswith(b'\r\n\r\n{"hello":"world"}')
