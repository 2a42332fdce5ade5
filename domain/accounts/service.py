"""E-mail verification, password reset and the changes a person makes to their own login.

A link mailed to an address proves the address: following a verification link, an invitation or a password
reset marks it verified. Changing the password or the e-mail address revokes every token of the person's
(access and refresh, so apps sign in again) and tells the old address.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.accounts import links
from domain.db import Connection, Database
from domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from domain.mail.sending import queue_mail
from domain.people import canonical_email, check_login, hash_password
from domain.writes import Actor, Write, write

VERIFY_EMAIL_TTL = 24 * 3600
SAME_ANSWER = "if that address has a Guildhall login, a message with a link to choose a new password is on its way"


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


async def person_row(conn: Connection, person_id: UUID) -> Any:
    row = await conn.fetchrow(
        "SELECT id, email, name, preferred_language, email_verified_at, password_hash IS NOT NULL AS has_password "
        "FROM persons WHERE id = $1 AND erased_at IS NULL",
        person_id,
    )
    if row is None:
        raise NotFound(f"there is no person {person_id}")
    return row


async def revoke_person_tokens(conn: Connection, person_id: UUID) -> int:
    """Every live token of the person's, access and refresh alike: apps must sign in again."""
    revoked = await conn.fetch(
        "UPDATE oauth_tokens SET revoked_at = now() WHERE person_id = $1 AND revoked_at IS NULL RETURNING jti",
        person_id,
    )
    return len(revoked)


async def send_verification(w: Write, person: Any, public_url: str) -> None:
    token = await links.create_link(w.conn, person["id"], "verify_email", person["email"], VERIFY_EMAIL_TTL)
    expires = datetime.now(UTC).timestamp() + VERIFY_EMAIL_TTL
    await queue_mail(
        w,
        to=person["email"],
        template="verify_email",
        language=person["preferred_language"] or "en",
        person_id=person["id"],
        values={
            "name": person["name"],
            "email": person["email"],
            "expires": when(datetime.fromtimestamp(expires, UTC)),
            "link": f"{public_url}/account/verify-email/{token}",
        },
    )


async def request_verification(db: Database, actor: Actor, person_id: UUID, public_url: str) -> bool:
    """Mails a new verification link; False when the address is verified already."""
    async with write(db, actor) as w:
        person = await person_row(w.conn, person_id)
        if person["email_verified_at"] is not None:
            return False
        await send_verification(w, person, public_url)
        await w.audit("person.verification_sent", "person", person_id, None)
    return True


async def mark_verified(conn: Connection, person_id: UUID, email: str) -> bool:
    """Marks the address verified if it is still the person's; True if it was."""
    updated = await conn.fetchval(
        "UPDATE persons SET email_verified_at = coalesce(email_verified_at, now()) "
        "WHERE id = $1 AND email_canonical = $2 RETURNING id",
        person_id,
        canonical_email(email),
    )
    return updated is not None


async def verify_email(db: Database, actor: Actor, token: str) -> UUID:
    async with write(db, actor) as w:
        taken = await links.take_link(w.conn, token, "verify_email")
        if taken is None or not await mark_verified(w.conn, *taken):
            raise NotFound("this link is not valid: it may be used, expired or replaced by a newer one")
        await w.audit("person.email_verified", "person", taken[0], None)
    return taken[0]


async def request_password_reset(db: Database, actor: Actor, email: str, public_url: str, ttl: int) -> None:
    """Mails a reset link if the address has a login; answers the same either way (``SAME_ANSWER``)."""
    async with write(db, actor) as w:
        person_id = await w.conn.fetchval(
            "SELECT id FROM persons WHERE email_canonical = $1 AND erased_at IS NULL", canonical_email(email)
        )
        if person_id is None:
            return
        person = await person_row(w.conn, person_id)
        token = await links.create_link(w.conn, person_id, "reset_password", person["email"], ttl)
        await queue_mail(
            w,
            to=person["email"],
            template="password_reset",
            language=person["preferred_language"] or "en",
            person_id=person_id,
            values={
                "name": person["name"],
                "email": person["email"],
                "expires": when(datetime.fromtimestamp(datetime.now(UTC).timestamp() + ttl, UTC)),
                "link": f"{public_url}/account/password-reset/{token}",
            },
        )
        await w.audit("person.password_reset_requested", "person", person_id, None)


async def _password_changed(w: Write, person: Any) -> None:
    await revoke_person_tokens(w.conn, person["id"])
    await queue_mail(
        w,
        to=person["email"],
        template="password_changed",
        language=person["preferred_language"] or "en",
        person_id=person["id"],
        values={"name": person["name"], "email": person["email"], "when": when(datetime.now(UTC))},
    )
    await w.audit("person.password_changed", "person", person["id"], None)


async def reset_password(db: Database, actor: Actor, token: str, password: str) -> UUID:
    async with db.connection() as conn:  # an unknown link costs no argon2 hash
        if await links.peek_link(conn, token, "reset_password") is None:
            raise NotFound("this link is not valid: it may be used, expired or replaced by a newer one")
    password_hash = await hash_password(password)  # before the link is used: a weak password keeps it
    async with write(db, actor) as w:
        taken = await links.take_link(w.conn, token, "reset_password")
        if taken is None:
            raise NotFound("this link is not valid: it may be used, expired or replaced by a newer one")
        person_id, email = taken
        await w.conn.execute("UPDATE persons SET password_hash = $2 WHERE id = $1", person_id, password_hash)
        await mark_verified(w.conn, person_id, email)  # the link reached the address
        await _password_changed(w, await person_row(w.conn, person_id))
    return person_id


async def change_password(db: Database, actor: Actor, person_id: UUID, current: str, new: str) -> None:
    async with db.connection() as conn:
        person = await person_row(conn, person_id)
        if await check_login(conn, person["email"], current) != person_id:
            raise Unauthenticated("the current password is wrong")
    password_hash = await hash_password(new)
    async with write(db, actor) as w:
        await w.conn.execute("UPDATE persons SET password_hash = $2 WHERE id = $1", person_id, password_hash)
        await _password_changed(w, await person_row(w.conn, person_id))


async def change_email(
    db: Database, actor: Actor, person_id: UUID, password: str, new_email: str, public_url: str
) -> None:
    """Moves the login to ``new_email`` (unverified until its link is followed); the old address is told."""
    async with db.connection() as conn:
        old = await person_row(conn, person_id)
        if await check_login(conn, old["email"], password) != person_id:
            raise Unauthenticated("the password is wrong")
    if canonical_email(new_email) == canonical_email(old["email"]):
        raise InvalidInput("that is the address the login has already")
    async with write(db, actor) as w:
        taken = await w.conn.fetchval(
            "UPDATE persons SET email = $2, email_canonical = $3, email_verified_at = NULL "
            "WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM persons WHERE email_canonical = $3) RETURNING id",
            person_id,
            new_email,
            canonical_email(new_email),
        )
        if taken is None:
            raise Conflict("another login has that address")
        await revoke_person_tokens(w.conn, person_id)
        await queue_mail(
            w,
            to=old["email"],
            template="email_changed",
            language=old["preferred_language"] or "en",
            person_id=person_id,
            values={
                "name": old["name"],
                "email": old["email"],
                "new_email": new_email,
                "when": when(datetime.now(UTC)),
            },
        )
        await send_verification(w, await person_row(w.conn, person_id), public_url)
        await w.audit("person.email_changed", "person", person_id, None, {"from": old["email"], "to": new_email})
