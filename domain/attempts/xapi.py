"""xAPI 1.0.3 / cmi5 statements from simulators: kept as received and turned into attempts.

A request carries one statement or an array. It is read in two steps, each all-or-nothing, as an LRS does:

1. The engine reads every statement (``assessment.parse_statements``): a statement that is not a result
   statement (passed, failed, completed), is malformed or contradicts itself refuses the whole request
   (``InvalidStatements``, HTTP 400) and nothing is stored — not even the log rows, so that the corrected
   statement can be sent again under the same id. A statement without an id gets one, as an LRS gives it.
2. Each run (a statement, or the statements of one cmi5 session) is recorded as an attempt through
   ``recording.record`` — the same rules as every other route — in one transaction. The learner is the
   ``actor``: ``account.name`` is the learner's id, or ``"<scheme>:<value>"`` of one of their identifiers at
   this provider (``"student_number:S-1"``, ``"national:DK:…"``); or ``mbox`` is ``mailto:`` their e-mail at
   this provider. The unit is ``object.id`` = ``urn:guildhall:programme:<programme id>:unit:<unit key>``, or
   that URN as ``context.contextActivities.parent[0].id`` (cmi5, whose object is the AU). The enrolment is
   the learner's in that programme (whole, or that unit); the supervision is the unit specification's own
   unless the context extension ``urn:guildhall:supervision`` names another; assessedAt is the ``timestamp``.
   When any run is refused (unknown learner or unit, not enrolled, attempts used up, …) nothing is recorded,
   and the request's statements are logged with their problem; such a statement may be sent again with the
   same id (changed or not) and is then tried again.

Every statement that became an attempt is kept in ``xapi_statements``; sent again, it is answered as before
and records nothing twice (the attempt's dedupe key is ``xapi:<statement id>``, a statement that changed in
the meantime is refused with 409, as xAPI demands). A cmi5 session's statements should come in one request:
statements of one session sent separately are runs, and attempts, of their own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import msgspec

from assessment import AssessmentError, Decision, SimulationRun, parse_decision, parse_statements
from assessment.specification import SUPERVISIONS
from assessment.xapi import SESSION_ID
from domain.attempts.recording import Recorded, Recording, record, unit_specification
from domain.db import Connection, Database
from domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from domain.people import canonical_email
from domain.sql import load_queries
from domain.structs import Model
from domain.writes import Actor, EventDispatcher, Write, write

q = load_queries(__file__, "xapi.sql")

XAPI_VERSION = "1.0.3"
MAX_STATEMENTS = 200  # one transaction records them all: keep it short
SUPERVISION_EXTENSION = "urn:guildhall:supervision"
UNIT_URN = re.compile(
    r"^urn:guildhall:programme:(?P<programme>[0-9a-fA-F-]{32,36}):unit:(?P<unit>[a-z0-9][a-z0-9_.-]{0,63})$"
)
VERSION_PATTERN = r"^1\.0(\.[0-9]+)?$"
_VERSION = re.compile(VERSION_PATTERN)
_IDENTIFIER = re.compile(r"^(?P<scheme>national:[A-Z]{2}|[a-z][a-z0-9_.-]{0,40}):(?P<value>.+)$")
_STATEMENT_INDEX = re.compile(r"^statements\[(\d+)\]")
_KINDS: tuple[type[DomainError], ...] = (NotFound, Conflict, Forbidden, InvalidInput)  # a refused request's status
_SET_BY_LRS = ("stored", "authority", "version")  # not the author's: left out when comparing a statement sent again


class DecisionSummary(Model):
    passed: bool
    score: float | None
    max_score: float | None
    deciding_runs: list[int]  # indices into the attempt's runs, which accumulate over attempts
    reasons: list[str]


class StatementOutcome(Model):
    id: UUID
    attempt_id: UUID
    status: Literal["recorded", "received_before"]
    decision: DecisionSummary


class StatementsReceived(Model):
    ids: list[UUID]  # what an LRS answers: the statement ids, in the order sent
    statements: list[StatementOutcome]


class InvalidStatements(DomainError):
    """The engine refused statements (malformed, not a result, self-contradicting). Not in the HTTP edge's
    table of statuses, so it is answered with 400, as an LRS answers an invalid batch."""

    title = "Invalid statements"


class StatementIdTaken(Conflict):
    """The id is held by a statement kept before, from another provider or with other content (xAPI: 409)."""

    title = "Statement id taken"


class UnsupportedXapiVersion(DomainError):
    """An ``X-Experience-API-Version`` this endpoint does not speak (answered with 400, like an LRS)."""

    title = "Unsupported xAPI version"


def check_version(header: str | None) -> None:
    if header is not None and not _VERSION.match(header.strip()):
        raise UnsupportedXapiVersion(f"X-Experience-API-Version {header!r}: this endpoint speaks xAPI 1.0.x")


@dataclass(frozen=True)
class _Received:
    index: int
    id: UUID
    statement: dict[str, Any]


@dataclass(frozen=True)
class _Run:
    run: SimulationRun
    verdict: _Received  # the statement the run's attempt is named after
    members: list[_Received]


async def receive_statements(
    db: Database,
    actor: Actor,
    provider_id: UUID,
    body: dict[str, Any] | list[dict[str, Any]],
    *,
    dispatcher: EventDispatcher | None = None,
) -> StatementsReceived:
    received = _with_ids(body if isinstance(body, list) else [body])
    runs = _read_runs(received)
    refused: dict[int, DomainError] = {}
    try:
        async with write(db, actor, dispatcher=dispatcher) as w:
            outcomes = await _record_runs(w, provider_id, received, runs, refused)
            if refused:
                raise _Refused
            await _store(w.conn, actor, provider_id, [(r, outcomes[r.index]) for r in received])
    except _Refused:
        await _log_refused(db, actor, provider_id, received, refused)
        raise _refusal(received, refused) from None
    return StatementsReceived(ids=[r.id for r in received], statements=[outcomes[r.index] for r in received])


class _Refused(Exception):
    """Rolls the recording back; the statements are then logged with their problems."""


def _with_ids(statements: list[Any]) -> list[_Received]:
    if not statements:
        raise InvalidStatements("send a statement or a non-empty array of statements")
    if len(statements) > MAX_STATEMENTS:
        raise InvalidStatements(f"{len(statements)} statements: send at most {MAX_STATEMENTS} in one request")
    received = []
    for i, statement in enumerate(statements):
        if isinstance(statement, dict) and statement.get("id") is None:
            statement = {**statement, "id": str(uuid4())}  # an LRS assigns the id a statement lacks
        received.append(_Received(i, _uuid(statement), statement))
    return received


def _uuid(statement: object) -> UUID:
    """The statement's id, or the nil UUID for one the engine will refuse (not an object, not a UUID)."""
    try:
        return UUID(str(statement["id"])) if isinstance(statement, dict) else UUID(int=0)
    except ValueError:
        return UUID(int=0)


def _read_runs(received: list[_Received]) -> list[_Run]:
    """The engine's runs with the statements each came from; InvalidStatements lists every problem."""
    try:
        runs = parse_statements([r.statement for r in received])
    except AssessmentError as exc:
        raise _invalid(received, exc.problems) from None
    counts: dict[UUID, int] = {}
    for r in received:
        counts[r.id] = counts.get(r.id, 0) + 1
    twice = [f"statements[{r.index}].id: {r.id} is sent twice in this request" for r in received if counts[r.id] > 1]
    if twice:
        raise _invalid(received, twice)
    by_id = {str(r.id): r for r in received}
    return [
        _Run(
            run=run,
            verdict=by_id[str(run.statement_id)],
            members=[r for r in received if _session(r.statement) == run.session_id]
            if run.session_id is not None
            else [by_id[str(run.statement_id)]],
        )
        for run in runs
    ]


def _invalid(received: list[_Received], problems: list[str]) -> InvalidStatements:
    """Problems grouped by the statement they name (``statements[i]…``); others concern several statements."""
    listed: list[dict[str, Any]] = []
    for problem in problems:
        match = _STATEMENT_INDEX.match(problem)
        index = int(match.group(1)) if match else None
        statement_id = str(received[index].id) if index is not None and index < len(received) else None
        listed.append({"index": index, "id": statement_id, "problem": problem})
    return InvalidStatements(f"the request is refused, nothing was stored: {'; '.join(problems)}", statements=listed)


def _session(statement: dict[str, Any]) -> str | None:
    """The cmi5 session id, read as the engine reads it (it groups runs by it)."""
    extensions = (statement.get("context") or {}).get("extensions") or {}
    session = extensions.get(SESSION_ID)
    return session if isinstance(session, str) and 0 < len(session) <= 2000 else None


async def _record_runs(
    w: Write, provider_id: UUID, received: list[_Received], runs: list[_Run], refused: dict[int, DomainError]
) -> dict[int, StatementOutcome]:
    """Records each run not recorded before; fills ``refused`` with the statements that cannot be recorded."""
    outcomes = await _received_before(w.conn, provider_id, received, refused)
    for item in runs:
        pending = [m for m in item.members if m.index not in outcomes and m.index not in refused]
        if not pending:
            continue
        earlier = outcomes.get(item.verdict.index)
        if earlier is not None:  # a new statement of a session recorded before: it joins that attempt
            outcomes.update({m.index: msgspec.structs.replace(earlier, id=m.id) for m in pending})
            continue
        try:
            recorded = await _record_run(w, provider_id, item)
        except DomainError as exc:
            refused.update({m.index: exc for m in pending})
            continue
        decision = recorded.decision if recorded.created else await _stored_decision(w.conn, recorded.attempt_id)
        status: Literal["recorded", "received_before"] = "recorded" if recorded.created else "received_before"
        for m in pending:
            outcomes[m.index] = StatementOutcome(
                id=m.id, attempt_id=recorded.attempt_id, status=status, decision=_summary(decision)
            )
    return outcomes


async def _received_before(
    conn: Connection, provider_id: UUID, received: list[_Received], refused: dict[int, DomainError]
) -> dict[int, StatementOutcome]:
    rows = {row["id"]: row for row in await conn.fetch(q.received_statements, [r.id for r in received])}
    outcomes: dict[int, StatementOutcome] = {}
    for r in received:
        row = rows.get(r.id)
        if row is None or (row["provider_id"] == provider_id and row["attempt_id"] is None):
            continue  # new, or refused before and tried again
        if row["provider_id"] != provider_id:
            refused[r.index] = StatementIdTaken(
                f"statement id {r.id} was already received from another source; use a new id"
            )
        elif _comparable(row["statement"]) != _comparable(r.statement):
            refused[r.index] = StatementIdTaken(
                f"statement {r.id} was received before with other content; a statement cannot be changed: "
                "send a new statement with a new id"
            )
        else:
            outcomes[r.index] = StatementOutcome(
                id=r.id, attempt_id=row["attempt_id"], status="received_before", decision=_summary(row["decision"])
            )
    return outcomes


def _comparable(statement: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k not in _SET_BY_LRS}


async def _record_run(w: Write, provider_id: UUID, item: _Run) -> Recorded:
    statement = item.verdict.statement
    programme_id, unit_key = _unit(statement)
    learner_id = await _learner(w.conn, provider_id, statement["actor"])
    enrolment = await w.conn.fetchrow(q.statement_enrolment, provider_id, learner_id, programme_id, unit_key)
    if enrolment is None:
        raise NotFound(
            f"learner {learner_id} is not enrolled in programme {programme_id} (nor in its unit {unit_key!r}) "
            "at this provider"
        )
    supervision = _supervision(statement) or unit_specification(enrolment["content"], unit_key).supervision
    try:
        recorded = await record(
            w,
            Recording(
                provider_id=provider_id,
                learner_id=learner_id,
                enrolment_id=enrolment["enrolment_id"],
                unit_key=unit_key,
                assessed_at=item.run.at or datetime.now(UTC),
                supervision=supervision,
                source="xapi",
                dedupe_key=f"xapi:{item.verdict.id}",
            ),
            {"mode": "simulation", "runs": [msgspec.to_builtins(item.run)]},
        )
    except AssessmentError as exc:
        # The engine rechecks the runs of earlier attempts together with this one (one actor, in time order).
        raise InvalidInput(
            f"this run cannot join the learner's earlier runs of unit {unit_key!r}: {exc}", problems=exc.problems
        ) from exc
    if recorded.created:
        await w.audit(
            "attempt.recorded",
            "attempt",
            recorded.attempt_id,
            provider_id,
            {"learnerId": str(learner_id), "passed": recorded.passed, "statementId": str(item.verdict.id)},
        )
    return recorded


def _unit(statement: dict[str, Any]) -> tuple[UUID, str]:
    """The programme and unit the statement's object (or, for cmi5, its parent activity) names."""
    parents = ((statement.get("context") or {}).get("contextActivities") or {}).get("parent") or []
    parent = parents[0] if isinstance(parents, list) and parents else parents  # xAPI allows a lone object
    for activity in (statement.get("object"), parent):
        match = UNIT_URN.match(str(activity.get("id"))) if isinstance(activity, dict) else None
        if match:
            try:
                return UUID(match["programme"]), match["unit"]
            except ValueError:
                break
    raise InvalidInput(
        f"object.id {statement['object'].get('id')!r} names no Guildhall unit: use "
        "'urn:guildhall:programme:<programme id>:unit:<unit key>' as object.id, or as "
        "context.contextActivities.parent[0].id when the object is a cmi5 AU"
    )


async def _learner(conn: Connection, provider_id: UUID, actor: dict[str, Any]) -> UUID:
    """The provider's learner the actor names; only this provider's learners are looked at."""
    account, mbox = actor.get("account"), actor.get("mbox")
    if isinstance(account, dict):
        name = str(account.get("name"))
        learner_id, identifier = _as_uuid(name), _IDENTIFIER.match(name)
        if learner_id is not None:
            found, named = await conn.fetchval(q.learner_by_id, provider_id, learner_id), f"id {name}"
        elif identifier is not None:
            scheme, value = identifier["scheme"], identifier["value"]
            found = await conn.fetchval(q.learner_by_identifier, provider_id, scheme, value)
            named = f"the identifier {scheme} {value!r}"
        else:
            raise InvalidInput(
                f"actor.account.name {name!r} is neither a learner id nor '<scheme>:<value>' of an identifier, "
                "e.g. 'student_number:S-1'"
            )
    elif isinstance(mbox, str):
        email = mbox.removeprefix("mailto:")
        found = await conn.fetchval(q.learner_by_email, provider_id, canonical_email(email))
        named = f"the e-mail {email}"
    else:
        raise InvalidInput(
            "identify the learner by actor.account (name: the learner's id or '<scheme>:<value>') or by "
            "actor.mbox; mbox_sha1sum and openid cannot be matched to a learner"
        )
    if found is None:
        raise NotFound(f"this provider has no learner with {named}")
    found_id: UUID = found
    return found_id


def _as_uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def _supervision(statement: dict[str, Any]) -> str | None:
    extensions = (statement.get("context") or {}).get("extensions") or {}
    supervision = extensions.get(SUPERVISION_EXTENSION)
    if supervision is not None and supervision not in SUPERVISIONS:
        raise InvalidInput(
            f"context.extensions[{SUPERVISION_EXTENSION}]: {supervision!r} is not one of {', '.join(SUPERVISIONS)}"
        )
    return supervision


async def _stored_decision(conn: Connection, attempt_id: UUID) -> object:
    """The decision stored with an attempt that a concurrent request recorded first."""
    return await conn.fetchval(q.attempt_decision, attempt_id)


def _summary(decision: object) -> DecisionSummary:
    d = decision if isinstance(decision, Decision) else parse_decision(decision)
    return DecisionSummary(
        passed=d.passed, score=d.score, max_score=d.max_score, deciding_runs=d.deciding_runs, reasons=d.reasons
    )


async def _store(
    conn: Connection, actor: Actor, provider_id: UUID, kept: Sequence[tuple[_Received, StatementOutcome]]
) -> None:
    """Keeps the statements with the attempts they became; those kept before stay as they are."""
    await conn.execute(
        q.store_statements,
        provider_id,
        actor.client_id,
        [r.id for r, _ in kept],
        [r.statement for r, _ in kept],
        [o.attempt_id for _, o in kept],
        [None for _ in kept],
    )


async def _log_refused(
    db: Database, actor: Actor, provider_id: UUID, received: list[_Received], refused: dict[int, DomainError]
) -> None:
    """Logs a refused request's statements with their problems (not those whose id another statement holds)."""
    loggable = [r for r in received if not isinstance(refused.get(r.index), StatementIdTaken)]
    problems = [
        refused[r.index].message
        if r.index in refused
        else "not recorded: another statement of the request was refused, and a request is recorded whole or not at all"
        for r in loggable
    ]
    async with db.transaction() as conn:
        await conn.execute(
            q.store_statements,
            provider_id,
            actor.client_id,
            [r.id for r in loggable],
            [r.statement for r in loggable],
            [None for _ in loggable],
            problems,
        )


def _refusal(received: list[_Received], refused: dict[int, DomainError]) -> DomainError:
    """One error for the request: the kind all refusals share (404, 409), else InvalidInput (422)."""
    listed = [
        {"index": r.index, "id": str(r.id), "problem": refused[r.index].message} for r in received if r.index in refused
    ]
    kinds = {next((k for k in _KINDS if isinstance(error, k)), InvalidInput) for error in refused.values()}
    kind = kinds.pop() if len(kinds) == 1 else InvalidInput
    detail = "; ".join(f"statements[{p['index']}] ({p['id']}): {p['problem']}" for p in listed)
    return kind(
        f"{len(listed)} of {len(received)} statements cannot be recorded, so none was: {detail}",
        statements=listed,
    )
