"""Runs the outbox's handlers in the test, as the worker would, until nothing is left to do."""

from __future__ import annotations

from api.settings import Settings
from domain import outbox
from domain.credentials import handlers  # noqa: F401  (registers the credential handlers)
from domain.db import Database
from domain.mail import sending  # noqa: F401  (registers sending mail)


async def drain(db: Database, settings: Settings, rounds: int = 10) -> int:
    """Processes every pending event, oldest first, then what those emitted; returns how many ran."""
    context = outbox.HandlerContext(
        master_key=settings.master_key,
        public_url=settings.issuer,
        smtp_url=settings.smtp_url,
        mail_from=settings.sender,
    )
    return await outbox.drain(db, context, rounds)
