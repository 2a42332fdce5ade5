"""Credentials that stand on others: a programme's when every core unit is passed, a qualification's
when the holder's valid unit credentials satisfy its rule (all of, at least N of, minimum hours,
ECTS credits and EQF level over the units counted).

The holder is the person who claimed the learner record: units from every provider where they claimed a
record count together, so a qualification can stand on units of two providers. A record nobody claimed
counts alone. Exactly once: one advisory lock per holder and qualification, a check for a live award, and
the unique issuance key (per person, or per unclaimed record, and version).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.credentials import facts
from domain.credentials.issuing import create
from domain.designs.content import ProgrammeContent, QualificationContent, QualificationRule, UnitRef
from domain.outbox import HandlerContext
from domain.sql import load_queries
from domain.writes import Write

q = load_queries(__file__, "issuing.sql")
sq = load_queries(__file__, "stacking.sql")


async def programme_completed(
    w: Write, learner_id: UUID, provider_id: UUID, version_id: UUID, design_id: UUID, context: HandlerContext
) -> UUID | None:
    """Issues the programme credential once every core unit is passed — for programmes of more than
    one unit or with units not certifiable alone (otherwise the unit credential says it all)."""
    content = facts.published_content(version_id, "programme", await w.conn.fetchval(q.version_content, version_id))
    assert isinstance(content, ProgrammeContent)
    if len(content.units) < 2 and all(u.certifiable_alone for u in content.units):
        return None
    passed = {r["unit_key"] for r in await w.conn.fetch(q.passed_units, learner_id, version_id)}
    if not all(u.key in passed for u in content.units if u.kind == "core"):
        return None
    rows = await w.conn.fetch(q.unit_credentials_of_version, learner_id, version_id)
    certifiable = {u.key for u in content.units if u.kind == "core" and u.certifiable_alone}
    if not certifiable <= {r["unit_key"] for r in rows}:
        return None  # the event of the unit still without its credential completes the programme
    stands_on = [r["id"] for r in rows]
    return await create(
        w,
        kind="programme",
        issuance_key=f"programme:{learner_id}:{version_id}",
        learner_id=learner_id,
        provider_id=provider_id,
        content=content,
        design_id=design_id,
        version_id=version_id,
        unit_key=None,
        attempt_id=None,
        stands_on=stands_on,
        context=context,
    )


@dataclass(frozen=True)
class Held:
    credential_id: UUID
    hours: float
    credits: float
    eqf: int | None


def _held(rows: list[Mapping[str, Any]]) -> dict[tuple[UUID, str], Held]:
    held: dict[tuple[UUID, str], Held] = {}
    for row in rows:
        content = facts.published_content(row["version_id"], "programme", row["content"])
        unit = facts.unit_of(content, row["unit_key"])
        if unit is None or not isinstance(content, ProgrammeContent):
            continue
        held.setdefault(
            (row["design_id"], row["unit_key"]),
            Held(row["id"], unit.workload_hours or 0, unit.ects_credits or 0, unit.eqf_level or content.eqf_level),
        )
    return held


def satisfied(rule: QualificationRule, held: Mapping[tuple[UUID, str], Held]) -> list[UUID] | None:
    """The credentials that satisfy ``rule``, or None when the learner's credentials do not."""

    def key(ref: UnitRef) -> tuple[UUID, str]:
        return (ref.programme_id, ref.unit_key)

    if not rule.all_of and not rule.at_least:
        return None
    if any(key(ref) not in held for ref in rule.all_of):
        return None
    counted = [held[key(ref)] for ref in rule.all_of]
    for group in rule.at_least:
        have = [held[key(ref)] for ref in group.of if key(ref) in held]
        if len(have) < group.count:
            return None
        counted += have
    counted = list({h.credential_id: h for h in counted}.values())
    if rule.min_hours is not None and sum(h.hours for h in counted) < rule.min_hours:
        return None
    if rule.min_ects_credits is not None and sum(h.credits for h in counted) < rule.min_ects_credits:
        return None
    if rule.min_eqf_level is not None and any(h.eqf is None or h.eqf < rule.min_eqf_level for h in counted):
        return None
    return [h.credential_id for h in counted]


async def qualifications_completed(w: Write, learner_id: UUID, design_id: UUID, context: HandlerContext) -> list[UUID]:
    """Issues each qualification whose rule names ``design_id`` and that the learner's holder now satisfies:
    the units counted are those of every learner record the same person claimed, at every provider."""
    candidates = await w.conn.fetch(q.qualifications_using, str(design_id))
    if not candidates:
        return []
    records = [r["id"] for r in await w.conn.fetch(sq.holder_records, learner_id)]
    person_id = await w.conn.fetchval(sq.holder_person, learner_id)
    holder = f"person:{person_id}" if person_id is not None else str(learner_id)
    provider_id = await w.conn.fetchval(q.learner_provider, learner_id)
    issued = []
    for candidate in candidates:
        content = facts.published_content(candidate["version_id"], "qualification", candidate["content"])
        assert isinstance(content, QualificationContent)
        if not content.rule:
            continue
        await w.conn.execute(sq.lock_holder_qualification, holder, candidate["design_id"])
        # Read after the lock: a unit credential another worker just committed counts.
        held = _held(await w.conn.fetch(sq.valid_unit_credentials_of_records, records))
        stands_on = satisfied(content.rule, held)
        if stands_on is None:
            continue
        if await w.conn.fetchval(sq.live_qualification_of_records, records, candidate["design_id"]) is not None:
            continue  # awarded already (before the person linked a second record, or by another unit's event)
        # Unclaimed records keep their key of old; a person's qualification is theirs, whichever record the
        # event came from (two providers' events racing insert one row).
        key = f"{person_id}:person" if person_id is not None else str(learner_id)
        credential_id = await create(
            w,
            kind="qualification",
            issuance_key=f"qualification:{key}:{candidate['version_id']}",
            learner_id=learner_id,
            provider_id=provider_id,
            content=content,
            design_id=candidate["design_id"],
            version_id=candidate["version_id"],
            unit_key=None,
            attempt_id=None,
            stands_on=stands_on,
            context=context,
        )
        if credential_id is not None:
            issued.append(credential_id)
    return issued


async def qualifications_of_holder(w: Write, learner_id: UUID, context: HandlerContext) -> list[UUID]:
    """Every qualification the holder of ``learner_id`` now satisfies, over all the programmes of which they
    hold a unit credential (a person who links a second learner record may complete one this way)."""
    records = [r["id"] for r in await w.conn.fetch(sq.holder_records, learner_id)]
    issued: list[UUID] = []
    for row in await w.conn.fetch(sq.unit_designs_of_records, records):
        issued += await qualifications_completed(w, learner_id, row["design_id"], context)
    return issued
