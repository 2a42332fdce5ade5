"""Recognition rules and what credentials attest, by property: matching is monotone in what a credential
attests, never counts an invalid credential, and reads Open Badges documents as their issuers wrote them."""

from __future__ import annotations

import dataclasses

from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given
from hypothesis import strategies as st
from joserfc.jwk import ECKey, OKPKey

from domain.credentials.foreign.resolve import did_web_url, jwk_of_multikey
from domain.credentials.multikey import public_key_multibase
from domain.portfolio.attestation import attestation, hours_of
from domain.recognition.matching import Held, Rule, matches

SKILLS = [f"http://data.europa.eu/esco/skill/{i:08d}-0000-0000-0000-000000000000" for i in range(6)]
ISSUERS = ["did:web:a.example", "did:web:b.example", "did:key:z6Mk"]
skills = st.frozensets(st.sampled_from(SKILLS), max_size=6)
levels = st.one_of(st.none(), st.integers(1, 8))
hours = st.one_of(st.none(), st.floats(0, 500, allow_nan=False))
helds = st.builds(
    Held,
    issuer=st.sampled_from(ISSUERS),
    achievement_id=st.one_of(st.none(), st.sampled_from(["urn:a", "urn:b", "urn:c"])),
    esco_skills=skills,
    eqf_level=levels,
    hours=hours,
    valid=st.booleans(),
)
rules = st.builds(
    Rule,
    kind=st.sampled_from(["achievement", "criteria", "case_by_case"]),
    achievement_ids=st.frozensets(st.sampled_from(["urn:a", "urn:b", "urn:c"]), min_size=1),
    issuers=st.frozensets(st.sampled_from(ISSUERS), max_size=2),
    esco_skills=skills,
    min_eqf_level=levels,
    min_hours=hours,
)


@given(rules, st.lists(helds, max_size=4), st.integers(0, 3), skills, st.integers(0, 3), st.floats(0, 100))
def test_attesting_more_never_loses_a_match(
    rule: Rule, held: list[Held], which: int, more_skills: frozenset[str], more_levels: int, more_hours: float
) -> None:
    if not held:
        return
    position = which % len(held)
    before = held[position]
    richer = dataclasses.replace(
        before,
        esco_skills=before.esco_skills | more_skills,
        eqf_level=None if before.eqf_level is None else min(8, before.eqf_level + more_levels),
        hours=None if before.hours is None else before.hours + more_hours,
    )
    if matches(rule, held):
        assert matches(rule, [*held[:position], richer, *held[position + 1 :]])


@given(rules, st.lists(helds, max_size=4), helds)
def test_naming_another_credential_never_loses_a_match(rule: Rule, held: list[Held], extra: Held) -> None:
    if matches(rule, held):
        assert matches(rule, [*held, extra])


@given(rules, st.lists(helds, max_size=4))
def test_invalid_credentials_count_for_nothing(rule: Rule, held: list[Held]) -> None:
    valid_only = [h for h in held if h.valid]
    assert matches(rule, held) == matches(rule, valid_only)
    assert not matches(rule, [dataclasses.replace(h, valid=False) for h in held])


@given(st.lists(helds, max_size=4))
def test_case_by_case_never_matches_by_itself(held: list[Held]) -> None:
    assert not matches(Rule(kind="case_by_case"), held)


@given(st.lists(helds, min_size=1, max_size=4), st.integers(1, 8))
def test_a_minimum_eqf_level_is_met_by_a_credential_at_or_above_it(held: list[Held], level: int) -> None:
    rule = Rule(kind="criteria", min_eqf_level=level)
    expected = any(h.valid and h.eqf_level is not None and h.eqf_level >= level for h in held)
    assert matches(rule, held) == expected


def test_criteria_count_credentials_together_but_only_the_issuers_named() -> None:
    a = Held("did:web:a.example", None, frozenset(SKILLS[:1]), 4, 20, True)
    b = Held("did:web:b.example", None, frozenset(SKILLS[1:2]), 4, 20, True)
    rule = Rule(kind="criteria", esco_skills=frozenset(SKILLS[:2]), min_hours=40, min_eqf_level=4)
    assert matches(rule, [a, b]) and not matches(rule, [a]) and not matches(rule, [b])
    only_a = dataclasses.replace(rule, issuers=frozenset({"did:web:a.example"}))
    assert not matches(only_a, [a, b])
    low = dataclasses.replace(b, eqf_level=3)
    assert not matches(rule, [a, low])  # the level-3 credential does not count, and with it its skill


def test_a_credential_attests_what_its_issuer_wrote() -> None:
    document = {
        "id": "urn:uuid:1",
        "issuer": {"id": "did:web:x.example", "name": "X"},
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "achievement": {
                "id": "https://x.example/a/1",
                "name": {"en": "Pipe welding"},
                "achievementType": "MicroCredential",
                "volumeOfLearning": "P1DT6H30M",
                "creditsAvailable": 1.5,
                "alignment": [
                    {"targetUrl": "http://data.europa.eu/snb/eqf/5"},
                    {"targetUrl": SKILLS[0]},
                    {"targetUrl": "http://data.europa.eu/esco/occupation/abc"},
                    "not an alignment",
                ],
                "learningOutcome": [{"relatedESCOSkill": [SKILLS[1], "http://elsewhere.example/skill"]}],
            }
        },
    }
    found = attestation(document)
    assert found.issuer_id == "did:web:x.example" and found.achievement_name == "Pipe welding"
    assert found.esco_skills == SKILLS[:2] and found.esco_occupations == ["http://data.europa.eu/esco/occupation/abc"]
    assert found.eqf_level == 5 and found.hours == 30.5 and found.ects_credits == 1.5
    assert attestation({"credentialSubject": "nonsense", "issuer": 3}).issuer_id is None
    for text in ("P", "PT", "1H", "PTH", None, 5):
        assert hours_of(text) is None


def test_multikeys_read_back_as_the_keys_they_encode() -> None:
    for private in (ed25519.Ed25519PrivateKey.generate(), ec.generate_private_key(ec.SECP256R1())):
        jwk = (
            (OKPKey if isinstance(private, ed25519.Ed25519PrivateKey) else ECKey)
            .import_key(private)
            .as_dict(private=False)
        )
        public = {n: jwk[n] for n in ("kty", "crv", "x", "y") if n in jwk}
        assert jwk_of_multikey(public_key_multibase(public)) == public


def test_a_did_web_names_the_url_of_its_document() -> None:
    assert did_web_url("did:web:example.com") == "https://example.com/.well-known/did.json"
    assert did_web_url("did:web:127.0.0.1%3A8443:organisations:1") == "https://127.0.0.1:8443/organisations/1/did.json"
