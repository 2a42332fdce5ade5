"""Credentials issued per second through the worker, and credentials verified per second at ``POST /verify``,
set against what this machine's PostgreSQL can commit (P).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/issue.py \
        [--cohort 100000] [--workers 3] [--api-workers 2] [--chunk 100] [--seconds 20] [--concurrency 8,50]

It creates a fresh database ``guildhall_bench_issue`` on DATABASE_URL's server and migrates it; measures P with
the pgbench bundled in pgserver exactly as ``bench/record.py`` does; starts the API as ``compose.yaml`` does
(``guildhall serve --workers 2``) and through it seeds a provider that is its programme's awarding body, with an
Ed25519 signing key, and a published one-unit programme (approved by a chamber, with no co-signer, so that
credentials are issued at once); records one passing attempt through the API and copies it, in SQL, into
``--cohort`` learners, each enrolled and with one passing attempt and its ``attempt.passed`` outbox event (the
cohort is about issuing, not recording).

Then it starts ``--workers`` ``guildhall worker`` processes (3, as compose.yaml does), hands the events to them in
jobs of ``--chunk`` events, as the outbox sweep does, and measures the time until every credential exists,
signed, and until every event (the ``credential.issued`` follow-ups too) is done. Then it posts the issued VC-JWTs (a sample)
to ``POST /verify`` from 8, then 50, concurrent clients for ``--seconds`` each.

It prints credentials/s and the ratio to P, verifications/s with p50/p99 latency, the CPU that workers, API
and PostgreSQL spent per credential and per verification, and whether the targets are met; then cleans up:
processes stopped, database dropped, its Redis keys deleted. Without REDIS_URL an embedded Redis is used;
with it, it must name a Redis database nothing else uses (the workers take every job queued there).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import itertools
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from a checkout

from api.dev import child_environment, new_master_key  # noqa: E402
from api.queue import JobQueue, client  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.worker import SWEEP_JOB_SIZE  # noqa: E402
from bench import loop_steps  # noqa: E402
from bench.benchdb import drop_database, fresh_database  # noqa: E402
from bench.common import (  # noqa: E402
    GUILDHALL,
    ROW_BYTES,
    Connection,
    CpuProbe,
    Phase,
    api_server,
    bench_profile,
    bench_programme,
    collector_held_off,
    free_port,
    machine,
    measure_p,
    ok,
    processes,
    redis_for_bench,
    run_main,
    server_version,
    token,
)
from domain.credentials import multikey  # noqa: E402
from domain.credentials.data_integrity import pool as proof_pool  # noqa: E402
from domain.credentials.data_integrity import proofs  # noqa: E402
from domain.credentials.envelopes import JWT_CLAIMS  # noqa: E402
from domain.credentials.keys import create_key, did_web  # noqa: E402
from domain.db import Database  # noqa: E402
from domain.keys import decrypt  # noqa: E402
from domain.oauth.clients import create_client  # noqa: E402
from domain.oauth.models import ClientCreate  # noqa: E402
from domain.organisations.models import OrganisationCreate  # noqa: E402
from domain.organisations.service import create_organisation  # noqa: E402
from domain.writes import Actor  # noqa: E402

BENCH_DATABASE = "guildhall_bench_issue"
OPERATOR = Actor(request_id="bench-issue")
WORKER_START_TIMEOUT = 30.0
SAMPLE = 2000  # VC-JWTs posted to /verify, in turn

# Targets (2-core machine).
ISSUE_RATIO = 0.2  # credentials/s ≥ 0.2·P
COHORT_SECONDS = 30.0  # 100,000 credentials end to end
VERIFY_RATE = 3000.0  # verifications/s at 8 clients
VERIFY_P99_MS = 10.0
DI_PER_CORE = 450.0  # Data Integrity proofs/s per core (3x the DCC's Node signing service)
DI_COHORT_SECONDS = 120.0  # 100,000 credentials with their Data Integrity proofs, on 2 cores
DI_TASK = 100  # credentials per task handed to a proof process
DI_BATCH = 2000  # credentials read from PostgreSQL at a time


@dataclass
class Issuing:
    cohort: int
    workers: int
    chunk: int
    dispatched: float = 0.0  # seconds to hand out every job
    credentials: float | None = None  # seconds until every credential exists, signed
    drained: float | None = None  # seconds until every outbox event is done
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by part until every credential exists
    progress: list[tuple[float, int]] = field(default_factory=list)  # (seconds, credentials)
    loop_steps: list[dict[str, Any]] = field(default_factory=list)  # per worker, with --loop-steps
    data_integrity: DataIntegrity | None = None

    @property
    def rate(self) -> float:
        return self.cohort / self.credentials if self.credentials else 0.0

    def rates(self, step: float) -> list[float]:
        """Credentials per second in each ``step`` seconds until the last was issued."""
        rates, mark, count = [], step, 0
        for seconds, issued in self.progress:
            if seconds >= mark or issued >= self.cohort:
                rates.append((issued - count) / (seconds - mark + step))
                mark, count = seconds + step, issued
            if issued >= self.cohort:
                break
        return rates

    def cpu_ms_per_credential(self, part: str) -> float:
        return self.cpu.get(part, float("nan")) * 1000 / self.cohort


@dataclass
class DataIntegrity:
    """Every issued credential's Data Integrity proof made by the proof pool and stored, as the first requests
    for the credentials' JSON would (``data_integrity.forms``), all at once."""

    proofs: int = 0
    processes: int = 0
    seconds: float = 0.0  # wall clock, reading payloads to storing proofs
    cpu: float = 0.0  # CPU seconds the proof processes spent making proofs (canonicalising, hashing, signing)
    checked: int = 0  # a sample of the stored proofs, verified afterwards
    failed: int = 0

    @property
    def rate(self) -> float:
        return self.proofs / self.seconds if self.seconds else 0.0

    @property
    def per_core(self) -> float:
        return self.proofs / self.cpu if self.cpu else 0.0


# --- Seeding --------------------------------------------------------------------------------------


def _organisation(name: str, kind: str) -> OrganisationCreate:
    return OrganisationCreate(kind=kind, name={"en": name}, default_language="en", country="DE")  # type: ignore[arg-type]


async def seed_clients(url: str, master_key: bytes) -> tuple[UUID, UUID, dict[str, tuple[str, str]]]:
    """A VET provider (the awarding body, with an Ed25519 signing key) and a chamber (it approves), with
    their clients."""
    db = await Database.connect(url, min_size=1, max_size=2)
    try:
        provider = await create_organisation(db, OPERATOR, _organisation("Bench Automation Academy", "vet_provider"))
        chamber = await create_organisation(db, OPERATOR, _organisation("Bench Chamber", "chamber"))
        clients = {}
        for role, org, scopes in (
            ("provider", provider.id, ["programmes:write", "assessments:write", "credentials:issue"]),
            ("chamber", chamber.id, ["programmes:write"]),
        ):
            made = await create_client(db, OPERATOR, org, ClientCreate(name=f"bench {role}", scopes=scopes))
            assert made.client_secret is not None
            clients[role] = (made.client_id, made.client_secret)
        await create_key(db, OPERATOR, provider.id, "Ed25519", master_key=master_key)
        return provider.id, chamber.id, clients
    finally:
        await db.close()


async def seed_through_api(
    http: httpx.AsyncClient, provider_id: UUID, chamber_id: UUID, clients: dict[str, tuple[str, str]]
) -> UUID:
    """The programme and one passing attempt: its id, the model of the cohort's."""
    provider, chamber = await token(http, clients["provider"]), await token(http, clients["chamber"])
    profile = await ok(http.post("/occupational-profiles", headers=provider, json=bench_profile()))
    content = bench_programme(profile["id"], str(provider_id), str(chamber_id), cosigned=False)
    pid: str = (await ok(http.post("/programmes", headers=provider, json={"content": content})))["designId"]
    await ok(http.put(f"/programmes/{pid}/coauthors/{chamber_id}", headers=provider, json={"roles": ["approver"]}))
    await ok(http.post(f"/programmes/{pid}/versions/1/proposal", headers={**provider, "If-Match": '"v1"'}))
    decided = await ok(
        http.post(f"/programmes/{pid}/versions/1/decisions", headers=chamber, json={"decision": "approve"})
    )
    assert decided["status"] == "published", decided
    learners = f"/organisations/{provider_id}/learners"
    learner = await ok(http.post(learners, headers=provider, json={"name": "Model", "email": "model@bench.example"}))
    enrolment = await ok(
        http.post(f"{learners}/{learner['id']}/enrolments", headers=provider, json={"programmeId": pid})
    )
    body = {
        "learnerId": learner["id"],
        "enrolmentId": enrolment["id"],
        "unitKey": "u1",
        "assessedAt": "2026-11-20T10:00:00Z",
        "supervision": "supervised_identity_check_onsite",
        "submission": {
            "mode": "outcome_based",
            "judgements": [
                {"outcome": "lo1", "achieved": True, "note": "Sorting station runs the full cycle"},
                {"outcome": "lo2", "achieved": True, "note": "Lock-out procedure observed"},
            ],
        },
    }
    attempt = await ok(http.post(f"/organisations/{provider_id}/attempts", headers=provider, json=body))
    assert attempt["decision"]["passed"], attempt
    return UUID(attempt["id"])


COPY_COHORT = """
WITH model AS (
    SELECT a.*, o.payload AS event_payload
    FROM attempts a
    JOIN outbox o ON o.topic = 'attempt.passed' AND o.payload->>'attemptId' = a.id::text
    WHERE a.id = $1
),
new_learners AS (
    INSERT INTO learners (provider_id, name, email, email_canonical, email_salt)
    SELECT m.provider_id, 'Learner ' || i, 'learner' || i || '@cohort.example', 'learner' || i || '@cohort.example',
           md5(i::text || random()::text)
    FROM model m, generate_series($2::integer, $3::integer - 1) AS i
    RETURNING id, provider_id
),
new_enrolments AS (
    INSERT INTO enrolments (provider_id, learner_id, version_id)
    SELECT l.provider_id, l.id, m.version_id FROM new_learners l, model m
    RETURNING id, learner_id
),
new_attempts AS (
    INSERT INTO attempts (provider_id, learner_id, enrolment_id, version_id, unit_key, attempt_number,
                          assessor_person_id, assessed_at, place, supervision, submission, evidence, decision,
                          passed, source, recorded_by_client, recorded_by_person)
    SELECT m.provider_id, e.learner_id, e.id, m.version_id, m.unit_key, 1, m.assessor_person_id, m.assessed_at,
           m.place, m.supervision, m.submission, m.evidence, m.decision, m.passed, m.source, m.recorded_by_client,
           m.recorded_by_person
    FROM new_enrolments e, model m
    RETURNING id, learner_id
)
-- As recording emits it; marked dispatched, so that the workers' sweep leaves them to this benchmark.
INSERT INTO outbox (topic, organisation_id, subject, payload, dispatched_at)
SELECT 'attempt.passed', m.provider_id,
       'learner/' || a.learner_id || '/' || (m.event_payload->>'programmeId') || '/' || m.unit_key,
       m.event_payload || jsonb_build_object('attemptId', a.id, 'learnerId', a.learner_id), now()
FROM new_attempts a, model m
"""


async def seed_cohort(url: str, model_attempt: UUID, cohort: int) -> list[int]:
    """``cohort`` learners, each enrolled with one passing attempt like the model and its event; their ids.
    The model's own events are marked done: the cohort is what is measured."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE outbox SET done_at = now() WHERE done_at IS NULL")
        step = 20_000
        for start in range(0, cohort, step):
            await conn.execute(COPY_COHORT, model_attempt, start, min(cohort, start + step))
        # Vacuumed and analysed, as the tables of a database in service are: no autovacuum of the seeding's rows
        # (nor first reads setting their hint bits) runs into the measurement.
        await conn.execute("VACUUM (ANALYZE) learners, enrolments, attempts, outbox")
        await conn.execute("ANALYZE")
        await conn.execute("CHECKPOINT")  # the seeding's writes flushed before the clock starts
        rows = await conn.fetch("SELECT id FROM outbox WHERE done_at IS NULL ORDER BY id")
    finally:
        await conn.close()
    return [r["id"] for r in rows]


# --- Issuing --------------------------------------------------------------------------------------


# Polled while the workers run: both read the outbox's partial index of pending events, which shrinks as they
# go (a count over the credentials table would cost PostgreSQL more than the issuing it watches). A passing
# decision's event is done in the transaction that stores its credential.
REMAINING = "SELECT count(*) FROM outbox WHERE done_at IS NULL AND topic = 'attempt.passed'"
UNDONE = "SELECT EXISTS (SELECT 1 FROM outbox WHERE done_at IS NULL)"
# What autovacuum's analyse does for the tables issuing fills (the shared test server runs with autovacuum off):
# their size in the statistics, and the cached plans of every connection invalidated. Without it the plans made
# while `credentials` was empty stay — among them the foreign-key check of each new signature, which then reads
# the whole credentials table: PostgreSQL's CPU per credential grows with every credential issued. One column
# each: the sizes are what matters, and the payloads are not read.
ANALYSE = "ANALYZE credentials (id), credential_signatures (credential_id), audit_log (id), outbox (id)"


async def forget_jobs(redis_url: str) -> None:
    """Deletes what arq keeps in this Redis database (jobs, results, queue, health and cron keys)."""
    redis = client(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match="arq:*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
    finally:
        await redis.aclose()


async def redis_is_free(redis_url: str) -> bool:
    redis = client(redis_url)
    try:
        return int(await redis.dbsize()) == 0
    finally:
        await redis.aclose()


async def wait_for_workers(logs: list[Path], workers: list[Any]) -> None:
    """Until each worker has started (arq logs "Starting worker"); a worker that exits is an error."""
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while time.monotonic() < deadline:
        for process, log in zip(workers, logs, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"a worker exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        if all("Starting worker" in log.read_text(errors="replace") for log in logs):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the workers did not start within {WORKER_START_TIMEOUT:.0f} s; see {logs}")


async def issue(
    url: str, redis_url: str, env: dict[str, str], event_ids: list[int], args: argparse.Namespace, folder: Path
) -> Issuing:
    """Starts the workers, hands out the events in chunks, and times the cohort's issuing."""
    result = Issuing(len(event_ids), args.workers, args.chunk)
    logs = [folder / f"worker{n}.log" for n in range(args.workers)]
    commands, program = [["worker"]] * args.workers, str(GUILDHALL)
    if args.loop_steps:  # the same workers, with a probe on their event loops (bench/loop_steps.py)
        steps_dir = folder / "loop-steps"
        steps_dir.mkdir()
        env = {**env, "GUILDHALL_LOOP_STEPS_DIR": str(steps_dir)}
        commands, program = [[str(ROOT / "bench" / "loop_steps.py"), "worker"]] * args.workers, sys.executable
    with processes(commands, env, logs, program=program) as workers:
        await wait_for_workers(logs, workers)
        probe = CpuProbe(url, {f"worker{n}": w.pid for n, w in enumerate(workers)})
        conn = await asyncpg.connect(url)
        redis = client(redis_url)
        try:
            before = await probe.sample()
            started = time.perf_counter()
            queue = JobQueue(redis)
            chunks = [event_ids[i : i + args.chunk] for i in range(0, len(event_ids), args.chunk)]
            for first in range(0, len(chunks), 20):  # 20 enqueues in flight at a time
                await asyncio.gather(*(queue.dispatch(chunk) for chunk in chunks[first : first + 20]))
            result.dispatched = time.perf_counter() - started
            deadline, analysed = started + args.timeout, started
            while time.perf_counter() < deadline:
                issued = result.cohort - await conn.fetchval(REMAINING)
                now = time.perf_counter() - started
                if args.analyse and time.perf_counter() - analysed >= args.analyse:
                    await conn.execute(ANALYSE)
                    analysed = time.perf_counter()
                result.progress.append((now, issued))
                if issued >= result.cohort and result.credentials is None:
                    result.credentials = now
                    result.cpu = probe.used(before, await probe.sample())
                if result.credentials is not None and not await conn.fetchval(UNDONE):
                    result.drained = time.perf_counter() - started
                    break
                await asyncio.sleep(0.25)
        finally:
            await redis.aclose()
            await conn.close()
        for process, log in zip(workers, logs, strict=True):
            if process.poll() is not None:
                print(f"a worker exited early ({process.returncode}):\n{log.read_text()[-2000:]}", file=sys.stderr)
    if args.loop_steps:  # written by each worker as it exited
        result.loop_steps = [json.loads(path.read_text()) for path in sorted(steps_dir.glob("*.json"))]
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
            for path in steps_dir.glob("*.json"):
                shutil.copy(path, args.logs / f"loop-steps-{path.name}")
    return result


# --- Verifying ------------------------------------------------------------------------------------


DI_CREDENTIALS = """
SELECT c.id, c.payload, s.organisation_id, s.kid, s.signed_at
FROM credentials c JOIN credential_signatures s ON s.credential_id = c.id
WHERE c.payload IS NOT NULL AND c.id > $1
ORDER BY c.id
LIMIT $2
"""


def _di_key(row: Any, master_key: bytes) -> proofs.SigningKey:
    private = msgspec.json.decode(decrypt(master_key, row["private_key_ciphertext"], row["kid"].encode()))
    d = private["d"]
    return proofs.SigningKey("Ed25519", base64.urlsafe_b64decode(d + "=" * (-len(d) % 4)))


async def data_integrity(url: str, master_key: bytes, public_url: str, processes: int) -> DataIntegrity:
    """Makes and stores a DataIntegrityProof (eddsa-rdfc-2022) for every issued credential with ``processes``
    proof processes, reading payloads in batches and keeping two tasks per process in flight."""
    result = DataIntegrity(processes=processes)
    conn = await asyncpg.connect(url)
    writers = await asyncpg.create_pool(url, min_size=1, max_size=processes)
    executor = concurrent.futures.ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("forkserver"))
    loop = asyncio.get_running_loop()
    try:
        keys = {
            r["kid"]: _di_key(r, master_key)
            for r in await conn.fetch(
                "SELECT kid, private_key_ciphertext FROM signing_keys WHERE purpose = 'credential' "
                "AND alg IN ('Ed25519', 'EdDSA')"
            )
        }
        # The processes started (and the modules imported) before the clock starts, as in a running server.
        await asyncio.gather(
            *(loop.run_in_executor(executor, proof_pool.create_many, [], public_url) for _ in range(processes))
        )
        started, last = time.perf_counter(), UUID(int=0)
        pending: set[asyncio.Future[Any]] = set()

        async def store(done: asyncio.Future[Any], ids: list[tuple[UUID, UUID, str]]) -> None:
            made, cpu = await done
            result.cpu += cpu
            result.proofs += len(made)
            records = [(c, o, k, msgspec.json.encode(p[0]).decode()) for (c, o, k), p in zip(ids, made, strict=True)]
            async with writers.acquire() as writer:
                await writer.copy_records_to_table(
                    "credential_proofs", records=records, columns=["credential_id", "organisation_id", "kid", "proof"]
                )

        while True:
            rows = await conn.fetch(DI_CREDENTIALS, last, DI_BATCH)
            if not rows:
                break
            last = rows[-1]["id"]
            for first in range(0, len(rows), DI_TASK):
                task = rows[first : first + DI_TASK]
                items = [
                    (
                        bytes(r["payload"]),
                        [
                            proofs.Signer(
                                keys[r["kid"]],
                                multikey.verification_method_id(did_web(public_url, r["organisation_id"]), r["kid"]),
                                r["signed_at"].astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                            )
                        ],
                    )
                    for r in task
                ]
                future = loop.run_in_executor(executor, proof_pool.create_many, items, public_url, JWT_CLAIMS)
                pending.add(
                    asyncio.ensure_future(store(future, [(r["id"], r["organisation_id"], r["kid"]) for r in task]))
                )
                while len(pending) >= 2 * processes:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for finished in done:
                        finished.result()
        await asyncio.gather(*pending)
        result.seconds = time.perf_counter() - started
        await _check_sample(conn, public_url, result)
    finally:
        executor.shutdown(cancel_futures=True)
        await writers.close()
        await conn.close()
    return result


DI_SAMPLE = """
SELECT c.payload, p.proof::text AS proof, k.public_jwk::text AS jwk
FROM credential_proofs p
JOIN credentials c ON c.id = p.credential_id
JOIN signing_keys k ON k.kid = p.kid
ORDER BY random()
LIMIT 50
"""


async def _check_sample(conn: asyncpg.Connection, public_url: str, result: DataIntegrity) -> None:
    """50 stored proofs, picked at random, verified against the signer's public key."""
    for row in await conn.fetch(DI_SAMPLE):
        document = msgspec.json.decode(row["payload"])
        for name in JWT_CLAIMS:
            document.pop(name, None)
        jwk = msgspec.json.decode(row["jwk"])
        problems = proofs.verify_set(document, [(msgspec.json.decode(row["proof"]), jwk)], public_url)
        result.checked += 1
        result.failed += problems != [None]


async def sample_jwts(url: str, count: int) -> list[str]:
    """VC-JWTs of issued credentials, chosen at random: the compact JWS of payload and issuer signature."""
    from domain.credentials.envelopes import Signature

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT c.payload, s.protected, s.signature FROM credentials c "
            "JOIN credential_signatures s ON s.credential_id = c.id AND s.role = 'issuer' "
            "ORDER BY random() LIMIT $1",
            count,
        )
    finally:
        await conn.close()
    return [Signature(r["protected"], r["signature"]).compact(r["payload"]) for r in rows]


async def verify_load(
    port: int, jwts: list[str], concurrency: int, seconds: float, warm_up: float, probe: CpuProbe
) -> tuple[Phase, int]:
    """``concurrency`` clients posting one VC-JWT after another to /verify on keep-alive connections of their
    own; only what runs wholly after the warm-up counts. Also returns how many verdicts were not "valid"."""
    phase = Phase(concurrency, seconds)
    bodies = [msgspec.json.encode({"credential": jwt}) for jwt in jwts]
    turn = itertools.count()
    not_valid = 0
    start = time.perf_counter()
    counted_from, until = start + warm_up, start + warm_up + seconds

    async def one_client() -> None:
        nonlocal not_valid
        connection: Connection | None = None
        while (now := time.perf_counter()) < until:
            body = bodies[next(turn) % len(bodies)]
            try:
                if connection is None:
                    connection = await asyncio.wait_for(Connection.open(port), 10)
                status, answer = await connection.post_reading("/verify", None, body)
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
                if connection is not None:
                    connection.close()
                connection, status, answer = None, 0, b""
            done = time.perf_counter()
            if now < counted_from or done > until:
                continue
            if status == 200:
                phase.latencies.append(done - now)
                if b'"verdict":"valid"' not in answer:
                    not_valid += 1
            else:
                phase.errors[status] = phase.errors.get(status, 0) + 1
        if connection is not None:
            connection.close()

    async def measure() -> None:
        await asyncio.sleep(max(0.0, counted_from - time.perf_counter()))
        before = await probe.sample()
        await asyncio.sleep(max(0.0, until - time.perf_counter()))
        phase.cpu = probe.used(before, await probe.sample())

    with collector_held_off():
        await asyncio.gather(measure(), *(one_client() for _ in range(concurrency)))
    return phase, not_valid


# --- Putting it together --------------------------------------------------------------------------


def keep_logs(folder: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for log in folder.glob("*.log"):
        shutil.copy(log, target / log.name)


async def main(args: argparse.Namespace) -> int:
    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url:
        print("set DATABASE_URL to a PostgreSQL server where a database can be created", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="guildhall-bench-issue-") as tmp:
        folder = Path(tmp)
        async with redis_for_bench(folder) as redis_url:
            if not await redis_is_free(redis_url):
                print(f"the Redis database {redis_url} holds keys: name one nothing else uses", file=sys.stderr)
                return 2
            url = await fresh_database(admin_url, BENCH_DATABASE)
            try:
                p = await measure_p(url, args.pgbench_seconds or max(1, round(args.seconds)), folder)
                issuing, phases = await _run(url, redis_url, folder, args)
                await _report(url, p, issuing, phases, args)
            finally:
                await forget_jobs(redis_url)
                await drop_database(admin_url, BENCH_DATABASE)
                if args.logs:
                    keep_logs(folder, args.logs)
    return 0


async def _run(
    url: str, redis_url: str, folder: Path, args: argparse.Namespace
) -> tuple[Issuing, list[tuple[Phase, int]]]:
    port = free_port()
    # One environment for API and workers: the same master key, and the same public URL in the DIDs.
    env = child_environment(url, redis_url, new_master_key(), port)
    provider_id, chamber_id, clients = await seed_clients(url, Settings.from_env(env).master_key)
    with api_server(env, port, args.api_workers, folder / "api.log") as (base, api_pid):
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            model = await seed_through_api(http, provider_id, chamber_id, clients)
        started = time.perf_counter()
        event_ids = await seed_cohort(url, model, args.cohort)
        print(
            f"seeded {len(event_ids):,} learners with a passing attempt each in {time.perf_counter() - started:.1f} s"
        )
        await forget_jobs(redis_url)  # the model attempt's jobs, whose events are marked done
        issuing = await issue(url, redis_url, env, event_ids, args, folder)
        if issuing.credentials is None:
            return issuing, []
        if args.data_integrity:
            settings = Settings.from_env(env)
            processes_ = args.proof_processes or os.cpu_count() or 1
            di = await data_integrity(url, settings.master_key, settings.issuer, processes_)
            issuing.data_integrity = di
        jwts = await sample_jwts(url, SAMPLE)
        probe = CpuProbe(url, {"api": api_pid}, lone={"load": os.getpid()})
        warm_up = min(2.0, args.seconds / 5)
        phases = [await verify_load(port, jwts, c, args.seconds, warm_up, probe) for c in args.concurrency]
    return issuing, phases


async def _report(
    url: str, p: float, issuing: Issuing, phases: list[tuple[Phase, int]], args: argparse.Namespace
) -> None:
    conn = await asyncpg.connect(url)
    try:
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM credentials) AS credentials, "
            "(SELECT count(*) FROM credentials WHERE state = 'issued' AND payload IS NOT NULL) AS signed, "
            "(SELECT count(*) FROM credential_signatures) AS signatures, "
            "(SELECT count(*) FROM audit_log WHERE action = 'credential.issued') AS audited, "
            "(SELECT count(*) FROM outbox WHERE topic = 'credential.issued') AS events, "
            "(SELECT count(*) FROM outbox WHERE done_at IS NULL) AS undone, "
            "(SELECT pg_size_pretty(pg_database_size(current_database()))) AS size, "
            "(SELECT heap_blks_hit + heap_blks_read FROM pg_statio_user_tables WHERE relname = 'credentials') "
            "AS credential_pages"
        )
    finally:
        await conn.close()
    print(f"machine: {machine(await server_version(url))}; load average now {os.getloadavg()[0]:.1f}")
    print(f"P (pgbench, 8 clients, one {ROW_BYTES} B INSERT per transaction, synchronous commit): {p:,.0f} tps")
    print(
        f"issuing: {issuing.cohort:,} passing decisions, {issuing.workers} `guildhall worker` processes, jobs of "
        f"{issuing.chunk} events (handed out in {issuing.dispatched:.1f} s)"
    )
    if issuing.credentials is None:
        last = issuing.progress[-1] if issuing.progress else (0.0, 0)
        print(f"  NOT DONE within {args.timeout:.0f} s: {last[1]:,} credentials after {last[0]:.1f} s")
    else:
        drained = f"{issuing.drained:.1f} s" if issuing.drained is not None else f"not within {args.timeout:.0f} s"
        print(
            f"  every credential signed and stored after {issuing.credentials:.1f} s: {issuing.rate:,.0f} "
            f"credentials/s, {issuing.rate / p:.2f}·P; every event done (the follow-ups too) after {drained}"
        )
        print(f"  credentials/s by 10 s: {', '.join(f'{rate:,.0f}' for rate in issuing.rates(10.0))}")
        cores = os.cpu_count() or 1
        ours = {part: seconds for part, seconds in issuing.cpu.items() if part != "machine"}
        others = issuing.cpu.get("machine", 0.0) - sum(ours.values())
        print(
            "  CPU ms per credential: "
            + ", ".join(f"{part} {issuing.cpu_ms_per_credential(part):.2f}" for part in sorted(ours))
            + f"; the machine had {cores * issuing.credentials / issuing.cohort * 1000:.2f} ms of its {cores} "
            f"cores' time per credential, of which other processes used {others * 1000 / issuing.cohort:.2f} ms"
        )
    print(
        f"  stored: {counts['credentials']:,} credentials ({counts['signed']:,} issued and signed), "
        f"{counts['signatures']:,} signatures, {counts['audited']:,} audit entries, {counts['events']:,} "
        f"credential.issued events; {counts['undone']} events not done; database {counts['size']}; "
        f"{counts['credential_pages'] / max(1, counts['credentials']):,.0f} reads of the credentials table's "
        "pages per credential"
    )
    for n, steps in enumerate(issuing.loop_steps):
        print(f"  event loop of worker {n} (CPU per step, the whole run): {loop_steps.report(steps)}")
    di = issuing.data_integrity
    if di is not None:
        print(
            f"Data Integrity proofs (eddsa-rdfc-2022, RDFC-1.0 by pyoxigraph), {di.processes} proof processes: "
            f"{di.proofs:,} made and stored in {di.seconds:.1f} s, {di.rate:,.0f} proofs/s; "
            f"{di.per_core:,.0f} proofs/s per core of CPU ({di.cpu * 1000 / max(1, di.proofs):.2f} ms CPU a proof); "
            f"a random sample of {di.checked} verified afterwards, {di.failed} failed"
        )
    if phases:
        print(
            f"verification, POST /verify with the VC-JWTs of {SAMPLE} credentials, {args.api_workers} API process(es):"
        )
        print(
            f"{'clients':>7}  {'verified/s':>10}  {'p50 ms':>7}  {'p99 ms':>7}  {'API CPU ms':>10}  "
            f"{'PG CPU ms':>9}  {'load ms':>7}  {'others ms':>9}  not valid  errors"
        )
        for phase, not_valid in phases:
            errors = ", ".join(f"{status}×{n}" for status, n in sorted(phase.errors.items())) or "none"
            print(
                f"{phase.concurrency:>7}  {phase.rate:>10,.0f}  {phase.percentile(0.5):>7.1f}  "
                f"{phase.percentile(0.99):>7.1f}  {phase.cpu_ms_per_request('api'):>10.2f}  "
                f"{phase.cpu_ms_per_request('postgres'):>9.2f}  {phase.cpu_ms_per_request('load'):>7.2f}  "
                f"{others_ms(phase):>9.2f}  {not_valid:>9}  {errors}"
            )
    ratio = issuing.rate / p
    print(f"target issuing ≥ {ISSUE_RATIO}·P: {'met' if ratio >= ISSUE_RATIO else 'missed'} ({ratio:.2f})", end="; ")
    seconds = issuing.credentials * 100_000 / issuing.cohort if issuing.credentials else float("nan")
    print(
        f"100,000 in ≤ {COHORT_SECONDS:.0f} s: {'met' if seconds <= COHORT_SECONDS else 'missed'} ({seconds:.1f} s"
        + ("" if issuing.cohort == 100_000 else f", scaled from {issuing.cohort:,}")
        + ")"
    )
    if di is not None and issuing.credentials:
        with_di = (issuing.credentials + di.seconds) * 100_000 / issuing.cohort
        print(
            f"target Data Integrity ≥ {DI_PER_CORE:.0f} proofs/s per core: "
            f"{'met' if di.per_core >= DI_PER_CORE else 'missed'} ({di.per_core:,.0f}); 100,000 with their proofs "
            f"in ≤ {DI_COHORT_SECONDS:.0f} s: {'met' if with_di <= DI_COHORT_SECONDS else 'missed'} ({with_di:.1f} s"
            + ("" if issuing.cohort == 100_000 else f", scaled from {issuing.cohort:,}")
            + ")"
        )
    eight = next((phase for phase, _ in phases if phase.concurrency == 8), None)
    if eight is None:
        print("target verification at 8 clients: not run")
    else:
        rate_met, p99_met = eight.rate >= VERIFY_RATE, eight.percentile(0.99) <= VERIFY_P99_MS
        print(
            f"target verification ≥ {VERIFY_RATE:,.0f}/s at 8 clients: {'met' if rate_met else 'missed'} "
            f"({eight.rate:,.0f}/s); p99 ≤ {VERIFY_P99_MS:.0f} ms: {'met' if p99_met else 'missed'} "
            f"({eight.percentile(0.99):.1f} ms)"
        )


def others_ms(phase: Phase) -> float:
    """CPU ms per verification that processes other than the API, its PostgreSQL backends and the load generator
    used: other people's work on the machine."""
    ours = sum(seconds for part, seconds in phase.cpu.items() if part != "machine")
    return (phase.cpu.get("machine", 0.0) - ours) * 1000 / len(phase.latencies) if phase.latencies else float("nan")


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cohort", type=int, default=100_000, help="passing decisions to issue (100000)")
    parser.add_argument(
        "--workers", type=int, default=3, help="`guildhall worker` processes (3, as compose.yaml runs on 2 cores)"
    )
    parser.add_argument(
        "--chunk",
        type=int,
        default=SWEEP_JOB_SIZE,
        help=f"events per job ({SWEEP_JOB_SIZE}, as the sweep hands them out)",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="give up issuing after this many seconds")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per /verify concurrency (20)")
    parser.add_argument(
        "--concurrency", type=lambda v: [int(c) for c in v.split(",")], default=[8, 50], help="clients (8,50)"
    )
    parser.add_argument(
        "--api-workers", type=int, default=2, help="API server processes (2, as compose.yaml runs on 2 cores)"
    )
    parser.add_argument(
        "--analyse",
        type=float,
        default=2.0,
        help="seconds between ANALYZEs of the growing tables while issuing, as autovacuum would (2; 0: none)",
    )
    parser.add_argument(
        "--no-data-integrity",
        dest="data_integrity",
        action="store_false",
        help="skip making every credential's Data Integrity proof after issuing",
    )
    parser.add_argument(
        "--proof-processes", type=int, default=0, help="proof processes for Data Integrity (0: one per core)"
    )
    parser.add_argument(
        "--loop-steps",
        action="store_true",
        help="measure the CPU time of every step of the workers' event loops (bench/loop_steps.py)",
    )
    parser.add_argument("--logs", type=Path, help="a folder to keep the API's and workers' logs in")
    parser.add_argument("--pgbench-seconds", type=int, default=0, help="pgbench duration (default: --seconds)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run_main(main(arguments())))
