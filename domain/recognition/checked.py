"""The credentials a recognition request names, each checked again now: one issued here must still be
valid, one of another issuer is verified again (its new result stored)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from domain.credentials.foreign.fetch import FetchOptions
from domain.db import Database
from domain.errors import InvalidInput, NotFound
from domain.portfolio import foreign
from domain.portfolio.models import PortfolioEntry
from domain.portfolio.service import added_entry, issued_here_entry
from domain.recognition import matching
from domain.recognition.models import PortfolioCredentialRef, RecognisedCredential
from domain.sql import load_queries

q = load_queries(__file__)


class CredentialNotValid(InvalidInput):
    """A credential named for recognition does not verify now."""


def named(entry: PortfolioEntry) -> RecognisedCredential:
    return RecognisedCredential(
        source=entry.source,
        id=entry.id,
        credential_uri=entry.credential_uri,
        issuer=entry.issuer.id,
        achievement_id=entry.achievement.id,
        achievement_name=entry.achievement.name,
        digest=entry.digest,
        valid=entry.verification.valid,
        problems=entry.verification.problems,
    )


async def checked_entries(
    db: Database, person_id: UUID, refs: list[PortfolioCredentialRef], options: FetchOptions, public_url: str
) -> list[PortfolioEntry]:
    """The portfolio entries ``refs`` name, each checked now: a credential issued here must still be valid, one
    of another issuer is verified again (and the new result stored). ``NotFound`` for one not in the portfolio,
    ``CredentialNotValid`` (with every reason) when one does not verify."""
    entries: list[PortfolioEntry] = []
    problems: list[str] = []
    seen: set[tuple[str, UUID]] = set()
    async with db.connection() as conn:
        for ref in refs:
            if (ref.source, ref.id) in seen:
                continue
            seen.add((ref.source, ref.id))
            if ref.source == "guildhall":
                row = await conn.fetchrow(q.valid_credential_of_person, person_id, ref.id)
                if row is None:
                    raise CredentialNotValid(
                        f"credential {ref.id} is not a valid credential of yours "
                        "(revoked, suspended, expired or unknown)"
                    )
                entries.append(issued_here_entry(row, datetime.now(UTC)))
                continue
            row = await conn.fetchrow(q.foreign_of_person, person_id, ref.id)
            if row is None:
                raise NotFound(f"your portfolio has no added credential {ref.id}")
            await foreign.recheck(conn, row, options, public_url)
            entry = added_entry(await conn.fetchrow(q.foreign_of_person, person_id, ref.id))
            if not entry.verification.valid:
                problems.append(f"credential {ref.id}: " + "; ".join(entry.verification.problems))
            entries.append(entry)
    if problems:
        raise CredentialNotValid("a credential named does not verify now: " + " | ".join(problems))
    return entries


def held(entries: list[PortfolioEntry]) -> list[matching.Held]:
    return [
        matching.Held(
            issuer=e.issuer.id,
            achievement_id=e.achievement.id,
            esco_skills=frozenset(e.esco_skills),
            eqf_level=e.eqf_level,
            hours=e.hours,
            valid=e.verification.valid,
        )
        for e in entries
    ]
