"""The arq worker: processes outbox events and sweeps up the ones nobody dispatched.

PostgreSQL's outbox is the source of truth. A job only carries an event id; if Redis loses it,
or the API could not enqueue it, the sweep finds the row again.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import Any

from arq import Retry, cron
from arq.worker import Function, Worker, async_check_health, func

from api.queue import PROCESS_OUTBOX_EVENT, PROCESS_OUTBOX_EVENTS, JobQueue, redis_settings
from api.settings import Settings
from domain import outbox
from domain.attempts import bulk  # noqa: F401  (registers the handler of results.batch_uploaded)
from domain.credentials import handlers  # noqa: F401  (registers issuing on attempt.passed and the rest)
from domain.db import Database

log = logging.getLogger(__name__)

# A dispatch older than this without the event being done is presumed lost.
REDISPATCH_AFTER = timedelta(minutes=1)
# Per sweep: at most this many rounds of 500 events, handed out in jobs of this many events.
SWEEP_ROUNDS = 40
SWEEP_JOB_SIZE = 50
# arq's own retries with backoff; after the last, the sweep re-dispatches the event.
MAX_TRIES = 5
# The health key lives one second longer than this; `guildhall worker --check` reads it.
HEALTH_CHECK_INTERVAL = 10


def retry_delay(job_try: int) -> float:
    """Seconds before the next try: 1, 2, 4, 8 ... capped at one minute."""
    return float(min(60, 2 ** (job_try - 1)))


async def process_outbox_event(ctx: dict[str, Any], event_id: int) -> bool:
    try:
        return await outbox.process_event(ctx["db"], event_id, ctx.get("handler_context"), JobQueue(ctx["redis"]))
    except Exception as exc:
        # arq retries only on Retry; the failure itself is already recorded on the outbox row.
        raise Retry(defer=retry_delay(ctx.get("job_try", 1))) from exc


async def process_outbox_events(ctx: dict[str, Any], event_ids: list[int]) -> int:
    """Several events of one write, in order; a retry skips those already done."""
    done = 0
    for event_id in event_ids:
        done += await process_outbox_event(ctx, event_id)
    return done


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    """Re-dispatches events whose dispatch is missing or stale; job ids make a repeat harmless."""
    db: Database = ctx["db"]
    swept = 0
    for _ in range(SWEEP_ROUNDS):  # a bulk upload can leave tens of thousands at once
        event_ids = await outbox.pending_events(db, older_than=REDISPATCH_AFTER)
        if not event_ids:
            break
        for chunk in (event_ids[i : i + SWEEP_JOB_SIZE] for i in range(0, len(event_ids), SWEEP_JOB_SIZE)):
            await JobQueue(ctx["redis"]).dispatch(chunk)
        await outbox.mark_dispatched(db, event_ids)
        swept += len(event_ids)
    if swept:
        log.info("sweep dispatched %d outbox events", swept)
    return swept


# Modules that handle outbox topics register with domain.outbox.register when imported: import
# them in this module as they are added, so that every worker process knows every topic.

# keep_result=0: the job id frees as soon as the job is done, so a later dispatch is not refused.
FUNCTIONS: list[Function] = [
    func(process_outbox_event, name=PROCESS_OUTBOX_EVENT, keep_result=0, max_tries=MAX_TRIES),
    func(process_outbox_events, name=PROCESS_OUTBOX_EVENTS, keep_result=0, max_tries=MAX_TRIES),
]
CRON_JOBS = [cron(sweep_outbox, second={0, 30}, run_at_startup=True)]


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    ctx["handler_context"] = outbox.HandlerContext(master_key=settings.master_key, public_url=settings.issuer)
    ctx["db"] = await Database.connect(
        settings.database_url,
        min_size=1,
        max_size=settings.db_pool_max,
        statement_cache_size=settings.db_statement_cache_size,
    )


async def shutdown(ctx: dict[str, Any]) -> None:
    db: Database | None = ctx.pop("db", None)
    if db is not None:
        await db.close()


def create_worker(settings: Settings, **overrides: Any) -> Worker:
    """The worker `guildhall worker` runs; call it inside a running event loop."""
    options: dict[str, Any] = {
        "functions": FUNCTIONS,
        "cron_jobs": CRON_JOBS,
        "redis_settings": redis_settings(settings.redis_url),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "ctx": {"settings": settings},
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        "max_tries": MAX_TRIES,
    }
    return Worker(**{**options, **overrides})


async def check_health(settings: Settings) -> bool:
    """True while a worker's health key is fresh (it expires a second after its refresh is due)."""
    # One connection attempt: a health check should answer now, not after arq's five retries.
    quick = dataclasses.replace(redis_settings(settings.redis_url), conn_retries=0)
    return await async_check_health(quick) == 0
