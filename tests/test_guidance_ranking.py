"""Properties of the guidance ranking: covering more missing essential skills per hour never ranks lower, all
else equal; the ties are broken in the order the ranking key names; the order does not depend on the input's."""

from __future__ import annotations

import dataclasses
import itertools
import random
import uuid

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.guidance.models import Preferences
from domain.guidance.ranking import CRITERIA, QUALITY_ASSURANCE_ORDER, Offer, rank, sort_key

# No deadline: a loaded machine (the tests share it) must not turn a slow example into a failure.
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SKILLS = [f"http://data.europa.eu/esco/skill/00000000-0000-4000-8000-{i:012d}" for i in range(12)]

preferences = st.builds(
    Preferences,
    language=st.sampled_from([None, "pl", "de"]),
    country=st.sampled_from([None, "PL", "DE"]),
    region=st.sampled_from([None, "PL-SL", "DE-NW"]),
    eqf_level=st.one_of(st.none(), st.integers(1, 8)),
)
offers = st.builds(
    Offer,
    programme_id=st.builds(uuid.UUID, st.uuids().map(str)),
    unit_key=st.sampled_from(["", "u1", "u2"]),
    covers_essential=st.frozensets(st.sampled_from(SKILLS[:8]), max_size=8),
    covers_optional=st.frozensets(st.sampled_from(SKILLS[8:]), max_size=4),
    hours=st.one_of(st.none(), st.floats(0.5, 2000, allow_nan=False)),
    eqf_level=st.one_of(st.none(), st.integers(1, 8)),
    languages=st.lists(st.sampled_from(["pl", "de", "en"]), max_size=3, unique=True).map(tuple),
    country=st.sampled_from([None, "PL", "DE", "DK"]),
    region=st.sampled_from([None, "PL-SL", "DE-NW"]),
    validity_months=st.one_of(st.none(), st.integers(1, 600)),
    quality_assurance_type=st.sampled_from([None, *QUALITY_ASSURANCE_ORDER]),
)


def position(ranked: list[tuple[Offer, object]], offer: Offer) -> int:
    return next(i for i, (o, _) in enumerate(ranked) if o is offer)


@PROPERTY
@given(offers, st.lists(offers, max_size=6), preferences, st.data())
def test_covering_more_missing_essential_skills_per_hour_never_ranks_lower(
    offer: Offer, others: list[Offer], wanted: Preferences, data: st.DataObject
) -> None:
    """B is A with a better rate — more skills in the same hours, or the same skills in fewer — and nothing else
    changed: B is never ranked below A, whatever else is in the list."""
    hours = offer.hours or data.draw(st.floats(1, 500))
    fewer = data.draw(st.frozensets(st.sampled_from(SKILLS[:8]), max_size=7))
    more = fewer | {data.draw(st.sampled_from([s for s in SKILLS[:8] if s not in fewer]))}
    a = dataclasses.replace(offer, covers_essential=fewer, hours=hours)
    if data.draw(st.booleans()):
        b = dataclasses.replace(offer, covers_essential=more, hours=hours, programme_id=uuid.uuid4())
    else:
        a = dataclasses.replace(a, covers_essential=more)
        b = dataclasses.replace(a, hours=hours / data.draw(st.floats(1.01, 10)), programme_id=uuid.uuid4())
    ranked = rank([*others, a, b], wanted)
    assert position(ranked, b) < position(ranked, a)


@PROPERTY
@given(st.lists(offers, min_size=1, max_size=12), preferences, st.randoms())
def test_the_order_does_not_depend_on_the_input_and_each_step_down_names_its_criterion(
    candidates: list[Offer], wanted: Preferences, shuffler: random.Random
) -> None:
    ranked = rank(candidates, wanted)
    shuffled = list(candidates)
    shuffler.shuffle(shuffled)
    assert [o for o, _ in rank(shuffled, wanted)] == [o for o, _ in ranked]
    for (upper, key), (lower, _) in itertools.pairwise(ranked):
        above, below = sort_key(upper, wanted), sort_key(lower, wanted)
        assert above <= below
        differing = [name for name, x, y in zip(CRITERIA, above, below, strict=False) if x != y]
        assert key.decided_by == (differing[0] if differing else None)
    assert ranked[-1][1].decided_by is None


@PROPERTY
@given(offers, preferences)
def test_all_else_equal_the_language_asked_for_ranks_first(offer: Offer, wanted: Preferences) -> None:
    base = dataclasses.replace(offer, covers_essential=frozenset(SKILLS[:2]), hours=10.0)
    taught_in_polish = dataclasses.replace(base, languages=("pl",), programme_id=uuid.uuid4())
    not_in_polish = dataclasses.replace(base, languages=("de",), programme_id=uuid.uuid4())
    ranked = rank([not_in_polish, taught_in_polish], msgspec.structs.replace(wanted, language="pl"))
    assert ranked[0][0] is taught_in_polish and ranked[0][1].decided_by == "language"
    assert ranked[0][1].language_match is True and ranked[1][1].language_match is False
