"""Properties of the guidance ranking: covering more missing essential skills per hour never ranks lower, all
else equal; the ties are broken in the order the ranking key names; the order does not depend on the input's."""

from __future__ import annotations

import dataclasses
import itertools
import random
import uuid

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.db import Database
from domain.designs.register import q as register_queries
from domain.guidance import service
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


async def store_offers(db: Database, offers: list[Offer]) -> None:
    """The offers in the register's tables, as register.publish writes them (one published version each)."""
    async with db.transaction() as conn:
        body = await conn.fetchval(
            "INSERT INTO organisations (kind, name, default_language, country) "
            "VALUES ('vet_provider', '{\"en\": \"P\"}', 'en', 'PL') RETURNING id"
        )
        for offer in offers:
            await conn.execute(
                "INSERT INTO designs (id, kind, lead_organisation_id) VALUES ($1, 'programme', $2) "
                "ON CONFLICT DO NOTHING",
                offer.programme_id,
                body,
            )
            version = await conn.fetchval(
                "INSERT INTO design_versions (design_id, number, status, content, published_at) "
                "VALUES ($1, (SELECT count(*) + 1 FROM design_versions WHERE design_id = $1), 'published', '{}', now()) "
                "RETURNING id",
                offer.programme_id,
            )
            await conn.execute(
                "INSERT INTO register_entries (version_id, design_id, kind, number, title, default_language, "
                "search_text, published_at) VALUES ($1, $2, 'programme', 1, '{}', 'en', '{}', now())",
                version,
                offer.programme_id,
            )
            await conn.execute(
                "INSERT INTO register_offers (version_id, unit_key, design_id, number, title, programme_title, "
                "default_language, hours, eqf_level, languages, country, region, validity_months, "
                "quality_assurance_type, skills) VALUES ($1, $2, $3, 1, '{}', '{}', 'en', $4, $5, $6, $7, $8, $9, $10, $11)",
                version,
                offer.unit_key,
                offer.programme_id,
                offer.hours,
                offer.eqf_level,
                list(offer.languages),
                offer.country,
                offer.region,
                offer.validity_months,
                offer.quality_assurance_type,
                sorted(offer.covers_essential | offer.covers_optional),
            )
            await conn.execute(register_queries.insert_offer_skills, version)


@pytest.mark.parametrize("seed", range(6))
async def test_the_database_ranks_exactly_as_the_ranking_module(db: Database, seed: int) -> None:
    """The SQL that picks the best offers out of the register orders them by the same key as ``sort_key``."""
    rng = random.Random(seed)
    essential, optional = SKILLS[:8], SKILLS[8:]
    offers = [
        Offer(
            programme_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            unit_key=rng.choice(["", "u1"]),
            covers_essential=frozenset(rng.sample(essential, rng.randint(0 if i % 3 else 1, 3))),
            covers_optional=frozenset(rng.sample(optional, rng.randint(0, 2))),
            hours=rng.choice([None, 8.0, 16.0, 24.0, 37.5, 40.0]),
            eqf_level=rng.choice([None, 2, 3, 4, 5]),
            languages=tuple(rng.sample(["pl", "de", "en"], rng.randint(0, 2))),
            country=rng.choice(["PL", "DE", None]),
            region=rng.choice(["PL-SL", "DE-NW", None]),
            validity_months=rng.choice([None, 24, 36, 60]),
            quality_assurance_type=rng.choice([None, *QUALITY_ASSURANCE_ORDER]),
        )
        for i in range(60)
    ]
    offers = [o for o in offers if o.covers_essential or o.covers_optional]
    await store_offers(db, offers)
    wanted = Preferences(
        language=rng.choice([None, "pl"]),
        country=rng.choice([None, "PL"]),
        region=rng.choice([None, "PL-SL"]),
        eqf_level=rng.choice([None, 3]),
    )
    for limit in (5, 11, 100):
        async with db.connection() as conn:
            rows = await conn.fetch(
                service.q.ranked_offers,
                essential,
                optional,
                wanted.eqf_level,
                wanted.language,
                wanted.country,
                wanted.region,
                list(QUALITY_ASSURANCE_ORDER),
                limit,
            )
        expected = [(o.programme_id, o.unit_key) for o, _ in rank(offers, wanted)][:limit]
        if limit <= 11:
            # Offers teaching only optional skills count only when too few teach essential ones.
            assert sum(1 for o in offers if o.covers_essential) >= limit
        assert [(r["design_id"], r["unit_key"]) for r in rows] == expected
