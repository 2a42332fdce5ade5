"""The content of a programme or qualification version, as co-authors edit it.

A draft may be incomplete — every Annex I element is optional here — so that co-authors can save
work in progress; ``completeness.py`` lists what is missing before the version may be proposed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from assessment.specification import Supervision  # the same words on the programme and in its units
from domain.organisations.models import LanguageCode, LocalisedText
from domain.structs import Input

Key = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", description="Stable identifier, e.g. 'u1'")]
CompetenceKey = Annotated[str, Meta(min_length=1, max_length=300)]
EqfLevel = Annotated[int, Meta(ge=1, le=8)]
Hours = Annotated[float, Meta(gt=0, le=10_000)]
Credits = Annotated[float, Meta(ge=0, le=500)]

# ISCED-F 2013 field of education: broad (2 digits), narrow (3) or detailed (4), e.g. "0715" mechanics and metal
# trades; Europass's LOQ profile requires one for every programme and qualification it lists.
IscedFCode = Annotated[
    str, Meta(pattern=r"^[0-9]{2,4}(?!\n)$", description="ISCED-F 2013 field of education, e.g. '0715'")
]

FormOfParticipation = Literal["online", "onsite", "blended"]
QualityAssuranceType = Literal[
    "internal_review",
    "external_accreditation",
    "chamber_approval",
    "state_recognition",
    "industry_certification",
]


class LearningOutcome(Input):
    key: Key
    text: LocalisedText
    competences: list[CompetenceKey] = msgspec.field(default_factory=list)  # keys of the profile's competences


class Unit(Input):
    key: Key
    kind: Literal["core", "supplementary"]
    title: LocalisedText
    description: LocalisedText | None = None
    workload_hours: Hours | None = None
    ects_credits: Credits | None = None
    eqf_level: EqfLevel | None = None
    certifiable_alone: bool = True
    learning_outcomes: list[LearningOutcome] = msgspec.field(default_factory=list)
    # The assessment specification: stored and versioned here; its rules belong to the assessment engine.
    assessment: dict[str, Any] | None = None


class QualityAssurance(Input):
    type: QualityAssuranceType
    description: LocalisedText | None = None
    body_id: UUID | None = None  # the QA body or chamber, when it is an organisation here


class Stackability(Input):
    mode: Literal["stand_alone", "integrated"]
    towards: LocalisedText | None = None  # what it stacks towards


class ProgrammeContent(Input):
    """Annex I elements not about one learner, plus what Guildhall needs to deliver and certify."""

    title: LocalisedText | None = None
    description: LocalisedText | None = None
    default_language: LanguageCode = "en"
    profile_version_id: UUID | None = None
    awarding_body_id: UUID | None = None
    provider_ids: list[UUID] = msgspec.field(default_factory=list)
    eqf_level: EqfLevel | None = None
    isced_f_code: IscedFCode | None = None
    type_of_assessment: LocalisedText | None = None
    form_of_participation: FormOfParticipation | None = None
    quality_assurance: QualityAssurance | None = None
    languages: list[LanguageCode] = msgspec.field(default_factory=list)
    validity_months: Annotated[int, Meta(ge=1, le=600)] | None = None  # of the credential; None: no expiry
    cosigner_id: UUID | None = None
    prerequisites: LocalisedText | None = None
    supervision: Supervision | None = None
    stackability: Stackability | None = None
    further_information: LocalisedText | None = None
    units: list[Unit] = msgspec.field(default_factory=list)


class UnitRef(Input):
    programme_id: UUID
    unit_key: Key


class AtLeast(Input):
    count: Annotated[int, Meta(ge=1)]
    of: Annotated[list[UnitRef], Meta(min_length=1)]


class QualificationRule(Input):
    """A learner satisfies it with valid unit credentials: all of ``all_of``, at least ``count`` of each
    ``at_least`` group, and the workload and level minimums over the units counted."""

    all_of: list[UnitRef] = msgspec.field(default_factory=list)
    at_least: list[AtLeast] = msgspec.field(default_factory=list)
    min_hours: Hours | None = None
    min_ects_credits: Credits | None = None
    min_eqf_level: EqfLevel | None = None


class QualificationContent(Input):
    title: LocalisedText | None = None
    description: LocalisedText | None = None
    default_language: LanguageCode = "en"
    awarding_body_id: UUID | None = None
    eqf_level: EqfLevel | None = None
    isced_f_code: IscedFCode | None = None
    quality_assurance: QualityAssurance | None = None
    validity_months: Annotated[int, Meta(ge=1, le=600)] | None = None
    cosigner_id: UUID | None = None
    rule: QualificationRule | None = None


Content = ProgrammeContent | QualificationContent
CONTENT_TYPES: dict[str, type[ProgrammeContent] | type[QualificationContent]] = {
    "programme": ProgrammeContent,
    "qualification": QualificationContent,
}
