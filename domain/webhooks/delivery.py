"""Sending webhooks: one attempt of one delivery, its record, and the backoff before the next.

An attempt claims the delivery with a short lease (so no two workers send it at once, and a crashed
worker's claim runs out), checks the URL again, POSTs the signed body to the address it checked,
records what the receiver answered, and says when to try again. No transaction stays open while the
receiver is being called.

Retries follow ``DeliveryOptions.retry_schedule`` with jitter; when it is exhausted the delivery has
failed and its endpoint turns ``failing``: nothing more is attempted there until an admin re-enables it.
Deliveries of one subject to one endpoint go in the order of their events: a later one waits while an
earlier one is pending.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpcore
import httpx

from domain import keys
from domain.db import Database
from domain.sql import load_queries
from domain.webhooks.signatures import signature_header
from domain.webhooks.urls import Resolver, Target, UrlPolicy, UrlRefused, check_url, resolve_host
from domain.writes import Actor, write

q = load_queries(__file__, "queries.sql")
log = logging.getLogger(__name__)

# 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h: eleven attempts over about a day.
DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800)
JITTER = 0.2  # each wait is stretched or shrunk by up to this fraction, so that retries do not come in waves
EXCERPT_BYTES = 1024
MAX_TIMEOUT = 30.0  # seconds; the lease and the worker's job timeout are set well above it
LEASE = timedelta(seconds=120)
_MAX_ERROR = 500
_USER_AGENT = "Guildhall-Webhooks/1"
_random = secrets.SystemRandom()


@dataclass(frozen=True)
class DeliveryOptions:
    master_key: bytes
    url_policy: UrlPolicy = field(default_factory=UrlPolicy)
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    timeout: float = 10.0  # for the whole attempt: connecting, sending and reading the excerpt


@dataclass(frozen=True)
class Answer:
    """What one POST came to: the receiver's status and the start of its body, or why there was none."""

    status: int | None = None
    excerpt: str | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Attempted:
    """What the worker does next: try this delivery again after ``retry_in`` seconds, and hand out the
    deliveries this one held back. ``attempted`` is False when there was nothing to do."""

    attempted: bool = False
    attempts: int = 0
    retry_in: float | None = None
    released: list[tuple[UUID, int]] = field(default_factory=list)


def secret_aad(endpoint_id: UUID) -> bytes:
    """The associated data that binds an encrypted secret to its endpoint."""
    return f"webhook-endpoint:{endpoint_id}".encode()


def webhook_id(delivery_id: UUID) -> str:
    return "msg_" + delivery_id.hex


def backoff(failures: int, schedule: tuple[float, ...]) -> float | None:
    """Seconds to wait after the ``failures``-th failure in a row, or None when the schedule is exhausted."""
    if failures > len(schedule):
        return None
    base = schedule[failures - 1]
    return max(0.0, base * _random.uniform(1 - JITTER, 1 + JITTER))


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the address the URL check approved, whatever the host name; TLS still verifies the
    certificate against (and sends SNI for) the host name of the URL."""

    def __init__(self, address: str) -> None:
        self._address = address
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's signature)
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._backend.connect_tcp(
            self._address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's signature)
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not sent over Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool built on ``_PinnedBackend`` (httpx has no option for a
    network backend): one connection, no proxy, no environment. Also used to fetch other issuers' keys and
    status lists (``domain.credentials.foreign``), which may trust another CA bundle."""

    def __init__(self, address: str, ssl_context: ssl.SSLContext | None = None) -> None:
        context = ssl_context or _tls_context()
        super().__init__(verify=context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context, max_connections=1, network_backend=_PinnedBackend(address)
        )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process (loading the CA bundle costs milliseconds)."""
    return httpx.create_ssl_context(trust_env=False)


def _clean(text: str) -> str:
    return text.replace("\x00", "")  # PostgreSQL text cannot hold NUL


async def _excerpt(response: httpx.Response) -> str:
    """The first kilobyte of the body as sent (no decompression: a small gzip can expand enormously)."""
    kept = b""
    async for chunk in response.aiter_raw():
        kept += chunk
        if len(kept) >= EXCERPT_BYTES:
            break
    return _clean(kept[:EXCERPT_BYTES].decode("utf-8", errors="ignore"))


async def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    options: DeliveryOptions,
    resolve: Resolver = resolve_host,
) -> Answer:
    """One POST of a webhook: the URL checked again now, the connection made to the address checked,
    redirects not followed (a 3xx is a failure), the whole exchange bounded by ``options.timeout``."""
    try:
        async with asyncio.timeout(options.timeout):
            target: Target = await check_url(url, options.url_policy, resolve)
            transport = PinnedTransport(str(target.addresses[0]))
            async with (
                httpx.AsyncClient(
                    transport=transport,
                    timeout=httpx.Timeout(options.timeout),
                    follow_redirects=False,
                    trust_env=False,
                ) as client,
                client.stream(
                    "POST",
                    url,
                    content=body,
                    headers={
                        **headers,
                        "content-type": "application/json",
                        "user-agent": _USER_AGENT,
                        "accept-encoding": "identity",
                    },
                ) as response,
            ):
                return Answer(status=response.status_code, excerpt=await _excerpt(response))
    except UrlRefused as exc:
        return Answer(error=_clean(f"not sent: {exc.message}")[:_MAX_ERROR])
    except TimeoutError:
        return Answer(error=f"no answer within {options.timeout:g} s")
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError, ValueError) as exc:
        return Answer(error=_clean(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)[:_MAX_ERROR])


async def due_deliveries(db: Database, limit: int = 500) -> list[tuple[UUID, int]]:
    """Deliveries to hand to workers now: (id, attempts so far)."""
    async with db.transaction() as conn:
        rows = await conn.fetch(q.due_deliveries, limit)
    return [(row["id"], row["attempts"]) for row in rows]


async def pending_deliveries_of_events(db: Database, event_ids: list[int]) -> list[tuple[UUID, int]]:
    """The deliveries the handling of these (committed) events queued."""
    if not event_ids:
        return []
    async with db.connection() as conn:
        rows = await conn.fetch(q.pending_deliveries_of_events, event_ids)
    return [(row["id"], row["attempts"]) for row in rows]


async def attempt(
    db: Database, delivery_id: UUID, options: DeliveryOptions, resolve: Resolver = resolve_host
) -> Attempted:
    """One attempt of a delivery, if it is due and not held back or held by another worker."""
    lease = uuid4()
    async with db.transaction() as conn:
        claimed = await conn.fetchrow(q.claim_delivery, delivery_id, lease, LEASE)
    if claimed is None:
        return Attempted()
    secrets_ = [keys.decrypt(options.master_key, claimed["secret_ciphertext"], secret_aad(claimed["endpoint_id"]))]
    if claimed["previous_secret_ciphertext"] is not None:
        secrets_.append(
            keys.decrypt(options.master_key, claimed["previous_secret_ciphertext"], secret_aad(claimed["endpoint_id"]))
        )
    body = claimed["body"].encode()
    message_id = webhook_id(delivery_id)
    timestamp = int(time.time())
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header([s.decode() for s in secrets_], message_id, timestamp, body),
    }
    started_at = datetime.now(UTC)
    started = time.monotonic()
    answer = await post(claimed["url"], body, headers, options, resolve)
    duration_ms = round((time.monotonic() - started) * 1000)
    return await _record(db, delivery_id, lease, answer, started_at, duration_ms, options)


async def _record(
    db: Database,
    delivery_id: UUID,
    lease: UUID,
    answer: Answer,
    started_at: datetime,
    duration_ms: int,
    options: DeliveryOptions,
) -> Attempted:
    error = answer.error
    if error is None and not answer.succeeded:
        error = f"HTTP {answer.status}" + (" (redirects are not followed)" if 300 <= (answer.status or 0) < 400 else "")
    async with write(db, Actor(request_id=f"webhook-delivery:{delivery_id}")) as w:
        row = await w.conn.fetchrow(q.lock_delivery, delivery_id)
        if row is None:  # the endpoint was deleted meanwhile
            return Attempted(attempted=True)
        number = row["attempts"] + 1
        await w.conn.execute(
            q.insert_attempt,
            delivery_id,
            number,
            started_at,
            duration_ms,
            answer.succeeded,
            answer.status,
            answer.excerpt,
            error,
        )
        if row["lease"] != lease:
            log.warning("webhook delivery %s: the lease ran out during attempt %s", delivery_id, number)
            await w.conn.execute(q.count_attempt, delivery_id, number)
            return Attempted(attempted=True, attempts=number)
        if answer.succeeded:
            await w.conn.execute(
                q.delivery_attempted,
                delivery_id,
                number,
                started_at,
                answer.status,
                answer.excerpt,
                "succeeded",
                0,
                timedelta(0),
                None,
            )
            released = []
            if row["event_id"] is not None:
                follower = await w.conn.fetchrow(q.next_in_subject, row["endpoint_id"], row["subject"], row["event_id"])
                if follower is not None:
                    released.append((follower["id"], follower["attempts"]))
            return Attempted(attempted=True, attempts=number, released=released)
        failures = row["failures"] + 1
        wait = backoff(failures, options.retry_schedule)
        await w.conn.execute(
            q.delivery_attempted,
            delivery_id,
            number,
            started_at,
            answer.status,
            answer.excerpt,
            "pending" if wait is not None else "failed",
            failures,
            timedelta(seconds=wait or 0),
            error,
        )
        if wait is None and await w.conn.fetchval(q.endpoint_failing, row["endpoint_id"]) is not None:
            await w.audit(
                "webhook_endpoint.failing",
                "webhook_endpoint",
                row["endpoint_id"],
                row["organisation_id"],
                {"deliveryId": str(delivery_id), "attempts": number, "lastError": error},
            )
        log.info(
            "webhook delivery %s attempt %s failed: %s",
            delivery_id,
            number,
            error,
            extra={"delivery_id": str(delivery_id)},
        )
        return Attempted(attempted=True, attempts=number, retry_in=wait)
