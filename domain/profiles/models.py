"""The records and request bodies of occupational profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta

from domain.organisations.models import LanguageCode, LocalisedText
from domain.structs import Input, Model, Page

Relation = Literal["essential", "optional"]

ESCO_OCCUPATION_PATTERN = r"^http://data\.europa\.eu/esco/occupation/[0-9a-f-]{36}(?!\n)$"
ESCO_SKILL_PATTERN = r"^http://data\.europa\.eu/esco/skill/[0-9a-f-]{36}$"
ISCO_PATTERN = r"^[0-9]{4}(?!\n)$"
COMPETENCE_SLUG_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"

EscoOccupationUri = Annotated[
    str,
    Meta(
        pattern=ESCO_OCCUPATION_PATTERN,
        description="An ESCO occupation: http://data.europa.eu/esco/occupation/<uuid>",
        examples=["http://data.europa.eu/esco/occupation/77c60ebb-1151-476a-89c4-9a381bc7c32a"],
    ),
]
EscoSkillUri = Annotated[
    str,
    Meta(
        pattern=ESCO_SKILL_PATTERN,
        description="An ESCO skill or knowledge concept: http://data.europa.eu/esco/skill/<uuid>",
    ),
]
IscoCode = Annotated[str, Meta(pattern=ISCO_PATTERN, description="ISCO-08 unit group (4 digits), e.g. 7212")]
CompetenceKey = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        description="The ESCO skill URI when escoSkillUri is given (the default); otherwise a slug such as "
        "'weld-inspection' (lower-case letters, digits, '.', '_', '-'; at most 64 characters)",
    ),
]
LongLocalisedText = Annotated[
    dict[LanguageCode, Annotated[str, Meta(min_length=1, max_length=5000)]],
    Meta(min_length=1, description='Text by language, e.g. {"en": "...", "da": "..."}'),
]


class Competence(Model):
    key: str  # stable within a profile: the ESCO skill URI when there is one, else the author's slug
    esco_skill_uri: str | None
    title: dict[str, str]
    relation: Relation


class ProfileVersion(Model):
    id: UUID  # the version's id: programmes point at this
    profile_id: UUID
    number: int
    title: dict[str, str]
    default_language: str
    esco_occupation_uri: str | None
    isco_code: str | None
    description: dict[str, str] | None
    competences: list[Competence]
    created_at: datetime


class ProfileVersionPage(Page):
    """The latest version of each profile."""

    items: list[ProfileVersion]


class CompetenceInput(Input):
    title: LocalisedText
    relation: Relation
    key: CompetenceKey | None = None
    esco_skill_uri: EscoSkillUri | None = None


class ProfileCreate(Input):
    """The full content of a profile version: the first one, or a new one that replaces the last."""

    title: LocalisedText
    default_language: LanguageCode
    competences: Annotated[list[CompetenceInput], Meta(min_length=1, max_length=1000)]
    esco_occupation_uri: EscoOccupationUri | None = None
    isco_code: IscoCode | None = None
    description: LongLocalisedText | None = None


ImportOutcome = Literal["created", "new_version", "unchanged"]


class ImportedProfile(Model):
    """What an import did for one ESCO occupation; ``profile`` is the profile's latest version after it."""

    esco_occupation_uri: str
    outcome: ImportOutcome
    profile: ProfileVersion


class ImportResult(Model):
    items: list[ImportedProfile]
