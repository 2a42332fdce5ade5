"""Skills-gap guidance at ESCO's real scale: the import, and both guidance queries at 8 clients.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/guidance.py \
        [--seconds 10] [--concurrency 8] [--languages 28] [--programmes 10000] [--workers 1]

1. Creates the database ``guildhall_bench_guidance`` afresh and migrates it.
2. Writes a download of ESCO's shape into a temporary folder — 3,000 occupations, 14,000 skills and 130,000
   occupation–skill relations (about half essential; skills drawn with a long tail, as ESCO's transversal skills
   are related to hundreds of occupations), ``occupations_<lang>.csv`` and ``skills_<lang>.csv`` in each of
   ``--languages`` languages (28, ESCO's count) with a description per row, and the relations file — and
   imports it with ``domain.guidance.classification`` as the CLI does, timing: the first import, a new release
   with 1% of the labels, 1% of the relations and 30 skills changed (only those rows written), and the same
   release again (nothing written).
3. Publishes ``--programmes`` (10,000) programmes into the register with SQL (the co-design workflow would take
   hours and is measured elsewhere): each aims at an occupation, has 1–4 units certifiable alone of 8–80 hours
   teaching 2–6 of its skills, languages, countries and regions, EQF levels, validity and quality assurance
   varied; its register entry and offers (the programme and its units) are what ``register.publish`` writes.
   Then VACUUM ANALYZE, as autovacuum would.
4. Starts the API as ``make run`` does (``guildhall serve``) and loads it from ``--concurrency`` clients for
   ``--seconds`` each: ``POST /guidance/gap`` (a random occupation; a person holding 40% of its essential skills
   and a few others; preferences for language, country and EQF level), then ``GET /guidance/occupations``
   (15 skills of a random occupation and 5 others). Every answer must be 200.
5. The yardstick, in the same run: ``bench/floor.py``'s bare Litestar + asyncpg app (``/echo`` decodes and answers;
   ``/rows`` inserts one row in a transaction) at the same concurrency.

Prints requests/s, p50 and p99 latency and the CPU per request of each part. Target (issue 14, 2 cores): p99 ≤ 50 ms
for both queries at 8 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from a checkout

from api.dev import child_environment, new_master_key  # noqa: E402
from bench import floor  # noqa: E402
from bench.benchdb import drop_database, fresh_database  # noqa: E402
from bench.common import (  # noqa: E402
    Connection,
    CpuProbe,
    Phase,
    api_server,
    collector_held_off,
    free_port,
    machine,
    processes,
    redis_for_bench,
    run_main,
    server_version,
)
from domain.db import Database  # noqa: E402
from domain.guidance import classification  # noqa: E402

DATABASE = "guildhall_bench_guidance"
OCCUPATIONS, SKILLS, RELATIONS = 3_000, 14_000, 130_000
ESCO_LANGUAGES = ("en de fr es it pl nl pt ro sv da fi cs sk sl hr hu bg el et lv lt mt ga is no uk ar").split()  # 28
COUNTRIES = {"PL": ["PL-SL", "PL-MZ", "PL-DS"], "DE": ["DE-NW", "DE-BY", "DE-BW"], "DK": ["DK-83", "DK-84"]}
QA = ["state_recognition", "external_accreditation", "chamber_approval", "industry_certification", "internal_review"]


def esco_uri(kind: str, rng: random.Random) -> str:
    return f"http://data.europa.eu/esco/{kind}/{uuid.UUID(int=rng.getrandbits(128), version=4)}"


class Dataset:
    """ESCO's shape: occupations with about 43 related skills each, drawn with a long tail."""

    def __init__(self, seed: int = 14) -> None:
        rng = random.Random(seed)
        self.rng = rng
        self.occupations = [esco_uri("occupation", rng) for _ in range(OCCUPATIONS)]
        self.skills = [esco_uri("skill", rng) for _ in range(SKILLS)]
        # A few skills (transversal ones) are related to hundreds of occupations, most to a handful.
        weights = [1 / (i + 10) ** 0.8 for i in range(SKILLS)]
        per_occupation = RELATIONS // OCCUPATIONS
        self.relations: dict[str, dict[str, str]] = {}
        total = 0
        for index, occupation in enumerate(self.occupations):
            count = per_occupation + (1 if index < RELATIONS - per_occupation * OCCUPATIONS else 0)
            chosen: dict[str, str] = {}
            while len(chosen) < count:
                for skill in rng.choices(self.skills, weights=weights, k=count - len(chosen)):
                    chosen.setdefault(skill, "essential" if rng.random() < 0.52 else "optional")
            self.relations[occupation] = chosen
            total += len(chosen)
        assert total == RELATIONS

    def essential(self, occupation: str) -> list[str]:
        return [s for s, r in self.relations[occupation].items() if r == "essential"]

    def write(self, folder: Path, languages: list[str], changed: bool = False) -> None:
        """The CSV download; ``changed``: a later release (1% of labels and relations changed, 30 new skills)."""
        folder.mkdir(parents=True, exist_ok=True)
        rng = random.Random(99)
        relabelled = set(rng.sample(self.skills, SKILLS // 100)) if changed else set()
        new_skills = [esco_uri("skill", rng) for _ in range(30)] if changed else []
        flipped = set(rng.sample(range(RELATIONS), RELATIONS // 100)) if changed else set()
        description = "Carries out the work this concept names, to the standard the occupation expects. " * 3
        for lang in languages:
            with (folder / f"occupations_{lang}.csv").open("w", newline="", encoding="utf-8") as f:
                out = csv.writer(f)
                out.writerow(["conceptType", "conceptUri", "iscoGroup", "preferredLabel", "altLabels", "description"])
                for i, uri in enumerate(self.occupations):
                    out.writerow(
                        ["Occupation", uri, f"{1000 + i % 9000:04d}", f"occupation {i} ({lang})", "", description]
                    )
            with (folder / f"skills_{lang}.csv").open("w", newline="", encoding="utf-8") as f:
                out = csv.writer(f)
                out.writerow(["conceptType", "conceptUri", "skillType", "reuseLevel", "preferredLabel", "description"])
                for i, uri in enumerate([*self.skills, *new_skills]):
                    label = f"skill {i} ({lang}){' revised' if uri in relabelled else ''}"
                    out.writerow(
                        ["KnowledgeSkillCompetence", uri, "skill/competence", "cross-sector", label, description]
                    )
        with (folder / f"occupationSkillRelations_{languages[0]}.csv").open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(["occupationUri", "relationType", "skillType", "skillUri"])
            n = 0
            for occupation, skills in self.relations.items():
                for skill, relation in skills.items():
                    if n in flipped:
                        relation = "optional" if relation == "essential" else "essential"
                    out.writerow([occupation, relation, "skill/competence", skill])
                    n += 1
            for i, skill in enumerate(new_skills):
                out.writerow([self.occupations[i], "essential", "skill/competence", skill])


async def publish_register(url: str, data: Dataset, programmes: int) -> int:
    """``programmes`` published programmes, their register entries and offers; the number of offers."""
    rng = random.Random(7)
    conn = await asyncpg.connect(url)
    try:
        organisations = []
        for country, regions in COUNTRIES.items():
            for n in range(20):
                organisations.append((uuid.uuid4(), country, regions[n % len(regions)]))
        await conn.executemany(
            "INSERT INTO organisations (id, kind, name, default_language, country, region) "
            "VALUES ($1, 'vet_provider', $2::jsonb, 'en', $3, $4)",
            [(o, json.dumps({"en": f"Provider {i}"}), c, r) for i, (o, c, r) in enumerate(organisations)],
        )
        designs, versions, entries, offers = [], [], [], []
        for i in range(programmes):
            design, version = uuid.uuid4(), uuid.uuid4()
            body, country, region = rng.choice(organisations)
            occupation = rng.choice(data.occupations)
            pool = list(data.relations[occupation])
            language = {"PL": "pl", "DE": "de", "DK": "da"}[country]
            languages = [language] + (["en"] if rng.random() < 0.5 else [])
            eqf = rng.randint(2, 6)
            validity = rng.choice([None, 24, 36, 60])
            qa = rng.choice(QA)
            title = {language: f"Programme {i}", "en": f"Programme {i}"}
            designs.append((design, body))
            versions.append((version, design))
            entries.append(
                (version, design, json.dumps(title), language, occupation, [eqf], country, languages, body, qa)
            )
            units = []
            for u in range(rng.randint(1, 4)):
                units.append(
                    (f"u{u + 1}", float(rng.choice([8, 16, 24, 37, 40, 60, 80])), rng.sample(pool, rng.randint(2, 6)))
                )
            whole = sorted({s for _, _, skills in units for s in skills})
            rows = [("", sum(h for _, h, _ in units), whole)]
            if len(units) > 1:
                rows += [(key, hours, sorted(skills)) for key, hours, skills in units]
            for key, hours, skills in rows:
                offers.append(
                    (
                        version,
                        key,
                        design,
                        json.dumps(title),
                        json.dumps(title),
                        language,
                        hours,
                        eqf,
                        languages,
                        country,
                        region,
                        validity,
                        qa,
                        skills,
                    )
                )
        await conn.executemany(
            "INSERT INTO designs (id, kind, lead_organisation_id) VALUES ($1, 'programme', $2)", designs
        )
        await conn.executemany(
            "INSERT INTO design_versions (id, design_id, number, status, content, published_at) "
            "VALUES ($1, $2, 1, 'published', '{}'::jsonb, now())",
            versions,
        )
        await conn.executemany(
            "INSERT INTO register_entries (version_id, design_id, kind, number, title, default_language, search_text, "
            "esco_occupation_uri, eqf_levels, country, languages, awarding_body_id, quality_assurance_type, "
            "published_at) VALUES ($1, $2, 'programme', 1, $3::jsonb, $4, '{}'::jsonb, $5, $6, $7, $8, $9, $10, now())",
            entries,
        )
        await conn.executemany(
            "INSERT INTO register_offers (version_id, unit_key, design_id, number, title, programme_title, "
            "default_language, hours, eqf_level, languages, country, region, validity_months, "
            "quality_assurance_type, skills) VALUES ($1, $2, $3, 1, $4::jsonb, $5::jsonb, $6, $7, $8, $9, $10, $11, "
            "$12, $13, $14)",
            offers,
        )
        # What register.sql's insert_offer_skills writes for each published version, for all of them at once.
        await conn.execute(
            "INSERT INTO register_offer_skills (skill_uri, offer_id, hours) "
            "SELECT s, r.id, r.hours FROM register_offers r CROSS JOIN LATERAL unnest(r.skills) s"
        )
        await conn.execute("VACUUM ANALYZE")  # as autovacuum would: statistics, and the visibility map
    finally:
        await conn.close()
    return len(offers)


def gap_body(data: Dataset, rng: random.Random) -> bytes:
    occupation = rng.choice(data.occupations)
    essential = data.essential(occupation)
    held = rng.sample(essential, int(len(essential) * 0.4)) + rng.sample(data.skills, 5)
    return json.dumps(
        {
            "occupation": occupation,
            "skills": sorted(set(held)),
            "preferences": {
                "language": rng.choice(["pl", "de", "da"]),
                "country": rng.choice(list(COUNTRIES)),
                "eqfLevel": 4,
            },
        }
    ).encode()


def occupations_path(data: Dataset, rng: random.Random) -> str:
    occupation = rng.choice(data.occupations)
    skills = rng.sample(list(data.relations[occupation]), 15) + rng.sample(data.skills, 5)
    return "/guidance/occupations?" + "&".join(f"skill={s}" for s in skills)


async def drive(
    port: int, requests: Sequence[tuple[str, bytes | None]], concurrency: int, seconds: float, probe: CpuProbe
) -> Phase:
    phase = Phase(concurrency, seconds)
    start = time.perf_counter()
    counted_from, until = start + 1.0, start + 1.0 + seconds

    async def client(offset: int) -> None:
        connection = await Connection.open(port)
        n = offset
        try:
            while (now := time.perf_counter()) < until:
                path, body = requests[n % len(requests)]
                n += concurrency
                status = await (connection.post(path, None, body) if body is not None else connection.get(path))
                done = time.perf_counter()
                if now < counted_from or done > until:
                    continue
                if status == 200:
                    phase.latencies.append(done - now)
                else:
                    phase.errors[status] = phase.errors.get(status, 0) + 1
        finally:
            connection.close()

    async def measure() -> None:
        await asyncio.sleep(counted_from - time.perf_counter())
        before = await probe.sample()
        await asyncio.sleep(until - time.perf_counter())
        phase.cpu = probe.used(before, await probe.sample())

    with collector_held_off():
        await asyncio.gather(measure(), *(client(i) for i in range(concurrency)))
    return phase


async def timed_import(url: str, folder: Path, version: str) -> classification.ReleaseImport:
    db = await Database.connect(url, min_size=1, max_size=1)
    try:
        return await classification.import_release(db, folder, version)
    finally:
        await db.close()


async def floor_phases(url: str, concurrency: int, seconds: float, folder: Path) -> list[tuple[str, Phase]]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS floor_rows (id bigserial PRIMARY KEY, payload text NOT NULL)")
    finally:
        await conn.close()
    port = free_port()
    command = [
        *("-m", "uvicorn", "bench.floor_app:create_app", "--factory", "--port", str(port)),
        *("--workers", "1", "--no-access-log", "--no-server-header", "--log-level", "warning"),
    ]
    results = []
    with processes([command], {**os.environ, "DATABASE_URL": url}, [folder / "floor.log"], program=sys.executable) as [
        server
    ]:
        await floor.wait_listening(port, server.pid)
        probe = CpuProbe(url, {"api": server.pid}, {"load": os.getpid()})
        for path in ("/echo", "/rows"):
            results.append((path, await floor.drive(port, path, concurrency, seconds, probe)))
    return results


def line(name: str, phase: Phase) -> str:
    errors = ", ".join(f"{status}×{n}" for status, n in sorted(phase.errors.items())) or "none"
    cpu = "  ".join(
        f"{phase.cpu_ms_per_request(part):>{width}.2f}"
        for part, width in (("api", 10), ("postgres", 9), ("load", 11), ("machine", 10))
    )
    return (
        f"{name:<28}  {phase.concurrency:>7}  {phase.rate:>10,.0f}  {phase.percentile(0.5):>6.1f}  "
        f"{phase.percentile(0.99):>6.1f}  {cpu}  {errors}"
    )


async def main(args: argparse.Namespace) -> int:
    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url:
        print("set DATABASE_URL to a PostgreSQL server where a database can be created", file=sys.stderr)
        return 2
    languages = list(ESCO_LANGUAGES[: args.languages])
    with tempfile.TemporaryDirectory(prefix="guildhall-bench-guidance-") as tmp:
        folder = Path(tmp)
        url = await fresh_database(admin_url, DATABASE)
        try:
            started = time.perf_counter()
            data = Dataset()
            data.write(folder / "v1", languages)
            data.write(folder / "v2", languages, changed=True)
            print(f"dataset written in {time.perf_counter() - started:.1f} s ({len(languages)} languages)")
            imports = [
                ("first import", await timed_import(url, folder / "v1", "v1")),
                ("new release (1% changed)", await timed_import(url, folder / "v2", "v2")),
                ("the same release again", await timed_import(url, folder / "v2", "v2")),
            ]
            started = time.perf_counter()
            offers = await publish_register(url, data, args.programmes)
            print(
                f"register: {args.programmes:,} programmes, {offers:,} offers, in {time.perf_counter() - started:.1f} s"
            )
            rng = random.Random(3)
            gap_requests = [("/guidance/gap", gap_body(data, rng)) for _ in range(2000)]
            closest_requests: list[tuple[str, bytes | None]] = [
                (occupations_path(data, rng), None) for _ in range(2000)
            ]
            async with redis_for_bench(folder) as redis_url:
                port = free_port()
                env = child_environment(url, redis_url, new_master_key(), port)
                with api_server(env, port, args.workers, folder / "api.log") as (_base, pid):
                    probe = CpuProbe(url, {"api": pid}, {"load": os.getpid()})
                    await drive(port, gap_requests, args.concurrency, 2, probe)  # warm-up: plans, caches
                    phases = [
                        ("POST /guidance/gap", await drive(port, gap_requests, args.concurrency, args.seconds, probe)),
                        (
                            "GET /guidance/occupations",
                            await drive(port, closest_requests, args.concurrency, args.seconds, probe),
                        ),
                    ]
            phases += [
                (f"floor {path}", phase)
                for path, phase in await floor_phases(url, args.concurrency, args.seconds, folder)
            ]
            print(f"machine: {machine(await server_version(url))}, {args.workers} API process(es)")
            print(f"{'import':<28}  {'seconds':>7}  {'occupations':>11}  {'skills':>7}  {'relations':>9}  changes")
            for name, result in imports:
                changes = "; ".join(
                    f"{table} +{c.added} ~{c.changed} -{c.removed}" for table, c in result.changes.items()
                )
                print(
                    f"{name:<28}  {result.seconds:>7.1f}  {result.occupations:>11,}  {result.skills:>7,}  "
                    f"{result.relations:>9,}  {changes}"
                )
            print(
                f"{'route':<28}  {'clients':>7}  {'requests/s':>10}  {'p50 ms':>6}  {'p99 ms':>6}  "
                f"{'API CPU ms':>10}  {'PG CPU ms':>9}  {'load CPU ms':>11}  {'all CPU ms':>10}  errors"
            )
            for name, phase in phases:
                print(line(name, phase))
            met = all(p.percentile(0.99) <= 50 and not p.errors for n, p in phases if n.startswith(("POST", "GET")))
            print(f"target p99 <= 50 ms at {args.concurrency} clients for both queries: {'met' if met else 'NOT met'}")
        finally:
            await drop_database(admin_url, DATABASE)
    return 0


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per phase (10)")
    parser.add_argument("--concurrency", type=int, default=8, help="clients (8)")
    parser.add_argument(
        "--languages", type=int, default=28, choices=range(1, 29), help="languages of the download (28)"
    )
    parser.add_argument("--programmes", type=int, default=10_000, help="published programmes in the register (10,000)")
    parser.add_argument("--workers", type=int, default=1, help="API processes (1)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run_main(main(arguments())))
