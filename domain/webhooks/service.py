"""An organisation's webhook endpoints: subscribing, changing, rotating secrets, and its deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec

from domain import keys
from domain.db import Connection, Database
from domain.errors import Conflict, NotFound, PreconditionFailed
from domain.organisations.service import fetch_organisation
from domain.pagination import decode_cursor, next_cursor
from domain.sql import load_queries
from domain.structs import from_row
from domain.webhooks.delivery import DeliveryOptions, secret_aad
from domain.webhooks.events import message_body
from domain.webhooks.models import (
    PING,
    DeliveryAttempt,
    DeliveryAttemptList,
    DeliveryStatus,
    SecretRotation,
    WebhookDelivery,
    WebhookDeliveryPage,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointPage,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)
from domain.webhooks.signatures import new_secret
from domain.webhooks.urls import check_url
from domain.writes import Actor, IdempotencyKey, write

q = load_queries(__file__, "queries.sql")


def _with_secret(endpoint: WebhookEndpoint, secret: str | None) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret(
        **{f: getattr(endpoint, f) for f in WebhookEndpoint.__struct_fields__}, secret=secret
    )


async def _fetch_endpoint(conn: Connection, organisation_id: UUID, endpoint_id: UUID) -> WebhookEndpoint:
    rows = await conn.fetch(q.select_endpoints, organisation_id, None, None, endpoint_id, 1)
    if not rows:
        raise NotFound(f"organisation {organisation_id} has no webhook endpoint {endpoint_id}")
    return from_row(WebhookEndpoint, rows[0])


def _stale(endpoint_id: UUID, version: int | None, expected: int) -> PreconditionFailed:
    return PreconditionFailed(
        f"webhook endpoint {endpoint_id} is at version {version}, not {expected}; read it again",
        currentVersion=version,
    )


async def create_endpoint(
    db: Database,
    actor: Actor,
    organisation_id: UUID,
    data: WebhookEndpointCreate,
    options: DeliveryOptions,
    *,
    idempotency: IdempotencyKey | None = None,
) -> WebhookEndpointWithSecret:
    await check_url(data.url, options.url_policy)
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(WebhookEndpointWithSecret)  # the secret was shown once
        await fetch_organisation(w.conn, organisation_id)
        endpoint_id = uuid4()
        secret = new_secret()
        event_types = sorted(set(data.event_types))
        await w.conn.execute(
            q.insert_endpoint,
            endpoint_id,
            organisation_id,
            data.url,
            data.description,
            event_types,
            keys.encrypt(options.master_key, secret.encode(), secret_aad(endpoint_id)),
        )
        await w.audit(
            "webhook_endpoint.created",
            "webhook_endpoint",
            endpoint_id,
            organisation_id,
            {"url": data.url, "eventTypes": event_types},
        )
        endpoint = await _fetch_endpoint(w.conn, organisation_id, endpoint_id)
        await w.remember(_with_secret(endpoint, None))
    return _with_secret(endpoint, secret)


async def get_endpoint(db: Database, organisation_id: UUID, endpoint_id: UUID) -> WebhookEndpoint:
    async with db.connection() as conn:
        return await _fetch_endpoint(conn, organisation_id, endpoint_id)


async def list_endpoints(db: Database, organisation_id: UUID, *, cursor: str | None, limit: int) -> WebhookEndpointPage:
    after = decode_cursor(cursor)
    async with db.connection() as conn:
        rows = await conn.fetch(
            q.select_endpoints,
            organisation_id,
            after[0] if after else None,
            after[1] if after else None,
            None,
            limit + 1,
        )
    return WebhookEndpointPage(
        items=[from_row(WebhookEndpoint, r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit)
    )


async def update_endpoint(
    db: Database,
    actor: Actor,
    organisation_id: UUID,
    endpoint_id: UUID,
    expected_version: int,
    data: WebhookEndpointUpdate,
    options: DeliveryOptions,
) -> tuple[WebhookEndpoint, bool]:
    """The endpoint as changed, and whether it was re-enabled (its deliveries are due again)."""
    if not isinstance(data.url, msgspec.UnsetType):
        await check_url(data.url, options.url_policy)
    async with write(db, actor) as w:
        current = await _fetch_endpoint(w.conn, organisation_id, endpoint_id)
        if current.version != expected_version:
            raise _stale(endpoint_id, current.version, expected_version)
        changes: dict[str, Any] = {
            f: getattr(data, f) for f in data.__struct_fields__ if not isinstance(getattr(data, f), msgspec.UnsetType)
        }
        url = changes.get("url", current.url)
        description = changes.get("description", current.description)
        event_types = sorted(set(changes.get("event_types", current.event_types)))
        status = changes.get("status", current.status)
        if status == "enabled" and current.status == "failing":
            await w.conn.execute(q.requeue_given_up, endpoint_id, current.failing_since)
        updated = await w.conn.fetchval(
            q.update_endpoint, organisation_id, endpoint_id, expected_version, url, description, event_types, status
        )
        if updated is None:
            version = await w.conn.fetchval(q.endpoint_version, organisation_id, endpoint_id)
            raise _stale(endpoint_id, version, expected_version)
        await w.audit(
            "webhook_endpoint.updated",
            "webhook_endpoint",
            endpoint_id,
            organisation_id,
            {"changed": sorted(msgspec.to_builtins(data))},
        )
        endpoint = await _fetch_endpoint(w.conn, organisation_id, endpoint_id)
    return endpoint, status == "enabled" and current.status != "enabled"


async def delete_endpoint(
    db: Database, actor: Actor, organisation_id: UUID, endpoint_id: UUID, expected_version: int
) -> None:
    """Deletes the endpoint with its deliveries and their attempts; nothing more is sent to it."""
    async with write(db, actor) as w:
        current = await _fetch_endpoint(w.conn, organisation_id, endpoint_id)
        if current.version != expected_version:
            raise _stale(endpoint_id, current.version, expected_version)
        if await w.conn.fetchval(q.delete_endpoint, organisation_id, endpoint_id, expected_version) is None:
            version = await w.conn.fetchval(q.endpoint_version, organisation_id, endpoint_id)
            raise _stale(endpoint_id, version, expected_version)
        await w.audit(
            "webhook_endpoint.deleted", "webhook_endpoint", endpoint_id, organisation_id, {"url": current.url}
        )


async def rotate_secret(
    db: Database,
    actor: Actor,
    organisation_id: UUID,
    endpoint_id: UUID,
    data: SecretRotation,
    options: DeliveryOptions,
    *,
    idempotency: IdempotencyKey | None = None,
) -> WebhookEndpointWithSecret:
    """A new secret, shown once; the replaced one keeps signing beside it for the overlap."""
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(WebhookEndpointWithSecret)
        await _fetch_endpoint(w.conn, organisation_id, endpoint_id)
        secret = new_secret()
        await w.conn.fetchval(
            q.rotate_secret,
            organisation_id,
            endpoint_id,
            keys.encrypt(options.master_key, secret.encode(), secret_aad(endpoint_id)),
            timedelta(seconds=data.overlap_seconds),
        )
        await w.audit(
            "webhook_endpoint.secret_rotated",
            "webhook_endpoint",
            endpoint_id,
            organisation_id,
            {"overlapSeconds": data.overlap_seconds},
        )
        endpoint = await _fetch_endpoint(w.conn, organisation_id, endpoint_id)
        await w.remember(_with_secret(endpoint, None))
    return _with_secret(endpoint, secret)


async def _fetch_delivery(
    conn: Connection, organisation_id: UUID, endpoint_id: UUID, delivery_id: UUID
) -> WebhookDelivery:
    rows = await conn.fetch(q.select_deliveries, organisation_id, endpoint_id, None, None, delivery_id, None, 1)
    if not rows:
        raise NotFound(
            f"webhook endpoint {endpoint_id} of organisation {organisation_id} has no delivery {delivery_id}"
        )
    return from_row(WebhookDelivery, rows[0])


async def list_deliveries(
    db: Database,
    organisation_id: UUID,
    endpoint_id: UUID,
    *,
    status: DeliveryStatus | None,
    cursor: str | None,
    limit: int,
) -> WebhookDeliveryPage:
    """Newest first."""
    after = decode_cursor(cursor)
    async with db.connection() as conn:
        await _fetch_endpoint(conn, organisation_id, endpoint_id)
        rows = await conn.fetch(
            q.select_deliveries,
            organisation_id,
            endpoint_id,
            after[0] if after else None,
            after[1] if after else None,
            None,
            status,
            limit + 1,
        )
    return WebhookDeliveryPage(
        items=[from_row(WebhookDelivery, r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit)
    )


async def get_delivery(db: Database, organisation_id: UUID, endpoint_id: UUID, delivery_id: UUID) -> WebhookDelivery:
    async with db.connection() as conn:
        return await _fetch_delivery(conn, organisation_id, endpoint_id, delivery_id)


async def list_attempts(
    db: Database, organisation_id: UUID, endpoint_id: UUID, delivery_id: UUID
) -> DeliveryAttemptList:
    async with db.connection() as conn:
        await _fetch_delivery(conn, organisation_id, endpoint_id, delivery_id)
        rows = await conn.fetch(q.select_attempts, delivery_id)
    return DeliveryAttemptList(items=[from_row(DeliveryAttempt, r) for r in rows])


def _require_enabled(endpoint: WebhookEndpoint) -> None:
    if endpoint.status != "enabled":
        raise Conflict(
            f"webhook endpoint {endpoint.id} is {endpoint.status}: nothing is sent to it until it is enabled "
            "(PATCH it with status 'enabled')"
        )


async def replay_delivery(
    db: Database, actor: Actor, organisation_id: UUID, endpoint_id: UUID, delivery_id: UUID
) -> WebhookDelivery:
    """Sends a finished delivery again: the same webhook-id and body, a fresh round of retries."""
    async with write(db, actor) as w:
        _require_enabled(await _fetch_endpoint(w.conn, organisation_id, endpoint_id))
        await _fetch_delivery(w.conn, organisation_id, endpoint_id, delivery_id)
        if await w.conn.fetchval(q.replay_delivery, delivery_id) is None:
            raise Conflict(f"delivery {delivery_id} is still pending: it will be attempted without a replay")
        await w.audit(
            "webhook_delivery.replayed",
            "webhook_delivery",
            delivery_id,
            organisation_id,
            {"endpointId": str(endpoint_id)},
        )
        return await _fetch_delivery(w.conn, organisation_id, endpoint_id, delivery_id)


async def ping_endpoint(db: Database, actor: Actor, organisation_id: UUID, endpoint_id: UUID) -> WebhookDelivery:
    """Queues a ``webhook.ping`` message to the endpoint, signed like every other."""
    async with write(db, actor) as w:
        _require_enabled(await _fetch_endpoint(w.conn, organisation_id, endpoint_id))
        body = message_body(
            PING, datetime.now(UTC), {"endpointId": str(endpoint_id), "organisationId": str(organisation_id)}
        )
        delivery_id = await w.conn.fetchval(q.insert_ping, endpoint_id, PING, body)
        return await _fetch_delivery(w.conn, organisation_id, endpoint_id, delivery_id)
