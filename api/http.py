"""HTTP conventions shared by controllers: ETags and If-Match, Idempotency-Key, cursor parameters, and the
one edge every JSON request body passes (``check_json_body``)."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.params import BodyKwarg, HeaderParameter, PathParameter, QueryParameter
from litestar.typing import FieldDefinition
from litestar.utils.scope.state import ScopeState

from api.errors import problem_spec, problems
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
        description=(
            "A unique key per logical write; a retry with the same key returns the first answer. Keys are kept "
            "for IDEMPOTENCY_KEY_TTL after their first use (a week unless the operator says otherwise); after "
            "that the same key makes a new request"
        ),
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
    return idempotency_key_of(principal, request.method, request.url.path, await request.body(), key)


def idempotency_key_of(principal: Principal, method: str, path: str, body: bytes, key: str) -> IdempotencyKey:
    """The key of a write by ``principal`` (``method`` on the URL ``path``, ``body``): its scope and fingerprint."""
    if not _IDEMPOTENCY_KEY.match(key):
        raise InvalidInput("Idempotency-Key must be 1–255 printable ASCII characters")
    who = f"{principal.client_id}/{principal.person_id or '-'}"
    return IdempotencyKey(scope=f"{who} {method} {path}", key=key, fingerprint=hashlib.sha256(body).hexdigest())


def actor(principal: Principal) -> Actor:
    return principal.actor()


_AT = re.compile(r"^(.*) - at `\$\.?(.*)`$")
# Deeper than any document the API takes (a credential is about ten deep), and far from Python's recursion limit.
MAX_JSON_DEPTH = 64


def is_json_media_type(media_type: str) -> bool:
    kind = media_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def _refused(message: str, key: str = "body") -> ValidationException:
    return ValidationException(detail=message, extra=[{"key": key, "message": message, "source": "body"}])


class _Repeated(str):
    """Stands in for an object that repeats a key, or holds one that does: the path to the key so far."""


def _find_repeated(value: Any) -> str | None:
    if isinstance(value, _Repeated):
        return str(value)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (inner := _find_repeated(item)) is not None:
                return f"[{index}]{'' if inner.startswith('[') else '.'}{inner}"
    return None


class _RepeatedKeys:
    """An ``object_pairs_hook`` that builds dicts until an object repeats a key; from then on it builds the
    path to that key instead (json builds objects innermost first), and the rest of the document no longer
    matters."""

    def __init__(self) -> None:
        self.found = False

    def __call__(self, pairs: list[tuple[str, Any]]) -> Any:
        if not self.found:
            built: dict[str, Any] = {}
            for name, value in pairs:
                if name in built:
                    self.found = True
                    return _Repeated(name)
                built[name] = value
            return built
        for name, value in pairs:
            if (inner := _find_repeated(value)) is not None:
                return _Repeated(f"{name}{'' if inner.startswith('[') else '.'}{inner}")
        return {}


_CONTAINERS = (dict, list)


def _too_deep(value: Any, body: bytes) -> bool:
    """Whether arrays and objects nest more than MAX_JSON_DEPTH deep: level by level, containers only."""
    if not isinstance(value, _CONTAINERS) or body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            return True
        inner: list[Any] = []
        for item in level:
            inner.extend(v for v in (item.values() if isinstance(item, dict) else item) if isinstance(v, _CONTAINERS))
        level = inner
    return False


def _may_repeat_a_key(body: bytes, value: Any) -> bool:
    """False only if no object in ``body`` repeats a key, judged by counting colons (so in C).

    Outside strings a JSON text has one colon per member; msgspec's encoding of the decoded value has one per
    member kept, and inside strings the colons of the text, plus those the text escaped as \\u003a. A
    repeated key loses a member (and its value's colons): the counts then differ. They may also differ
    without one (an escaped backslash before "u003a"): the caller then looks properly.
    """
    if b":" not in body:
        return False
    escaped = body.count(b"\\u003a") + body.count(b"\\u003A")
    return body.count(b":") + escaped != msgspec.json.encode(value).count(b":")


def read_json(body: bytes) -> Any:
    """The JSON value of ``body``, refused (400) if it nests deeper than MAX_JSON_DEPTH or an object repeats
    a key (which JSON parsers resolve differently: last wins here, first wins elsewhere).

    A body that is not JSON at all comes back as ``None``, for the handler's own parser to say why. Costs
    little beside msgspec's decoding: a body with a repeated key is parsed again, by the standard library,
    only when colon counts say it may have one.
    """
    try:
        value = msgspec.json.decode(body)
    except RecursionError:
        raise _refused(f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep; flatten it") from None
    except msgspec.DecodeError:  # not JSON, or not UTF-8
        return None
    if _too_deep(value, body):
        raise _refused(f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep; flatten it")
    if _may_repeat_a_key(body, value) and (key := _repeated_key(body)) is not None:
        raise _refused(f"the key {key!r} appears twice in one object; send each member once", key)
    return value


def _repeated_key(body: bytes) -> str | None:
    """The path of the (first) repeated key, e.g. ``title.da``; None if no object repeats one."""
    repeated = _RepeatedKeys()
    try:
        value = json.loads(body, object_pairs_hook=repeated)
    except (ValueError, RecursionError):
        return None
    return (_find_repeated(value) or "body") if repeated.found else None


MISSING = "required, and missing"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def json_body_parameter(handler: BaseRouteHandler) -> FieldDefinition | None:
    """The handler's ``data`` parameter if it takes a JSON body."""
    data = handler.parsed_fn_signature.parameters.get("data")
    kind = data.kwarg_definition if data is not None else None
    return data if isinstance(kind, BodyKwarg) and kind.media_type == RequestEncodingType.JSON else None


def document_body_errors(handlers: Iterable[HTTPRouteHandler]) -> None:
    """Documents what ``check_json_body`` answers: 400 for any write, 415 where a JSON body is expected."""
    for handler in handlers:
        if not BODY_METHODS & set(handler.http_methods):
            continue
        responses = dict(handler.responses or {})
        responses.setdefault(400, problems(400)[400])
        if json_body_parameter(handler) is not None:
            responses.setdefault(415, problem_spec("The body was not sent as application/json."))
        handler.responses = responses


def _missing_fields(value: Any, annotation: Any) -> list[str]:
    """The required members of the Struct ``annotation`` that the JSON object ``value`` lacks, all of them."""
    if not isinstance(value, dict) or not (isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)):
        return []
    return [name for name in _required_members(annotation) if name not in value]


@functools.cache
def _required_members(struct: type[msgspec.Struct]) -> tuple[str, ...]:
    """Once per Struct: ``msgspec.structs.fields`` resolves the class's annotations each time it is called, which
    cost about a tenth of a recording request's CPU."""
    return tuple(f.encode_name for f in msgspec.structs.fields(struct) if f.required)


async def check_json_body(request: Request[Any, Any, Any]) -> None:
    """``before_request``: the edge every JSON body passes, once, before any handler reads it.

    An operation that takes a JSON body gets one: present (400 "a JSON body is required" if not), sent as
    JSON (415 for text/plain, a form or no Content-Type), nested at most MAX_JSON_DEPTH deep and with no
    key twice in an object (400, the key named), naming every missing required member at once, and with
    the JSON types the API documents (see ``_refuse_coerced``). Any other request that says it carries JSON
    (the verifier, the Open Badges API, batches) gets the depth and duplicate checks.
    """
    data = json_body_parameter(request.route_handler)
    media_type = request.headers.get("content-type", "")
    if data is None:
        if is_json_media_type(media_type) and request.method in BODY_METHODS:
            read_json(await request.body())
        return
    decoded = checked_json_data(data, media_type, await request.body())
    if decoded is not None:
        # What Litestar would decode and convert for the handler's ``data``: it takes the JSON from here (a
        # value already of the parameter's type converts to itself), so the body is not decoded twice more.
        ScopeState.from_scope(request.scope).json = decoded


def checked_json_data(data: FieldDefinition, media_type: str, body: bytes) -> Any:
    """``check_json_body``'s checks of the ``body`` (sent as ``media_type``) of an operation that takes it as its
    JSON ``data``: the body decoded as the parameter's type; None where Litestar is left to say what is wrong (or
    that nothing is: an optional body not sent)."""
    if not body.strip():
        if data.is_optional or data.has_default:
            return None
        raise _refused(
            "a JSON body is required: send the JSON document this operation describes, "
            "with Content-Type: application/json"
        )
    if not is_json_media_type(media_type):
        sent = f"not {media_type.split(';', 1)[0].strip()}" if media_type.strip() else "and say so in Content-Type"
        raise HTTPException(status_code=415, detail=f"send the body as application/json, {sent}")
    value = read_json(body)
    if value is None:
        return None
    if missing := _missing_fields(value, data.annotation):
        message = f"the body lacks the required member{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        raise ValidationException(
            detail=message,
            extra=[{"key": name, "message": MISSING, "source": "body"} for name in missing],
        )
    return _refuse_coerced(body, value, data.annotation)


@functools.cache
def _strict_decoder(annotation: Any) -> msgspec.json.Decoder[Any]:
    """Once per body type: ``msgspec.json.decode(body, type=...)`` works out the type's decoding on every call."""
    return msgspec.json.Decoder(annotation)


def _refuse_coerced(body: bytes, value: Any, annotation: Any) -> Any:
    """A JSON body must have the JSON types the API documents: the body decoded as ``annotation``, strictly.

    Litestar 2 converts request bodies in msgspec's lax mode, which suits query strings and forms but
    turns the JSON ``"3"`` into 3 and ``0`` into false. A body that is valid only so coerced is refused;
    one that is invalid either way is left to Litestar, which says why (None).
    """
    try:
        return _strict_decoder(annotation).decode(body)
    except msgspec.ValidationError as strict:
        try:
            msgspec.convert(value, annotation, strict=False)
        except msgspec.ValidationError:
            return None
        found = _AT.match(str(strict))
        message, key = (found.group(1), found.group(2)) if found else (str(strict), "")
        raise ValidationException(
            detail=message, extra=[{"key": key or "body", "message": message, "source": "body"}]
        ) from strict
    except msgspec.DecodeError:
        return None
