"""The one small interface to the job queue (arq on Redis). PostgreSQL's outbox is the source of
truth; this only says "there is work", and the worker's sweep covers anything it fails to say."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from arq.connections import ArqRedis, RedisSettings

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


class JobQueue:
    """Enqueues jobs; a job id makes a second enqueue of the same work a no-op while it is queued."""

    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis

    async def enqueue(self, function: str, *args: object, job_id: str | None = None) -> None:
        await self.redis.enqueue_job(function, *args, _job_id=job_id)

    async def dispatch(self, event_ids: Sequence[int]) -> None:
        """EventDispatcher: the events one write committed, in one job (one Redis transaction, not one
        per event: this runs on every write). The job handles them in order; each is done at most once."""
        if len(event_ids) == 1:
            await self.enqueue(PROCESS_OUTBOX_EVENT, event_ids[0], job_id=outbox_job_id(event_ids[0]))
        elif event_ids:
            job_id = f"outbox:{event_ids[0]}..{event_ids[-1]}:{len(event_ids)}"
            await self.enqueue(PROCESS_OUTBOX_EVENTS, list(event_ids), job_id=job_id)
