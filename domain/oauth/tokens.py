"""Authorization codes and issued tokens: stored hashed, used once, revocable at once.

Every access token (a JWT) has a row keyed by its ``jti``; the row also holds the hash of the
refresh token issued with it. Tokens of one grant share a ``family_id`` so that a replayed code
or a reused refresh token revokes everything that grant produced. The records carry the few
methods authlib's grants call on them (``get_scope``, ``check_client``…), without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from domain.db import Connection
from domain.oauth.clients import hash_secret
from domain.sql import load_queries
from domain.writes import Actor, Write

q = load_queries(__file__, "tokens.sql")

TokenKind = Literal["access_token", "refresh_token"]


def family_of_code(code_hash: str) -> UUID:
    """The family of the tokens a code is exchanged for is named by the code's hash, so that a
    replayed code finds them without another column."""
    return UUID(code_hash[:32])


@dataclass(frozen=True)
class AuthorizationCode:
    code_hash: str
    client_id: str
    person_id: UUID
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    amr: list[str]
    credential_offer_id: UUID | None = None  # OpenID4VCI: the offer the authorization named (issuer_state)

    @property
    def family_id(self) -> UUID:
        return family_of_code(self.code_hash)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class StoredToken:
    """An access token (by jti) or a refresh token (by hash), as introspection and grants see it."""

    kind: TokenKind
    jti: str
    family_id: UUID
    client_id: str
    organisation_id: UUID  # the client's organisation
    person_id: UUID | None
    scope: str
    issued_at: datetime
    expires_at: datetime
    expired: bool
    revoked: bool  # revoked, or its client disabled
    used: bool  # a refresh token already exchanged
    amr: list[str]  # how the person signed in (RFC 8176); empty for a client's own tokens

    @property
    def active(self) -> bool:
        return not (self.expired or self.revoked or self.used)

    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.client_id)

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.expired

    def is_revoked(self) -> bool:
        return self.revoked or self.used


@dataclass(frozen=True)
class NewToken:
    jti: str
    family_id: UUID
    client_id: str
    organisation_id: UUID
    person_id: UUID | None
    scope: str
    expires_at: int  # the JWT's exp, seconds since the epoch
    refresh_token: str | None
    refresh_ttl: int
    amr: list[str]


async def store_authorization_code(
    conn: Connection,
    code: str,
    *,
    client_id: str,
    person_id: UUID,
    redirect_uri: str,
    scope: str,
    code_challenge: str,
    code_challenge_method: str,
    amr: list[str],
    ttl: int,
    credential_offer_id: UUID | None = None,
) -> None:
    await conn.execute(
        q.insert_authorization_code,
        hash_secret(code),
        client_id,
        person_id,
        redirect_uri,
        scope,
        code_challenge,
        code_challenge_method,
        ttl,
        amr,
        credential_offer_id,
    )


async def take_authorization_code(
    conn: Connection, code: str, client_id: str, actor: Actor
) -> AuthorizationCode | None:
    """The live code issued to ``client_id``, locked until the transaction ends; None otherwise.

    A code presented after it was used revokes the tokens issued from it (RFC 6749 §4.1.2).
    """
    row = await conn.fetchrow(q.lock_authorization_code, hash_secret(code), client_id)
    if row is None or row["expired"]:
        return None
    record = AuthorizationCode(**{k: v for k, v in row.items() if k not in ("expired", "used")})
    if row["used"]:
        # Filtered by client_id above: the family belongs to the presenting client's organisation.
        await revoke_family(conn, record.family_id, actor.organisation_id, actor, reason="authorization code replayed")
        return None
    return record


async def mark_authorization_code_used(conn: Connection, record: AuthorizationCode) -> None:
    await conn.execute(q.mark_authorization_code_used, record.code_hash)


async def store_token(conn: Connection, token: NewToken) -> None:
    await conn.execute(
        q.insert_token,
        token.jti,
        token.family_id,
        token.client_id,
        token.organisation_id,
        token.person_id,
        token.scope,
        token.expires_at,
        token.refresh_token and hash_secret(token.refresh_token),
        token.refresh_ttl,
        token.amr,
    )


async def find_access_token(conn: Connection, jti: str) -> StoredToken | None:
    row = await conn.fetchrow(q.access_token, jti)
    return StoredToken(**row) if row else None


async def find_refresh_token(conn: Connection, refresh_token: str) -> StoredToken | None:
    """The refresh token's row, locked until the transaction ends."""
    row = await conn.fetchrow(q.lock_refresh_token, hash_secret(refresh_token))
    return StoredToken(**row) if row else None


async def take_refresh_token(conn: Connection, refresh_token: str, actor: Actor) -> StoredToken | None:
    """The live refresh token, locked; None otherwise. Presenting one already exchanged means that
    it was stolen or replayed: the whole family is revoked (RFC 9700 §4.14.2)."""
    token = await find_refresh_token(conn, refresh_token)
    if token is None or token.expired or token.revoked:
        return None
    if token.used:
        await revoke_family(conn, token.family_id, token.organisation_id, actor, reason="refresh token reused")
        return None
    return token


async def mark_refresh_token_used(conn: Connection, token: StoredToken) -> None:
    await conn.execute(q.mark_refresh_token_used, token.jti)


async def revoke(conn: Connection, token: StoredToken, actor: Actor) -> None:
    """RFC 7009: an access token alone (and the refresh token issued with it), or a refresh
    token's whole family."""
    if token.kind == "refresh_token":
        await revoke_family(conn, token.family_id, token.organisation_id, actor, reason="refresh token revoked")
        return
    await conn.execute(q.revoke_token, token.jti)
    await Write(conn=conn, actor=actor).audit("token.revoked", "token", token.jti, token.organisation_id)


async def revoke_family(
    conn: Connection, family_id: UUID, organisation_id: UUID | None, actor: Actor, *, reason: str
) -> None:
    await conn.execute(q.revoke_family, family_id)
    await Write(conn=conn, actor=actor).audit(
        "token.family_revoked", "token_family", family_id, organisation_id, {"reason": reason}
    )
