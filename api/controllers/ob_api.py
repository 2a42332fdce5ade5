"""The 1EdTech Open Badges 3.0 API (§6) under ``/ims/ob/v3p0``, and OAuth 2.0 dynamic client
registration (RFC 7591) at ``/oauth/register`` for the wallets and hosts that use it.

A wallet reads the Service Description Document at ``/ims/ob/v3p0/discovery`` (no token), registers
itself at its ``x-imssf-registrationUrl``, sends the learner through the authorization-code flow with
PKCE, and with the person's token reads their credentials (``credential.readonly``), stores credentials
here (``credential.upsert``) and reads or updates their profile (``profile.readonly``,
``profile.update``). These operations are for a person's token only.

Errors: the specification answers with an ``Imsx_StatusInfo``; this API answers every error with an RFC
9457 problem document. An error of these operations is both: a problem document (``application/problem+json``)
that carries the ``imsx_codeMajor``, ``imsx_severity``, ``imsx_description`` and ``imsx_codeMinor`` members
of an ``Imsx_StatusInfo`` beside its own. Invalid input is a 400, as the specification has it. The
registration endpoint answers RFC 7591 errors (``invalid_client_metadata``, ``invalid_redirect_uri``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import JSONBody, QueryParameter

from api.auth import secured
from api.controllers.portfolio import fetch_options
from api.errors import (
    PROBLEM_MEDIA_TYPE,
    STATUS_BY_ERROR,
    InvalidParam,
    Problem,
    handle_http_exception,
    handle_unexpected_error,
    invalid_params,
    problem_response,
)
from api.errors import validation_detail as _validation_detail
from api.http import MISSING
from api.oauth.controller import OAuthErrorBody
from api.observability import request_id_var
from api.ratelimit import enforce
from api.routing import get, post, put
from domain import errors
from domain.credentials import ob_api
from domain.credentials.ob_api import COMPACT_JWS, GetOpenBadgeCredentialsResponse, ObProfile, ProfileUpdate
from domain.oauth import registration
from domain.oauth.principals import Principal
from domain.oauth.registration import ClientRegistered, ClientRegistration, InvalidClientMetadata
from domain.portfolio import foreign
from domain.scopes import (
    OB_CREDENTIAL_READONLY,
    OB_CREDENTIAL_UPSERT,
    OB_PROFILE_READONLY,
    OB_PROFILE_UPDATE,
    OB_SCOPES,
)

OB_BASE = "/ims/ob/v3p0"
MAX_PAGE = 100  # credentials per page; a larger limit is served in pages of this size
SPEC = "https://www.imsglobal.org/spec/ob/v3p0/"


# --- Errors: RFC 9457 problem documents that are Imsx_StatusInfo too ------------------------------

CodeMinor = Literal[
    "forbidden",
    "fullsuccess",
    "internal_server_error",
    "invalid_data",
    "invalid_query_parameter",
    "misdirected_request",
    "not_acceptable",
    "not_allowed",
    "not_found",
    "not_modified",
    "server_busy",
    "unauthorizedrequest",
    "unknown",
]
CODE_MINOR: dict[int, CodeMinor] = {
    400: "invalid_data",
    401: "unauthorizedrequest",
    403: "forbidden",
    404: "not_found",
    405: "not_allowed",
    406: "not_acceptable",
    415: "invalid_data",
    429: "server_busy",
}


class ImsxCodeMinorField(msgspec.Struct):
    imsx_codeMinorFieldName: str
    imsx_codeMinorFieldValue: CodeMinor


class ImsxCodeMinor(msgspec.Struct):
    imsx_codeMinorField: list[ImsxCodeMinorField]


class ImsxProblem(Problem, kw_only=True):
    """An RFC 9457 problem document carrying an Open Badges ``Imsx_StatusInfo``'s members."""

    imsx_codeMajor: Literal["failure"]
    imsx_severity: Literal["error"]
    imsx_description: str
    imsx_codeMinor: ImsxCodeMinor
    invalidParams: list[InvalidParam] | None = None


def _imsx(status: int, detail: str, minor: CodeMinor | None = None, **extra: Any) -> Response[dict[str, Any]]:
    value = minor or CODE_MINOR.get(status, "unknown" if status < 500 else "internal_server_error")
    headers = extra.pop("headers", None)
    return problem_response(
        status,
        detail,
        headers=headers,
        imsx_codeMajor="failure",
        imsx_severity="error",
        imsx_description=detail,
        imsx_codeMinor={
            "imsx_codeMinorField": [{"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": value}]
        },
        **extra,
    )


def _domain_error(_: Request[Any, Any, Any], exc: errors.DomainError) -> Response[dict[str, Any]]:
    if isinstance(exc, ob_api.UnsupportedMediaType):
        status = 415
    elif isinstance(exc, errors.InvalidInput):
        status = 400  # the specification's status for data it cannot accept
    else:
        status = next((code for kind, code in STATUS_BY_ERROR.items() if isinstance(exc, kind)), 400)
    headers = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return _imsx(status, exc.message, headers=headers)


def _validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    params = invalid_params(exc)
    from_query = any(isinstance(i, dict) and i.get("source") == "query" for i in exc.extra or [])
    minor: CodeMinor = "invalid_query_parameter" if from_query else "invalid_data"
    return _imsx(400, _validation_detail(exc, params), minor, invalidParams=params)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    return _imsx(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))


OB_EXCEPTION_HANDLERS: dict[Any, Any] = {
    errors.DomainError: _domain_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
}
_DESCRIPTIONS = {
    400: "The request or the credential is not acceptable; imsx_description says why.",
    401: "No access token, or it is expired, revoked or malformed.",
    403: "The token lacks the scope, or is not a person's token.",
    404: "Your login no longer exists.",
    415: "The body is neither a VC-JWT (text/plain) nor JSON.",
    429: "Too many requests; retry after the Retry-After header's seconds.",
}


def imsx_problems(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=ImsxProblem,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,  # Litestar's are random text, not examples of a problem
        )
        for status in statuses
    }


def _require_person(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.state.principal.person_id is None:
        raise errors.Forbidden(
            "the Open Badges API acts for a person: use a token from the authorization-code flow, "
            "not one a client got for itself"
        )


def for_person(scope: str, errors_: tuple[int, ...] = ()) -> dict[str, Any]:
    """``secured()`` for a person's own data, with the errors documented as Imsx problem documents."""
    kwargs = secured(scope)
    kwargs["guards"] = [*kwargs["guards"], _require_person]
    kwargs["responses"] = imsx_problems(400, 401, 403, *errors_)
    return kwargs


def _person(principal: Principal) -> UUID:
    assert principal.person_id is not None  # _require_person ran
    return principal.person_id


def _issuer(request: Request[Any, Any, Any]) -> str:
    return str(request.app.state.settings.issuer)


# --- The Service Description Document -------------------------------------------------------------


class ObServiceInfo(msgspec.Struct):
    title: str
    version: str
    description: str
    terms_of_service: str = msgspec.field(name="termsOfService")
    privacy_policy_url: str = msgspec.field(name="x-imssf-privacyPolicyUrl")


class ObServer(msgspec.Struct):
    url: str
    description: str


class ObOAuth2Flow(msgspec.Struct):
    authorization_url: str = msgspec.field(name="authorizationUrl")
    token_url: str = msgspec.field(name="tokenUrl")
    refresh_url: str = msgspec.field(name="refreshUrl")
    scopes: dict[str, str]


class ObOAuth2Flows(msgspec.Struct):
    authorization_code: ObOAuth2Flow = msgspec.field(name="authorizationCode")


class ObOAuth2SecurityScheme(msgspec.Struct):
    type: Literal["oauth2"]
    description: str
    registration_url: str = msgspec.field(name="x-imssf-registrationUrl")
    flows: ObOAuth2Flows


class ObSecuritySchemes(msgspec.Struct):
    OAuth2ACG: ObOAuth2SecurityScheme


class ObComponents(msgspec.Struct):
    security_schemes: ObSecuritySchemes = msgspec.field(name="securitySchemes")
    schemas: dict[str, Any]


class ServiceDescriptionDocument(msgspec.Struct):
    """Open Badges 3.0 §6.3: an OpenAPI-shaped description of this service and how to get a token for it."""

    openapi: str
    info: ObServiceInfo
    servers: list[ObServer]
    paths: dict[str, Any]
    components: ObComponents


def _operation(operation_id: str, scope: str, summary: str) -> dict[str, Any]:
    return {"operationId": operation_id, "summary": summary, "security": [{"OAuth2ACG": [scope]}]}


def service_description(issuer: str, settings: Any) -> ServiceDescriptionDocument:
    policies = f"{issuer}{OB_BASE}/policies"
    return ServiceDescriptionDocument(
        openapi="3.0.1",
        info=ObServiceInfo(
            title="Guildhall Open Badges API",
            version="3.0",
            description=(
                "Your Open Badges 3.0 credentials and profile at Guildhall: the credentials of every learner "
                "record you have claimed, at every provider."
            ),
            terms_of_service=getattr(settings, "terms_of_service_url", None) or f"{policies}#terms",
            privacy_policy_url=getattr(settings, "privacy_policy_url", None) or f"{policies}#privacy",
        ),
        servers=[ObServer(url=f"{issuer}{OB_BASE}", description="This Guildhall")],
        paths={
            "/credentials": {
                "get": _operation("getCredentials", OB_CREDENTIAL_READONLY, "Your credentials"),
                "post": _operation("upsertCredential", OB_CREDENTIAL_UPSERT, "Store one of your credentials"),
            },
            "/profile": {
                "get": _operation("getProfile", OB_PROFILE_READONLY, "Your profile"),
                "put": _operation("putProfile", OB_PROFILE_UPDATE, "Change your profile"),
            },
        },
        components=ObComponents(
            security_schemes=ObSecuritySchemes(
                OAuth2ACG=ObOAuth2SecurityScheme(
                    type="oauth2",
                    description="OAuth 2.0 Authorization Code Grant authorization (PKCE with S256)",
                    registration_url=f"{issuer}/oauth/register",
                    flows=ObOAuth2Flows(
                        authorization_code=ObOAuth2Flow(
                            authorization_url=f"{issuer}/oauth/authorize",
                            token_url=f"{issuer}/oauth/token",
                            refresh_url=f"{issuer}/oauth/token",
                            scopes=dict(OB_SCOPES),
                        )
                    ),
                )
            ),
            schemas={},
        ),
    )


_POLICIES = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Terms and privacy – Guildhall Open Badges API</title></head>
<body><main>
<h1>Terms and privacy of the Open Badges API</h1>
<p>This page is Guildhall's own account of what its Open Badges API does. The operator of {host} may publish
its own terms and privacy policy, which then take precedence.</p>
<h2 id="terms">Terms</h2>
<p>An application may use this API only for a person who signed in here and allowed it, and only with the
permissions that person allowed. It registers itself and is known here only by what it said about itself;
the operator may disable it at any time.</p>
<h2 id="privacy">Privacy</h2>
<p>With your permission an application may read your credentials (those of every learner record you
claimed), store copies of your credentials here, and read or change your profile: your name, your e-mail
address (which cannot be changed here), and the given and family names, phone number, homepage and
description you add. Each change is recorded in an audit trail that names the fields changed, not their
values. You may withdraw an application's access by revoking its tokens, and ask for your data to be
erased.</p>
</main></body></html>
"""


# --- The operations --------------------------------------------------------------------------------


@dataclass
class _UpsertOperation(Operation):
    """The body and the answer are a VC-JWT (text/plain) or the credential JSON with its proof."""

    def __post_init__(self) -> None:
        forms = {
            "text/plain": OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, pattern=COMPACT_JWS, description="A VC-JWT (compact JWS)")
            ),
            "application/json": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    description="An Open Badges 3.0 AchievementCredential with its proof",
                )
            ),
        }
        self.request_body = RequestBody(content=forms, required=True, description="The credential to store")
        self.responses = {
            **(self.responses or {}),
            "200": OpenAPIResponse(description="Stored again: it replaced the earlier copy", content=forms),
            "201": OpenAPIResponse(description="Stored: it was not here before", content=forms),
        }


Limit = Annotated[
    int,
    QueryParameter(
        ge=1,
        le=1_000_000,
        description=f"Credentials per page (default and at most {MAX_PAGE}; a larger limit gets pages of {MAX_PAGE})",
    ),
]
Offset = Annotated[int, QueryParameter(ge=0, le=2**31 - 1, description="How many credentials to skip")]
Since = Annotated[
    str | None,
    QueryParameter(
        description="Only credentials issued at or after this moment (RFC 3339, e.g. 2026-11-20T10:00:00Z)",
        max_length=64,
        schema_extra={"format": "date-time"},
    ),
]
_RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


def _moment(since: str | None) -> datetime | None:
    """``since`` read strictly as an RFC 3339 date-time (a bare number is no moment)."""
    if since is None:
        return None
    try:
        if not _RFC3339.match(since):
            raise ValueError(since)
        return datetime.fromisoformat(since.upper())
    except ValueError:
        message = "not a date-time: send an RFC 3339 moment such as 2026-11-20T10:00:00Z"
        raise ValidationException(
            detail=f"since: {message}", extra=[{"key": "since", "source": "query", "message": message}]
        ) from None


PAGING_HEADERS = [
    ResponseHeader(
        name="X-Total-Count",
        documentation_only=True,
        value="0",  # documents a string; the handler sets the real value
        description="How many credentials there are in all (with since applied)",
    ),
    ResponseHeader(
        name="Link",
        documentation_only=True,
        value="",
        description='first, last, and next and prev where they exist: <url>; rel="next", ...',
    ),
]


def _links(issuer: str, page: ob_api.CredentialsPage, since: str | None) -> str:
    def url(offset: int) -> str:
        query: dict[str, str | int] = {"limit": page.limit, "offset": offset}
        if since is not None:
            query["since"] = since
        return f"<{issuer}{OB_BASE}/credentials?{urlencode(query)}>"

    last = max(0, (page.total - 1) // page.limit * page.limit)
    links = []
    if page.offset + page.limit < page.total:
        links.append(f'{url(page.offset + page.limit)}; rel="next"')
    links.append(f'{url(last)}; rel="last"')
    links.append(f'{url(0)}; rel="first"')
    if page.offset > 0:
        links.append(f'{url(max(0, min(page.offset - page.limit, last)))}; rel="prev"')
    return ", ".join(links)


class ObApiController(Controller):
    path = OB_BASE
    tags = ["Open Badges 3.0"]
    exception_handlers = OB_EXCEPTION_HANDLERS

    @get(
        "/discovery",
        operation_id="getObServiceDescription",
        summary="The Open Badges 3.0 Service Description Document: endpoints, scopes and how to register",
        security=[{}],
    )
    async def discovery(self, request: Request[Any, Any, Any]) -> Response[ServiceDescriptionDocument]:
        settings = request.app.state.settings
        document = service_description(_issuer(request), settings)
        return Response(document, headers={"Cache-Control": "public, max-age=3600"})

    @get(
        "/policies",
        operation_id="getObPolicies",
        summary="The terms and privacy notice the Service Description Document links to",
        media_type=MediaType.HTML,
        security=[{}],
    )
    async def policies(self, request: Request[Any, Any, Any]) -> Response[str]:
        host = request.app.state.settings.issuer
        return Response(
            _POLICIES.format(host=escape(host)),
            media_type=MediaType.HTML,
            headers={"Cache-Control": "public, max-age=3600", "Content-Security-Policy": "default-src 'none'"},
        )

    @get(
        "/credentials",
        operation_id="getObCredentials",
        summary="Your credentials: those of every learner record you claimed (Open Badges getCredentials)",
        response_headers=PAGING_HEADERS,
        **for_person(OB_CREDENTIAL_READONLY),
    )
    async def credentials(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        limit: Limit = MAX_PAGE,
        offset: Offset = 0,
        since: Since = None,
    ) -> Response[GetOpenBadgeCredentialsResponse]:
        after = _moment(since)
        page = await ob_api.list_credentials(
            request.app.state.db, _person(principal), limit=min(limit, MAX_PAGE), offset=offset, since=after
        )
        headers = {"X-Total-Count": str(page.total), "Link": _links(_issuer(request), page, since)}
        return Response(page.body, headers=headers)

    @post(
        "/credentials",
        operation_id="upsertObCredential",
        summary="Store one of your credentials, as a VC-JWT or as JSON with its proof (Open Badges upsertCredential)",
        operation_class=_UpsertOperation,
        status_code=200,
        **for_person(OB_CREDENTIAL_UPSERT, (415,)),
    )
    async def upsert(self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]) -> Response[Any]:
        body = await request.body()
        if foreign.foreign_issuer(body, _issuer(request)) is not None:
            # Another issuer's credential: verified, then kept in the person's portfolio.
            added = await foreign.add_credential(
                request.app.state.db,
                principal.actor(),
                _person(principal),
                body,
                fetch_options(request),
                _issuer(request),
            )
            form = MediaType.JSON if body.lstrip().startswith(b"{") else MediaType.TEXT
            return Response(body.strip(), status_code=201 if added.created else 200, media_type=form)
        hosted = await ob_api.upsert_credential(
            request.app.state.db,
            principal.actor(),
            _person(principal),
            await request.body(),
            request.headers.get("content-type", ""),
            _issuer(request),
        )
        media_type = MediaType.TEXT if hosted.form == "vc+jwt" else MediaType.JSON
        return Response(hosted.body.encode(), status_code=201 if hosted.created else 200, media_type=media_type)

    @get(
        "/profile",
        operation_id="getObProfile",
        summary="Your profile as an Open Badges Profile (Open Badges getProfile)",
        **for_person(OB_PROFILE_READONLY, (404,)),
    )
    async def profile(self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]) -> ObProfile:
        return await ob_api.get_profile(request.app.state.db, _person(principal))

    @put(
        "/profile",
        operation_id="putObProfile",
        summary="Change your name and what your profile says of you (Open Badges putProfile)",
        **for_person(OB_PROFILE_UPDATE, (404,)),
    )
    async def update_profile(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], data: JSONBody[ProfileUpdate]
    ) -> ObProfile:
        return await ob_api.update_profile(request.app.state.db, principal.actor(), _person(principal), data)


# --- Dynamic client registration (RFC 7591) ---------------------------------------------------------


_ADDRESSES = ("client_uri", "logo_uri", "tos_uri", "policy_uri")


def _registration_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """RFC 7591 §3.2.2 errors, which clients expect; a rate limit stays a problem document."""
    if isinstance(exc, errors.RateLimited):
        return problem_response(429, exc.message, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, InvalidClientMetadata):
        body = OAuthErrorBody(error=exc.error, error_description=exc.message)
    elif isinstance(exc, errors.DomainError):
        body = OAuthErrorBody(error="invalid_client_metadata", error_description=exc.message)
    elif isinstance(exc, ValidationException):
        params = invalid_params(exc)
        for param in params:  # in words, rather than the pattern that says the same
            if param["reason"] == MISSING:
                continue
            if param["name"] == "scope":
                param["reason"] = "a self-registered client may hold only the Open Badges 3.0 scopes: " + " ".join(
                    OB_SCOPES
                )
            elif param["name"].startswith("redirect_uris[") or param["name"] in _ADDRESSES:
                param["reason"] = "an address must use https (or http on a loopback address), without a fragment"
        redirect = bool(params) and all(p["name"].startswith("redirect_uris") for p in params)
        body = OAuthErrorBody(
            error="invalid_redirect_uri" if redirect else "invalid_client_metadata",
            error_description=_validation_detail(exc, params),
        )
    elif isinstance(exc, HTTPException) and exc.status_code == 400:  # a body that is not JSON at all
        body = OAuthErrorBody(error="invalid_client_metadata", error_description=str(exc.detail))
    else:
        return (
            handle_http_exception(request, exc)
            if isinstance(exc, HTTPException)
            else handle_unexpected_error(request, exc)
        )
    return Response(body, status_code=400, media_type=MediaType.JSON, headers={"Cache-Control": "no-store"})


class ClientRegistrationController(Controller):
    path = "/oauth"
    tags = ["OAuth"]

    @post(
        "/register",
        operation_id="registerClient",
        summary="Register an Open Badges wallet or host as an OAuth client (RFC 7591 dynamic registration)",
        status_code=201,
        security=[{}],
        exception_handlers={
            errors.DomainError: _registration_error,
            ValidationException: _registration_error,
            HTTPException: _registration_error,
        },
        responses={
            400: ResponseSpec(
                data_container=OAuthErrorBody,
                description="RFC 7591 error: invalid_redirect_uri or invalid_client_metadata",
                media_type=MediaType.JSON,
                generate_examples=False,
            ),
            429: ResponseSpec(
                data_container=Problem,
                description="Too many registrations from this address; retry after Retry-After seconds",
                media_type=PROBLEM_MEDIA_TYPE,
                generate_examples=False,
            ),
        },
    )
    async def register(
        self, request: Request[Any, Any, Any], data: JSONBody[ClientRegistration]
    ) -> Response[ClientRegistered]:
        state = request.app.state
        address = request.client.host if request.client else "unknown"
        await enforce(state.redis, "register:ip", address, state.settings.token_rate_limit, fail_open=False)
        registered = await registration.register_client(state.db, data, request_id=request_id_var.get())
        return Response(registered, status_code=201, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
