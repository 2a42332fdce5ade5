"""People who log in: passwords hashed with argon2id (slow and salted on purpose)."""

from __future__ import annotations

from uuid import UUID

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.db import Connection, Database
from domain.errors import InvalidInput, NotFound
from domain.writes import Actor, write

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")
MIN_PASSWORD_LENGTH = 12


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


async def hash_password(password: str) -> str:
    """The argon2id hash of a strong enough password, computed off the event loop (it is slow on purpose)."""
    check_password_strength(password)
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def set_password(db: Database, actor: Actor, email: str, password: str) -> UUID:
    password_hash = await hash_password(password)
    async with write(db, actor) as w:
        person_id = await w.conn.fetchval(
            "UPDATE persons SET password_hash = $2 WHERE lower(email) = lower($1) RETURNING id", email, password_hash
        )
        if person_id is None:
            raise NotFound(f"there is no person with e-mail {email}")
        await w.audit("person.password_set", "person", person_id, None)
    return UUID(str(person_id))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def check_login(conn: Connection, email: str, password: str) -> UUID | None:
    """The person's id if the e-mail and password match, else None (in constant-ish time)."""
    row = await conn.fetchrow("SELECT id, password_hash FROM persons WHERE lower(email) = lower($1)", email)
    stored = row["password_hash"] if row and row["password_hash"] else _DUMMY_HASH
    ok = await anyio.to_thread.run_sync(_verify, stored, password)
    return UUID(str(row["id"])) if ok and row is not None and row["password_hash"] else None
