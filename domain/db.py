"""The PostgreSQL connection pool and the transactions the service layer opens on it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Protocol

import asyncpg
import msgspec

from domain.errors import InvalidInput

Connection = asyncpg.Connection  # the type the service layer passes around

# asyncpg's own default; 0 behind PgBouncer in transaction mode (api.settings: DB_STATEMENT_CACHE_SIZE).
DEFAULT_STATEMENT_CACHE_SIZE = 100


def statement_cache_size_from_env() -> int:
    """``DB_STATEMENT_CACHE_SIZE``, the setting the API and worker read (api.settings), for pools made outside
    them — command-line tools, benches, tests — so that one variable makes every pool fit PgBouncer."""
    value = os.environ.get("DB_STATEMENT_CACHE_SIZE", "")
    return int(value) if value.strip().isdigit() else DEFAULT_STATEMENT_CACHE_SIZE


class EventDispatcher(Protocol):
    """Hands committed outbox events to the job queue (best effort: the sweep catches misses)."""

    async def dispatch(self, event_ids: Sequence[int]) -> None: ...


@contextmanager
def _text_postgres_can_store() -> Iterator[None]:
    """PostgreSQL refuses the NUL character in text and jsonb, wherever a request's text reaches it."""
    try:
        yield
    except (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError) as exc:
        raise InvalidInput("text cannot contain the NUL character (U+0000): remove it and send again") from exc


def _decode_json(value: str) -> Any:
    return msgspec.json.decode(value)


def _encode_json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb and json columns round-trip as Python values, encoded by msgspec (fast, and it
    # knows Structs, UUIDs and datetimes).
    for name in ("jsonb", "json"):
        await conn.set_type_codec(name, encoder=_encode_json, decoder=_decode_json, schema="pg_catalog")


async def _keep_connection(conn: asyncpg.Connection) -> None:
    """Nothing to reset on release: the service keeps no session state (no LISTEN, no session advisory
    locks, no SET outside a transaction), which also keeps PgBouncer's transaction pooling safe. asyncpg's
    default reset would cost a round trip on every release."""


class Database:
    """A pool plus the one way to run work in a transaction.

    Nested ``transaction()`` calls on the same connection become savepoints (asyncpg does
    this), so a service may call another service's transactional helper freely.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        # Where every write's outbox events go once its transaction commits (``domain.writes.write``): the API
        # and the worker set their job queue here, so no event waits for the sweep because a caller forgot one.
        self.dispatcher: EventDispatcher | None = None

    @classmethod
    async def connect(
        cls, dsn: str, *, min_size: int = 1, max_size: int = 10, statement_cache_size: int | None = None
    ) -> Database:
        """A pool on ``dsn``; ``statement_cache_size`` None: DB_STATEMENT_CACHE_SIZE's (0 behind PgBouncer in
        transaction mode, where asyncpg then sends every statement unnamed, parsed anew)."""
        if statement_cache_size is None:
            statement_cache_size = statement_cache_size_from_env()
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            statement_cache_size=statement_cache_size,
            reset=_keep_connection,
        )
        assert pool is not None
        return cls(pool)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        with _text_postgres_can_store():
            async with self.pool.acquire() as conn:
                yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        with _text_postgres_can_store():
            async with self.pool.acquire() as conn, conn.transaction():
                yield conn
