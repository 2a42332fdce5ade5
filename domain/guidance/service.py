"""Skills-gap guidance: a person's skills against an occupation's essential and optional skills, the training
in the public register that closes the gap, and the occupations the skills are closest to.

Read-only and public: anyone may ask with a list of ESCO skills; a learner's token adds the skills of their
portfolio, each covered skill naming the credential that attests it. The target is an ESCO occupation (the
imported classification, else an occupational profile here that names it) or a profile of Guildhall's own.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.db import Connection, Database
from domain.errors import InvalidInput, NotFound
from domain.guidance import portfolio, ranking
from domain.guidance.models import (
    CoveredSkill,
    Evidence,
    GapReport,
    GapRequest,
    OccupationMatch,
    OccupationMatchPage,
    Preferences,
    Recommendation,
    Skill,
    Target,
)
from domain.profiles.models import ProfileVersion
from domain.profiles.service import fetch_latest_version, fetch_profile_version
from domain.sql import load_queries

q = load_queries(__file__, "queries.sql")


def label(labels: Mapping[str, str] | None, language: str | None, fallback: str) -> str:
    """A text in the language asked for, else English, else any."""
    if not labels:
        return fallback
    for lang in (language, "en"):
        if lang and labels.get(lang):
            return labels[lang]
    return next(iter(labels.values()))


@dataclass(frozen=True)
class _TargetSkill:
    key: str
    uri: str | None
    label: str
    relation: str


@dataclass(frozen=True)
class _Target:
    target: Target
    skills: list[_TargetSkill]


@dataclass
class SkillsProfile:
    """The skills a person is taken to have, each with why."""

    evidence: dict[str, list[Evidence]]
    credentials: int = 0


async def person_skills(conn: Connection, declared: Iterable[str], person_id: UUID | None) -> SkillsProfile:
    profile = SkillsProfile(evidence={uri: [Evidence(source="declared")] for uri in declared})
    if person_id is not None:
        held = await portfolio.held_credentials(conn, person_id)
        profile.credentials = len(held)
        for credential in held:
            for uri in credential.skills:
                profile.evidence.setdefault(uri, []).append(
                    Evidence(
                        source="credential",
                        credential_id=credential.id,
                        origin=credential.origin,
                        achievement_name=credential.achievement_name,
                        issuer_id=credential.issuer_id,
                        issuer_name=credential.issuer_name,
                    )
                )
    return profile


def _from_profile(version: ProfileVersion, language: str | None) -> _Target:
    language = language or version.default_language
    return _Target(
        Target(
            esco_occupation_uri=version.esco_occupation_uri,
            profile_version_id=version.id,
            label=label(version.title, language, str(version.id)),
            isco_code=version.isco_code,
        ),
        [
            _TargetSkill(c.esco_skill_uri or c.key, c.esco_skill_uri, label(c.title, language, c.key), c.relation)
            for c in version.competences
        ],
    )


async def _target(conn: Connection, request: GapRequest, language: str | None) -> _Target:
    named = [x for x in (request.occupation, request.profile_id, request.profile_version_id) if x is not None]
    if len(named) != 1:
        raise InvalidInput(
            "name exactly one target: occupation (an ESCO occupation URI), profileId or profileVersionId"
        )
    if request.profile_version_id is not None:
        return _from_profile(await fetch_profile_version(conn, request.profile_version_id), language)
    if request.profile_id is not None:
        return _from_profile(await fetch_latest_version(conn, request.profile_id), language)
    uri = request.occupation
    assert uri is not None
    row = await conn.fetchrow(q.esco_occupation, uri, language)
    if row is None:
        version_id = await conn.fetchval(q.latest_profile_of_occupation, uri)
        if version_id is None:
            raise NotFound(
                f"ESCO occupation {uri} is neither in the imported ESCO classification nor named by an "
                "occupational profile here (import ESCO with `guildhall esco import`)"
            )
        return _from_profile(await fetch_profile_version(conn, version_id), language)
    labels = row["skill_labels"] or {}
    # Essential first, each group by label (the order of a profile's competences, for ESCO).
    skills = [
        _TargetSkill(u, u, labels.get(u, u), relation)
        for relation in ("essential", "optional")
        for u in sorted(row[f"{relation}_skills"], key=lambda u: (str(labels.get(u, u)).casefold(), u))
    ]
    return _Target(
        Target(esco_occupation_uri=uri, profile_version_id=None, label=row["label"] or uri, isco_code=row["isco_code"]),
        skills,
    )


async def skill_labels(conn: Connection, uris: list[str], language: str | None) -> dict[str, str]:
    """The ESCO skills' labels in ``language`` (else English, else any)."""
    return {r["uri"]: r["label"] for r in await conn.fetch(q.esco_skill_labels, uris, language)} if uris else {}


def _skill(s: _TargetSkill) -> Skill:
    return Skill(key=s.key, esco_skill_uri=s.uri, label=s.label, relation=s.relation)  # type: ignore[arg-type]


def _offer(row: Mapping[str, Any]) -> ranking.Offer:
    return ranking.Offer(
        programme_id=row["design_id"],
        unit_key=row["unit_key"],
        covers_essential=frozenset(row["covers_essential"]),
        covers_optional=frozenset(row["covers_optional"]),
        hours=row["hours"],
        eqf_level=row["eqf_level"],
        languages=tuple(row["languages"]),
        country=row["country"],
        region=row["region"],
        validity_months=row["validity_months"],
        quality_assurance_type=row["quality_assurance_type"],
        extra=row,
    )


def _recommendation(
    number: int, offer: ranking.Offer, key: Any, missing: int, language: str | None, public_url: str
) -> Recommendation:
    row = offer.extra
    unit = offer.unit_key or None
    return Recommendation(
        rank=number,
        kind="unit" if unit else "programme",
        programme_id=offer.programme_id,
        version=row["number"],
        unit_key=unit,
        title=row["title"],
        label=label(row["title"], language or row["default_language"], str(offer.programme_id)),
        programme_title=row["programme_title"],
        register_url=f"{public_url}/register/programmes/{offer.programme_id}",
        covers_essential=sorted(offer.covers_essential),
        covers_optional=sorted(offer.covers_optional),
        languages=list(offer.languages),
        country=offer.country,
        region=offer.region,
        quality_assurance_type=offer.quality_assurance_type,  # type: ignore[arg-type]
        ranking_key=key,
        why=ranking.explain(number, key, missing),
    )


async def gap(db: Database, request: GapRequest, person_id: UUID | None, public_url: str) -> GapReport:
    """What the person's skills lack for the target, and the published training that closes the gap."""
    if request.use_portfolio and person_id is None:
        raise InvalidInput("usePortfolio needs a learner's token (authorization-code flow) to know whose portfolio")
    preferences = request.preferences or Preferences()
    language = preferences.language
    async with db.connection() as conn:
        target = await _target(conn, request, language)
        held = await person_skills(conn, request.skills, person_id if request.use_portfolio else None)
        missing = [s for s in target.skills if s.uri is None or s.uri not in held.evidence]
        missing_essential = [s.uri for s in missing if s.relation == "essential" and s.uri]
        missing_optional = [s.uri for s in missing if s.relation == "optional" and s.uri]
        rows: list[Any] = []
        offered: set[str] = set()
        if missing_essential or missing_optional:
            # One more than shown, so that the last one shown can say what put it above the next.
            rows = await conn.fetch(
                q.ranked_offers,
                missing_essential,
                missing_optional,
                preferences.eqf_level,
                preferences.language,
                preferences.country,
                preferences.region,
                list(ranking.QUALITY_ASSURANCE_ORDER),
                request.limit + 1,
            )
            offered = set(rows[0]["offered_skills"]) if rows else set()
    ranked = ranking.rank([_offer(r) for r in rows], preferences)[: request.limit]

    def covered(relation: str) -> list[CoveredSkill]:
        return [
            CoveredSkill(
                key=s.key,
                esco_skill_uri=s.uri,
                label=s.label,
                relation=s.relation,  # type: ignore[arg-type]
                covered_by=held.evidence[s.uri],
            )
            for s in target.skills
            if s.relation == relation and s.uri is not None and s.uri in held.evidence
        ]

    essential_total = sum(1 for s in target.skills if s.relation == "essential")
    essential_covered = covered("essential")
    return GapReport(
        target=target.target,
        skills_considered=len(held.evidence),
        credentials_considered=held.credentials,
        essential_covered=essential_covered,
        optional_covered=covered("optional"),
        essential_missing=[_skill(s) for s in missing if s.relation == "essential"],
        optional_missing=[_skill(s) for s in missing if s.relation == "optional"],
        essential_coverage=round(len(essential_covered) / essential_total, 4) if essential_total else 1.0,
        recommendations=[
            _recommendation(i, offer, key, len(missing_essential), language, public_url)
            for i, (offer, key) in enumerate(ranked, start=1)
        ],
        essential_not_offered=sorted(set(missing_essential) - offered),
    )


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii"))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("the cursor is not one this API returned; start again without it") from exc
    if not 0 < offset <= 1_000_000:
        raise InvalidInput("the cursor is not one this API returned; start again without it")
    return offset


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


async def closest_occupations(
    db: Database,
    skills: list[str],
    person_id: UUID | None,
    *,
    language: str | None,
    cursor: str | None,
    limit: int,
) -> OccupationMatchPage:
    """The ESCO occupations whose essential skills the person's skills cover the largest share of."""
    offset = _offset(cursor)
    async with db.connection() as conn:
        held = await person_skills(conn, skills, person_id)
        uris = sorted(held.evidence)
        rows = await conn.fetch(q.closest_occupations, uris, offset, limit + 1, language) if uris else []
        labels = await skill_labels(conn, sorted({m for r in rows[:limit] for m in r["missing"]}), language)
    items = [
        OccupationMatch(
            esco_occupation_uri=r["uri"],
            label=r["label"] or r["uri"],
            isco_code=r["isco_code"],
            essential=r["essential"],
            essential_covered=r["covered"],
            share=round(r["share"], 4),
            missing_essential=[
                Skill(key=m, esco_skill_uri=m, label=labels.get(m, m), relation="essential")
                for m in sorted(r["missing"], key=lambda m: str(labels.get(m, m)).casefold())
            ],
        )
        for r in rows[:limit]
    ]
    return OccupationMatchPage(
        skills_considered=len(uris),
        items=items,
        next_cursor=_cursor(offset + limit) if len(rows) > limit else None,
    )
