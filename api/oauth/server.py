"""authlib's AuthorizationServer on Litestar: one server per request, bound to one connection.

authlib is synchronous and has no ASGI integration. A request is read on the event loop into an
``HttpRequest``; authlib then runs in a worker thread (``in_thread``) and its callbacks come
back to the event loop (``server.run``) to use asyncpg, always on the connection that holds the
request's transaction, so that an endpoint call commits or rolls back as a whole.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import msgspec
from authlib.oauth2 import AuthorizationServer, JsonRequest, OAuth2Request
from authlib.oauth2.rfc6749 import InvalidGrantError, JsonPayload, OAuth2Payload
from joserfc.jws import extract_compact
from litestar import Request, Response

from api.auth import ACCESS_TOKEN_KEY_PURPOSE, TokenVerifier
from api.oauth import grants
from api.observability import request_id_var
from api.settings import Settings
from domain import keys
from domain.credentials.oid4vci import issuance, offers
from domain.credentials.oid4vci.errors import Oid4vciError
from domain.db import Connection
from domain.oauth import clients, tokens
from domain.scopes import SCOPES
from domain.writes import Actor

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class HttpRequest:
    """What authlib reads of a request, captured on the event loop (where the body can be read)."""

    method: str
    uri: str
    headers: Mapping[str, str]
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    body: bytes

    @classmethod
    async def read(cls, request: Request[Any, Any, Any], issuer: str) -> HttpRequest:
        form = await request.form()
        # The public URL, not the one the proxy forwarded: authlib refuses plain http unless told.
        uri = issuer + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return cls(
            method=request.method,
            uri=uri,
            headers=request.headers,
            query=list(request.query_params.multi_items()),
            form=[(k, v) for k, v in form.multi_items() if isinstance(v, str)],
            body=await request.body(),
        )


class _Parameters(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class LitestarOAuth2Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, http: HttpRequest) -> None:
        super().__init__(http.method, http.uri, headers=http.headers)
        self.payload = _Parameters([*http.query, *http.form])
        self._args = _Parameters(http.query).data
        self._form = _Parameters(http.form).data

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _JsonBody(JsonPayload):  # type: ignore[misc]
    def __init__(self, body: bytes) -> None:
        self._body = body

    @property
    def data(self) -> Any:
        return msgspec.json.decode(self._body) if self._body else {}


class GuildhallAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Grants: client_credentials, authorization_code (PKCE S256) and refresh_token (rotating);
    endpoints: introspection (RFC 7662) and revocation (RFC 7009)."""

    def __init__(self, conn: Connection, settings: Settings, verifier: TokenVerifier) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.conn = conn
        self.settings = settings
        self.verifier = verifier
        self.request_id = request_id_var.get()
        self._signing_key: keys.SigningKey | None = None
        self.register_token_generator("default", grants.AccessTokenGenerator(self))
        self.register_grant(grants.ClientCredentialsGrant)
        self.register_grant(grants.AuthorizationCodeGrant, [grants.S256CodeChallenge()])
        self.register_grant(grants.RefreshTokenGrant)
        self.register_endpoint(grants.IntrospectionEndpoint)
        self.register_endpoint(grants.RevocationEndpoint)

    def run(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Runs a coroutine function on the event loop from authlib's worker thread."""
        return anyio.from_thread.run(functools.partial(func, *args, **kwargs))  # type: ignore[arg-type]

    def actor(self, client: grants.OAuthClient | None) -> Actor:
        return Actor(
            client_id=client.client_id if client else None,
            organisation_id=client.organisation_id if client else None,
            request_id=self.request_id,
        )

    def signing_key(self) -> keys.SigningKey:
        if self._signing_key is None:
            self._signing_key = self.run(keys.ensure_key, self.conn, self.settings.master_key, ACCESS_TOKEN_KEY_PURPOSE)
        return self._signing_key

    def query_client(self, client_id: str) -> grants.OAuthClient | None:
        row = self.run(self.conn.fetchrow, clients.q.select_client_for_auth, client_id)
        if row is None or row["disabled_at"] is not None:
            return None
        return grants.OAuthClient.from_row(row)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        claims = msgspec.json.decode(extract_compact(token["access_token"].encode()).payload)
        grant = request.refresh_token or request.authorization_code  # a family continues
        client: grants.OAuthClient = request.client
        new_token = tokens.NewToken(
            jti=claims["jti"],
            family_id=grant.family_id if grant else uuid.uuid4(),
            client_id=client.client_id,
            organisation_id=client.organisation_id,
            person_id=request.user.id if request.user else None,
            scope=token.get("scope", ""),
            expires_at=claims["exp"],
            refresh_token=token.get("refresh_token"),
            refresh_ttl=self.settings.refresh_token_ttl,
            amr=list(request.user.amr) if request.user else [],
        )
        self.run(tokens.store_token, self.conn, new_token)
        code = request.authorization_code
        if code is not None and code.credential_offer_id is not None:
            # OpenID4VCI: this token redeems the offer; the answer lists the credentials it buys.
            try:
                redemption = self.run(
                    offers.redeem_with_authorization_code,
                    self.conn,
                    code.credential_offer_id,
                    claims["jti"],
                    claims["exp"],
                )
            except Oid4vciError as refused:
                raise InvalidGrantError(refused.description) from None
            token["authorization_details"] = issuance.authorization_details(redemption)

    def create_oauth2_request(self, request: HttpRequest | OAuth2Request) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else LitestarOAuth2Request(request)

    def create_json_request(self, request: HttpRequest) -> JsonRequest:
        json_request = JsonRequest(request.method, request.uri, request.headers)
        json_request.payload = _JsonBody(request.body)
        return json_request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response[Any]:
        # authlib's Content-Type goes; Litestar sets it from media_type.
        kept = {name: value for name, value in headers if name.lower() != "content-type"}
        if status in (301, 302, 303, 307):
            kept["Cache-Control"] = "no-store"  # the Location may carry a code
        if isinstance(body, dict):
            return Response(body, status_code=status, headers=kept, media_type="application/json")
        return Response(body or b"", status_code=status, headers=kept, media_type="text/plain")

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        log.debug("oauth signal %s", name, extra={"client_id": getattr(kwargs.get("client"), "client_id", None)})


@asynccontextmanager
async def authorization_server(request: Request[Any, Any, Any]) -> AsyncIterator[GuildhallAuthorizationServer]:
    """A server bound to one pooled connection inside a transaction, for this request only."""
    state = request.app.state
    async with state.db.transaction() as conn:
        yield GuildhallAuthorizationServer(conn, state.settings, state.token_verifier)


async def in_thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a synchronous authlib call off the event loop; its callbacks use ``server.run``."""
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs))
