"""HTTP conventions shared by controllers: ETags and If-Match, Idempotency-Key, cursor parameters."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any

from litestar import Request
from litestar.params import HeaderParameter, QueryParameter

from domain.errors import InvalidInput, PreconditionFailed, PreconditionRequired
from domain.oauth.principals import Principal
from domain.writes import Actor, IdempotencyKey

_ETAG = re.compile(r'^\s*(?:W/)?"v(\d+)"\s*$')
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

# Use with a default: `limit: Limit = 20`, `cursor: Cursor = None`, `if_match: IfMatch = None`.
Limit = Annotated[int, QueryParameter(ge=1, le=100, description="Items per page (1–100, default 20)")]
Cursor = Annotated[str | None, QueryParameter(description="nextCursor from the previous page")]
IfMatch = Annotated[
    str | None, HeaderParameter(name="If-Match", description="The ETag from your last read of this resource")
]
IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description="A unique key per logical write; a retry with the same key returns the first answer",
    ),
]


def etag(version: int) -> str:
    return f'"v{version}"'


def expected_version(if_match: str | None) -> int:
    """The version an ``If-Match`` names; writes to versioned records need one."""
    if if_match is None:
        raise PreconditionRequired(
            "send If-Match with the ETag of your last read, so that a concurrent change is not overwritten"
        )
    match = _ETAG.match(if_match)
    if match is None:
        raise PreconditionFailed(f'If-Match {if_match!r} is not an ETag this API issued (they look like "v3")')
    return int(match.group(1))


async def idempotency_key(
    request: Request[Any, Any, Any], principal: Principal, key: str | None
) -> IdempotencyKey | None:
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise InvalidInput("Idempotency-Key must be 1–255 printable ASCII characters")
    body = await request.body()
    who = f"{principal.client_id}/{principal.person_id or '-'}"
    return IdempotencyKey(
        scope=f"{who} {request.method} {request.url.path}", key=key, fingerprint=hashlib.sha256(body).hexdigest()
    )


def actor(principal: Principal) -> Actor:
    return principal.actor()
