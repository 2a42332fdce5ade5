"""How well a programme version covers its occupational profile, and its workload per EQF level."""

from __future__ import annotations

from domain.designs.content import ProgrammeContent
from domain.profiles.models import Competence, ProfileVersion
from domain.structs import Model


class CoveredCompetence(Model):
    key: str
    esco_skill_uri: str | None
    title: dict[str, str]
    relation: str
    outcomes: list[str]  # "<unit key>/<outcome key>"


class WorkloadAtLevel(Model):
    eqf_level: int | None
    hours: float
    ects_credits: float
    units: list[str]


class CoverageReport(Model):
    profile_version_id: str
    esco_occupation_uri: str | None
    covered: list[CoveredCompetence]
    essential_not_covered: list[Competence]
    optional_not_covered: list[Competence]
    essential_coverage: float  # share of essential competences covered, 0..1
    unknown_competences: list[str]  # mapped by an outcome but absent from the profile version
    workload_by_eqf_level: list[WorkloadAtLevel]
    total_hours: float
    total_ects_credits: float


def coverage(content: ProgrammeContent, profile: ProfileVersion) -> CoverageReport:
    outcomes_by_competence: dict[str, list[str]] = {}
    for unit in content.units:
        for outcome in unit.learning_outcomes:
            for key in outcome.competences:
                outcomes_by_competence.setdefault(key, []).append(f"{unit.key}/{outcome.key}")
    known = {c.key: c for c in profile.competences}
    covered = [
        CoveredCompetence(
            key=c.key,
            esco_skill_uri=c.esco_skill_uri,
            title=c.title,
            relation=c.relation,
            outcomes=outcomes_by_competence[c.key],
        )
        for c in profile.competences
        if c.key in outcomes_by_competence
    ]
    essential = [c for c in profile.competences if c.relation == "essential"]
    missing_essential = [c for c in essential if c.key not in outcomes_by_competence]
    levels: dict[int | None, WorkloadAtLevel] = {}
    for unit in content.units:
        entry = levels.setdefault(
            unit.eqf_level, WorkloadAtLevel(eqf_level=unit.eqf_level, hours=0, ects_credits=0, units=[])
        )
        entry.hours += unit.workload_hours or 0
        entry.ects_credits += unit.ects_credits or 0
        entry.units.append(unit.key)
    by_level = sorted(levels.values(), key=lambda w: (w.eqf_level is None, w.eqf_level or 0))
    return CoverageReport(
        profile_version_id=str(profile.id),
        esco_occupation_uri=profile.esco_occupation_uri,
        covered=covered,
        essential_not_covered=missing_essential,
        optional_not_covered=[
            c for c in profile.competences if c.relation == "optional" and c.key not in outcomes_by_competence
        ],
        essential_coverage=round((len(essential) - len(missing_essential)) / len(essential), 4) if essential else 1.0,
        unknown_competences=sorted(k for k in outcomes_by_competence if k not in known),
        workload_by_eqf_level=by_level,
        total_hours=sum(w.hours for w in by_level),
        total_ects_credits=sum(w.ects_credits for w in by_level),
    )
