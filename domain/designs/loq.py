"""The public register as a Europass dataset: the European Learning Model's Learning Opportunities and
Qualifications (LOQ) profile — pure, no I/O.

Europass finds learning opportunities by fetching, regularly, a dataset the publisher hosts. Every programme in
the public register (its latest published version, unless withdrawn) is a ``LearningOpportunity`` whose
``learningAchievementSpecification`` says what it leads to; every published qualification is a
``Qualification``. The document is JSON-LD in the Commission's ``edc-ap`` context (plus the one LOQ term that
context lacks, ``defaultLanguage``) and passes the LOQ SHACL shapes (``LOQ-constraints.ttl``) with no violation.

    LearningOpportunity           {register}/programmes/{id}: title, description, homepage, providedBy, mode,
                                  defaultLanguage, dateModified (when the version was published)
      learningAchievementSpecification  …#achievement: title, ISCED-F, EQF (educationLevel), languages, mode,
                                  learning outcomes (relatedESCOSkill), volumeOfLearning (hours), creditPoint
                                  (ECTS), entryRequirement, learningSetting (non-formal), quality assurance
                                  (a Note; the Accreditation sits on the awarding body), awardingOpportunity
                                  (awarding body), hasPart: one specification per unit (…#unit-{key})
    Qualification                 {register}/qualifications/{id}: title, ISCED-F, EQFLevel, NQFLevel, the
                                  outcomes of the units its rule names, hours, ECTS, accreditation, awarding body

Identifiers are the design's (programme's or qualification's) own, never a version's: a new published version
changes what the dataset says about a programme, not the identifier it says it about. Units and outcomes are
named by their keys, which stay the same from version to version.

Where Guildhall has no value the profile requires: a programme without an ISCED-F code gets the concept "field
unknown" (ISCED-F 9999, a Guildhall concept); a qualification's NQF level is a Guildhall concept stating its EQF
level in the awarding body's country (Guildhall records EQF levels only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.credentials.elm import (
    ACCREDITATION_SCHEME,
    CREDIT_SCHEME,
    ECTS,
    ELM_CONTEXT,
    EQF_SCHEME,
    ESCO_SKILLS,
    LANGUAGE_AUTHORITY,
    LANGUAGES,
    MODES,
    PROGRAMME_LICENSING,
    PROGRAMME_QUALITY,
    QUALITY_ASSURANCE_WORDS,
    country,
)
from domain.designs.content import ProgrammeContent, QualificationContent, Unit

Json = dict[str, Any]
LanguageMap = dict[str, str]
LOQ_MEDIA_TYPE = "application/ld+json"
ISCED_F = "http://data.europa.eu/snb/isced-f"
ISCED_F_SCHEME = "http://data.europa.eu/snb/isced-f/25831c2"
LEARNING_SETTING_SCHEME = "http://data.europa.eu/snb/learning-setting/25831c2"
NON_FORMAL = "http://data.europa.eu/snb/learning-setting/e207a81fc7"
LEARNING_OPPORTUNITY_SCHEME = "http://data.europa.eu/snb/learning-opportunity/25831c2"
SHORT_PROGRAMME = "http://data.europa.eu/snb/learning-opportunity/74a4a268e8"
# The one LOQ term the edc-ap context does not define; and the keyword aliases it leaves to the VC context.
CONTEXT: list[Any] = [
    ELM_CONTEXT,
    {
        "id": "@id",
        "type": "@type",
        "defaultLanguage": {"@id": "http://data.europa.eu/snb/model/elm/defaultLanguage", "@type": "@id"},
    },
]


@dataclass(frozen=True)
class Party:
    """An organisation as the dataset names it."""

    id: UUID
    did: str
    name: LanguageMap
    country: str  # ISO 3166-1 alpha-2
    website: str | None


@dataclass(frozen=True)
class PublishedProgramme:
    design_id: UUID
    number: int
    published_at: datetime
    content: ProgrammeContent
    skills: Mapping[str, tuple[str, LanguageMap]]  # competence key -> (ESCO skill URI, its title)


@dataclass(frozen=True)
class PublishedQualification:
    design_id: UUID
    number: int
    published_at: datetime
    content: QualificationContent
    units: Sequence[tuple[UUID, Unit]]  # the units its rule names (programme, unit), as last published
    skills: Mapping[str, tuple[str, LanguageMap]]


def _moment(value: datetime) -> Json:
    """An ``xsd:dateTime`` literal (the edc-ap context leaves ``dateModified`` untyped)."""
    text = value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"@value": text, "@type": "http://www.w3.org/2001/XMLSchema#dateTime"}


def _texts(value: LanguageMap | None) -> LanguageMap:
    return {k: v for k, v in (value or {}).items() if v}


def _concept(concept_id: str, label: LanguageMap, scheme: str | None = None, notation: str | None = None) -> Json:
    concept: Json = {"id": concept_id, "type": "Concept", "prefLabel": label}
    if scheme:
        concept["inScheme"] = {"id": scheme, "type": "ConceptScheme"}
    if notation:
        concept["notation"] = notation
    return concept


def language(code: str) -> Json:
    eu = LANGUAGES.get(code.lower())
    if eu is None:
        return {"id": f"urn:ietf:bcp47:{code}", "type": "Concept", "notation": code}
    return _concept(f"{LANGUAGE_AUTHORITY}/{eu}", {"en": code}, LANGUAGE_AUTHORITY, code)


def isced_f(code: str | None) -> Json:
    if code is None:
        return _concept("urn:guildhall:isced-f:9999", {"en": "Field unknown (no ISCED-F field recorded)"})
    return _concept(f"{ISCED_F}/{code}", {"en": f"ISCED-F {code}"}, ISCED_F_SCHEME, code)


def eqf(level: int) -> Json:
    return _concept(f"http://data.europa.eu/snb/eqf/{level}", {"en": f"Level {level}"}, EQF_SCHEME, str(level))


def _mode(form: str | None) -> list[Json]:
    if form is None or form not in MODES:
        return []
    concept_id, label = MODES[form]
    return [_concept(concept_id, {"en": label}, "http://data.europa.eu/snb/learning-assessment/25831c2")]


def _number(value: float) -> str:
    return f"{value:g}"


def _hours(hours: float) -> str:
    whole = round(hours * 60)
    return f"PT{whole // 60}H" + (f"{whole % 60}M" if whole % 60 else "")


def _credit(node_id: str, points: float) -> Json:
    return {
        "id": node_id,
        "type": "CreditPoint",
        "framework": _concept(ECTS, {"en": "European Credit Transfer System"}, CREDIT_SCHEME, "ECTS"),
        "point": _number(points),
    }


def _note(node_id: str, text: LanguageMap) -> Json:
    return {"id": node_id, "type": "Note", "noteLiteral": text}


def organisation(party: Party) -> Json:
    node: Json = {
        "id": party.did,
        "type": "Organisation",
        "legalName": _texts(party.name),
        "location": {
            "id": f"{party.did}#location",
            "type": "Location",
            "address": {"id": f"{party.did}#address", "type": "Address", "countryCode": country(party.country)},
        },
    }
    if party.website:
        node["homepage"] = {"id": f"{party.did}#homepage", "type": "WebResource", "contentURL": party.website}
    return node


def _outcomes(base: str, units: Sequence[Unit], skills: Mapping[str, tuple[str, LanguageMap]]) -> list[Json]:
    found = []
    for unit in units:
        for outcome in unit.learning_outcomes:
            entry: Json = {
                "id": f"{base}#outcome-{unit.key}-{outcome.key}",
                "type": "LearningOutcome",
                "title": _texts(outcome.text),
            }
            related = [skills[c] for c in outcome.competences if c in skills]
            if related:
                entry["relatedESCOSkill"] = [
                    _concept(uri, _texts(title) or {"en": uri}, ESCO_SKILLS) for uri, title in related
                ]
            found.append(entry)
    return found


def _quality_assurance(
    base: str,
    content: ProgrammeContent | QualificationContent,
    parties: Mapping[UUID, Party],
    awarding_body: Json,
) -> Json | None:
    """The programme's (qualification's) quality assurance as an ELM ``Accreditation`` of its awarding body,
    limited to its field and level; accredited by its QA body, else the awarding body itself."""
    qa = content.quality_assurance
    if qa is None:
        return None
    body = parties.get(qa.body_id) if qa.body_id is not None else None
    kind = PROGRAMME_LICENSING if qa.type == "state_recognition" else PROGRAMME_QUALITY
    words = QUALITY_ASSURANCE_WORDS.get(qa.type, qa.type.replace("_", " "))
    title = _texts(content.title)
    accreditation: Json = {
        "id": f"{base}#quality-assurance",
        "type": "Accreditation",
        "dcType": _concept(kind[0], {"en": kind[1]}, ACCREDITATION_SCHEME),
        "title": {lang: f"{words}: {text}" for lang, text in title.items()} or {"en": words},
        "accreditingAgent": organisation(body) if body is not None else awarding_body["id"],
        "organisation": awarding_body["id"],
        "limitField": [isced_f(content.isced_f_code)],
    }
    if content.eqf_level:
        accreditation["limitEQFLevel"] = [eqf(content.eqf_level)]
    if qa.description:
        accreditation["description"] = _texts(qa.description)
    return accreditation


def _unit_specification(
    base: str, unit: Unit, content: ProgrammeContent, skills: Mapping[str, tuple[str, LanguageMap]]
) -> Json:
    spec: Json = {
        "id": f"{base}#unit-{unit.key}",
        "type": "LearningAchievementSpecification",
        "title": _texts(unit.title),
        "thematicArea": [isced_f(content.isced_f_code)],
        "language": [language(c) for c in (content.languages or [content.default_language])],
        "learningOutcome": _outcomes(base, [unit], skills),
        "learningSetting": _concept(NON_FORMAL, {"en": "non-formal learning"}, LEARNING_SETTING_SCHEME),
    }
    if unit.description:
        spec["description"] = _texts(unit.description)
    if unit.workload_hours:
        spec["volumeOfLearning"] = _hours(unit.workload_hours)
    if unit.ects_credits:
        spec["creditPoint"] = [_credit(f"{base}#unit-{unit.key}-ects", unit.ects_credits)]
    level = unit.eqf_level or content.eqf_level
    if level:
        spec["educationLevel"] = [eqf(level)]
    if _mode(content.form_of_participation):
        spec["mode"] = _mode(content.form_of_participation)
    return spec


def _awarding(base: str, content: ProgrammeContent, parties: Mapping[UUID, Party], spec: Json) -> list[Json]:
    """The awarding opportunity (with the awarding body and its accreditation for this programme); the notes."""
    awarding = parties.get(content.awarding_body_id) if content.awarding_body_id else None
    notes = []
    if awarding is not None:
        body = organisation(awarding)
        accreditation = _quality_assurance(base, content, parties, body)
        if accreditation is not None:
            body["accreditation"] = [accreditation]
            notes.append(_note(f"{base}#quality-assurance-note", accreditation["title"]))
        spec["awardingOpportunity"] = [
            {
                "id": f"{base}#awarding",
                "type": "AwardingOpportunity",
                "awardingBody": [body],
                "learningAchievementSpecification": spec["id"],
            }
        ]
    if content.further_information:
        notes.append(_note(f"{base}#further-information", _texts(content.further_information)))
    return notes


def _achievement(programme: PublishedProgramme, parties: Mapping[UUID, Party], base: str) -> Json:
    content = programme.content
    units = [u for u in content.units if u.learning_outcomes]
    spec: Json = {
        "id": f"{base}#achievement",
        "type": "LearningAchievementSpecification",
        "title": _texts(content.title),
        "dcType": _concept(SHORT_PROGRAMME, {"en": "Short learning programme"}, LEARNING_OPPORTUNITY_SCHEME),
        "thematicArea": [isced_f(content.isced_f_code)],
        "language": [language(c) for c in (content.languages or [content.default_language])],
        "learningOutcome": _outcomes(base, units, programme.skills),
        "learningSetting": _concept(NON_FORMAL, {"en": "non-formal learning"}, LEARNING_SETTING_SCHEME),
        "dateModified": _moment(programme.published_at),
    }
    if content.description:
        spec["description"] = _texts(content.description)
    hours = sum(u.workload_hours or 0 for u in content.units)
    if hours:
        spec["volumeOfLearning"] = _hours(hours)
    credits = sum(u.ects_credits or 0 for u in content.units)
    if credits:
        spec["creditPoint"] = [_credit(f"{base}#ects", credits)]
    if content.eqf_level:
        spec["educationLevel"] = [eqf(content.eqf_level)]
    if _mode(content.form_of_participation):
        spec["mode"] = _mode(content.form_of_participation)
    if content.prerequisites:
        spec["entryRequirement"] = _note(f"{base}#prerequisites", _texts(content.prerequisites))
    notes = _awarding(base, content, parties, spec)
    if notes:
        spec["additionalNote"] = notes
    if len(units) > 1:
        spec["hasPart"] = [_unit_specification(base, u, content, programme.skills) for u in units]
    return spec


def learning_opportunity(programme: PublishedProgramme, parties: Mapping[UUID, Party], register_url: str) -> Json:
    """One published programme as a ``LearningOpportunity`` with its ``LearningAchievementSpecification``."""
    content = programme.content
    base = f"{register_url}/programmes/{programme.design_id}"
    providers = [organisation(parties[p]) for p in content.provider_ids if p in parties]
    spec = _achievement(programme, parties, base)
    opportunity: Json = {
        "id": base,
        "type": "LearningOpportunity",
        "title": _texts(content.title),
        "homepage": [{"id": f"{base}#homepage", "type": "WebResource", "contentURL": base}],
        "providedBy": providers,
        "learningAchievementSpecification": spec,
        "defaultLanguage": language(content.default_language),
        "dateModified": _moment(programme.published_at),
    }
    if content.description:
        opportunity["description"] = _texts(content.description)
    if _mode(content.form_of_participation):
        opportunity["mode"] = _mode(content.form_of_participation)
    return opportunity


def qualification(item: PublishedQualification, parties: Mapping[UUID, Party], register_url: str) -> Json:
    """One published qualification as an ELM ``Qualification``."""
    content = item.content
    base = f"{register_url}/qualifications/{item.design_id}"
    awarding = parties.get(content.awarding_body_id) if content.awarding_body_id else None
    rule = content.rule
    level = content.eqf_level or (rule.min_eqf_level if rule else None)
    outcomes = []
    for programme_id, unit in item.units:
        for outcome in _outcomes(f"{register_url}/programmes/{programme_id}", [unit], item.skills):
            outcomes.append(outcome)
    node: Json = {
        "id": base,
        "type": "Qualification",
        "title": _texts(content.title),
        "thematicArea": [isced_f(content.isced_f_code)],
        "learningOutcome": outcomes,
        "homepage": [{"id": f"{base}#homepage", "type": "WebResource", "contentURL": base}],
        "dateModified": _moment(item.published_at),
        "isPartialQualification": False,
    }
    if content.description:
        node["description"] = _texts(content.description)
    if level:
        node["eqfLevel"] = eqf(level)
        where = awarding.country if awarding else "EU"
        node["nqfLevel"] = [
            _concept(
                f"urn:guildhall:nqf:{where.lower()}:eqf-{level}",
                {"en": f"National qualifications framework of {where}, the level referenced to EQF level {level}"},
            )
        ]
    if rule is not None and rule.min_hours:
        node["volumeOfLearning"] = _hours(rule.min_hours)
    if rule is not None and rule.min_ects_credits:
        node["creditPoint"] = [_credit(f"{base}#ects", rule.min_ects_credits)]
    if awarding is not None:
        body = organisation(awarding)
        accreditation = _quality_assurance(base, content, parties, body)
        if accreditation is not None:
            accreditation["limitQualification"] = base
            node["accreditation"] = [accreditation]
        node["awardingOpportunity"] = [
            {
                "id": f"{base}#awarding",
                "type": "AwardingOpportunity",
                "awardingBody": [body],
                "learningAchievementSpecification": base,
            }
        ]
    return node


def dataset(
    programmes: Sequence[PublishedProgramme],
    qualifications: Sequence[PublishedQualification],
    parties: Mapping[UUID, Party],
    register_url: str,
) -> Json:
    """The whole register as one LOQ JSON-LD document (a graph of opportunities and qualifications)."""
    graph = [learning_opportunity(p, parties, register_url) for p in programmes]
    graph += [qualification(q, parties, register_url) for q in qualifications]
    return {"@context": CONTEXT, "@graph": graph}
