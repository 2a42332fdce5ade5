"""The PostgreSQL connection pool and the transactions the service layer opens on it."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from types import TracebackType
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


NUL_REFUSED = "text cannot contain the NUL character (U+0000): remove it and send again"


@contextmanager
def _text_postgres_can_store() -> Iterator[None]:
    """PostgreSQL refuses the NUL character in text and jsonb, wherever a request's text reaches it."""
    try:
        yield
    except (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError) as exc:
        raise InvalidInput(NUL_REFUSED) from exc


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


CONNECT_TIMEOUT = 5.0  # seconds for a new connection to PostgreSQL
MAX_INACTIVE_SECONDS = 10.0
CLOSE_TIMEOUT = 10.0  # seconds a pool's connections get to end cleanly at shutdown

# What PostgreSQL being away looks like to asyncpg: refused or reset sockets, a connection the server ended (a
# shutdown or crash of the server, a failover), a server starting up or shutting down, a connect that timed out.
# The API answers these with 503 and Retry-After (api/errors.py); a dead pooled connection is closed by asyncpg
# as soon as it sees the socket end, and ``pool.acquire`` replaces a closed one with a fresh connection.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionRefusedError, ConnectionResetError, and a connect's TimeoutError
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.ConnectionDoesNotExistError,  # the connection was closed in the middle of an operation
    asyncpg.CannotConnectNowError,  # 57P03: starting up, shutting down, in recovery
    asyncpg.AdminShutdownError,  # 57P01: fast or smart shutdown ended the session
    asyncpg.CrashShutdownError,  # 57P02: immediate shutdown or a crash
)


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says PostgreSQL is away (rather than a query being wrong)."""
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return True
    if isinstance(exc, asyncpg.exceptions.InternalClientError):
        # A pooled connection that was idle when the server said it was shutting down (57P01) takes the message as
        # out of turn and waits for a sync that never comes (asyncpg's state 2) until the socket closes; one taken
        # from the pool in that moment refuses the next statement before sending it (tests/test_worker_outages.py).
        return "another operation (2) is in progress" in str(exc)
    return isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc)


async def _drop_silent(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    """After a statement outlived the command timeout: the server may never answer this connection again, nor the
    pool's others (a failover whose old primary vanished without closing them). This one is closed at once rather
    than waited on again to be reset, and every other is replaced when next taken from the pool."""
    conn.terminate()
    await pool.expire_connections()


def _broken(error: BaseException | None) -> bool:
    """Whether the connection a block failed on may be unfit for the next one: PostgreSQL went away under it (the
    connection may still be reading the error's aftermath when the pool would hand it out again, and our reset sends
    nothing that would find out), or asyncpg found it in the middle of another operation."""
    if isinstance(error, asyncpg.exceptions.InternalClientError):
        return True
    return isinstance(error, (asyncpg.PostgresError, asyncpg.InterfaceError)) and database_unavailable(error)


def _terminate(conn: asyncpg.Connection) -> None:
    """Closes a broken connection at once; the pool replaces it. One asyncpg saw close has left the pool already."""
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()


class _Acquired:
    """``Database.connection()``: the pool's connection for a block, NUL refused as ``_text_postgres_can_store``
    says. A class rather than a generator-based context manager: every request goes through it."""

    __slots__ = ("_acquiring", "_pool")

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def __aenter__(self) -> asyncpg.Connection:
        self._acquiring = self._pool.acquire()
        return await self._acquiring.__aenter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if isinstance(error, TimeoutError) and self._acquiring.connection is not None:
            await _drop_silent(self._pool, self._acquiring.connection)
        elif _broken(error) and self._acquiring.connection is not None:
            _terminate(self._acquiring.connection)
        await self._acquiring.__aexit__(kind, error, traceback)
        if isinstance(error, (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError)):
            raise InvalidInput(NUL_REFUSED) from error


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
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        statement_cache_size: int | None = None,
        command_timeout: float | None = None,
    ) -> Database:
        """A pool on ``dsn``; ``statement_cache_size`` None: DB_STATEMENT_CACHE_SIZE's (0 behind PgBouncer in
        transaction mode, where asyncpg then sends every statement unnamed, parsed anew). ``command_timeout``:
        seconds a statement may wait for its answer (None or 0: no limit)."""
        if statement_cache_size is None:
            statement_cache_size = statement_cache_size_from_env()
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            statement_cache_size=statement_cache_size,
            reset=_keep_connection,
            # A server that does not answer (a failover, a dropped route) fails a request in seconds, as a 503,
            # rather than holding it for asyncpg's default minute.
            timeout=CONNECT_TIMEOUT,
            # Idle connections are closed within this: a `pg_ctl stop -m smart` (which waits for every session
            # to end) completes, and a pool never keeps a connection a restart left behind for long.
            max_inactive_connection_lifetime=MAX_INACTIVE_SECONDS,
            command_timeout=command_timeout or None,
        )
        assert pool is not None
        return cls(pool)

    async def close(self) -> None:
        """Closes the pool's connections, waiting at most CLOSE_TIMEOUT seconds for them to end cleanly (a silent
        server never lets them) before cutting them."""
        try:
            await asyncio.wait_for(self.pool.close(), CLOSE_TIMEOUT)
        except TimeoutError:
            self.pool.terminate()

    def connection(self) -> _Acquired:
        """A pooled connection for the block (``async with db.connection() as conn``)."""
        return _Acquired(self.pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        with _text_postgres_can_store():
            async with self.pool.acquire() as conn, conn.transaction():
                try:
                    yield conn
                except TimeoutError:  # before the rollback, which would wait as long again
                    await _drop_silent(self.pool, conn)
                    raise
                except Exception as error:
                    if _broken(error):
                        _terminate(conn)  # no rollback to send
                    raise
