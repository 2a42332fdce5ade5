"""Runs the outbox's handlers in the test, as the worker would, until nothing is left to do."""

from __future__ import annotations

from api.settings import Settings
from domain import outbox
from domain.credentials import handlers  # noqa: F401  (registers the credential handlers)
from domain.db import Database


async def drain(db: Database, settings: Settings, rounds: int = 10) -> int:
    """Processes every pending event, oldest first, then what those emitted; returns how many ran."""
    context = outbox.HandlerContext(master_key=settings.master_key, public_url=settings.issuer)
    done = 0
    for _ in range(rounds):
        async with db.connection() as conn:
            ids = [r["id"] for r in await conn.fetch("SELECT id FROM outbox WHERE done_at IS NULL ORDER BY id")]
        if not ids:
            return done
        for event_id in ids:
            done += await outbox.process_event(db, event_id, context)
    raise AssertionError(f"the outbox still has events after {rounds} rounds")
