"""The one small interface to the job queue (arq on Redis). PostgreSQL's outbox is the source of
truth; this only says "there is work", and the worker's sweep covers anything it fails to say."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

from arq.connections import ArqRedis, RedisSettings
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.exceptions import NoScriptError

log = logging.getLogger(__name__)

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
# The most events one job of writes sent together carries; more go in further jobs, as the sweep's chunks do.
JOB_EVENTS = 100
_Job = tuple[tuple[str, ...], tuple[object, ...]]  # a job's keys and values for the scripts


class JobQueue:
    """Enqueues jobs; a job id makes a second enqueue of the same work a no-op while it is queued.

    ``dispatch`` is called by every write when it commits. Writes that commit together share one command to Redis
    and one job: one send is on its way at a time (and under load one every BATCH_INTERVAL), and the events of the
    writes that commit meanwhile wait and go together in the next, in one job (``JOB_EVENTS`` at most) that handles
    them in the order they were written, rather than a job built, pickled, sent and stored per write (bench/README.md,
    "Tenth session"). Each caller of ``dispatch`` returns only once its events are queued (or with the error that
    kept them from Redis); ``dispatch_soon`` (the recording path, ``WithoutWaiting``) does not wait at all. A job's
    id names its events, so sending the same ones together again is a no-op while it is queued; a write whose events
    went in another company gets another job, which finds them done (each event is handled at most once). A write's
    events split over two jobs (past ``JOB_EVENTS``) are ordered as two writes' events always were, each write in a
    job of its own: webhook deliveries keep their order per subject (domain/webhooks).
    """

    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis
        self._events: list[tuple[Sequence[int], asyncio.Future[None] | None]] = []  # writes' events, for the next send
        self._jobs: list[tuple[_Job, asyncio.Future[None]]] = []  # the sweep's jobs, each its own, for the next send
        self._sender: asyncio.Task[None] | None = None  # sending while there is something waiting
        self._last_sent = float("-inf")  # when the last send left (the loop's clock)

    def _command(self, function: str, args: tuple[object, ...], job_id: str) -> _Job:
        """The script's keys and values for a job: arq's job key, result key and queue; expiry, job, score, id."""
        now = timestamp_ms()
        job = serialize_job(function, args, {}, None, now, serializer=self.redis.job_serializer)
        keys = (job_key_prefix + job_id, result_key_prefix + job_id, self.redis.default_queue_name)
        return keys, (self.redis.expires_extra_ms, job, now, job_id)

    def _events_job(self, event_ids: Sequence[int], suffix: str | None = None) -> _Job:
        """A job for the events, its id ``events_job_id``'s and ``suffix`` (the sweep's generation, a digest)."""
        job_id = events_job_id(event_ids) + (f":{suffix}" if suffix else "")
        if len(event_ids) == 1:
            return self._command(PROCESS_OUTBOX_EVENT, (event_ids[0],), job_id)
        return self._command(PROCESS_OUTBOX_EVENTS, (list(event_ids),), job_id)

    async def enqueue(self, function: str, *args: object, job_id: str | None = None) -> None:
        """As ``ArqRedis.enqueue_job(function, *args, _job_id=job_id)``, in one round trip (a script)."""
        keys, values = self._command(function, args, job_id or uuid4().hex)
        try:
            await self.redis.evalsha(_ENQUEUE_SHA, len(keys), *keys, *values)  # type: ignore[arg-type, misc]
        except NoScriptError:  # the first time on this Redis (or after SCRIPT FLUSH); EVAL caches it
            await self.redis.eval(_ENQUEUE, len(keys), *keys, *values)  # type: ignore[arg-type, misc]

    async def dispatch(self, event_ids: Sequence[int], generation: str | None = None) -> None:
        """EventDispatcher: the events one write committed, handled in order, each at most once; they go to Redis
        with those of the other writes committed meanwhile, in one job. ``generation`` (the sweep's) gives them a
        job of their own, whose id an older job of the same events cannot block."""
        if not event_ids:
            return
        queued = asyncio.get_running_loop().create_future()
        if generation is None:
            self._events.append((event_ids, queued))
        else:
            self._jobs.append((self._events_job(event_ids, generation), queued))
        self._start_sending()
        await queued

    def dispatch_soon(self, event_ids: Sequence[int]) -> None:
        """As ``dispatch``, for a caller that does not wait: the events go in the next send, and should it fail
        the sweep dispatches them. ``settled`` waits for what was given so far."""
        if event_ids:
            self._events.append((event_ids, None))
            self._start_sending()

    async def settled(self) -> None:
        """Returns once every event given so far has been sent or its send has failed (before Redis is closed)."""
        while self._sender is not None:
            await asyncio.shield(self._sender)

    def _start_sending(self) -> None:
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send_batches())

    async def _send_batches(self) -> None:
        """One send at a time, what callers add while one is on its way going in the next; and when writes
        come in faster than one per BATCH_INTERVAL, a send at most every BATCH_INTERVAL, so that under load
        each carries several writes (a lone write still goes at once)."""
        loop = asyncio.get_running_loop()
        try:
            while self._events or self._jobs:
                if (wait := self._last_sent + BATCH_INTERVAL - loop.time()) > 0:
                    await asyncio.sleep(wait)
                writes, jobs, self._events, self._jobs = self._events, self._jobs, [], []
                self._last_sent = loop.time()
                await self._send_batch(writes, jobs)
        finally:
            self._sender = None

    async def _send_batch(
        self,
        writes: list[tuple[Sequence[int], asyncio.Future[None] | None]],
        jobs: list[tuple[_Job, asyncio.Future[None]]],
    ) -> None:
        """One call of the many-jobs script for the writes' job(s) and the sweep's: every waiting caller hears the
        one outcome; a failure nobody waits for is logged."""
        events = [event_id for event_ids, _ in writes for event_id in event_ids]
        chunks = [events[i : i + JOB_EVENTS] for i in range(0, len(events), JOB_EVENTS)]
        # One write's job keeps its id; several writes' job adds a digest of its events: an id names one set.
        commands = [self._events_job(chunk, None if len(writes) == 1 else _digest(chunk)) for chunk in chunks]
        commands += [job for job, _ in jobs]
        keys: list[str] = []
        values: list[object] = [self.redis.expires_extra_ms]
        for (job_key, result_key, _), (_, job, score, job_id) in commands:
            keys += (job_key, result_key)
            values += (job, score, job_id)
        keys.append(self.redis.default_queue_name)
        callers = [queued for _, queued in writes if queued] + [queued for _, queued in jobs]
        try:
            try:
                await self.redis.evalsha(_ENQUEUE_MANY_SHA, len(keys), *keys, *values)  # type: ignore[arg-type, misc]
            except NoScriptError:  # as in enqueue
                await self.redis.eval(_ENQUEUE_MANY, len(keys), *keys, *values)  # type: ignore[arg-type, misc]
        except Exception as error:  # Redis is away: every caller hears why (the sweep will dispatch)
            for queued in callers:
                _settle(queued, error)
            if unheard := [event_id for (event_ids, queued) in writes if queued is None for event_id in event_ids]:
                log.warning("could not dispatch events %s now; the sweep will", unheard, exc_info=True)
            return
        for queued in callers:
            _settle(queued)


def _digest(event_ids: Sequence[int]) -> str:
    text = ",".join(map(str, event_ids)).encode()
    return hashlib.blake2b(text, digest_size=8, usedforsecurity=False).hexdigest()


def _settle(future: asyncio.Future[None], error: Exception | None = None) -> None:
    if future.done():  # its caller was cancelled (a client that went away): nobody waits for it
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class WithoutWaiting:
    """The EventDispatcher of a request whose client need not wait for Redis (the integrator's hot path): its
    writes' events go in the job queue's next send, which the request does not wait for. Should that send fail,
    the sweep dispatches them; the app's shutdown waits for it (``JobQueue.settled``)."""

    def __init__(self, jobs: JobQueue) -> None:
        self.jobs = jobs

    async def dispatch(self, event_ids: Sequence[int]) -> None:
        self.jobs.dispatch_soon(event_ids)
