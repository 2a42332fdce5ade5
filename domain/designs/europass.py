"""The Europass LOQ dataset of the public register, read from the database (``loq`` builds it)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.credentials.facts import profile_version, published_content
from domain.credentials.keys import did_web
from domain.db import Connection, Database
from domain.designs import loq
from domain.designs.content import ProgrammeContent, QualificationContent, Unit
from domain.sql import load_queries

q = load_queries(__file__, "europass.sql")
REGISTER_PATH = "/register"


@dataclass(frozen=True)
class Dataset:
    """The dataset, its strong ETag (of its JSON) and when the register last changed (for Last-Modified)."""

    document: dict[str, Any]
    etag: str
    last_modified: datetime | None


async def _skills(conn: Connection, contents: Iterable[ProgrammeContent]) -> dict[str, tuple[str, loq.LanguageMap]]:
    """Competence key -> (ESCO skill URI, title), over the profiles of ``contents``."""
    found: dict[str, tuple[str, loq.LanguageMap]] = {}
    for content in contents:
        profile = await profile_version(conn, content.profile_version_id)
        for competence in profile.competences if profile is not None else []:
            if competence.esco_skill_uri:
                found.setdefault(competence.key, (competence.esco_skill_uri, competence.title))
    return found


def _ids(contents: Iterable[ProgrammeContent | QualificationContent]) -> set[UUID]:
    ids: set[UUID] = set()
    for content in contents:
        ids |= {
            i for i in (content.awarding_body_id, content.quality_assurance and content.quality_assurance.body_id) if i
        }
        if isinstance(content, ProgrammeContent):
            ids |= set(content.provider_ids)
    return ids


async def _qualification_units(
    conn: Connection, contents: Mapping[UUID, QualificationContent]
) -> dict[UUID, list[tuple[UUID, Unit]]]:
    """The units each qualification's rule names, as their programmes last published them."""
    refs = {
        design_id: [
            *(content.rule.all_of if content.rule else []),
            *(r for a in (content.rule.at_least if content.rule else []) for r in a.of),
        ]
        for design_id, content in contents.items()
    }
    programme_ids = list({r.programme_id for named in refs.values() for r in named})
    programmes: dict[UUID, ProgrammeContent] = {}
    for row in await conn.fetch(q.latest_published_contents, programme_ids) if programme_ids else []:
        parsed = published_content(row["version_id"], "programme", row["content"])
        assert isinstance(parsed, ProgrammeContent)
        programmes[row["design_id"]] = parsed
    units: dict[UUID, list[tuple[UUID, Unit]]] = {}
    for design_id, named in refs.items():
        units[design_id] = [
            (r.programme_id, u)
            for r in named
            if r.programme_id in programmes
            for u in programmes[r.programme_id].units
            if u.key == r.unit_key
        ]
    return units


async def loq_dataset(db: Database, public_url: str) -> Dataset:
    """Every programme and qualification in the public register (not withdrawn), as one LOQ document."""
    register_url = public_url + REGISTER_PATH
    async with db.connection() as conn:
        rows = await conn.fetch(q.register_versions)
        programmes_rows = [r for r in rows if r["kind"] == "programme"]
        qualification_rows = [r for r in rows if r["kind"] == "qualification"]
        contents: dict[UUID, Any] = {
            r["design_id"]: published_content(r["version_id"], r["kind"], r["content"]) for r in rows
        }
        programmes = []
        for row in programmes_rows:
            content = contents[row["design_id"]]
            programmes.append(
                loq.PublishedProgramme(
                    row["design_id"], row["number"], row["published_at"], content, await _skills(conn, [content])
                )
            )
        units = await _qualification_units(conn, {r["design_id"]: contents[r["design_id"]] for r in qualification_rows})
        qualifications = []
        for row in qualification_rows:
            named = units.get(row["design_id"], [])
            referenced = [c for c in await _referenced_programmes(conn, named)]
            qualifications.append(
                loq.PublishedQualification(
                    row["design_id"],
                    row["number"],
                    row["published_at"],
                    contents[row["design_id"]],
                    named,
                    await _skills(conn, referenced),
                )
            )
        party_rows = await conn.fetch(q.parties, list(_ids(contents.values())))
        withdrawn = await conn.fetchval(q.last_withdrawal)
    parties = {
        r["id"]: loq.Party(r["id"], did_web(public_url, r["id"]), dict(r["name"]), r["country"], r["website"])
        for r in party_rows
    }
    document = loq.dataset(programmes, qualifications, parties, register_url)
    body = msgspec.json.encode(document)
    moments = (
        [r["published_at"] for r in rows] + [r["updated_at"] for r in party_rows] + ([withdrawn] if withdrawn else [])
    )
    return Dataset(document, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', max(moments) if moments else None)


async def _referenced_programmes(conn: Connection, named: list[tuple[UUID, Unit]]) -> list[ProgrammeContent]:
    ids = list({programme_id for programme_id, _ in named})
    found = []
    for row in await conn.fetch(q.latest_published_contents, ids) if ids else []:
        parsed = published_content(row["version_id"], "programme", row["content"])
        assert isinstance(parsed, ProgrammeContent)
        found.append(parsed)
    return found
