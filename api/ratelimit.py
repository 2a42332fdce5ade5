"""Sliding-window rate limits kept in Redis, so that every replica shares them.

Each subject has a sorted set of the moments of its requests in the last window (at most ``limit`` of them):
a request is let through while fewer than ``limit`` fall inside the window that ends now. A fixed window
(INCR per period) would let twice the limit through across a period's boundary.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.settings import RateLimit
from domain.errors import RateLimited

log = logging.getLogger(__name__)
# How long a caller waits when the counter cannot be read and the limit fails closed.
_UNAVAILABLE_RETRY_AFTER = 30

# One round trip, atomic, on Redis' own clock (the same for every replica). Returns 0 when the request is
# let through (and counted), else the seconds until the oldest counted request leaves the window.
_SLIDING_WINDOW = """
local key, limit, window, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]) * 1000000, ARGV[3]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, math.ceil(window / 1000))
    return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return math.max(1, math.ceil((tonumber(oldest[2]) + window - now) / 1000000))
"""


async def enforce(redis: Redis, name: str, subject: str, limit: RateLimit, *, fail_open: bool) -> None:
    """Counts one request of ``subject`` (an IP address, a client id, an e-mail) under ``name``; raises
    RateLimited, with the seconds until a request may be made again, once ``limit`` is reached.

    Subjects are hashed, so that e-mail and IP addresses stay out of Redis. When Redis cannot be
    reached, ``fail_open`` lets the request through (tokens keep flowing: client secrets are too
    long to guess); otherwise it is refused (a password form is not left unguarded).
    """
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    key = f"ratelimit:{name}:{digest}"
    try:
        answer = redis.eval(_SLIDING_WINDOW, 1, key, str(limit.requests), str(limit.per_seconds), secrets.token_hex(8))
        retry_after = int(await answer)  # type: ignore[misc]  # redis-py types sync and async clients as one
    except RedisError:
        if fail_open:
            log.warning("rate limit %s not checked: Redis is unreachable", name, exc_info=True)
            return
        raise RateLimited(
            "this cannot be checked right now; try again shortly", retry_after=_UNAVAILABLE_RETRY_AFTER
        ) from None
    if retry_after:
        raise RateLimited(
            f"too many requests: at most {limit.requests} in {limit.per_seconds} seconds; "
            f"try again in {retry_after} seconds",
            retry_after=retry_after,
        )
