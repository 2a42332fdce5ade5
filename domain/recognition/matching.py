"""Whether the credentials a request names meet a recognition rule: pure, so it can be tested by property.

Only valid credentials count (a credential of another issuer after it was checked again). A rule of kind
``case_by_case`` never matches by itself: an assessor decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    kind: str
    achievement_ids: frozenset[str] = frozenset()
    issuers: frozenset[str] = frozenset()
    esco_skills: frozenset[str] = frozenset()
    min_eqf_level: int | None = None
    min_hours: float | None = None


@dataclass(frozen=True)
class Held:
    """What one credential attests, and whether it is valid now."""

    issuer: str
    achievement_id: str | None
    esco_skills: frozenset[str]
    eqf_level: int | None
    hours: float | None
    valid: bool


def matches(rule: Rule, held: Sequence[Held]) -> bool:
    """True when ``held`` (the credentials a request names) meets ``rule``."""
    valid = [h for h in held if h.valid]
    if not valid:
        return False
    if rule.kind == "achievement":
        return any(h.achievement_id in rule.achievement_ids for h in valid)
    if rule.kind != "criteria":
        return False
    counted = [h for h in valid if not rule.issuers or h.issuer in rule.issuers]
    if rule.min_eqf_level is not None:
        counted = [h for h in counted if h.eqf_level is not None and h.eqf_level >= rule.min_eqf_level]
    if not counted:
        return False
    skills = frozenset().union(*(h.esco_skills for h in counted))
    if not rule.esco_skills <= skills:
        return False
    return rule.min_hours is None or sum(h.hours or 0 for h in counted) >= rule.min_hours


def first_match(rules: Sequence[tuple[object, Rule]], held: Sequence[Held]) -> object | None:
    """The id of the first rule ``held`` meets, else None."""
    return next((rule_id for rule_id, rule in rules if matches(rule, held)), None)
