"""Creating, versioning, reading and listing occupational profiles."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from domain.db import Connection, Database
from domain.errors import Forbidden, InvalidInput, NotFound, PreconditionFailed
from domain.oauth.principals import Principal
from domain.pagination import decode_cursor, encode_cursor
from domain.profiles.models import (
    COMPETENCE_SLUG_PATTERN,
    Competence,
    ImportedProfile,
    ProfileCreate,
    ProfileVersion,
    ProfileVersionPage,
)
from domain.scopes import Role
from domain.sql import load_queries
from domain.structs import from_row
from domain.writes import Actor, IdempotencyKey, Write, write

q = load_queries(__file__)

_SLUG = re.compile(COMPETENCE_SLUG_PATTERN)
_ISCO_PREFIX = re.compile(r"^[0-9]{1,4}$")
PROFILE_EDITING_ROLES: frozenset[Role] = frozenset({"admin", "author"})


def competences_of(data: ProfileCreate) -> list[Competence]:
    """The competences as stored, with their keys settled; raises InvalidInput naming every problem."""
    language = data.default_language
    problems = []
    if language not in data.title:
        problems.append(f"title has no text in the default language {language!r}")
    if data.description is not None and language not in data.description:
        problems.append(f"description has no text in the default language {language!r}")
    competences: list[Competence] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(data.competences):
        where = f"competences[{index}]"
        key = item.key
        if item.esco_skill_uri is not None:
            if key is not None and key != item.esco_skill_uri:
                problems.append(f"{where}.key must be its escoSkillUri (or be left out), not {key!r}")
            key = item.esco_skill_uri
        elif key is None:
            problems.append(f"{where} needs an escoSkillUri, or a key such as 'weld-inspection'")
            continue
        elif not _SLUG.match(key):
            problems.append(
                f"{where}.key {key!r} is not a valid key: without an escoSkillUri, use lower-case letters, "
                "digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters"
            )
        if language not in item.title:
            problems.append(f"{where}.title has no text in the default language {language!r}")
        if key in first_index:
            problems.append(f"{where} repeats the key {key!r} of competences[{first_index[key]}]")
        first_index.setdefault(key, index)
        competences.append(
            Competence(key=key, esco_skill_uri=item.esco_skill_uri, title=dict(item.title), relation=item.relation)
        )
    if problems:
        raise InvalidInput("; ".join(problems))
    return competences


async def fetch_profile_version(conn: Connection, version_id: UUID) -> ProfileVersion:
    row = await conn.fetchrow(q.select_version_by_id, version_id)
    if row is None:
        raise NotFound(f"there is no occupational profile version {version_id}")
    return from_row(ProfileVersion, row)


async def fetch_latest_version(conn: Connection, profile_id: UUID) -> ProfileVersion:
    row = await conn.fetchrow(q.select_latest_version, profile_id)
    if row is None:
        raise NotFound(f"there is no occupational profile {profile_id}")
    return from_row(ProfileVersion, row)


async def get_profile(db: Database, profile_id: UUID) -> ProfileVersion:
    """The profile's latest version."""
    async with db.connection() as conn:
        return await fetch_latest_version(conn, profile_id)


async def get_profile_version(db: Database, profile_id: UUID, number: int) -> ProfileVersion:
    async with db.connection() as conn:
        row = await conn.fetchrow(q.select_version_by_number, profile_id, number)
        if row is None:
            await fetch_latest_version(conn, profile_id)  # says so if the profile itself is unknown
            raise NotFound(f"occupational profile {profile_id} has no version {number}")
    return from_row(ProfileVersion, row)


async def get_version(db: Database, version_id: UUID) -> ProfileVersion:
    async with db.connection() as conn:
        return await fetch_profile_version(conn, version_id)


async def list_profiles(
    db: Database,
    *,
    cursor: str | None,
    limit: int,
    occupation: str | None = None,
    isco: str | None = None,
    text: str | None = None,
) -> ProfileVersionPage:
    """The latest version of each profile, filtered by ESCO occupation, ISCO-08 prefix and title text."""
    if isco is not None and not _ISCO_PREFIX.match(isco):
        raise InvalidInput(f"isco {isco!r} is not an ISCO-08 code or prefix (1 to 4 digits)")
    after = decode_cursor(cursor)
    async with db.connection() as conn:
        rows = await conn.fetch(
            q.list_latest_versions,
            after[0] if after else None,
            after[1] if after else None,
            occupation,
            isco,
            text,
            limit + 1,
        )
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return ProfileVersionPage(
        items=[from_row(ProfileVersion, r) for r in rows[:limit]],
        next_cursor=encode_cursor(last["profile_created_at"], last["profile_id"]) if last else None,
    )


async def _insert_version(
    w: Write, profile_id: UUID, number: int, data: ProfileCreate, competences: list[Competence]
) -> ProfileVersion:
    version_id = await w.conn.fetchval(
        q.insert_version,
        profile_id,
        number,
        data.title,
        data.default_language,
        data.esco_occupation_uri,
        data.isco_code,
        data.description,
        competences,
    )
    return await fetch_profile_version(w.conn, version_id)


def _audit_details(version: ProfileVersion, **extra: Any) -> dict[str, Any]:
    return {
        "versionId": str(version.id),
        "number": version.number,
        "escoOccupationUri": version.esco_occupation_uri,
        **extra,
    }


async def _create(w: Write, data: ProfileCreate, competences: list[Competence]) -> ProfileVersion:
    profile_id = await w.conn.fetchval(q.insert_profile, w.actor.organisation_id)
    version = await _insert_version(w, profile_id, 1, data, competences)
    await w.audit(
        "occupational_profile.created",
        "occupational_profile",
        profile_id,
        w.actor.organisation_id,
        _audit_details(version),
    )
    return version


async def _add_version(
    w: Write, latest: ProfileVersion, data: ProfileCreate, competences: list[Competence]
) -> ProfileVersion:
    version = await _insert_version(w, latest.profile_id, latest.number + 1, data, competences)
    await w.audit(
        "occupational_profile.version_added",
        "occupational_profile",
        latest.profile_id,
        w.actor.organisation_id,
        _audit_details(version),
    )
    return version


async def create_profile(
    db: Database, actor: Actor, data: ProfileCreate, idempotency: IdempotencyKey | None = None
) -> ProfileVersion:
    """Creates a profile with ``data`` as its version 1."""
    competences = competences_of(data)
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(ProfileVersion)
        version = await _create(w, data, competences)
        await w.remember(version)
    return version


async def add_profile_version(
    db: Database,
    principal: Principal,
    profile_id: UUID,
    expected_number: int,
    data: ProfileCreate,
    idempotency: IdempotencyKey | None = None,
) -> ProfileVersion:
    """Adds a version whose content is ``data``, if the latest is still ``expected_number``.

    Only the organisation that created the profile (its admins and authors) and the operator may.
    """
    competences = competences_of(data)
    async with write(db, principal.actor(), idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(ProfileVersion)
        owner = await w.conn.fetchrow(q.lock_profile, profile_id)
        if owner is None:
            raise NotFound(f"there is no occupational profile {profile_id}")
        _require_owner(principal, profile_id, owner["created_by"])
        latest = await fetch_latest_version(w.conn, profile_id)
        if latest.number != expected_number:
            raise PreconditionFailed(
                f"occupational profile {profile_id} is at version {latest.number}, not {expected_number}: "
                "someone added a version; read it again and re-apply your change",
                currentVersion=latest.number,
            )
        version = await _add_version(w, latest, data, competences)
        await w.remember(version)
    return version


def _require_owner(principal: Principal, profile_id: UUID, owner: UUID | None) -> None:
    if principal.is_operator:
        return
    if owner is None:
        raise Forbidden(f"occupational profile {profile_id} belongs to the platform; only its operator adds versions")
    if owner not in principal.organisations():
        raise Forbidden(
            f"occupational profile {profile_id} belongs to organisation {owner}; only it adds versions "
            "(write a profile of your own with POST /occupational-profiles)"
        )
    principal.require_role(owner, PROFILE_EDITING_ROLES)


def _same_content(version: ProfileVersion, data: ProfileCreate, competences: list[Competence]) -> bool:
    return (
        version.title == data.title
        and version.default_language == data.default_language
        and version.esco_occupation_uri == data.esco_occupation_uri
        and version.isco_code == data.isco_code
        and version.description == data.description
        and version.competences == competences
    )


async def _store_one(w: Write, uri: str, data: ProfileCreate, competences: list[Competence]) -> ImportedProfile:
    profile_id = await w.conn.fetchval(q.profile_of_occupation, uri, w.actor.organisation_id)
    if profile_id is None:
        return ImportedProfile(esco_occupation_uri=uri, outcome="created", profile=await _create(w, data, competences))
    await w.conn.execute(q.lock_profile, profile_id)
    latest = await fetch_latest_version(w.conn, profile_id)
    if _same_content(latest, data, competences):
        return ImportedProfile(esco_occupation_uri=uri, outcome="unchanged", profile=latest)
    version = await _add_version(w, latest, data, competences)
    return ImportedProfile(esco_occupation_uri=uri, outcome="new_version", profile=version)


async def store_imported(db: Database, actor: Actor, profiles: Sequence[ProfileCreate]) -> list[ImportedProfile]:
    """Stores imported profiles, each naming its ESCO occupation, in one transaction.

    An occupation without a profile gets one; a profile whose content differs gets a new
    version; an unchanged one is left alone, so importing the same files twice changes nothing.
    """
    checked = []
    for data in profiles:
        if data.esco_occupation_uri is None:
            raise InvalidInput("an imported profile must name its ESCO occupation")
        checked.append((data.esco_occupation_uri, data, competences_of(data)))
    async with write(db, actor) as w:
        # All locks first, in one order, so that two overlapping imports cannot deadlock.
        for uri in sorted({uri for uri, _, _ in checked}):
            await w.conn.execute(q.lock_occupation_import, uri)
        return [await _store_one(w, uri, data, competences) for uri, data, competences in checked]
