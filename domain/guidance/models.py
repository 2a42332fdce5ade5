"""The questions guidance answers and its answers: what a person's skills lack for an occupation and which
published training closes the gap; which occupations a person's skills are closest to."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta

from domain.designs.content import EqfLevel, QualityAssuranceType
from domain.organisations.models import CountryCode, LanguageCode, RegionCode
from domain.profiles.models import EscoOccupationUri, EscoSkillUri, Relation
from domain.structs import Input, Model, Page

SkillList = Annotated[list[EscoSkillUri], Meta(max_length=1000, description="ESCO skill URIs the person has")]


class Preferences(Input):
    """What the person would like; each only orders the recommendations, never hides one."""

    language: LanguageCode | None = None  # a language of instruction
    country: CountryCode | None = None
    region: RegionCode | None = None  # ISO 3166-2, e.g. PL-SL; implies its country
    eqf_level: EqfLevel | None = None  # the level the person aims at


class GapRequest(Input):
    """A target — an ESCO occupation, or an occupational profile here (``profileId`` for its latest
    version, ``profileVersionId`` for one) — and the person's skills: ESCO skill URIs, and/or with a
    learner's token ``usePortfolio`` for the skills their valid credentials attest."""

    occupation: EscoOccupationUri | None = None
    profile_id: UUID | None = None
    profile_version_id: UUID | None = None
    skills: SkillList = []
    use_portfolio: bool = False
    preferences: Preferences | None = None
    limit: Annotated[int, Meta(ge=1, le=50, description="Recommendations to return (default 10)")] = 10


class Evidence(Model, omit_defaults=True):
    """Why a skill counts as held: named in the request (declared), or attested by one of the person's credentials
    (its id, achievement and issuer)."""

    source: Literal["declared", "credential"]
    credential_id: UUID | None = None
    # "guildhall": issued here to one of the person's learner records; "added": another issuer's, in their portfolio
    origin: Literal["guildhall", "added"] | None = None
    achievement_name: str | None = None
    issuer_id: str | None = None
    issuer_name: str | None = None


class Skill(Model):
    key: str  # the ESCO skill URI; a profile's own key for a competence without one
    esco_skill_uri: str | None
    label: str  # in the language asked for when ESCO or the profile has it
    relation: Relation


class CoveredSkill(Skill):
    covered_by: list[Evidence]


class Target(Model):
    esco_occupation_uri: str | None
    profile_version_id: UUID | None
    label: str
    isco_code: str | None


class RankingKey(Model):
    """The ranking key of a recommendation, criterion by criterion, in the order they are compared:
    missing essential skills covered per training hour (more first; none covered, or no hours given, after
    all that do), then EQF fit (distance from the level asked for), language, country/region, validity of
    the credential (no expiry, then longer first) and quality assurance (state recognition, external
    accreditation, chamber approval, industry certification, internal review, none), then missing optional
    skills covered. ``decidedBy`` names the first criterion that put it above the next recommendation."""

    missing_essential_covered: int
    missing_optional_covered: int
    hours: float | None
    essential_per_hour: float | None
    eqf_level: int | None
    eqf_distance: int | None  # null when no EQF level was asked for
    language_match: bool | None  # null when no language was asked for
    place_match: Literal["region", "country", "elsewhere"] | None  # null when no country or region was asked for
    validity_months: int | None  # null: the credential does not expire
    quality_assurance: str | None
    decided_by: str | None  # null for the last one, or where only the tie-break (programme id) decides


class Recommendation(Model):
    rank: int
    kind: Literal["programme", "unit"]
    programme_id: UUID
    version: int
    unit_key: str | None
    title: dict[str, str]
    label: str
    programme_title: dict[str, str]
    register_url: str
    covers_essential: list[str]  # the missing essential ESCO skills it teaches
    covers_optional: list[str]
    languages: list[str]
    country: str | None
    region: str | None
    quality_assurance_type: QualityAssuranceType | None
    ranking_key: RankingKey
    why: str


class GapReport(Model):
    target: Target
    skills_considered: int  # distinct ESCO skills the person was taken to have
    credentials_considered: int  # valid credentials of the portfolio read (0 without it)
    essential_covered: list[CoveredSkill]
    optional_covered: list[CoveredSkill]
    essential_missing: list[Skill]
    optional_missing: list[Skill]
    essential_coverage: float  # share of the essential skills covered, 0..1
    recommendations: list[Recommendation]
    essential_not_offered: list[str]  # missing essential skills no published training in the register covers


class OccupationMatch(Model):
    esco_occupation_uri: str
    label: str
    isco_code: str | None
    essential: int
    essential_covered: int
    share: float  # of its essential skills covered
    missing_essential: list[Skill]


class OccupationMatchPage(Page):
    skills_considered: int
    items: list[OccupationMatch]
