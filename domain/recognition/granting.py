"""A grant of recognition, recorded as a passing ``prior_learning`` attempt of the person's learner record at
the awarding body (made and linked to the person when they have none there). Its evidence is the recognised
credentials (id, issuer, SHA-256 digest); its ``attempt.passed`` earns the unit credential through the usual,
exactly-once issuing, and that credential then stacks like any other."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec

from assessment.decision import CriterionResult, Decision, decision_to_json
from domain.recognition.models import RecognisedCredential
from domain.sql import load_queries
from domain.writes import Write

q = load_queries(__file__)


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


async def grant(w: Write, row: Mapping[str, Any], reasons: list[str]) -> UUID:
    """Records the grant as a passing ``prior_learning`` attempt and emits its ``attempt.passed``."""
    awarding_body_id, person_id = row["awarding_body_id"], row["person_id"]
    learner_id = await _learner_at(w, awarding_body_id, person_id)
    enrolment_id = await w.conn.fetchval(q.enrolment_of, learner_id, row["version_id"], row["unit_key"])
    if enrolment_id is None:
        enrolment_id = await w.conn.fetchval(
            q.insert_enrolment, awarding_body_id, learner_id, row["version_id"], row["unit_key"]
        )
    else:  # numbered as the other ways number attempts: under the enrolment's lock, so a concurrent one waits
        await w.conn.execute(q.lock_enrolment, enrolment_id)
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
