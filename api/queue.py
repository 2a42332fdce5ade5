"""The one small interface to the job queue (arq on Redis). PostgreSQL's outbox is the source of
truth; this only says "there is work", and the worker's sweep covers anything it fails to say."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

from arq.connections import ArqRedis, RedisSettings
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.exceptions import NoScriptError

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


class JobQueue:
    """Enqueues jobs; a job id makes a second enqueue of the same work a no-op while it is queued."""

    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis

    async def enqueue(self, function: str, *args: object, job_id: str | None = None) -> None:
        """As ``ArqRedis.enqueue_job(function, *args, _job_id=job_id)``, in one round trip (a script)."""
        job_id = job_id or uuid4().hex
        now = timestamp_ms()
        job = serialize_job(function, args, {}, None, now, serializer=self.redis.job_serializer)
        keys = (job_key_prefix + job_id, result_key_prefix + job_id, self.redis.default_queue_name)
        values = (self.redis.expires_extra_ms, job, now, job_id)
        try:
            await self.redis.evalsha(_ENQUEUE_SHA, len(keys), *keys, *values)  # type: ignore[arg-type, misc]
        except NoScriptError:  # the first time on this Redis (or after SCRIPT FLUSH); EVAL caches it
            await self.redis.eval(_ENQUEUE, len(keys), *keys, *values)  # type: ignore[arg-type, misc]

    async def dispatch(self, event_ids: Sequence[int], generation: str | None = None) -> None:
        """EventDispatcher: the events one write committed, in one job (one round trip to Redis, not one
        per event: this runs on every write). The job handles them in order; each is done at most once.
        ``generation`` (the sweep's) makes the job id one that an older job of the same events cannot block."""
        if not event_ids:
            return
        job_id = events_job_id(event_ids) + (f":{generation}" if generation else "")
        if len(event_ids) == 1:
            await self.enqueue(PROCESS_OUTBOX_EVENT, event_ids[0], job_id=job_id)
        else:
            await self.enqueue(PROCESS_OUTBOX_EVENTS, list(event_ids), job_id=job_id)
