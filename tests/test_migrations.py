"""Migrations: the committed schema.sql, idempotence, concurrent runners, and a database ahead of the code."""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api import dev
from api.app import SchemaNotCurrent, create_app
from api.settings import Settings
from domain import migrations
from tests import services

SCHEMA_FILE = migrations.MIGRATIONS_DIR / "schema.sql"
_counter = itertools.count()


@pytest.fixture
async def empty_database(server_urls: tuple[str, str]) -> AsyncIterator[str]:
    admin_url = server_urls[0]
    name = f"guildhall_migrations_{services.worker_index()}_{next(_counter)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield services.with_database(admin_url, name)
    await services.drop(admin_url, name)


async def applied_versions(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")]
    finally:
        await conn.close()


def known_versions() -> list[str]:
    return [m.version for m in migrations.discover()]


async def test_the_committed_schema_is_what_the_migrations_make() -> None:
    # Always on the embedded PostgreSQL, whose version is the bundled pg_dump's: a dump must not
    # depend on which server DATABASE_URL names.
    with dev.embedded_postgres(services.ROOT / ".data" / "schema-postgres") as server_url:
        fresh = await dev.scratch_schema(server_url)
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    diff = "".join(
        itertools.islice(
            difflib.unified_diff(
                committed.splitlines(keepends=True), fresh.splitlines(keepends=True), "schema.sql", "fresh"
            ),
            60,
        )
    )
    assert fresh == committed, f"migrations/schema.sql is out of date: run `make schema` and commit it\n{diff}"


async def test_migrating_twice_applies_nothing_the_second_time(empty_database: str) -> None:
    assert await migrations.migrate(empty_database) == known_versions()
    assert await migrations.migrate(empty_database) == []
    assert await applied_versions(empty_database) == known_versions()


async def test_concurrent_runners_apply_each_version_once(empty_database: str) -> None:
    first, second = await asyncio.gather(migrations.migrate(empty_database), migrations.migrate(empty_database))
    assert sorted(first + second) == known_versions()  # one runner did all, the other found nothing
    assert await applied_versions(empty_database) == known_versions()


async def test_a_database_ahead_of_the_code_is_refused(isolated_database_url: str, settings: Settings) -> None:
    conn = await asyncpg.connect(isolated_database_url)
    try:
        await conn.execute("INSERT INTO schema_migrations (version) VALUES ('99991231000000')")
    finally:
        await conn.close()

    with pytest.raises(migrations.MigrationError, match=r"ahead of this code.*99991231000000"):
        await migrations.migrate(isolated_database_url)

    app = create_app(dataclasses.replace(settings, database_url=isolated_database_url))
    refused = pytest.RaisesExc(SchemaNotCurrent, match=r"unknown to this code: \['99991231000000'\]")
    with pytest.RaisesGroup(refused, flatten_subgroups=True):  # the test client's task group wraps it
        async with AsyncTestClient(app=app):
            pass


def test_every_migration_has_an_up_and_a_down_section() -> None:
    files = [p for p in sorted(migrations.MIGRATIONS_DIR.glob("*.sql")) if p.name != "schema.sql"]
    assert files
    for path in files:
        assert re.match(r"^\d{14}_[a-z0-9_]+\.sql$", path.name), f"{path.name}: name it <yyyymmddhhmmss>_<what>.sql"
        text = path.read_text(encoding="utf-8")
        up = re.search(r"^-- migrate:up\s*$", text, re.MULTILINE)
        down = re.search(r"^-- migrate:down\s*$", text, re.MULTILINE)
        assert up and down, f"{path.name}: needs '-- migrate:up' and '-- migrate:down' sections"
        assert up.start() < down.start(), f"{path.name}: the up section comes first"
        assert text[up.end() : down.start()].strip(), f"{path.name}: the up section is empty"


async def test_canonical_emails_migrate_over_addresses_that_fold_together(empty_database: str, tmp_path: Path) -> None:
    # Before canonical e-mails, uniqueness was lower(email): a full-width "ａ" and an "a", or a stray space, made two
    # accounts. The migration must not fail on them; the older keeps the canonical form, the other its own.
    for path in migrations.MIGRATIONS_DIR.glob("*.sql"):
        if path.name < "20261206000050":
            (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    await migrations.migrate(empty_database, tmp_path)
    conn = await asyncpg.connect(empty_database)
    try:
        await conn.execute(
            "INSERT INTO persons (email, name) VALUES ('ana@example.org', 'Ana'), ('\uff41na@example.org', 'Wide'),"
            " (' ana@example.org', 'Spaced')"
        )
        await migrations.migrate(empty_database)
        rows = {r["name"]: r["email_canonical"] for r in await conn.fetch("SELECT name, email_canonical FROM persons")}
    finally:
        await conn.close()
    assert rows["Ana"] == "ana@example.org"
    assert len(set(rows.values())) == 3, rows
