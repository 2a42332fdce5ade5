"""Idempotency-Keys expire: the worker deletes a key and the answer stored under it IDEMPOTENCY_KEY_TTL after the
key's first use (api/worker.py, ``expire_idempotency_keys``); a retry within that time replays, one after it is a
new request. The keys are aged in PostgreSQL, as time would age them."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api import worker
from api.settings import Settings, SettingsError
from domain import writes
from domain.db import Database
from tests.conftest import TEST_MASTER_KEY, Bootstrap
from tests.test_attempts_keyed_one_round_trip import OUTCOMES, classroom, keyed
from tests.test_attempts_one_round_trip import judged

WEEK = 7 * 24 * 3600


async def stored_key(db: Database, scope: str, key: str, age: str) -> None:
    """A key first used ``age`` ago (a PostgreSQL interval), with no answer stored."""
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at) VALUES ($1, $2, 'f', now() - $3::text::interval)",
            scope,
            key,
            age,
        )


async def test_a_retry_replays_until_the_key_expires_and_is_a_new_request_after(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    url = f"/organisations/{provider.org_id}/attempts"
    body = judged(learner_id, enrolment_id)
    first = await client.post(url, json=body, headers=keyed(provider, "sync-1"))
    kept = await client.post(url, json=body, headers=keyed(provider, "sync-2"))
    assert first.status_code == kept.status_code == 201, (first.text, kept.text)
    async with db.connection() as conn:  # only the first key is a week and a minute old
        await conn.execute(
            "UPDATE idempotency_keys SET created_at = created_at - interval '1 week 1 minute' "
            "WHERE scope LIKE $1 AND key = 'sync-1'",
            f"{provider.client_id}/%",
        )

    ctx: dict[str, Any] = {"settings": settings, "db": db}
    assert await worker.expire_idempotency_keys(ctx) == 1

    again = await client.post(url, json=body, headers=keyed(provider, "sync-2"))
    assert again.status_code == 201 and again.json() == kept.json()  # within the week: the stored answer
    anew = await client.post(url, json=body, headers=keyed(provider, "sync-1"))
    assert anew.status_code == 201, anew.text
    assert anew.json()["id"] != first.json()["id"]  # after it: a new request, a new attempt
    assert anew.json()["attemptNumber"] == 3
    replayed = await client.post(url, json=body, headers=keyed(provider, "sync-1"))
    assert replayed.json() == anew.json()  # and the key now names the new one
    assert await worker.expire_idempotency_keys(ctx) == 0


async def test_expiry_deletes_in_chunks_every_key_older_than_the_ttl_and_none_younger(
    db: Database, testrun_uid: str
) -> None:
    scope = f"expiry-{testrun_uid} POST /x"
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at) "
            "SELECT $1, 'k' || n, 'f', '{}', now() - interval '8 days' FROM generate_series(1, $2) AS n",
            scope,
            2 * writes.EXPIRY_CHUNK + 17,
        )
    await stored_key(db, scope, "young", "6 days 23 hours")
    assert await writes.expire_idempotency_keys(db, timedelta(seconds=WEEK)) == 2 * writes.EXPIRY_CHUNK + 17
    async with db.connection() as conn:
        left = await conn.fetch("SELECT key FROM idempotency_keys WHERE scope = $1", scope)
        await conn.execute("DELETE FROM idempotency_keys WHERE scope = $1", scope)
    assert [row["key"] for row in left] == ["young"]


async def test_a_ttl_of_zero_keeps_every_key(db: Database, settings: Settings, testrun_uid: str) -> None:
    scope = f"forever-{testrun_uid} POST /x"
    await stored_key(db, scope, "old", "10 years")
    try:
        ctx: dict[str, Any] = {"settings": dataclasses.replace(settings, idempotency_key_ttl=0), "db": db}
        assert await worker.expire_idempotency_keys(ctx) == 0
        async with db.connection() as conn:
            assert await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE scope = $1", scope) == 1
    finally:
        async with db.connection() as conn:
            await conn.execute("DELETE FROM idempotency_keys WHERE scope = $1", scope)


def test_the_ttl_is_read_from_the_environment_and_must_be_a_whole_number_of_seconds() -> None:
    env = {"DATABASE_URL": "postgresql://x", "REDIS_URL": "redis://x", "GUILDHALL_MASTER_KEY": TEST_MASTER_KEY}
    assert Settings.from_env(env).idempotency_key_ttl == WEEK
    assert Settings.from_env({**env, "IDEMPOTENCY_KEY_TTL": "86400"}).idempotency_key_ttl == 86400
    for wrong in ("a day", "-1"):
        with pytest.raises(SettingsError, match="IDEMPOTENCY_KEY_TTL"):
            Settings.from_env({**env, "IDEMPOTENCY_KEY_TTL": wrong})


def test_one_worker_expires_keys_every_quarter_of_an_hour() -> None:
    (job,) = [job for job in worker.CRON_JOBS if job.coroutine is worker.expire_idempotency_keys]
    assert job.minute == {7, 22, 37, 52} and job.second == 0 and job.unique
