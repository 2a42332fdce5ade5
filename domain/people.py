"""People who log in: passwords hashed with argon2id (slow and salted on purpose)."""

from __future__ import annotations

import logging
import unicodedata
from uuid import UUID

import anyio
import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.db import Connection, Database
from domain.errors import InvalidInput, NotFound
from domain.writes import Actor, write

log = logging.getLogger(__name__)
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")
MIN_PASSWORD_LENGTH = 12


def canonical_email(email: str) -> str:
    """The one form in which e-mail addresses are stored for comparison and compared, everywhere: NFKC, full
    case folding, NFKC again (Unicode's NFKC_Casefold, near enough), without surrounding white space.

    Full-width letters and capitals spell the same address; U+0130 (İ) stays distinct from i (it folds to
    i + U+0307), whatever the database's collation would say.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email.strip()).casefold())


async def recanonicalise_emails(conn: Connection) -> int:
    """Re-derives the canonical form of non-ASCII addresses, which SQL alone cannot (the migration that
    added the column computed them approximately); returns how many changed. Cheap when there are none."""
    changed = 0
    for table in ("persons", "learners"):
        rows = await conn.fetch(
            f"SELECT id, email, email_canonical FROM {table} WHERE email !~ '^[ -~]*$'"  # noqa: S608 (not ASCII)
        )
        for row in rows:
            canonical = canonical_email(row["email"])
            if canonical == row["email_canonical"]:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(f"UPDATE {table} SET email_canonical = $2 WHERE id = $1", row["id"], canonical)  # noqa: S608
                changed += 1
            except asyncpg.UniqueViolationError:
                log.warning("%s %s: its e-mail address is another's in canonical form; left as is", table, row["id"])
    return changed


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
            # The operator sets the password and so vouches for the address: it counts as verified.
            "UPDATE persons SET password_hash = $2, email_verified_at = coalesce(email_verified_at, now()) "
            "WHERE email_canonical = $1 RETURNING id",
            canonical_email(email),
            password_hash,
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
    row = await conn.fetchrow(
        "SELECT id, password_hash FROM persons WHERE email_canonical = $1", canonical_email(email)
    )
    stored = row["password_hash"] if row and row["password_hash"] else _DUMMY_HASH
    ok = await anyio.to_thread.run_sync(_verify, stored, password)
    return UUID(str(row["id"])) if ok and row is not None and row["password_hash"] else None
