"""Registering OAuth clients for an organisation; secrets are shown once and stored hashed."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from uuid import UUID

from domain.db import Connection, Database
from domain.errors import Conflict, InvalidInput, NotFound
from domain.oauth.models import Client, ClientCreate, ClientPage, ClientWithSecret
from domain.organisations.service import fetch_organisation
from domain.pagination import decode_cursor, next_cursor
from domain.scopes import API_GRANTABLE_SCOPES, SCOPES
from domain.sql import load_queries
from domain.structs import from_row
from domain.writes import Actor, IdempotencyKey, write

q = load_queries(__file__, "clients.sql")


def hash_secret(secret: str) -> str:
    """SHA-256: the secrets are 256-bit random values, so a slow hash would add nothing."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and hmac.compare_digest(hash_secret(secret), stored_hash)


def _check(data: ClientCreate, *, allow_operator_scope: bool) -> None:
    allowed = set(SCOPES) if allow_operator_scope else set(API_GRANTABLE_SCOPES)
    unknown = sorted(set(data.scopes) - allowed)
    problems = []
    if unknown:
        problems.append(f"scopes not grantable here: {', '.join(unknown)}")
    grants = set(data.grant_types)
    if data.token_endpoint_auth_method == "none" and "client_credentials" in grants:
        problems.append("a public client (tokenEndpointAuthMethod 'none') cannot use client_credentials")
    if "authorization_code" in grants and not data.redirect_uris:
        problems.append("the authorization_code grant needs at least one redirectUri")
    if "refresh_token" in grants and "authorization_code" not in grants:
        problems.append("refresh_token is only issued with the authorization_code grant")
    if problems:
        raise InvalidInput("; ".join(problems))


async def create_client(
    db: Database,
    actor: Actor,
    organisation_id: UUID,
    data: ClientCreate,
    *,
    allow_operator_scope: bool = False,
    idempotency: IdempotencyKey | None = None,
) -> ClientWithSecret:
    _check(data, allow_operator_scope=allow_operator_scope)
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            # The secret was shown once; a retry gets the same client without it.
            return w.replay(ClientWithSecret)
        await fetch_organisation(w.conn, organisation_id)
        client_id = "gh_" + secrets.token_urlsafe(16)
        secret = None if data.token_endpoint_auth_method == "none" else secrets.token_urlsafe(32)
        row = await w.conn.fetchrow(
            q.insert_client,
            client_id,
            organisation_id,
            data.name,
            secret and hash_secret(secret),
            data.token_endpoint_auth_method,
            sorted(set(data.grant_types)),
            data.redirect_uris,
            sorted(set(data.scopes)),
        )
        await w.audit(
            "client.created",
            "client",
            client_id,
            organisation_id,
            {"scopes": sorted(set(data.scopes)), "grantTypes": sorted(set(data.grant_types))},
        )
        client = from_row(Client, row)
        await w.remember(
            ClientWithSecret(**{f: getattr(client, f) for f in Client.__struct_fields__}, client_secret=None)
        )
    return ClientWithSecret(**{f: getattr(client, f) for f in Client.__struct_fields__}, client_secret=secret)


async def _fetch_client(conn: Connection, organisation_id: UUID, client_id: str) -> Client:
    rows = await conn.fetch(q.select_clients, organisation_id, None, None, client_id, 1)
    if not rows:
        raise NotFound(f"organisation {organisation_id} has no client {client_id}")
    return from_row(Client, rows[0])


async def get_client(db: Database, organisation_id: UUID, client_id: str) -> Client:
    async with db.connection() as conn:
        return await _fetch_client(conn, organisation_id, client_id)


async def list_clients(db: Database, organisation_id: UUID, *, cursor: str | None, limit: int) -> ClientPage:
    after = decode_cursor(cursor, uuid_key=False)  # clients are paged by their text client_id
    async with db.connection() as conn:
        rows = await conn.fetch(
            q.select_clients, organisation_id, after[0] if after else None, after[1] if after else None, None, limit + 1
        )
    return ClientPage(
        items=[from_row(Client, r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit, key="client_id")
    )


async def disable_client(db: Database, actor: Actor, organisation_id: UUID, client_id: str) -> None:
    """Disables the client and revokes every token it holds, at once."""
    async with write(db, actor) as w:
        await _fetch_client(w.conn, organisation_id, client_id)
        if await w.conn.fetchval(q.disable_client, client_id, organisation_id) is None:
            raise Conflict(f"client {client_id} is already disabled")
        await w.conn.execute(q.revoke_client_tokens, client_id)
        await w.audit("client.disabled", "client", client_id, organisation_id)
