"""Webhook endpoints, their deliveries and attempts, and the bodies that create and change them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from domain.structs import Input, Model, Page

EventType = Literal[
    "programme.proposed",
    "programme.approved",
    "programme.published",
    "qualification.proposed",
    "qualification.approved",
    "qualification.published",
    "qualification.awarded",
    "attempt.recorded",
    "attempt.passed",
    "credential.issued",
    "credential.awaiting_cosignature",
    "credential.cosigned",
    "credential.revoked",
    "credential.suspended",
    "credential.reinstated",
    "recognition.requested",
    "recognition.granted",
    "recognition.refused",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
PING = "webhook.ping"  # the type of a test message; not subscribable, sent on request only

EndpointStatus = Literal["enabled", "disabled", "failing"]
DeliveryStatus = Literal["pending", "succeeded", "failed"]
# Checked further when saved (scheme, host, where it resolves to): see domain.webhooks.urls.
WebhookUrl = Annotated[str, Meta(pattern=r"^https?://[^\s#]+$", max_length=2000)]
Description = Annotated[str, Meta(max_length=500)]
EventTypes = Annotated[list[EventType], Meta(min_length=1, max_length=len(EVENT_TYPES))]

DEFAULT_OVERLAP_SECONDS = 24 * 3600
MAX_OVERLAP_SECONDS = 7 * 24 * 3600


class WebhookEndpoint(Model):
    id: UUID
    organisation_id: UUID
    url: str
    description: str | None
    event_types: list[str]
    status: EndpointStatus
    failing_since: datetime | None
    # Until then deliveries carry a second signature, made with the secret replaced by the last rotation.
    previous_secret_expires_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpoint):
    """Returned at creation and rotation only: the secret is stored encrypted and never shown again
    (a retry with the same Idempotency-Key gets null)."""

    secret: str | None


class WebhookEndpointPage(Page):
    items: list[WebhookEndpoint]


class WebhookEndpointCreate(Input):
    """Plain http is accepted only for loopback receivers outside production; the host must resolve to
    public addresses unless the operator allows its network."""

    url: WebhookUrl
    event_types: EventTypes
    description: Description | None = None


class WebhookEndpointUpdate(Input):
    """Fields to change. ``status: enabled`` re-enables a failing endpoint: the deliveries that gave up
    are tried again first, then those that queued up meanwhile."""

    url: WebhookUrl | UnsetType = UNSET
    event_types: EventTypes | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    status: Literal["enabled", "disabled"] | UnsetType = UNSET


class SecretRotation(Input):
    """``overlapSeconds``: how long the replaced secret keeps signing beside the new one (0 ends it now)."""

    overlap_seconds: Annotated[int, Meta(ge=0, le=MAX_OVERLAP_SECONDS)] = DEFAULT_OVERLAP_SECONDS


class WebhookDelivery(Model):
    id: UUID
    webhook_id: str  # the webhook-id header: the same on every attempt
    endpoint_id: UUID
    event_type: str
    event_id: int | None  # null for a test ping
    subject: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None  # while pending
    last_attempt_at: datetime | None
    last_response_status: int | None
    last_response_excerpt: str | None  # at most the first kilobyte of the receiver's answer
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None


class WebhookDeliveryPage(Page):
    items: list[WebhookDelivery]


class DeliveryAttempt(Model):
    number: int
    attempted_at: datetime
    duration_ms: int
    succeeded: bool
    response_status: int | None
    response_excerpt: str | None
    error: str | None


class DeliveryAttemptList(Model):
    items: list[DeliveryAttempt]
