"""What the benchmarks share: the machine's limit P (pgbench), Guildhall's processes as `make run` starts them,
a Redis for them, a bare HTTP/1.1 load client, latency phases, and the CPU the processes used (from /proc)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import uvloop

ROOT = Path(__file__).resolve().parents[1]
GUILDHALL = ROOT / ".venv" / "bin" / "guildhall"
READY_TIMEOUT = 30.0
ROW_BYTES = 1500
T = TypeVar("T")


def run_main(main: Coroutine[Any, Any, T]) -> T:
    """Runs a benchmark's ``main`` on uvloop, as the API's processes run: the load generator shares the machine's
    cores with what it measures, and on asyncio's own loop it spent a quarter to a third more CPU per request (0.13 ms
    against 0.09 at 8 clients, bench/README.md, "Fifteenth session"), CPU the API and PostgreSQL then lacked."""
    return uvloop.run(main)


# --- PostgreSQL: the machine's limit P --------------------------------------------------------------


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


async def server_version(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def machine(postgres_version: str) -> str:
    return (
        f"{os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
        f"PostgreSQL {postgres_version}"
    )


# --- Guildhall's processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def processes(
    commands: list[list[str]], env: dict[str, str], logs: list[Path], program: str = str(GUILDHALL)
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``guildhall`` subcommands (or ``program``'s) running with ``env``, each logging to its file; stopped
    (SIGTERM, then SIGKILL after 15 s) on the way out."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        for command, log in zip(commands, logs, strict=True):
            with log.open("wb") as out:
                started.append(
                    subprocess.Popen([program, *command], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
                )
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # uvicorn and arq stop gracefully on SIGTERM
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def api_server(env: dict[str, str], port: int, workers: int, log: Path) -> Iterator[tuple[str, int]]:
    """``guildhall serve`` on the loopback port: its base URL and process id once /readyz answers 200."""
    command = ["serve", "--port", str(port), "--workers", str(workers)]
    with processes([command], env, [log]) as [server]:
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(server, base, log)
            yield base, server.pid
        except BaseException:
            print(f"the API's last log lines:\n{log.read_text()[-3000:]}", file=sys.stderr)
            raise


def wait_ready(server: subprocess.Popen[bytes], base: str, log: Path) -> None:
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
    from api.dev import embedded_redis

    with embedded_redis(folder / "redis") as url:
        yield url


# --- CPU used, read from /proc (Linux; PostgreSQL on this machine) ------------------------------------


def process_cpu(pid: int) -> float:
    """User plus system CPU seconds of a process so far; 0 for one that is gone (or not readable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> float:
    """CPU seconds every process of the machine has used so far, all cores together (/proc/stat: user, nice,
    system, irq and softirq; not idle, iowait or the time the hypervisor stole)."""
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in Path("/proc/stat").read_text().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pending.extend(int(child) for child in task.read_text().split())
    return found


Sample = dict[int, tuple[str, float]]


class CpuProbe:
    """Samples the CPU used by named process trees, by single processes (``lone``: the load generator, whose
    children are the servers) and by the PostgreSQL backends of a database, and the machine's in all."""

    def __init__(self, database_url: str, trees: dict[str, int], lone: dict[str, int] | None = None) -> None:
        self.database_url, self.trees, self.lone = database_url, trees, lone or {}

    async def sample(self) -> Sample:
        conn = await asyncpg.connect(self.database_url)
        try:
            backends = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await conn.close()
        taken = {pid: (part, process_cpu(pid)) for part, root in self.trees.items() for pid in process_tree(root)}
        taken.update({pid: (part, process_cpu(pid)) for part, pid in self.lone.items()})
        taken.update({r["pid"]: ("postgres", process_cpu(r["pid"])) for r in backends})
        taken[0] = ("machine", machine_cpu())  # everything, others' processes too
        return taken

    @staticmethod
    def used(before: Sample, after: Sample) -> dict[str, float]:
        """CPU seconds by part between two samples; a process started in between counts whole."""
        parts: dict[str, float] = {}
        for pid, (part, seconds) in after.items():
            parts[part] = parts.get(part, 0.0) + seconds - before.get(pid, (part, 0.0))[1]
        return parts


# --- HTTP load ----------------------------------------------------------------------------------------


@contextmanager
def collector_held_off() -> Iterator[None]:
    """The load generator's own cyclic garbage collector held off while it loads and times a server. Left on, it
    walked the whole of this process's heap (the seeding's imports and rows) every few tens of seconds: a pause of
    24 ms in which all the clients' answers wait unread, and are timed as the server's (``gc.callbacks``,
    bench/README.md, "Thirteenth session"). What was allocated so far is frozen, so the collections after the
    phase do not walk it again; a phase makes little cyclic garbage in its few seconds."""
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass
class Phase:
    concurrency: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: dict[int, int] = field(default_factory=dict)  # HTTP status -> count (0: the connection failed)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds within the window, by part

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else float("nan")

    def then(self, later: Phase) -> Phase:
        """This phase and ``later``, a further slice of the same load at the same concurrency, as one phase."""
        cpu = dict(self.cpu)
        for part, seconds in later.cpu.items():
            cpu[part] = cpu.get(part, 0.0) + seconds
        errors = dict(self.errors)
        for status, count in later.errors.items():
            errors[status] = errors.get(status, 0) + count
        return Phase(self.concurrency, self.seconds + later.seconds, self.latencies + later.latencies, errors, cpu)

    def cpu_ms_per_request(self, part: str) -> float:
        """CPU milliseconds one successful request cost ``part`` (the API's processes, the PostgreSQL backends
        serving them ...): steadier than requests/s on a machine others use too."""
        return self.cpu[part] * 1000 / len(self.latencies) if part in self.cpu and self.latencies else float("nan")


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

    async def post(self, path: str, authorization: str | None, body: bytes, idempotency_key: str | None = None) -> int:
        """Sends a JSON POST (with an ``Idempotency-Key``, if given) and reads the whole answer within 10 s; its
        status."""
        return (await asyncio.wait_for(self._post(path, authorization, body, idempotency_key), 10))[0]

    async def post_reading(self, path: str, authorization: str | None, body: bytes) -> tuple[int, bytes]:
        """Sends a JSON POST; its status and body, within 10 s."""
        return await asyncio.wait_for(self._post(path, authorization, body), 10)

    async def get(self, path: str, authorization: str | None = None) -> int:
        """Sends a GET and reads the whole answer within 10 s; its status."""
        return (await asyncio.wait_for(self._send("GET", path, authorization, None), 10))[0]

    async def _post(
        self, path: str, authorization: str | None, body: bytes, idempotency_key: str | None = None
    ) -> tuple[int, bytes]:
        return await self._send("POST", path, authorization, body, idempotency_key)

    async def _send(
        self, method: str, path: str, authorization: str | None, body: bytes | None, idempotency_key: str | None = None
    ) -> tuple[int, bytes]:
        auth = f"Authorization: {authorization}\r\n" if authorization else ""
        if idempotency_key is not None:
            auth += f"Idempotency-Key: {idempotency_key}\r\n"
        content = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body is not None else ""
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{auth}{content}\r\n"
        self.writer.write(head.encode() + (body or b""))
        headers = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        length = re.search(r"(?im)^content-length:\s*(\d+)", headers)
        if length is None:
            raise ValueError(f"an answer without Content-Length: {headers[:200]!r}")
        answer = await self.reader.readexactly(int(length.group(1)))
        return int(headers.split(" ", 2)[1]), answer

    def close(self) -> None:
        self.writer.close()


async def token(http: httpx.AsyncClient, client: tuple[str, str]) -> dict[str, str]:
    response = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=client)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def ok(request: Any) -> Any:
    """The JSON of an answer below 300; else a RuntimeError naming the request and the answer."""
    response: httpx.Response = await request
    if response.status_code >= 300:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    return response.json()


# --- The programme the benches seed -------------------------------------------------------------------------

SKILL = "http://data.europa.eu/esco/skill/"
PLC, SAFETY = SKILL + "0b7f6a52-0000-4000-8000-000000000001", SKILL + "0b7f6a52-0000-4000-8000-000000000002"


def bench_profile() -> dict[str, Any]:
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


def bench_programme(profile_id: str, provider_id: str, chamber_id: str, *, cosigned: bool) -> dict[str, Any]:
    """One unit, certifiable alone, assessed on learning outcomes with no maximum of attempts (record.py
    records as many per learner as it can); approved by the chamber, which co-signs when ``cosigned``."""
    content: dict[str, Any] = {
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
                "assessment": {"mode": "outcome_based", "outcomes": [{"key": "lo1"}, {"key": "lo2"}]},
            }
        ],
    }
    if cosigned:
        content["cosignerId"] = chamber_id
    return content
