"""What the ELM export reads beside the signed credential (``elm.Translations``), from the database.

The signed Open Badges credential is in one language; the programme's version (published, so immutable) has its
texts in every language its authors gave. This gathers those language maps, keyed as the credential names its
parts (outcome ids, ESCO skill URIs, DIDs), and the organisations behind its quality assurance and its awarding
body's accreditations, so that the export can say the same things in every language and name who assures them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from domain.credentials import envelopes
from domain.credentials.document import Party
from domain.credentials.elm import Agent, LanguageMap, Translations, european_learning_credential
from domain.credentials.facts import parties, profile_version, published_content, unit_of
from domain.db import Connection, Database
from domain.designs.content import ProgrammeContent, Unit
from domain.organisations.models import Organisation
from domain.sql import load_queries

q = load_queries(__file__, "elm.sql")
facts_q = load_queries(__file__, "issuing.sql")


def _joined(first: LanguageMap | None, second: LanguageMap | None) -> LanguageMap | None:
    """``first: second`` in each language both have (a unit's title after its programme's)."""
    if not first or not second:
        return None
    return {code: f"{first[code]}: {second[code]}" for code in first if first.get(code) and second.get(code)}


def _either(first: LanguageMap | None, second: LanguageMap | None) -> LanguageMap | None:
    """``first`` in each language it has, else ``second`` (a unit's description, else its programme's)."""
    if not first and not second:
        return None
    merged = dict(second or {})
    merged.update({code: value for code, value in (first or {}).items() if value})
    return merged


def _outcomes(units: Iterable[Unit]) -> dict[str, LanguageMap]:
    return {f"urn:guildhall:outcome:{u.key}/{o.key}": dict(o.text) for u in units for o in u.learning_outcomes}


def _agent(party: Party) -> Agent:
    return Agent(id=party.did, name=dict(party.organisation.name), country=party.organisation.country)


async def translations(conn: Connection, credential_id: UUID, public_url: str) -> Translations:
    """The texts and agents of credential ``credential_id`` for its ELM export (empty for one not found)."""
    row = await conn.fetchrow(q.elm_sources, credential_id)
    if row is None:
        return Translations()
    kind = "qualification" if row["kind"] == "qualification" else "programme"
    content = published_content(row["version_id"], kind, row["content"])
    unit = unit_of(content, row["unit_key"])
    qa = content.quality_assurance
    found = await parties(
        conn,
        public_url,
        [row["awarding_body_id"], row["provider_id"], row["cosigner_id"], qa.body_id if qa is not None else None],
    )
    named = [p for p in found if p is not None]
    qa_body = found[3]
    accrediting = await _accrediting_bodies(conn, public_url, [p.organisation for p in named])

    outcomes: dict[str, LanguageMap] = {}
    skills: dict[str, LanguageMap] = {}
    texts: dict[str, LanguageMap | None] = {}
    if isinstance(content, ProgrammeContent):
        units = [unit] if unit is not None else content.units
        outcomes = _outcomes(units)
        profile = await profile_version(conn, content.profile_version_id)
        if profile is not None:
            skills = {c.esco_skill_uri: dict(c.title) for c in profile.competences if c.esco_skill_uri}
        texts = {
            "type_of_assessment": content.type_of_assessment,
            "prerequisites": content.prerequisites,
            "further_information": content.further_information,
        }
    else:
        for foundation in await conn.fetch(facts_q.foundations, list(row["stands_on"])):
            stood_on = published_content(foundation["version_id"], "programme", foundation["content"])
            if isinstance(stood_on, ProgrammeContent):
                base = unit_of(stood_on, foundation["unit_key"])
                outcomes |= _outcomes([base] if base is not None else stood_on.units)
    title = _joined(content.title, unit.title) if unit is not None else content.title
    description = _either(unit.description, content.description) if unit is not None else content.description
    return Translations(
        title=title,
        description=description,
        outcomes=outcomes,
        skills=skills,
        type_of_assessment=texts.get("type_of_assessment"),
        quality_assurance=qa.description if qa is not None else None,
        prerequisites=texts.get("prerequisites"),
        further_information=texts.get("further_information"),
        organisations={p.did: _agent(p) for p in named},
        quality_assurance_body=_agent(qa_body) if qa_body is not None else None,
        accrediting_bodies=accrediting,
    )


async def _accrediting_bodies(conn: Connection, public_url: str, organisations: list[Organisation]) -> dict[str, Agent]:
    """The accrediting bodies that are organisations here, by the name the credential gives them."""
    by_name = {
        a.accrediting_body_name: a.accrediting_organisation_id
        for o in organisations
        for a in o.accreditations
        if a.current and a.accrediting_organisation_id is not None
    }
    found = await parties(conn, public_url, list(by_name.values()))
    return {name: _agent(p) for name, p in zip(by_name, found, strict=True) if p is not None}


async def elm_document(db: Database, row: Mapping[str, Any], public_url: str) -> dict[str, Any]:
    """The ELM v3 export of a signed credential ``row``: its payload, with the programme's texts in every
    language (unsigned: ELM is an export; the signed forms are the VC-JWT, the JWS and the JSON)."""
    async with db.connection() as conn:
        texts = await translations(conn, row["id"], public_url)
    return european_learning_credential(envelopes.credential_json(row["payload"]), texts)
