"""A database that falls silent — a failover whose old primary vanished without closing its connections — costs a
request at most ``DB_COMMAND_TIMEOUT`` seconds and a 503, never a request held until the kernel gives up on the
socket (a quarter of an hour), and the API serves again from new connections within seconds.

The API runs in a real uvicorn and is asked by a client with a timeout of its own, so that a request held for
ever fails the test instead of hanging it."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator

import httpx
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings, SettingsError
from domain.db import Database
from tests.conftest import BASE_URL, TEST_MASTER_KEY, Bootstrap
from tests.fault_servers import SilentProxy
from tests.live_server import LoopbackServer
from tests.services import on_loopback, server_address

COMMAND_TIMEOUT = 2  # seconds (DB_COMMAND_TIMEOUT)


@pytest.fixture
def proxy(isolated_database_url: str) -> Iterator[SilentProxy]:
    server = SilentProxy(server_address(isolated_database_url))
    server.start()
    yield server
    server.stop()


def through(proxy: SilentProxy, url: str) -> str:
    return on_loopback(url, proxy.port)


async def test_a_silent_database_costs_a_request_the_command_timeout_and_a_503_then_new_connections_serve(
    proxy: SilentProxy, isolated_database_url: str, settings: Settings
) -> None:
    direct = dataclasses.replace(settings, database_url=isolated_database_url)
    proxied = dataclasses.replace(
        settings, database_url=through(proxy, isolated_database_url), db_command_timeout=COMMAND_TIMEOUT
    )
    db = await Database.connect(isolated_database_url, min_size=1, max_size=2)
    try:
        async with AsyncTestClient(app=create_app(direct), base_url=BASE_URL) as setup:
            reader = await Bootstrap(db, setup).integrator(["organisations:read"])
        async with (
            LoopbackServer(create_app(proxied)) as server,
            httpx.AsyncClient(base_url=server.url, timeout=4 * COMMAND_TIMEOUT) as client,
        ):
            url = f"/organisations/{reader.org_id}"
            # Connections in the pool: the failover leaves them silent.
            answers = await asyncio.gather(*(client.get(url, headers=reader.headers) for _ in range(4)))
            assert [a.status_code for a in answers] == [200] * 4

            proxy.silence()
            started = time.monotonic()
            seen = []
            while True:
                asked = time.monotonic()
                response = await client.get(url, headers=reader.headers)  # httpx's timeout: never held for ever
                seen.append((response.status_code, round(time.monotonic() - asked, 2)))
                if response.status_code == 200:
                    break
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"]
                assert "database" in response.json()["detail"].lower()
                assert time.monotonic() - started < 10 * COMMAND_TIMEOUT, seen
            print(f"\nserved again {time.monotonic() - started:.2f} s after the database fell silent: {seen}")
            answers = await asyncio.gather(*(client.get(url, headers=reader.headers) for _ in range(8)))
            assert [a.status_code for a in answers] == [200] * 8
            assert (await client.get("/readyz")).status_code == 200
    finally:
        await db.close()


def test_the_command_timeout_is_a_setting() -> None:
    base = {"DATABASE_URL": "postgresql://x@y/z", "REDIS_URL": "redis://r", "GUILDHALL_MASTER_KEY": TEST_MASTER_KEY}
    assert Settings.from_env(base).db_command_timeout == 30
    assert Settings.from_env({**base, "DB_COMMAND_TIMEOUT": "5"}).db_command_timeout == 5
    assert Settings.from_env({**base, "DB_COMMAND_TIMEOUT": "0"}).db_command_timeout == 0  # no limit
    with pytest.raises(SettingsError, match="DB_COMMAND_TIMEOUT must be an integer"):
        Settings.from_env({**base, "DB_COMMAND_TIMEOUT": "soon"})
