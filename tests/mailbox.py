"""The mail Guildhall queued (``mail_messages``) as a person's mailbox would show it, and following its links
the way the person does: through the API, never by writing to the database."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.db import Database
from domain.people import canonical_email

_LINK = re.compile(r"https?://\S+")


async def queued(db: Database, to: str, template: str | None = None) -> list[Any]:
    async with db.connection() as conn:
        return list(
            await conn.fetch(
                "SELECT * FROM mail_messages WHERE lower(to_address) = lower($1) AND ($2::text IS NULL OR template = $2) "
                "ORDER BY created_at, id",
                to,
                template,
            )
        )


def link_in(text: str, path: str) -> str:
    found = [link for link in _LINK.findall(text) if path in link]
    assert found, f"no link to {path} in: {text}"
    return found[-1]


async def confirm_address(http: AsyncTestClient[Litestar], db: Database, email: str) -> None:
    """Follows the newest verification link mailed to ``email``, unless the address is verified already."""
    async with db.connection() as conn:
        verified = await conn.fetchval(
            "SELECT email_verified_at IS NOT NULL FROM persons WHERE email_canonical = $1", canonical_email(email)
        )
    if verified:
        return
    messages = await queued(db, email, "verify_email")
    assert messages, f"no verification mail was queued for {email}"
    token = link_in(messages[-1]["text_body"], "/account/verify-email/").rsplit("/", 1)[1]
    confirmed = await http.post(f"/email-verifications/{token}")
    assert confirmed.status_code == 204, confirmed.text
