"""Issuing for a chunk of passing decisions at once: the batch forms of the credential handlers.

The worker hands a job's ``attempt.passed`` events (up to the hundred the sweep puts in a job) to
``issue_on_passes`` in one transaction. It does what ``handlers.issue_on_pass`` does per event — the same
credential, signature, audit entry and ``credential.*`` event — with a handful of statements for the chunk:

1. the attempts, their learners and the single path's checks (corrected? already held? issuing on hold?)
   in one query; the multi-unit programmes' completion check in one more;
2. per chunk, not per credential: the awarding bodies' keys, organisations, profile, endorsements, and the
   status-list slots (``status_lists.allocate_many``);
3. each document built and signed in Python (the first JWS of a key through joserfc, the others made
   directly: the same bytes), yielding to the event loop whenever half a millisecond has passed;
4. credentials, signatures, audit entries and events written by one statement per ~128 KB of payloads; the
   credential's ``issuance_key`` keeps it exactly-once against a racing worker.

Whatever is not the plain case goes the single way, in the same transaction and in event order, after the
plain ones: an attempt that is missing, failed, corrected or a correction; a unit not certifiable alone;
a learner who already holds the achievement (duplicate, renewal); a programme on hold; two events of one
achievement in the chunk; and a learner whose passes complete a programme of several units (so that the
programme credential is issued exactly as the single path issues it). The plain and the other events touch
different learners' achievements, so the order between them changes nothing.

``stack_on_issue`` is the batch form of the qualification check on ``credential.issued``/``cosigned``: it
asks once per programme whether any qualification names it, and runs the single check only for those.
``deliveries_of_chunk`` is the batch form of the webhook handler for the topics of issuing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import OKPKey

from assessment import parse_decision, parse_specification
from assessment.specification import Specification
from domain import outbox
from domain.credentials import envelopes, facts, handlers, issuing, status_lists
from domain.credentials.document import AssessmentFacts, CredentialFacts, Party, achievement_credential
from domain.credentials.keys import IssuerKey, did_web, ensure_signing_key
from domain.db import Connection
from domain.designs.content import ProgrammeContent, Unit
from domain.outbox import HandlerContext, OutboxEvent, handler_context
from domain.sql import load_queries
from domain.webhooks import events as webhook_events

q = load_queries(__file__, "batch.sql")
log = logging.getLogger(__name__)

# CPU time on the event loop between two yields while documents are built and signed.
YIELD_AFTER = 0.0005
# Payload bytes per insert statement: encoding and sending one (loopback TCP included) stays well under 1 ms.
STATEMENT_BYTES = 128 * 1024


@dataclass
class _Plain:
    """A passing decision the batch issues itself."""

    event: OutboxEvent
    attempt: Mapping[str, Any]
    content: ProgrammeContent
    unit: Unit

    @property
    def awarding_body_id(self) -> UUID:
        awarding: UUID = self.content.awarding_body_id or self.attempt["provider_id"]
        return awarding


@outbox.register_batch("attempt.passed", replaces=handlers.issue_on_pass)
async def issue_on_passes(conn: Connection, events: list[OutboxEvent]) -> None:
    """The batch form of ``handlers.issue_on_pass``."""
    context = handler_context()
    attempt_ids = [UUID(event.payload["attemptId"]) for event in events]
    attempts = {row["id"]: row for row in await conn.fetch(q.attempts_for_issuing, attempt_ids)}
    contents = _contents(attempts.values())
    plain, single = await _sort(conn, events, attempt_ids, attempts, contents)
    await asyncio.sleep(0)  # sorting a hundred attempts is a step; issuing them the next ones
    if plain:
        await _issue(conn, plain, context)
    for event in single:
        await handlers.issue_on_pass(conn, event)


def _contents(attempts: Any) -> dict[UUID, ProgrammeContent]:
    """The parsed content of each programme version (the first row of a version carries it; ``facts`` caches)."""
    contents: dict[UUID, ProgrammeContent] = {}
    for row in attempts:
        if row["content"] is not None:
            content = facts.published_content(row["version_id"], "programme", row["content"])
            assert isinstance(content, ProgrammeContent)
            contents[row["version_id"]] = content
    return contents


def _alone(content: ProgrammeContent) -> bool:
    """True when the unit credential says it all: ``stacking.programme_completed`` issues nothing."""
    return len(content.units) < 2 and all(u.certifiable_alone for u in content.units)


async def _sort(
    conn: Connection,
    events: list[OutboxEvent],
    attempt_ids: list[UUID],
    attempts: Mapping[UUID, Mapping[str, Any]],
    contents: Mapping[UUID, ProgrammeContent],
) -> tuple[list[_Plain], list[OutboxEvent]]:
    """The plain cases, and the events (in order) for the single path."""
    achievements: dict[tuple[Any, ...], int] = {}
    for attempt_id in attempt_ids:
        row = attempts.get(attempt_id)
        key = (row["learner_id"], row["design_id"], row["unit_key"]) if row is not None else (attempt_id,)
        achievements[key] = achievements.get(key, 0) + 1
    candidates: list[_Plain] = []
    single_ids: set[int] = set()
    for event, attempt_id in zip(events, attempt_ids, strict=True):
        row = attempts.get(attempt_id)
        if (
            row is None
            or not row["passed"]
            or row["corrected"]
            or row["corrects_attempt_id"] is not None
            or row["source"] == "prior_learning"  # recognition: its evidence, not an assessment (facts.load)
        ):
            single_ids.add(event.id)
            continue
        content = contents[row["version_id"]]
        unit = facts.unit_of(content, row["unit_key"])
        if (
            unit is None
            or not unit.certifiable_alone
            or row["holds_one"]
            or row["on_hold"]
            or achievements[(row["learner_id"], row["design_id"], row["unit_key"])] > 1
        ):
            single_ids.add(event.id)
            continue
        candidates.append(_Plain(event, row, content, unit))
    completing = await _completing(conn, [c for c in candidates if not _alone(c.content)])
    single_ids.update(
        c.event.id for c in candidates if (c.attempt["learner_id"], c.attempt["version_id"]) in completing
    )
    plain = [c for c in candidates if c.event.id not in single_ids]
    return plain, [event for event in events if event.id in single_ids]


async def _completing(conn: Connection, candidates: list[_Plain]) -> set[tuple[UUID, UUID]]:
    """The (learner, version) pairs of programmes of several units whose core units are all passed."""
    pairs = {(c.attempt["learner_id"], c.attempt["version_id"]): c.content for c in candidates}
    if not pairs:
        return set()
    learners, versions = [p[0] for p in pairs], [p[1] for p in pairs]
    passed = {
        (row["learner_id"], row["version_id"]): set(row["unit_keys"])
        for row in await conn.fetch(q.passed_units_of_learners, learners, versions)
    }
    return {
        pair
        for pair, content in pairs.items()
        if all(u.key in passed.get(pair, set()) for u in content.units if u.kind == "core")
    }


class _Pacer:
    """Yields to the event loop once ``YIELD_AFTER`` has passed since the last yield: the worker's other jobs,
    its health check and its Redis and PostgreSQL connections are not kept waiting by a batch's CPU work."""

    def __init__(self) -> None:
        self.since = time.perf_counter()

    async def __call__(self) -> None:
        if time.perf_counter() - self.since > YIELD_AFTER:
            await asyncio.sleep(0)
            self.since = time.perf_counter()


class _Signer:
    """Signs an issuer's credentials as ``envelopes.sign`` does. The first through it; then, for an Ed25519 key,
    the same compact JWS is made directly: the protected header is the same for every credential of the key,
    Ed25519 signatures are deterministic, so the bytes are those joserfc would give, at a fraction of the
    CPU (joserfc re-encodes the header and checks the key on every call)."""

    def __init__(self, key: IssuerKey, did: str) -> None:
        self.key, self.did = key, did
        self.protected: str | None = None
        private = key.jwk.private_key if isinstance(key.jwk, OKPKey) else None
        self.ed25519 = private if isinstance(private, Ed25519PrivateKey) else None

    async def sign(self, payload: bytes) -> envelopes.Signature:
        if self.protected is None or self.ed25519 is None:
            signature = envelopes.Signature.from_compact(await envelopes.sign(self.key, payload, self.did))
            self.protected = signature.protected
            return signature
        signing_input = f"{self.protected}.{envelopes.b64url(payload)}".encode("ascii")
        return envelopes.Signature(self.protected, envelopes.b64url(self.ed25519.sign(signing_input)))


@dataclass(frozen=True)
class _Issuer:
    key: IssuerKey
    signer: _Signer
    slots: list[status_lists.StatusSlot]


async def _issue(conn: Connection, plain: list[_Plain], context: HandlerContext) -> None:
    """Builds, signs and stores the plain cases' credentials."""
    issuers: dict[UUID, _Issuer] = {}
    counts: dict[UUID, int] = {}
    for case in plain:
        counts[case.awarding_body_id] = counts.get(case.awarding_body_id, 0) + 1
    for organisation_id, count in counts.items():
        key = await ensure_signing_key(conn, context.master_key, organisation_id)
        slots = await status_lists.allocate_many(conn, organisation_id, count)
        issuers[organisation_id] = _Issuer(key, _Signer(key, did_web(context.public_url, organisation_id)), slots)
    ids = {c.awarding_body_id for c in plain} | {c.attempt["provider_id"] for c in plain}
    ids |= {c.content.cosigner_id for c in plain if c.content.cosigner_id is not None}
    wanted = sorted(ids, key=str)
    parties = dict(zip(wanted, await facts.parties(conn, context.public_url, list(wanted)), strict=True))
    endorsements: dict[tuple[UUID, str, int], list[str]] = {}
    for achievement in {(c.attempt["design_id"], c.attempt["unit_key"], c.attempt["version_number"]) for c in plain}:
        rows = await conn.fetch(issuing.q.endorsement_jwts, *achievement)
        endorsements[achievement] = [r["jwt"] for r in rows]
    profiles = {
        c.content.profile_version_id: await facts.profile_version(conn, c.content.profile_version_id) for c in plain
    }
    specifications: dict[tuple[UUID, str], Specification] = {}
    issued_at = issuing._now()
    columns = _Columns()
    taken: dict[UUID, int] = {}
    pace = _Pacer()
    for case in plain:
        attempt, content, unit = case.attempt, case.content, case.unit
        issuer = issuers[case.awarding_body_id]
        slot = issuer.slots[taken.setdefault(case.awarding_body_id, 0)]
        taken[case.awarding_body_id] += 1
        valid_until = issuing.add_months(issued_at, content.validity_months) if content.validity_months else None
        assessment = None
        if unit.assessment is not None:
            spec_key = (attempt["version_id"], unit.key)
            if spec_key not in specifications:
                specifications[spec_key] = parse_specification(unit.assessment)
                await pace()
            assessment = AssessmentFacts(
                specification=specifications[spec_key],
                decision=parse_decision(attempt["decision_json"]),
                assessed_at=attempt["assessed_at"],
                supervision=attempt["supervision"],
                place=attempt["place"],
                evidence=list(attempt["evidence"]),
            )
        awarding, provider = parties.get(case.awarding_body_id), parties.get(attempt["provider_id"])
        assert awarding is not None and provider is not None
        cosigner: Party | None = parties.get(content.cosigner_id) if content.cosigner_id is not None else None
        credential_id = uuid4()
        credential_facts = CredentialFacts(
            id=credential_id,
            kind="unit",
            issued_at=issued_at,
            valid_until=valid_until,
            learner_name=attempt["learner_name"],
            learner_email=attempt["learner_email"],
            email_salt=attempt["email_salt"],
            awarding_body=awarding,
            provider=provider,
            cosigner=cosigner,
            design_id=attempt["design_id"],
            version_number=attempt["version_number"],
            content=content,
            unit=unit,
            profile=profiles[content.profile_version_id],
            assessment=assessment,
            endorsements=endorsements[(attempt["design_id"], attempt["unit_key"], attempt["version_number"])],
            credential_status=status_lists.credential_status(context.public_url, slot),
            stands_on=[],
            preferred_language=attempt["learner_language"],
        )
        payload = envelopes.encode_payload(achievement_credential(credential_facts, context.public_url))
        await pace()
        signature = await issuer.signer.sign(payload)
        columns.add(case, credential_id, payload, slot, issued_at, valid_until, issuer.key.kid, signature)
        await pace()
    for part in columns.parts(STATEMENT_BYTES):
        await asyncio.sleep(0)  # encoding and sending a statement is a step of its own
        rows = await conn.fetch(q.insert_signed_credentials, *part)
        outbox.follow_up([row["id"] for row in rows])


class _Columns:
    """The arrays of ``insert_signed_credentials``, one entry per credential."""

    def __init__(self) -> None:
        self.values: list[list[Any]] = [[] for _ in range(22)]

    def add(
        self,
        case: _Plain,
        credential_id: UUID,
        payload: bytes,
        slot: status_lists.StatusSlot,
        issued_at: datetime,
        valid_until: datetime | None,
        kid: str,
        signature: envelopes.Signature,
    ) -> None:
        attempt, cosigner_id = case.attempt, case.content.cosigner_id
        state = "awaiting_cosignature" if cosigner_id is not None else "issued"
        row = {
            "id": credential_id,
            "kind": "unit",
            "learner_id": attempt["learner_id"],
            "design_id": attempt["design_id"],
            "unit_key": attempt["unit_key"],
            "awarding_body_id": case.awarding_body_id,
            "provider_id": attempt["provider_id"],
            "cosigner_id": cosigner_id,
        }
        topic = "credential.issued" if state == "issued" else "credential.awaiting_cosignature"
        event = msgspec.json.encode(issuing.event_payload(row, state=state)).decode()
        values = (
            credential_id, f"attempt:{attempt['id']}", attempt["learner_id"], attempt["provider_id"],
            case.awarding_body_id, cosigner_id, attempt["design_id"], attempt["version_id"], attempt["unit_key"],
            attempt["id"], state, payload, slot.number, slot.index, issued_at, valid_until, kid,
            signature.protected, signature.signature, f"outbox:{case.event.id}", topic, event,
        )  # fmt: skip
        for column, value in zip(self.values, values, strict=True):
            column.append(value)

    def parts(self, size: int) -> list[list[list[Any]]]:
        """The arrays cut into statements of about ``size`` bytes of payload each, in order."""
        payloads: list[bytes] = self.values[11]
        cuts, total = [0], 0
        for n, payload in enumerate(payloads):
            if total and total + len(payload) > size:
                cuts.append(n)
                total = 0
            total += len(payload)
        cuts.append(len(payloads))
        return [[column[a:b] for column in self.values] for a, b in itertools.pairwise(cuts)]


async def stack_on_issue(conn: Connection, events: list[OutboxEvent]) -> None:
    """The batch form of the qualification check on a unit credential's issue or co-signature: the single
    check runs only for programmes that a published qualification names."""
    named: dict[str, bool] = {}
    for event in events:
        if event.payload.get("kind") != "unit":
            continue
        programme_id = str(UUID(event.payload["programmeId"]))
        if programme_id not in named:
            named[programme_id] = bool(await conn.fetch(issuing.q.qualifications_using, programme_id))
        if named[programme_id]:
            await handlers._stack(conn, event)  # the single form, as registered for these topics


outbox.register_batch("credential.issued", replaces=handlers._stack)(stack_on_issue)
outbox.register_batch("credential.cosigned", replaces=handlers._stack)(stack_on_issue)


# --- Webhook deliveries of a chunk --------------------------------------------------------------------

# The webhook handler (``domain.webhooks.events.queue_deliveries``) inserts one row per subscribed endpoint
# and event: a statement per event even when no endpoint subscribes to the topic at all. Its batch form asks
# that once per chunk, and runs it per event only when some endpoint does. (Its place is beside the handler,
# in domain/webhooks/events.py, for every topic; it is here, for the topics of issuing, until it moves.)
WEBHOOK_TOPICS = ("attempt.passed", "credential.issued", "credential.awaiting_cosignature", "credential.cosigned")


async def deliveries_of_chunk(conn: Connection, events: list[OutboxEvent]) -> None:
    """The batch form of ``queue_deliveries``."""
    topics = sorted({event.topic for event in events})
    if await conn.fetchval(q.endpoints_subscribed, topics):
        for event in events:
            await webhook_events.queue_deliveries(conn, event)
        return
    for event in events:  # nothing to deliver; the handler's warning about events nobody may see stays
        organisations, design_id = webhook_events.audience(event)
        if not organisations and design_id is None:
            log.warning("outbox event %s (%s) names no audience: no webhook is sent", event.id, event.topic)


for _topic in WEBHOOK_TOPICS:
    outbox.register_batch(_topic, replaces=webhook_events.queue_deliveries)(deliveries_of_chunk)
