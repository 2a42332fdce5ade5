"""Registering learners at a provider and enrolling them in published programmes."""

from __future__ import annotations

import secrets
from uuid import UUID

import asyncpg
from msgspec import UNSET

from domain.db import Connection, Database
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from domain.learners.models import (
    Enrolment,
    EnrolmentCreate,
    EnrolmentPage,
    ExternalIdentifier,
    Learner,
    LearnerCreate,
    LearnerPage,
    LearnerUpdate,
)
from domain.pagination import decode_cursor, next_cursor
from domain.people import canonical_email
from domain.sql import load_queries
from domain.structs import from_row
from domain.writes import Actor, IdempotencyKey, write

q = load_queries(__file__)


async def fetch_learner(conn: Connection, provider_id: UUID, learner_id: UUID) -> Learner:
    rows = await conn.fetch(q.select_learners, provider_id, learner_id, None, None, None, None, 1)
    if not rows:
        raise NotFound(f"provider {provider_id} has no learner {learner_id}")
    return from_row(Learner, rows[0])


async def get_learner(db: Database, provider_id: UUID, learner_id: UUID) -> Learner:
    async with db.connection() as conn:
        return await fetch_learner(conn, provider_id, learner_id)


async def list_learners(
    db: Database, provider_id: UUID, *, cursor: str | None, limit: int, identifier: ExternalIdentifier | None = None
) -> LearnerPage:
    after = decode_cursor(cursor)
    async with db.connection() as conn:
        rows = await conn.fetch(
            q.select_learners,
            provider_id,
            None,
            after[0] if after else None,
            after[1] if after else None,
            identifier.scheme if identifier else None,
            identifier.value if identifier else None,
            limit + 1,
        )
    return LearnerPage(items=[from_row(Learner, r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit))


async def _store_identifiers(
    conn: Connection, learner_id: UUID, provider_id: UUID, identifiers: list[ExternalIdentifier]
) -> None:
    try:
        async with conn.transaction():
            await conn.execute(
                q.insert_identifiers,
                learner_id,
                provider_id,
                [i.scheme for i in identifiers],
                [i.value for i in identifiers],
            )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("another learner of this provider already has one of these identifiers") from exc


async def create_learner(
    db: Database, actor: Actor, provider_id: UUID, data: LearnerCreate, idempotency: IdempotencyKey | None = None
) -> Learner:
    if len({(i.scheme, i.value) for i in data.identifiers}) != len(data.identifiers):
        raise InvalidInput("an identifier is listed twice")
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(Learner)
        try:
            async with w.conn.transaction():
                learner_id = await w.conn.fetchval(
                    q.insert_learner,
                    provider_id,
                    data.name,
                    data.date_of_birth,
                    data.email,
                    secrets.token_hex(16),
                    data.preferred_language,
                    None if data.email is None else canonical_email(data.email),
                )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"this provider already has a learner with e-mail {data.email}") from exc
        except asyncpg.ForeignKeyViolationError as exc:  # the provider is the only reference
            raise NotFound(f"there is no organisation {provider_id}") from exc
        await _store_identifiers(w.conn, learner_id, provider_id, data.identifiers)
        await w.audit("learner.registered", "learner", learner_id, provider_id)
        learner = await fetch_learner(w.conn, provider_id, learner_id)
        await w.remember(learner)
    return learner


async def refuse_erased(conn: Connection, learner_id: UUID) -> None:
    """An erased learner's record keeps its decisions and nothing else: it takes no new data."""
    if await conn.fetchval(q.learner_erased, learner_id):
        raise Conflict(f"learner {learner_id} was erased at the learner's request; their record takes no new data")


async def update_learner(
    db: Database, actor: Actor, provider_id: UUID, learner_id: UUID, expected_version: int, data: LearnerUpdate
) -> Learner:
    async with write(db, actor) as w:
        current = await fetch_learner(w.conn, provider_id, learner_id)
        await refuse_erased(w.conn, learner_id)
        if current.version != expected_version:
            raise PreconditionFailed(
                f"learner {learner_id} is at version {current.version}, not {expected_version}",
                currentVersion=current.version,
            )
        name = current.name if data.name is UNSET else data.name
        email = current.email if data.email is UNSET else data.email
        born = current.date_of_birth if data.date_of_birth is UNSET else data.date_of_birth
        language = current.preferred_language if data.preferred_language is UNSET else data.preferred_language
        try:
            async with w.conn.transaction():
                updated = await w.conn.fetchval(
                    q.update_learner,
                    learner_id,
                    expected_version,
                    name,
                    email,
                    born,
                    language,
                    None if email is None else canonical_email(email),
                )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"this provider already has a learner with e-mail {email}") from exc
        if updated is None:
            raise PreconditionFailed(
                f"learner {learner_id} changed while you edited it",
                currentVersion=await w.conn.fetchval(q.learner_version, learner_id),
            )
        if data.identifiers is not UNSET:
            await w.conn.execute(q.delete_identifiers, learner_id)
            await _store_identifiers(w.conn, learner_id, provider_id, data.identifiers)
        await w.audit("learner.updated", "learner", learner_id, provider_id)
        return await fetch_learner(w.conn, provider_id, learner_id)


async def fetch_enrolment(conn: Connection, provider_id: UUID, enrolment_id: UUID) -> Enrolment:
    rows = await conn.fetch(q.select_enrolments, provider_id, None, enrolment_id, None, None, 1)
    if not rows:
        raise NotFound(f"provider {provider_id} has no enrolment {enrolment_id}")
    return from_row(Enrolment, rows[0])


async def enrol(db: Database, actor: Actor, provider_id: UUID, learner_id: UUID, data: EnrolmentCreate) -> Enrolment:
    """Enrols a learner in a published programme version (or one unit) that this provider delivers."""
    async with write(db, actor) as w:
        await fetch_learner(w.conn, provider_id, learner_id)
        await refuse_erased(w.conn, learner_id)
        target = await w.conn.fetchrow(q.enrolment_target, data.programme_id, data.version_number, str(provider_id))
        if target is None:
            which = f"version {data.version_number}" if data.version_number else "version"
            raise NotFound(f"programme {data.programme_id} has no published {which}")
        if not target["delivers"]:
            raise Forbidden(
                f"provider {provider_id} does not deliver programme {data.programme_id}: it is neither "
                "among its providers nor a co-author"
            )
        units = {u["key"] for u in target["content"].get("units", [])}
        if data.unit_key is not None and data.unit_key not in units:
            raise InvalidInput(
                f"programme {data.programme_id} version {target['number']} has no unit "
                f"{data.unit_key!r}; its units are {', '.join(sorted(units))}"
            )
        enrolment_id = await w.conn.fetchval(
            q.insert_enrolment, provider_id, learner_id, target["version_id"], data.unit_key
        )
        if enrolment_id is None:
            raise Conflict(
                f"learner {learner_id} is already enrolled in this programme version"
                + (f" unit {data.unit_key!r}" if data.unit_key else "")
            )
        await w.audit(
            "learner.enrolled",
            "enrolment",
            enrolment_id,
            provider_id,
            {
                "learnerId": str(learner_id),
                "programmeId": str(data.programme_id),
                "version": target["number"],
                "unitKey": data.unit_key,
            },
        )
        return await fetch_enrolment(w.conn, provider_id, enrolment_id)


async def list_enrolments(
    db: Database, provider_id: UUID, learner_id: UUID, *, cursor: str | None, limit: int
) -> EnrolmentPage:
    after = decode_cursor(cursor)
    async with db.connection() as conn:
        await fetch_learner(conn, provider_id, learner_id)
        rows = await conn.fetch(
            q.select_enrolments,
            provider_id,
            learner_id,
            None,
            after[0] if after else None,
            after[1] if after else None,
            limit + 1,
        )
    return EnrolmentPage(
        items=[from_row(Enrolment, r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit, at="enrolled_at")
    )
