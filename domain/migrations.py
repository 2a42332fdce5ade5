"""Applies the numbered ``migrations/*.sql`` files (dbmate's format and table) under an advisory lock.

Each file holds ``-- migrate:up`` and ``-- migrate:down`` sections; applied versions are rows of
``schema_migrations(version)``, so the ``dbmate`` binary can be used beside this runner. Every
migration runs in its own transaction. A database that has versions this code does not know is
*ahead* of the code, and the runner refuses to touch it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(os.environ.get("GUILDHALL_MIGRATIONS_DIR", Path(__file__).resolve().parents[1] / "migrations"))
# An arbitrary constant shared by every process that migrates this database.
_ADVISORY_LOCK_KEY = 0x6775_696C_6468  # "guildh"
_FILENAME = re.compile(r"^(\d+)_[\w-]+\.sql$")
_UP = re.compile(r"^--\s*migrate:up\b.*$", re.MULTILINE)
_DOWN = re.compile(r"^--\s*migrate:down\b.*$", re.MULTILINE)


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    up: str


@dataclass(frozen=True)
class MigrationStatus:
    applied: list[str]
    pending: list[str]
    unknown: list[str]  # applied in the database, absent from this code: the database is ahead

    @property
    def current(self) -> bool:
        return not self.pending and not self.unknown


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILENAME.match(path.name)
        if not match:
            continue  # schema.sql and friends
        text = path.read_text(encoding="utf-8")
        up_match = _UP.search(text)
        if not up_match:
            raise MigrationError(f"{path.name}: no '-- migrate:up' section")
        down_match = _DOWN.search(text, up_match.end())
        up = text[up_match.end() : down_match.start() if down_match else None]
        migrations.append(Migration(version=match.group(1), name=path.name, up=up))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version number")
    return migrations


async def _applied_versions(conn: asyncpg.Connection) -> list[str]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return []
    return [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")]


async def status(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> MigrationStatus:
    known = [m.version for m in discover(directory)]
    applied = await _applied_versions(conn)
    applied_set = set(applied)
    return MigrationStatus(
        applied=applied,
        pending=[v for v in known if v not in applied_set],
        unknown=sorted(applied_set - set(known)),
    )


async def migrate(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Applies pending migrations; returns the versions applied now.

    Uses a session-level advisory lock, so run it on a direct connection (not through a
    transaction-pooling PgBouncer): two processes migrating at once apply each file once.
    """
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _ADVISORY_LOCK_KEY)
        try:
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) PRIMARY KEY)")
            state = await status(conn, directory)
            if state.unknown:
                raise MigrationError(
                    "the database is ahead of this code: it has migrations "
                    f"{', '.join(state.unknown)} that this version of Guildhall does not know; "
                    "deploy the newer code instead"
                )
            by_version = {m.version: m for m in discover(directory)}
            for version in state.pending:
                async with conn.transaction():
                    await conn.execute(by_version[version].up)
                    await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            return state.pending
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _ADVISORY_LOCK_KEY)
    finally:
        await conn.close()
