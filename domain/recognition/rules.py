"""An awarding body's recognition rules: for one unit of a programme it awards, what it recognises of
credentials from elsewhere (``matching`` decides whether credentials meet one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from domain.credentials import facts
from domain.db import Connection, Database
from domain.designs.content import ProgrammeContent
from domain.errors import InvalidInput, NotFound, PreconditionFailed
from domain.pagination import decode_cursor, next_cursor
from domain.recognition import matching
from domain.recognition.models import RecognitionRule, RecognitionRuleCreate, RecognitionRulePage
from domain.sql import load_queries
from domain.writes import Actor, IdempotencyKey, write

q = load_queries(__file__)


def _rule(row: Mapping[str, Any]) -> RecognitionRule:
    return RecognitionRule(
        id=row["id"],
        organisation_id=row["organisation_id"],
        programme_id=row["design_id"],
        unit_key=row["unit_key"],
        kind=row["kind"],
        achievement_ids=list(row["achievement_ids"]),
        issuers=list(row["issuers"]),
        esco_skills=list(row["esco_skills"]),
        min_eqf_level=row["min_eqf_level"],
        min_hours=float(row["min_hours"]) if row["min_hours"] is not None else None,
        note=row["note"],
        version=row["version"],
        created_at=row["created_at"],
    )


async def awarded_unit(conn: Connection, organisation_id: UUID | None, programme_id: UUID, unit_key: str) -> Any:
    """The latest published version of the programme, if ``organisation_id`` (when given) awards it and it has
    the unit; ``NotFound`` otherwise (another organisation learns nothing of it)."""
    programme = await conn.fetchrow(q.published_unit_programme, programme_id)
    if programme is None or (organisation_id is not None and programme["awarding_body_id"] != organisation_id):
        raise NotFound(f"there is no published programme {programme_id} that this organisation awards")
    content = facts.published_content(programme["version_id"], "programme", programme["content"])
    assert isinstance(content, ProgrammeContent)
    if facts.unit_of(content, unit_key) is None:
        raise InvalidInput(f"programme {programme_id} has no unit {unit_key!r}")
    return programme


def _check_rule(data: RecognitionRuleCreate) -> None:
    if data.kind == "achievement" and not data.achievement_ids:
        raise InvalidInput("a rule of kind achievement names at least one achievementId")
    if data.kind == "criteria" and not (data.esco_skills or data.min_eqf_level or data.min_hours or data.issuers):
        raise InvalidInput("a rule of kind criteria names issuers, escoSkills, minEqfLevel or minHours")
    if data.kind != "achievement" and data.achievement_ids:
        raise InvalidInput("achievementIds belong to rules of kind achievement")
    if data.kind != "criteria" and (data.esco_skills or data.min_eqf_level or data.min_hours or data.issuers):
        raise InvalidInput("issuers, escoSkills, minEqfLevel and minHours belong to rules of kind criteria")


async def create_rule(
    db: Database,
    actor: Actor,
    organisation_id: UUID,
    data: RecognitionRuleCreate,
    idempotency: IdempotencyKey | None = None,
) -> RecognitionRule:
    _check_rule(data)
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(RecognitionRule)
        await awarded_unit(w.conn, organisation_id, data.programme_id, data.unit_key)
        row = await w.conn.fetchrow(
            q.insert_rule,
            organisation_id,
            data.programme_id,
            data.unit_key,
            data.kind,
            sorted(set(data.achievement_ids)),
            sorted(set(data.issuers)),
            sorted(set(data.esco_skills)),
            data.min_eqf_level,
            data.min_hours,
            data.note,
        )
        rule = _rule(row)
        await w.audit("recognition_rule.created", "recognition_rule", rule.id, organisation_id, {"kind": data.kind})
        await w.remember(rule)
    return rule


async def list_rules(db: Database, organisation_id: UUID, *, cursor: str | None, limit: int) -> RecognitionRulePage:
    position = decode_cursor(cursor)
    at, key = position if position else (None, None)
    async with db.connection() as conn:
        rows = list(await conn.fetch(q.rules_of_organisation, organisation_id, at, key, limit + 1))
    return RecognitionRulePage(
        items=[_rule(r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit, at="created_at")
    )


async def get_rule(db: Database, organisation_id: UUID, rule_id: UUID) -> RecognitionRule:
    async with db.connection() as conn:
        row = await conn.fetchrow(q.rule_of_organisation, organisation_id, rule_id)
    if row is None:
        raise NotFound(f"organisation {organisation_id} has no recognition rule {rule_id}")
    return _rule(row)


async def withdraw_rule(db: Database, actor: Actor, organisation_id: UUID, rule_id: UUID, version: int) -> None:
    async with write(db, actor) as w:
        row = await w.conn.fetchrow(q.rule_of_organisation, organisation_id, rule_id)
        if row is None:
            raise NotFound(f"organisation {organisation_id} has no recognition rule {rule_id}")
        if await w.conn.fetchval(q.withdraw_rule, organisation_id, rule_id, version) is None:
            raise PreconditionFailed(f'the rule is at version "v{row["version"]}": read it again')
        await w.audit("recognition_rule.withdrawn", "recognition_rule", rule_id, organisation_id, {})


def rule_of_row(row: Mapping[str, Any]) -> matching.Rule:
    return matching.Rule(
        kind=row["kind"],
        achievement_ids=frozenset(row["achievement_ids"]),
        issuers=frozenset(row["issuers"]),
        esco_skills=frozenset(row["esco_skills"]),
        min_eqf_level=row["min_eqf_level"],
        min_hours=float(row["min_hours"]) if row["min_hours"] is not None else None,
    )
