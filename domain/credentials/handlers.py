"""The worker's side of credentials: outbox handlers, each run in its event's transaction.

* ``attempt.passed``: the unit credential (exactly once), then the programme's if this completes it.
* ``attempt.failed`` for a correction: what the corrected pass earned is revoked.
* ``credential.issued`` / ``credential.cosigned`` of a unit: qualifications the learner now satisfies.
* ``learner.claimed``: a person's records now count together; qualifications they now satisfy.
* ``credentials.release_requested``: signs what a lifted hold left, in batches.
"""

from __future__ import annotations

from uuid import UUID

from domain import outbox
from domain.credentials import issuing, stacking
from domain.db import Connection
from domain.outbox import OutboxEvent, handler_context
from domain.sql import load_queries
from domain.writes import Actor, Write

q = load_queries(__file__, "issuing.sql")


def _write(conn: Connection, event: OutboxEvent) -> Write:
    # The platform writes on the event's behalf: the audit trail names the event.
    return Write(conn=conn, actor=Actor(request_id=f"outbox:{event.id}"))


@outbox.register("attempt.passed")
async def issue_on_pass(conn: Connection, event: OutboxEvent) -> None:
    w, context = _write(conn, event), handler_context()
    attempt_id = UUID(event.payload["attemptId"])
    await issuing.issue_for_attempt(w, attempt_id, context)
    attempt = await conn.fetchrow(issuing.q.attempt_for_issuing, attempt_id)
    if attempt is not None and attempt["corrected_by"] is None:
        await stacking.programme_completed(
            w, attempt["learner_id"], attempt["provider_id"], attempt["version_id"], attempt["design_id"], context
        )


@outbox.register("attempt.failed")
async def revoke_on_failed_correction(conn: Connection, event: OutboxEvent) -> None:
    corrected = event.payload.get("correctsAttemptId")
    if corrected:
        await issuing.revoke_for_failed_correction(
            _write(conn, event), UUID(event.payload["attemptId"]), UUID(corrected)
        )


async def _stack(conn: Connection, event: OutboxEvent) -> None:
    if event.payload.get("kind") == "unit":
        await stacking.qualifications_completed(
            _write(conn, event), UUID(event.payload["learnerId"]), UUID(event.payload["programmeId"]), handler_context()
        )


outbox.register("credential.issued")(_stack)
outbox.register("credential.cosigned")(_stack)


@outbox.register("learner.claimed")
async def stack_on_claim(conn: Connection, event: OutboxEvent) -> None:
    await stacking.qualifications_of_holder(_write(conn, event), UUID(event.payload["learnerId"]), handler_context())


@outbox.register("credentials.release_requested")
async def release_held(conn: Connection, event: OutboxEvent) -> None:
    w, context = _write(conn, event), handler_context()
    provider_id, programme_id = UUID(event.payload["providerId"]), UUID(event.payload["programmeId"])
    held = [r["id"] for r in await conn.fetch(q.held_for_release, provider_id, programme_id)]
    for credential_id in held:
        await issuing.sign(w, credential_id, context)
    if len(held) == 500:  # more: the next event takes the next batch
        await w.emit("credentials.release_requested", event.subject, provider_id, event.payload)
        outbox.follow_up(w.event_ids)
