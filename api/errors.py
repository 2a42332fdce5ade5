"""Every error leaves as an RFC 9457 problem document; domain errors map to HTTP status here, once."""

from __future__ import annotations

import logging
from typing import Any, Literal

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from api.observability import request_id_var
from domain import errors
from domain.credentials.models import CredentialState
from domain.db import UNAVAILABLE_ERRORS, database_unavailable

log = logging.getLogger(__name__)
PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "urn:guildhall:problem:"

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 422,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.PreconditionRequired: 428,
    errors.IdempotencyKeyReused: 422,
    errors.RateLimited: 429,
}

_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document. Extension members vary by problem type."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    requestId: str | None = None


class InvalidParam(msgspec.Struct):
    name: str
    reason: str


class ValidationProblem(Problem, kw_only=True):
    invalidParams: list[InvalidParam] = msgspec.field(default_factory=list)


class MissingSignature(msgspec.Struct):
    """A signature a credential lacks, or lost, to be complete."""

    signature: Literal["issuer", "cosigner"]
    organisationId: str
    organisationName: str | None
    problem: str


class IncompleteProblem(Problem, kw_only=True):
    """``urn:guildhall:problem:credential-incomplete``: the credential lacks a signature; ``missing`` names each."""

    state: CredentialState
    missing: list[MissingSignature]


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": _TYPE_BASE + (slug or _TITLES.get(status, "error").lower().replace(" ", "-")),
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if request_id := request_id_var.get():
        body["requestId"] = request_id
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _slug(error: errors.DomainError) -> str:
    name = type(error).__name__
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def handle_domain_error(_: Request[Any, Any, Any], exc: errors.DomainError) -> Response[dict[str, Any]]:
    status = next((code for kind, code in STATUS_BY_ERROR.items() if isinstance(exc, kind)), 400)
    headers = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return problem_response(status, exc.message, slug=_slug(exc), title=exc.title, headers=headers, **exc.extra)


def invalid_params(exc: ValidationException) -> list[dict[str, str]]:
    params = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            name = item.get("key") or item.get("source") or "body"
            params.append({"name": str(name), "reason": str(item.get("message", ""))})
    return params


def validation_detail(exc: ValidationException, params: list[dict[str, str]]) -> str:
    if not params:
        return str(exc.detail or "the request is not valid")
    return "; ".join(f"{p['name']}: {p['reason']}" if p["name"] != "body" else p["reason"] for p in params)


def handle_validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    params = invalid_params(exc)
    detail = validation_detail(exc, params)
    return problem_response(400, detail, slug="validation-error", title="Invalid request", invalidParams=params)


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    detail = str(exc.detail) if exc.detail else _TITLES.get(status, "Error")
    if status == 404 and detail == "Not Found":
        detail = "there is no resource at this URL; see /schema for the API's operations"
    elif status == 405:
        detail = "this URL does not accept that method; see /schema for the allowed methods"
    headers = dict(exc.headers or {})
    if status >= 500:
        log.error("HTTP %s: %s", status, detail)
    return problem_response(status, detail, headers=headers)


# Seconds a client should wait before trying again while the database is away: a restart takes a few.
DATABASE_RETRY_AFTER = 2


def database_unavailable_response() -> Response[dict[str, Any]]:
    return problem_response(
        503,
        "the database (PostgreSQL) is unavailable right now; nothing was changed by this request unless a later "
        f"read shows it: retry after {DATABASE_RETRY_AFTER} seconds (with the same Idempotency-Key for a write)",
        slug="database-unavailable",
        title="Database unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


def handle_database_unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if not database_unavailable(exc):
        return handle_unexpected_error(_, exc)
    log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
    return database_unavailable_response()


def handle_unexpected_error(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if database_unavailable(exc):  # an asyncpg.InterfaceError("connection is closed ...") lands here
        log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        return database_unavailable_response()
    log.exception("unhandled error", exc_info=exc)
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "something went wrong on our side and nothing was changed; "
        f"quote request id {request_id_var.get()} when you report it",
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    errors.DomainError: handle_domain_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    **{kind: handle_database_unavailable for kind in UNAVAILABLE_ERRORS},
    Exception: handle_unexpected_error,
}


def problem_spec(description: str, *, validation: bool = False) -> ResponseSpec:
    return ResponseSpec(
        data_container=ValidationProblem if validation else Problem,
        description=description,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,  # Litestar's would be random text (a status of 2562), not a problem document
    )


INCOMPLETE_DESCRIPTION = (
    "The credential is not complete (held, awaiting its co-signature, or a co-signature refused or withdrawn), so "
    "none of its forms is handed out: type urn:guildhall:problem:credential-incomplete, `state` the credential's "
    "state and `missing` one entry per signature it lacks (`signature`: issuer or cosigner, the organisation, and "
    "the `problem` in words)."
)


def signed_download(handler_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``secured()``'s keyword arguments for a download of a credential's forms: its 409 is the
    credential-incomplete problem, with the ``missing`` member documented."""
    responses = dict(handler_kwargs["responses"])
    responses[409] = ResponseSpec(
        data_container=IncompleteProblem,
        description=INCOMPLETE_DESCRIPTION,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )
    return {**handler_kwargs, "responses": responses}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI response entries for the problem documents an operation can return."""
    descriptions = {
        400: "The request is malformed or fails validation; invalidParams names each field.",
        401: "No access token, or it is expired, revoked or malformed.",
        403: "The token lacks the scope, or the caller lacks the role, for this operation.",
        404: "No such resource, or not one the caller may see.",
        409: "The change conflicts with the current state.",
        412: "If-Match does not match the current version; re-read and retry.",
        422: "The content breaks a rule; detail says which.",
        428: "This write needs an If-Match header with the ETag from a read.",
        429: "Too many requests; retry after the Retry-After header's seconds.",
        503: "A dependency is unavailable; detail names it.",
    }
    return {status: problem_spec(descriptions[status], validation=status == 400) for status in statuses}
