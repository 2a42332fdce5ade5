"""Seconds to accept and decide one bulk upload of 10,000 results, end to end.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 \
        .venv/bin/python bench/bulk.py [--rows 10000] [--learners 2500] [--distinct] [--runs 3]

It creates a fresh database ``guildhall_bench_bulk`` on DATABASE_URL's server and migrates it; seeds a
provider and a chamber with their clients (domain layer), a published welding programme — unit ``u1``
assessed against a performance standard (two rubric criteria, one numeric, at most 3 attempts), unit ``sim``
by simulation — drafted by the provider and approved by the chamber through the API, and learners enrolled
in it (domain layer). The app runs in-process (``AsyncTestClient``: no network, the full ASGI stack with
authentication), and an arq worker runs in-process on a queue of its own, as ``guildhall worker`` would.

Then, per run, with fresh learners: one JSON upload of ``--rows`` rows — four per learner: three welding
attempts with random levels and values and one simulation run — timed from the POST until GET reports the
batch done: the upload answered 202, the worker decided every chunk (context, engine, attempts, outbox
events, progress) and the report is ready. A 1,000-row upload decided inside the request (201) is timed
too. ``--distinct`` gives every submission its own numeric value, so that the engine's memo never hits.
It prints seconds and rows/s, then drops the database and deletes its Redis queue.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import secrets
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from a checkout

from arq.connections import ArqRedis  # noqa: E402
from arq.worker import Worker  # noqa: E402
from litestar import Litestar  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402

from api import worker as worker_module  # noqa: E402
from api.app import create_app  # noqa: E402
from api.queue import JobQueue, redis_settings  # noqa: E402
from api.settings import Settings  # noqa: E402
from bench.benchdb import drop_database, fresh_database  # noqa: E402
from bench.common import run_main  # noqa: E402
from domain import outbox  # noqa: E402
from domain.db import Database  # noqa: E402
from domain.learners.models import EnrolmentCreate, ExternalIdentifier, LearnerCreate  # noqa: E402
from domain.learners.service import create_learner, enrol  # noqa: E402
from domain.oauth.clients import create_client  # noqa: E402
from domain.oauth.models import ClientCreate  # noqa: E402
from domain.organisations.models import OrganisationCreate  # noqa: E402
from domain.organisations.service import create_organisation  # noqa: E402
from domain.writes import Actor  # noqa: E402

BENCH_DATABASE = "guildhall_bench_bulk"
QUEUE = "guildhall:bench-bulk"  # the worker takes only this benchmark's jobs, whatever else shares the Redis
POLL_INTERVAL = 0.01  # seconds between GETs of a batch being decided
OPERATOR = Actor(request_id="bench-bulk")
SKILL = "http://data.europa.eu/esco/skill/"
WELDING, SAFETY = SKILL + "1a2b3c4d-0000-4000-8000-000000000001", SKILL + "1a2b3c4d-0000-4000-8000-000000000003"
LEVELS = ["l1", "l2", "l3", "l4"]
RUBRIC = {"type": "rubric", "levels": [{"key": k, "name": k.upper(), "points": i + 1} for i, k in enumerate(LEVELS)]}
WELDING_TEST = {
    "mode": "performance_standard",
    "cutScore": 60,
    "supervision": "supervised_identity_check_onsite",
    "maxAttempts": 3,
    "criteria": [
        {"key": "bead", "title": "Weld bead geometry", "scale": RUBRIC, "weight": 2, "minimum": "l3"},
        {"key": "penetration", "title": "Root penetration", "scale": RUBRIC, "weight": 2},
        {"key": "safety", "title": "Safe working", "scale": {"type": "numeric", "min": 0, "max": 10}, "weight": 1},
    ],
}
SIMULATION = {"mode": "simulation", "masteryScore": 0.8, "maxAttempts": 5, "supervision": "unsupervised"}


def programme(profile_id: str, provider_id: str, chamber_id: str) -> dict[str, Any]:
    def unit(key: str, title: str, assessment: dict[str, Any]) -> dict[str, Any]:
        return {
            "key": key,
            "kind": "core",
            "title": {"en": title},
            "workloadHours": 30,
            "ectsCredits": 1,
            "eqfLevel": 4,
            "learningOutcomes": [
                {"key": "lo1", "text": {"en": "Welds fillet joints with MIG"}, "competences": [WELDING]},
                {"key": "lo2", "text": {"en": "Works safely"}, "competences": [SAFETY]},
            ],
            "assessment": assessment,
        }

    return {
        "title": {"en": "MIG welding of steel structures"},
        "description": {"en": "A short course for welders"},
        "defaultLanguage": "en",
        "profileVersionId": profile_id,
        "awardingBodyId": provider_id,
        "providerIds": [provider_id],
        "typeOfAssessment": {"en": "Practical welding test against a performance standard"},
        "formOfParticipation": "onsite",
        "qualityAssurance": {"type": "chamber_approval", "bodyId": chamber_id},
        "languages": ["en"],
        "validityMonths": 36,
        "cosignerId": chamber_id,
        "eqfLevel": 4,
        "units": [unit("u1", "MIG welding basics", WELDING_TEST), unit("sim", "Welding simulator", SIMULATION)],
    }


PROFILE = {
    "title": {"en": "Welder"},
    "defaultLanguage": "en",
    "escoOccupationUri": "http://data.europa.eu/esco/occupation/0d8c7f2a-3c6e-4c58-9f61-1b2a3c4d5e6f",
    "iscoCode": "7212",
    "competences": [
        {"escoSkillUri": WELDING, "title": {"en": "use MIG welding"}, "relation": "essential"},
        {"escoSkillUri": SAFETY, "title": {"en": "follow welding safety rules"}, "relation": "essential"},
    ],
}


async def ok(response: Any, status: int = 0) -> Any:
    if response.status_code >= 300 or (status and response.status_code != status):
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:2000]}"
        )
    return response.json()


async def token(http: AsyncTestClient[Litestar], client_id: str, secret: str) -> dict[str, str]:
    response = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    return {"Authorization": f"Bearer {(await ok(response))['access_token']}"}


async def seed(db: Database, http: AsyncTestClient[Litestar]) -> tuple[UUID, str, dict[str, str]]:
    """The provider, a published programme, and the headers of the provider's recording client."""
    made = []
    for name, kind, scopes in (
        ("Bench Welding School", "vet_provider", ["programmes:write", "assessments:write"]),
        ("Bench Chamber", "chamber", ["programmes:write"]),
    ):
        data = OrganisationCreate(kind=kind, name={"en": name}, default_language="en", country="DE")  # type: ignore[arg-type]
        organisation = await create_organisation(db, OPERATOR, data)
        client = await create_client(db, OPERATOR, organisation.id, ClientCreate(name=f"bench {kind}", scopes=scopes))
        assert client.client_secret is not None
        made.append((organisation.id, await token(http, client.client_id, client.client_secret)))
    (provider_id, provider), (chamber_id, chamber) = made
    profile = await ok(await http.post("/occupational-profiles", headers=provider, json=PROFILE))
    content = programme(profile["id"], str(provider_id), str(chamber_id))
    pid = (await ok(await http.post("/programmes", headers=provider, json={"content": content})))["designId"]
    await ok(
        await http.put(
            f"/programmes/{pid}/coauthors/{chamber_id}", headers=provider, json={"roles": ["approver", "cosigner"]}
        )
    )
    await ok(await http.post(f"/programmes/{pid}/versions/1/proposal", headers={**provider, "If-Match": '"v1"'}))
    decided = await ok(
        await http.post(f"/programmes/{pid}/versions/1/decisions", headers=chamber, json={"decision": "approve"})
    )
    assert decided["status"] == "published", decided
    return provider_id, pid, provider


async def seed_learners(db: Database, provider_id: UUID, programme_id: str, count: int, tag: str) -> list[str]:
    gate = asyncio.Semaphore(8)

    async def one(i: int) -> str:
        async with gate:
            identifier = ExternalIdentifier(scheme="student_number", value=f"{tag}-{i}")
            data = LearnerCreate(name=f"Learner {tag}-{i}", identifiers=[identifier])
            learner = await create_learner(db, OPERATOR, provider_id, data)
            await enrol(db, OPERATOR, provider_id, learner.id, EnrolmentCreate(programme_id=UUID(programme_id)))
            return f"{tag}-{i}"

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def rows(programme_id: str, numbers: list[str], count: int, distinct: bool, rng: random.Random) -> list[dict[str, Any]]:
    """Four rows per learner (by student number): three welding attempts, one simulator run."""
    made: list[dict[str, Any]] = []
    for i, number in enumerate(numbers):
        head = {
            "learner": {"scheme": "student_number", "value": number},
            "programmeId": programme_id,
            "supervision": "supervised_identity_check_onsite",
        }
        for attempt in range(3):
            safety = round(rng.uniform(0, 10), 3) if distinct else rng.randint(0, 10)
            made.append(
                {
                    **head,
                    "unitKey": "u1",
                    "assessedAt": f"2026-11-2{attempt}T10:{i % 60:02d}:00Z",
                    "submission": {
                        "mode": "performance_standard",
                        "scores": [
                            {"criterion": "bead", "level": rng.choice(LEVELS)},
                            {"criterion": "penetration", "level": rng.choice(LEVELS)},
                            {"criterion": "safety", "value": safety},
                        ],
                    },
                }
            )
        scaled = round(rng.uniform(0.5, 1), 4) if distinct else round(rng.uniform(0.5, 1), 1)
        made.append(
            {
                **head,
                "unitKey": "sim",
                "assessedAt": "2026-11-24T09:00:00Z",
                "submission": {"mode": "simulation", "runs": [{"scaledScore": scaled, "durationSeconds": 600}]},
            }
        )
    return made[:count]


async def run_worker(redis: ArqRedis, db: Database, context: outbox.HandlerContext) -> None:
    """An arq worker on this benchmark's queue, as ``guildhall worker`` runs it (with the handlers' context its
    start-up makes: without it every credential's issuing failed, and settled only after arq's five tries), until the
    queue is empty."""
    worker = Worker(
        functions=worker_module.FUNCTIONS,
        redis_pool=redis,
        queue_name=QUEUE,
        burst=True,
        poll_delay=0,
        handle_signals=False,
        ctx={"db": db, "handler_context": context},
    )
    await worker.main()


async def settle(redis: ArqRedis, db: Database, context: outbox.HandlerContext) -> None:
    """Before a timed run: the events of earlier uploads handled, and statistics for the planner, as a
    database in service has them (freshly seeded tables have none until autovacuum comes by)."""
    await run_worker(redis, db, context)
    async with db.connection() as conn:
        await conn.execute("ANALYZE")


async def decide(
    http: AsyncTestClient[Litestar],
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    redis: ArqRedis,
    db: Database,
    context: outbox.HandlerContext,
) -> tuple[float, float, dict[str, Any]]:
    """Seconds until the upload is answered, seconds until GET reports the batch done, and its report. The worker
    goes on, as in service, with what deciding queued (the passes' credentials): that is not timed, and it is over
    before this returns."""
    started = time.perf_counter()
    response = await http.post(url, headers=headers, json=body)
    answered = time.perf_counter() - started
    report = await ok(response)
    decided = answered
    if response.status_code == 202:
        worker = asyncio.create_task(run_worker(redis, db, context))
        while report["status"] in ("queued", "running") and not worker.done():
            await asyncio.sleep(POLL_INTERVAL)
            report = await ok(await http.get(response.headers["location"], headers=headers))
        decided = time.perf_counter() - started
        await worker
        report = await ok(await http.get(response.headers["location"], headers=headers))
    return answered, decided, report


async def run(args: argparse.Namespace, admin_url: str, redis_url: str) -> None:
    url = await fresh_database(admin_url, BENCH_DATABASE)
    settings = Settings.from_env(
        {
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "GUILDHALL_ENV": "test",
            "LOG_LEVEL": "WARNING",
            "GUILDHALL_MASTER_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        }
    )
    app = create_app(settings)
    context = worker_module.handler_context(settings)
    # Two clients on the benchmark's queue: the app runs on the test client's own event loop, the worker on this one.
    redis, app_redis = _queue_client(redis_url), _queue_client(redis_url)
    db = await Database.connect(url, min_size=2, max_size=settings.db_pool_max)
    rng = random.Random(42)
    try:
        async with AsyncTestClient(app=app, base_url="http://bench.local", timeout=120) as http:
            app.state.jobs = JobQueue(app_redis)  # the API's dispatch goes to this benchmark's queue
            provider_id, pid, headers = await seed(db, http)
            batches = f"/organisations/{provider_id}/result-batches"
            print(
                f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; PostgreSQL "
                f"{await _server_version(url)}; {'distinct' if args.distinct else 'repeating'} submissions"
            )
            numbers = await seed_learners(db, provider_id, pid, 250, "inline")
            await settle(redis, db, context)
            answered, _, report = await decide(
                http, batches, headers, {"rows": rows(pid, numbers, 1000, args.distinct, rng)}, redis, db, context
            )
            print(
                f"inline 1,000 rows: {answered:.2f} s ({1000 / answered:,.0f} rows/s), "
                f"accepted {report['accepted']}, rejected {report['rejected']}"
            )
            for n in range(args.runs):
                numbers = await seed_learners(db, provider_id, pid, args.learners, f"run{n}")
                body = {"rows": rows(pid, numbers, args.rows, args.distinct, rng)}
                await settle(redis, db, context)
                answered, total, report = await decide(http, batches, headers, body, redis, db, context)
                print(
                    f"run {n + 1}: {args.rows:,} rows accepted and decided in {total:.2f} s "
                    f"({args.rows / total:,.0f} rows/s; upload answered 202 in {answered:.2f} s); "
                    f"status {report['status']}, accepted {report['accepted']}, rejected {report['rejected']}"
                )
            # The app's queue client lives on the test client's event loop: close it there.
            await asyncio.to_thread(lambda: http.blocking_portal.call(app_redis.aclose))
    finally:
        await db.close()
        await redis.delete(QUEUE)
        await redis.aclose()
        await drop_database(admin_url, BENCH_DATABASE)


def _queue_client(url: str) -> ArqRedis:
    s = redis_settings(url)
    return ArqRedis(
        host=s.host,
        port=s.port,
        unix_socket_path=s.unix_socket_path,
        db=s.database,
        password=s.password,
        default_queue_name=QUEUE,
    )


async def _server_version(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--learners", type=int, default=2_500, help="learners per run (four rows each)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--distinct", action="store_true", help="no two submissions alike: the engine's memo misses")
    args = parser.parse_args()
    admin_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not admin_url or not redis_url:
        print("set DATABASE_URL (a server where a database can be created) and REDIS_URL", file=sys.stderr)
        return 2
    run_main(run(args, admin_url, redis_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
