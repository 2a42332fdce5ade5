"""The scratch database a benchmark runs in: created fresh and migrated, dropped at the end."""

from __future__ import annotations

import asyncpg

from api.dev import with_database
from domain import migrations


async def fresh_database(admin_url: str, name: str) -> str:
    """Drops ``name`` if a crashed run left it, creates it, migrates it; returns its URL."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(admin_url, name)
    await migrations.migrate(url)
    return url


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
