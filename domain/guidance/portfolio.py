"""The skills a person's portfolio attests: the ESCO skills aligned in each valid credential they hold.

Until the cross-provider portfolio (``person_portfolio``) exists, the portfolio is every valid credential
of the learner records the person has claimed, at every provider (as ``domain.credentials.wallet`` lists
them). A skill counts when the signed credential aligns it (``achievement.alignment[].targetUrl``, an ESCO
skill URI), which is also how a credential from another issuer would say it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.credentials import envelopes
from domain.db import Connection
from domain.profiles.models import ESCO_SKILL_PATTERN
from domain.sql import load_queries

q = load_queries(__file__, "queries.sql")
_SKILL_URI = re.compile(ESCO_SKILL_PATTERN)


@dataclass(frozen=True)
class HeldCredential:
    id: UUID
    achievement_name: str | None
    issuer_id: str | None
    issuer_name: str | None
    skills: frozenset[str]


def skills_attested(document: dict[str, Any]) -> frozenset[str]:
    """The ESCO skill URIs a credential's achievement aligns to."""
    subject = document.get("credentialSubject") or {}
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    alignments = achievement.get("alignment") if isinstance(achievement, dict) else None
    return frozenset(
        a["targetUrl"]
        for a in alignments or []
        if isinstance(a, dict) and isinstance(a.get("targetUrl"), str) and _SKILL_URI.match(a["targetUrl"])
    )


async def held_credentials(conn: Connection, person_id: UUID) -> list[HeldCredential]:
    """The person's valid credentials with the skills each attests, newest first."""
    held = []
    for row in await conn.fetch(q.valid_credentials_of_person, person_id):
        document = envelopes.credential_json(row["payload"])
        issuer = document.get("issuer")
        issuer = issuer if isinstance(issuer, dict) else {"id": issuer}
        achievement = (document.get("credentialSubject") or {}).get("achievement") or {}
        held.append(
            HeldCredential(
                id=row["id"],
                achievement_name=achievement.get("name") if isinstance(achievement, dict) else None,
                issuer_id=issuer.get("id") if isinstance(issuer.get("id"), str) else None,
                issuer_name=issuer.get("name") if isinstance(issuer.get("name"), str) else None,
                skills=skills_attested(document),
            )
        )
    return held
