"""Creating, reading, changing and listing organisations and their accreditations."""

from __future__ import annotations

from uuid import UUID

import msgspec
from msgspec import UNSET

from domain import iso3166
from domain.db import Connection, Database
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from domain.organisations.models import (
    ACCREDITING_KINDS,
    AccreditationCreate,
    Organisation,
    OrganisationCreate,
    OrganisationPage,
    OrganisationUpdate,
)
from domain.pagination import decode_cursor, next_cursor
from domain.sql import load_queries
from domain.structs import from_row
from domain.writes import Actor, IdempotencyKey, write

q = load_queries(__file__)


def _check_place_and_name(name: dict[str, str], default_language: str, country: str, region: str | None) -> None:
    problems = [iso3166.country_problem(country), iso3166.region_problem(region, country) if region else None]
    if default_language not in name:
        problems.append(f"name has no text in the default language {default_language!r}")
    found = [p for p in problems if p]
    if found:
        raise InvalidInput("; ".join(found))


async def fetch_organisations(conn: Connection, ids: list[UUID]) -> list[Organisation]:
    rows = await conn.fetch(q.select_organisation, ids)
    by_id = {row["id"]: from_row(Organisation, row) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


async def fetch_organisation(conn: Connection, organisation_id: UUID) -> Organisation:
    found = await fetch_organisations(conn, [organisation_id])
    if not found:
        raise NotFound(f"there is no organisation {organisation_id}")
    return found[0]


async def organisation_exists(db: Database, language: str | None = None, name: str | None = None) -> bool:
    """Whether any organisation exists — or, given both, one with that name in that language."""
    async with db.connection() as conn:
        return bool(await conn.fetchval(q.organisation_exists, language, name))


async def get_organisation(db: Database, organisation_id: UUID) -> Organisation:
    async with db.connection() as conn:
        return await fetch_organisation(conn, organisation_id)


async def list_organisations(
    db: Database, *, cursor: str | None, limit: int, kind: str | None = None, country: str | None = None
) -> OrganisationPage:
    after = decode_cursor(cursor)
    async with db.connection() as conn:
        rows = await conn.fetch(
            q.list_organisation_ids, after[0] if after else None, after[1] if after else None, kind, country, limit + 1
        )
        items = await fetch_organisations(conn, [r["id"] for r in rows[:limit]])
    return OrganisationPage(items=items, next_cursor=next_cursor(rows, limit))


async def create_organisation(
    db: Database, actor: Actor, data: OrganisationCreate, idempotency: IdempotencyKey | None = None
) -> Organisation:
    _check_place_and_name(data.name, data.default_language, data.country, data.region)
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(Organisation)
        organisation_id = await w.conn.fetchval(
            q.insert_organisation,
            data.kind,
            data.name,
            data.default_language,
            data.country,
            data.region,
            data.registration_ids,
            data.website,
        )
        await w.audit(
            "organisation.created",
            "organisation",
            organisation_id,
            organisation_id,
            {"kind": data.kind, "name": data.name},
        )
        organisation = await fetch_organisation(w.conn, organisation_id)
        await w.remember(organisation)
    return organisation


async def update_organisation(
    db: Database, actor: Actor, organisation_id: UUID, expected_version: int, data: OrganisationUpdate
) -> Organisation:
    async with write(db, actor) as w:
        current = await fetch_organisation(w.conn, organisation_id)
        if current.version != expected_version:
            raise PreconditionFailed(
                f"organisation {organisation_id} is at version {current.version}, not {expected_version}: "
                "someone changed it; read it again and re-apply your change",
                currentVersion=current.version,
            )
        changes = {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not UNSET}
        merged = msgspec.structs.replace(current, **changes)
        _check_place_and_name(merged.name, merged.default_language, merged.country, merged.region)
        updated = await w.conn.fetchval(
            q.update_organisation,
            organisation_id,
            expected_version,
            merged.name,
            merged.default_language,
            merged.country,
            merged.region,
            merged.registration_ids,
            merged.website,
        )
        if updated is None:  # a concurrent write won the race between our read and update
            version = await w.conn.fetchval(q.organisation_version, organisation_id)
            raise PreconditionFailed(
                f"organisation {organisation_id} changed while you edited it", currentVersion=version
            )
        changed = [f for f, value in changes.items() if getattr(current, f) != value]
        await w.audit(
            "organisation.updated", "organisation", organisation_id, organisation_id, {"changed": sorted(changed)}
        )
        return await fetch_organisation(w.conn, organisation_id)


async def add_accreditation(
    db: Database,
    actor: Actor,
    organisation_id: UUID,
    data: AccreditationCreate,
    *,
    acting_for: frozenset[UUID],
    operator: bool,
) -> Organisation:
    """Records an accreditation of ``organisation_id``.

    The accrediting body records it: ``accreditingOrganisationId`` must be one of the caller's
    organisations and of an accrediting kind. Only the platform operator may name an external
    body by name alone.
    """
    if data.valid_until is not None and data.valid_until < data.valid_from:
        raise InvalidInput("validUntil is before validFrom")
    async with write(db, actor) as w:
        await fetch_organisation(w.conn, organisation_id)
        if data.accrediting_organisation_id is not None:
            accreditor = await fetch_organisation(w.conn, data.accrediting_organisation_id)
            if data.accrediting_organisation_id not in acting_for and not operator:
                raise Forbidden(
                    "an accreditation is recorded by the accrediting body itself: "
                    f"you do not act for organisation {data.accrediting_organisation_id}"
                )
            if accreditor.kind not in ACCREDITING_KINDS:
                raise InvalidInput(
                    f"a {accreditor.kind} cannot accredit; accrediting bodies are "
                    f"{', '.join(sorted(ACCREDITING_KINDS))}"
                )
            if data.accrediting_organisation_id == organisation_id:
                raise InvalidInput("an organisation cannot accredit itself")
            body_name = data.accrediting_body_name or accreditor.name[accreditor.default_language]
        elif data.accrediting_body_name and operator:
            body_name = data.accrediting_body_name
        else:
            raise InvalidInput(
                "name the accrediting body: accreditingOrganisationId (your own "
                "organisation); only the platform operator may give accreditingBodyName alone"
            )
        accreditation_id = await w.conn.fetchval(
            q.insert_accreditation,
            organisation_id,
            data.accrediting_organisation_id,
            body_name,
            data.scope,
            data.reference,
            data.valid_from,
            data.valid_until,
        )
        await w.audit(
            "accreditation.recorded",
            "accreditation",
            accreditation_id,
            organisation_id,
            {
                "accreditingOrganisationId": data.accrediting_organisation_id and str(data.accrediting_organisation_id),
                "scope": data.scope,
            },
        )
        if data.accrediting_organisation_id is not None:
            await w.audit(
                "accreditation.recorded",
                "accreditation",
                accreditation_id,
                data.accrediting_organisation_id,
                {"organisationId": str(organisation_id)},
            )
        return await fetch_organisation(w.conn, organisation_id)


async def withdraw_accreditation(
    db: Database,
    actor: Actor,
    organisation_id: UUID,
    accreditation_id: UUID,
    *,
    acting_for: frozenset[UUID],
    operator: bool,
) -> Organisation:
    async with write(db, actor) as w:
        owner = await w.conn.fetchrow(q.accreditation_owner, accreditation_id, organisation_id)
        if owner is None:
            raise NotFound(f"organisation {organisation_id} has no accreditation {accreditation_id}")
        if owner["accrediting_organisation_id"] not in acting_for and not operator:
            raise Forbidden("only the accrediting body withdraws an accreditation")
        if owner["withdrawn_at"] is not None:
            raise Conflict(f"accreditation {accreditation_id} was already withdrawn")
        await w.conn.execute(q.withdraw_accreditation, accreditation_id, organisation_id)
        await w.audit("accreditation.withdrawn", "accreditation", accreditation_id, organisation_id)
        return await fetch_organisation(w.conn, organisation_id)
