"""``guildhall worker`` with a probe on its event loop: the CPU time of every step the loop runs, for the target
"no CPU step on the event loop longer than 1 ms" (``bench/issue.py --loop-steps`` starts its workers this way).

    GUILDHALL_LOOP_STEPS_DIR=/tmp/steps .venv/bin/python bench/loop_steps.py worker

A step is one callback the loop runs (``asyncio.Handle._run``): a task running until its next ``await`` that
suspends, or an I/O callback such as asyncpg's protocol decoding what arrived. While it runs nothing else can
run on the loop. The probe measures each step's *thread CPU time* (``time.thread_time``), which leaves out the
time the process was not scheduled (the machine's two cores are shared with PostgreSQL and the other workers),
and counts what the cyclic garbage collector does within it. At exit it writes the steps' count and the longest
steps, in milliseconds, as JSON, to ``<pid>.json`` in the folder GUILDHALL_LOOP_STEPS_DIR names.
"""

from __future__ import annotations

import asyncio.events
import atexit
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from a checkout

KEPT = 2000  # the longest steps kept; enough for the 99.9th percentile of two million steps


class LoopSteps:
    def __init__(self) -> None:
        self.count = 0
        self.longest: list[float] = []  # seconds, unordered, at most 2 * KEPT
        self.slow: list[tuple[float, float, str]] = []  # (ms, seconds since start, the callback) over 1 ms
        self.started = time.monotonic()
        self.collections: dict[int, list[float]] = {}  # the garbage collector's pauses, ms, by generation

    def add(self, seconds: float, handle: asyncio.events.Handle) -> None:
        self.count += 1
        if seconds > 0.001 and len(self.slow) < 100:
            self.slow.append((round(seconds * 1000, 2), round(time.monotonic() - self.started, 2), repr(handle)[:200]))
        if len(self.longest) < KEPT or seconds > self.longest[-1]:
            self.longest.append(seconds)
            if len(self.longest) >= 2 * KEPT:
                self.longest = sorted(self.longest, reverse=True)[:KEPT]

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.longest, reverse=True)[:KEPT]
        collections = {
            generation: {"count": len(pauses), "longest_ms": max(pauses, default=0.0)}
            for generation, pauses in self.collections.items()
        }
        return {
            "iterations": self.count,
            "longest_ms": [round(s * 1000, 4) for s in ordered],
            "slow": self.slow,
            "collections": collections,
        }


def install(target: Path) -> None:
    steps = LoopSteps()
    run = asyncio.events.Handle._run

    def measured(handle: asyncio.events.Handle) -> None:
        started = time.thread_time()
        try:
            run(handle)
        finally:
            steps.add(time.thread_time() - started, handle)

    collecting: dict[str, float] = {}
    collections: dict[int, list[float]] = {0: [], 1: [], 2: []}  # ms per collection, by generation

    def collector(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting["since"] = time.thread_time()
        elif "since" in collecting:
            collections[info["generation"]].append(round((time.thread_time() - collecting.pop("since")) * 1000, 3))

    gc.callbacks.append(collector)
    steps.collections = collections
    asyncio.events.Handle._run = measured  # type: ignore[method-assign, assignment]
    atexit.register(lambda: target.write_text(json.dumps(steps.summary())))


def report(summary: dict[str, Any]) -> str:
    """The 99.9th percentile, the longest, and how many steps took over 1 ms."""
    longest: list[float] = summary["longest_ms"]
    rank = int(0.001 * summary["iterations"])  # steps above the 99.9th percentile
    p999 = f"{longest[rank]:.2f} ms" if rank < len(longest) else f"under {longest[-1]:.2f} ms"
    over = sum(1 for ms in longest if ms > 1.0)
    over_text = f"{over}" if over < len(longest) else f"at least {over}"
    top = f"{longest[0]:.2f} ms" if longest else "-"
    return f"{summary['iterations']:,} steps, 99.9th percentile {p999}, longest {top}, {over_text} over 1 ms"


if __name__ == "__main__":
    install(Path(os.environ["GUILDHALL_LOOP_STEPS_DIR"]) / f"{os.getpid()}.json")
    from api.cli import cli

    cli(sys.argv[1:], prog_name="guildhall")
