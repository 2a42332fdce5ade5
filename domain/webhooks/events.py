"""From the outbox to webhook deliveries: who may see an event, and one delivery per subscribed endpoint.

Each handler runs in the outbox event's own transaction, so the deliveries commit with the "done" mark
of the event: none is lost when Redis or a receiver is down, and none is written twice.

The audience of an event is the organisations allowed to see it. An event that names its ``audience``
(credentials, awarded qualifications) is sent to exactly those; a design event (``programme.*``,
``qualification.*``) to the design's co-authors; an attempt to its provider and the co-authors of the
programme. Any other event reaches nobody: a new topic must first say who may see it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from domain import outbox
from domain.db import Connection
from domain.sql import load_queries
from domain.webhooks.models import EVENT_TYPES

q = load_queries(__file__, "queries.sql")
log = logging.getLogger(__name__)


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def audience(event: outbox.OutboxEvent) -> tuple[list[UUID], UUID | None]:
    """The organisations named, and the design whose co-authors are added to them."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    named = payload.get("audience")
    if isinstance(named, list):
        return [u for u in map(_uuid, named) if u is not None], None
    family = event.topic.partition(".")[0]
    if family in ("programme", "qualification"):
        return [], _uuid(payload.get("id"))
    if family == "attempt":
        provider = [event.organisation_id] if event.organisation_id is not None else []
        return provider, _uuid(payload.get("programmeId"))
    return [], None


def isoformat(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def message_body(event_type: str, moment: datetime, data: Any) -> str:
    """The JSON every receiver gets: ``{"type", "timestamp", "data"}``."""
    return msgspec.json.encode({"type": event_type, "timestamp": isoformat(moment), "data": data}).decode()


async def queue_deliveries(conn: Connection, event: outbox.OutboxEvent) -> None:
    organisations, design_id = audience(event)
    if not organisations and design_id is None:
        log.warning("outbox event %s (%s) names no audience: no webhook is sent", event.id, event.topic)
        return
    payload = event.payload if isinstance(event.payload, dict) else {"value": event.payload}
    data = {key: value for key, value in payload.items() if key != "audience"}
    body = message_body(event.topic, event.created_at, data)
    await conn.execute(q.insert_event_deliveries, event.id, event.topic, event.subject, body, organisations, design_id)


for _topic in EVENT_TYPES:
    outbox.register(_topic)(queue_deliveries)
