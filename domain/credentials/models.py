"""Records and request bodies of credentials, co-signing, holds and status changes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from msgspec import Meta

from domain.structs import Input, Model, Page

CredentialState = Literal["held", "awaiting_cosignature", "issued", "cosign_refused", "revoked"]
Reason = Annotated[str, Meta(min_length=1, max_length=2000, description="Why, in words the learner may read")]


class CredentialSignature(Model):
    organisation_id: UUID
    role: Literal["issuer", "cosigner"]
    kid: str
    signed_at: datetime
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None


class CredentialLinks(Model):
    vc_jwt: str
    jws_json: str
    json: str
    elm: str
    page: str


class Credential(Model):
    """A credential's record; ``credential`` is the Open Badges 3.0 JSON as signed (null while held)."""

    id: UUID
    kind: Literal["unit", "programme", "qualification"]
    state: CredentialState
    suspended: bool
    valid: bool
    learner_id: UUID
    provider_id: UUID
    awarding_body_id: UUID
    cosigner_id: UUID | None
    programme_id: UUID
    version_number: int
    unit_key: str | None
    attempt_id: UUID | None
    stands_on: list[UUID]
    issued_at: datetime | None
    valid_until: datetime | None
    replaces_credential_id: UUID | None
    replaced_by: UUID | None
    renews_credential_id: UUID | None
    revoked_at: datetime | None
    revocation_reason: str | None
    suspended_at: datetime | None
    suspension_reason: str | None
    cosign_refused_at: datetime | None
    cosign_refusal_reason: str | None
    signatures: list[CredentialSignature]
    version: int
    created_at: datetime
    updated_at: datetime
    links: CredentialLinks
    credential: dict[str, Any] | None


class CredentialPage(Page):
    items: list[Credential]


class ReasonInput(Input):
    reason: Reason


class OptionalReason(Input):
    reason: Reason | None = None


class BatchCosign(Input):
    credential_ids: Annotated[list[UUID], Meta(min_length=1, max_length=500)]


class BatchItem(Model):
    credential_id: UUID
    outcome: Literal["cosigned", "already_cosigned", "refused"]
    problem: str | None = None


class BatchResult(Model):
    items: list[BatchItem]


class IssuingHold(Model):
    provider_id: UUID
    programme_id: UUID
    reason: str | None
    created_at: datetime


class IssuingHoldList(Model):
    items: list[IssuingHold]


class ReleaseResult(Model):
    programme_id: UUID
    released: int
    remaining: int  # still held: released by the worker in the background
