"""What Guildhall plugs into authlib: the client model, the access-token generator, the three grants,
PKCE restricted to S256, and the introspection and revocation endpoints.

Each piece reaches PostgreSQL through ``self.server.run(...)`` on the request's connection
(see ``api.oauth.server``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, InvalidScopeError, grants, scope_to_list
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet

from domain.credentials.oid4vci import offers
from domain.credentials.oid4vci.errors import Oid4vciError
from domain.errors import Unauthenticated
from domain.oauth import clients, tokens
from domain.oauth.tokens import StoredToken

if TYPE_CHECKING:
    from api.oauth.server import GuildhallAuthorizationServer

CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
ANY_AUTH_METHOD = [*CONFIDENTIAL_AUTH_METHODS, "none"]


@dataclass(frozen=True)
class OAuthClient(ClientMixin):  # type: ignore[misc]
    client_id: str
    organisation_id: UUID
    name: str
    secret_hash: str | None
    token_endpoint_auth_method: str
    grant_types: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    registered_client_uri: str | None = None  # set when the client registered itself (RFC 7591)

    @property
    def self_registered(self) -> bool:
        return self.registered_client_uri is not None

    @classmethod
    def from_row(cls, row: Any) -> OAuthClient:
        return cls(
            client_id=row["client_id"],
            organisation_id=row["organisation_id"],
            name=row["name"],
            secret_hash=row["secret_hash"],
            token_endpoint_auth_method=row["token_endpoint_auth_method"],
            grant_types=tuple(row["grant_types"]),
            redirect_uris=tuple(row["redirect_uris"]),
            scopes=tuple(row["scopes"]),
            registered_client_uri=row["registered_client_uri"],
        )

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # every authorization request names its redirect_uri

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes this client holds (all of its scopes when none are requested);
        None, which authlib answers with invalid_scope, when that leaves nothing."""
        if not scope:
            return " ".join(self.scopes)
        allowed = [s for s in scope_to_list(scope) if s in self.scopes]
        return " ".join(dict.fromkeys(allowed)) or None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact match only

    def check_client_secret(self, client_secret: str) -> bool:
        return clients.secret_matches(client_secret, self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass(frozen=True)
class Person:
    """The resource owner authlib passes around as ``user``."""

    id: UUID
    amr: tuple[str, ...] = ("pwd",)  # how they signed in (RFC 8176): "pwd", and "otp" with a second factor

    def get_user_id(self) -> str:
        return str(self.id)


def _new_refresh_token(**_: Any) -> str:
    return secrets.token_urlsafe(32)


class AccessTokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    """RFC 9068 access tokens: ES256 with the server's current "oauth" key, header kid and typ
    at+jwt, audience this API (the issuer), plus ``org``, the client's organisation."""

    def __init__(self, server: GuildhallAuthorizationServer) -> None:
        super().__init__(
            issuer=server.settings.issuer,
            alg="ES256",
            refresh_token_generator=_new_refresh_token,
            expires_generator=server.settings.access_token_ttl,
        )
        self.server = server

    def get_jwks(self) -> KeySet:
        return KeySet([self.server.signing_key().key])  # joserfc copies its kid into the header

    def get_audiences(self, client: OAuthClient, user: Person | None, scope: str) -> str:
        return str(self.issuer)

    def get_jti(self, client: OAuthClient, grant_type: str, user: Person | None, scope: str) -> str:
        return secrets.token_urlsafe(24)

    def get_extra_claims(
        self, client: OAuthClient, grant_type: str, user: Person | None, scope: str
    ) -> dict[str, str | list[str]]:
        claims: dict[str, str | list[str]] = {"org": str(client.organisation_id)}
        if user is not None:
            claims["amr"] = list(user.amr)  # RFC 8176, as in OpenID Connect: how the person signed in
        return claims


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256 only, required from the authorization request on (RFC 9700 §2.1.1);
    authlib's own would accept ``plain`` and a missing challenge."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: grants.AuthorizationCodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE with S256 is required.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method': only S256 is accepted.")
        super().validate_code_challenge(grant, redirect_uri)


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def validate_requested_scope(self) -> None:
        super().validate_requested_scope()  # scopes this server knows
        missing = set(scope_to_list(self.request.payload.scope) or []) - set(self.client.scopes)
        if missing:
            raise InvalidScopeError(f"The client is not registered for: {' '.join(sorted(missing))}.")


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ANY_AUTH_METHOD
    server: GuildhallAuthorizationServer

    def save_authorization_code(self, code: str, request: Any) -> None:
        issuer_state = request.payload.data.get("issuer_state")
        offer_id = None
        if issuer_state:  # OpenID4VCI: the offer must be live and of the credentials of the person signing in
            try:
                offer_id = self.server.run(offers.bind_offer_to_person, self.server.conn, issuer_state, request.user.id)
            except Oid4vciError as refused:  # back to the wallet, as any error once the redirect URI is verified
                raise InvalidRequestError(
                    refused.description, state=request.payload.state, redirect_uri=request.payload.redirect_uri
                ) from None
        self.server.run(
            tokens.store_authorization_code,
            self.server.conn,
            code,
            client_id=request.client.client_id,
            person_id=request.user.id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            code_challenge=request.payload.data["code_challenge"],
            code_challenge_method=request.payload.data["code_challenge_method"],
            amr=list(request.user.amr),
            ttl=self.server.settings.authorization_code_ttl,
            credential_offer_id=offer_id,
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> tokens.AuthorizationCode | None:
        return self.server.run(
            tokens.take_authorization_code, self.server.conn, code, client.client_id, self.server.actor(client)
        )

    def delete_authorization_code(self, authorization_code: tokens.AuthorizationCode) -> None:
        self.server.run(tokens.mark_authorization_code_used, self.server.conn, authorization_code)

    def authenticate_user(self, authorization_code: tokens.AuthorizationCode) -> Person:
        return Person(authorization_code.person_id, tuple(authorization_code.amr))


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    """Rotation: every use returns a new refresh token of the same family and marks the old used."""

    TOKEN_ENDPOINT_AUTH_METHODS = ANY_AUTH_METHOD
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: GuildhallAuthorizationServer

    def authenticate_refresh_token(self, refresh_token: str) -> StoredToken | None:
        actor = self.server.actor(self.request.client)
        return self.server.run(tokens.take_refresh_token, self.server.conn, refresh_token, actor)

    def authenticate_user(self, refresh_token: StoredToken) -> Person | None:
        return Person(refresh_token.person_id, tuple(refresh_token.amr)) if refresh_token.person_id else None

    def revoke_old_credential(self, refresh_token: StoredToken) -> None:
        self.server.run(tokens.mark_refresh_token_used, self.server.conn, refresh_token)


def find_token(server: GuildhallAuthorizationServer, token: str) -> StoredToken | None:
    """An access token (a JWT whose signature verifies) or a refresh token, by its form: a
    ``token_type_hint`` is only a hint (RFC 7009 §2.1)."""
    if token.count(".") != 2:
        return server.run(tokens.find_refresh_token, server.conn, token)
    try:
        claims = server.run(server.verifier.verify, token)
    except Unauthenticated:  # malformed, forged or expired: inactive either way
        return None
    return server.run(tokens.find_access_token, server.conn, claims["jti"])


class IntrospectionEndpoint(_IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS
    server: GuildhallAuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        return find_token(self.server, token_string)

    def check_permission(self, token: StoredToken, client: OAuthClient, request: Any) -> bool:
        # Others learn only active: false. Self-registered clients share one organisation without knowing
        # each other, so each sees its own tokens only.
        if client.self_registered:
            return token.client_id == client.client_id
        return token.organisation_id == client.organisation_id

    def introspect_token(self, token: StoredToken) -> dict[str, Any]:
        return {
            "active": True,
            "scope": token.scope,
            "client_id": token.client_id,
            "sub": str(token.person_id) if token.person_id else token.client_id,
            "exp": int(token.expires_at.timestamp()),
            "iat": int(token.issued_at.timestamp()),
            "iss": self.server.settings.issuer,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
            "jti": token.jti,
            "org": str(token.organisation_id),
        }


class RevocationEndpoint(_RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ANY_AUTH_METHOD  # a public client may revoke its own tokens
    server: GuildhallAuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        return find_token(self.server, token_string)

    def revoke_token(self, token: StoredToken, request: Any) -> None:
        if not token.revoked:
            self.server.run(tokens.revoke, self.server.conn, token, self.server.actor(request.client))
