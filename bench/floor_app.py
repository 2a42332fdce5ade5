"""The least a Litestar + asyncpg service can do per request, served as Guildhall is (``bench/floor.py`` runs it).

``POST /rows`` decodes a small JSON body into a msgspec Struct and inserts one ~1.5 kB row in its own
transaction (what pgbench does for P); ``POST /echo`` decodes the body and answers without touching the
database. No authentication, middleware, logging, audit or outbox: the ceiling Guildhall's stack sets before
Guildhall does anything.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import msgspec
from litestar import Litestar, post
from litestar.datastructures import State

ROW = "x" * 1500


class Row(msgspec.Struct):
    name: str
    score: int


class Stored(msgspec.Struct):
    id: int


@post("/rows", status_code=201, sync_to_thread=False)
async def insert_row(data: Row, state: State) -> Stored:
    pool: asyncpg.Pool = state["pool"]
    async with pool.acquire() as conn, conn.transaction():
        row_id = await conn.fetchval("INSERT INTO floor_rows (payload) VALUES ($1) RETURNING id", ROW + data.name)
    return Stored(id=row_id)


@post("/row", status_code=201, sync_to_thread=False)
async def insert_row_alone(data: Row, state: State) -> Stored:
    pool: asyncpg.Pool = state["pool"]
    row_id = await pool.fetchval("INSERT INTO floor_rows (payload) VALUES ($1) RETURNING id", ROW + data.name)
    return Stored(id=row_id)


@post("/echo", status_code=201, sync_to_thread=False)
async def echo(data: Row) -> Stored:
    return Stored(id=data.score)


async def _keep_connection(conn: asyncpg.Connection) -> None:
    """No reset round trip on release, as Guildhall's pool."""


def create_app() -> Litestar:
    @asynccontextmanager
    async def pool(app: Litestar) -> AsyncIterator[None]:
        app.state["pool"] = await asyncpg.create_pool(
            os.environ["DATABASE_URL"], min_size=8, max_size=8, reset=_keep_connection
        )
        try:
            yield
        finally:
            await app.state["pool"].close()

    return Litestar([insert_row, insert_row_alone, echo], lifespan=[pool])
