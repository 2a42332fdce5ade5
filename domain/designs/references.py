"""Checks of what a version's content points at: organisations, the profile, the units a rule stacks."""

from __future__ import annotations

from collections import Counter
from uuid import UUID

from assessment import AssessmentError, parse_specification
from assessment.specification import OutcomeBasedSpecification, PriorLearningSpecification
from domain.db import Connection
from domain.designs.completeness import Gap
from domain.designs.content import ProgrammeContent, QualificationContent, UnitRef
from domain.designs.models import Coauthor
from domain.errors import InvalidInput, NotFound
from domain.profiles.service import fetch_profile_version
from domain.sql import load_queries

q = load_queries(__file__, "references.sql")


async def check(conn: Connection, content: ProgrammeContent | QualificationContent) -> None:
    """Refuses content that points at things that do not exist, naming each; gaps are fine in a draft."""
    problems: list[str] = []
    organisations = {content.awarding_body_id, content.cosigner_id}
    if content.quality_assurance is not None:
        organisations.add(content.quality_assurance.body_id)
    if isinstance(content, ProgrammeContent):
        organisations |= set(content.provider_ids)
        problems += _duplicate_keys(content)
        problems += _assessment_problems(content)
        problems += await _unknown_competences(conn, content)
    else:
        problems += await _unknown_units(
            conn, content.rule.all_of + [r for g in content.rule.at_least for r in g.of] if content.rule else []
        )
    wanted = [o for o in organisations if o is not None]
    found = {r["id"] for r in await conn.fetch(q.existing_organisations, wanted)}
    problems += [f"there is no organisation {o}" for o in wanted if o not in found]
    if problems:
        raise InvalidInput("; ".join(problems), problems=problems)


def _duplicate_keys(content: ProgrammeContent) -> list[str]:
    problems = [f"two units have the key {key!r}" for key, n in Counter(u.key for u in content.units).items() if n > 1]
    for unit in content.units:
        counts = Counter(o.key for o in unit.learning_outcomes)
        problems += [
            f"unit {unit.key!r} has two learning outcomes with the key {key!r}" for key, n in counts.items() if n > 1
        ]
    return problems


def _assessment_problems(content: ProgrammeContent) -> list[str]:
    """Each unit's assessment specification is checked by the engine, and its outcomes must be the unit's."""
    problems = []
    for unit in content.units:
        if unit.assessment is None:
            continue
        try:
            specification = parse_specification(unit.assessment)
        except AssessmentError as exc:
            problems += [f"unit {unit.key!r} assessment: {p}" for p in exc.problems]
            continue
        if isinstance(specification, OutcomeBasedSpecification | PriorLearningSpecification):
            known = {o.key for o in unit.learning_outcomes}
            problems += [
                f"unit {unit.key!r} assessment: outcome {o.key!r} is not a learning outcome of the unit"
                for o in specification.outcomes
                if o.key not in known
            ]
    return problems


async def _unknown_competences(conn: Connection, content: ProgrammeContent) -> list[str]:
    if content.profile_version_id is None:
        mapped = any(o.competences for u in content.units for o in u.learning_outcomes)
        return ["learning outcomes map to competences, but no profileVersionId says whose"] if mapped else []
    try:
        profile = await fetch_profile_version(conn, content.profile_version_id)
    except NotFound as exc:
        return [exc.message]
    known = {c.key for c in profile.competences}
    return [
        f"learning outcome {u.key}/{o.key} maps to {key!r}, which is not a competence of the profile version"
        for u in content.units
        for o in u.learning_outcomes
        for key in o.competences
        if key not in known
    ]


async def _unknown_units(conn: Connection, refs: list[UnitRef]) -> list[str]:
    if not refs:
        return []
    rows = await conn.fetch(q.published_unit_keys, list({r.programme_id for r in refs}))
    units = {row["design_id"]: set(row["unit_keys"]) for row in rows}
    problems = []
    for ref in refs:
        if ref.programme_id not in units:
            problems.append(f"programme {ref.programme_id} has no published version")
        elif ref.unit_key not in units[ref.programme_id]:
            problems.append(f"the published programme {ref.programme_id} has no unit {ref.unit_key!r}")
    return problems


def workflow_gaps(content: ProgrammeContent | QualificationContent, coauthors: list[Coauthor]) -> list[Gap]:
    """What the co-author set still lacks for this content to be proposed."""
    roles: dict[UUID, list[str]] = {c.organisation_id: list(c.roles) for c in coauthors}
    gaps = []
    if not any("approver" in r for r in roles.values()):
        gaps.append(
            Gap(
                element=None,
                path="coauthors",
                message="add a co-author with the role 'approver' (a QA body or chamber approves before publication)",
            )
        )
    if content.awarding_body_id is not None and content.awarding_body_id not in roles:
        gaps.append(Gap(element=None, path="awardingBodyId", message="the awarding body must be a co-author"))
    if content.cosigner_id is not None and "cosigner" not in roles.get(content.cosigner_id, []):
        gaps.append(
            Gap(
                element=None,
                path="cosignerId",
                message="the co-signing organisation must be a co-author with the role 'cosigner'",
            )
        )
    return gaps
