"""Attempts recorded per second over HTTP, set against what this machine's PostgreSQL can commit (P).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/record.py [--seconds 20] [--concurrency 8,50] [--learners 200] [--workers 1]

It creates a fresh database ``guildhall_bench`` on DATABASE_URL's server and migrates it; measures P with
the pgbench bundled in pgserver (a custom script inserting one ~1.5 kB row per transaction, 8 clients,
synchronous commit on); seeds a provider with a recording client, a published programme whose unit is
assessed on learning outcomes without a maximum of attempts, and learners enrolled in it; starts the API as
``make run`` does (``guildhall serve``, the same environment) on a free loopback port; then records attempts
with each concurrency for ``--seconds`` after a short warm-up, every request a full recording —
authentication, validation, the engine's decision, audit and outbox in one transaction, the outbox event
handed to Redis. It prints attempts/s, p50/p99 latency and the ratio to P, and cleans up: the server stops,
the database is dropped, the Redis keys of its jobs are deleted. Without REDIS_URL an embedded Redis is used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from a checkout

from api.dev import child_environment, embedded_redis, new_master_key  # noqa: E402
from bench.benchdb import drop_database, fresh_database  # noqa: E402
from domain.db import Database  # noqa: E402
from domain.oauth.clients import create_client  # noqa: E402
from domain.oauth.models import ClientCreate  # noqa: E402
from domain.organisations.models import OrganisationCreate  # noqa: E402
from domain.organisations.service import create_organisation  # noqa: E402
from domain.writes import Actor  # noqa: E402

BENCH_DATABASE = "guildhall_bench"
OPERATOR = Actor(request_id="bench")
READY_TIMEOUT = 30.0
ROW_BYTES = 1500
SKILL = "http://data.europa.eu/esco/skill/"
PLC, SAFETY = SKILL + "0b7f6a52-0000-4000-8000-000000000001", SKILL + "0b7f6a52-0000-4000-8000-000000000002"


@dataclass
class Phase:
    concurrency: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, recorded attempts only
    errors: dict[int, int] = field(default_factory=dict)  # HTTP status -> count

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else float("nan")


@dataclass(frozen=True)
class Seeded:
    provider_id: UUID
    client_id: str
    client_secret: str
    enrolments: list[tuple[str, str]]  # (learner id, enrolment id)


# --- PostgreSQL: the bench database and the machine's limit P --------------------------------------


def pgbench_binary() -> Path:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH) / "pgbench"


async def measure_p(url: str, seconds: int, folder: Path) -> float:
    """Transactions per second of one ~1.5 kB INSERT each, 8 clients, synchronous commit on."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE bench_rows (id bigserial PRIMARY KEY, payload text NOT NULL)")
    finally:
        await conn.close()
    script = folder / "insert.sql"
    script.write_text(f"INSERT INTO bench_rows (payload) VALUES (repeat('x', {ROW_BYTES}));\n")
    command = [str(pgbench_binary()), "-n", "-c", "8", "-j", "2", "-T", str(seconds), "-f", str(script), url]
    env = {**os.environ, "PGOPTIONS": "-c synchronous_commit=on"}
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return float(match.group(1))


# --- Seeding: organisations and clients as the operator, the rest through the API -----------------


async def seed_clients(url: str) -> tuple[UUID, UUID, dict[str, tuple[str, str]]]:
    """The provider, a chamber, and their clients: (client id, secret) by role."""
    db = await Database.connect(url, min_size=1, max_size=2)
    try:
        provider = await create_organisation(db, OPERATOR, _organisation("Bench Automation Academy", "vet_provider"))
        chamber = await create_organisation(db, OPERATOR, _organisation("Bench Chamber", "chamber"))
        clients = {}
        for role, org, scopes in (
            ("designer", provider.id, ["programmes:write", "assessments:write"]),
            ("chamber", chamber.id, ["programmes:write"]),
            ("recorder", provider.id, ["assessments:write"]),  # what a provider's LMS or simulator holds
        ):
            made = await create_client(db, OPERATOR, org, ClientCreate(name=f"bench {role}", scopes=scopes))
            assert made.client_secret is not None
            clients[role] = (made.client_id, made.client_secret)
        return provider.id, chamber.id, clients
    finally:
        await db.close()


def _organisation(name: str, kind: str) -> OrganisationCreate:
    return OrganisationCreate(kind=kind, name={"en": name}, default_language="en", country="DE")  # type: ignore[arg-type]


async def token(http: httpx.AsyncClient, client: tuple[str, str]) -> dict[str, str]:
    response = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=client)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def seed_programme(
    http: httpx.AsyncClient, provider_id: UUID, chamber_id: UUID, clients: dict[str, tuple[str, str]]
) -> str:
    """A programme drafted by the provider and approved by the chamber, hence published."""
    designer, chamber = await token(http, clients["designer"]), await token(http, clients["chamber"])
    profile = await _ok(http.post("/occupational-profiles", headers=designer, json=_profile()))
    content = _programme(profile["id"], str(provider_id), str(chamber_id))
    pid: str = (await _ok(http.post("/programmes", headers=designer, json={"content": content})))["designId"]
    roles = {"roles": ["approver", "cosigner"]}
    await _ok(http.put(f"/programmes/{pid}/coauthors/{chamber_id}", headers=designer, json=roles))
    await _ok(http.post(f"/programmes/{pid}/versions/1/proposal", headers={**designer, "If-Match": '"v1"'}))
    decided = await _ok(
        http.post(f"/programmes/{pid}/versions/1/decisions", headers=chamber, json={"decision": "approve"})
    )
    assert decided["status"] == "published", decided
    return pid


async def seed_learners(
    http: httpx.AsyncClient, provider_id: UUID, programme_id: str, headers: dict[str, str], count: int
) -> list[tuple[str, str]]:
    learners = f"/organisations/{provider_id}/learners"
    gate = asyncio.Semaphore(8)

    async def one(i: int) -> tuple[str, str]:
        async with gate:
            body = {"name": f"Learner {i}", "email": f"learner{i}@bench.example"}
            learner = await _ok(http.post(learners, headers=headers, json=body))
            path = f"{learners}/{learner['id']}/enrolments"
            enrolment = await _ok(http.post(path, headers=headers, json={"programmeId": programme_id}))
            return learner["id"], enrolment["id"]

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def _ok(request: Any) -> Any:
    response: httpx.Response = await request
    if response.status_code >= 300:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    return response.json()


def _profile() -> dict[str, Any]:
    return {
        "title": {"en": "Mechatronics technician"},
        "defaultLanguage": "en",
        "escoOccupationUri": "http://data.europa.eu/esco/occupation/0b7f6a52-0000-4000-8000-00000000000a",
        "iscoCode": "3115",
        "competences": [
            {"escoSkillUri": PLC, "title": {"en": "program PLCs"}, "relation": "essential"},
            {"escoSkillUri": SAFETY, "title": {"en": "work safely on automation lines"}, "relation": "essential"},
        ],
    }


def _programme(profile_id: str, provider_id: str, chamber_id: str) -> dict[str, Any]:
    return {
        "title": {"en": "Automation line basics"},
        "description": {"en": "A short course on programming and running an automation line"},
        "defaultLanguage": "en",
        "profileVersionId": profile_id,
        "awardingBodyId": provider_id,
        "providerIds": [provider_id],
        "typeOfAssessment": {"en": "Practical tasks judged against the learning outcomes"},
        "formOfParticipation": "onsite",
        "qualityAssurance": {"type": "chamber_approval", "bodyId": chamber_id},
        "languages": ["en"],
        "validityMonths": 36,
        "cosignerId": chamber_id,
        "eqfLevel": 4,
        "units": [
            {
                "key": "u1",
                "kind": "core",
                "title": {"en": "PLC programming"},
                "workloadHours": 30,
                "ectsCredits": 1,
                "eqfLevel": 4,
                "learningOutcomes": [
                    {"key": "lo1", "text": {"en": "Programs a sorting station's PLC"}, "competences": [PLC]},
                    {"key": "lo2", "text": {"en": "Works safely on the line"}, "competences": [SAFETY]},
                ],
                # No maxAttempts: the benchmark records as many attempts per learner as it can.
                "assessment": {"mode": "outcome_based", "outcomes": [{"key": "lo1"}, {"key": "lo2"}]},
            }
        ],
    }


# --- The API as a real server -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def api_server(database_url: str, redis_url: str, port: int, workers: int, log: Path) -> Iterator[str]:
    env = child_environment(database_url, redis_url, new_master_key(), port)
    command = [str(ROOT / ".venv" / "bin" / "guildhall"), "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(server, base, log)
            yield base
        except BaseException:
            print(f"the API's last log lines:\n{log.read_text()[-3000:]}", file=sys.stderr)
            raise
        finally:
            server.terminate()  # uvicorn shuts down gracefully on SIGTERM
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_ready(server: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the API exited with {server.returncode}:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the API was not ready within {READY_TIMEOUT:.0f} s; see {log}")


@asynccontextmanager
async def redis_for_bench(folder: Path) -> AsyncIterator[str]:
    """REDIS_URL, or an embedded Redis as `make run` starts one without it."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with embedded_redis(folder / "redis") as url:
        yield url


async def forget_jobs(redis_url: str, database_url: str) -> None:
    """Deletes the queued jobs of the bench database's outbox events (no worker ran to take them)."""
    from arq.constants import default_queue_name, job_key_prefix

    from api.queue import client, outbox_job_id

    conn = await asyncpg.connect(database_url)
    try:
        job_ids = [outbox_job_id(r["id"]) for r in await conn.fetch("SELECT id FROM outbox")]
    finally:
        await conn.close()
    redis = client(redis_url)
    try:
        for chunk in _chunks(job_ids, 1000):
            await redis.delete(*(job_key_prefix + job for job in chunk))
            await redis.zrem(default_queue_name, *chunk)
    finally:
        await redis.aclose()


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- The load -------------------------------------------------------------------------------------


async def drive(base: str, seeded: Seeded, concurrency: int, seconds: float, warm_up: float) -> Phase:
    """``concurrency`` clients, each posting one attempt after another on a keep-alive connection of its own;
    only what runs wholly after the warm-up counts."""
    phase = Phase(concurrency, seconds)
    path = f"/organisations/{seeded.provider_id}/attempts"
    turn = itertools.count()
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        authorization = (await token(http, (seeded.client_id, seeded.client_secret)))["Authorization"]
    port = int(base.rsplit(":", 1)[1])
    start = time.perf_counter()
    counted_from, until = start + warm_up, start + warm_up + seconds

    async def client() -> None:
        connection: Connection | None = None
        while (now := time.perf_counter()) < until:
            n = next(turn)
            learner_id, enrolment_id = seeded.enrolments[n % len(seeded.enrolments)]
            body = msgspec.json.encode(_attempt(learner_id, enrolment_id, n))
            try:
                if connection is None:
                    connection = await asyncio.wait_for(Connection.open(port), 10)
                status = await connection.post(path, authorization, body)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                connection, status = None, 0  # 0: the connection failed; a new one is opened
            done = time.perf_counter()
            if now < counted_from or done > until:
                continue
            if status == 201:
                phase.latencies.append(done - now)
            else:
                phase.errors[status] = phase.errors.get(status, 0) + 1
        if connection is not None:
            connection.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return phase


class Connection:
    """A bare HTTP/1.1 keep-alive connection. The load generator shares the machine with the API, so it must
    cost little: httpx's connection pool spends more CPU per request than the API's own parsing, and at 50
    clients it becomes the bottleneck."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        self.reader, self.writer, self.port = reader, writer, port

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, port)

    async def post(self, path: str, authorization: str, body: bytes) -> int:
        """Sends a JSON POST and reads the whole answer within 10 s; its status."""
        return await asyncio.wait_for(self._post(path, authorization, body), 10)

    async def _post(self, path: str, authorization: str, body: bytes) -> int:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: {authorization}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        headers = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        length = re.search(r"(?im)^content-length:\s*(\d+)", headers)
        if length is None:
            raise ValueError(f"an answer without Content-Length: {headers[:200]!r}")
        await self.reader.readexactly(int(length.group(1)))
        return int(headers.split(" ", 2)[1])

    def close(self) -> None:
        self.writer.close()


def _attempt(learner_id: str, enrolment_id: str, n: int) -> dict[str, Any]:
    return {
        "learnerId": learner_id,
        "enrolmentId": enrolment_id,
        "unitKey": "u1",
        "assessedAt": datetime.now(UTC).isoformat(),
        "supervision": "unsupervised",
        "submission": {
            "mode": "outcome_based",
            "judgements": [
                {"outcome": "lo1", "achieved": True, "note": "Sorting station runs the full cycle"},
                {"outcome": "lo2", "achieved": n % 4 != 0, "note": "Lock-out procedure observed"},
            ],
        },
    }


# --- Putting it together --------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> int:
    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url:
        print("set DATABASE_URL to a PostgreSQL server where a database can be created", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="guildhall-bench-") as tmp:
        folder = Path(tmp)
        url = await fresh_database(admin_url, BENCH_DATABASE)
        try:
            p = await measure_p(url, args.pgbench_seconds or max(1, round(args.seconds)), folder)
            async with redis_for_bench(folder) as redis_url:
                try:
                    phases = await _run_load(url, redis_url, folder, args)
                finally:
                    await forget_jobs(redis_url, url)
            await _report(url, p, phases, args)
        finally:
            await drop_database(admin_url, BENCH_DATABASE)
    return 0


async def _run_load(url: str, redis_url: str, folder: Path, args: argparse.Namespace) -> list[Phase]:
    provider_id, chamber_id, clients = await seed_clients(url)
    port = free_port()
    with api_server(url, redis_url, port, args.workers, folder / "api.log") as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            programme_id = await seed_programme(http, provider_id, chamber_id, clients)
            recorder = await token(http, clients["recorder"])
            enrolments = await seed_learners(http, provider_id, programme_id, recorder, args.learners)
        seeded = Seeded(provider_id, *clients["recorder"], enrolments)
        warm_up = min(2.0, args.seconds / 5)
        return [await drive(base, seeded, c, args.seconds, warm_up) for c in args.concurrency]


async def _report(url: str, p: float, phases: list[Phase], args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(url)
    try:
        version = await conn.fetchval("SHOW server_version")
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM attempts) AS attempts, (SELECT count(*) FROM outbox) AS events, "
            "(SELECT count(*) FROM audit_log WHERE action = 'attempt.recorded') AS audited"
        )
    finally:
        await conn.close()
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
        f"PostgreSQL {version}; API workers: {args.workers}; {args.learners} learners"
    )
    print(f"P (pgbench, 8 clients, one {ROW_BYTES} B INSERT per transaction, synchronous commit): {p:,.0f} tps")
    print(f"{'clients':>7}  {'attempts/s':>10}  {'p50 ms':>7}  {'p99 ms':>7}  {'ratio to P':>10}  errors")
    for phase in phases:
        errors = ", ".join(f"{status}×{n}" for status, n in sorted(phase.errors.items())) or "none"
        print(
            f"{phase.concurrency:>7}  {phase.rate:>10,.0f}  {phase.percentile(0.5):>7.1f}  "
            f"{phase.percentile(0.99):>7.1f}  {phase.rate / p:>10.2f}  {errors}"
        )
    print(
        f"stored: {counts['attempts']} attempts (warm-up included), {counts['events']} outbox events, "
        f"{counts['audited']} audit entries"
    )
    best = max(phase.rate for phase in phases) / p
    eight = next((phase.percentile(0.99) for phase in phases if phase.concurrency == 8), None)
    print(f"target ratio ≥ 0.30: {'met' if best >= 0.3 else 'missed'} ({best:.2f})", end="; ")
    print(
        "target p99 ≤ 10 ms at 8 clients: "
        + ("not run" if eight is None else f"{'met' if eight <= 10 else 'missed'} ({eight:.1f} ms)")
    )


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per concurrency (20)")
    parser.add_argument(
        "--concurrency", type=lambda v: [int(c) for c in v.split(",")], default=[8, 50], help="clients (8,50)"
    )
    parser.add_argument("--learners", type=int, default=200, help="learners enrolled (200)")
    parser.add_argument("--workers", type=int, default=1, help="API server processes (1, as `make run`)")
    parser.add_argument("--pgbench-seconds", type=int, default=0, help="pgbench duration (default: --seconds)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(arguments())))
