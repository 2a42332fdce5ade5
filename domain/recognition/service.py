"""Recognition of credentials from elsewhere, for one unit of a programme.

* The awarding body of a programme states what it recognises for each unit (``RecognitionRuleCreate``).
* A person — or a provider they consented to (``recognition_consents``) — asks for recognition of a unit,
  naming credentials of their portfolio. Each is checked again now (a credential of another issuer against
  its issuer's keys and status list); one that no longer verifies is refused with the reason.
* A rule the credentials meet grants at once; otherwise the request waits in the awarding body's queue for
  an assessor, who grants or refuses with reasons (the credentials are checked again first).
* A grant is recorded as a ``prior_learning`` attempt of the person's learner record at the awarding body
  (made and linked to the person if they have none there), whose evidence is the recognised credentials
  (id, issuer, SHA-256 digest). Its ``attempt.passed`` earns the unit credential by the usual, exactly-once
  issuing, and that credential stacks into qualifications like any other.
* Events ``recognition.requested``, ``recognition.granted`` and ``recognition.refused`` reach the awarding
  body and the provider that asked (webhooks).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from assessment.decision import CriterionResult, Decision, decision_to_json
from domain.credentials import facts
from domain.credentials.foreign.fetch import FetchOptions
from domain.db import Connection, Database
from domain.designs.content import ProgrammeContent
from domain.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from domain.pagination import decode_cursor, next_cursor
from domain.portfolio import foreign
from domain.portfolio.models import PortfolioEntry
from domain.portfolio.service import added_entry, issued_here_entry
from domain.recognition import matching
from domain.recognition.models import (
    PortfolioCredentialRef,
    RecognisedCredential,
    RecognitionDecision,
    RecognitionRequest,
    RecognitionRequestCreate,
    RecognitionRequestPage,
    RecognitionRule,
    RecognitionRuleCreate,
    RecognitionRulePage,
)
from domain.sql import load_queries
from domain.writes import Actor, IdempotencyKey, Write, write

q = load_queries(__file__)


class CredentialNotValid(InvalidInput):
    """A credential named for recognition does not verify now."""


# --- Rules ------------------------------------------------------------------------------------------


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


async def _awarded_unit(conn: Connection, organisation_id: UUID | None, programme_id: UUID, unit_key: str) -> Any:
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
        await _awarded_unit(w.conn, organisation_id, data.programme_id, data.unit_key)
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


# --- The credentials a request names --------------------------------------------------------------


def _named(entry: PortfolioEntry) -> RecognisedCredential:
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


def rule_of_row(row: Mapping[str, Any]) -> matching.Rule:
    return matching.Rule(
        kind=row["kind"],
        achievement_ids=frozenset(row["achievement_ids"]),
        issuers=frozenset(row["issuers"]),
        esco_skills=frozenset(row["esco_skills"]),
        min_eqf_level=row["min_eqf_level"],
        min_hours=float(row["min_hours"]) if row["min_hours"] is not None else None,
    )


# --- Requests ---------------------------------------------------------------------------------------


def _request(row: Mapping[str, Any]) -> RecognitionRequest:
    return RecognitionRequest(
        id=row["id"],
        person_id=row["person_id"],
        awarding_body_id=row["awarding_body_id"],
        programme_id=row["design_id"],
        unit_key=row["unit_key"],
        credentials=msgspec.convert(row["credentials"], list[RecognisedCredential]),
        status=row["status"],
        rule_id=row["rule_id"],
        reasons=list(row["reasons"]),
        submitted_by_organisation=row["submitted_by_organisation"],
        decided_at=row["decided_at"],
        attempt_id=row["attempt_id"],
        version=row["version"],
        created_at=row["created_at"],
    )


def _audience(row: Mapping[str, Any]) -> list[str]:
    ids = [row["awarding_body_id"], row["submitted_by_organisation"]]
    return list(dict.fromkeys(str(i) for i in ids if i is not None))


async def _emit(w: Write, topic: str, row: Mapping[str, Any]) -> None:
    await w.emit(
        topic,
        f"recognition-request/{row['id']}",
        row["awarding_body_id"],
        {
            "requestId": str(row["id"]),
            "personId": str(row["person_id"]),
            "programmeId": str(row["design_id"]),
            "unitKey": row["unit_key"],
            "status": row["status"],
            "reasons": list(row["reasons"]),
            "attemptId": str(row["attempt_id"]) if row["attempt_id"] else None,
            "audience": _audience(row),
        },
    )


async def _learner_at(w: Write, awarding_body_id: UUID, person_id: UUID) -> UUID:
    """The person's learner record at the awarding body; made (and linked to them) if they have none."""
    learner_id = await w.conn.fetchval(q.learner_of_person_at, awarding_body_id, person_id)
    if learner_id is not None:
        return UUID(str(learner_id))
    person = await w.conn.fetchrow(q.person, person_id)
    learner_id = await w.conn.fetchval(
        q.insert_linked_learner,
        awarding_body_id,
        person["name"],
        person["email"],
        secrets.token_hex(16),
        person["email_canonical"],
        person_id,
    )
    await w.audit("learner.created_for_recognition", "learner", learner_id, awarding_body_id, {})
    return UUID(str(learner_id))


async def _grant(w: Write, row: Mapping[str, Any], reasons: list[str]) -> UUID:
    """Records the grant as a passing ``prior_learning`` attempt and emits its ``attempt.passed``."""
    awarding_body_id, person_id = row["awarding_body_id"], row["person_id"]
    learner_id = await _learner_at(w, awarding_body_id, person_id)
    enrolment_id = await w.conn.fetchval(q.enrolment_of, learner_id, row["version_id"], row["unit_key"])
    if enrolment_id is None:
        enrolment_id = await w.conn.fetchval(
            q.insert_enrolment, awarding_body_id, learner_id, row["version_id"], row["unit_key"]
        )
    named = msgspec.convert(row["credentials"], list[RecognisedCredential])
    evidence = [
        {
            "description": f"Recognised: {c.achievement_name or c.achievement_id or 'credential'} (issuer {c.issuer})",
            "url": c.credential_uri,
            "sha256": c.digest,
            "credentialId": str(c.id),
            "issuer": c.issuer,
        }
        for c in named
    ]
    decision = Decision(
        passed=True,
        mode="prior_learning",
        score=None,
        max_score=None,
        score_rule="Recognition of credentials from elsewhere by the awarding body",
        results=[
            CriterionResult(
                key=str(c.id), title=c.achievement_name or c.issuer, passed=True, required=True, reason="recognised"
            )
            for c in named
        ],
        reasons=reasons,
    )
    attempt = await w.conn.fetchrow(
        q.insert_prior_learning_attempt,
        awarding_body_id,
        learner_id,
        enrolment_id,
        row["version_id"],
        row["unit_key"],
        w.actor.person_id,
        {"recognitionRequestId": str(row["id"])},
        evidence,
        decision_to_json(decision),
        w.actor.client_id,
        w.actor.person_id,
    )
    payload = {
        "attemptId": str(attempt["id"]),
        "learnerId": str(learner_id),
        "providerId": str(awarding_body_id),
        "programmeId": str(row["design_id"]),
        "unitKey": row["unit_key"],
        "passed": True,
        "score": None,
        "correctsAttemptId": None,
        "source": "prior_learning",
    }
    await w.emit_many(
        ["attempt.recorded", "attempt.passed"],
        f"learner/{learner_id}/{row['design_id']}/{row['unit_key']}",
        awarding_body_id,
        payload,
    )
    await w.audit("attempt.recorded", "attempt", attempt["id"], awarding_body_id, {"source": "prior_learning"})
    return UUID(str(attempt["id"]))


async def submit(
    db: Database,
    actor: Actor,
    person_id: UUID,
    data: RecognitionRequestCreate,
    options: FetchOptions,
    public_url: str,
    *,
    submitted_by: UUID | None = None,
    idempotency: IdempotencyKey | None = None,
) -> RecognitionRequest:
    """A recognition request: granted at once when a rule matches, else pending for an assessor."""
    async with db.connection() as conn:
        await _awarded_unit(conn, None, data.programme_id, data.unit_key)
    entries = await checked_entries(db, person_id, data.credentials, options, public_url)
    named = [msgspec.to_builtins(_named(e)) for e in entries]
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(RecognitionRequest)
        programme = await _awarded_unit(w.conn, None, data.programme_id, data.unit_key)
        row = await w.conn.fetchrow(
            q.insert_request,
            person_id,
            programme["awarding_body_id"],
            data.programme_id,
            programme["version_id"],
            data.unit_key,
            named,
            submitted_by,
            actor.client_id,
        )
        await w.audit("recognition.requested", "recognition_request", row["id"], programme["awarding_body_id"], {})
        await _emit(w, "recognition.requested", row)
        rules = await w.conn.fetch(q.rules_for_unit, data.programme_id, data.unit_key, programme["awarding_body_id"])
        matched = matching.first_match([(r["id"], rule_of_row(r)) for r in rules], held(entries))
        if matched is not None:
            reasons = [f"meets the awarding body's recognition rule {matched}"]
            attempt_id = await _grant(w, row, reasons)
            row = await w.conn.fetchrow(
                q.decide_request, row["id"], "granted", reasons, matched, attempt_id, None, None, None
            )
            await _emit(w, "recognition.granted", row)
        request = _request(row)
        await w.remember(request)
    return request


async def decide(
    db: Database,
    actor: Actor,
    organisation_id: UUID,
    request_id: UUID,
    data: RecognitionDecision,
    version: int,
    options: FetchOptions,
    public_url: str,
) -> RecognitionRequest:
    """An assessor's decision on a pending request; a grant checks the credentials again first."""
    async with db.connection() as conn:
        row = await conn.fetchrow(q.request_of_organisation, request_id, organisation_id)
    if row is None:
        raise NotFound(f"organisation {organisation_id} has no recognition request {request_id}")
    refreshed = None
    if data.decision == "grant" and row["status"] == "pending":
        named = msgspec.convert(row["credentials"], list[RecognisedCredential])
        refs = [PortfolioCredentialRef(source=c.source, id=c.id) for c in named]
        try:
            entries = await checked_entries(db, row["person_id"], refs, options, public_url)
        except (CredentialNotValid, NotFound) as exc:
            raise Conflict(f"the request cannot be granted: {exc.message}") from exc
        refreshed = [msgspec.to_builtins(_named(e)) for e in entries]
    async with write(db, actor) as w:
        row = await w.conn.fetchrow(q.request_for_decision, request_id, organisation_id)
        if row is None:
            raise NotFound(f"organisation {organisation_id} has no recognition request {request_id}")
        if row["version"] != version:
            raise PreconditionFailed(f'the request is at version "v{row["version"]}": read it again')
        if row["status"] != "pending":
            raise Conflict(f"the request was already decided: {row['status']}")
        if data.decision == "grant":
            if refreshed is not None:
                row = {**row, "credentials": refreshed}
            attempt_id = await _grant(w, row, list(data.reasons))
            row = await w.conn.fetchrow(
                q.decide_request,
                request_id,
                "granted",
                list(data.reasons),
                None,
                attempt_id,
                actor.person_id,
                actor.client_id,
                refreshed,
            )
        else:
            row = await w.conn.fetchrow(
                q.decide_request,
                request_id,
                "refused",
                list(data.reasons),
                None,
                None,
                actor.person_id,
                actor.client_id,
                None,
            )
        topic = "recognition.granted" if data.decision == "grant" else "recognition.refused"
        await w.audit(topic, "recognition_request", request_id, organisation_id, {"reasons": list(data.reasons)})
        await _emit(w, topic, row)
    return _request(row)


async def get_request(db: Database, organisation_id: UUID, request_id: UUID) -> RecognitionRequest:
    async with db.connection() as conn:
        row = await conn.fetchrow(q.request_of_organisation, request_id, organisation_id)
    if row is None:
        raise NotFound(f"organisation {organisation_id} has no recognition request {request_id}")
    return _request(row)


async def queue(
    db: Database, organisation_id: UUID, status: str | None, *, cursor: str | None, limit: int
) -> RecognitionRequestPage:
    position = decode_cursor(cursor)
    at, key = position if position else (None, None)
    async with db.connection() as conn:
        rows = list(await conn.fetch(q.requests_of_organisation, organisation_id, status, at, key, limit + 1))
    return RecognitionRequestPage(
        items=[_request(r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit, at="created_at")
    )


async def mine(db: Database, person_id: UUID, *, cursor: str | None, limit: int) -> RecognitionRequestPage:
    position = decode_cursor(cursor)
    at, key = position if position else (None, None)
    async with db.connection() as conn:
        rows = list(await conn.fetch(q.requests_of_person, person_id, at, key, limit + 1))
    return RecognitionRequestPage(
        items=[_request(r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit, at="created_at")
    )


# --- Consent: a provider asks on a person's behalf -------------------------------------------------


async def grant_consent(db: Database, actor: Actor, person_id: UUID, organisation_id: UUID) -> None:
    async with write(db, actor) as w:
        if not await w.conn.fetchval(q.organisation_exists, organisation_id):
            raise NotFound(f"there is no organisation {organisation_id}")
        await w.conn.execute(q.grant_consent, person_id, organisation_id)
        await w.audit("recognition.consent_granted", "person", person_id, organisation_id, {})


async def withdraw_consent(db: Database, actor: Actor, person_id: UUID, organisation_id: UUID) -> None:
    async with write(db, actor) as w:
        if await w.conn.fetchval(q.withdraw_consent, person_id, organisation_id) is None:
            raise NotFound(f"you gave organisation {organisation_id} no consent")
        await w.audit("recognition.consent_withdrawn", "person", person_id, organisation_id, {})


async def person_for_provider(db: Database, provider_id: UUID, learner_id: UUID) -> UUID:
    """The person behind a provider's learner record, if they consented to the provider asking for them."""
    async with db.connection() as conn:
        person_id = await conn.fetchval(q.person_of_learner, learner_id, provider_id)
        if person_id is None:
            raise NotFound(f"provider {provider_id} has no claimed learner record {learner_id}")
        if not await conn.fetchval(q.consent, person_id, provider_id):
            raise Conflict(
                "the learner has not consented to this organisation asking for recognition on their behalf "
                "(they give it with PUT /me/recognition-consents/{organisationId})"
            )
    return UUID(str(person_id))
