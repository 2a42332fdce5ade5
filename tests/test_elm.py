"""The European Learning Model v3 export: the pure mapping from an Open Badges 3.0 credential, and
``GET /credentials/{id}/elm``."""

from __future__ import annotations

import copy
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.credentials.elm import ELM_CONTEXT, country, european_learning_credential
from domain.db import Database
from tests.conftest import Bootstrap
from tests.outbox_drain import drain
from tests.scenarios import classroom
from tests.test_attempts import welding
from tests.test_credentials_festo import credentials_of

ISSUER = "did:web:guildhall.example:organisations:0b5e8a9c-6f0e-4c1e-9a55-3f1d7c2b9e10"
PROVIDER = "did:web:guildhall.example:organisations:5d4c3b2a-1f0e-4d9c-8b7a-6e5f4d3c2b1a"
SKILL = "http://data.europa.eu/esco/skill/1a2b3c4d-0000-4000-8000-000000000001"

OPEN_BADGES: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": "urn:uuid:7f1d2a9e-3c4b-4e5f-8a6b-9c0d1e2f3a4b",
    "type": ["VerifiableCredential", "OpenBadgeCredential", "AchievementCredential"],
    "name": "Schweißen: MAG",
    "issuer": {
        "id": ISSUER,
        "type": ["Profile"],
        "name": "Handwerkskammer Region Stuttgart",
        "address": {"type": ["Address"], "addressCountryCode": "DE", "addressRegion": "DE-BW"},
        "url": "https://hwk.example",
        "otherIdentifier": [
            {"type": "IdentifierEntry", "identifier": "HRB 1234", "identifierType": "ext:trade-register"}
        ],
        "accreditation": [
            {"type": "Accreditation", "accreditingBody": "DAkkS", "scope": "ISO 9001", "validFrom": "2025-01-01"}
        ],
    },
    "validFrom": "2026-11-20T12:00:00Z",
    "awardedDate": "2026-11-20T12:00:00Z",
    "validUntil": "2029-11-20T12:00:00Z",
    "credentialStatus": {"id": "https://guildhall.example/status-lists/1#7", "type": "BitstringStatusListEntry"},
    "credentialSubject": {
        "type": ["AchievementSubject"],
        "identifier": [
            {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": "Lena Vogel"},
            {
                "type": "IdentityObject",
                "identityType": "emailAddress",
                "hashed": True,
                "identityHash": "sha256$abc123",
                "salt": "pepper",
            },
        ],
        "achievement": {
            "id": "https://guildhall.example/register/programmes/1c2d/versions/2#unit-mag",
            "type": ["Achievement"],
            "name": "Schweißen: MAG",
            "description": "MAG-Schweißen von Kehlnähten",
            "inLanguage": "de",
            "languages": ["de", "en"],
            "learningOutcome": [
                {"id": "urn:guildhall:outcome:mag/lo1", "title": "Schweißt Kehlnähte", "relatedESCOSkill": [SKILL]}
            ],
            "alignment": [
                {"type": ["Alignment"], "targetUrl": SKILL, "targetName": "MAG-Schweißen", "targetFramework": "ESCO"}
            ],
            "typeOfAssessment": "Praktische Prüfung",
            "formOfParticipation": "blended",
            "qualityAssurance": {
                "type": "QualityAssurance",
                "category": "chamber_approval",
                "description": "Von der Kammer genehmigt",
            },
            "eqfLevel": 4,
            "volumeOfLearning": "PT40H",
            "creditsAvailable": 2.5,
            "prerequisites": "Grundkurs Metall",
            "stackability": "integrated",
            "furtherInformation": "https://hwk.example/mag",
            "resultDescription": [
                {"id": "urn:guildhall:result:unit:status", "name": "MAG: result"},
                {"id": "urn:guildhall:result:unit:score", "name": "MAG: total score"},
            ],
        },
        "result": [
            {"type": ["Result"], "resultDescription": "urn:guildhall:result:unit:status", "status": "Completed"},
            {"type": ["Result"], "resultDescription": "urn:guildhall:result:unit:score", "value": "82"},
        ],
        "activityEndDate": "2026-11-19T15:00:00Z",
        "supervisionAndIdentityVerification": "unsupervised, no identity verification",
        "source": {
            "id": PROVIDER,
            "type": ["Profile"],
            "name": "Bildungszentrum",
            "address": {"addressCountryCode": "AT"},
        },
        "creditsEarned": 2.5,
    },
}


def test_the_export_is_an_unsigned_european_digital_credential_about_a_person() -> None:
    elm = european_learning_credential(OPEN_BADGES)
    assert elm["@context"] == ["https://www.w3.org/2018/credentials/v1", ELM_CONTEXT]
    assert elm["type"] == ["VerifiableCredential", "EuropeanDigitalCredential"]
    assert elm["id"] == OPEN_BADGES["id"] and "proof" not in elm
    assert elm["issuanceDate"] == elm["issued"] == elm["validFrom"] == "2026-11-20T12:00:00Z"
    assert elm["expirationDate"] == elm["validUntil"] == "2029-11-20T12:00:00Z"
    assert elm["credentialStatus"] == OPEN_BADGES["credentialStatus"]
    person = elm["credentialSubject"]
    assert person["type"] == "Person" and person["fullName"] == {"de": "Lena Vogel"}
    assert [(i["notation"], i["schemeVersion"]) for i in person["identifier"]] == [("sha256$abc123", "salt pepper")]
    assert person["hasClaim"]["type"] == "LearningAchievement" and person["hasClaim"]["title"] == {
        "de": "Schweißen: MAG"
    }
    assert person["hasClaim"]["creditReceived"][0]["point"] == "2.5"


def test_the_specification_carries_outcomes_workload_level_mode_language_and_quality_assurance() -> None:
    spec = european_learning_credential(OPEN_BADGES)["credentialSubject"]["hasClaim"]["specifiedBy"]
    assert spec["type"] == "LearningAchievementSpecification"
    assert spec["id"] == OPEN_BADGES["credentialSubject"]["achievement"]["id"]
    [outcome] = spec["learningOutcome"]
    assert outcome["type"] == "LearningOutcome" and outcome["title"] == {"de": "Schweißt Kehlnähte"}
    assert outcome["relatedESCOSkill"][0]["id"] == SKILL
    assert outcome["relatedESCOSkill"][0]["prefLabel"] == {"de": "MAG-Schweißen"}
    assert spec["volumeOfLearning"] == "PT40H"
    [credit] = spec["creditPoint"]
    assert credit["point"] == "2.5" and credit["framework"]["notation"] == "ECTS"
    assert spec["eqfLevel"]["id"] == "http://data.europa.eu/snb/eqf/4"
    assert [m["id"] for m in spec["mode"]] == ["http://data.europa.eu/snb/learning-assessment/e92d221e4d"]
    assert [lang["id"].rsplit("/", 1)[1] for lang in spec["language"]] == ["DEU", "ENG"]
    assert spec["entryRequirement"]["noteLiteral"] == {"de": "Grundkurs Metall"}
    [qa] = spec["accreditation"]
    assert qa["type"] == "Accreditation" and qa["dcType"]["prefLabel"] == {"en": "approval by a chamber"}
    assert qa["description"] == {"de": "Von der Kammer genehmigt"} and "limitQualification" not in qa
    notes = {n["subject"]["prefLabel"]["en"]: n["noteLiteral"] for n in spec["additionalNote"]}
    assert notes == {"stackability": {"en": "integrated"}, "further information": {"de": "https://hwk.example/mag"}}


def test_the_assessment_and_the_awarding_body() -> None:
    claim = european_learning_credential(OPEN_BADGES)["credentialSubject"]["hasClaim"]
    assessment = claim["provenBy"]
    assert assessment["type"] == "LearningAssessment"
    assert assessment["specifiedBy"]["dcType"]["prefLabel"] == {"de": "Praktische Prüfung"}
    assert assessment["grade"]["noteLiteral"] == {"en": "Completed; MAG: total score 82"}
    assert assessment["idVerification"]["id"] == "http://data.europa.eu/snb/supervision-verification/c598449d64"
    assert assessment["dateIssued"] == "2026-11-19T15:00:00Z"
    assert [a["id"] for a in assessment["assessedBy"]] == [PROVIDER]
    assert assessment["assessedBy"][0]["location"]["address"]["countryCode"]["id"].endswith("/country/AUT")
    body = claim["awardedBy"]["awardingBody"]
    assert (
        claim["awardedBy"]["type"] == "AwardingProcess" and claim["awardedBy"]["awardingDate"] == "2026-11-20T12:00:00Z"
    )
    assert body["id"] == ISSUER and body["type"] == "Organisation"
    assert body["legalName"] == {"de": "Handwerkskammer Region Stuttgart"}
    assert (
        body["location"]["address"]["countryCode"]["id"]
        == "http://publications.europa.eu/resource/authority/country/DEU"
    )
    assert body["location"]["spatialCode"]["notation"] == "DE-BW"
    assert body["homepage"][0]["contentURL"] == "https://hwk.example"
    assert body["identifier"][0] == {**body["identifier"][0], "notation": "HRB 1234", "schemeName": "trade-register"}
    [accreditation] = body["accreditation"]
    assert accreditation["accreditingAgent"]["legalName"] == {"de": "DAkkS"} and accreditation["title"] == {
        "de": "ISO 9001"
    }


def test_what_is_not_there_is_left_out_and_a_qualification_is_a_qualification() -> None:
    document = copy.deepcopy(OPEN_BADGES)
    for name in ("validUntil", "credentialStatus"):
        del document[name]
    subject = document["credentialSubject"]
    for name in ("result", "supervisionAndIdentityVerification", "source", "creditsEarned", "activityEndDate"):
        del subject[name]
    subject["achievement"]["id"] = "https://guildhall.example/register/qualifications/9f/versions/1"
    for name in ("prerequisites", "stackability", "furtherInformation", "languages", "resultDescription"):
        del subject["achievement"][name]
    subject["achievement"]["formOfParticipation"] = "weekends"
    elm = european_learning_credential(document)
    assert "validUntil" not in elm and "expirationDate" not in elm and "credentialStatus" not in elm
    claim = elm["credentialSubject"]["hasClaim"]
    assert "creditReceived" not in claim
    assert {"grade", "idVerification", "dateIssued"}.isdisjoint(claim["provenBy"])
    assert claim["provenBy"]["assessedBy"][0]["id"] == ISSUER
    spec = claim["specifiedBy"]
    assert spec["type"] == "Qualification" and spec["accreditation"][0]["limitQualification"] == spec["id"]
    assert {"entryRequirement", "additionalNote"}.isdisjoint(spec)
    assert [lang["notation"] for lang in spec["language"]] == ["de"]
    assert spec["mode"][0]["id"] == "urn:guildhall:mode:weekends" and "inScheme" not in spec["mode"][0]


def test_countries_map_to_the_eu_authority_table_and_others_fall_back_to_iso() -> None:
    for alpha2, alpha3 in (("DK", "DNK"), ("CH", "CHE"), ("GB", "GBR"), ("NO", "NOR"), ("gr", "GRC")):
        assert country(alpha2)["id"] == f"http://publications.europa.eu/resource/authority/country/{alpha3}"
    assert country("KE") == {"id": "urn:iso:std:iso:3166:-1:KE", "type": "Concept", "notation": "KE"}


async def test_the_endpoint_serves_json_ld_to_the_parties_only_once_complete(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    held = await client.put(
        f"/organisations/{room.provider.org_id}/issuing-holds/{room.programme_id}",
        json={},
        headers=room.provider.headers,
    )
    assert held.status_code == 200, held.text
    recorded = await client.post(
        room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=room.provider.headers
    )
    assert recorded.status_code == 201, recorded.text
    await drain(db, settings)
    [credential] = await credentials_of(client, room)
    url = f"/credentials/{credential['id']}/elm"

    not_yet = await client.get(url, headers=room.provider.headers)
    assert not_yet.status_code == 409 and not_yet.headers["content-type"].startswith("application/problem+json")
    released = await client.delete(
        f"/organisations/{room.provider.org_id}/issuing-holds/{room.programme_id}", headers=room.provider.headers
    )
    assert released.status_code == 200, released.text
    awaiting = await client.get(url, headers=room.chamber.headers)  # signed, but not complete yet
    assert awaiting.status_code == 409 and awaiting.json()["state"] == "awaiting_cosignature", awaiting.text
    cosigned = await client.post(f"/credentials/{credential['id']}/cosignature", headers=room.chamber.headers)
    assert cosigned.status_code == 200, cosigned.text

    response = await client.get(url, headers=room.chamber.headers)  # the co-signer is a party too
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/ld+json")
    elm = response.json()
    assert elm["id"] == f"urn:uuid:{credential['id']}" and elm["type"][-1] == "EuropeanDigitalCredential"

    outsider = await bootstrap.integrator(["credentials:read"], name="Someone Else", kind="employer")
    assert (await client.get(url, headers=outsider.headers)).status_code == 404
    assert (await client.get(url)).status_code == 401
