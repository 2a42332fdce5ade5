"""HTTP conventions shared by controllers: ETags and If-Match, Idempotency-Key, cursor parameters."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import BodyKwarg, HeaderParameter, PathParameter, QueryParameter

from domain.errors import InvalidInput, PreconditionFailed, PreconditionRequired
from domain.oauth.principals import Principal
from domain.structs import MAX_VERSION
from domain.writes import Actor, IdempotencyKey

_ETAG = re.compile(r'^\s*(?:W/)?"v([0-9]{1,10})"\s*$')
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)

# Use with a default: `limit: Limit = 20`, `cursor: Cursor = None`, `if_match: IfMatch = None`.
Limit = Annotated[int, QueryParameter(ge=1, le=100, description="Items per page (1–100, default 20)")]
Cursor = Annotated[str | None, QueryParameter(description="nextCursor from the previous page")]
VersionNumber = Annotated[int, PathParameter(ge=1, le=MAX_VERSION, description="The version's number: 1, 2, ...")]
IfMatch = Annotated[
    str | None, HeaderParameter(name="If-Match", description="The ETag from your last read of this resource")
]
IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description="A unique key per logical write; a retry with the same key returns the first answer",
        # Documented, and checked by idempotency_key() with a clearer message than a pattern mismatch.
        schema_extra={"pattern": IDEMPOTENCY_KEY_PATTERN},
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
    if match is None or int(match.group(1)) > MAX_VERSION:
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


_AT = re.compile(r"^(.*) - at `\$\.?(.*)`$")


async def refuse_coerced_json(request: Request[Any, Any, Any]) -> None:
    """``before_request``: a JSON body must have the JSON types the API documents.

    Litestar 2 converts request bodies in msgspec's lax mode, which suits query strings and forms but
    turns the JSON ``"3"`` into 3 and ``0`` into false. A body that is valid only so coerced is refused;
    one that is invalid either way is left to Litestar, which says why.
    """
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    body_kind = data.kwarg_definition if data is not None else None
    if data is None or not isinstance(body_kind, BodyKwarg) or body_kind.media_type != RequestEncodingType.JSON:
        return
    body = await request.body()
    try:
        msgspec.json.decode(body, type=data.annotation)
    except msgspec.ValidationError as strict:
        try:
            msgspec.convert(msgspec.json.decode(body), data.annotation, strict=False)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return
        found = _AT.match(str(strict))
        message, key = (found.group(1), found.group(2)) if found else (str(strict), "")
        raise ValidationException(
            detail=message, extra=[{"key": key or "body", "message": message, "source": "body"}]
        ) from strict
    except msgspec.DecodeError:
        return
