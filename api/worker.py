"""The arq worker: processes outbox events and sweeps up the ones nobody dispatched.

PostgreSQL's outbox is the source of truth. A job only carries an event id; if Redis loses it,
or the API could not enqueue it, the sweep finds the row again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from arq import Retry, cron
from arq.connections import ArqRedis
from arq.worker import Function, Worker, async_check_health, func

from api.queue import PROCESS_OUTBOX_EVENT, PROCESS_OUTBOX_EVENTS, JobQueue, redis_settings
from api.settings import Settings
from api.worker_supervision import held, live_workers, start_heartbeat, stop_heartbeat
from domain import outbox, writes
from domain.attempts import bulk  # noqa: F401  (registers the handler of results.batch_uploaded)
from domain.credentials import batch as credential_batches  # noqa: F401  (batch forms of those handlers)
from domain.credentials import handlers  # noqa: F401  (registers issuing on attempt.passed and the rest)
from domain.db import Database
from domain.mail import sending as mail_sending  # noqa: F401  (registers sending on mail.requested)
from domain.webhooks import delivery as webhook_delivery
from domain.webhooks import events as webhook_events  # noqa: F401  (registers the handlers that queue webhooks)
from domain.webhooks.urls import UrlPolicy

log = logging.getLogger(__name__)

# A dispatch older than this without the event being done is presumed lost.
REDISPATCH_AFTER = timedelta(minutes=1)
# Per sweep: at most this many rounds of 500 events, handed out in jobs of this many events.
SWEEP_ROUNDS = 40
# 100: a batch's fixed cost (a dozen round trips, a job, its follow-ups' job) is spread over more events than at
# 50 (bench/issue.py: about 15% less CPU per credential), while the Python work between two of its statements
# stays under a millisecond of event-loop time (at 200 it does not).
SWEEP_JOB_SIZE = 100
# arq's own retries with backoff; after the last, the sweep re-dispatches the event.
MAX_TRIES = 5
# The health key lives one second longer than this; `guildhall worker --check` reads it.
HEALTH_CHECK_INTERVAL = 10
# Webhook deliveries: one job per attempt; the sweep hands out due ones (retries, missed dispatches).
DELIVER_WEBHOOK = "deliver_webhook"
SWEEP_WEBHOOKS = "sweep_webhooks"
WEBHOOK_SWEEP_INTERVAL = 5  # seconds
WEBHOOK_SWEEP_SECONDS = set(range(0, 60, WEBHOOK_SWEEP_INTERVAL))
WEBHOOK_JOB_TIMEOUT = 60  # seconds: above any attempt (at most 30 s)
DELIVERY_JOB_TRIES = 3
POLL_DELAY = 0.1  # seconds between a worker's polls of the queue
# The outbox sweep every 10 s: what was recorded while Redis was away, or held by a worker that died, waits at most
# that long after the grace (the API's own dispatch is the fast way; this is the safety net).
OUTBOX_SWEEP_SECONDS = set(range(0, 60, 10))
# Expired Idempotency-Keys are deleted every quarter of an hour (one worker runs each: arq's cron job ids).
KEY_EXPIRY_MINUTES = {7, 22, 37, 52}


def retry_delay(job_try: int) -> float:
    """Seconds before the next try: 1, 2, 4, 8 ... capped at one minute."""
    return float(min(60, 2 ** (job_try - 1)))


def _dispatcher(ctx: dict[str, Any]) -> JobQueue | None:
    return JobQueue(ctx["redis"]) if "redis" in ctx else None


async def process_outbox_event(ctx: dict[str, Any], event_id: int) -> bool:
    try:
        done = await outbox.process_event(ctx["db"], event_id, ctx.get("handler_context"), _dispatcher(ctx))
    except Exception as exc:
        # arq retries only on Retry; the failure itself is already recorded on the outbox row.
        raise Retry(defer=retry_delay(ctx.get("job_try", 1))) from exc
    if done:
        await _dispatch_webhooks_of_events(ctx, [event_id])
    return done


async def _dispatch_webhooks_of_events(ctx: dict[str, Any], event_ids: list[int]) -> None:
    """The webhook deliveries the events' handlers queued, handed out now that they are committed
    (best effort: the webhook sweep finds them within seconds anyway)."""
    if not event_ids:
        return
    try:
        for delivery_id, attempts in await webhook_delivery.pending_deliveries_of_events(ctx["db"], event_ids):
            await enqueue_webhook_delivery(ctx["redis"], delivery_id, attempts)
    except Exception:
        log.warning("could not dispatch the webhooks of outbox events %s; the sweep will", event_ids, exc_info=True)


async def process_outbox_events(ctx: dict[str, Any], event_ids: list[int]) -> int:
    """Several events (one write's, or a chunk the sweep handed out), in order; a retry skips those already
    done. The events of a topic with a batch handler are handled together, in one transaction, falling back
    to one by one if the batch fails (``outbox.process_events``)."""
    processed: list[int] = []
    try:
        await outbox.process_events(ctx["db"], event_ids, ctx.get("handler_context"), _dispatcher(ctx), processed)
    except Exception as exc:
        raise Retry(defer=retry_delay(ctx.get("job_try", 1))) from exc
    finally:
        await _dispatch_webhooks_of_events(ctx, processed)
    return len(processed)


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    """Re-dispatches events whose dispatch is missing or stale; job ids make a repeat harmless."""
    db: Database = ctx["db"]
    jobs = JobQueue(ctx["redis"])
    # A worker that died after marking events and before queueing them left them marked: taken again once its
    # heartbeat is gone (a sweep run without a worker id, as in tests, marks without one and sees no such rows).
    worker_id: str | None = ctx.get("worker_id")
    live = await live_workers(ctx["redis"]) if worker_id else None
    swept = 0
    for _ in range(SWEEP_ROUNDS):  # a bulk upload can leave tens of thousands at once
        event_ids = await outbox.pending_events(db, older_than=REDISPATCH_AFTER, live_workers=live)
        if not event_ids:
            break
        # Marked first: a job must not meet the marking's row locks (claim_event skips locked rows).
        await outbox.mark_dispatched(db, event_ids, worker_id)
        # A generation in the job ids: a job of the same events that a dead worker left in Redis cannot make
        # this dispatch a no-op (its job id is a new one); a live duplicate finds the events done or held.
        # The chunks go together, in one round trip to Redis.
        generation = f"sweep{time.time_ns() // 1_000_000}"
        chunks = [event_ids[i : i + SWEEP_JOB_SIZE] for i in range(0, len(event_ids), SWEEP_JOB_SIZE)]
        await asyncio.gather(*(jobs.dispatch(chunk, generation=generation) for chunk in chunks))
        swept += len(event_ids)
    if swept:
        log.info("sweep dispatched %d outbox events", swept)
    return swept


async def expire_idempotency_keys(ctx: dict[str, Any]) -> int:
    """Deletes the Idempotency-Keys older than IDEMPOTENCY_KEY_TTL, and the answers stored under them."""
    settings: Settings = ctx["settings"]
    if not settings.idempotency_key_ttl:
        return 0
    deleted = await writes.expire_idempotency_keys(ctx["db"], timedelta(seconds=settings.idempotency_key_ttl))
    if deleted:
        log.info("deleted %d expired Idempotency-Keys", deleted)
    return deleted


def webhook_options(settings: Settings) -> webhook_delivery.DeliveryOptions:
    return webhook_delivery.DeliveryOptions(
        master_key=settings.master_key,
        url_policy=UrlPolicy(
            require_https=settings.environment == "production", allowed_networks=settings.webhook_networks
        ),
        retry_schedule=settings.webhook_retry_schedule,
        timeout=settings.webhook_timeout,
    )


def webhook_job_id(delivery_id: UUID | str, attempts: int) -> str:
    """One job id per attempt of a delivery: a second dispatch of the same attempt is a no-op while queued."""
    return f"webhook:{delivery_id}:{attempts}"


async def enqueue_webhook_delivery(redis: ArqRedis, delivery_id: UUID, attempts: int, defer: float = 0) -> None:
    await redis.enqueue_job(
        DELIVER_WEBHOOK, str(delivery_id), _job_id=webhook_job_id(delivery_id, attempts), _defer_by=defer or None
    )


async def enqueue_webhook_sweep(redis: ArqRedis) -> None:
    await redis.enqueue_job(SWEEP_WEBHOOKS, _job_id="webhooks:sweep")


async def deliver_webhook(ctx: dict[str, Any], delivery_id: str) -> bool:
    """One attempt of a delivery; a failure queues the next after its backoff, a success releases the
    next delivery of the same subject."""
    redis: ArqRedis = ctx["redis"]
    # A second try of this job means its first worker died holding it (a failed attempt is not an arq retry).
    taken_over = ctx.get("job_try", 1) > 1
    outcome = await webhook_delivery.attempt(
        ctx["db"], UUID(delivery_id), webhook_options(ctx["settings"]), take_over=taken_over
    )
    if outcome.retry_in is not None and outcome.retry_in <= WEBHOOK_SWEEP_INTERVAL:
        # A short wait is kept by arq; a longer one by PostgreSQL alone, and the sweep hands it out.
        await enqueue_webhook_delivery(redis, UUID(delivery_id), outcome.attempts, defer=outcome.retry_in)
    for released, attempts in outcome.released:
        await enqueue_webhook_delivery(redis, released, attempts)
    return outcome.attempted


async def sweep_webhooks(ctx: dict[str, Any]) -> int:
    """Hands out every due delivery: retries whose time has come, and any whose dispatch was lost."""
    due: Sequence[tuple[UUID, int]] = await webhook_delivery.due_deliveries(ctx["db"])
    for delivery_id, attempts in due:
        await enqueue_webhook_delivery(ctx["redis"], delivery_id, attempts)
    if due:
        log.info("webhook sweep dispatched %d deliveries", len(due))
    return len(due)


# Modules that handle outbox topics register with domain.outbox.register when imported: import
# them in this module as they are added, so that every worker process knows every topic.

# keep_result=0: the job id frees as soon as the job is done, so a later dispatch is not refused. The worker's own
# keep_result is 0 too (create_worker): arq stores a job that ran out of tries under the worker's setting, not
# the function's, and that result would block the job id for the worker-wide default of an hour.
# ``held``: the job records its worker, so that a dead worker's jobs are run again within seconds (see
# api/worker_supervision.py).
FUNCTIONS: list[Function] = [
    func(held(process_outbox_event), name=PROCESS_OUTBOX_EVENT, keep_result=0, max_tries=MAX_TRIES),
    func(held(process_outbox_events), name=PROCESS_OUTBOX_EVENTS, keep_result=0, max_tries=MAX_TRIES),
    # A failed attempt is not an arq retry: the delivery's own backoff queues the next attempt. The tries are
    # for a job whose worker died (freed by a live worker's reaper): run again, it takes the delivery's lease over.
    func(
        held(deliver_webhook),
        name=DELIVER_WEBHOOK,
        keep_result=0,
        max_tries=DELIVERY_JOB_TRIES,
        timeout=WEBHOOK_JOB_TIMEOUT,
    ),
    func(sweep_webhooks, name=SWEEP_WEBHOOKS, keep_result=0, max_tries=1),
]
CRON_JOBS = [
    cron(sweep_outbox, second=OUTBOX_SWEEP_SECONDS, run_at_startup=True),
    cron(sweep_webhooks, second=WEBHOOK_SWEEP_SECONDS, run_at_startup=True),
    cron(expire_idempotency_keys, minute=KEY_EXPIRY_MINUTES, second=0),
]


def handler_context(settings: Settings) -> outbox.HandlerContext:
    """What outbox handlers need from the settings: the master key, the public URL, the mail server."""
    return outbox.HandlerContext(
        master_key=settings.master_key,
        public_url=settings.issuer,
        smtp_url=settings.smtp_url,
        mail_from=settings.sender,
    )


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    ctx["handler_context"] = handler_context(settings)
    ctx["db"] = await Database.connect(
        settings.database_url,
        min_size=1,
        max_size=settings.db_pool_max,
        statement_cache_size=settings.db_statement_cache_size,
        command_timeout=settings.db_command_timeout,
    )
    if "redis" in ctx:  # arq's pool: what a write here emits is dispatched when it commits, as in the API
        ctx["db"].dispatcher = JobQueue(ctx["redis"])
    start_heartbeat(ctx)


async def shutdown(ctx: dict[str, Any]) -> None:
    await stop_heartbeat(ctx)
    db: Database | None = ctx.pop("db", None)
    if db is not None:
        await db.close()


def create_worker(settings: Settings, **overrides: Any) -> Worker:
    """The worker `guildhall worker` runs; call it inside a running event loop."""
    options: dict[str, Any] = {
        "functions": FUNCTIONS,
        # Copies: arq keeps a cron job's next run on the CronJob, and run_at_startup holds only while it is None.
        "cron_jobs": [dataclasses.replace(job) for job in CRON_JOBS],
        "redis_settings": redis_settings(settings.redis_url),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "ctx": {"settings": settings},
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        "max_tries": MAX_TRIES,
        "keep_result": 0,
        # arq starts new jobs only when it polls: at its default (every 0.5 s, 10 jobs at once) a worker sent at
        # most 20 webhooks a second, however fast the receiver. The number of jobs at once stays arq's 10: the
        # chunks of the outbox are CPU-bound, and more of them at once would only hold their transactions longer.
        "poll_delay": POLL_DELAY,
    }
    return Worker(**{**options, **overrides})


async def check_health(settings: Settings) -> bool:
    """True while a worker's health key is fresh (it expires a second after its refresh is due)."""
    # One connection attempt: a health check should answer now, not after arq's five retries.
    quick = dataclasses.replace(redis_settings(settings.redis_url), conn_retries=0)
    return await async_check_health(quick) == 0
