"""One-time links mailed to a person: a random token in the URL, only its SHA-256 kept, usable once until it
expires. The token has 256 bits, so a plain hash suffices (nothing to guess offline)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal
from uuid import UUID

from domain.db import Connection

Purpose = Literal["verify_email", "reset_password"]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


async def create_link(conn: Connection, person_id: UUID, purpose: Purpose, email: str, ttl: int) -> str:
    """A new link's token; earlier unused links of the same purpose stop working."""
    await conn.execute(
        "UPDATE person_links SET used_at = now() WHERE person_id = $1 AND purpose = $2 AND used_at IS NULL",
        person_id,
        purpose,
    )
    token, hashed = new_token()
    await conn.execute(
        "INSERT INTO person_links (token_hash, person_id, purpose, email, expires_at) "
        "VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        hashed,
        person_id,
        purpose,
        email,
        ttl,
    )
    return token


async def peek_link(conn: Connection, token: str, purpose: Purpose) -> UUID | None:
    """The person a live link is for, without using it (to show its page)."""
    person_id: UUID | None = await conn.fetchval(
        "SELECT person_id FROM person_links WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL "
        "AND expires_at > now()",
        token_hash(token),
        purpose,
    )
    return person_id


async def take_link(conn: Connection, token: str, purpose: Purpose) -> tuple[UUID, str] | None:
    """Uses a live link: its person and the address it was sent to, or None (unknown, used or expired)."""
    row = await conn.fetchrow(
        "UPDATE person_links SET used_at = now() WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL "
        "AND expires_at > now() RETURNING person_id, email",
        token_hash(token),
        purpose,
    )
    return (row["person_id"], row["email"]) if row else None
