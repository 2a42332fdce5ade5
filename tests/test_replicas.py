"""Replicas: two API processes (`guildhall serve`) and three workers (`guildhall worker`), each a process of its
own, against one database reached through a real PgBouncer in transaction mode and one Redis — the shape the
README's "Scaling out" describes. What one replica does, the others respect: the token endpoint's rate limit is
one budget, an Idempotency-Key sent to both APIs records once, a token revoked at one is refused by the other,
a suspension made through one shows in the status list the other publishes, and a cohort recorded across both
APIs is issued by the three workers, each credential once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.credentials import envelopes, status_lists
from domain.db import Database
from tests import services
from tests.conftest import BASE_URL, TEST_MASTER_KEY, Bootstrap
from tests.pgbouncer import available, free_port, pgbouncer, through
from tests.scenarios import classroom
from tests.worker_harness import PASSING, enrol_learners

GUILDHALL = str(Path(sys.executable).with_name("guildhall"))
COHORT = 24


@dataclass
class Replicas:
    apis: list[str]  # base URLs
    pooled_url: str
    logs: Path

    def log_tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in sorted(self.logs.iterdir()))


@contextmanager
def processes(commands: list[list[str]], env: dict[str, str], logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        for n, command in enumerate(commands):
            with (logs / f"{n}-{command[0]}.log").open("wb") as log:
                started.append(
                    subprocess.Popen([GUILDHALL, *command], env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
                )
        yield started
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_api(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        command = [GUILDHALL, "serve", "--host", "127.0.0.1", "--port", str(port)]
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603


class PortTaken(Exception):
    """The free port picked for an API was taken by another process (an outgoing connection's, say) before the
    API bound it."""


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


async def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                said = (await asyncio.to_thread(_tail, log)) or "(no log)"
                if "address already in use" in said.lower():
                    raise PortTaken(base)
                raise AssertionError(f"the API on {base} exited with {process.returncode}; its log ends:\n{said}")
            with contextlib.suppress(httpx.HTTPError):  # not listening yet: try again
                if (await http.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError(f"the API on {base} was not ready within 60 s")


@pytest.fixture
async def replicas(database_url: str, redis_url: str, server_urls: tuple[str, str]) -> AsyncIterator[Replicas]:
    """Two APIs and three workers on this test's database (through a PgBouncer of their own) and Redis."""
    assert available(), "the replica test needs the pgbouncer package (apt-get install pgbouncer)"
    direct = services.with_database(server_urls[0], urlsplit(database_url).path.lstrip("/"))
    ports = [free_port(), free_port()]
    with tempfile.TemporaryDirectory(prefix="guildhall-replicas-") as tmp, pgbouncer(direct) as bouncer:
        logs = Path(tmp)
        pooled = through(direct, bouncer)
        env = {
            **os.environ,
            "DATABASE_URL": pooled,
            "DATABASE_DIRECT_URL": direct,
            "DB_STATEMENT_CACHE_SIZE": "0",
            "DB_POOL_MAX": "5",
            "REDIS_URL": redis_url,
            "GUILDHALL_MASTER_KEY": TEST_MASTER_KEY,
            # One issuer for both APIs, as behind one load balancer: a token issued by one is valid at the other.
            "GUILDHALL_PUBLIC_URL": BASE_URL,
            "GUILDHALL_ENV": "test",
            "AUTHLIB_INSECURE_TRANSPORT": "1",
            "LOG_LEVEL": "WARNING",
        }
        commands = [["serve", "--host", "127.0.0.1", "--port", str(port)] for port in ports]
        commands += [["worker"]] * 3
        with processes(commands, env, logs) as started:
            apis = [f"http://127.0.0.1:{port}" for port in ports]

            async def ready(n: int) -> None:
                try:
                    await wait_ready(apis[n], started[n], logs / f"{n}-serve.log")
                except PortTaken:  # once more, on another port
                    port = free_port()
                    started[n] = start_api(port, env, logs / f"{n}-serve-again.log")  # stopped with the others
                    apis[n] = f"http://127.0.0.1:{port}"
                    await wait_ready(apis[n], started[n], logs / f"{n}-serve-again.log")

            await asyncio.gather(*(ready(n) for n in range(len(ports))))
            replicas = Replicas(apis, pooled, logs)
            try:
                yield replicas
            except BaseException:
                print(replicas.log_tail(), file=sys.stderr)
                raise
            for process in started:
                assert process.poll() is None, (
                    f"{process.args} exited with {process.returncode}:\n{replicas.log_tail()}"
                )


async def client_token(http: httpx.AsyncClient, client_id: str, secret: str) -> str:
    response = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_two_apis_and_three_workers_through_pgbouncer_act_as_one(
    replicas: Replicas, client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)  # set up in this process, on the same database
    cohort = await enrol_learners(client, room, COHORT)
    a, b = (httpx.AsyncClient(base_url=base, timeout=30) for base in replicas.apis)
    async with a, b:
        provider = room.provider
        token = await client_token(a, provider.client_id, provider.client_secret)
        auth = {"Authorization": f"Bearer {token}"}

        # Idempotency: one key sent to both APIs at once records one attempt, and both answer it.
        learner = cohort[0]
        body = {**room.attempt(PASSING), "learnerId": learner[0], "enrolmentId": learner[1]}
        keyed = {**auth, "Idempotency-Key": "cohort-0"}
        answers = await asyncio.gather(*(api.post(room.attempts_url, json=body, headers=keyed) for api in (a, b, a, b)))
        assert [r.status_code for r in answers] == [201] * 4, [r.text for r in answers]
        assert len({r.json()["id"] for r in answers}) == 1

        # Exactly-once issuance: the rest of the cohort recorded across both APIs (each request sent to both,
        # with its key), issued by three workers.
        async def record(n: int, learner: tuple[str, str]) -> str:
            body = {**room.attempt(PASSING), "learnerId": learner[0], "enrolmentId": learner[1]}
            headers = {**auth, "Idempotency-Key": f"cohort-{n}"}
            first, second = (a, b) if n % 2 else (b, a)
            one = await first.post(room.attempts_url, json=body, headers=headers)
            again = await second.post(room.attempts_url, json=body, headers=headers)  # a retry to the other API
            assert one.status_code == again.status_code == 201, (one.text, again.text)
            assert one.json() == again.json()
            attempt_id: str = one.json()["id"]
            return attempt_id

        attempt_ids = [answers[0].json()["id"]]
        attempt_ids += await asyncio.gather(*(record(n, learner) for n, learner in enumerate(cohort[1:], 1)))
        issued = await wait_issued(db, attempt_ids)
        assert sorted(issued) == sorted(UUID(i) for i in attempt_ids)  # one credential each, none twice
        async with db.connection() as conn:
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM attempts WHERE learner_id = ANY($1::uuid[])",
                    [UUID(learner) for learner, _ in cohort],
                )
                == COHORT
            )

        # Status lists: a credential suspended through one API shows in the list the other publishes.
        credential = await first_credential(db, UUID(attempt_ids[0]))
        suspended = await b.post(
            f"/credentials/{credential['id']}/suspension", json={"reason": "Under review"}, headers=auth
        )
        assert suspended.status_code == 200, suspended.text
        published = await a.get(f"/status-lists/{credential['suspension_list']}")
        assert published.status_code == 200, published.text
        subject = list_subject(published.text)
        assert status_lists.bit(status_lists.decode_list(subject["encodedList"]), credential["status_index"])
        reinstated = await a.delete(f"/credentials/{credential['id']}/suspension", headers=auth)
        assert reinstated.status_code == 200, reinstated.text
        subject = list_subject((await b.get(f"/status-lists/{credential['suspension_list']}")).text)
        assert not status_lists.bit(status_lists.decode_list(subject["encodedList"]), credential["status_index"])

        # Token revocation: revoked at one API, refused at the other at once.
        whoami = f"/organisations/{provider.org_id}/attempts"
        assert (await b.get(whoami, headers=auth)).status_code == 200
        revoked = await b.post(
            "/oauth/revoke", data={"token": token}, auth=(provider.client_id, provider.client_secret)
        )
        assert revoked.status_code == 200, revoked.text
        assert (await a.get(whoami, headers=auth)).status_code == 401
        assert (await b.get(whoami, headers=auth)).status_code == 401

        # Rate limits: the token endpoint's budget per address (60 a minute) is one across both APIs.
        statuses = []
        for n in range(64):
            api = (a, b)[n % 2]
            response = await api.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(provider.client_id, provider.client_secret),
            )
            statuses.append(response.status_code)
        used = 1  # the token above
        assert statuses[: 60 - used] == [200] * (60 - used), statuses
        assert statuses[60 - used :] == [429] * (4 + used), statuses


async def wait_issued(db: Database, attempt_ids: list[str], seconds: float = 90) -> list[UUID]:
    """The attempts that credentials were issued for, once there is one for each (or the time is up)."""
    deadline = time.monotonic() + seconds
    while True:
        async with db.connection() as conn:
            rows = await conn.fetch(
                "SELECT attempt_id FROM credentials WHERE attempt_id = ANY($1::uuid[])", [UUID(i) for i in attempt_ids]
            )
        issued = [r["attempt_id"] for r in rows]
        if len(set(issued)) == len(attempt_ids) or time.monotonic() > deadline:
            await asyncio.sleep(1.0)  # anything issued twice would show by now
            async with db.connection() as conn:
                rows = await conn.fetch(
                    "SELECT attempt_id FROM credentials WHERE attempt_id = ANY($1::uuid[])",
                    [UUID(i) for i in attempt_ids],
                )
            return [r["attempt_id"] for r in rows]
        await asyncio.sleep(0.3)


async def first_credential(db: Database, attempt_id: UUID) -> dict[str, Any]:
    async with db.connection() as conn:
        row = await conn.fetchrow(
            "SELECT c.id, c.status_index, s.id AS suspension_list FROM credentials c "
            "JOIN status_lists s ON s.organisation_id = c.provider_id AND s.number = c.status_number "
            "AND s.purpose = 'suspension' WHERE c.attempt_id = $1",
            attempt_id,
        )
    assert row is not None
    return dict(row)


def list_subject(jwt: str) -> dict[str, Any]:
    """The credentialSubject of a status list credential in its VC-JWT form."""
    subject: dict[str, Any] = json.loads(envelopes.b64url_decode(jwt.split(".")[1]))["credentialSubject"]
    return subject
