"""Recognition of credentials from elsewhere, for one unit of a programme.

* The awarding body of a programme states what it recognises for each unit (``rules``).
* A person — or a provider they consented to (``recognition_consents``) — asks for recognition of a unit,
  naming credentials of their portfolio. Each is checked again now (a credential of another issuer against
  its issuer's keys and status list, ``checked``); one that no longer verifies is refused with the reason.
* A rule the credentials meet grants at once; otherwise the request waits in the awarding body's queue for
  an assessor, who grants or refuses with reasons (the credentials are checked again first).
* A grant is recorded as a ``prior_learning`` attempt of the person's learner record at the awarding body
  (made and linked to the person if they have none there), whose evidence is the recognised credentials
  (id, issuer, SHA-256 digest; ``granting``). Its ``attempt.passed`` earns the unit credential by the usual,
  exactly-once issuing, and that credential stacks into qualifications like any other.
* Events ``recognition.requested``, ``recognition.granted`` and ``recognition.refused`` reach the awarding
  body and the provider that asked (webhooks).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec

from domain.credentials.foreign.fetch import FetchOptions
from domain.db import Database
from domain.errors import Conflict, NotFound, PreconditionFailed
from domain.pagination import decode_cursor, next_cursor
from domain.recognition import checked, granting, matching, rules
from domain.recognition.models import (
    PortfolioCredentialRef,
    RecognisedCredential,
    RecognitionDecision,
    RecognitionRequest,
    RecognitionRequestCreate,
    RecognitionRequestPage,
)
from domain.sql import load_queries
from domain.writes import Actor, IdempotencyKey, Write, write

q = load_queries(__file__)


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
        await rules.awarded_unit(conn, None, data.programme_id, data.unit_key)
    entries = await checked.checked_entries(db, person_id, data.credentials, options, public_url)
    named = [msgspec.to_builtins(checked.named(e)) for e in entries]
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(RecognitionRequest)
        programme = await rules.awarded_unit(w.conn, None, data.programme_id, data.unit_key)
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
        in_force = await w.conn.fetch(q.rules_for_unit, data.programme_id, data.unit_key, programme["awarding_body_id"])
        matched = matching.first_match([(r["id"], rules.rule_of_row(r)) for r in in_force], checked.held(entries))
        if matched is not None:
            reasons = [f"meets the awarding body's recognition rule {matched}"]
            attempt_id = await granting.grant(w, row, reasons)
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
            entries = await checked.checked_entries(db, row["person_id"], refs, options, public_url)
        except (checked.CredentialNotValid, NotFound) as exc:
            raise Conflict(f"the request cannot be granted: {exc.message}") from exc
        refreshed = [msgspec.to_builtins(checked.named(e)) for e in entries]
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
            attempt_id = await granting.grant(w, row, list(data.reasons))
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
