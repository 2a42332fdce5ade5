"""Guards: every operation declares its scopes (and roles) through ``secured()`` or is ``public()``.

The guard checks the bearer token (an RFC 9068 JWT signed by our authorization server, still
live in PostgreSQL), the scopes the operation names, and — when the path holds ``org_id`` —
the caller's role in that organisation. The result is the request's ``Principal``.

An operation declared with ``token_checked_in_write`` (the integrator's recording path) does not ask PostgreSQL
before it runs when the token is a client's own that this process has checked before: such a token stands for
what its row says, which never changes, so its principal is remembered, and the operation's write confirms in
its own statement that the token is still live (``Actor.token_to_confirm``), answering 401 if it is not.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from uuid import UUID

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.errors import problems
from api.observability import request_id_var
from domain import keys
from domain.db import Database
from domain.errors import Forbidden, NotFound, Unauthenticated
from domain.oauth.principals import Principal, principal_for_token
from domain.scopes import Role

ACCESS_TOKEN_KEY_PURPOSE = "oauth"
SECURITY_SCHEME = "oauth2"
# OAuth clients authenticate themselves at the token, introspection and revocation endpoints (RFC 6749 §2.3.1):
# HTTP Basic with the client id and secret, or the two as form fields (client_secret_post).
CLIENT_AUTH_SCHEME = "clientSecretBasic"
# OpenID4VCI's credential endpoint takes the access token an offer was redeemed for, and no other (no scopes).
CREDENTIAL_ACCESS_TOKEN_SCHEME = "credentialAccessToken"


class TokenVerifier:
    """Verifies access-token JWTs against the authorization server's published keys.

    Public keys are cached per process; an unknown ``kid`` (a key rotated in by another
    replica) triggers one reload from PostgreSQL. A token whose signature verified is remembered
    (by its exact text, up to ``remembered`` tokens): a client sends the same token with every request
    until it expires, and an ES256 verification costs more than the rest of the check. Its expiry is
    checked on every use; whether it is revoked is PostgreSQL's to say (``principal_for_token``).
    """

    remembered = 10_000

    def __init__(self, db: Database, issuer: str) -> None:
        self.db = db
        self.issuer = issuer
        self._keys: KeySet | None = None
        self._kids: set[str] = set()
        self._verified: dict[str, dict[str, Any]] = {}  # token -> its claims
        self._client_principals: dict[str, Principal] = {}  # jti -> the principal of a client's own token

    def remember(self, principal: Principal) -> None:
        """Keeps the principal of a client's own token (no person: nothing in it can change but whether the token
        is live, which the write confirms); a person's memberships can, so theirs is always read afresh."""
        if principal.person_id is not None or principal.token_id in self._client_principals:
            return
        if len(self._client_principals) >= self.remembered:
            self._client_principals.clear()
        self._client_principals[principal.token_id] = replace(principal, request_id=None)

    def remembered_principal(self, jti: str) -> Principal | None:
        return self._client_principals.get(jti)

    async def _key_set(self, kid: str | None) -> KeySet:
        if self._keys is None or (kid is not None and kid not in self._kids):
            async with self.db.connection() as conn:
                self._keys = await keys.public_keys(conn, ACCESS_TOKEN_KEY_PURPOSE)
            self._kids = {k.kid for k in self._keys.keys if k.kid}
            self._verified.clear()
        return self._keys

    async def verify(self, token: str) -> dict[str, Any]:
        claims = self._verified.get(token)
        if claims is None:
            claims = await self._verify_signature(token)
            if len(self._verified) >= self.remembered:
                self._verified.clear()  # mostly tokens that have expired by now
            self._verified[token] = claims
        exp = claims["exp"]
        if exp <= time.time():
            raise Unauthenticated("the access token has expired; get a new one")
        return claims

    async def _verify_signature(self, token: str) -> dict[str, Any]:
        """The claims of a well-formed access token of ours, its signature verified; not yet its expiry."""
        try:
            header = extract_compact(token.encode()).protected
            key_set = await self._key_set(header.get("kid"))
            decoded = jwt.decode(token, key_set, algorithms=["ES256"])
        except (JoseError, ValueError) as exc:
            raise Unauthenticated("the access token is malformed or its signature does not verify") from exc
        if decoded.header.get("typ") != "at+jwt":
            raise Unauthenticated("this is not an access token (its typ is not at+jwt)")
        claims = decoded.claims
        if claims.get("iss") != self.issuer:
            raise Unauthenticated("the access token was issued by another authorization server")
        if not isinstance(claims.get("exp"), int):
            raise Unauthenticated("the access token has expired; get a new one")
        if not isinstance(claims.get("jti"), str):
            raise Unauthenticated("the access token has no jti")
        return claims


def _bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    # Read from the raw ASGI headers: building the request's Headers costs more than the rest of this check.
    header = next((v.decode("latin-1") for k, v in connection.scope["headers"] if k == b"authorization"), "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send an access token in the Authorization header: 'Bearer <token>'")
    return token.strip()


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any], *, write_confirms: bool = False) -> Principal:
    """The token's principal. ``write_confirms``: the operation's write confirms the token is live, so a
    remembered client principal is taken as it is (``token_confirmed`` false) without asking PostgreSQL."""
    state = connection.app.state
    verifier: TokenVerifier = state.token_verifier
    claims = await verifier.verify(_bearer_token(connection))
    jti = claims["jti"]
    if write_confirms and (known := verifier.remembered_principal(jti)) is not None:
        return replace(known, request_id=request_id_var.get(), token_confirmed=False)
    async with state.db.connection() as conn:
        principal = await principal_for_token(conn, jti, request_id_var.get())
    verifier.remember(principal)
    return principal


async def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    principal = await authenticate(connection, write_confirms=handler.opt.get("token_checked_in_write", False))
    missing = [s for s in handler.opt.get("scopes", ()) if not principal.has_scope(s)]
    if missing:
        raise Forbidden(f"the access token lacks the scope {' '.join(missing)} that this operation needs")
    org_id = connection.path_params.get("org_id")
    if handler.opt.get("member_of_path_org") and org_id is not None:
        principal.require_role(org_id if isinstance(org_id, UUID) else UUID(str(org_id)), handler.opt.get("roles"))
    # The connection's state is the scope's "state" dict: ``connection.state`` would wrap it in a new State object
    # on every use.
    connection.scope["state"]["principal"] = principal


def current_principal(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """Dependency: the principal the guard established."""
    principal: Principal = request.scope["state"]["principal"]
    return principal


def secured(
    *scopes: str,
    roles: Iterable[Role] | None = None,
    member_of_path_org: bool = False,
    errors: Iterable[int] = (),
    token_checked_in_write: bool = False,
) -> dict[str, Any]:
    """Handler keyword arguments for an operation that needs a token with ``scopes``.

    ``member_of_path_org``: the caller must belong to the ``{org_id}`` of the path, with one of
    ``roles`` if given (an organisation's ``admin`` always qualifies). ``token_checked_in_write``: every
    outcome of the operation goes through a write that confirms ``Actor.token_to_confirm`` (see above).
    """
    statuses = sorted({400, 401, 403, 503, *errors})  # 503: the database is away (api/errors.py)
    return {
        "guards": [authorize],
        "opt": {
            "scopes": scopes,
            "roles": frozenset(roles) if roles else None,
            "member_of_path_org": member_of_path_org,
            "token_checked_in_write": token_checked_in_write,
        },
        "security": [{SECURITY_SCHEME: list(scopes)}],
        "responses": problems(*statuses),
    }


def public(errors: Iterable[int] = ()) -> dict[str, Any]:
    """Handler keyword arguments for an operation anyone may call without a token."""
    return {"security": [{}], "responses": problems(*sorted(set(errors))) if errors else {}}


def metrics_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """``/metrics`` in production: only for a scraper that sends ``GUILDHALL_METRICS_TOKEN`` as a bearer token
    (operators' metrics name every route and its traffic). Elsewhere it is open, for a local Prometheus."""
    settings = connection.app.state.settings
    if settings.environment != "production":
        return
    if not settings.metrics_token:
        raise NotFound("metrics are off: set GUILDHALL_METRICS_TOKEN and scrape with it as a bearer token")
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), settings.metrics_token.encode()):
        raise Unauthenticated("send the scraper's token (GUILDHALL_METRICS_TOKEN) as Authorization: Bearer")
