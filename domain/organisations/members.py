"""People as members of organisations, with roles; an organisation always keeps an admin."""

from __future__ import annotations

from uuid import UUID

from domain.db import Connection, Database
from domain.errors import Conflict, NotFound, PreconditionFailed
from domain.organisations.invitations import InvitationCreate, invite
from domain.organisations.models import Member, MemberCreate, MemberPage, MemberUpdate
from domain.organisations.service import fetch_organisation
from domain.pagination import decode_cursor, next_cursor
from domain.people import canonical_email
from domain.sql import load_queries
from domain.structs import from_row
from domain.writes import Actor, IdempotencyKey, write

q = load_queries(__file__)


async def _fetch_member(conn: Connection, organisation_id: UUID, person_id: UUID) -> Member:
    rows = await conn.fetch(q.select_members, organisation_id, None, None, person_id, 1)
    if not rows:
        raise NotFound(f"person {person_id} is not a member of organisation {organisation_id}")
    return from_row(Member, rows[0])


async def get_member(db: Database, organisation_id: UUID, person_id: UUID) -> Member:
    async with db.connection() as conn:
        return await _fetch_member(conn, organisation_id, person_id)


async def list_members(db: Database, organisation_id: UUID, *, cursor: str | None, limit: int) -> MemberPage:
    after = decode_cursor(cursor)
    async with db.connection() as conn:
        rows = await conn.fetch(
            q.select_members, organisation_id, after[0] if after else None, after[1] if after else None, None, limit + 1
        )
    return MemberPage(
        items=[from_row(Member, r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit, key="person_id")
    )


async def add_member(
    db: Database,
    actor: Actor,
    organisation_id: UUID,
    data: MemberCreate,
    idempotency: IdempotencyKey | None = None,
    *,
    invite_url: str | None = None,
    invitation_ttl: int = 7 * 24 * 3600,
) -> Member:
    """Adds a person, found by e-mail or created, to the organisation. With ``invite_url`` (the public URL), a
    person without a password is sent an invitation, through which they choose one."""
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(Member)
        await fetch_organisation(w.conn, organisation_id)
        person = await w.conn.fetchrow(q.upsert_person, data.email, data.name, canonical_email(data.email))
        if person["self_registered"]:
            raise Conflict(
                f"{data.email} belongs to a login its owner registered with a learner claim code, and nobody "
                "has verified that the address is theirs; it cannot be made a member until it is"
            )
        person_id = person["id"]
        added = await w.conn.fetchval(q.insert_member, organisation_id, person_id, sorted(set(data.roles)))
        if added is None:
            raise Conflict(
                f"{data.email} is already a member of organisation {organisation_id}; change their roles instead",
                personId=str(person_id),
            )
        await w.audit("member.added", "member", person_id, organisation_id, {"roles": sorted(set(data.roles))})
        if invite_url is not None and person["password_hash"] is None:
            open_invitation = await w.conn.fetchval(
                "SELECT 1 FROM invitations WHERE organisation_id = $1 AND email_canonical = $2 "
                "AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()",
                organisation_id,
                canonical_email(data.email),
            )
            if not open_invitation:
                invitation = InvitationCreate(email=data.email, name=data.name, roles=data.roles)
                await invite(w, organisation_id, invitation, invite_url, invitation_ttl)
        member = await _fetch_member(w.conn, organisation_id, person_id)
        await w.remember(member)
    return member


async def _refuse_losing_last_admin(conn: Connection, organisation_id: UUID, person_id: UUID) -> None:
    if not await conn.fetch(q.other_admins, organisation_id, person_id):
        raise Conflict(
            f"person {person_id} is the last admin of organisation {organisation_id}; make someone else admin first"
        )


def _stale(organisation_id: UUID, person_id: UUID, version: int | None, expected: int) -> PreconditionFailed:
    return PreconditionFailed(
        f"the membership of {person_id} in {organisation_id} is at version {version}, not {expected}; read it again",
        currentVersion=version,
    )


async def update_member(
    db: Database, actor: Actor, organisation_id: UUID, person_id: UUID, expected_version: int, data: MemberUpdate
) -> Member:
    async with write(db, actor) as w:
        current = await _fetch_member(w.conn, organisation_id, person_id)
        if current.version != expected_version:
            raise _stale(organisation_id, person_id, current.version, expected_version)
        roles = sorted(set(data.roles))
        if "admin" in current.roles and "admin" not in roles:
            await _refuse_losing_last_admin(w.conn, organisation_id, person_id)
        if await w.conn.fetchval(q.update_member_roles, organisation_id, person_id, expected_version, roles) is None:
            version = await w.conn.fetchval(q.member_version, organisation_id, person_id)
            raise _stale(organisation_id, person_id, version, expected_version)
        await w.audit(
            "member.roles_changed", "member", person_id, organisation_id, {"from": current.roles, "to": roles}
        )
        return await _fetch_member(w.conn, organisation_id, person_id)


async def remove_member(
    db: Database, actor: Actor, organisation_id: UUID, person_id: UUID, expected_version: int
) -> None:
    async with write(db, actor) as w:
        current = await _fetch_member(w.conn, organisation_id, person_id)
        if current.version != expected_version:
            raise _stale(organisation_id, person_id, current.version, expected_version)
        if "admin" in current.roles:
            await _refuse_losing_last_admin(w.conn, organisation_id, person_id)
        if await w.conn.fetchval(q.delete_member, organisation_id, person_id, expected_version) is None:
            version = await w.conn.fetchval(q.member_version, organisation_id, person_id)
            raise _stale(organisation_id, person_id, version, expected_version)
        await w.audit("member.removed", "member", person_id, organisation_id, {"roles": current.roles})
