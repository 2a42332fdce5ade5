"""Invitations: an organisation's admin invites a person by e-mail with roles; the person follows the
one-time link, sets a password (or signs in with the login they have), and the membership starts.

The link's token is random (256 bits) and kept only as a hash; it works once, until the invitation expires
(seven days by default) or is revoked; resending makes a new link and the old one dies. Following it proves
the address, so the person's e-mail counts as verified. Every step is in the organisation's audit trail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from msgspec import Meta

from domain.accounts import links
from domain.accounts.service import mark_verified, when
from domain.db import Connection, Database
from domain.errors import Conflict, NotFound, Unauthenticated
from domain.mail.sending import queue_mail
from domain.organisations.models import Email, LanguageCode, Member, ShortText
from domain.people import canonical_email, check_login, hash_password
from domain.scopes import Role
from domain.structs import Input, Model, Page
from domain.writes import Actor, IdempotencyKey, Write, write

InvitationStatus = Literal["pending", "accepted", "revoked", "expired"]
INVALID_LINK = "this invitation link is not valid: it may be used, expired, revoked or replaced by a newer one"


class InvitationCreate(Input):
    email: Email
    name: ShortText
    roles: Annotated[list[Role], Meta(min_length=1)]
    language: Annotated[LanguageCode | None, Meta(description="Of the mail and pages; default the person's")] = None


class Invitation(Model):
    id: UUID
    organisation_id: UUID
    email: str
    name: str
    roles: list[Role]
    language: str | None
    status: InvitationStatus
    created_at: datetime
    expires_at: datetime
    sent_count: int
    accepted_at: datetime | None
    accepted_by: UUID | None
    revoked_at: datetime | None


class InvitationPage(Page):
    items: list[Invitation]


_SELECT = """
SELECT id, organisation_id, email, name, roles, language, created_at, expires_at, sent_count, accepted_at,
       accepted_by, revoked_at,
       CASE WHEN accepted_at IS NOT NULL THEN 'accepted' WHEN revoked_at IS NOT NULL THEN 'revoked'
            WHEN expires_at <= now() THEN 'expired' ELSE 'pending' END AS status
FROM invitations
"""


def _invitation(row: Any) -> Invitation:
    return Invitation(**{k: row[k] for k in row.keys()})  # noqa: SIM118 (a Record, not a dict)


async def _fetch(conn: Connection, organisation_id: UUID, invitation_id: UUID) -> Invitation:
    row = await conn.fetchrow(_SELECT + "WHERE id = $1 AND organisation_id = $2", invitation_id, organisation_id)
    if row is None:
        raise NotFound(f"organisation {organisation_id} has no invitation {invitation_id}")
    return _invitation(row)


async def _organisation(conn: Connection, organisation_id: UUID) -> Any:
    row = await conn.fetchrow("SELECT id, name, default_language FROM organisations WHERE id = $1", organisation_id)
    if row is None:
        raise NotFound(f"there is no organisation {organisation_id}")
    return row


def organisation_name(row: Any, language: str) -> str:
    names: dict[str, str] = row["name"]
    return names.get(language) or names.get(row["default_language"]) or next(iter(names.values()))


async def _mail(w: Write, invitation_id: UUID, token: str, public_url: str) -> None:
    row = await w.conn.fetchrow(
        "SELECT i.*, p.preferred_language FROM invitations i "
        "LEFT JOIN persons p ON p.email_canonical = i.email_canonical WHERE i.id = $1",
        invitation_id,
    )
    organisation = await _organisation(w.conn, row["organisation_id"])
    language = row["language"] or row["preferred_language"] or organisation["default_language"]
    await queue_mail(
        w,
        to=row["email"],
        template="invitation",
        language=language,
        organisation_id=row["organisation_id"],
        values={
            "name": row["name"],
            "organisation": organisation_name(organisation, language),
            "roles": ", ".join(row["roles"]),
            "expires": when(row["expires_at"]),
            "link": f"{public_url}/invitations/{token}",
        },
    )


async def invite(w: Write, organisation_id: UUID, data: InvitationCreate, public_url: str, ttl: int) -> Invitation:
    """Within a write: creates the invitation and queues its mail."""
    await _organisation(w.conn, organisation_id)
    email = canonical_email(data.email)
    # An expired invitation no longer blocks a new one.
    await w.conn.execute(
        "UPDATE invitations SET revoked_at = now() WHERE organisation_id = $1 AND email_canonical = $2 "
        "AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at <= now()",
        organisation_id,
        email,
    )
    token, hashed = links.new_token()
    invitation_id = await w.conn.fetchval(
        "INSERT INTO invitations (organisation_id, email, email_canonical, name, roles, language, token_hash, "
        "expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8)) "
        "ON CONFLICT (organisation_id, email_canonical) WHERE accepted_at IS NULL AND revoked_at IS NULL "
        "DO NOTHING RETURNING id",
        organisation_id,
        data.email,
        email,
        data.name,
        sorted(set(data.roles)),
        data.language,
        hashed,
        ttl,
    )
    if invitation_id is None:
        existing = await w.conn.fetchval(
            "SELECT id FROM invitations WHERE organisation_id = $1 AND email_canonical = $2 "
            "AND accepted_at IS NULL AND revoked_at IS NULL",
            organisation_id,
            email,
        )
        raise Conflict(f"{data.email} has an open invitation already; resend or revoke it", invitationId=str(existing))
    await _mail(w, invitation_id, token, public_url)
    await w.audit(
        "invitation.created",
        "invitation",
        invitation_id,
        organisation_id,
        {"email": data.email, "roles": sorted(set(data.roles))},
    )
    return await _fetch(w.conn, organisation_id, invitation_id)


async def create_invitation(
    db: Database,
    actor: Actor,
    organisation_id: UUID,
    data: InvitationCreate,
    *,
    public_url: str,
    ttl: int,
    idempotency: IdempotencyKey | None = None,
) -> Invitation:
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(Invitation)
        member = await w.conn.fetchval(
            "SELECT 1 FROM members m JOIN persons p ON p.id = m.person_id "
            "WHERE m.organisation_id = $1 AND p.email_canonical = $2 AND p.password_hash IS NOT NULL",
            organisation_id,
            canonical_email(data.email),
        )
        if member:
            raise Conflict(f"{data.email} is a member already; change their roles instead")
        invitation = await invite(w, organisation_id, data, public_url, ttl)
        await w.remember(invitation)
    return invitation


async def list_invitations(db: Database, organisation_id: UUID) -> InvitationPage:
    async with db.connection() as conn:
        rows = await conn.fetch(
            _SELECT + "WHERE organisation_id = $1 ORDER BY created_at DESC, id LIMIT 200", organisation_id
        )
    return InvitationPage(items=[_invitation(r) for r in rows], next_cursor=None)


async def get_invitation(db: Database, organisation_id: UUID, invitation_id: UUID) -> Invitation:
    async with db.connection() as conn:
        return await _fetch(conn, organisation_id, invitation_id)


async def revoke_invitation(db: Database, actor: Actor, organisation_id: UUID, invitation_id: UUID) -> Invitation:
    async with write(db, actor) as w:
        current = await _fetch(w.conn, organisation_id, invitation_id)
        if current.status == "accepted":
            raise Conflict(f"invitation {invitation_id} was accepted; remove the member instead")
        if current.status != "revoked":
            await w.conn.execute("UPDATE invitations SET revoked_at = now() WHERE id = $1", invitation_id)
            await w.audit("invitation.revoked", "invitation", invitation_id, organisation_id, {"email": current.email})
        return await _fetch(w.conn, organisation_id, invitation_id)


async def resend_invitation(
    db: Database, actor: Actor, organisation_id: UUID, invitation_id: UUID, *, public_url: str, ttl: int
) -> Invitation:
    """A new link (the old one stops working) and a new expiry, mailed again."""
    async with write(db, actor) as w:
        current = await _fetch(w.conn, organisation_id, invitation_id)
        if current.status in ("accepted", "revoked"):
            raise Conflict(f"invitation {invitation_id} is {current.status}; it cannot be sent again")
        token, hashed = links.new_token()
        await w.conn.execute(
            "UPDATE invitations SET token_hash = $2, expires_at = now() + make_interval(secs => $3), "
            "sent_count = sent_count + 1 WHERE id = $1",
            invitation_id,
            hashed,
            ttl,
        )
        await _mail(w, invitation_id, token, public_url)
        await w.audit("invitation.resent", "invitation", invitation_id, organisation_id, {"email": current.email})
        return await _fetch(w.conn, organisation_id, invitation_id)


class InvitationView(Model):
    """What the invitation page shows the person who holds the link."""

    id: UUID
    organisation_id: UUID
    organisation_name: str
    email: str
    name: str
    roles: list[Role]
    language: str
    has_login: bool  # the address has a password already: sign in with it rather than choosing one


async def view_by_token(db: Database, token: str) -> InvitationView:
    async with db.connection() as conn:
        row = await conn.fetchrow(
            "SELECT i.*, p.preferred_language, p.password_hash IS NOT NULL AS has_login FROM invitations i "
            "LEFT JOIN persons p ON p.email_canonical = i.email_canonical AND p.erased_at IS NULL "
            "WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()",
            links.token_hash(token),
        )
        if row is None:
            raise NotFound(INVALID_LINK)
        organisation = await _organisation(conn, row["organisation_id"])
    language = row["language"] or row["preferred_language"] or organisation["default_language"]
    return InvitationView(
        id=row["id"],
        organisation_id=row["organisation_id"],
        organisation_name=organisation_name(organisation, language),
        email=row["email"],
        name=row["name"],
        roles=row["roles"],
        language=language,
        has_login=bool(row["has_login"]),
    )


async def accept(db: Database, request_id: str | None, token: str, password: str) -> Member:
    """Accepts the invitation: a new person chooses ``password``; one with a login proves it with theirs."""
    from domain.organisations.members import _fetch_member

    async with db.connection() as conn:
        row = await conn.fetchrow(
            "SELECT i.email, p.id AS person_id, p.password_hash IS NOT NULL AS has_login FROM invitations i "
            "LEFT JOIN persons p ON p.email_canonical = i.email_canonical WHERE i.token_hash = $1",
            links.token_hash(token),
        )
        if row is None:
            raise NotFound(INVALID_LINK)
        if row["has_login"] and await check_login(conn, row["email"], password) != row["person_id"]:
            raise Unauthenticated("the password is wrong: sign in with the password of your Guildhall login")
    new_hash = None if row["has_login"] else await hash_password(password)
    async with write(db, Actor(request_id=request_id)) as w:
        invitation = await w.conn.fetchrow(
            "SELECT * FROM invitations WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL "
            "AND expires_at > now() FOR UPDATE",
            links.token_hash(token),
        )
        if invitation is None:
            raise NotFound(INVALID_LINK)
        person_id = await w.conn.fetchval(
            "INSERT INTO persons (email, name, email_canonical, password_hash, preferred_language) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email_canonical) DO UPDATE "
            "SET password_hash = coalesce(persons.password_hash, EXCLUDED.password_hash), "
            "preferred_language = coalesce(persons.preferred_language, EXCLUDED.preferred_language) RETURNING id",
            invitation["email"],
            invitation["name"],
            invitation["email_canonical"],
            new_hash,
            invitation["language"],
        )
        await mark_verified(w.conn, person_id, invitation["email"])
        organisation_id = invitation["organisation_id"]
        await w.conn.execute(
            "INSERT INTO members (organisation_id, person_id, roles) VALUES ($1, $2, $3) "
            "ON CONFLICT (organisation_id, person_id) DO UPDATE SET "
            "roles = ARRAY(SELECT DISTINCT r FROM unnest(members.roles || EXCLUDED.roles) r ORDER BY r), "
            "version = members.version + 1, updated_at = now()",
            organisation_id,
            person_id,
            invitation["roles"],
        )
        await w.conn.execute(
            "UPDATE invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1", invitation["id"], person_id
        )
        w.actor = Actor(person_id=person_id, organisation_id=organisation_id, request_id=request_id)
        await w.audit(
            "invitation.accepted", "invitation", invitation["id"], organisation_id, {"personId": str(person_id)}
        )
        await w.audit("member.added", "member", person_id, organisation_id, {"roles": invitation["roles"]})
        return await _fetch_member(w.conn, organisation_id, person_id)


def expiry_text(moment: datetime) -> str:
    return when(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
