"""The records and request bodies of organisations, members and accreditations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from domain.scopes import Role
from domain.structs import Input, Model, Page

OrganisationKind = Literal[
    "employer", "employer_association", "social_partner", "vet_provider", "chamber", "qa_body", "authority"
]
# Kinds whose accreditation of another organisation carries weight.
ACCREDITING_KINDS = frozenset({"chamber", "qa_body", "authority"})

# "(?!\n)": in Python's re (msgspec's), "$" also matches before a final newline, which PostgreSQL's CHECK refuses.
LanguageCode = Annotated[str, Meta(pattern=r"^[a-z]{2,3}(?!\n)$", description="ISO 639 language code")]
LocalisedText = Annotated[
    dict[LanguageCode, Annotated[str, Meta(min_length=1, max_length=500)]],
    Meta(min_length=1, description='Text by language, e.g. {"en": "...", "da": "..."}'),
]
CountryCode = Annotated[str, Meta(pattern=r"^[A-Z]{2}(?!\n)$", description="ISO 3166-1 alpha-2")]
RegionCode = Annotated[str, Meta(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}(?!\n)$", description="ISO 3166-2")]
WebAddress = Annotated[str, Meta(pattern=r"^https?://[^\s]+$", max_length=2000)]
Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)]
ShortText = Annotated[str, Meta(min_length=1, max_length=200)]


class RegistrationId(Model):
    """An identifier in a public register, e.g. {"scheme": "DK-CVR", "value": "12345678"}."""

    scheme: ShortText
    value: ShortText


class Accreditation(Model):
    id: UUID
    organisation_id: UUID
    accrediting_organisation_id: UUID | None
    accrediting_body_name: str
    scope: str
    reference: str | None
    valid_from: date
    valid_until: date | None
    withdrawn_at: datetime | None
    current: bool


class Organisation(Model):
    id: UUID
    kind: OrganisationKind
    name: dict[str, str]
    default_language: str
    country: str
    region: str | None
    registration_ids: list[RegistrationId]
    website: str | None
    accreditations: list[Accreditation]
    version: int
    created_at: datetime
    updated_at: datetime


class OrganisationPage(Page):
    items: list[Organisation]


class OrganisationCreate(Input):
    kind: OrganisationKind
    name: LocalisedText
    default_language: LanguageCode
    country: CountryCode
    region: RegionCode | None = None
    registration_ids: list[RegistrationId] = msgspec.field(default_factory=list)
    website: WebAddress | None = None


class OrganisationUpdate(Input):
    """Only the fields sent are changed; send null to clear ``region`` or ``website``."""

    name: LocalisedText | UnsetType = UNSET
    default_language: LanguageCode | UnsetType = UNSET
    country: CountryCode | UnsetType = UNSET
    region: RegionCode | UnsetType | None = UNSET
    registration_ids: list[RegistrationId] | UnsetType = UNSET
    website: WebAddress | UnsetType | None = UNSET


class Member(Model):
    organisation_id: UUID
    person_id: UUID
    email: str
    name: str
    roles: list[Role]
    version: int
    created_at: datetime
    updated_at: datetime


class MemberPage(Page):
    items: list[Member]


class MemberCreate(Input):
    """Adds a person (found by e-mail, or created) to the organisation with these roles."""

    email: Email
    name: ShortText
    roles: Annotated[list[Role], Meta(min_length=1)]


class MemberUpdate(Input):
    roles: Annotated[list[Role], Meta(min_length=1)]


class AccreditationCreate(Input):
    """Recorded by the accrediting body: ``accreditingOrganisationId`` is the caller's own
    organisation (a chamber, QA body or authority). The platform operator may instead name an
    external body in ``accreditingBodyName``."""

    scope: Annotated[str, Meta(min_length=1, max_length=500)]
    valid_from: date
    valid_until: date | None = None
    reference: Annotated[str, Meta(max_length=200)] | None = None
    accrediting_organisation_id: UUID | None = None
    accrediting_body_name: ShortText | None = None
