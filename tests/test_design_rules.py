"""Rules of co-design that need no database: completeness (Annex I), diffs, coverage."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from domain.designs.completeness import ANNEX_I, programme_gaps, qualification_gaps
from domain.designs.content import ProgrammeContent, QualificationContent
from domain.designs.coverage import coverage
from domain.designs.diff import diff
from domain.profiles.models import Competence, ProfileVersion


def complete_programme(**changes: Any) -> ProgrammeContent:
    unit = {
        "key": "u1",
        "kind": "core",
        "title": {"en": "Unit"},
        "workloadHours": 30,
        "ectsCredits": 1,
        "eqfLevel": 4,
        "assessment": {"mode": "outcome_based"},
        "learningOutcomes": [{"key": "lo1", "text": {"en": "Does it"}, "competences": ["c1"]}],
    }
    data = {
        "title": {"en": "Programme"},
        "awardingBodyId": str(uuid.uuid4()),
        "eqfLevel": 4,
        "typeOfAssessment": {"en": "Practical test"},
        "formOfParticipation": "blended",
        "qualityAssurance": {"type": "external_accreditation"},
        "languages": ["en"],
        "profileVersionId": str(uuid.uuid4()),
        "units": [unit],
        **changes,
    }
    return msgspec.convert(data, ProgrammeContent)


def test_a_complete_programme_has_no_gaps() -> None:
    assert programme_gaps(complete_programme()) == []


def test_each_missing_annex_element_is_named() -> None:
    empty = programme_gaps(ProgrammeContent())
    named = {g.element for g in empty if g.element}
    assert named == {
        ANNEX_I[k]
        for k in (
            "title",
            "issuer_country",
            "awarding_body",
            "learning_outcomes",
            "level",
            "assessment_type",
            "participation",
            "quality_assurance",
        )
    }


def test_units_without_outcomes_or_assessment_are_listed() -> None:
    content = complete_programme(
        units=[
            {"key": "u1", "kind": "core", "title": {"en": "A"}, "workloadHours": 10, "ectsCredits": 0.5, "eqfLevel": 4},
            {"key": "u2", "kind": "supplementary", "title": {"en": "B"}},
        ]
    )
    messages = [g.message for g in programme_gaps(content)]
    assert "unit 'u1' has no learning outcomes" in messages
    assert "unit 'u1' has no assessment specification" in messages
    assert "unit 'u2' needs its workload in hours and ECTS credits" in messages
    assert "unit 'u2' needs an EQF level" in messages


def test_a_qualification_needs_units_it_can_count() -> None:
    rule = {"atLeast": [{"count": 3, "of": [{"programmeId": str(uuid.uuid4()), "unitKey": "u1"}]}]}
    content = msgspec.convert(
        {
            "title": {"en": "Q"},
            "awardingBodyId": str(uuid.uuid4()),
            "eqfLevel": 4,
            "qualityAssurance": {"type": "state_recognition"},
            "rule": rule,
        },
        QualificationContent,
    )
    assert [g.path for g in qualification_gaps(content)] == ["rule.atLeast"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=15,
)


@given(json_values)
def test_a_document_does_not_differ_from_itself(value: Any) -> None:
    assert diff(value, value) == []


@given(json_values, json_values)
def test_any_two_documents_that_differ_have_a_change(a: Any, b: Any) -> None:
    assert (diff(a, b) == []) == (a == b)


def test_units_are_matched_by_key() -> None:
    before = {"units": [{"key": "u1", "hours": 10}, {"key": "u2", "hours": 5}]}
    after = {"units": [{"key": "u2", "hours": 6}, {"key": "u1", "hours": 10}, {"key": "u3", "hours": 1}]}
    changes = [(c.op, c.path) for c in diff(before, after)]
    assert changes == [("change", "units[u2].hours"), ("add", "units[u3]"), ("change", "units(order)")]


def test_coverage_lists_uncovered_essentials_and_workload_per_level() -> None:
    profile = ProfileVersion(
        id=uuid.uuid4(),
        profile_id=uuid.uuid4(),
        number=1,
        title={"en": "Welder"},
        default_language="en",
        esco_occupation_uri=None,
        isco_code="7212",
        description=None,
        created_at=datetime.now(UTC),
        competences=[
            Competence(key=k, esco_skill_uri=None, title={"en": k}, relation=r)
            for k, r in (("c1", "essential"), ("c2", "essential"), ("c3", "optional"))
        ],
    )
    content = complete_programme(
        units=[
            {
                "key": "u1",
                "kind": "core",
                "title": {"en": "A"},
                "workloadHours": 30,
                "ectsCredits": 1,
                "eqfLevel": 4,
                "learningOutcomes": [{"key": "lo1", "text": {"en": "x"}, "competences": ["c1", "zz"]}],
            },
            {
                "key": "u2",
                "kind": "supplementary",
                "title": {"en": "B"},
                "workloadHours": 12,
                "ectsCredits": 0.5,
                "eqfLevel": 5,
                "learningOutcomes": [{"key": "lo1", "text": {"en": "y"}, "competences": ["c3"]}],
            },
        ]
    )
    report = coverage(content, profile)
    assert [c.key for c in report.covered] == ["c1", "c3"]
    assert [c.key for c in report.essential_not_covered] == ["c2"]
    assert report.essential_coverage == 0.5
    assert report.unknown_competences == ["zz"]
    assert [(w.eqf_level, w.hours) for w in report.workload_by_eqf_level] == [(4, 30), (5, 12)]
    assert report.total_ects_credits == 1.5
