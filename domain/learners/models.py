"""Records and request bodies of learners and enrolments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from domain.organisations.models import Email, LanguageCode, ShortText
from domain.structs import MAX_VERSION, Input, Model, Page

PreferredLanguage = Annotated[
    LanguageCode,
    Meta(
        description=(
            "The language (ISO 639) the learner's Open Badges credentials are issued in, when the programme has its "
            "texts in it; null or absent: the programme's default language"
        )
    ),
]

IdentifierScheme = Annotated[
    str,
    Meta(
        pattern=r"^(student_number|national:[A-Z]{2}|[a-z][a-z0-9_.-]{0,40})$",
        description="'student_number', 'national:<ISO country>' (e.g. 'national:DK'), or another scheme",
    ),
]


class ExternalIdentifier(Model):
    scheme: IdentifierScheme
    value: Annotated[str, Meta(min_length=1, max_length=100)]


class Learner(Model):
    id: UUID
    provider_id: UUID
    name: str
    date_of_birth: date | None
    email: str | None
    preferred_language: PreferredLanguage | None
    identifiers: list[ExternalIdentifier]
    version: int
    created_at: datetime
    updated_at: datetime


class LearnerPage(Page):
    items: list[Learner]


class LearnerCreate(Input):
    name: ShortText
    email: Email | None = None
    date_of_birth: date | None = None
    preferred_language: PreferredLanguage | None = None
    identifiers: list[ExternalIdentifier] = msgspec.field(default_factory=list)


class LearnerUpdate(Input):
    name: ShortText | UnsetType = UNSET
    email: Email | UnsetType | None = UNSET
    date_of_birth: date | UnsetType | None = UNSET
    preferred_language: PreferredLanguage | UnsetType | None = UNSET
    identifiers: list[ExternalIdentifier] | UnsetType = UNSET


class Enrolment(Model):
    id: UUID
    provider_id: UUID
    learner_id: UUID
    programme_id: UUID
    version_number: int
    version_id: UUID
    unit_key: str | None
    enrolled_at: datetime


class EnrolmentPage(Page):
    items: list[Enrolment]


class EnrolmentCreate(Input):
    programme_id: UUID
    version_number: Annotated[int, Meta(ge=1, le=MAX_VERSION)] | None = None  # default: the latest published version
    unit_key: str | None = None  # default: the whole programme
