"""The order in which guidance recommends training: a pure function, so that its rules can be read in one
place and checked by property tests.

The first criterion is what the person needs most — missing essential skills covered per hour of
training — and the others only break ties, in the order the issue names them: EQF fit, language,
country/region, validity, quality assurance; then the missing optional skills covered, and last the
programme's id and unit key, so that the order never depends on the database's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.guidance.models import Preferences, RankingKey

# Stronger external assurance first (Annex I element 11).
QUALITY_ASSURANCE_ORDER = (
    "state_recognition",
    "external_accreditation",
    "chamber_approval",
    "industry_certification",
    "internal_review",
)
CRITERIA = (
    "essential skills covered per hour",
    "EQF fit",
    "language",
    "country/region",
    "validity",
    "quality assurance",
    "optional skills covered",
)


@dataclass(frozen=True)
class Offer:
    """A programme or a unit of the register, with the missing skills it covers."""

    programme_id: UUID
    unit_key: str  # '' for the whole programme
    covers_essential: frozenset[str]
    covers_optional: frozenset[str]
    hours: float | None
    eqf_level: int | None
    languages: tuple[str, ...]
    country: str | None
    region: str | None
    validity_months: int | None
    quality_assurance_type: str | None
    extra: Any = None  # what the caller needs back (titles ...), not ranked on


def essential_per_hour(offer: Offer) -> float | None:
    if not offer.hours or not offer.covers_essential:
        return None
    return len(offer.covers_essential) / offer.hours


def _place(offer: Offer, preferences: Preferences) -> str | None:
    country = preferences.country or (preferences.region[:2] if preferences.region else None)
    if country is None:
        return None
    if preferences.region and offer.region == preferences.region:
        return "region"
    return "country" if offer.country == country else "elsewhere"


def sort_key(offer: Offer, preferences: Preferences) -> tuple[tuple[Any, ...], ...]:
    """One tuple per criterion of ``CRITERIA`` (smaller ranks first), then the tie-break."""
    rate = essential_per_hour(offer)
    # None covered, or no hours to divide by: after every offer with a rate; among those, more covered first.
    per_hour = (0, -rate) if rate is not None else (1, -len(offer.covers_essential))
    target = preferences.eqf_level
    eqf = 0 if target is None else (abs(offer.eqf_level - target) if offer.eqf_level else 9)
    language = 0 if preferences.language is None or preferences.language in offer.languages else 1
    place = {None: 0, "region": 0, "country": 1, "elsewhere": 2}[_place(offer, preferences)]
    validity = (0, 0) if offer.validity_months is None else (1, -offer.validity_months)
    qa = (
        QUALITY_ASSURANCE_ORDER.index(offer.quality_assurance_type)
        if offer.quality_assurance_type in QUALITY_ASSURANCE_ORDER
        else len(QUALITY_ASSURANCE_ORDER)
    )
    return (
        per_hour,
        (eqf,),
        (language,),
        (place,),
        validity,
        (qa,),
        (-len(offer.covers_optional),),
        (str(offer.programme_id), offer.unit_key),
    )


def ranking_key(offer: Offer, preferences: Preferences, decided_by: str | None) -> RankingKey:
    rate = essential_per_hour(offer)
    return RankingKey(
        missing_essential_covered=len(offer.covers_essential),
        missing_optional_covered=len(offer.covers_optional),
        hours=offer.hours,
        essential_per_hour=round(rate, 6) if rate is not None else None,
        eqf_level=offer.eqf_level,
        eqf_distance=None
        if preferences.eqf_level is None
        else (abs(offer.eqf_level - preferences.eqf_level) if offer.eqf_level else None),
        language_match=None if preferences.language is None else preferences.language in offer.languages,
        place_match=_place(offer, preferences),  # type: ignore[arg-type]
        validity_months=offer.validity_months,
        quality_assurance=offer.quality_assurance_type,
        decided_by=decided_by,
    )


def rank(offers: list[Offer], preferences: Preferences) -> list[tuple[Offer, RankingKey]]:
    """The offers best first, each with its ranking key and the criterion that put it above the next."""
    keyed = sorted(((sort_key(o, preferences), o) for o in offers), key=lambda pair: pair[0])
    ranked = []
    for index, (key, offer) in enumerate(keyed):
        decided = None
        if index + 1 < len(keyed):
            below = keyed[index + 1][0]
            decided = next((CRITERIA[i] for i in range(len(CRITERIA)) if key[i] != below[i]), None)
        ranked.append((offer, ranking_key(offer, preferences, decided)))
    return ranked


def explain(rank_number: int, key: RankingKey, missing_essential: int) -> str:
    """The ranking key in words."""
    parts = []
    if key.missing_essential_covered == 0:
        parts.append("covers none of the missing essential skills")
    elif key.essential_per_hour is None:
        parts.append(
            f"covers {key.missing_essential_covered} of the {missing_essential} missing essential skills "
            "(no hours given, so ranked after those with hours)"
        )
    else:
        parts.append(
            f"covers {key.missing_essential_covered} of the {missing_essential} missing essential skills in "
            f"{key.hours:g} h ({key.essential_per_hour:.4g} per hour)"
        )
    if key.eqf_distance is not None:
        parts.append(f"EQF {key.eqf_level} ({key.eqf_distance} from the level asked for)")
    elif key.eqf_level is not None:
        parts.append(f"EQF {key.eqf_level}")
    if key.language_match is not None:
        parts.append("taught in the language asked for" if key.language_match else "not taught in your language")
    if key.place_match is not None:
        parts.append(
            {
                "region": "in your region",
                "country": "in your country",
                "elsewhere": "outside your country",
            }[key.place_match]
        )
    parts.append(
        "credential does not expire"
        if key.validity_months is None
        else f"credential valid {key.validity_months} months"
    )
    parts.append(f"quality assurance: {(key.quality_assurance or 'none').replace('_', ' ')}")
    if key.missing_optional_covered:
        parts.append(f"also covers {key.missing_optional_covered} missing optional skills")
    tail = f"; ranked above the next on {key.decided_by}" if key.decided_by else ""
    return f"#{rank_number}: " + "; ".join(parts) + tail
