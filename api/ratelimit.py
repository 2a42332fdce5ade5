"""Fixed-window rate limits counted in Redis (INCR + EXPIRE), so that every replica shares them."""

from __future__ import annotations

import hashlib
import logging
import math
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.settings import RateLimit
from domain.errors import RateLimited

log = logging.getLogger(__name__)
# How long a caller waits when the counter cannot be read and the limit fails closed.
_UNAVAILABLE_RETRY_AFTER = 30


async def enforce(redis: Redis, name: str, subject: str, limit: RateLimit, *, fail_open: bool) -> None:
    """Counts one request of ``subject`` (an IP address, a client id, an e-mail) under ``name``;
    raises RateLimited with the seconds until the window ends once ``limit`` is exceeded.

    Subjects are hashed, so that e-mail and IP addresses stay out of Redis. When Redis cannot be
    reached, ``fail_open`` lets the request through (tokens keep flowing: client secrets are too
    long to guess); otherwise it is refused (a password form is not left unguarded).
    """
    now = time.time()
    window = int(now // limit.per_seconds)
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    key = f"ratelimit:{name}:{digest}:{window}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, limit.per_seconds + 1)
            count, _ = await pipe.execute()
    except RedisError:
        if fail_open:
            log.warning("rate limit %s not checked: Redis is unreachable", name, exc_info=True)
            return
        raise RateLimited(
            "this cannot be checked right now; try again shortly", retry_after=_UNAVAILABLE_RETRY_AFTER
        ) from None
    if count > limit.requests:
        retry_after = max(1, math.ceil((window + 1) * limit.per_seconds - now))
        raise RateLimited(
            f"too many requests: at most {limit.requests} in {limit.per_seconds} seconds; "
            f"try again in {retry_after} seconds",
            retry_after=retry_after,
        )
