"""xAPI 1.0.3 and cmi5 statements from a simulator, read as simulation runs.

A statement is read from its ``id``, ``actor`` (an Agent), ``verb.id`` — one of passed, failed, completed
(``http://adlnet.gov/expapi/verbs/…``) —, ``timestamp`` (without a time zone, UTC), ``result.score.scaled``,
``result.score.raw`` / ``min`` / ``max``, ``result.success``, ``result.completion``, ``result.duration`` (ISO 8601,
e.g. ``PT1H2M3.5S``), ``result.extensions`` (each numeric value becomes a metric named by its IRI) and the cmi5
context extensions ``masteryscore`` and ``sessionid``. The verb sets what the statement leaves unsaid: passed
means success, failed means no success, completed means completion.

A statement that contradicts itself is refused, with the reason: passed with ``success: false``, or with a
scaled score below the mastery score it carries; failed with ``success: true``, or with a scaled score at or
above its mastery score; completed with ``completion: false``; a scaled score outside [−1, 1]; a raw score
outside [min, max], or min not below max; a mastery score outside [0, 1]. The scaled score compared is
``result.score.scaled``, or else ``(raw − min) / (max − min)`` (``SimulationRun.scaled``).

``parse_statements`` reads one statement or an array. Statements of one cmi5 session (the same ``sessionid``)
make one run — cmi5 reports completed and passed as two statements —, which must agree: the same score, no
passed and failed together, one actor; the run takes the longest duration and the latest timestamp reported,
and the id of its passed or failed statement (else of its last statement). Statements without a session id
are a run each. When every run has a timestamp, the runs are returned in chronological order; otherwise in
the order given.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import Meta, Struct

from assessment import _convert
from assessment._text import number
from assessment.errors import AssessmentError, at, raise_if
from assessment.specification import Number
from assessment.submission import Account, Agent, RawScore, SimulationRun, Uri, raw_score_problems

VERBS = "http://adlnet.gov/expapi/verbs/"
PASSED, FAILED, COMPLETED = f"{VERBS}passed", f"{VERBS}failed", f"{VERBS}completed"
MASTERY_SCORE = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
SESSION_ID = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
MAX_DURATION_SECONDS = 1e9

_NUMBER = r"([0-9]{1,20}(?:[.,][0-9]{1,20})?)"
_DURATION = re.compile(
    rf"P(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?"
)
_UNITS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
_SECONDS = {"weeks": 604_800, "days": 86_400, "hours": 3_600, "minutes": 60, "seconds": 1}


class _Score(Struct):
    scaled: Number | None = None
    raw: Number | None = None
    min: Number | None = None
    max: Number | None = None


class _Result(Struct):
    score: _Score | None = None
    success: bool | None = None
    completion: bool | None = None
    duration: Annotated[str, Meta(max_length=100)] | None = None
    extensions: dict[str, Any] | None = None


class _Verb(Struct):
    id: Uri


class _Account(Struct):
    homePage: Annotated[str, Meta(min_length=1, max_length=2000)]  # xAPI's names, hence camelCase
    name: Annotated[str, Meta(min_length=1, max_length=300)]


class _Actor(Struct):
    objectType: str | None = None  # xAPI's names, hence camelCase
    name: Annotated[str, Meta(max_length=300)] | None = None
    mbox: Annotated[str, Meta(pattern=r"^mailto:\S+$", max_length=2000)] | None = None
    mbox_sha1sum: Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{40}$")] | None = None
    openid: Uri | None = None
    account: _Account | None = None


class _Context(Struct):
    registration: str | None = None
    extensions: dict[str, Any] | None = None


class _Statement(Struct):
    actor: _Actor
    verb: _Verb
    object: dict[str, Any]
    id: UUID | None = None
    result: _Result | None = None
    context: _Context | None = None
    timestamp: datetime | None = None


def parse_duration(text: str) -> float:
    """Seconds in an ISO 8601 duration: ``PT1H2M3.5S`` → 3723.5; also days and weeks (``P1DT2H``, ``P2W``).

    Years and months have no fixed length and are refused unless zero (``P0Y0M0DT5M``); only the smallest
    unit given may have a fraction (``.`` or ``,``). Raises AssessmentError.
    """
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    given = {unit: value for unit, value in zip(_UNITS, match.groups(), strict=True) if value} if match else {}
    if not given or text.endswith("T"):
        raise AssessmentError(f"{text!r} is not an ISO 8601 duration such as 'PT1H2M3.5S'")
    values = {unit: float(value.replace(",", ".")) for unit, value in given.items()}
    if any(re.search("[.,]", value) for value in list(given.values())[:-1]):
        raise AssessmentError(f"{text!r}: only the smallest unit of a duration may have a fraction")
    if values.get("years") or values.get("months"):
        raise AssessmentError(f"{text!r}: years and months have no fixed length; give days, hours, minutes, seconds")
    seconds = math.fsum(values.get(unit, 0.0) * factor for unit, factor in _SECONDS.items())
    if seconds > MAX_DURATION_SECONDS:
        raise AssessmentError(f"{text!r}: longer than {number(MAX_DURATION_SECONDS)} seconds")
    return seconds


def parse_statement(data: object) -> SimulationRun:
    """The run one statement (decoded JSON, or raw JSON) reports. Raises AssessmentError naming the statement."""
    statement: object = _convert.decode(data, Any)
    read, problems = _read(statement, "")
    raise_if(problems)
    assert read is not None  # a statement without problems is read
    return read[0]


def parse_statements(data: object) -> list[SimulationRun]:
    """The runs a statement or an array of statements (decoded JSON, or raw JSON) report, one run per cmi5
    session. Raises AssessmentError listing the problems of every statement, each naming its statement."""
    statements: object = _convert.decode(data, Any)
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise AssessmentError("expected a statement (an object) or a non-empty array of statements")
    problems: list[str] = []
    sessions: dict[object, list[tuple[int, SimulationRun, str]]] = {}
    for i, item in enumerate(statements):
        read, found = _read(item, f"statements[{i}]")
        problems += found
        if read is not None:
            run, verb = read
            sessions.setdefault(run.session_id or i, []).append((i, run, verb))
    raise_if(problems)
    runs = [_merge(parts, problems) for parts in sessions.values()]
    raise_if(problems)
    if all(run.at is not None for run in runs):
        runs.sort(key=lambda run: run.at or datetime.min.replace(tzinfo=UTC))
    return runs


def _read(data: object, where: str) -> tuple[tuple[SimulationRun, str] | None, list[str]]:
    """The run in one statement and its verb, or the problems found in it (each naming the statement)."""
    sid = data.get("id") if isinstance(data, dict) else None
    note = f" (statement {sid})" if isinstance(sid, str) else ""
    try:
        statement: _Statement = _convert.decode(data, _Statement, where=where, note=note)
    except AssessmentError as error:
        return None, error.problems
    result = statement.result or _Result()
    score = result.score or _Score()
    raw = None if score.raw is None else RawScore(score=score.raw, min=score.min, max=score.max)
    verb = statement.verb.id
    context = (statement.context.extensions or {}) if statement.context else {}
    problems = _actor_problems(statement.actor, f"{where}.actor" if where else "actor")
    if verb not in (PASSED, FAILED, COMPLETED):
        problems.append(at(_join(where, "verb.id"), f"{verb!r} is not a result verb (passed, failed, completed)"))
    if score.scaled is not None and not -1 <= score.scaled <= 1:
        problems.append(at(_join(where, "result.score.scaled"), f"{number(score.scaled)} is outside [-1, 1]"))
    problems += raw_score_problems(_join(where, "result.score"), raw, score_field="raw")
    mastery = context.get(MASTERY_SCORE)
    if mastery is not None and (not _is_number(mastery) or not 0 <= mastery <= 1):
        problems.append(
            at(
                _join(where, f"context.extensions[{MASTERY_SCORE}]"),
                f"{mastery!r} is not a mastery score: a number from 0 to 1",
            )
        )
        mastery = None
    duration = None
    if result.duration is not None:
        try:
            duration = parse_duration(result.duration)
        except AssessmentError as error:
            problems.append(at(_join(where, "result.duration"), error.problems[0]))
    run = SimulationRun(
        scaled_score=score.scaled,
        raw=raw,
        success=True if verb == PASSED else False if verb == FAILED else result.success,
        completion=True if verb == COMPLETED else result.completion,
        duration_seconds=duration,
        metrics=_metrics(result.extensions or {}),
        at=None if statement.timestamp is None else _aware(statement.timestamp),
        statement_id=None if statement.id is None else str(statement.id),
        session_id=_session(context),
        actor=_agent(statement.actor),
    )
    if not problems:
        problems += _contradictions(verb, result, run, mastery, where)
    return (None, [p + note for p in problems]) if problems else ((run, verb), [])


def _contradictions(verb: str, result: _Result, run: SimulationRun, mastery: object, where: str) -> list[str]:
    path, problems = where or "statement", []
    name = verb.removeprefix(VERBS)
    if (verb == PASSED and result.success is False) or (verb == FAILED and result.success is True):
        problems.append(at(path, f"the verb is {name!r} but result.success is {str(result.success).lower()}"))
    if verb == COMPLETED and result.completion is False:
        problems.append(at(path, "the verb is 'completed' but result.completion is false"))
    scaled = run.scaled()
    if isinstance(mastery, float | int) and scaled is not None:
        if verb == PASSED and scaled < mastery:
            problems.append(
                at(
                    path,
                    f"the verb is 'passed' but the scaled score {number(scaled)} is below the "
                    f"mastery score {number(mastery)}",
                )
            )
        if verb == FAILED and scaled >= mastery:
            problems.append(
                at(
                    path,
                    f"the verb is 'failed' but the scaled score {number(scaled)} reaches the "
                    f"mastery score {number(mastery)}",
                )
            )
    return problems


def _actor_problems(actor: _Actor, path: str) -> list[str]:
    if actor.objectType not in (None, "Agent"):
        return [at(path, f"the actor must be an Agent, not a {actor.objectType!r}")]
    given = [actor.mbox, actor.mbox_sha1sum, actor.openid, actor.account]
    if sum(1 for g in given if g is not None) != 1:
        return [at(path, "identify the agent by exactly one of mbox, mbox_sha1sum, openid, account")]
    return []


def _agent(actor: _Actor) -> Agent:
    account = None if actor.account is None else Account(home_page=actor.account.homePage, name=actor.account.name)
    return Agent(
        name=actor.name, mbox=actor.mbox, mbox_sha1sum=actor.mbox_sha1sum, openid=actor.openid, account=account
    )


def _metrics(extensions: dict[str, Any]) -> dict[str, float]:
    """The numeric result extensions (within ±10¹², named by an IRI of at most 300 characters), 200 at most."""
    numeric = {k: float(v) for k, v in extensions.items() if _is_number(v) and abs(v) <= 1e12 and 0 < len(k) <= 300}
    return dict(list(numeric.items())[:200])


def _session(extensions: dict[str, Any]) -> str | None:
    session = extensions.get(SESSION_ID)
    return session if isinstance(session, str) and 0 < len(session) <= 2000 else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _join(where: str, path: str) -> str:
    return f"{where}.{path}" if where else path


def _merge(parts: list[tuple[int, SimulationRun, str]], problems: list[str]) -> SimulationRun:
    """One run from the statements of one session; disagreements are added to ``problems``."""
    if len(parts) == 1:
        return parts[0][1]
    runs = [run for _, run, _ in parts]
    where = f"statements[{', '.join(str(i) for i, _, _ in parts)}]"
    session = f"the statements of session {runs[0].session_id!r}"

    def one(field: str, label: str) -> Any:
        values = [getattr(run, field) for run in runs if getattr(run, field) is not None]
        if any(v != values[0] for v in values):
            problems.append(at(where, f"{session} disagree on {label}"))
        return values[0] if values else None

    if len({run.actor.identifier() for run in runs if run.actor is not None}) > 1:
        problems.append(at(where, f"{session} are by different actors"))
    metrics: dict[str, float] = {}
    for run in runs:
        for name, value in run.metrics.items():
            if metrics.setdefault(name, value) != value:
                problems.append(at(where, f"{session} disagree on the metric {name!r}"))
    verdicts = [run for run, (_, _, verb) in zip(runs, parts, strict=True) if verb in (PASSED, FAILED)]
    durations = [run.duration_seconds for run in runs if run.duration_seconds is not None]
    moments = [run.at for run in runs if run.at is not None]
    return SimulationRun(
        scaled_score=one("scaled_score", "the scaled score"),
        raw=one("raw", "the raw score"),
        success=one("success", "success"),
        completion=one("completion", "completion"),
        duration_seconds=max(durations) if durations else None,
        metrics=metrics,
        at=max(moments) if moments else None,
        statement_id=(verdicts or runs)[-1].statement_id,
        session_id=runs[0].session_id,
        actor=runs[0].actor,
    )
