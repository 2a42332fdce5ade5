"""Servers a fault test owns and may stop: a Redis, a PostgreSQL cluster, a `guildhall worker` process.

The machine's PostgreSQL and Redis are shared by everyone's tests and are never stopped. A fault test starts
its own on free loopback ports (a Redis with no persistence, a throwaway PostgreSQL cluster in a temporary
directory, migrated with the project's runner) and stops and starts them as an outage would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from redis.asyncio import Redis

from domain import migrations
from tests.live_server import loopback_socket

T = TypeVar("T")

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with loopback_socket() as sock:
        port: int = sock.getsockname()[1]
        return port


class OwnRedis:
    """A redis-server on a free port that keeps nothing on disk: a restart starts it empty, as after a crash."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def spawn(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 (the machine's redis-server)
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],  # noqa: S607
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def start(self) -> None:
        self.spawn()
        deadline = time.monotonic() + 10
        while True:
            try:
                redis = Redis(host="127.0.0.1", port=self.port)
                await redis.ping()
                await redis.aclose()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class OwnPostgres:
    """A PostgreSQL 15 cluster of the test's own (initdb as the postgres system user when run as root)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.log = directory / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *command], check=check, capture_output=True, timeout=120)  # noqa: S603

    async def create(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        await self.start()
        await migrations.migrate(self.url)

    async def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        deadline = time.monotonic() + 10
        while True:
            try:
                conn = await asyncpg.connect(self.url, timeout=2)
                await conn.close()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    def stop(self, mode: str = "fast") -> None:
        """``fast``, ``smart`` or ``immediate`` shutdown; waits until the server is gone."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-t", "60", "-w", "stop")

    def destroy(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


class WorkerProcess:
    """`guildhall worker` in a process of its own, as operators run it: it can be killed with SIGKILL."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from api.cli import main; main()", "worker"],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, its jobs left where they were."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


class SilentProxy:
    """A TCP proxy in front of a server that can fall silent as a failed-over primary does: ``silence()`` leaves
    every connection open at that moment open and carrying nothing more, in either direction (no reset, no close:
    the kernel of a vanished host sends neither); connections made afterwards reach the server, as a new primary's
    would behind the same address. It runs on an event loop of its own, in a thread: the test client blocks the
    test's loop while the app starts."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream  # host and port, the host a Unix socket's directory for the embedded server
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._live: set[asyncio.Event] = set()  # one per open connection: set while it carries bytes
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self._stopping: asyncio.Event | None = None

    def start(self) -> None:
        self._thread.start()
        self._server = self._call(self._start())

    async def _start(self) -> asyncio.Server:
        self._stopping = asyncio.Event()
        return await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    def silence(self) -> None:
        self._call(self._silence())

    async def _silence(self) -> None:
        for live in self._live:
            live.clear()
        self._live = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = self.upstream
        if host.startswith("/"):
            up_reader, up_writer = await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
        else:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        self._writers += [writer, up_writer]
        live = asyncio.Event()
        live.set()
        self._live.add(live)
        await asyncio.gather(self._pipe(reader, up_writer, live), self._pipe(up_reader, writer, live))

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, live: asyncio.Event) -> None:
        assert self._stopping is not None
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                if not live.is_set():
                    await self._stopping.wait()  # silent for good: what arrives is never passed on
                    return
                sink.write(data)
                await sink.drain()
        sink.close()

    def stop(self) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _stop(self) -> None:
        assert self._stopping is not None and self._server is not None
        self._stopping.set()
        self._server.close()
        for writer in self._writers:
            writer.close()
        await asyncio.sleep(0.1)  # the pipes see their ends

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(10)
