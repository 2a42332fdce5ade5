"""A learner's rights over their data: a copy of everything Guildhall holds about them as a learner
(GDPR Art. 15 and 20) and the erasure of their personal data (Art. 17).

What an erasure removes, and what it keeps (Art. 17(3)(b) and (e): what the providers and awarding
bodies must keep to meet their legal duties and to answer for the certificates they issued):

* The login becomes a tombstone — no password, no name, an address in the reserved ``.invalid``
  domain — and every token of the person is revoked, their unused authorization codes deleted, their
  Open Badges profile, the credential copies their wallets stored here, the credentials of other issuers
  they added to their portfolio and the consents they gave providers to ask for recognition deleted. The row stays
  because tokens and the audit trail point at its id, which now names nobody.
* Each learner record is pseudonymised: name ``erased``, no e-mail address, no date of birth, its
  identifiers (student numbers, national ids) deleted. The row stays, linked to the tombstone, so it
  cannot be claimed again and the attempts and credentials that point at it keep their meaning.
* Attempts keep everything their decision rests on — unit, dates, supervision, place, scores and
  levels, outcomes achieved, simulator scores and metrics, the decision, its reasons, corrections and
  their reasons — because providers must keep assessment records for quality assurance and audit.
  They lose what describes the person beyond that: assessors' notes, evidence descriptions and
  locations (URLs, file references; digests stay so that evidence the provider keeps under its own
  retention rules can still be matched), portfolio item names, and the simulator's actor (name,
  e-mail address, account). The xAPI statements behind them lose their actor the same way.
* Every credential not yet revoked is revoked ("erased at the learner's request"): its status bit is
  set, so every copy already handed out fails verification from now on — copies cannot be recalled.
  The signed payload is kept: it is the awarding body's record of the certificate it issued, and its
  signatures would not survive an edit. Only the credential's parties (awarding body, provider,
  co-signer) can read it; the public page must show ``erased`` instead of the name
  (``public_view``).
* Answers kept for ``Idempotency-Key`` retries that hold a learner record or an attempt are
  redacted the same way.
* The audit trail records the erasure without the erased data; it never held names or addresses.

Erasing is idempotent: the person's row is locked first, and a request that finds the person erased
answers what the first one did.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import Meta

from domain.attempts.models import Attempt
from domain.credentials import issuing
from domain.credentials.wallet import MyCredentialDetail, all_mine
from domain.db import Connection, Database
from domain.errors import Conflict, NotFound
from domain.learners.claims import LearnerRecord
from domain.learners.models import Enrolment
from domain.portfolio import service as portfolio
from domain.portfolio.models import PortfolioEntry
from domain.sql import load_queries
from domain.structs import Input, Model, from_row
from domain.writes import Actor, EventDispatcher, write

q = load_queries(__file__, "erasure.sql")

ERASED = "erased"
ERASED_REASON = "erased at the learner's request"
KEPT = [
    "attempts and their decisions (without notes, evidence locations or simulator identities): "
    "providers must keep assessment records for quality assurance and audit",
    "each revoked credential as signed, readable only by its awarding body, provider and co-signer: "
    "the awarding body's record of the certificate it issued; copies already shared fail verification",
    "the pseudonymised learner records (name 'erased') that attempts and credentials point at",
    "the audit trail, which records who did what without names or addresses",
]


class ErasureRequest(Input):
    reason: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=2000,
                description="Why, if you wish: kept with the record of your request, so leave out personal details",
            ),
        ]
        | None
    ) = None


class ErasureReceipt(Model):
    """What the erasure did; the same answer however often it is asked for."""

    person_id: UUID
    erased_at: datetime
    learner_records: list[UUID]  # pseudonymised
    revoked_credentials: list[UUID]  # revoked by the erasure
    redacted_attempts: int  # kept, without the personal details in them
    kept: list[str]  # what stays, and why


class PersonRecord(Model):
    id: UUID
    email: str
    name: str
    self_registered: bool
    created_at: datetime


class Authorisation(Model):
    """An app that can act for you now: its access token is live, or its refresh token still usable."""

    client_id: str
    client_name: str
    organisation_id: UUID
    scope: str
    issued_at: datetime
    expires_at: datetime
    refresh_expires_at: datetime | None


class HostedCopy(Model):
    """A copy of one of your credentials that a wallet stored here for you (Open Badges 3.0 API)."""

    credential_id: UUID
    form: str
    body: str
    stored_by_client: str | None
    created_at: datetime
    updated_at: datetime


class PersonalData(Model):
    """Everything Guildhall holds about you as a learner."""

    exported_at: datetime
    person: PersonRecord
    profile: dict[str, Any]  # what you said about yourself in your Open Badges profile
    learner_records: list[LearnerRecord]
    enrolments: list[Enrolment]
    attempts: list[Attempt]
    credentials: list[MyCredentialDetail]
    hosted_copies: list[HostedCopy]
    added_credentials: list[PortfolioEntry]  # credentials of other issuers added to the portfolio
    authorisations: list[Authorisation]


# --- The copy (Art. 15 and 20) ------------------------------------------------------------------


async def export(db: Database, person_id: UUID, public_url: str) -> PersonalData:
    """One consistent snapshot of the person's data (a repeatable-read transaction)."""
    async with db.connection() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        person = await conn.fetchrow(q.person, person_id)
        if person is None or person["erased_at"] is not None:
            raise NotFound(f"there is no person {person_id}")
        return PersonalData(
            exported_at=datetime.now(UTC),
            person=from_row(PersonRecord, person),
            profile=await conn.fetchval(q.profile, person_id) or {},
            learner_records=[from_row(LearnerRecord, r) for r in await conn.fetch(q.records, person_id)],
            enrolments=[from_row(Enrolment, r) for r in await conn.fetch(q.enrolments, person_id)],
            attempts=[from_row(Attempt, r) for r in await conn.fetch(q.attempts, person_id)],
            credentials=await all_mine(conn, person_id, public_url),
            hosted_copies=[from_row(HostedCopy, r) for r in await conn.fetch(q.hosted_copies, person_id)],
            added_credentials=await portfolio.added_credentials(conn, person_id),
            authorisations=[from_row(Authorisation, r) for r in await conn.fetch(q.authorisations, person_id)],
        )


# --- Redaction: pure ----------------------------------------------------------------------------


def _without(item: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in keys}


def redact_submission(submission: Mapping[str, Any]) -> dict[str, Any]:
    """The submission without notes, evidence references, portfolio descriptions and simulator actors.

    Scores, levels, values, outcomes achieved and simulator results stay: the decision rests on them.
    Portfolio items keep their digest under a neutral id (the same id for the same item throughout).
    """
    redacted = dict(submission)
    aliases: dict[str, str] = {}

    def judgement(item: Mapping[str, Any]) -> dict[str, Any]:
        kept = _without(item, "note")
        if isinstance(item.get("evidence"), list):
            portfolio = [e for e in item["evidence"] if isinstance(e, Mapping)]
            kept["evidence"] = [
                {
                    "id": aliases.setdefault(str(e.get("id")), f"evidence-{len(aliases) + 1}"),
                    **({"sha256": e["sha256"]} if e.get("sha256") else {}),
                }
                for e in portfolio
            ]
        return kept

    if isinstance(submission.get("judgements"), list):
        redacted["judgements"] = [judgement(j) for j in submission["judgements"] if isinstance(j, Mapping)]
    if isinstance(submission.get("scores"), list):
        redacted["scores"] = [_without(s, "note") for s in submission["scores"] if isinstance(s, Mapping)]
    if isinstance(submission.get("runs"), list):
        redacted["runs"] = [_without(r, "actor") for r in submission["runs"] if isinstance(r, Mapping)]
    return redacted


def redact_evidence(evidence: Any) -> list[dict[str, Any]]:
    """Evidence items reduced to their media type and digest: no description, URL or file reference."""
    if not isinstance(evidence, list):
        return []
    return [{k: e[k] for k in ("mediaType", "sha256") if k in e} for e in evidence if isinstance(e, Mapping)]


def redact_statement(statement: Mapping[str, Any], learner_id: UUID) -> dict[str, Any]:
    """An xAPI statement whose actor is only the (pseudonymised) learner record, without a free-text response."""
    redacted = dict(statement)
    account = {"homePage": "urn:guildhall:learner", "name": str(learner_id)}
    redacted["actor"] = {"objectType": "Agent", "account": account}
    result = statement.get("result")
    if isinstance(result, Mapping) and "response" in result:
        redacted["result"] = _without(result, "response")
    return redacted


def redact_answer(value: Any, learner_ids: frozenset[str]) -> Any:
    """A stored API answer with the learner records and attempts of ``learner_ids`` redacted."""
    if isinstance(value, Mapping):
        item = dict(value)
        if item.get("id") in learner_ids and "dateOfBirth" in item:  # a learner record
            item.update(name=ERASED, email=None, dateOfBirth=None, identifiers=[])
        elif item.get("learnerId") in learner_ids and "submission" in item:  # an attempt
            if isinstance(item["submission"], Mapping):
                item["submission"] = redact_submission(item["submission"])
            item["evidence"] = redact_evidence(item.get("evidence"))
        return {k: redact_answer(v, learner_ids) for k, v in item.items()}
    if isinstance(value, list):
        return [redact_answer(v, learner_ids) for v in value]
    return value


def public_view(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The Open Badges JSON as a public page may show it once its learner is erased: the subject's name is
    ``erased``, the salted e-mail hash is gone, and the assessment's evidence keeps only its media type and
    digest (its description and location may name the person). The signed original is unchanged."""
    shown = dict(credential)
    subject = dict(credential.get("credentialSubject") or {})
    name = {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": ERASED}
    subject["identifier"] = [name]
    shown["credentialSubject"] = subject
    if isinstance(credential.get("evidence"), list):
        shown["evidence"] = [
            {
                "type": e.get("type", ["Evidence"]),
                "name": f"Evidence {n}",
                **{k: e[k] for k in ("genre", "digestSRI") if k in e},
            }
            if "digestSRI" in e
            else e  # a credential this one stands on: its id and title name no one
            for n, e in enumerate(credential["evidence"], start=1)
            if isinstance(e, Mapping)
        ]
    return shown


# --- The erasure (Art. 17) -----------------------------------------------------------------------


async def erase(
    db: Database,
    actor: Actor,
    person_id: UUID,
    reason: str | None = None,
    *,
    dispatcher: EventDispatcher | None = None,
) -> ErasureReceipt:
    """Erases the person's personal data as a learner, in one transaction (see the module's docstring)."""
    async with write(db, actor, dispatcher=dispatcher) as w:
        conn = w.conn
        person = await conn.fetchrow(q.lock_person, person_id)
        if person is None:
            raise NotFound(f"there is no person {person_id}")
        if person["erased_at"] is not None:
            return await _receipt(conn, person_id, person["erased_at"])
        memberships = [str(r["organisation_id"]) for r in await conn.fetch(q.memberships, person_id)]
        if memberships:
            raise Conflict(
                f"you are a member of organisation {', '.join(memberships)}: your login is also that "
                "organisation's record of you; ask its admin to end your membership, then ask again"
            )
        learners = list(await conn.fetch(q.lock_learners, person_id))
        ids = frozenset(str(r["id"]) for r in learners)
        for learner in learners:
            learner_id, provider_id = learner["id"], learner["provider_id"]
            revoked = [r["id"] for r in await conn.fetch(q.live_credentials, learner_id)]
            for credential_id in revoked:
                await issuing.revoke(w, credential_id, ERASED_REASON)
            redacted = await _redact_attempts(conn, learner_id)
            await conn.execute(q.delete_identifiers, learner_id)
            await conn.execute(q.pseudonymise_learner, learner_id)
            details = {"redactedAttempts": redacted, "revokedCredentials": [str(i) for i in revoked]}
            await w.audit("learner.erased", "learner", learner_id, provider_id, details)
            await w.emit(
                "learner.erased",
                f"learner/{learner_id}",
                provider_id,
                {"learnerId": str(learner_id), "providerId": str(provider_id), "audience": [str(provider_id)]},
            )
        await _redact_stored_answers(conn, ids)
        await conn.execute(q.revoke_tokens, person_id)
        await conn.execute(q.delete_authorization_codes, person_id)
        await conn.execute(q.delete_profile, person_id)
        await conn.execute(q.delete_hosted_copies, person_id)
        await conn.execute(q.delete_portfolio_additions, person_id)
        erased_at = await conn.fetchval(q.close_login, person_id)
        await w.audit(
            "person.erased",
            "person",
            person_id,
            None,
            {"learnerRecords": sorted(ids), **({"reason": reason} if reason else {})},
        )
        return await _receipt(conn, person_id, erased_at)


async def _redact_attempts(conn: Connection, learner_id: UUID) -> int:
    rows = await conn.fetch(q.attempts_to_redact, learner_id)
    changes = [(r["id"], redact_submission(r["submission"]), redact_evidence(r["evidence"])) for r in rows]
    changed = [c for c, r in zip(changes, rows, strict=True) if (c[1], c[2]) != (r["submission"], r["evidence"])]
    if changed:
        await conn.fetchval(q.erasure_mode, "on")
        await conn.executemany(q.redact_attempt, changed)
        await conn.fetchval(q.erasure_mode, "off")
    statements = await conn.fetch(q.statements_of_attempts, [r["id"] for r in rows])
    if statements:
        await conn.executemany(
            q.redact_statement, [(s["id"], redact_statement(s["statement"], learner_id)) for s in statements]
        )
    return len(rows)


async def _redact_stored_answers(conn: Connection, learner_ids: frozenset[str]) -> None:
    if not learner_ids:
        return
    rows = await conn.fetch(q.stored_answers_naming, sorted(learner_ids))
    updates = [(r["scope"], r["key"], redact_answer(r["response"], learner_ids)) for r in rows]
    changed = [u for u, r in zip(updates, rows, strict=True) if u[2] != r["response"]]
    if changed:
        await conn.executemany(q.replace_stored_answer, changed)


async def _receipt(conn: Connection, person_id: UUID, erased_at: datetime) -> ErasureReceipt:
    return ErasureReceipt(
        person_id=person_id,
        erased_at=erased_at,
        learner_records=[r["id"] for r in await conn.fetch(q.learner_ids, person_id)],
        revoked_credentials=[r["id"] for r in await conn.fetch(q.revoked_on_erasure, person_id, ERASED_REASON)],
        redacted_attempts=await conn.fetchval(q.attempt_count, person_id),
        kept=KEPT,
    )
