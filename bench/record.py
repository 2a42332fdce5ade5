"""Attempts recorded per second over HTTP, set against what this machine's PostgreSQL can commit (P).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/record.py [--seconds 20] [--concurrency 8,50] [--learners 2000] [--rounds 3]

It creates a fresh database ``guildhall_bench`` on DATABASE_URL's server and migrates it; measures P with
the pgbench bundled in pgserver (a custom script inserting one ~1.5 kB row per transaction, 8 clients,
synchronous commit on); seeds a provider with a recording client, a published programme whose unit is
assessed on learning outcomes without a maximum of attempts, and learners enrolled in it; starts the API as
``make run`` does (``guildhall serve``, the same environment) on a free loopback port; records attempts for a
warm-up's length and ANALYZEs (as autovacuum would on a live database); then, ``--rounds`` times, loads the
yardsticks — ``bench/floor_app.py``'s ``/rows`` and ``/row``, served beside it — and records attempts, each
concurrency for ``--seconds`` (after a short warm-up for recording), every request a full recording —
authentication, validation, the engine's decision, audit and outbox in one transaction, the outbox event handed
to Redis. Rounds put the yardstick beside what it measures: a shared host's speed drifts by a quarter within
minutes, and the targets are judged on the median of the rounds' ratios. Within a round each phase is taken in
``--slices`` turns (4), the yardsticks' and recording's alternating, so that both meet the same moments. Then it
records again through PgBouncer (no target). It prints attempts/s, p50/p99 latency, the ratio to P and to the
floor, and the CPU one attempt cost each process, and cleans up:
the server stops, the database is dropped, the Redis keys of its jobs are deleted. Without REDIS_URL an
embedded Redis is used.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
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

from api.dev import child_environment, new_master_key  # noqa: E402
from bench.benchdb import drop_database, fresh_database  # noqa: E402
from bench.common import (  # noqa: E402
    ROW_BYTES,
    Connection,
    CpuProbe,
    Phase,
    api_server,
    bench_profile,
    bench_programme,
    collector_held_off,
    free_port,
    measure_p,
    ok,
    redis_for_bench,
    run_main,
    token,
)
from domain.db import Database  # noqa: E402
from domain.oauth.clients import create_client  # noqa: E402
from domain.oauth.models import ClientCreate  # noqa: E402
from domain.organisations.models import OrganisationCreate  # noqa: E402
from domain.organisations.service import create_organisation  # noqa: E402
from domain.writes import Actor  # noqa: E402

BENCH_DATABASE = "guildhall_bench"
SLICE_WARM_UP = 0.3  # seconds each later slice of a phase runs before it counts: connections open, pools fill
OPERATOR = Actor(request_id="bench")


@dataclass(frozen=True)
class Seeded:
    provider_id: UUID
    client_id: str
    client_secret: str
    enrolments: list[tuple[str, str]]  # (learner id, enrolment id)


# --- PostgreSQL: the bench database and the machine's limit P --------------------------------------


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


async def seed_programme(
    http: httpx.AsyncClient, provider_id: UUID, chamber_id: UUID, clients: dict[str, tuple[str, str]]
) -> str:
    """A programme drafted by the provider and approved by the chamber, hence published."""
    designer, chamber = await token(http, clients["designer"]), await token(http, clients["chamber"])
    profile = await ok(http.post("/occupational-profiles", headers=designer, json=bench_profile()))
    content = bench_programme(profile["id"], str(provider_id), str(chamber_id), cosigned=True)
    pid: str = (await ok(http.post("/programmes", headers=designer, json={"content": content})))["designId"]
    roles = {"roles": ["approver", "cosigner"]}
    await ok(http.put(f"/programmes/{pid}/coauthors/{chamber_id}", headers=designer, json=roles))
    await ok(http.post(f"/programmes/{pid}/versions/1/proposal", headers={**designer, "If-Match": '"v1"'}))
    decided = await ok(
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
            learner = await ok(http.post(learners, headers=headers, json=body))
            path = f"{learners}/{learner['id']}/enrolments"
            enrolment = await ok(http.post(path, headers=headers, json={"programmeId": programme_id}))
            return learner["id"], enrolment["id"]

    return list(await asyncio.gather(*(one(i) for i in range(count))))


# --- The API as a real server -------------------------------------------------------------------


async def forget_jobs(redis_url: str, database_url: str) -> None:
    """Deletes the queued jobs of the bench database's outbox events (no worker ran to take them), as the API
    dispatched them: a write alone in a job, or the writes sent together (api/queue.py), whose ids say where their
    events begin — ``outbox:<first>``, ``outbox:<first>..<last>:<count>[:<digest>]``. Those of this Redis database
    that begin at one of the bench database's events go."""
    from arq.constants import default_queue_name, job_key_prefix

    from api.queue import client

    conn = await asyncpg.connect(database_url)
    try:
        last_event = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    finally:
        await conn.close()
    redis = client(redis_url)
    try:
        queued = [job.decode() for job in await redis.zrange(default_queue_name, 0, -1)]
        job_ids = [job for job in queued if (first := _first_event(job)) is not None and first <= last_event]
        for chunk in _chunks(job_ids, 1000):
            await redis.delete(*(job_key_prefix + job for job in chunk))
            await redis.zrem(default_queue_name, *chunk)
    finally:
        await redis.aclose()


def _first_event(job_id: str) -> int | None:
    """The first outbox event an outbox job's id names; None for any other job."""
    found = re.match(r"outbox:(\d+)(?:$|[.:])", job_id)
    return int(found.group(1)) if found else None


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- The load -------------------------------------------------------------------------------------


async def drive(
    base: str,
    seeded: Seeded,
    concurrency: int,
    seconds: float,
    warm_up: float,
    probe: CpuProbe | None = None,
    *,
    keyed: bool = True,
) -> Phase:
    """``concurrency`` clients, each posting one attempt after another on a keep-alive connection of its own,
    each with an ``Idempotency-Key`` of its own when ``keyed`` (as a careful integrator sends); only what runs
    wholly after the warm-up counts. ``probe`` measures the CPU used within the window."""
    phase = Phase(concurrency, seconds)
    keys = secrets.token_hex(6)  # unique across phases and runs
    # Encoded before the clock starts, so the load generator spends its CPU sending rather than encoding: each
    # learner in turn, every fourth attempt failing.
    assessed_at = datetime.now(UTC)
    bodies = [
        msgspec.json.encode(_attempt(learner_id, enrolment_id, n, assessed_at))
        for n, (learner_id, enrolment_id) in enumerate(seeded.enrolments * 4)
    ]
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
            body = bodies[n % len(bodies)]
            try:
                if connection is None:
                    connection = await asyncio.wait_for(Connection.open(port), 10)
                status = await connection.post(path, authorization, body, f"{keys}-{n}" if keyed else None)
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

    async def measure() -> None:
        if probe is None:
            return
        await asyncio.sleep(counted_from - time.perf_counter())
        before = await probe.sample()
        await asyncio.sleep(until - time.perf_counter())
        phase.cpu = probe.used(before, await probe.sample())

    with collector_held_off():
        await asyncio.gather(measure(), *(client() for _ in range(concurrency)))
    return phase


def _attempt(learner_id: str, enrolment_id: str, n: int, assessed_at: datetime) -> dict[str, Any]:
    return {
        "learnerId": learner_id,
        "enrolmentId": enrolment_id,
        "unitKey": "u1",
        "assessedAt": assessed_at.isoformat(),
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


@dataclass
class Round:
    """One round: the floor app's ``/rows`` and ``/row``, then recording, at each concurrency, back to back."""

    recording: list[Phase] = field(default_factory=list)
    floor: dict[tuple[str, int], Phase] = field(default_factory=dict)  # (path, clients) -> phase


@dataclass
class Results:
    rounds: list[Round]  # the API on PostgreSQL directly, with its yardsticks
    pooled: list[Phase] = field(default_factory=list)  # the API through PgBouncer in transaction mode


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
                    results = await _run_load(url, redis_url, folder, args)
                finally:
                    await forget_jobs(redis_url, url)
            await _report(url, p, results, args)
        finally:
            await drop_database(admin_url, BENCH_DATABASE)
    return 0


@asynccontextmanager
async def _floor(url: str, folder: Path, args: argparse.Namespace) -> AsyncIterator[tuple[int, int] | None]:
    """The yardstick's server, in the same database: bench/floor_app.py (``/rows``: one INSERT in BEGIN … COMMIT;
    ``/row``: the INSERT alone), served as Guildhall is; None with --no-floor."""
    if not args.floor:
        yield None
        return
    from bench import floor

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE floor_rows (id bigserial PRIMARY KEY, payload text NOT NULL)")
    finally:
        await conn.close()
    try:
        async with floor.floor_server(url, args.workers, folder) as server:
            yield server
    finally:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP TABLE floor_rows")
        finally:
            await conn.close()


async def _run_load(url: str, redis_url: str, folder: Path, args: argparse.Namespace) -> Results:
    """Seeds, primes, then ``--rounds`` rounds of the floor's phases and recording's, back to back: a machine
    whose speed drifts (a shared host's does) moves the yardstick with what it measures."""
    from bench import floor

    provider_id, chamber_id, clients = await seed_clients(url)
    port = free_port()
    key = new_master_key()
    env = child_environment(url, redis_url, key, port)
    with api_server(env, port, args.workers, folder / "api.log") as (base, pid):
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            programme_id = await seed_programme(http, provider_id, chamber_id, clients)
            recorder = await token(http, clients["recorder"])
            enrolments = await seed_learners(http, provider_id, programme_id, recorder, args.learners)
        seeded = Seeded(provider_id, *clients["recorder"], enrolments)
        warm_up = min(2.0, args.seconds / 5)
        await prime(url, base, seeded, max(args.concurrency), warm_up, keyed=args.keys)
        probe = CpuProbe(url, {"api": pid}, {"load": os.getpid()})
        results = Results([])
        # Each phase of a round is taken in --slices turns, the yardsticks' and recording's alternating: this
        # machine's speed changes within seconds, and phases taken whole, one after the other, met different
        # machines (one round measured the floor at its slowest and recording at its fastest).
        piece = args.seconds / max(1, args.slices)
        async with _floor(url, folder, args) as floor_app:
            for _ in range(args.rounds):
                this = Round()
                for turn in range(max(1, args.slices)):
                    settle = warm_up if turn == 0 else SLICE_WARM_UP
                    if floor_app is not None:
                        floor_port, floor_pid = floor_app
                        floor_probe = CpuProbe(url, {"api": floor_pid}, {"load": os.getpid()})
                        for path in ("/rows", "/row"):
                            for c in args.concurrency:
                                more = await floor.drive(floor_port, path, c, piece, floor_probe, warm_up=settle)
                                so_far = this.floor.get((path, c))
                                this.floor[(path, c)] = more if so_far is None else so_far.then(more)
                    for n, c in enumerate(args.concurrency):
                        more = await drive(base, seeded, c, piece, settle, probe, keyed=args.keys)
                        if turn == 0:
                            this.recording.append(more)
                        else:
                            this.recording[n] = this.recording[n].then(more)
                results.rounds.append(this)
    if args.pgbouncer:
        from tests.pgbouncer import available, pgbouncer, through

        if not available():
            print("pgbouncer is not installed: the run through PgBouncer is left out", file=sys.stderr)
            return results
        with pgbouncer(url) as bouncer:
            port = free_port()
            pooled = child_environment(through(url, bouncer), redis_url, key, port)
            pooled.update({"DB_STATEMENT_CACHE_SIZE": "0", "DATABASE_DIRECT_URL": url})
            with api_server(pooled, port, args.workers, folder / "api-pgbouncer.log") as (base, pid):
                await drive(base, seeded, max(args.concurrency), warm_up, 0, keyed=args.keys)  # the pools fill
                probe = CpuProbe(url, {"api": pid}, {"load": os.getpid()})
                results.pooled = [
                    await drive(base, seeded, c, args.seconds, warm_up, probe, keyed=args.keys)
                    for c in args.concurrency
                ]
    return results


async def prime(url: str, base: str, seeded: Seeded, concurrency: int, seconds: float, *, keyed: bool) -> None:
    """Records attempts for a while, then ANALYZEs, as autovacuum soon does on a live database: planned on the
    fresh database's empty tables, the server's cached generic plans may take an index that suits an empty table
    and not a full one (they once counted a learner's attempts by scanning every attempt at the programme version,
    through an index since dropped), and keep doing so as the table grows."""
    await drive(base, seeded, concurrency, seconds, 0, keyed=keyed)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ANALYZE")  # invalidates the cached plans: the next executions plan afresh
    finally:
        await conn.close()


async def _report(url: str, p: float, results: Results, args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(url)
    try:
        version = await conn.fetchval("SHOW server_version")
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM attempts) AS attempts, (SELECT count(*) FROM outbox) AS events, "
            "(SELECT count(*) FROM audit_log WHERE action = 'attempt.recorded') AS audited, "
            "(SELECT count(*) FROM idempotency_keys WHERE response IS NOT NULL OR record_id IS NOT NULL) AS answers, "
            "(SELECT count(*) FROM (SELECT FROM attempts GROUP BY learner_id, version_id, unit_key, attempt_number "
            "HAVING count(*) > 1) d) AS numbered_twice"
        )
    finally:
        await conn.close()
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
        f"PostgreSQL {version}; API workers: {args.workers}; {args.learners} learners; "
        f"{'each attempt with an Idempotency-Key' if args.keys else 'no Idempotency-Key'}; {args.rounds} round(s)"
    )
    print(f"P (pgbench, 8 clients, one {ROW_BYTES} B INSERT per transaction, synchronous commit): {p:,.0f} tps")
    print(
        f"{'round':>5}  {'what':<13}  {'clients':>7}  {'requests/s':>10}  {'p50 ms':>7}  {'p99 ms':>7}  "
        f"{'ratio to P':>10}  {'of /rows':>8}  {'of /row':>7}  {'API CPU ms':>10}  {'PG CPU ms':>9}  "
        f"{'load CPU ms':>11}  {'all CPU ms':>10}  errors"
    )
    rows = [
        (str(n), what, phase, one.floor)
        for n, one in enumerate(results.rounds, 1)
        for what, phase in [
            *((f"floor {path}", phase) for (path, _), phase in one.floor.items()),
            *(("recording", phase) for phase in one.recording),
        ]
    ]
    rows += [("", "via PgBouncer", phase, {}) for phase in results.pooled]
    for number, what, phase, floor in rows:
        errors = ", ".join(f"{status}×{n}" for status, n in sorted(phase.errors.items())) or "none"
        cpu = "  ".join(
            f"{phase.cpu_ms_per_request(part):>{width}.2f}"
            for part, width in (("api", 10), ("postgres", 9), ("load", 11), ("machine", 10))
        )
        fractions = "  ".join(
            f"{_fraction(phase, floor.get((path, phase.concurrency))):>{width}}"
            for path, width in (("/rows", 8), ("/row", 7))
        )
        print(
            f"{number:>5}  {what:<13}  {phase.concurrency:>7}  {phase.rate:>10,.0f}  {phase.percentile(0.5):>7.1f}  "
            f"{phase.percentile(0.99):>7.1f}  {phase.rate / p:>10.2f}  {fractions}  {cpu}  {errors}"
        )
    print("(of /rows, of /row: requests/s as a fraction of the floor app's at the same number of clients, the same")
    print(" round; CPU ms per request within the measured window: the API's processes, the PostgreSQL backends")
    print(" serving them, this load generator, and the whole machine — other people's processes too)")
    print(
        f"stored: {counts['attempts']} attempts (warm-ups included), {counts['events']} outbox events, "
        f"{counts['audited']} audit entries, {counts['answers']} answers kept under Idempotency-Keys; "
        f"attempt numbers given twice: {counts['numbered_twice']}"
    )
    _targets(results)


def _targets(results: Results) -> None:
    """The targets at 8 clients, judged on the median of the rounds (each round's own yardstick)."""
    eights = [
        (phase, one.floor.get(("/rows", 8)))
        for one in results.rounds
        for phase in one.recording
        if phase.concurrency == 8
    ]
    if not eights:
        print("targets at 8 clients: not run")
        return
    shares = [phase.rate / rows.rate for phase, rows in eights if rows is not None and rows.rate]
    p99s = [phase.percentile(0.99) for phase, _ in eights]
    if shares:
        share = statistics.median(shares)
        each = ", ".join(f"{s:.2f}" for s in shares)
        verdict = f"{'met' if share >= 0.5 else 'missed'} ({share:.2f}; rounds: {each})"
    else:
        verdict = "not measured (--no-floor)"
    p99 = statistics.median(p99s)
    each_p99 = ", ".join(f"{v:.1f}" for v in p99s)
    print(f"target ≥ 0.5 of /rows at 8 clients, median of the rounds: {verdict}")
    print(
        f"target p99 ≤ 10 ms at 8 clients, median of the rounds: {'met' if p99 <= 10 else 'missed'} "
        f"({p99:.1f} ms; rounds: {each_p99})"
    )
    # An absolute latency moves with the machine's speed as the rate does: the yardstick's own p99 beside it.
    floors = [(phase.percentile(0.99), rows.percentile(0.99)) for phase, rows in eights if rows is not None]
    if floors:
        beside = ", ".join(f"{theirs:.1f}" for _, theirs in floors)
        times = ", ".join(f"×{ours / theirs:.1f}" for ours, theirs in floors)
        print(f"  the floor's /rows p99 in the same rounds: {beside} ms (recording's: {times})")


def _fraction(phase: Phase, floor: Phase | None) -> str:
    return "—" if floor is None or not floor.rate else f"{phase.rate / floor.rate:.2f}"


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per concurrency (20)")
    parser.add_argument(
        "--concurrency", type=lambda v: [int(c) for c in v.split(",")], default=[8, 50], help="clients (8,50)"
    )
    # 2,000: a run records ~60,000 attempts; over 200 learners each would have hundreds at one unit, and the
    # count of a learner's attempts that numbering them needs would grow to dominate PostgreSQL's CPU.
    parser.add_argument("--learners", type=int, default=2000, help="learners enrolled (2000)")
    parser.add_argument("--workers", type=int, default=1, help="API server processes (1, as `make run`)")
    parser.add_argument(
        "--slices",
        type=int,
        default=4,
        help="turns each round's phases are taken in, the floor's and recording's alternating (4)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of the floor's phases and recording's, back to back (3)"
    )
    parser.add_argument("--pgbench-seconds", type=int, default=0, help="pgbench duration (default: --seconds)")
    parser.add_argument(
        "--keys",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="send each attempt with an Idempotency-Key of its own, as a careful integrator does (on)",
    )
    parser.add_argument(
        "--floor",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure bench/floor_app.py's /rows and /row in the same run, the yardsticks (on)",
    )
    parser.add_argument(
        "--pgbouncer",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="record again through a PgBouncer in transaction mode started from the machine's package (on)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run_main(main(arguments())))
