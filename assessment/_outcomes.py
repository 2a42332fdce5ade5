"""Evaluation against learning outcomes: outcome-based assessment and recognition of prior learning."""

from __future__ import annotations

from assessment._text import count
from assessment.decision import CriterionResult, Decision
from assessment.specification import Mode, OutcomeBasedSpecification, OutcomeRequirement, PriorLearningSpecification
from assessment.submission import (
    OutcomeBasedSubmission,
    OutcomeJudgement,
    PortfolioItem,
    PriorLearningJudgement,
    PriorLearningSubmission,
)

Judgement = OutcomeJudgement | PriorLearningJudgement


def evaluate_outcomes(
    specification: OutcomeBasedSpecification | PriorLearningSpecification,
    submission: OutcomeBasedSubmission | PriorLearningSubmission,
) -> Decision:
    """Passed when every required outcome counts as achieved.

    Outcome based: an outcome counts as achieved when the assessor judged it achieved. Prior learning: when
    the assessor judged it achieved *and* at least ``minimumEvidencePerOutcome`` distinct portfolio items back
    it. An optional outcome left unjudged counts as not achieved. The score is the share of all the
    specification's outcomes (required or not) that count as achieved, as a percentage rounded to 2 decimals.
    """
    judgements: dict[str, Judgement] = {j.outcome: j for j in submission.judgements}
    minimum = specification.minimum_evidence_per_outcome if isinstance(specification, PriorLearningSpecification) else 0
    results = [_outcome_result(o, judgements.get(o.key), minimum) for o in specification.outcomes]
    achieved = sum(1 for r in results if r.achieved)
    score = round(100 * achieved / len(results), 2)
    reasons = [f"the required learning outcome {r.key!r} {r.reason}" for r in results if r.required and not r.passed]
    passed = not reasons
    if passed:
        required = sum(1 for r in results if r.required)
        reasons = [
            f"all {count(required, 'required learning outcome')} {'was' if required == 1 else 'were'} "
            f"achieved ({achieved} of {len(results)} outcomes in all)"
        ]
    evidence = f" on at least {count(minimum, 'portfolio item')} each" if minimum else ""
    rule = (
        f"score = 100 × outcomes achieved / {len(results)} outcomes, rounded to 2 decimals; passed when every "
        f"required outcome is judged achieved{evidence}"
    )
    mode: Mode = "prior_learning" if isinstance(specification, PriorLearningSpecification) else "outcome_based"
    return Decision(
        passed=passed, mode=mode, score=score, max_score=100.0, score_rule=rule, results=results, reasons=reasons
    )


def _outcome_result(outcome: OutcomeRequirement, judgement: Judgement | None, minimum: int) -> CriterionResult:
    if judgement is None:
        return CriterionResult(
            key=outcome.key,
            title=outcome.key,
            passed=False,
            required=outcome.required,
            reason="was not judged",
            achieved=None,
        )
    items = len({e.id if isinstance(e, PortfolioItem) else e for e in judgement.evidence})
    achieved = judgement.achieved and items >= minimum
    on = f" on {count(items, 'portfolio item')}" if minimum else f" on {count(items, 'piece')} of evidence"
    if not judgement.achieved:
        reason = "was judged not achieved"
    elif achieved:
        reason = f"was judged achieved{on if items else ''}"
    else:
        reason = f"was judged achieved{on}; at least {minimum} {'is' if minimum == 1 else 'are'} required"
    return CriterionResult(
        key=outcome.key, title=outcome.key, passed=achieved, required=outcome.required, reason=reason, achieved=achieved
    )
