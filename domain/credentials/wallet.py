"""The learner's own credentials: every signed credential of the learner records a person has claimed,
at every provider, to list, read, download in each signed form and in ELM, and share.

Only signed credentials are the learner's to see: a held one is still the provider's (it may never be
issued). A credential of anyone else is "not found", exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from domain.credentials import envelopes, service
from domain.credentials.models import CredentialLinks, CredentialSignature, CredentialState
from domain.db import Connection, Database
from domain.errors import NotFound
from domain.pagination import decode_cursor, next_cursor
from domain.sql import load_queries
from domain.structs import Model, Page

q = load_queries(__file__, "wallet.sql")


class AwardingBody(Model):
    id: UUID
    name: str | None  # as the signed credential names it


class MyCredential(Model):
    """One of your credentials: what it is, who awarded it, whether it is valid now, and where to get it."""

    id: UUID
    kind: Literal["unit", "programme", "qualification"]
    state: CredentialState
    suspended: bool
    valid: bool
    achievement_name: str | None
    awarding_body: AwardingBody
    provider_id: UUID
    learner_id: UUID
    programme_id: UUID
    unit_key: str | None
    issued_at: datetime | None
    valid_until: datetime | None
    revoked_at: datetime | None
    revocation_reason: str | None
    suspended_at: datetime | None
    suspension_reason: str | None
    links: CredentialLinks  # downloads under /me, and the public page to share


class MyCredentialPage(Page):
    items: list[MyCredential]


class MyCredentialDetail(MyCredential):
    """One of your credentials with its signatures and the Open Badges 3.0 JSON exactly as signed."""

    cosigner_id: UUID | None
    signatures: list[CredentialSignature]
    credential: dict[str, Any]


def links(public_url: str, credential_id: UUID) -> CredentialLinks:
    return service.links(public_url, credential_id, under="/me/credentials")


def _fields(row: Mapping[str, Any], document: Mapping[str, Any], public_url: str) -> dict[str, Any]:
    subject = document.get("credentialSubject") or {}
    issuer = document.get("issuer") or {}
    return {
        "id": row["id"],
        "kind": row["kind"],
        "state": row["state"],
        "suspended": row["suspended"],
        "valid": service.is_valid(row),
        "achievement_name": (subject.get("achievement") or {}).get("name"),
        "awarding_body": AwardingBody(id=row["awarding_body_id"], name=issuer.get("name")),
        "provider_id": row["provider_id"],
        "learner_id": row["learner_id"],
        "programme_id": row["design_id"],
        "unit_key": row["unit_key"],
        "issued_at": row["issued_at"],
        "valid_until": row["valid_until"],
        "revoked_at": row["revoked_at"],
        "revocation_reason": row["revocation_reason"],
        "suspended_at": row["suspended_at"],
        "suspension_reason": row["suspension_reason"],
        "links": links(public_url, row["id"]),
    }


def to_summary(row: Mapping[str, Any], public_url: str) -> MyCredential:
    return MyCredential(**_fields(row, envelopes.credential_json(row["payload"]), public_url))


def to_detail(row: Mapping[str, Any], public_url: str) -> MyCredentialDetail:
    document = envelopes.credential_json(row["payload"])
    return MyCredentialDetail(
        **_fields(row, document, public_url),
        cosigner_id=row["cosigner_id"],
        signatures=[msgspec.convert(s, CredentialSignature, strict=False) for s in row["signatures"]],
        credential=document,
    )


async def list_mine(
    db: Database, person_id: UUID, *, cursor: str | None, limit: int, public_url: str
) -> MyCredentialPage:
    """The person's signed credentials, newest first (by date of issue)."""
    position = decode_cursor(cursor)
    at, key = position if position else (None, None)
    async with db.connection() as conn:
        found = list(await conn.fetch(q.list_for_person, person_id, at, key, limit + 1))
        rows = [await service.fetch_row(conn, r["id"]) for r in found[:limit]]
    return MyCredentialPage(
        items=[to_summary(r, public_url) for r in rows], next_cursor=next_cursor(found, limit, at="issued_at")
    )


async def _owned_row(conn: Connection, person_id: UUID, credential_id: UUID) -> Mapping[str, Any]:
    if await conn.fetchval(q.owned, credential_id, person_id) is None:
        raise NotFound(f"you have no credential {credential_id}")
    return await service.fetch_row(conn, credential_id)


async def signed_row(db: Database, person_id: UUID, credential_id: UUID) -> Mapping[str, Any]:
    """The row of one of the person's credentials, to download in one of its forms: NotFound for anyone
    else's (or a held one); ``CredentialIncomplete`` (409, naming what is missing) while it awaits a
    co-signature, or after one was refused or withdrawn."""
    async with db.connection() as conn:
        row = await _owned_row(conn, person_id, credential_id)
        await service.require_complete(conn, row)
    return row


async def get_mine(db: Database, person_id: UUID, credential_id: UUID, public_url: str) -> MyCredentialDetail:
    """The record of one of the person's signed credentials, complete or not (its state says which)."""
    async with db.connection() as conn:
        return to_detail(await _owned_row(conn, person_id, credential_id), public_url)


async def all_mine(conn: Connection, person_id: UUID, public_url: str) -> list[MyCredentialDetail]:
    """Every signed credential of the person, newest first (for the export of their data)."""
    ids = [r["id"] for r in await conn.fetch(q.all_for_person, person_id)]
    return [to_detail(await service.fetch_row(conn, i), public_url) for i in ids]
