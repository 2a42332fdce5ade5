"""The public register: published programmes and qualifications, searchable without a token."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.db import Connection
from domain.designs.content import ProgrammeContent, QualificationContent, Unit
from domain.designs.folding import fold, prefix_query
from domain.designs.models import DesignKind
from domain.pagination import decode_cursor, encode_cursor
from domain.profiles.models import ProfileVersion
from domain.profiles.service import fetch_profile_version
from domain.sql import load_queries
from domain.structs import Model, Page, from_row

q = load_queries(__file__, "register.sql")

# Languages PostgreSQL stems; others are searched word for word ('simple').
TEXT_SEARCH_CONFIGS = {
    "da": "danish",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "it": "italian",
    "nl": "dutch",
    "nb": "norwegian",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}


class RegisterEntry(Model):
    design_id: UUID
    kind: DesignKind
    number: int
    title: dict[str, str]
    default_language: str
    esco_occupation_uri: str | None
    isco_code: str | None
    eqf_levels: list[int]
    country: str | None
    languages: list[str]
    provider_ids: list[UUID]
    awarding_body_id: UUID | None
    quality_assurance_type: str | None
    published_at: datetime


class RegisterPage(Page):
    items: list[RegisterEntry]


def _texts(content: ProgrammeContent | QualificationContent) -> dict[str, str]:
    """All the searchable text of a version, by language."""
    pieces: list[dict[str, str] | None] = [content.title, content.description]
    if isinstance(content, ProgrammeContent):
        pieces += [content.type_of_assessment, content.further_information]
        for unit in content.units:
            pieces += [unit.title, unit.description, *(o.text for o in unit.learning_outcomes)]
    by_language: dict[str, list[str]] = {}
    for piece in pieces:
        for language, text in (piece or {}).items():
            by_language.setdefault(language, []).append(text)
    return {language: "\n".join(texts) for language, texts in by_language.items()}


def _offers(content: ProgrammeContent, profile: ProfileVersion | None) -> list[tuple[str, Any]]:
    """What guidance can recommend of a programme: the whole, and each unit certifiable alone (when there
    are several), with the ESCO skills their learning outcomes are mapped to and their hours and level."""
    skill_of = {c.key: c.esco_skill_uri for c in (profile.competences if profile else []) if c.esco_skill_uri}

    def skills(units: list[Unit]) -> list[str]:
        keys = {k for u in units for o in u.learning_outcomes for k in o.competences}
        return sorted({skill_of[k] for k in keys if k in skill_of})

    hours = [u.workload_hours for u in content.units if u.workload_hours]
    whole = (
        "",
        content.title or {},
        sum(hours) if hours else None,
        content.eqf_level or max((u.eqf_level for u in content.units if u.eqf_level), default=None),
        skills(content.units),
    )
    offers: list[tuple[str, Any]] = [(whole[0], whole[1:])]
    if len(content.units) > 1:
        offers += [
            (u.key, (u.title, u.workload_hours, u.eqf_level or content.eqf_level, skills([u])))
            for u in content.units
            if u.certifiable_alone
        ]
    return offers


async def publish(
    conn: Connection,
    kind: DesignKind,
    design_id: UUID,
    number: int,
    version_id: UUID,
    content: ProgrammeContent | QualificationContent,
) -> None:
    occupation = isco = None
    profile = None
    levels = {content.eqf_level} if content.eqf_level else set()
    languages: list[str] = []
    providers: list[UUID] = []
    if isinstance(content, ProgrammeContent):
        if content.profile_version_id is not None:
            profile = await fetch_profile_version(conn, content.profile_version_id)
            occupation, isco = profile.esco_occupation_uri, profile.isco_code
        levels |= {u.eqf_level for u in content.units if u.eqf_level}
        languages, providers = content.languages, content.provider_ids
    texts = _texts(content)
    await conn.execute(q.retire_entries, design_id)
    await conn.execute(
        q.insert_entry,
        version_id,
        design_id,
        kind,
        number,
        content.title,
        content.default_language,
        texts,
        occupation,
        isco,
        sorted(levels),
        languages,
        providers,
        content.awarding_body_id,
        content.quality_assurance.type if content.quality_assurance else None,
        {language: fold(text) for language, text in texts.items()},
    )
    if isinstance(content, ProgrammeContent):
        await conn.executemany(
            q.insert_offer,
            [
                (version_id, key, title, hours, eqf, skills, content.title or {}, content.validity_months)
                for key, (title, hours, eqf, skills) in _offers(content, profile)
            ],
        )
        await conn.execute(q.insert_offer_skills, version_id)


async def withdraw(conn: Connection, design_id: UUID) -> None:
    """The design leaves the register's search (a new published version lists it again)."""
    await conn.execute(q.retire_entries, design_id)


async def search(
    conn: Connection,
    kind: DesignKind,
    *,
    text: str | None,
    language: str | None,
    occupation: str | None,
    isco: str | None,
    eqf_level: int | None,
    country: str | None,
    taught_in: str | None,
    provider: UUID | None,
    awarding_body: UUID | None,
    quality_assurance: str | None,
    cursor: str | None,
    limit: int,
) -> RegisterPage:
    after = decode_cursor(cursor)
    lang = language or "en"
    rows = await conn.fetch(
        q.search,
        kind,
        text or None,
        prefix_query(text) if text else None,
        TEXT_SEARCH_CONFIGS.get(lang, "simple"),
        lang,
        occupation,
        isco,
        eqf_level,
        country,
        taught_in,
        provider,
        awarding_body,
        quality_assurance,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    items = [from_row(RegisterEntry, r) for r in rows[:limit]]
    more = len(rows) > limit
    return RegisterPage(
        items=items,
        next_cursor=encode_cursor(rows[limit - 1]["published_at"], rows[limit - 1]["version_id"]) if more else None,
    )


async def published_numbers(conn: Connection, kind: DesignKind, design_id: UUID) -> list[int]:
    return [r["number"] for r in await conn.fetch(q.published_numbers, design_id, kind)]
