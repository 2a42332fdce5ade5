"""The portfolio as the API shows it: one entry per credential, with what it attests and how it was verified."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from domain.credentials.foreign.models import CredentialCheck
from domain.structs import Model

__all__ = ["CredentialCheck", "Portfolio", "PortfolioAchievement", "PortfolioEntry", "PortfolioIssuer"]


class PortfolioIssuer(Model):
    id: str  # a DID or URL, as the credential names it
    name: str | None


class PortfolioAchievement(Model):
    id: str | None
    name: str | None
    type: str | None  # achievementType (MicroCredential, Certificate ...)


class PortfolioEntry(Model):
    """One credential of the portfolio and what it attests."""

    id: UUID  # the credential's id here (source "guildhall") or the id of the stored copy (source "added")
    source: Literal["guildhall", "added"]
    credential_uri: str | None  # the credential's own id (urn:uuid:...)
    issuer: PortfolioIssuer
    achievement: PortfolioAchievement
    esco_skills: list[str]
    esco_occupations: list[str]
    eqf_level: int | None
    hours: float | None
    ects_credits: float | None
    valid_from: str | None
    valid_until: str | None
    digest: str  # SHA-256 (hex) of the credential as signed (the JWS payload) or as received
    verification: CredentialCheck
    # Credentials issued here: which learner record, provider, programme and unit they belong to.
    kind: Literal["unit", "programme", "qualification"] | None = None
    learner_id: UUID | None = None
    provider_id: UUID | None = None
    programme_id: UUID | None = None
    unit_key: str | None = None


class Portfolio(Model):
    """Every valid credential issued here to the person's claimed learner records, at every provider, and
    every credential of another issuer they added (with its verification: only valid ones count)."""

    person_id: UUID
    entries: list[PortfolioEntry]
