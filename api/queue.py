"""The one small interface to the job queue (arq on Redis). PostgreSQL's outbox is the source of
truth; this only says "there is work", and the worker's sweep covers anything it fails to say."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

from arq.connections import ArqRedis, RedisSettings
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from litestar.background_tasks import BackgroundTask
from redis.exceptions import NoScriptError

from domain.writes import EventDispatcher, dispatch_after_commit

PROCESS_OUTBOX_EVENT = "process_outbox_event"
PROCESS_OUTBOX_EVENTS = "process_outbox_events"


def redis_settings(url: str) -> RedisSettings:
    """arq settings from a URL; ``unix:///path/redis.sock`` reaches the embedded Redis."""
    if url.startswith("unix://"):
        parsed = urlsplit(url)
        database = int(parse_qs(parsed.query).get("db", ["0"])[0])
        return RedisSettings(unix_socket_path=parsed.path, database=database)
    return RedisSettings.from_dsn(url)


def client(url: str) -> ArqRedis:
    """An arq client that connects on first use: the API starts, and keeps taking writes into the
    outbox, while Redis is down; readiness reports it."""
    settings = redis_settings(url)
    return ArqRedis(
        host=settings.host,
        port=settings.port,
        unix_socket_path=settings.unix_socket_path,
        db=settings.database,
        username=settings.username,
        password=settings.password,
        ssl=settings.ssl,
        socket_connect_timeout=2,
        socket_timeout=5,
        encoding="utf8",
    )


def outbox_job_id(event_id: int) -> str:
    return f"outbox:{event_id}"


def events_job_id(event_ids: Sequence[int]) -> str:
    """The id of the job ``JobQueue.dispatch`` gives the events of one write (at least one)."""
    if len(event_ids) == 1:
        return outbox_job_id(event_ids[0])
    return f"outbox:{event_ids[0]}..{event_ids[-1]}:{len(event_ids)}"


# arq's enqueue_job in one round trip instead of three (WATCH and EXISTS, then MULTI/PSETEX/ZADD/EXEC): the same
# keys, the same pickled job, the same rule — nothing is queued while the job id's job or result exists.
# KEYS: the job key, the result key, the queue; ARGV: expiry (ms), the job, its score (ms), the job id.
_ENQUEUE = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) ~= 0 then return 0 end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""
_ENQUEUE_SHA = hashlib.sha1(_ENQUEUE.encode(), usedforsecurity=False).hexdigest()  # how Redis names scripts


# The same for many jobs at once: what one batch of writes sends, one command instead of one per job (each
# command costs the API's Redis client more than the script's loop costs Redis).
# KEYS: each job's job key and result key, then the queue; ARGV: expiry (ms), then each job's job, score and id.
_ENQUEUE_MANY = """
local queue, expiry = KEYS[#KEYS], ARGV[1]
for i = 1, (#KEYS - 1) / 2 do
  if redis.call('EXISTS', KEYS[2 * i - 1], KEYS[2 * i]) == 0 then
    redis.call('PSETEX', KEYS[2 * i - 1], expiry, ARGV[3 * i - 1])
    redis.call('ZADD', queue, ARGV[3 * i], ARGV[3 * i + 1])
  end
end
return 1
"""
_ENQUEUE_MANY_SHA = hashlib.sha1(_ENQUEUE_MANY.encode(), usedforsecurity=False).hexdigest()


# Seconds between two sends to Redis while writes keep coming: what the worker's start on a job may wait, for fewer
# round trips (each costs the API about as much CPU as a few dozen jobs in one: bench/README.md, "Ninth session").
BATCH_INTERVAL = 0.02
_Queued = tuple[tuple[str, ...], tuple[object, ...], "asyncio.Future[None]"]  # a job's keys, values and caller


class JobQueue:
    """Enqueues jobs; a job id makes a second enqueue of the same work a no-op while it is queued.

    ``dispatch`` is called by every write when it commits. Writes that commit together share one command to
    Redis: one is on its way at a time (and under load one every BATCH_INTERVAL), and the jobs of the writes that
    commit meanwhile wait and go together in the next. Each still gets its own job, with the same id and rule as
    alone, and each caller returns only once its job is queued (or with the error that kept it from Redis), but
    one round trip carries them all.
    """

    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis
        self._batch: list[_Queued] = []  # waiting for the next send
        self._sender: asyncio.Task[None] | None = None  # sending while there are jobs waiting
        self._last_sent = float("-inf")  # when the last send left (the loop's clock)

    def _command(
        self, function: str, args: tuple[object, ...], job_id: str
    ) -> tuple[tuple[str, ...], tuple[object, ...]]:
        """The script's keys and values for a job: arq's job key, result key and queue; expiry, job, score, id."""
        now = timestamp_ms()
        job = serialize_job(function, args, {}, None, now, serializer=self.redis.job_serializer)
        keys = (job_key_prefix + job_id, result_key_prefix + job_id, self.redis.default_queue_name)
        return keys, (self.redis.expires_extra_ms, job, now, job_id)

    async def enqueue(self, function: str, *args: object, job_id: str | None = None) -> None:
        """As ``ArqRedis.enqueue_job(function, *args, _job_id=job_id)``, in one round trip (a script)."""
        keys, values = self._command(function, args, job_id or uuid4().hex)
        try:
            await self.redis.evalsha(_ENQUEUE_SHA, len(keys), *keys, *values)  # type: ignore[arg-type, misc]
        except NoScriptError:  # the first time on this Redis (or after SCRIPT FLUSH); EVAL caches it
            await self.redis.eval(_ENQUEUE, len(keys), *keys, *values)  # type: ignore[arg-type, misc]

    async def dispatch(self, event_ids: Sequence[int], generation: str | None = None) -> None:
        """EventDispatcher: the events one write committed, in one job (one round trip to Redis, shared with the
        other writes committed meanwhile: this runs on every write). The job handles them in order; each is done
        at most once. ``generation`` (the sweep's) makes the job id one that an older job of the same events
        cannot block."""
        if not event_ids:
            return
        job_id = events_job_id(event_ids) + (f":{generation}" if generation else "")
        if len(event_ids) == 1:
            keys, values = self._command(PROCESS_OUTBOX_EVENT, (event_ids[0],), job_id)
        else:
            keys, values = self._command(PROCESS_OUTBOX_EVENTS, (list(event_ids),), job_id)
        loop = asyncio.get_running_loop()
        queued = loop.create_future()
        self._batch.append((keys, values, queued))
        if self._sender is None:
            self._sender = loop.create_task(self._send_batches())
        await queued

    async def _send_batches(self) -> None:
        """One send at a time, what callers add while one is on its way going in the next; and when writes
        come in faster than one per BATCH_INTERVAL, a send at most every BATCH_INTERVAL, so that under load
        each carries several jobs (a lone write still goes at once)."""
        loop = asyncio.get_running_loop()
        try:
            while self._batch:
                if (wait := self._last_sent + BATCH_INTERVAL - loop.time()) > 0:
                    await asyncio.sleep(wait)
                batch, self._batch = self._batch, []
                self._last_sent = loop.time()
                await self._send_batch(batch)
        finally:
            self._sender = None

    async def _send_batch(self, batch: list[_Queued]) -> None:
        """One call of the many-jobs script for the whole batch: every caller hears the one outcome."""
        keys: list[str] = []
        values: list[object] = [self.redis.expires_extra_ms]
        for (job_key, result_key, _), (_, job, score, job_id), _ in batch:
            keys += (job_key, result_key)
            values += (job, score, job_id)
        keys.append(self.redis.default_queue_name)
        try:
            try:
                await self.redis.evalsha(_ENQUEUE_MANY_SHA, len(keys), *keys, *values)  # type: ignore[arg-type, misc]
            except NoScriptError:  # as in enqueue
                await self.redis.eval(_ENQUEUE_MANY, len(keys), *keys, *values)  # type: ignore[arg-type, misc]
        except Exception as error:  # Redis is away: every caller hears why (the sweep will dispatch)
            for _, _, queued in batch:
                _settle(queued, error)
            return
        for _, _, queued in batch:
            _settle(queued)


def _settle(future: asyncio.Future[None], error: Exception | None = None) -> None:
    if future.done():  # its caller was cancelled (a client that went away): nobody waits for it
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class AfterResponse:
    """The EventDispatcher of one request whose client need not wait for Redis: it keeps the events its writes
    committed and hands them to the job queue once the answer is sent (``task()``, a Litestar background task).
    Within the test client the task ends before the answer is returned; should it fail, the sweep dispatches."""

    def __init__(self, jobs: EventDispatcher | None) -> None:
        self.jobs = jobs
        self.writes: list[list[int]] = []

    async def dispatch(self, event_ids: Sequence[int]) -> None:
        self.writes.append(list(event_ids))

    def task(self) -> BackgroundTask | None:
        return BackgroundTask(self._send) if self.writes else None

    async def _send(self) -> None:
        for event_ids in self.writes:
            await dispatch_after_commit(self.jobs, event_ids)
