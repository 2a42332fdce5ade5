"""Data Integrity proofs are made and checked in worker processes, never on the event loop.

Canonicalising a credential costs milliseconds of CPU (a JWS signature costs tens of microseconds): done in
the API's event loop it would stall every other request. A ``ProcessPoolExecutor`` (forkserver: the API
process holds threads and sockets a fork must not copy) with one process per core, started on first use
and shut down with the application (``shutdown``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import msgspec

from domain.credentials.data_integrity import proofs

Json = dict[str, Any]
_pool: ProcessPoolExecutor | None = None
# How long checking a presented credential's proofs may take. Guildhall's credentials take milliseconds, but
# RDFC-1.0 is factorial in blank nodes that all point at each other: a 1.5 KB "poison graph" sent to the
# public verifier would hold a process for minutes, and a few of them every process.
VERIFY_SECONDS = float(os.environ.get("GUILDHALL_PROOF_VERIFY_SECONDS") or 10)


def processes() -> int:
    return int(os.environ.get("GUILDHALL_PROOF_PROCESSES") or os.cpu_count() or 1)


def executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(processes(), mp_context=multiprocessing.get_context("forkserver"))
    return _pool


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


def _terminate() -> None:
    """Ends the pool's processes now (a running task cannot be cancelled otherwise); the next use starts a new
    pool, and tasks that were running in the old one are run again there (``_run``)."""
    global _pool
    if _pool is not None:
        stuck, _pool = _pool, None
        for process in list(stuck._processes.values()):
            process.terminate()
        stuck.shutdown(wait=False)  # its futures fail with BrokenProcessPool, which _run retries


async def _run(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a pool process; a pool broken by a dead process is replaced once."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(executor(), function, *args)
    except BrokenProcessPool:
        shutdown()
        return await loop.run_in_executor(executor(), function, *args)


async def create_set(document: Json, signers: Sequence[proofs.Signer], public_url: str) -> list[Json]:
    """One proof per signer over ``document``, made in a worker process (the document canonicalised once)."""
    made: list[Json] = await _run(proofs.create_set, document, list(signers), public_url)
    return made


async def verify_set(document: Json, checks: Sequence[tuple[Json, Json]], public_url: str) -> list[str | None]:
    """Each (proof, public JWK) checked in a worker process: None where it verifies, else the reason; every
    proof refused when the check takes longer than VERIFY_SECONDS (its process is then replaced)."""
    try:
        checked: list[str | None] = await asyncio.wait_for(
            _run(proofs.verify_set, document, list(checks), public_url), VERIFY_SECONDS
        )
    except TimeoutError:
        _terminate()
        return [f"the credential could not be canonicalised within {VERIFY_SECONDS:g} seconds"] * len(checks)
    return checked


async def run_bounded(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a pool process, cut off after VERIFY_SECONDS (``TimeoutError``; the stuck process
    is replaced): for checks of documents someone else sent (a wallet's presentation)."""
    try:
        return await asyncio.wait_for(_run(function, *args), VERIFY_SECONDS)
    except TimeoutError:
        _terminate()
        raise


def create_many(
    items: list[tuple[bytes, list[proofs.Signer]]], public_url: str, leave_out: tuple[str, ...] = ()
) -> tuple[list[list[Json]], float]:
    """Proof sets for many credentials (their payload bytes, less the members ``leave_out``, and signers), in
    one worker process: the proofs, and the CPU seconds this process spent making them (for
    ``bench/issue.py``'s proofs per core)."""
    started = time.process_time()
    made = []
    for payload, signers in items:
        document = msgspec.json.decode(payload)
        for name in leave_out:
            document.pop(name, None)
        made.append(proofs.create_set(document, signers, public_url))
    return made, time.process_time() - started
