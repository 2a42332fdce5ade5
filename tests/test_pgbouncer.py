"""Behind PgBouncer in transaction mode: `guildhall migrate` takes its session (a session advisory lock) on
DATABASE_DIRECT_URL, everything else goes through the pool with DB_STATEMENT_CACHE_SIZE=0, and the settings say
so. The end-to-end suite runs through PgBouncer in CI too (`make test-pgbouncer`); tests/test_replicas.py runs
two APIs and three workers through one."""

from __future__ import annotations

import json

import asyncpg
import pytest

from api.settings import Settings, SettingsError
from domain.db import Database
from tests import services
from tests.conftest import TEST_MASTER_KEY
from tests.pgbouncer import available, pgbouncer, through
from tests.test_cli import clean_env, guildhall

BASE = {"REDIS_URL": "redis://127.0.0.1:6379/0", "GUILDHALL_MASTER_KEY": TEST_MASTER_KEY}


def test_the_settings_for_pgbouncer() -> None:
    pooled = Settings.from_env(
        {
            **BASE,
            "DATABASE_URL": "postgresql://app@pgbouncer:6432/guildhall",
            "DATABASE_DIRECT_URL": "postgresql://app@postgres:5432/guildhall",
            "DB_STATEMENT_CACHE_SIZE": "0",
        }
    )
    assert pooled.db_statement_cache_size == 0
    assert pooled.session_database_url == "postgresql://app@postgres:5432/guildhall"
    direct = Settings.from_env({**BASE, "DATABASE_URL": "postgresql://app@postgres:5432/guildhall"})
    assert direct.db_statement_cache_size == 100
    assert direct.session_database_url == direct.database_url
    with pytest.raises(SettingsError, match="DB_STATEMENT_CACHE_SIZE must not be negative"):
        Settings.from_env({**BASE, "DATABASE_URL": "postgresql://x@y/z", "DB_STATEMENT_CACHE_SIZE": "-1"})


async def test_migrate_goes_direct_and_the_rest_through_pgbouncer(server_urls: tuple[str, str], run_id: str) -> None:
    assert available(), "this test needs the pgbouncer package (apt-get install pgbouncer)"
    name = f"guildhall_test_{run_id}_pgbouncer"
    admin = await asyncpg.connect(server_urls[0])
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    direct = services.with_database(server_urls[0], name)
    try:
        with pgbouncer(direct) as port:
            pooled = through(direct, port)
            env = clean_env(DATABASE_URL=pooled, DATABASE_DIRECT_URL=direct, DB_STATEMENT_CACHE_SIZE="0")
            migrated = await guildhall("migrate", env=env)
            assert migrated.code == 0, migrated.err
            assert '"applied"' in migrated.out
            status = await guildhall("migrate", "--status", env=env)  # read through the pool
            assert status.code == 0 and json.loads(status.out)["current"] is True, status.out

            # Without DATABASE_DIRECT_URL the migration's session lock would go through the pool: migrate
            # reaches the database given, and DATABASE_DIRECT_URL wins where it is set.
            unreachable = clean_env(DATABASE_URL=pooled, DATABASE_DIRECT_URL="postgresql://postgres@127.0.0.1:1/x")
            refused = await guildhall("migrate", env=unreachable)
            assert refused.code != 0

            pool = await Database.connect(pooled, statement_cache_size=0, min_size=2, max_size=4)
            try:
                async with pool.transaction() as conn:  # transaction-level advisory locks are fine in the pool
                    await conn.execute("SELECT pg_advisory_xact_lock(42)")
                    assert await conn.fetchval("SELECT count(*) FROM schema_migrations") > 0
            finally:
                await pool.close()
    finally:
        await services.drop(server_urls[0], name)
