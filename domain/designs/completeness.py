"""What a version still lacks before it may be proposed: each missing EU Annex I element and each
incomplete unit, named so that a co-author knows exactly what to fill in."""

from __future__ import annotations

from domain.designs.content import ProgrammeContent, QualificationContent, Unit
from domain.structs import Model

# EU Council Recommendation of 16 June 2022, Annex I, elements not about one learner.
ANNEX_I = {
    "title": "(2) title of the micro-credential",
    "issuer_country": "(3) country/region of the issuer",
    "awarding_body": "(4) awarding body",
    "learning_outcomes": "(6) learning outcomes",
    "workload": "(7) notional workload",
    "level": "(8) level (EQF)",
    "assessment_type": "(9) type of assessment",
    "participation": "(10) form of participation",
    "quality_assurance": "(11) type of quality assurance",
}


class Gap(Model):
    """One thing missing: the Annex I element (if any), where, and what to do."""

    element: str | None
    path: str
    message: str


def _gap(element: str | None, path: str, message: str) -> Gap:
    return Gap(element=ANNEX_I[element] if element else None, path=path, message=message)


def programme_gaps(content: ProgrammeContent) -> list[Gap]:
    gaps: list[Gap] = []
    if not content.title or content.default_language not in content.title:
        gaps.append(_gap("title", "title", f"give a title in the default language {content.default_language!r}"))
    if content.awarding_body_id is None:
        gaps.append(_gap("awarding_body", "awardingBodyId", "name the awarding body"))
        gaps.append(_gap("issuer_country", "awardingBodyId", "the issuer's country comes from the awarding body"))
    if content.eqf_level is None:
        gaps.append(_gap("level", "eqfLevel", "set the programme's EQF level (1-8)"))
    if not content.type_of_assessment:
        gaps.append(_gap("assessment_type", "typeOfAssessment", "describe the type of assessment"))
    if content.form_of_participation is None:
        gaps.append(_gap("participation", "formOfParticipation", "choose online, onsite or blended"))
    if content.quality_assurance is None:
        gaps.append(_gap("quality_assurance", "qualityAssurance", "state the type of quality assurance"))
    if not content.languages:
        gaps.append(_gap(None, "languages", "list the languages of instruction"))
    if content.profile_version_id is None:
        gaps.append(_gap(None, "profileVersionId", "tie the programme to an occupational profile version"))
    if not content.units:
        gaps.append(_gap("learning_outcomes", "units", "add at least one unit with learning outcomes"))
    for unit in content.units:
        gaps += _unit_gaps(unit.key, unit)
    return gaps


def _unit_gaps(key: str, unit: Unit) -> list[Gap]:
    where = f"units[{key}]"
    gaps = []
    if not unit.learning_outcomes:
        gaps.append(_gap("learning_outcomes", f"{where}.learningOutcomes", f"unit {key!r} has no learning outcomes"))
    for outcome in unit.learning_outcomes:
        if not outcome.competences:
            gaps.append(
                _gap(
                    None,
                    f"{where}.learningOutcomes[{outcome.key}].competences",
                    f"learning outcome {outcome.key!r} of unit {key!r} maps to no competence",
                )
            )
    if unit.workload_hours is None or unit.ects_credits is None:
        gaps.append(_gap("workload", where, f"unit {key!r} needs its workload in hours and ECTS credits"))
    if unit.eqf_level is None:
        gaps.append(_gap("level", f"{where}.eqfLevel", f"unit {key!r} needs an EQF level"))
    if unit.assessment is None:
        gaps.append(_gap("assessment_type", f"{where}.assessment", f"unit {key!r} has no assessment specification"))
    return gaps


def qualification_gaps(content: QualificationContent) -> list[Gap]:
    gaps: list[Gap] = []
    if not content.title or content.default_language not in content.title:
        gaps.append(_gap("title", "title", f"give a title in the default language {content.default_language!r}"))
    if content.awarding_body_id is None:
        gaps.append(_gap("awarding_body", "awardingBodyId", "name the awarding body"))
    if content.eqf_level is None:
        gaps.append(_gap("level", "eqfLevel", "set the qualification's EQF level (1-8)"))
    if content.quality_assurance is None:
        gaps.append(_gap("quality_assurance", "qualityAssurance", "state the type of quality assurance"))
    rule = content.rule
    if rule is None or not (rule.all_of or rule.at_least):
        gaps.append(_gap(None, "rule", "the rule needs units: allOf and/or atLeast groups"))
    elif any(group.count > len(group.of) for group in rule.at_least):
        gaps.append(_gap(None, "rule.atLeast", "an atLeast group asks for more units than it lists"))
    return gaps


def gaps_of(content: ProgrammeContent | QualificationContent) -> list[Gap]:
    if isinstance(content, ProgrammeContent):
        return programme_gaps(content)
    return qualification_gaps(content)
