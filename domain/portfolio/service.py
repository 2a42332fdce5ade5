"""The person's portfolio: what ``GET /me/portfolio`` answers, and what stacking, recognition and guidance
read. ``person_portfolio`` is the one entry point other areas use; its shape stays stable.

Credentials issued here count while they are valid (their record says so: issued, not suspended, not
expired, no signature withdrawn). Credentials of other issuers count while their last verification
passed; they are shown with that result, and checked again where they are used (``foreign.recheck``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.credentials import envelopes
from domain.db import Connection, Database
from domain.portfolio.attestation import Attestation, attestation
from domain.portfolio.models import (
    CredentialCheck,
    Portfolio,
    PortfolioAchievement,
    PortfolioEntry,
    PortfolioIssuer,
)
from domain.sql import load_queries

q = load_queries(__file__)


def _entry(found: Attestation, **fields: Any) -> PortfolioEntry:
    return PortfolioEntry(
        credential_uri=found.credential_uri,
        issuer=PortfolioIssuer(id=found.issuer_id or "", name=found.issuer_name),
        achievement=PortfolioAchievement(
            id=found.achievement_id, name=found.achievement_name, type=found.achievement_type
        ),
        esco_skills=found.esco_skills,
        esco_occupations=found.esco_occupations,
        eqf_level=found.eqf_level,
        hours=found.hours,
        ects_credits=found.ects_credits,
        valid_from=found.valid_from,
        valid_until=found.valid_until,
        **fields,
    )


def issued_here_entry(row: Mapping[str, Any], now: datetime) -> PortfolioEntry:
    document = envelopes.credential_json(row["payload"])
    return _entry(
        attestation(document),
        id=row["id"],
        source="guildhall",
        digest=hashlib.sha256(row["payload"]).hexdigest(),
        verification=CredentialCheck(valid=True, method="issued_here", checked_at=now, problems=[]),
        kind=row["kind"],
        learner_id=row["learner_id"],
        provider_id=row["provider_id"],
        programme_id=row["design_id"],
        unit_key=row["unit_key"],
    )


def added_entry(row: Mapping[str, Any]) -> PortfolioEntry:
    document = row["document"]
    if isinstance(document, str | bytes):
        document = msgspec.json.decode(document)
    verification = row["verification"]
    if isinstance(verification, str | bytes):
        verification = msgspec.json.decode(verification)
    return _entry(
        attestation(document),
        id=row["id"],
        source="added",
        digest=row["digest"],
        verification=msgspec.convert(verification, CredentialCheck),
    )


async def person_portfolio(conn: Connection, person_id: UUID) -> Portfolio:
    """Every valid credential issued here to the person's claimed learner records (oldest first), then every
    credential of another issuer they added (oldest first, each with its last verification result)."""
    now = datetime.now(UTC).replace(microsecond=0)
    own = [issued_here_entry(r, now) for r in await conn.fetch(q.valid_credentials_of_person, person_id)]
    return Portfolio(person_id=person_id, entries=own + await added_credentials(conn, person_id))


async def added_credentials(conn: Connection, person_id: UUID) -> list[PortfolioEntry]:
    """The credentials of other issuers the person added, oldest first, with their last verification."""
    return [added_entry(r) for r in await conn.fetch(q.foreign_of_person, person_id)]


async def get_portfolio(db: Database, person_id: UUID) -> Portfolio:
    async with db.connection() as conn:
        return await person_portfolio(conn, person_id)
