"""An organisation's webhook endpoints and their deliveries, managed by its admins."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import secured
from api.http import (
    Cursor,
    IdempotencyKeyHeader,
    IfMatch,
    Limit,
    actor,
    etag,
    expected_version,
    idempotency_key,
)
from api.routing import delete, get, patch, post
from api.worker import enqueue_webhook_delivery, enqueue_webhook_sweep, webhook_options
from domain.oauth.principals import Principal
from domain.webhooks import service
from domain.webhooks.models import (
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

log = logging.getLogger(__name__)

StatusFilter = Annotated[
    DeliveryStatus | None, QueryParameter(description="Only deliveries in this status: pending, succeeded or failed")
]


def _admin(*errors: int) -> dict[str, Any]:
    """Every webhook operation: an admin of the organisation (or its own client) with webhooks:manage."""
    return secured("webhooks:manage", roles=["admin"], member_of_path_org=True, errors=[404, *errors])


def _with_etag(
    endpoint: WebhookEndpoint, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(endpoint, status_code=status_code, headers={"ETag": etag(endpoint.version), **(headers or {})})


async def _dispatch(request: Request[Any, Any, Any], delivery: WebhookDelivery | None = None) -> None:
    """Hands a queued delivery (or, without one, every due delivery) to the worker now; the worker's
    sweep does so within seconds if Redis cannot be reached."""
    try:
        if delivery is not None:
            await enqueue_webhook_delivery(request.app.state.redis, delivery.id, delivery.attempts)
        else:
            await enqueue_webhook_sweep(request.app.state.redis)
    except Exception:
        log.warning("could not dispatch webhook deliveries now; the worker's sweep will", exc_info=True)


class WebhookController(Controller):
    path = "/organisations/{org_id:uuid}/webhook-endpoints"
    tags = ["Webhooks"]

    @post(
        "/",
        operation_id="createWebhookEndpoint",
        summary="Subscribe a URL to event types; the signing secret is shown once (its admins)",
        status_code=201,
        **_admin(422),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[WebhookEndpointCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[WebhookEndpointWithSecret]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        created = await service.create_endpoint(
            request.app.state.db,
            actor(principal),
            org_id,
            data,
            webhook_options(request.app.state.settings),
            idempotency=key,
        )
        return _with_etag(
            created,
            201,
            {"Cache-Control": "no-store", "Location": f"/organisations/{org_id}/webhook-endpoints/{created.id}"},
        )

    @get(
        "/",
        operation_id="listWebhookEndpoints",
        summary="List the organisation's webhook endpoints (its admins)",
        **_admin(422),
    )
    async def list(
        self, request: Request[Any, Any, Any], org_id: FromPath[UUID], cursor: Cursor = None, limit: Limit = 20
    ) -> WebhookEndpointPage:
        return await service.list_endpoints(request.app.state.db, org_id, cursor=cursor, limit=limit)

    @get(
        "/{endpoint_id:uuid}",
        operation_id="getWebhookEndpoint",
        summary="Read a webhook endpoint (its admins)",
        **_admin(),
    )
    async def read(
        self, request: Request[Any, Any, Any], org_id: FromPath[UUID], endpoint_id: FromPath[UUID]
    ) -> Response[WebhookEndpoint]:
        return _with_etag(await service.get_endpoint(request.app.state.db, org_id, endpoint_id))

    @patch(
        "/{endpoint_id:uuid}",
        operation_id="updateWebhookEndpoint",
        summary="Change a webhook endpoint, or re-enable a failing one (its admins; needs If-Match)",
        **_admin(412, 422, 428),
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        endpoint_id: FromPath[UUID],
        data: JSONBody[WebhookEndpointUpdate],
        if_match: IfMatch = None,
    ) -> Response[WebhookEndpoint]:
        endpoint, enabled = await service.update_endpoint(
            request.app.state.db,
            actor(principal),
            org_id,
            endpoint_id,
            expected_version(if_match),
            data,
            webhook_options(request.app.state.settings),
        )
        if enabled:
            await _dispatch(request)
        return _with_etag(endpoint)

    @delete(
        "/{endpoint_id:uuid}",
        operation_id="deleteWebhookEndpoint",
        summary="Delete a webhook endpoint with its deliveries (its admins; needs If-Match)",
        **_admin(412, 428),
    )
    async def remove(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        endpoint_id: FromPath[UUID],
        if_match: IfMatch = None,
    ) -> None:
        await service.delete_endpoint(
            request.app.state.db, actor(principal), org_id, endpoint_id, expected_version(if_match)
        )

    @post(
        "/{endpoint_id:uuid}/secret-rotation",
        operation_id="rotateWebhookSecret",
        summary="Replace the signing secret, shown once; the old one also signs during the overlap (its admins)",
        status_code=200,
        **_admin(422),
    )
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        endpoint_id: FromPath[UUID],
        data: JSONBody[SecretRotation],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[WebhookEndpointWithSecret]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        rotated = await service.rotate_secret(
            request.app.state.db,
            actor(principal),
            org_id,
            endpoint_id,
            data,
            webhook_options(request.app.state.settings),
            idempotency=key,
        )
        return _with_etag(rotated, headers={"Cache-Control": "no-store"})

    @post(
        "/{endpoint_id:uuid}/pings",
        operation_id="pingWebhookEndpoint",
        summary="Send a signed webhook.ping message to the endpoint now (its admins)",
        status_code=202,
        **_admin(409),
    )
    async def ping(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        endpoint_id: FromPath[UUID],
    ) -> WebhookDelivery:
        queued = await service.ping_endpoint(request.app.state.db, actor(principal), org_id, endpoint_id)
        await _dispatch(request, queued)
        return queued

    @get(
        "/{endpoint_id:uuid}/deliveries",
        operation_id="listWebhookDeliveries",
        summary="List the endpoint's deliveries, newest first, with their last answer (its admins)",
        **_admin(422),
    )
    async def deliveries(
        self,
        request: Request[Any, Any, Any],
        org_id: FromPath[UUID],
        endpoint_id: FromPath[UUID],
        status: StatusFilter = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> WebhookDeliveryPage:
        return await service.list_deliveries(
            request.app.state.db, org_id, endpoint_id, status=status, cursor=cursor, limit=limit
        )

    @get(
        "/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}",
        operation_id="getWebhookDelivery",
        summary="Read a delivery (its admins)",
        **_admin(),
    )
    async def delivery(
        self,
        request: Request[Any, Any, Any],
        org_id: FromPath[UUID],
        endpoint_id: FromPath[UUID],
        delivery_id: FromPath[UUID],
    ) -> WebhookDelivery:
        return await service.get_delivery(request.app.state.db, org_id, endpoint_id, delivery_id)

    @get(
        "/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}/attempts",
        operation_id="listWebhookDeliveryAttempts",
        summary="List every attempt of a delivery with the receiver's answer (its admins)",
        **_admin(),
    )
    async def attempts(
        self,
        request: Request[Any, Any, Any],
        org_id: FromPath[UUID],
        endpoint_id: FromPath[UUID],
        delivery_id: FromPath[UUID],
    ) -> DeliveryAttemptList:
        return await service.list_attempts(request.app.state.db, org_id, endpoint_id, delivery_id)

    @post(
        "/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}/replay",
        operation_id="replayWebhookDelivery",
        summary="Send a finished delivery again, with the same webhook-id and body (its admins)",
        status_code=202,
        **_admin(409),
    )
    async def replay(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        endpoint_id: FromPath[UUID],
        delivery_id: FromPath[UUID],
    ) -> WebhookDelivery:
        queued = await service.replay_delivery(request.app.state.db, actor(principal), org_id, endpoint_id, delivery_id)
        await _dispatch(request, queued)
        return queued
