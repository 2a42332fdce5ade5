"""A learner claims their record with a one-time code from the provider, and signs in as a person.

The provider's own system prints or mails the code. Claiming links the record to a person — an existing
one whose password the claimant knows, or a new one — and a person may so hold records at several
providers. From then on the person reads their own records and attempts, and nothing of anyone else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import Meta

from domain.attempts.models import Attempt, AttemptPage
from domain.db import Connection, Database
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.learners.models import ExternalIdentifier
from domain.organisations.models import Email, ShortText
from domain.pagination import MAX_LIMIT, decode_cursor, next_cursor
from domain.people import canonical_email, check_login, hash_password
from domain.sql import load_queries
from domain.structs import Input, Model, Page, from_row
from domain.writes import Actor, write

q = load_queries(__file__, "claims.sql")

# Crockford's base32: no I, L, O or U, so a code read aloud or off paper is not mistyped as another.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 50 bits: out of reach of rate-limited guessing for the code's short life
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
# argon2 hashes carry their own parameters, so check_login verifies these like any other.

INVALID_CODE = (
    "this claim code is not valid: it may be mistyped, expired, already used or replaced by a newer one; "
    "ask your provider for a new code"
)


class ClaimCodeCreate(Input):
    valid_days: Annotated[int, Meta(ge=1, le=365, description="How long the code can be used (default 30 days)")] = 30


class ClaimCode(Model):
    """Shown once: only a hash of the code is kept."""

    code: str
    learner_id: UUID
    provider_id: UUID
    created_at: datetime
    expires_at: datetime


class LearnerClaim(Input):
    code: Annotated[str, Meta(min_length=1, max_length=64, description="The claim code, e.g. K7QF-3MZP-XW")]
    email: Email
    password: Annotated[str, Meta(min_length=1, max_length=1000)]
    name: ShortText | None = None  # for a new person; default: the name the provider knows the learner by


class LearnerRecord(Model):
    """A learner record as its own person sees it."""

    id: UUID
    provider_id: UUID
    provider_name: dict[str, str]
    name: str
    date_of_birth: date | None
    email: str | None
    identifiers: list[ExternalIdentifier]
    claimed_at: datetime
    created_at: datetime


class LearnerRecordPage(Page):
    items: list[LearnerRecord]


class ClaimResult(Model):
    person_id: UUID
    person_created: bool
    learner_id: UUID
    learner_records: list[LearnerRecord]  # the person's records (the first 100; all at /me/learner-records)


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


KEYED_PREFIX = "hmac-sha256:"


def _raw(code: str) -> str | None:
    """The code as issued, from the code as typed (any case, with or without dashes); None if it cannot be one."""
    raw = "".join(code.split()).replace("-", "").upper().translate(_READ_AS)
    if len(raw) != CODE_LENGTH or any(c not in ALPHABET for c in raw):
        return None
    return raw


def code_hash(code: str, key: bytes) -> str | None:
    """The stored form of a code: HMAC-SHA-256 under the server's claim-code key, so that a copy of the
    table alone does not let anyone try all 2^50 codes offline."""
    raw = _raw(code)
    return None if raw is None else KEYED_PREFIX + hmac.new(key, raw.encode(), hashlib.sha256).hexdigest()


def _stored_forms(code: str, key: bytes) -> list[str] | None:
    """Every form a live code may be stored in: keyed, and the unkeyed SHA-256 of codes issued before keyed
    hashes (honoured until used, replaced or expired; no row is ever stored so again)."""
    raw = _raw(code)
    if raw is None:
        return None
    return [
        KEYED_PREFIX + hmac.new(key, raw.encode(), hashlib.sha256).hexdigest(),
        hashlib.sha256(raw.encode()).hexdigest(),
    ]


async def issue_code(
    db: Database, actor: Actor, provider_id: UUID, learner_id: UUID, valid_days: int, *, key: bytes
) -> ClaimCode:
    """A new code for the learner; earlier unused ones stop working.

    No Idempotency-Key: a stored answer would keep the code in clear, and a retry that issues another
    code is harmless (the latest one is the one that works).
    """
    code = new_code()
    async with write(db, actor) as w:
        learner = await w.conn.fetchrow(q.lock_learner, provider_id, learner_id)
        if learner is None:
            raise NotFound(f"provider {provider_id} has no learner {learner_id}")
        if learner["person_id"] is not None:
            raise Conflict(f"learner {learner_id} has already claimed their record; a code would be of no use")
        await w.conn.execute(q.revoke_live_codes, learner_id)
        row = await w.conn.fetchrow(
            q.insert_code, code_hash(code, key), learner_id, provider_id, valid_days, actor.client_id, actor.person_id
        )
        await w.audit(
            "learner.claim_code_issued",
            "learner",
            learner_id,
            provider_id,
            {"expiresAt": row["expires_at"].isoformat()},
        )
    return ClaimCode(
        code=code,
        learner_id=learner_id,
        provider_id=provider_id,
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


async def claim(db: Database, request_id: str | None, data: LearnerClaim, *, key: bytes) -> ClaimResult:
    """Uses the code once and links its learner record to a person, in one transaction: a refusal
    (wrong password, weak password, a record claimed meanwhile) leaves the code usable."""
    hashed = _stored_forms(data.code, key)
    if hashed is None:
        raise InvalidInput(INVALID_CODE)
    async with write(db, Actor(request_id=request_id)) as w:
        learner_id = await w.conn.fetchval(q.code_learner, hashed)
        learner = await w.conn.fetchrow(q.learner_for_claim, learner_id) if learner_id else None
        provider_id = await w.conn.fetchval(q.use_code, hashed) if learner else None
        if learner is None or provider_id is None:
            raise InvalidInput(INVALID_CODE)
        if learner["person_id"] is not None:
            raise Conflict("this learner record has already been claimed; sign in with the login that claimed it")
        person_id, created = await _person(w.conn, data, learner["name"])
        await w.conn.execute(q.link_learner, learner["id"], person_id)
        # The claimant is known only now: the audit trail names them as the actor.
        w.actor = replace(w.actor, person_id=person_id)
        if created:
            await w.audit("person.registered", "person", person_id, None, {"via": "learner_claim"})
        await w.audit("learner.claimed", "learner", learner["id"], provider_id, {"personId": str(person_id)})
        # Units of this record now count with the person's other records (stacking across providers).
        await w.emit(
            "learner.claimed",
            f"learner/{learner['id']}",
            provider_id,
            {"learnerId": str(learner["id"]), "personId": str(person_id)},
        )
        rows = await _record_rows(w.conn, person_id, None, MAX_LIMIT)
    return ClaimResult(
        person_id=person_id,
        person_created=created,
        learner_id=learner["id"],
        learner_records=[from_row(LearnerRecord, r) for r in rows[:MAX_LIMIT]],
    )


async def _person(conn: Connection, data: LearnerClaim, default_name: str) -> tuple[UUID, bool]:
    """The person the record goes to, and whether they were created now."""
    if await conn.fetchval(q.person_by_email, canonical_email(data.email)) is None:
        password_hash = await hash_password(data.password)
        person_id = await conn.fetchval(
            q.insert_person, data.email, data.name or default_name, password_hash, canonical_email(data.email)
        )
        if person_id is not None:
            return UUID(str(person_id)), True
        # Someone registered this e-mail address meanwhile: it is theirs unless the password matches.
    existing = await check_login(conn, data.email, data.password)
    if existing is None:
        raise Forbidden(
            "a person with this e-mail address already has a login and this is not its password; "
            "give that password, or another e-mail address"
        )
    return existing, False


async def _record_rows(conn: Connection, person_id: UUID, cursor: str | None, limit: int) -> list[Any]:
    """One page of the person's records, and one row more if there is a further page."""
    after = decode_cursor(cursor)
    return list(
        await conn.fetch(
            q.select_records, person_id, after[0] if after else None, after[1] if after else None, limit + 1
        )
    )


async def list_records(db: Database, person_id: UUID, *, cursor: str | None, limit: int) -> LearnerRecordPage:
    async with db.connection() as conn:
        rows = await _record_rows(conn, person_id, cursor, limit)
    return LearnerRecordPage(
        items=[from_row(LearnerRecord, r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit)
    )


async def list_attempts(
    db: Database, person_id: UUID, *, learner_id: UUID | None, cursor: str | None, limit: int
) -> AttemptPage:
    """The attempts of the person's own learner records, at every provider."""
    after = decode_cursor(cursor)
    async with db.connection() as conn:
        rows = await conn.fetch(
            q.select_attempts,
            person_id,
            learner_id,
            after[0] if after else None,
            after[1] if after else None,
            limit + 1,
        )
    return AttemptPage(items=[from_row(Attempt, r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit))
