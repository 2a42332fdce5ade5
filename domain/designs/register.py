"""The public register: published programmes and qualifications, searchable without a token."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.db import Connection
from domain.designs.content import ProgrammeContent, QualificationContent
from domain.designs.models import DesignKind
from domain.pagination import decode_cursor, encode_cursor
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


async def publish(
    conn: Connection,
    kind: DesignKind,
    design_id: UUID,
    number: int,
    version_id: UUID,
    content: ProgrammeContent | QualificationContent,
) -> None:
    occupation = isco = None
    levels = {content.eqf_level} if content.eqf_level else set()
    languages: list[str] = []
    providers: list[UUID] = []
    if isinstance(content, ProgrammeContent):
        if content.profile_version_id is not None:
            profile = await fetch_profile_version(conn, content.profile_version_id)
            occupation, isco = profile.esco_occupation_uri, profile.isco_code
        levels |= {u.eqf_level for u in content.units if u.eqf_level}
        languages, providers = content.languages, content.provider_ids
    await conn.execute(q.retire_entries, design_id)
    await conn.execute(
        q.insert_entry,
        version_id,
        design_id,
        kind,
        number,
        content.title,
        content.default_language,
        _texts(content),
        occupation,
        isco,
        sorted(levels),
        languages,
        providers,
        content.awarding_body_id,
        content.quality_assurance.type if content.quality_assurance else None,
    )


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
