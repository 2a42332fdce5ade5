"""The OAuth 2.0 authorization server over HTTP: token, authorization page, introspection,
revocation, metadata, keys, and ``/oauth/whoami`` for integrators.

The token, introspection and revocation endpoints answer errors in RFC 6749's JSON format
(``{"error": ..., "error_description": ...}``), which OAuth clients expect, not as problem
documents; only their 429 is a problem document.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit
from uuid import UUID

import msgspec
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import scope_to_list
from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import URLEncodedBody
from msgspec import Meta

from api.auth import ACCESS_TOKEN_KEY_PURPOSE, CLIENT_AUTH_SCHEME, public, secured
from api.errors import invalid_params, problems, validation_detail
from api.oauth import pages, pre_authorized
from api.oauth.grants import ANY_AUTH_METHOD, CONFIDENTIAL_AUTH_METHODS, Person
from api.oauth.server import GuildhallAuthorizationServer, HttpRequest, authorization_server, in_thread
from api.pages import design
from api.ratelimit import enforce
from api.routing import get, post
from domain import keys
from domain.accounts.totp import check_second_factor
from domain.credentials.oid4vci.metadata import PRE_AUTHORIZED_GRANT
from domain.errors import InvalidInput, RateLimited
from domain.oauth.principals import Principal
from domain.organisations.service import fetch_organisation
from domain.people import canonical_email, check_login
from domain.scopes import SCOPES
from domain.structs import Model

GRANT_TYPES = ["authorization_code", "client_credentials", "refresh_token", PRE_AUTHORIZED_GRANT]


def _described(description: str) -> Any:
    return Meta(description=description)


class TokenForm(msgspec.Struct):
    """RFC 6749 token request; which fields are required depends on ``grant_type``."""

    grant_type: Annotated[str | None, _described("client_credentials, authorization_code or refresh_token")] = None
    scope: Annotated[str | None, _described("Space-separated scopes; default: all the client holds")] = None
    code: Annotated[str | None, _described("authorization_code: the code from the redirect")] = None
    redirect_uri: Annotated[str | None, _described("authorization_code: the redirect_uri of the request")] = None
    code_verifier: Annotated[str | None, _described("authorization_code: the PKCE verifier (S256)")] = None
    refresh_token: Annotated[str | None, _described("refresh_token: the latest refresh token")] = None
    client_id: Annotated[str | None, _described("client_secret_post and public clients")] = None
    client_secret: Annotated[str | None, _described("client_secret_post only; prefer HTTP Basic")] = None
    pre_authorized_code: Annotated[
        str | None, _described("pre-authorized_code grant (OpenID4VCI): the code from the credential offer")
    ] = msgspec.field(default=None, name="pre-authorized_code")
    tx_code: Annotated[
        str | None, _described("pre-authorized_code grant: the PIN the learner was shown with the offer")
    ] = None


class TokenRequestForm(msgspec.Struct):
    """RFC 7662 / RFC 7009 request: the token, and optionally what kind it is."""

    token: Annotated[str | None, _described("REQUIRED: an access token or a refresh token")] = None
    token_type_hint: Annotated[str | None, _described("access_token or refresh_token (a hint only)")] = None
    client_id: str | None = None
    client_secret: str | None = None


class AuthorizeForm(msgspec.Struct):
    """The authorization page's form: the signed request parameters, the credentials, the decision."""

    response_type: str | None = None
    client_id: str | None = None
    redirect_uri: str | None = None
    scope: str | None = None
    state: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    issuer_state: str | None = None
    expires: str | None = None
    signature: str | None = None
    email: str = ""
    password: str = ""
    one_time_code: str = ""  # TOTP or a recovery code: the token then records amr ["pwd", "otp"]
    decision: str = "deny"


class TokenResponse(msgspec.Struct, omit_defaults=True):
    access_token: Annotated[str, _described("An RFC 9068 JWT (ES256) for the Authorization: Bearer header")]
    token_type: str
    expires_in: int
    scope: str
    refresh_token: Annotated[str | None, _described("authorization_code clients only; rotates on use")] = None
    authorization_details: Annotated[
        list[dict[str, Any]] | None,
        _described("OpenID4VCI grants: per credential configuration, the credential_identifiers the token buys"),
    ] = None


class OAuthErrorBody(msgspec.Struct, omit_defaults=True):
    error: Annotated[str, _described("invalid_request, invalid_client, invalid_grant, invalid_scope, ...")]
    error_description: str | None = None


class Introspection(msgspec.Struct, omit_defaults=True):
    """RFC 7662: only ``active`` when the token is unknown, expired, revoked or not the caller's."""

    active: bool
    scope: str | None = None
    client_id: str | None = None
    sub: Annotated[str | None, _described("The person's id, or the client id for client tokens")] = None
    exp: int | None = None
    iat: int | None = None
    iss: str | None = None
    token_type: Annotated[str | None, _described("Bearer for access tokens, refresh_token for refresh tokens")] = None
    jti: str | None = None
    org: Annotated[str | None, _described("The id of the client's organisation")] = None


class ServerMetadata(msgspec.Struct):
    """RFC 8414 authorization server metadata."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    introspection_endpoint: str
    revocation_endpoint: str
    registration_endpoint: str
    scopes_supported: list[str]
    response_types_supported: list[str]
    grant_types_supported: list[str]
    code_challenge_methods_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    pre_authorized_grant_anonymous_access_supported: Annotated[
        bool, _described("OpenID4VCI: a wallet may redeem a pre-authorized code without a client id")
    ] = msgspec.field(default=True, name="pre-authorized_grant_anonymous_access_supported")


class JsonWebKeySet(msgspec.Struct):
    keys: list[dict[str, Any]]


class TokenInfo(Model):
    """Who the access token stands for."""

    client_id: str
    person_id: UUID | None
    organisation_id: Annotated[UUID, _described("The client's organisation")]
    scopes: list[str]


def _oauth_error(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=OAuthErrorBody, description=description, media_type="application/json", generate_examples=False
    )


_OAUTH_ERRORS = {
    400: _oauth_error("RFC 6749 error: invalid_request, invalid_grant, invalid_scope, unsupported_grant_type, ..."),
    401: _oauth_error("invalid_client: the client's credentials are wrong, or the client is disabled"),
}


def _invalid_request(_: Request[Any, Any, Any], exc: ValidationException | InvalidInput) -> Response[OAuthErrorBody]:
    """A form Litestar cannot read (a field sent twice, say), or text PostgreSQL cannot hold, is an RFC 6749
    error like any other on these endpoints."""
    description = exc.message if isinstance(exc, InvalidInput) else validation_detail(exc, invalid_params(exc))
    return Response(
        OAuthErrorBody(error="invalid_request", error_description=description),
        status_code=400,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


_OAUTH_ENDPOINT: dict[str, Any] = {
    "exception_handlers": {ValidationException: _invalid_request, InvalidInput: _invalid_request},
}
# Client authentication, or none for a public client (which names itself with client_id in the form).
_CLIENT_AUTH_OR_PUBLIC: list[dict[str, list[str]]] = [{CLIENT_AUTH_SCHEME: []}, {}]


def _language(request: Request[Any, Any, Any]) -> str:
    """The browser's language, when the pages speak it (the person is not known before they sign in)."""
    return design.language_of(request.headers.get("accept-language"))


def _client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


class OAuthController(Controller):
    path = "/oauth"
    tags = ["OAuth"]

    @post(
        "/token",
        operation_id="requestToken",
        summary="Get an access token (client credentials, authorization code, refresh token, pre-authorized code)",
        description=(
            "A confidential client authenticates with HTTP Basic (client_secret_basic) or with `client_id` and "
            "`client_secret` in the form (client_secret_post); a public client sends only its `client_id` "
            "(authorization_code and refresh_token grants). A wallet redeeming an OpenID4VCI credential offer "
            "sends `grant_type=urn:ietf:params:oauth:grant-type:pre-authorized_code` with the offer's "
            "`pre-authorized_code` and the learner's PIN as `tx_code`, no client authentication needed; the answer "
            "adds `authorization_details` (the credentials the token buys). A used code, an expired offer or a "
            "wrong PIN is `invalid_grant` (five wrong PINs void the offer); a second use also revokes the token "
            "the first got."
        ),
        status_code=200,
        **_OAUTH_ENDPOINT,
        security=_CLIENT_AUTH_OR_PUBLIC,
        responses={**_OAUTH_ERRORS, **problems(429)},
    )
    async def token(self, request: Request[Any, Any, Any], data: URLEncodedBody[TokenForm]) -> Response[TokenResponse]:
        # ``data`` documents the form; authlib reads the raw form itself, repeated fields included.
        state = request.app.state
        limit = state.settings.token_rate_limit
        # Counted per address only: a per-client count made before the client authenticates would let
        # anyone who knows a client id use up its budget.
        await enforce(state.redis, "token:ip", _client_ip(request), limit, fail_open=True)
        form = await request.form()
        if form.get("grant_type") == PRE_AUTHORIZED_GRANT:
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            return await pre_authorized.token_response(request, fields)  # type: ignore[return-value]
        http = await HttpRequest.read(request, state.settings.issuer)
        async with authorization_server(request) as server:
            response: Response[TokenResponse] = await in_thread(server.create_token_response, http)
            return response

    @post(
        "/introspect",
        operation_id="introspectToken",
        summary="Is this token active, and for whom (RFC 7662; tokens of the caller's organisation)",
        description=(
            "Needs the calling client's own authentication (RFC 7662 §2.1): HTTP Basic (client_secret_basic) or "
            "`client_id` and `client_secret` in the form (client_secret_post); public clients cannot introspect. "
            "A token that is unknown, expired, revoked or not of the caller's organisation is `active: false`."
        ),
        status_code=200,
        **_OAUTH_ENDPOINT,
        security=[{CLIENT_AUTH_SCHEME: []}],
        responses=_OAUTH_ERRORS,
    )
    async def introspect(
        self, request: Request[Any, Any, Any], data: URLEncodedBody[TokenRequestForm]
    ) -> Response[Introspection]:
        return await self._endpoint(request, "introspection")

    @post(
        "/revoke",
        operation_id="revokeToken",
        summary="Revoke an access token, or a refresh token with its whole family (RFC 7009)",
        description=(
            "The client that holds the token authenticates as at the token endpoint: HTTP Basic or form fields "
            "for a confidential client, its `client_id` alone for a public one. The answer is `{}` whether or not "
            "the token was known (RFC 7009 §2.2)."
        ),
        status_code=200,
        **_OAUTH_ENDPOINT,
        security=_CLIENT_AUTH_OR_PUBLIC,
        responses=_OAUTH_ERRORS,
    )
    async def revoke(
        self, request: Request[Any, Any, Any], data: URLEncodedBody[TokenRequestForm]
    ) -> Response[dict[str, Any]]:  # always {} (RFC 7009 §2.2)
        return await self._endpoint(request, "revocation")

    async def _endpoint(self, request: Request[Any, Any, Any], name: str) -> Response[Any]:
        http = await HttpRequest.read(request, request.app.state.settings.issuer)
        async with authorization_server(request) as server:
            response: Response[Any] = await in_thread(server.create_endpoint_response, name, http)
            return response

    @get(
        "/jwks",
        operation_id="getAccessTokenKeys",
        summary="The public keys that sign access tokens (JWKS)",
        **public(),
    )
    async def jwks(self, request: Request[Any, Any, Any]) -> Response[JsonWebKeySet]:
        async with request.app.state.db.connection() as conn:
            key_set = await keys.public_jwks(conn, ACCESS_TOKEN_KEY_PURPOSE)
        # Short caching: verifiers reload anyway when they meet an unknown kid.
        return Response(JsonWebKeySet(**key_set), headers={"Cache-Control": "public, max-age=300"})

    @get(
        "/whoami",
        operation_id="getTokenInfo",
        summary="Who the access token stands for: client, person, organisation and scopes",
        **secured(),
    )
    async def whoami(self, principal: NamedDependency[Principal]) -> TokenInfo:
        return TokenInfo(
            client_id=principal.client_id,
            person_id=principal.person_id,
            organisation_id=principal.client_organisation_id,
            scopes=sorted(principal.scopes),
        )

    # The authorization page is for browsers, not API clients: it is described by the metadata
    # and the security scheme's authorizationUrl rather than as API operations.
    @get(
        "/authorize",
        operation_id="showAuthorizationPage",
        summary="The consent and sign-in page of the authorization-code flow",
        include_in_schema=False,
        security=[{}],
    )
    async def authorization_page(self, request: Request[Any, Any, Any]) -> Response[Any]:
        http = await HttpRequest.read(request, request.app.state.settings.issuer)
        async with authorization_server(request) as server:
            try:
                grant = await in_thread(server.get_consent_grant, http)
            except OAuth2Error as error:
                return _authorization_error(server, error)
            return await _consent_page(server, grant, language=_language(request))

    @post(
        "/authorize",
        operation_id="decideAuthorization",
        summary="Sign in and allow, or deny, an authorization request",
        include_in_schema=False,
        security=[{}],
        status_code=302,
    )
    async def decide(self, request: Request[Any, Any, Any], data: URLEncodedBody[AuthorizeForm]) -> Response[Any]:
        state = request.app.state
        parameters = {name: getattr(data, name) for name in pages.AUTHORIZATION_PARAMETERS}
        if not pages.form_is_genuine(state.settings.master_key, parameters, data.expires, data.signature):
            return pages.error_page(
                "This page has expired",
                "The sign-in form was open too long or was changed, so it cannot be used.",
            )
        # authlib sees the signed request parameters only, never the password.
        http = HttpRequest(
            method="POST",
            uri=f"{state.settings.issuer}/oauth/authorize",
            headers={},
            query=[],
            form=[(name, value) for name, value in parameters.items() if value is not None],
            body=b"",
        )
        async with authorization_server(request) as server:
            try:  # re-validated: the client may have changed since the page was shown
                grant = await in_thread(server.get_consent_grant, http)
            except OAuth2Error as error:
                return _authorization_error(server, error)
            if data.decision != "allow":
                return await _authorization_response(server, grant, None)
            language = _language(request)
            try:
                # Per address (password spraying over many accounts), then per address and account (guessing one
                # account's password), the account in the one canonical form its lookup uses.
                address = _client_ip(request)
                settings = state.settings
                await enforce(state.redis, "login:ip", address, settings.login_address_rate_limit, fail_open=False)
                subject = f"{address} {canonical_email(data.email)}"
                await enforce(state.redis, "login", subject, settings.login_rate_limit, fail_open=False)
            except RateLimited as limited:
                headers = {"Retry-After": str(limited.retry_after)}
                return await _consent_page(server, grant, data.email, limited.message, 429, headers, language)
            person_id = await check_login(server.conn, data.email, data.password)
            if person_id is None:
                wrong_login = design.text(language, "wrong_login")
                return await _consent_page(server, grant, data.email, wrong_login, 400, language=language)
            amr: tuple[str, ...] = ("pwd",)
            if data.one_time_code.strip():
                try:
                    await enforce(state.redis, "totp", str(person_id), settings.totp_rate_limit, fail_open=False)
                except RateLimited as limited:
                    headers = {"Retry-After": str(limited.retry_after)}
                    return await _consent_page(server, grant, data.email, limited.message, 429, headers, language)
                if not await check_second_factor(server.conn, settings.master_key, person_id, data.one_time_code):
                    wrong = design.text(language, "wrong_code")
                    return await _consent_page(server, grant, data.email, wrong, 400, language=language)
                amr = ("pwd", "otp")
            return await _authorization_response(server, grant, Person(person_id, amr))


class MetadataController(Controller):
    path = "/.well-known"
    tags = ["OAuth"]

    @get(
        "/oauth-authorization-server",
        operation_id="getAuthorizationServerMetadata",
        summary="Where the OAuth endpoints are and what they support (RFC 8414)",
        **public(),
    )
    async def metadata(self, request: Request[Any, Any, Any]) -> Response[ServerMetadata]:
        issuer = request.app.state.settings.issuer
        metadata = ServerMetadata(
            issuer=issuer,
            authorization_endpoint=f"{issuer}/oauth/authorize",
            token_endpoint=f"{issuer}/oauth/token",
            jwks_uri=f"{issuer}/oauth/jwks",
            introspection_endpoint=f"{issuer}/oauth/introspect",
            revocation_endpoint=f"{issuer}/oauth/revoke",
            registration_endpoint=f"{issuer}/oauth/register",
            scopes_supported=list(SCOPES),
            response_types_supported=["code"],
            grant_types_supported=GRANT_TYPES,
            code_challenge_methods_supported=["S256"],
            token_endpoint_auth_methods_supported=ANY_AUTH_METHOD,
            introspection_endpoint_auth_methods_supported=CONFIDENTIAL_AUTH_METHODS,
            revocation_endpoint_auth_methods_supported=ANY_AUTH_METHOD,
        )
        return Response(metadata, headers={"Cache-Control": "public, max-age=3600"})


def _authorization_error(server: GuildhallAuthorizationServer, error: OAuth2Error) -> Response[Any]:
    """Back to the client with the error when its redirect URI was verified (RFC 6749 §4.1.2.1);
    otherwise a page for the person: an unverified URI is never redirected to."""
    if error.redirect_uri:
        response: Response[Any] = server.handle_error_response(None, error)
        return response
    return pages.error_page("This request cannot be completed", error.description or error.error)


async def _authorization_response(
    server: GuildhallAuthorizationServer, grant: Any, person: Person | None
) -> Response[Any]:
    """The redirect with a code (``person`` allowed) or with error=access_denied (None)."""
    response: Response[Any] = await in_thread(
        server.create_authorization_response, request=grant.request, grant_user=person, grant=grant
    )
    return response


async def _consent_page(
    server: GuildhallAuthorizationServer,
    grant: Any,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    language: str = "en",
) -> Response[str]:
    client = grant.client
    organisation = await fetch_organisation(server.conn, client.organisation_id)
    parameters = {name: grant.request.payload.data.get(name) for name in pages.AUTHORIZATION_PARAMETERS}
    names = organisation.name
    organisation_name = names.get(organisation.default_language) or next(iter(names.values()))
    if client.self_registered:  # nobody vouches for it: say where it says it comes from, and no more
        host = urlsplit(client.registered_client_uri).hostname or client.registered_client_uri
        organisation_name = f"itself ({host}); no organisation on Guildhall vouches for it"
    return pages.consent_page(
        client_name=client.name,
        organisation_name=organisation_name,
        scopes=[(scope, SCOPES.get(scope, scope)) for scope in scope_to_list(grant.request.scope)],
        hidden_fields=pages.sign_form(server.settings.master_key, parameters),
        redirect_uri=grant.redirect_uri,
        email=email,
        error=error,
        status_code=status_code,
        headers=headers,
        language=language,
    )
