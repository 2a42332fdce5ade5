"""Evaluation of simulation runs: a run passes or not on its own, then the run rule decides which runs count."""

from __future__ import annotations

from assessment._text import count, number
from assessment.decision import CriterionResult, Decision
from assessment.specification import SimulationSpecification
from assessment.submission import SimulationRun, SimulationSubmission


def evaluate_simulation(specification: SimulationSpecification, submission: SimulationSubmission) -> Decision:
    """A run passes when every condition the specification states holds (``run_failures``). Then:

    - ``best``: passed when any run passes. The run that counts is the best: a passing run before a failing
      one, then the higher scaled score (a run without one ranks lowest), then the later run.
    - ``last``: the last run counts; passed when it passes.
    - ``all_of_last`` N: the last N runs count; passed when there are at least N runs and each of the last N
      passes.

    The score is the scaled score of the run that counts; for ``all_of_last``, the lowest scaled score among
    the runs that count (None when none of them reports a score).
    """
    runs = submission.runs
    failures = [run_failures(specification, run) for run in runs]
    deciding, reasons = _apply_rule(specification, runs, failures)
    passed = not reasons
    scores = [s for s in (runs[i].scaled() for i in deciding) if s is not None]
    score = min(scores) if scores else None
    if passed:
        reasons = [_pass_reason(specification, deciding, len(runs), score)]
    results = [
        CriterionResult(
            key=f"runs[{i}]",
            title=f"Run {i + 1}",
            passed=not failed,
            required=i in deciding,
            reason="; ".join(failed) if failed else _passed_run(run),
            value=run.scaled(),
            achieved=run.success,
        )
        for i, (run, failed) in enumerate(zip(runs, failures, strict=True))
    ]
    return Decision(
        passed=passed,
        mode="simulation",
        score=score,
        max_score=1.0,
        score_rule=score_rule(specification),
        results=results,
        reasons=reasons,
        deciding_runs=deciding,
    )


def run_failures(specification: SimulationSpecification, run: SimulationRun) -> list[str]:
    """Why ``run`` does not pass, in words; empty when it passes. A run passes when: its scaled score
    (``SimulationRun.scaled``) is at least ``masteryScore``; the simulator reported success (``requireSuccess``)
    and completion (``requireCompletion``); its duration is at least ``minDurationSeconds`` and at most
    ``maxDurationSeconds``; each metric threshold's metric is reported, at least its ``min`` and at most its
    ``max``. Only the conditions the specification states apply; a value needed but not reported fails."""
    s = specification
    failures: list[str] = []
    scaled = run.scaled()
    if s.mastery_score is not None and scaled is None:
        failures.append(f"no score was reported; the mastery score is {number(s.mastery_score)}")
    elif s.mastery_score is not None and scaled is not None and scaled < s.mastery_score:
        failures.append(f"the scaled score {number(scaled)} is below the mastery score {number(s.mastery_score)}")
    if s.require_success and run.success is not True:
        failures.append("the simulator reported failure" if run.success is False else "no success was reported")
    if s.require_completion and run.completion is not True:
        failures.append(
            "the simulator reported the run incomplete" if run.completion is False else "no completion was reported"
        )
    failures += _duration_failures(s, run.duration_seconds)
    for metric in s.metrics:
        value = run.metrics.get(metric.name)
        if value is None:
            failures.append(f"metric {metric.name!r} was not reported")
        elif metric.min is not None and value < metric.min:
            failures.append(f"metric {metric.name!r} is {number(value)}, below the minimum {number(metric.min)}")
        elif metric.max is not None and value > metric.max:
            failures.append(f"metric {metric.name!r} is {number(value)}, above the maximum {number(metric.max)}")
    return failures


def _duration_failures(specification: SimulationSpecification, seconds: float | None) -> list[str]:
    low, high = specification.min_duration_seconds, specification.max_duration_seconds
    if low is None and high is None:
        return []
    if seconds is None:
        return ["no duration was reported"]
    if low is not None and seconds < low:
        return [f"the duration {number(seconds)} s is shorter than the minimum {number(low)} s"]
    if high is not None and seconds > high:
        return [f"the duration {number(seconds)} s is longer than the maximum {number(high)} s"]
    return []


def _apply_rule(
    specification: SimulationSpecification, runs: list[SimulationRun], failures: list[list[str]]
) -> tuple[list[int], list[str]]:
    """The indices of the runs that count, and the reasons the attempt fails (none when it passes)."""
    n, rule = len(runs), specification.runs
    if rule.rule == "best":
        best = max(range(n), key=lambda i: (not failures[i], _rank(runs[i]), i))
        failed = [f"run {best + 1} of {n}: {f}" for f in failures[best]]
        return [best], ([f"none of the {count(n, 'run')} passed; the best run counts", *failed] if failed else [])
    if rule.rule == "last":
        failed = [f"run {n} of {n}: {f}" for f in failures[-1]]
        return [n - 1], (["the last run counts, and it did not pass", *failed] if failed else [])
    wanted = rule.count or 1
    deciding = list(range(max(0, n - wanted), n))
    reasons = [f"run {i + 1} of {n}: {f}" for i in deciding for f in failures[i]]
    if n < wanted:
        were = "was" if n == 1 else "were"
        reasons.insert(0, f"the last {wanted} runs must all pass, but only {count(n, 'run')} {were} submitted")
    return deciding, reasons


def _rank(run: SimulationRun) -> float:
    scaled = run.scaled()
    return float("-inf") if scaled is None else scaled


def _passed_run(run: SimulationRun) -> str:
    scaled = run.scaled()
    return "passed" if scaled is None else f"passed with a scaled score of {number(scaled)}"


def _pass_reason(specification: SimulationSpecification, deciding: list[int], n: int, score: float | None) -> str:
    several = len(deciding) > 1
    scored = "" if score is None else f" with {'a lowest' if several else 'a'} scaled score of {number(score)}"
    if score is not None and specification.mastery_score is not None:
        scored += f" (mastery score {number(specification.mastery_score)})"
    if specification.runs.rule == "best":
        return f"run {deciding[0] + 1} of {n} passed{scored}; the best run counts"
    if specification.runs.rule == "last":
        return f"the last run, run {n} of {n}, passed{scored}"
    return f"each of the last {count(len(deciding), 'run')} passed{scored}"


def score_rule(specification: SimulationSpecification) -> str:
    """The pass rule of ``specification`` in words."""
    s = specification
    conditions = [f"its scaled score is at least {number(s.mastery_score)}"] if s.mastery_score is not None else []
    conditions += ["the simulator reports success"] if s.require_success else []
    conditions += ["the simulator reports completion"] if s.require_completion else []
    if s.min_duration_seconds is not None:
        conditions.append(f"it lasts at least {number(s.min_duration_seconds)} s")
    if s.max_duration_seconds is not None:
        conditions.append(f"it lasts at most {number(s.max_duration_seconds)} s")
    for m in s.metrics:
        bounds = [f"at least {number(m.min)}"] if m.min is not None else []
        bounds += [f"at most {number(m.max)}"] if m.max is not None else []
        conditions.append(f"metric {m.name!r} is {' and '.join(bounds)}")
    rule = {
        "best": "passed when any run passes; the score is the scaled score of the best run",
        "last": "passed when the last run passes; the score is its scaled score",
        "all_of_last": f"passed when each of the last {s.runs.count} runs passes; the score is the lowest of their "
        "scaled scores",
    }[s.runs.rule]
    return f"A run passes when {'; '.join(conditions)}. {rule[0].upper()}{rule[1:]}."
