"""Two versions of the recording path side by side: this checkout's API and another checkout's, on one database,
the load alternating between them in short slices.

    git worktree add /tmp/before <commit>
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/compare.py /tmp/before [--pairs 16] [--seconds 2] [--clients 8] [--learners 1000]

A change worth a few percent of the API's CPU is lost in this kind of machine's drift (a quarter within minutes:
bench/README.md), so ``record.py`` run before and after cannot tell it. Here both versions serve at once, each
``guildhall serve`` with one process (the other checkout's code first on its ``PYTHONPATH``, so a module it lacks
comes from this checkout's editable install; its migrations must match this one's), seeded through a third server
stopped before they start, so that both meet the same history; each pair of slices — one per version, in
alternating order — meets the same moment of the machine. It prints, per version, the median attempts/s and CPU
per attempt (the API's, and the PostgreSQL backends' serving it) and latency over all slices; then, per pair, this
checkout's rate and API CPU as a fraction of the other's, and their medians: the verdict. Keyed recordings as
``record.py`` sends them; it seeds, primes and cleans up as ``record.py`` does (the database ``guildhall_bench`` is
created and dropped). A checkout against a copy of itself reads 0.99 and 1.00 (bench/README.md, "Tenth session").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from a checkout

from api.dev import child_environment, new_master_key  # noqa: E402
from bench import record  # noqa: E402
from bench.benchdb import drop_database, fresh_database  # noqa: E402
from bench.common import CpuProbe, Phase, api_server, free_port, redis_for_bench, run_main, token  # noqa: E402

VERSIONS = ("this", "other")


async def main(args: argparse.Namespace, other: Path) -> int:
    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url:
        print("set DATABASE_URL to a PostgreSQL server where a database can be created", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="guildhall-compare-") as tmp:
        folder = Path(tmp)
        url = await fresh_database(admin_url, record.BENCH_DATABASE)
        try:
            async with redis_for_bench(folder) as redis_url:
                try:
                    slices = await _alternate(url, redis_url, other, folder, args)
                finally:
                    await record.forget_jobs(redis_url, url)
        finally:
            await drop_database(admin_url, record.BENCH_DATABASE)
    _report(slices, other)
    return 0


async def _alternate(
    url: str, redis_url: str, other: Path, folder: Path, args: argparse.Namespace
) -> dict[str, list[Phase]]:
    provider_id, chamber_id, clients = await record.seed_clients(url)
    key = new_master_key()
    ports = {version: free_port() for version in VERSIONS}
    envs = {version: child_environment(url, redis_url, key, port) for version, port in ports.items()}
    envs["other"]["PYTHONPATH"] = str(other)
    # Seeded through a server of its own, stopped before the measured ones start: the two then meet the same
    # history (a server that had seeded a thousand learners measured 5% slower than its twin, bench/README.md).
    seeder_port = free_port()
    with api_server(child_environment(url, redis_url, key, seeder_port), seeder_port, 1, folder / "seeder.log") as (
        seeder_base,
        _,
    ):
        async with httpx.AsyncClient(base_url=seeder_base, timeout=30) as http:
            programme_id = await record.seed_programme(http, provider_id, chamber_id, clients)
            recorder = await token(http, clients["recorder"])
            enrolments = await record.seed_learners(http, provider_id, programme_id, recorder, args.learners)
    seeded = record.Seeded(provider_id, *clients["recorder"], enrolments)
    with (
        api_server(envs["this"], ports["this"], 1, folder / "this.log") as (this_base, this_pid),
        api_server(envs["other"], ports["other"], 1, folder / "other.log") as (other_base, other_pid),
    ):
        bases = {"this": this_base, "other": other_base}
        for base in bases.values():  # each records as long before the slices begin: its caches and pool fill
            await record.prime(url, base, seeded, args.clients, 2.0, keyed=True)
        probes = {"this": CpuProbe(url, {"api": this_pid}), "other": CpuProbe(url, {"api": other_pid})}
        slices: dict[str, list[Phase]] = {version: [] for version in VERSIONS}
        for pair in range(args.pairs):
            for version in VERSIONS if pair % 2 == 0 else reversed(VERSIONS):
                slices[version].append(
                    await record.drive(bases[version], seeded, args.clients, args.seconds, 0.3, probes[version])
                )
    return slices


def _report(slices: dict[str, list[Phase]], other: Path) -> None:
    names = {"this": "this checkout", "other": str(other)}
    print(f"{'version':40} {'attempts/s':>10} {'API CPU ms':>10} {'PG CPU ms':>9} {'p50 ms':>7} {'p99 ms':>7}  errors")
    for version, phases in slices.items():
        whole = phases[0]
        for phase in phases[1:]:
            whole = whole.then(phase)
        print(
            f"{names[version]:40} {statistics.median(p.rate for p in phases):10,.0f} "
            f"{statistics.median(p.cpu_ms_per_request('api') for p in phases):10.3f} "
            f"{statistics.median(p.cpu_ms_per_request('postgres') for p in phases):9.3f} "
            f"{whole.percentile(0.5):7.1f} {whole.percentile(0.99):7.1f}  {whole.errors or 'none'}"
        )
    pairs = list(zip(slices["this"], slices["other"], strict=True))
    rates = [a.rate / b.rate for a, b in pairs]
    cpu = [a.cpu_ms_per_request("api") / b.cpu_ms_per_request("api") for a, b in pairs]
    print(f"this / other, per pair: attempts/s median {statistics.median(rates):.3f} [{_listed(rates)}]")
    print(f"                        API CPU per attempt median {statistics.median(cpu):.3f} [{_listed(cpu)}]")


def _listed(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", help="another checkout of Guildhall (e.g. a git worktree)")
    parser.add_argument("--pairs", type=int, default=16, help="pairs of slices (16)")
    parser.add_argument("--seconds", type=float, default=2.0, help="each slice's measured seconds (2)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--learners", type=int, default=1000, help="learners enrolled (1000)")
    arguments = parser.parse_args()
    other_checkout = Path(arguments.other).resolve()
    if not (other_checkout / "api" / "cli.py").is_file():
        sys.exit(f"{other_checkout} is not a checkout of Guildhall")
    sys.exit(run_main(main(arguments, other_checkout)))
