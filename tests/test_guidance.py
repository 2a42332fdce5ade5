"""Skills-gap guidance through HTTP: a welder's portfolio toward a pipe fitter, the training that closes the gap,
the occupations a person's skills are closest to, and the register found in every language."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.db import Database
from domain.guidance import classification
from domain.profiles.esco import import_esco_sample
from tests.conftest import OPERATOR, Bootstrap, Integrator
from tests.outbox_drain import drain
from tests.scenarios import publish
from tests.test_attempts import welding
from tests.test_codesign_tekniq import ASSESSMENT, programme_content
from tests.test_esco_classification import FIXTURE, PIPE_FITTER, WELDER
from tests.test_learner_claims import claim, issue, learner_token
from tests.test_portfolio_foreign import did_key_credential

SKILL = "http://data.europa.eu/esco/skill/"
AUTOMATION = "http://data.europa.eu/esco/occupation/e3cdb267-313c-49b5-b27f-546959da86d5"
WELDING_EQUIPMENT = SKILL + "abcbd3f1-52b6-4174-81b7-8c43679d9509"
MAG = SKILL + "0ac9dd8a-a87e-456b-a856-c8c797aad588"
SAFETY = SKILL + "9b5b3cfc-f285-47a7-a6b5-b64d6d4e6d4b"
DRAWINGS = SKILL + "97121d1f-b8be-4d83-88bd-af71ffee630a"
CUT = SKILL + "32a1a710-2665-410a-8b82-faad7d20c38f"
BEND = SKILL + "789b9da2-b1cf-4563-a5d7-f0a7df939119"
INSTALL = SKILL + "d3d028c6-c8cb-4e3a-af33-48f9ee5d0d23"
JOIN = SKILL + "39992287-3072-4428-82ee-52bf9d31934f"
PRESSURE = SKILL + "81cae0f6-e00f-4c18-a5f0-6e595f825df8"
MEASURING = SKILL + "43f61513-391b-4909-be3a-9d9118eb6d35"
MATERIALS = SKILL + "a960f9ff-314a-42b0-b306-0569b01d3847"
HYDRAULICS = SKILL + "bca134ce-0e16-4b54-abb4-b46a6e8b96fe"
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
PIPE_ESSENTIAL_MISSING = [CUT, BEND, INSTALL, JOIN, PRESSURE, MEASURING, MATERIALS, HYDRAULICS]


def unit(key: str, title: dict[str, str], hours: float, skills: list[str], eqf: int = 3) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "core",
        "title": title,
        "workloadHours": hours,
        "ectsCredits": round(hours / 25, 1),
        "eqfLevel": eqf,
        "learningOutcomes": [{"key": "lo1", "text": title, "competences": skills}],
        "assessment": ASSESSMENT,
    }


@dataclass
class Town:
    """A Danish welding provider whose learner holds a welding credential, a Polish pipe-fitting programme
    in two units, and a longer German one, all published; ESCO imported in en, de and pl."""

    welder_headers: dict[str, str]
    credential_id: str
    welding_programme: str
    pipe_programme: str
    german_programme: str
    profiles: dict[str, Any]


async def provider(bootstrap: Bootstrap, name: str, country: str, region: str | None = None) -> Integrator:
    organisation = await bootstrap.organisation(name, "vet_provider", country, region=region)
    scopes = ["programmes:write", "assessments:write", "credentials:read", "credentials:issue"]
    client_id, secret = await bootstrap.oauth_client(organisation.id, scopes)
    assert secret is not None
    return Integrator(organisation, client_id, secret, await bootstrap.token(client_id, secret))


async def town(client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings) -> Town:
    await classification.import_release(db, FIXTURE, "v1")
    profiles = {p.esco_occupation_uri: p for p in await import_esco_sample(db, OPERATOR)}
    chamber = await bootstrap.integrator(["programmes:write"], name="Chamber", kind="chamber", country="DE")
    amu = await provider(bootstrap, "AMU Syd", "DK")
    welding_content = programme_content(str(profiles[WELDER].id), str(amu.org_id), str(chamber.org_id), str(amu.org_id))
    welding_content.pop("cosignerId")
    welding_content["eqfLevel"] = 3
    welding_content["units"][0]["learningOutcomes"] = [
        {"key": "lo1", "text": {"en": "Welds with MAG"}, "competences": [WELDING_EQUIPMENT, MAG]},
        {"key": "lo2", "text": {"en": "Works safely from drawings"}, "competences": [SAFETY, DRAWINGS]},
    ]
    welding_programme = await publish(client, amu, chamber, welding_content)

    zdz = await provider(bootstrap, "ZDZ Katowice", "PL", "PL-SL")
    pipe = programme_content(str(profiles[PIPE_FITTER].id), str(zdz.org_id), str(chamber.org_id), str(zdz.org_id))
    pipe.pop("cosignerId")
    pipe.update(
        title={"pl": "Spawanie rurociągów", "en": "Pipeline welding"},
        description={"pl": "Kurs dla spawaczy przechodzących do montażu rurociągów"},
        defaultLanguage="pl",
        languages=["pl"],
        eqfLevel=3,
        validityMonths=60,
        qualityAssurance={"type": "state_recognition"},
        units=[
            unit("u1", {"pl": "Cięcie i gięcie rur", "en": "Cutting and bending pipes"}, 24, [CUT, BEND]),
            unit("u2", {"pl": "Montaż rurociągów", "en": "Installing pipelines"}, 40, [INSTALL, JOIN, PRESSURE]),
        ],
    )
    pipe_programme = await publish(client, zdz, chamber, pipe)

    bfw = await provider(bootstrap, "BFW Essen", "DE", "DE-NW")
    german = programme_content(str(profiles[PIPE_FITTER].id), str(bfw.org_id), str(chamber.org_id), str(bfw.org_id))
    german.pop("cosignerId")
    skills = [CUT, BEND, INSTALL, JOIN, PRESSURE, MATERIALS, HYDRAULICS]
    german.update(
        title={"de": "Rohrleitungsbau kompakt", "en": "Pipe fitting in brief"},
        description={"de": "Verlegen von Rohrleitungen aus Stahl"},
        defaultLanguage="de",
        languages=["de"],
        eqfLevel=4,
        units=[unit("u1", {"de": "Rohrleitungsbau", "en": "Pipe fitting"}, 120, skills, eqf=4)],
    )
    german_programme = await publish(client, bfw, chamber, german)

    learners = f"/organisations/{amu.org_id}/learners"
    learner = await client.post(learners, json={"name": "Jonas Weber"}, headers=amu.headers)
    learner_id = learner.json()["id"]
    enrolment = await client.post(
        f"{learners}/{learner_id}/enrolments", json={"programmeId": welding_programme}, headers=amu.headers
    )
    attempt = {
        "learnerId": learner_id,
        "enrolmentId": enrolment.json()["id"],
        "unitKey": "u1",
        "assessedAt": "2026-11-20T10:00:00Z",
        "supervision": "supervised_identity_check_onsite",
        "submission": welding("l3", "l4", 10),
    }
    recorded = await client.post(f"/organisations/{amu.org_id}/attempts", json=attempt, headers=amu.headers)
    assert recorded.status_code == 201 and recorded.json()["passed"], recorded.text
    await drain(db, settings)
    assert (await claim(client, await issue(client, amu, learner_id))).status_code == 200
    headers = await learner_token(client, bootstrap, scopes="credentials:read assessments:read portfolio:write")
    mine = (await client.get("/me/credentials", headers=headers)).json()["items"]
    assert [c["valid"] for c in mine] == [True], mine
    return Town(headers, mine[0]["id"], welding_programme, pipe_programme, german_programme, profiles)


async def test_a_welders_portfolio_toward_pipe_fitting_names_the_missing_skills_and_the_training(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    t = await town(client, bootstrap, db, settings)
    response = await client.post(
        "/guidance/gap",
        json={"occupation": PIPE_FITTER, "usePortfolio": True, "preferences": {"language": "pl", "country": "PL"}},
        headers=t.welder_headers,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["target"] == {
        "escoOccupationUri": PIPE_FITTER,
        "profileVersionId": None,
        "label": "monter rurociągów",
        "iscoCode": "7126",
    }
    assert report["credentialsConsidered"] == 1 and report["skillsConsidered"] == 4
    covered = {s["escoSkillUri"]: s for s in report["essentialCovered"]}
    assert set(covered) == {SAFETY, DRAWINGS}
    assert covered[DRAWINGS]["label"] == "interpretowanie rysunków technicznych"
    (evidence,) = covered[SAFETY]["coveredBy"]
    assert evidence["source"] == "credential" and evidence["credentialId"] == t.credential_id
    assert evidence["issuerName"] == "AMU Syd" and evidence["achievementName"]
    assert [s["escoSkillUri"] for s in report["optionalCovered"]] == [WELDING_EQUIPMENT]
    assert sorted(s["escoSkillUri"] for s in report["essentialMissing"]) == sorted(PIPE_ESSENTIAL_MISSING)
    assert "cięcie rur na wymiar" in {s["label"] for s in report["essentialMissing"]}
    assert report["essentialCoverage"] == 0.2
    assert report["essentialNotOffered"] == [MEASURING]

    ranked = [(r["programmeId"], r["unitKey"]) for r in report["recommendations"]]
    # 2 in 24 h, 5 in 64 h, 3 in 40 h, then 7 in 120 h.
    assert ranked == [
        (t.pipe_programme, "u1"),
        (t.pipe_programme, None),
        (t.pipe_programme, "u2"),
        (t.german_programme, None),
    ]
    first = report["recommendations"][0]
    assert first["label"] == "Cięcie i gięcie rur" and sorted(first["coversEssential"]) == sorted([CUT, BEND])
    assert first["rankingKey"]["missingEssentialCovered"] == 2 and first["rankingKey"]["hours"] == 24
    assert first["rankingKey"]["decidedBy"] == "essential skills covered per hour"
    assert first["rankingKey"]["languageMatch"] is True and first["rankingKey"]["placeMatch"] == "country"
    assert first["why"].startswith("#1: covers 2 of the 8 missing essential skills in 24 h")
    assert first["registerUrl"].endswith(f"/register/programmes/{t.pipe_programme}")
    german = report["recommendations"][3]
    assert german["rankingKey"]["languageMatch"] is False and german["rankingKey"]["placeMatch"] == "elsewhere"
    assert set(german["coversEssential"]) == {CUT, BEND, INSTALL, JOIN, PRESSURE, MATERIALS, HYDRAULICS}


async def test_anyone_may_ask_with_skills_named_and_all_else_equal_the_preferences_order(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    t = await town(client, bootstrap, db, settings)
    body = {"occupation": PIPE_FITTER, "skills": [CUT, BEND, MEASURING, MATERIALS, HYDRAULICS], "limit": 2}
    response = await client.post("/guidance/gap", json=body)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["credentialsConsidered"] == 0
    assert {s["escoSkillUri"] for s in report["essentialCovered"]} == {CUT, BEND, MEASURING, MATERIALS, HYDRAULICS}
    assert all(s["coveredBy"] == [{"source": "declared"}] for s in report["essentialCovered"])
    assert {s["escoSkillUri"] for s in report["essentialMissing"]} == {INSTALL, JOIN, PRESSURE, DRAWINGS, SAFETY}
    # u2 covers 3 missing in 40 h; the welding programme 2 (drawings, safety) in 37 h; the Polish whole programme
    # the same 3 as u2 in 64 h.
    assert [(r["programmeId"], r["unitKey"]) for r in report["recommendations"]] == [
        (t.pipe_programme, "u2"),
        (t.welding_programme, None),
    ]
    # By a profile here instead of ESCO: the welder profile's competences, with their own titles.
    by_profile = await client.post(
        "/guidance/gap", json={"profileId": str(t.profiles[WELDER].profile_id), "skills": [MAG]}
    )
    assert by_profile.status_code == 200, by_profile.text
    assert by_profile.json()["target"]["profileVersionId"] == str(t.profiles[WELDER].id)
    assert [s["escoSkillUri"] for s in by_profile.json()["essentialCovered"]] == [MAG]


async def test_a_credential_of_another_issuer_in_the_portfolio_counts_too(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    t = await town(client, bootstrap, db, settings)
    alignment = [{"type": ["Alignment"], "targetName": "pipes", "targetUrl": skill} for skill in (CUT, BEND)]
    foreign = did_key_credential(
        ed25519.Ed25519PrivateKey.generate(),
        credentialSubject={
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://pipeline.example/achievements/cutting",
                "type": ["Achievement"],
                "name": "Cutting and bending pipes",
                "criteria": {"narrative": "Cuts and bends pipes"},
                "alignment": alignment,
            },
        },
    )
    added = await client.post("/me/portfolio/credentials", json={"credential": foreign}, headers=t.welder_headers)
    assert added.status_code == 201, added.text
    response = await client.post(
        "/guidance/gap", json={"occupation": PIPE_FITTER, "usePortfolio": True}, headers=t.welder_headers
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["credentialsConsidered"] == 2
    covered = {s["escoSkillUri"]: s["coveredBy"] for s in report["essentialCovered"]}
    assert set(covered) == {SAFETY, DRAWINGS, CUT, BEND}
    assert covered[CUT] == [
        {
            "source": "credential",
            "credentialId": added.json()["id"],
            "origin": "added",
            "achievementName": "Cutting and bending pipes",
            "issuerId": foreign_issuer(foreign),
            "issuerName": "Pipeline Academy",
        }
    ]
    assert covered[SAFETY][0]["origin"] == "guildhall"
    # Cutting and bending are held now: the unit teaching them is no longer recommended.
    assert [(r["programmeId"], r["unitKey"]) for r in report["recommendations"]] == [
        (t.pipe_programme, "u2"),
        (t.pipe_programme, None),
        (t.german_programme, None),
    ]


def foreign_issuer(token: str) -> str:
    issuer: str = jwt.decode(token, options={"verify_signature": False})["iss"]
    return issuer


async def test_the_occupations_closest_to_a_portfolio_come_a_page_at_a_time(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    t = await town(client, bootstrap, db, settings)
    response = await client.get(
        "/guidance/occupations", params={"usePortfolio": "true", "lang": "de"}, headers=t.welder_headers
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["skillsConsidered"] == 4 and page["nextCursor"] is None
    assert [(o["escoOccupationUri"], o["essentialCovered"], o["essential"], o["share"]) for o in page["items"]] == [
        (WELDER, 4, 10, 0.4),
        (PIPE_FITTER, 2, 10, 0.2),
        (AUTOMATION, 1, 10, 0.1),
    ]
    assert page["items"][1]["label"] == "Rohrleitungsbauer/Rohrleitungsbauerin"
    missing = {s["escoSkillUri"]: s["label"] for s in page["items"][1]["missingEssential"]}
    assert set(missing) == set(PIPE_ESSENTIAL_MISSING) and missing[CUT] == "Rohre ablängen"

    first = await client.get("/guidance/occupations", params={"skill": [CUT, SAFETY], "limit": 1})
    assert first.status_code == 200, first.text
    assert [o["escoOccupationUri"] for o in first.json()["items"]] == [PIPE_FITTER]
    second = await client.get(
        "/guidance/occupations", params={"skill": [CUT, SAFETY], "limit": 1, "cursor": first.json()["nextCursor"]}
    )
    assert [o["escoOccupationUri"] for o in second.json()["items"]] == [WELDER]


async def test_questions_that_cannot_be_answered_are_refused_with_the_reason(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    await classification.import_release(db, FIXTURE, "v1")
    unknown = "http://data.europa.eu/esco/occupation/00000000-0000-4000-8000-000000000000"
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"skills": [CUT]}, 422, "name exactly one target"),
        ({"occupation": PIPE_FITTER, "profileId": "00000000-0000-4000-8000-000000000000"}, 422, "exactly one"),
        ({"occupation": unknown}, 404, "neither in the imported ESCO classification"),
        ({"occupation": PIPE_FITTER, "usePortfolio": True}, 422, "needs a learner's access token"),
        ({"occupation": PIPE_FITTER, "skills": ["http://example.com/x"]}, 400, ""),
    ]
    for body, status, detail in cases:
        response = await client.post("/guidance/gap", json=body)
        assert response.status_code == status, (body, response.text)
        assert detail in response.json()["detail"]
    integrator = await bootstrap.integrator(["credentials:read"])
    by_client = await client.post(
        "/guidance/gap", json={"occupation": PIPE_FITTER, "usePortfolio": True}, headers=integrator.headers
    )
    assert by_client.status_code == 403 and "person's token" in by_client.json()["detail"]
    for params in ({}, {"skill": "not a uri"}, {"skill": CUT, "cursor": "bm9wZQ"}):
        refused = await client.get("/guidance/occupations", params=params)
        assert refused.status_code == 422, (params, refused.text)


async def test_the_register_finds_words_in_every_language_accents_and_prefixes_aside(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    t = await town(client, bootstrap, db, settings)

    async def found(q: str, lang: str) -> list[str]:
        response = await client.get("/register/programmes", params={"q": q, "lang": lang})
        assert response.status_code == 200, response.text
        return [item["designId"] for item in response.json()["items"]]

    # Polish has no stemmer in PostgreSQL: accents and endings aside, by prefix.
    for words in ("rurociąg", "rurociagow", "RUROCIĄGÓW", "spawanie rurociag", "Spaw"):
        assert await found(words, "pl") == [t.pipe_programme], words
    assert await found("rurka", "pl") == []
    # Where PostgreSQL stems, stemming still works beside the prefixes.
    assert await found("Rohrleitung", "de") == [t.german_programme]
    assert await found("worked", "en") == [t.welding_programme]  # "Works safely": the stem, not a prefix
    # The Danish title is "MIG-svejsning af stålkonstruktioner": a prefix matches, accent or not; the inside
    # of a word does not.
    assert await found("stal", "da") == await found("stålkonstruktion", "da") == [t.welding_programme]
    assert await found("konstruktioner", "da") == []


async def test_programmes_published_before_guidance_get_the_offers_publication_writes(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    """The backfill migration writes, for programmes already in the register, what register.publish writes."""
    t = await town(client, bootstrap, db, settings)
    columns = (
        "version_id, unit_key, design_id, number, title, programme_title, default_language, hours, eqf_level, "
        "languages, country, region, validity_months, quality_assurance_type, skills"
    )
    query = f"SELECT {columns} FROM register_offers ORDER BY design_id, unit_key"
    backfill = (MIGRATIONS / "20261207050010_guidance_backfill.sql").read_text().split("-- migrate:down")[0]
    async with db.transaction() as conn:
        published = [dict(r) for r in await conn.fetch(query)]
        skill_rows = await conn.fetch("SELECT skill_uri, hours FROM register_offer_skills ORDER BY 1, 2")
        assert {r["design_id"] for r in published} >= {UUID(t.pipe_programme), UUID(t.german_programme)}
        await conn.execute("DELETE FROM register_offers")
        await conn.execute(backfill)
        assert [dict(r) for r in await conn.fetch(query)] == published
        assert await conn.fetch("SELECT skill_uri, hours FROM register_offer_skills ORDER BY 1, 2") == skill_rows
