"""Gathers what a credential says (``CredentialFacts``) from the database.

Published programme versions and profile versions never change, so their parsed content is cached
for the life of the process: issuing a cohort parses each programme once, not once per learner.
Organisations (names, accreditations) can change and are read every time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from assessment import parse_decision, parse_specification
from domain.credentials.document import AssessmentFacts, CredentialFacts, Foundation, Languages, Party, text
from domain.credentials.keys import did_web
from domain.db import Connection
from domain.designs.content import CONTENT_TYPES, ProgrammeContent, QualificationContent, Unit
from domain.organisations.service import fetch_organisations
from domain.profiles.models import ProfileVersion
from domain.profiles.service import fetch_profile_version
from domain.sql import load_queries

q = load_queries(__file__, "issuing.sql")

_CACHE_SIZE = 256
_contents: OrderedDict[UUID, ProgrammeContent | QualificationContent] = OrderedDict()
_profiles: OrderedDict[UUID, ProfileVersion] = OrderedDict()


def _remember(cache: OrderedDict[UUID, Any], key: UUID, value: Any) -> None:
    cache[key] = value
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


def published_content(version_id: UUID, kind: str, content: Any) -> ProgrammeContent | QualificationContent:
    """The parsed content of a published version (cached: a published version is immutable)."""
    cached = _contents.get(version_id)
    if cached is None:
        cached = msgspec.convert(content, CONTENT_TYPES[kind], strict=False)
        _remember(_contents, version_id, cached)
    return cached


async def profile_version(conn: Connection, version_id: UUID | None) -> ProfileVersion | None:
    if version_id is None:
        return None
    cached = _profiles.get(version_id)
    if cached is None:
        cached = await fetch_profile_version(conn, version_id)
        _remember(_profiles, version_id, cached)
    return cached


def unit_of(content: ProgrammeContent | QualificationContent, unit_key: str | None) -> Unit | None:
    if unit_key is None or not isinstance(content, ProgrammeContent):
        return None
    return next((u for u in content.units if u.key == unit_key), None)


async def parties(conn: Connection, public_url: str, ids: list[UUID | None]) -> list[Party | None]:
    wanted = [i for i in ids if i is not None]
    by_id = {o.id: Party(o, did_web(public_url, o.id)) for o in await fetch_organisations(conn, wanted)}
    return [by_id.get(i) if i is not None else None for i in ids]


async def _foundations(conn: Connection, ids: list[UUID], language: Languages) -> list[Foundation]:
    if not ids:
        return []
    result = []
    for row in await conn.fetch(q.foundations, ids):
        content = published_content(row["version_id"], "programme", row["content"])
        assert isinstance(content, ProgrammeContent)
        unit = unit_of(content, row["unit_key"])
        units = [unit] if unit else content.units
        title = text(content.title, language) or ""
        if unit is not None:
            title = f"{title}: {text(unit.title, language)}"
        outcomes = [
            {"id": f"urn:guildhall:outcome:{u.key}/{o.key}", "title": text(o.text, language)}
            for u in units
            for o in u.learning_outcomes
        ]
        hours = [u.workload_hours for u in units if u.workload_hours]
        credits = [u.ects_credits for u in units if u.ects_credits is not None]
        result.append(
            Foundation(
                credential_id=row["id"],
                title=title,
                outcomes=outcomes,
                form_of_participation=content.form_of_participation,
                hours=sum(hours) if hours else None,
                credits=sum(credits) if credits else None,
            )
        )
    return result


async def load(
    conn: Connection,
    row: Mapping[str, Any],
    *,
    public_url: str,
    issued_at: datetime,
    valid_until: datetime | None,
    credential_status: dict[str, Any] | None,
) -> CredentialFacts:
    """The facts of the credential ``row`` (from ``credential_for_signing``)."""
    kind = "qualification" if row["kind"] == "qualification" else "programme"
    content = published_content(row["version_id"], kind, row["content"])
    unit = unit_of(content, row["unit_key"])
    awarding, provider, cosigner = await parties(
        conn, public_url, [row["awarding_body_id"], row["provider_id"], row["cosigner_id"]]
    )
    assert awarding is not None and provider is not None
    assessment = None
    recognised: list[Any] = []
    attempt = await conn.fetchrow(q.attempt_facts, row["attempt_id"]) if row["attempt_id"] is not None else None
    if attempt is not None and attempt["source"] == "prior_learning":
        recognised = list(attempt["evidence"])  # recognised credentials, not an assessment against the unit's
    elif attempt is not None and unit is not None and unit.assessment is not None:
        assessment = AssessmentFacts(
            specification=parse_specification(unit.assessment),
            decision=parse_decision(attempt["decision"]),
            assessed_at=attempt["assessed_at"],
            supervision=attempt["supervision"],
            place=attempt["place"],
            evidence=list(attempt["evidence"]),
        )
    profile = await profile_version(conn, content.profile_version_id) if isinstance(content, ProgrammeContent) else None
    endorsements = [
        r["jwt"] for r in await conn.fetch(q.endorsement_jwts, row["design_id"], row["unit_key"], row["version_number"])
    ]
    facts = CredentialFacts(
        id=row["id"],
        kind=row["kind"],
        issued_at=issued_at,
        valid_until=valid_until,
        learner_name=row["learner_name"],
        learner_email=row["learner_email"],
        email_salt=row["email_salt"],
        awarding_body=awarding,
        provider=provider,
        cosigner=cosigner,
        design_id=row["design_id"],
        version_number=row["version_number"],
        content=content,
        unit=unit,
        profile=profile,
        assessment=assessment,
        recognised=recognised,
        endorsements=endorsements,
        credential_status=credential_status,
        preferred_language=row["learner_language"],
    )
    return replace(facts, stands_on=await _foundations(conn, list(row["stands_on"]), facts.languages))
