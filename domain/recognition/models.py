"""Recognition rules, requests and decisions as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta

from domain.structs import Input, Model, Page

RuleKind = Literal["achievement", "criteria", "case_by_case"]
RequestStatus = Literal["pending", "granted", "refused"]
EscoSkill = Annotated[str, Meta(pattern=r"^http://data\.europa\.eu/esco/skill/[0-9a-f-]{36}$", max_length=100)]
Uri = Annotated[str, Meta(min_length=1, max_length=2000)]
UnitKey = Annotated[str, Meta(min_length=1, max_length=100)]
Reason = Annotated[str, Meta(min_length=1, max_length=2000)]


class RecognitionRuleCreate(Input):
    """What the awarding body recognises for one unit of a programme it awards.

    ``achievement``: a credential of one of ``achievementIds``. ``criteria``: the credentials named together
    are from one of ``issuers`` (any issuer when empty), attest every skill of ``escoSkills``, each at EQF
    level ``minEqfLevel`` or above, and ``minHours`` together. ``case_by_case``: an assessor decides."""

    programme_id: UUID
    unit_key: UnitKey
    kind: RuleKind
    achievement_ids: Annotated[list[Uri], Meta(max_length=100)] = []
    issuers: Annotated[list[Uri], Meta(max_length=100)] = []
    esco_skills: Annotated[list[EscoSkill], Meta(max_length=200)] = []
    min_eqf_level: Annotated[int, Meta(ge=1, le=8)] | None = None
    min_hours: Annotated[float, Meta(ge=0, le=100_000)] | None = None
    note: Annotated[str, Meta(max_length=2000)] | None = None


class RecognitionRule(Model):
    id: UUID
    organisation_id: UUID
    programme_id: UUID
    unit_key: str
    kind: RuleKind
    achievement_ids: list[str]
    issuers: list[str]
    esco_skills: list[str]
    min_eqf_level: int | None
    min_hours: float | None
    note: str | None
    version: int
    created_at: datetime


class RecognitionRulePage(Page):
    items: list[RecognitionRule]


class PortfolioCredentialRef(Input):
    """A credential of your portfolio: ``source`` and ``id`` as ``GET /me/portfolio`` lists them."""

    source: Literal["guildhall", "added"]
    id: UUID


class RecognitionRequestCreate(Input):
    programme_id: UUID
    unit_key: UnitKey
    credentials: Annotated[list[PortfolioCredentialRef], Meta(min_length=1, max_length=20)]


class ProviderRecognitionRequestCreate(RecognitionRequestCreate):
    """A provider asks for one of its learners, who consented (``PUT /me/recognition-consents/{org}``)."""

    learner_id: UUID


class RecognisedCredential(Model):
    """A credential a request names, as it was when the request was made or decided."""

    source: Literal["guildhall", "added"]
    id: UUID
    credential_uri: str | None
    issuer: str
    achievement_id: str | None
    achievement_name: str | None
    digest: str  # SHA-256 (hex) of the credential as signed
    valid: bool
    problems: list[str]


class RecognitionRequest(Model):
    id: UUID
    person_id: UUID
    awarding_body_id: UUID
    programme_id: UUID
    unit_key: str
    credentials: list[RecognisedCredential]
    status: RequestStatus
    rule_id: UUID | None  # the rule that granted it at once
    reasons: list[str]
    submitted_by_organisation: UUID | None
    decided_at: datetime | None
    attempt_id: UUID | None  # the prior_learning attempt a grant recorded
    version: int
    created_at: datetime


class RecognitionRequestPage(Page):
    items: list[RecognitionRequest]


class RecognitionDecision(Input):
    decision: Literal["grant", "refuse"]
    reasons: Annotated[list[Reason], Meta(min_length=1, max_length=20)]
