"""Records and request bodies of attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from assessment import Decision
from assessment.specification import Supervision
from domain.structs import Input, Model, Page

Source = Literal["api", "bulk", "xapi", "prior_learning"]
Sha256 = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$", description="Lower-case hex SHA-256 of the content")]


class EvidenceItem(Input):
    """A piece of evidence: a URL, or a reference to a file uploaded elsewhere, with its digest."""

    media_type: Annotated[str, Meta(pattern=r"^[\w.+-]+/[\w.+-]+$", max_length=200)]
    sha256: Sha256
    url: Annotated[str, Meta(pattern=r"^https?://\S+$", max_length=2000)] | None = None
    file_ref: Annotated[str, Meta(min_length=1, max_length=500)] | None = None
    description: Annotated[str, Meta(max_length=2000)] | None = None


class AttemptCreate(Input):
    learner_id: UUID
    enrolment_id: UUID
    assessed_at: datetime
    supervision: Supervision
    submission: dict[str, Any]  # the engine's submission for the unit's mode, e.g. {"mode": "simulation", ...}
    unit_key: str | None = None  # needed when the enrolment is in the whole programme
    assessor_person_id: UUID | None = None  # default: the person recording it
    place: Annotated[str, Meta(max_length=500)] | None = None
    evidence: list[EvidenceItem] = msgspec.field(default_factory=list)


class CorrectionCreate(Input):
    """Replaces an attempt's submission; the original stays, and the decision follows the correction."""

    reason: Annotated[str, Meta(min_length=1, max_length=5000)]
    submission: dict[str, Any]
    assessed_at: datetime | None = None
    supervision: Supervision | None = None
    evidence: list[EvidenceItem] | None = None


class Attempt(Model):
    id: UUID
    provider_id: UUID
    learner_id: UUID
    enrolment_id: UUID
    programme_id: UUID
    version_number: int
    unit_key: str
    attempt_number: int
    assessor_person_id: UUID | None
    assessed_at: datetime
    place: str | None
    supervision: str | None
    submission: dict[str, Any]
    evidence: list[dict[str, Any]]
    decision: Decision
    passed: bool
    corrects_attempt_id: UUID | None
    correction_reason: str | None
    corrected_by: UUID | None  # the correction that replaced this attempt, if any
    source: Source
    created_at: datetime


class AttemptPage(Page):
    items: list[Attempt]
