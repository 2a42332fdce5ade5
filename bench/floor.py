"""The ceiling the stack itself sets: requests per second of a bare Litestar + asyncpg app, against P.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/floor.py \
        [--seconds 10] [--concurrency 8,50] [--workers 1,2]

Guildhall's targets are ratios to P, what this machine's PostgreSQL commits per second (measured as
``bench/record.py`` does). This bench asks how close any service built on the chosen stack can come: it
serves ``bench/floor_app.py`` — one route that decodes a small JSON body and inserts one ~1.5 kB row in its
own transaction, the very transaction pgbench runs for P, and one that only decodes and answers — with
uvicorn as ``guildhall serve`` does (uvloop, httptools), loads it with the same bare HTTP/1.1 client as the
other benches, and prints requests/s, the ratio to P, latency and the CPU one request cost each part. Guildhall
does more per request than this app (a token check, validation, audit, outbox, Redis), so its ratio to P
cannot be higher than the one printed here. It creates the database ``guildhall_bench_floor`` and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from a checkout

from bench.benchdb import drop_database, fresh_database  # noqa: E402
from bench.common import (  # noqa: E402
    Connection,
    CpuProbe,
    Phase,
    collector_held_off,
    free_port,
    measure_p,
    processes,
    run_main,
    server_version,
)

DATABASE = "guildhall_bench_floor"
BODY = b'{"name":"Learner 1","score":87}'


async def drive(port: int, path: str, concurrency: int, seconds: float, probe: CpuProbe, warm_up: float = 1.0) -> Phase:
    """``concurrency`` clients posting one request after another, each on its own keep-alive connection;
    ``warm_up`` seconds (one), then ``seconds`` measured."""
    phase = Phase(concurrency, seconds)
    start = time.perf_counter()
    counted_from, until = start + warm_up, start + warm_up + seconds

    async def client() -> None:
        connection = await Connection.open(port)
        try:
            while (now := time.perf_counter()) < until:
                status = await connection.post(path, None, BODY)
                done = time.perf_counter()
                if now < counted_from or done > until:
                    continue
                if status == 201:
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
        await asyncio.gather(measure(), *(client() for _ in range(concurrency)))
    return phase


async def serve_and_load(
    url: str,
    workers: int,
    args: argparse.Namespace,
    folder: Path,
    paths: tuple[str, ...] = ("/echo", "/row", "/rows"),
) -> list[tuple[str, Phase]]:
    async with floor_server(url, workers, folder) as (port, pid):
        probe = CpuProbe(url, {"api": pid}, {"load": os.getpid()})
        results = []
        for path in paths:
            for concurrency in args.concurrency:
                results.append((path, await drive(port, path, concurrency, args.seconds, probe)))
    return results


@asynccontextmanager
async def floor_server(url: str, workers: int, folder: Path) -> AsyncIterator[tuple[int, int]]:
    """The floor app served as Guildhall is, on a free loopback port: its port and process id."""
    port = free_port()
    command = [
        *("-m", "uvicorn", "bench.floor_app:create_app", "--factory", "--port", str(port)),
        *("--workers", str(workers), "--no-access-log", "--no-server-header", "--log-level", "warning"),
    ]
    env = {**os.environ, "DATABASE_URL": url}
    with processes([command], env, [folder / f"floor-{workers}.log"], program=sys.executable) as [server]:
        await wait_listening(port, server.pid)
        yield port, server.pid


async def wait_listening(port: int, pid: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = await Connection.open(port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        status = await connection.post("/echo", None, BODY)
        connection.close()
        if status == 201:
            await asyncio.sleep(1.0)  # every worker process up, not just the first
            return
    raise RuntimeError(f"the floor app (pid {pid}) did not answer within 30 s")


async def main(args: argparse.Namespace) -> int:
    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url:
        print("set DATABASE_URL to a PostgreSQL server where a database can be created", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="guildhall-bench-floor-") as tmp:
        folder = Path(tmp)
        url = await fresh_database(admin_url, DATABASE)
        try:
            p = await measure_p(url, args.seconds, folder)
            conn = await asyncpg.connect(url)
            try:
                await conn.execute("CREATE TABLE floor_rows (id bigserial PRIMARY KEY, payload text NOT NULL)")
            finally:
                await conn.close()
            runs = {workers: await serve_and_load(url, workers, args, folder) for workers in args.workers}
            report(p, await server_version(url), runs)
        finally:
            await drop_database(admin_url, DATABASE)
    return 0


def report(p: float, version: str, runs: dict[int, list[tuple[str, Phase]]]) -> None:
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
        f"PostgreSQL {version}"
    )
    print(f"P (pgbench, 8 clients, one 1500 B INSERT per transaction, synchronous commit): {p:,.0f} tps")
    print(
        f"{'workers':>7}  {'route':<6}  {'clients':>7}  {'requests/s':>10}  {'ratio to P':>10}  {'p50 ms':>6}  "
        f"{'p99 ms':>6}  {'API CPU ms':>10}  {'PG CPU ms':>9}  {'load CPU ms':>11}  {'all CPU ms':>10}  errors"
    )
    for workers, phases in runs.items():
        for path, phase in phases:
            errors = ", ".join(f"{status}×{n}" for status, n in sorted(phase.errors.items())) or "none"
            cpu = "  ".join(
                f"{phase.cpu_ms_per_request(part):>{width}.3f}"
                for part, width in (("api", 10), ("postgres", 9), ("load", 11), ("machine", 10))
            )
            print(
                f"{workers:>7}  {path:<6}  {phase.concurrency:>7}  {phase.rate:>10,.0f}  {phase.rate / p:>10.2f}  "
                f"{phase.percentile(0.5):>6.1f}  {phase.percentile(0.99):>6.1f}  {cpu}  {errors}"
            )
    print("(/echo: decode and answer; /rows: decode, one INSERT of ~1.5 kB in a transaction, answer)")


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per phase, and pgbench's (10)")
    parser.add_argument(
        "--concurrency", type=lambda v: [int(c) for c in v.split(",")], default=[8, 50], help="clients (8,50)"
    )
    parser.add_argument(
        "--workers", type=lambda v: [int(c) for c in v.split(",")], default=[1, 2], help="server processes (1,2)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run_main(main(arguments())))
