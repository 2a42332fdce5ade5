"""The skills a person's portfolio attests, for guidance: each valid credential of ``person_portfolio``
(``domain.portfolio``) — those issued here to every learner record the person claimed, at every provider, and
those of other issuers they added whose last verification passed — with the ESCO skills it aligns to.

Guidance only advises and grants nothing, so an added credential counts on its stored verification result
(``GET /me/portfolio`` and recognition check it again); a credential whose check failed does not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from domain.db import Connection
from domain.portfolio.service import person_portfolio


@dataclass(frozen=True)
class HeldCredential:
    id: UUID  # the credential's id here, or the id of the stored copy of another issuer's
    origin: Literal["guildhall", "added"]
    achievement_name: str | None
    issuer_id: str | None
    issuer_name: str | None
    skills: frozenset[str]


async def held_credentials(conn: Connection, person_id: UUID) -> list[HeldCredential]:
    """The person's valid credentials with the ESCO skills each attests."""
    portfolio = await person_portfolio(conn, person_id)
    return [
        HeldCredential(
            id=entry.id,
            origin=entry.source,
            achievement_name=entry.achievement.name,
            issuer_id=entry.issuer.id or None,
            issuer_name=entry.issuer.name,
            skills=frozenset(entry.esco_skills),
        )
        for entry in portfolio.entries
        if entry.verification.valid
    ]
