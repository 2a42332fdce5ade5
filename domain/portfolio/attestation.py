"""What an Open Badges 3.0 credential attests, read from the document itself: the achievement, the ESCO
skills it is aligned to, its EQF level, hours and ECTS credits.

Read the same way for credentials issued here and elsewhere, so that a unit from another provider or
another issuer is compared on exactly what its issuer signed, never on what our database believes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ESCO_SKILL = "http://data.europa.eu/esco/skill/"
ESCO_OCCUPATION = "http://data.europa.eu/esco/occupation/"
EQF_PREFIX = "http://data.europa.eu/snb/eqf/"
# ISO 8601 durations as Open Badges writes a volume of learning ("PT30H", "P2DT4H", "PT90M").
_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?)?$"
)


@dataclass(frozen=True)
class Attestation:
    credential_uri: str | None
    issuer_id: str | None
    issuer_name: str | None
    achievement_id: str | None
    achievement_name: str | None
    achievement_type: str | None
    esco_skills: list[str] = field(default_factory=list)
    esco_occupations: list[str] = field(default_factory=list)
    eqf_level: int | None = None
    hours: float | None = None
    ects_credits: float | None = None
    valid_from: str | None = None
    valid_until: str | None = None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):  # a language map
        for text in value.values():
            if isinstance(text, str):
                return text
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= 0 and number == number and number != float("inf") else None


def hours_of(duration: Any) -> float | None:
    """The hours an ISO 8601 duration (``volumeOfLearning``) names, or None if it is not one."""
    if not isinstance(duration, str):
        return None
    match = _DURATION.match(duration.strip())
    if match is None or duration.strip() in ("P", "PT"):
        return None
    days, hours, minutes = (float(match.group(n) or 0) for n in ("days", "hours", "minutes"))
    return days * 24 + hours + minutes / 60


def _eqf(achievement: Mapping[str, Any], alignments: list[Mapping[str, Any]]) -> int | None:
    level = achievement.get("eqfLevel")
    if isinstance(level, int) and not isinstance(level, bool) and 1 <= level <= 8:
        return level
    for alignment in alignments:
        url = alignment.get("targetUrl")
        if isinstance(url, str) and url.startswith(EQF_PREFIX):
            code = url[len(EQF_PREFIX) :].strip("/")
            if code.isdigit() and 1 <= int(code) <= 8:
                return int(code)
    return None


def _uris(alignments: list[Mapping[str, Any]], prefix: str) -> list[str]:
    found: dict[str, None] = {}
    for alignment in alignments:
        url = alignment.get("targetUrl")
        if isinstance(url, str) and url.startswith(prefix):
            found[url] = None
    return list(found)


def _skills_of_outcomes(achievement: Mapping[str, Any]) -> list[str]:
    """ESCO skills a Guildhall credential names on its learning outcomes (``relatedESCOSkill``)."""
    found: list[str] = []
    outcomes = achievement.get("learningOutcomes") or achievement.get("learningOutcome") or []
    if isinstance(outcomes, list):
        for outcome in outcomes:
            related = outcome.get("relatedESCOSkill") if isinstance(outcome, Mapping) else None
            if isinstance(related, list):
                found += [s for s in related if isinstance(s, str) and s.startswith(ESCO_SKILL)]
    return found


def attestation(document: Mapping[str, Any]) -> Attestation:
    """What ``document`` (an Open Badges 3.0 AchievementCredential) attests; fields it lacks are None."""
    subject = document.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else {}
    subject = subject if isinstance(subject, Mapping) else {}
    achievement = subject.get("achievement")
    achievement = achievement if isinstance(achievement, Mapping) else {}
    raw_alignments = achievement.get("alignment")
    alignments = [a for a in raw_alignments if isinstance(a, Mapping)] if isinstance(raw_alignments, list) else []
    issuer = document.get("issuer")
    issuer_id = issuer if isinstance(issuer, str) else issuer.get("id") if isinstance(issuer, Mapping) else None
    issuer_name = _text(issuer.get("name")) if isinstance(issuer, Mapping) else None
    kind = achievement.get("achievementType")
    skills = list(dict.fromkeys(_uris(alignments, ESCO_SKILL) + _skills_of_outcomes(achievement)))
    credits = _number(achievement.get("creditsAvailable"))
    if credits is None:
        credits = _number(subject.get("creditsEarned"))
    valid_from = document.get("validFrom") or document.get("issuanceDate")
    valid_until = document.get("validUntil") or document.get("expirationDate")
    return Attestation(
        credential_uri=document.get("id") if isinstance(document.get("id"), str) else None,
        issuer_id=issuer_id if isinstance(issuer_id, str) else None,
        issuer_name=issuer_name,
        achievement_id=achievement.get("id") if isinstance(achievement.get("id"), str) else None,
        achievement_name=_text(achievement.get("name")),
        achievement_type=kind if isinstance(kind, str) else None,
        esco_skills=skills,
        esco_occupations=_uris(alignments, ESCO_OCCUPATION),
        eqf_level=_eqf(achievement, alignments),
        hours=hours_of(achievement.get("volumeOfLearning")),
        ects_credits=credits,
        valid_from=valid_from if isinstance(valid_from, str) else None,
        valid_until=valid_until if isinstance(valid_until, str) else None,
    )
