"""The European Learning Model v3 export: the pure mapping from an Open Badges 3.0 credential, and
``GET /credentials/{id}/elm`` (and the learner's ``/me/credentials/{id}/elm``).

Every export is checked by two independent tools: pySHACL against the European Commission's EDC shapes (both
``EDC-generic-no-cv`` and ``EDC-generic-full`` with its controlled-vocabulary restrictions; zero violations), and
jsonld.js expanding it in safe mode (no term, type or value the contexts do not define).
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import date
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.credentials.elm import ELM_CONTEXT, Agent, Translations, country, european_learning_credential
from domain.db import Database
from domain.organisations import service as organisations
from domain.organisations.models import AccreditationCreate
from tests.conftest import OPERATOR, Bootstrap
from tests.elm_shacl import SAMPLE, contexts, require_reference, shacl_report
from tests.node_checkers import run_checker
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credential_schema import cosign_everything, publish_qualification
from tests.test_credentials_festo import credentials_of, simulator_pass
from tests.test_wallet import cosign_all, mine, passed_and_claimed

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


def assert_conforms(document: dict[str, Any], what: str) -> None:
    """Zero violations against the EDC shapes, without and with the controlled vocabularies."""
    for shapes in ("no-cv", "full"):
        conforms, report = shacl_report(document, shapes)
        assert conforms, f"{what} against EDC-generic-{shapes}:\n{report}"


async def assert_expands_safely(document: dict[str, Any], what: str) -> None:
    """jsonld.js expands it in safe mode: every term is defined by the ELM or the VC 1.1 context."""
    require_reference()
    served = {url: {"@context": context} for url, context in contexts().items()}
    answer = await run_checker("elm_expand.mjs", {"document": document, "contexts": served})
    assert answer["ok"], f"{what}: {answer['error']}"
    assert answer["expanded"], what


def test_the_commissions_sample_has_the_violations_the_shapes_find_so_the_check_is_not_blind() -> None:
    # The Annex I sample has no cred:issued and no eIDAS legal identifier on its issuer: both shapes say so.
    require_reference()
    conforms, report = shacl_report(json.loads(SAMPLE.read_text()), "no-cv")
    assert not conforms and "cred:issued" in report and "eidasLegalIdentifier" in report


def test_the_full_shapes_check_the_vocabularies_that_the_no_cv_shapes_leave_alone() -> None:
    elm = european_learning_credential(OPEN_BADGES)
    [qa] = elm["credentialSubject"]["hasClaim"]["specifiedBy"]["accreditation"]
    qa["dcType"] = {"id": "urn:guildhall:quality-assurance:chamber_approval", "type": "Concept"}
    assert shacl_report(elm, "no-cv")[0]
    conforms, report = shacl_report(elm, "full")
    assert not conforms and "AccreditationTypeRestriction" in report


def test_the_fixture_export_passes_the_edc_shapes() -> None:
    assert_conforms(european_learning_credential(OPEN_BADGES), "the export of the fixture")


def test_texts_the_programme_has_in_several_languages_are_in_every_language() -> None:
    texts = Translations(
        title={"de": "Schweißen: MAG", "en": "Welding: MAG", "fr": "Soudage : MAG"},
        description={"de": "Etwas anderes als signiert", "en": "MAG welding of fillet welds"},
        outcomes={"urn:guildhall:outcome:mag/lo1": {"de": "Schweißt Kehlnähte", "en": "Welds fillet joints"}},
        skills={SKILL: {"de": "MAG-Schweißen", "en": "MAG welding"}},
        type_of_assessment={"de": "Praktische Prüfung", "en": "Practical test"},
        organisations={
            ISSUER: Agent(ISSUER, {"de": "Handwerkskammer Region Stuttgart", "en": "Stuttgart Chamber of Crafts"}, "DE")
        },
    )
    elm = european_learning_credential(OPEN_BADGES, texts)
    claim = elm["credentialSubject"]["hasClaim"]
    assert claim["title"] == claim["specifiedBy"]["title"] == texts.title
    # A translation set whose own version differs from what was signed is not used: the signed text stands.
    assert claim["specifiedBy"]["description"] == {"de": "MAG-Schweißen von Kehlnähten"}
    [outcome] = claim["specifiedBy"]["learningOutcome"]
    assert outcome["title"] == {"de": "Schweißt Kehlnähte", "en": "Welds fillet joints"}
    assert outcome["relatedESCOSkill"][0]["prefLabel"] == {"de": "MAG-Schweißen", "en": "MAG welding"}
    assert claim["provenBy"]["title"] == {"de": "Praktische Prüfung", "en": "Practical test"}
    assert elm["issuer"]["legalName"]["en"] == "Stuttgart Chamber of Crafts"
    display = elm["displayParameter"]
    assert display["title"] == texts.title and display["primaryLanguage"]["id"].endswith("/DEU")
    assert [d["language"]["notation"] for d in display["individualDisplay"]] == ["de", "en", "fr"]
    assert [lang["notation"] for lang in display["language"]] == ["de", "en", "fr"]
    page = display["individualDisplay"][1]["displayDetail"][0]
    assert page["page"] == 1 and page["image"]["contentType"]["id"].endswith("/file-type/SVG")
    assert "Welding: MAG" in base64.b64decode(page["image"]["content"]).decode()
    assert_conforms(elm, "the fixture in three languages")


def test_a_text_signed_in_a_fallback_language_keeps_the_language_it_is_in() -> None:
    # The programme has the skill's label in English only; the German credential carries that English text.
    texts = Translations(skills={SKILL: {"en": "MAG-Schweißen"}}, title={"en": "Schweißen: MAG"})
    elm = european_learning_credential(OPEN_BADGES, texts)
    [outcome] = elm["credentialSubject"]["hasClaim"]["specifiedBy"]["learningOutcome"]
    assert outcome["relatedESCOSkill"][0]["prefLabel"] == {"en": "MAG-Schweißen"}
    display = elm["displayParameter"]
    assert display["title"] == {"en": "Schweißen: MAG"} and display["primaryLanguage"]["notation"] == "de"
    assert [d["language"]["notation"] for d in display["individualDisplay"]] == ["de", "en"]
    assert_conforms(elm, "a credential whose title was signed in a fallback language")


def test_a_chambers_approval_is_assured_by_the_co_signing_chamber_and_a_named_qa_body_comes_first() -> None:
    chamber = "did:web:guildhall.example:organisations:c0ffee00-0000-4000-8000-000000000001"
    document = {**OPEN_BADGES, "termsOfUse": [{"type": "CoSignaturePolicy", "requiredSigner": [chamber]}]}
    texts = Translations(organisations={chamber: Agent(chamber, {"de": "IHK", "en": "Chamber"}, "AT")})
    [qa] = european_learning_credential(document, texts)["credentialSubject"]["hasClaim"]["specifiedBy"][
        "accreditation"
    ]
    assert qa["accreditingAgent"]["id"] == chamber and qa["accreditingAgent"]["legalName"] == {
        "de": "IHK",
        "en": "Chamber",
    }
    assert qa["accreditingAgent"]["location"][0]["address"]["countryCode"]["notation"] == "AUT"
    body = Agent("did:web:guildhall.example:organisations:qa", {"en": "QA Agency"}, "NL")
    elm = european_learning_credential(document, Translations(quality_assurance_body=body))
    [qa] = elm["credentialSubject"]["hasClaim"]["specifiedBy"]["accreditation"]
    assert qa["accreditingAgent"]["legalName"] == {"en": "QA Agency"}
    assert_conforms(elm, "programme quality assurance by a named QA body")


def test_the_export_is_an_unsigned_european_digital_credential_about_a_person() -> None:
    elm = european_learning_credential(OPEN_BADGES)
    assert elm["@context"] == ["https://www.w3.org/2018/credentials/v1", ELM_CONTEXT]
    assert elm["type"] == ["VerifiableCredential", "EuropeanDigitalCredential"]
    assert elm["id"] == OPEN_BADGES["id"] and "proof" not in elm
    assert elm["issuanceDate"] == elm["issued"] == elm["validFrom"] == "2026-11-20T12:00:00Z"
    assert elm["expirationDate"] == elm["validUntil"] == "2029-11-20T12:00:00Z"
    assert elm["credentialStatus"] == {  # a URI literal, as the EDC shapes want (xsd:anyURI)
        "@value": "https://guildhall.example/status-lists/1#7",
        "@type": "http://www.w3.org/2001/XMLSchema#anyURI",
    }
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
    assert qa["type"] == "Accreditation" and qa["title"] == {"en": "approval by a chamber"}
    assert qa["dcType"]["id"] == "http://data.europa.eu/snb/accreditation/820101cba6"  # programme QA
    assert qa["dcType"]["inScheme"]["id"] == "http://data.europa.eu/snb/accreditation/25831c2"
    assert qa["accreditingAgent"]["id"] == ISSUER  # no QA body named: the awarding body assures it itself
    assert qa["description"] == {"de": "Von der Kammer genehmigt"} and "limitQualification" not in qa
    notes = {n["subject"]["prefLabel"]["en"]: n["noteLiteral"] for n in spec["additionalNote"]}
    assert notes == {"stackability": {"en": "integrated"}, "further information": {"de": "https://hwk.example/mag"}}


def test_the_assessment_and_the_awarding_body() -> None:
    claim = european_learning_credential(OPEN_BADGES)["credentialSubject"]["hasClaim"]
    assessment = claim["provenBy"]
    assert assessment["type"] == "LearningAssessment"
    assert assessment["specifiedBy"]["dcType"]["prefLabel"] == {"de": "Praktische Prüfung"}
    assert assessment["grade"]["type"] == "Note"
    assert assessment["grade"]["noteLiteral"] == {"en": "Completed; MAG: total score 82"}
    assert assessment["idVerification"]["id"] == "http://data.europa.eu/snb/supervision-verification/c598449d64"
    assert assessment["dateIssued"] == "2026-11-19T15:00:00Z"
    assert [a["id"] for a in assessment["assessedBy"]] == [PROVIDER]
    assert assessment["assessedBy"][0]["location"][0]["address"]["countryCode"]["id"].endswith("/country/AUT")
    body = claim["awardedBy"]["awardingBody"]
    assert (
        claim["awardedBy"]["type"] == "AwardingProcess" and claim["awardedBy"]["awardingDate"] == "2026-11-20T12:00:00Z"
    )
    assert body["id"] == ISSUER and body["type"] == "Organisation"
    assert body["legalName"] == {"de": "Handwerkskammer Region Stuttgart"}
    [location] = body["location"]
    assert location["address"]["countryCode"]["id"] == "http://publications.europa.eu/resource/authority/country/DEU"
    assert location["spatialCode"]["notation"] == "DE-BW"
    legal = body["eIDASIdentifier"]
    assert (legal["type"], legal["notation"], legal["spatial"]["notation"]) == ("LegalIdentifier", "HRB 1234", "DEU")
    assert body["homepage"][0]["contentURL"] == "https://hwk.example"
    assert body["identifier"][0] == {**body["identifier"][0], "notation": "HRB 1234", "schemeName": "trade-register"}
    [accreditation] = body["accreditation"]
    assert accreditation["accreditingAgent"]["legalName"] == {"de": "DAkkS"} and accreditation["title"] == {
        "de": "ISO 9001"
    }
    assert accreditation["dcType"]["id"] == "http://data.europa.eu/snb/accreditation/bb4618238e"  # institutional QA
    assert accreditation["dateIssued"] == "2025-01-01T00:00:00Z"
    # Known only by name: in the accredited organisation's country (EU national accreditation bodies).
    [agent_location] = accreditation["accreditingAgent"]["location"]
    assert agent_location["address"]["countryCode"]["notation"] == "DEU"


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
    assert {"idVerification", "dateIssued"}.isdisjoint(claim["provenBy"])
    assert claim["provenBy"]["grade"]["noteLiteral"]["en"].startswith("Awarded")
    assert claim["provenBy"]["assessedBy"][0]["id"] == ISSUER
    spec = claim["specifiedBy"]
    assert spec["type"] == "Qualification" and spec["accreditation"][0]["limitQualification"] == spec["id"]
    assert_conforms(elm, "a qualification with little in it")
    assert {"entryRequirement", "additionalNote"}.isdisjoint(spec)
    assert [lang["notation"] for lang in spec["language"]] == ["de"]
    assert spec["mode"][0]["id"] == "urn:guildhall:mode:weekends" and "inScheme" not in spec["mode"][0]


def test_of_several_status_entries_the_revocation_entry_is_the_one_uri() -> None:
    entries = [
        {
            "id": "https://guildhall.example/status-lists/2#7",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "suspension",
        },
        {
            "id": "https://guildhall.example/status-lists/1#7",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
        },
    ]
    elm = european_learning_credential({**OPEN_BADGES, "credentialStatus": entries})
    assert elm["credentialStatus"]["@value"] == "https://guildhall.example/status-lists/1#7"
    assert_conforms(elm, "a credential with two status entries")


def test_countries_map_to_the_eu_authority_table_and_others_fall_back_to_iso() -> None:
    for alpha2, alpha3 in (("DK", "DNK"), ("CH", "CHE"), ("GB", "GBR"), ("NO", "NOR"), ("gr", "GRC")):
        assert country(alpha2)["id"] == f"http://publications.europa.eu/resource/authority/country/{alpha3}"
    assert country("KE")["id"] == "http://publications.europa.eu/resource/authority/country/KEN"
    assert country("XK")["id"] == "http://publications.europa.eu/resource/authority/country/XKX"
    assert country("QQ") == {"id": "urn:iso:std:iso:3166:-1:QQ", "type": "Concept", "notation": "QQ"}


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


def nodes(value: Any) -> list[dict[str, Any]]:
    """Every JSON object with an ``id`` in a document."""
    found = []
    if isinstance(value, dict):
        if isinstance(value.get("id"), str):
            found.append(value)
        for item in value.values():
            found += nodes(item)
    elif isinstance(value, list):
        for item in value:
            found += nodes(item)
    return found


async def accredited(db: Database, room: Classroom) -> None:
    """The awarding body (the provider) accredited by the chamber, an organisation here, and by an external body
    the operator names: both appear on every credential signed afterwards."""
    for data in (
        AccreditationCreate(
            scope="Industry 4.0 automation training",
            valid_from=date(2026, 1, 1),
            reference="IHK-2026-17",
            accrediting_organisation_id=room.chamber.org_id,
        ),
        AccreditationCreate(scope="ISO 9001", valid_from=date(2025, 1, 1), accrediting_body_name="DAkkS"),
    ):
        await organisations.add_accreditation(
            db, OPERATOR, room.provider.org_id, data, acting_for=frozenset(), operator=True
        )


async def test_every_kind_of_export_passes_the_edc_shapes_in_every_language_the_programme_has(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)  # Danish and English, co-signed by the chamber
    await accredited(db, room)
    await publish_qualification(client, room)  # English only, state recognition, no co-signer
    recorded = await client.post(
        room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=room.provider.headers
    )
    assert recorded.status_code == 201, recorded.text
    await simulator_pass(client, room)
    await drain(db, settings)
    [awaiting] = [c for c in await credentials_of(client, room) if c["unitKey"] == "u1"]
    before = await client.get(f"/credentials/{awaiting['id']}/elm", headers=room.provider.headers)
    if before.status_code == 200:  # awaiting the chamber: whatever is handed out still passes the shapes
        assert_conforms(before.json(), "a unit credential awaiting its co-signature")
    await cosign_everything(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)

    issued = {(c["kind"], c["unitKey"]): c for c in await credentials_of(client, room)}
    assert sorted(issued, key=str) == sorted(
        [("programme", None), ("qualification", None), ("unit", "sim"), ("unit", "u1")], key=str
    )
    exports = {}
    for (kind, unit), credential in issued.items():
        response = await client.get(f"/credentials/{credential['id']}/elm", headers=room.provider.headers)
        assert response.status_code == 200, response.text
        what = f"the {kind} credential {unit or ''} ({'co-signed' if credential['cosignerId'] else 'not co-signed'})"
        assert_conforms(response.json(), what)
        await assert_expands_safely(response.json(), what)
        exports[kind, unit] = response.json()
    assert issued["unit", "u1"]["cosignerId"] and not issued["qualification", None]["cosignerId"]

    unit = exports["unit", "u1"]
    claim = unit["credentialSubject"]["hasClaim"]
    assert claim["title"] == {
        "da": "MIG-svejsning af stålkonstruktioner: MIG-svejsning",
        "en": "MIG welding of steel structures: MIG welding basics",
    }
    assert claim["specifiedBy"]["description"] == {
        "da": "Et kort AMU-kursus for svejsere",
        "en": "A short AMU course for welders",
    }
    titles = [o["title"] for o in claim["specifiedBy"]["learningOutcome"]]
    assert titles == [
        {"en": "Welds fillet joints with MIG", "da": "Svejser kantsømme med MIG"},
        {"en": "Works safely", "da": "Arbejder sikkert"},
    ]
    assert [d["language"]["notation"] for d in unit["displayParameter"]["individualDisplay"]] == ["da", "en"]
    assert unit["displayParameter"]["primaryLanguage"]["id"].endswith("/language/DAN")
    # The sim unit has an English title only: its title is what was signed, in Danish (with the English
    # unit title the credential fell back to), and nothing is made up for the other language.
    assert list(exports["unit", "sim"]["credentialSubject"]["hasClaim"]["title"]) == ["da"]

    [qa] = claim["specifiedBy"]["accreditation"]  # chamber approval, by the chamber the programme names
    chamber_did = issued["unit", "u1"]["credential"]["termsOfUse"][0]["requiredSigner"][0]
    assert qa["dcType"]["id"] == "http://data.europa.eu/snb/accreditation/820101cba6"
    assert qa["accreditingAgent"]["id"] == chamber_did
    assert qa["accreditingAgent"]["legalName"] == {"en": "IHK Region Stuttgart"}
    by_scope = {a["title"]["da"]: a for a in claim["awardedBy"]["awardingBody"]["accreditation"]}
    by_chamber, by_dakks = by_scope["Industry 4.0 automation training"], by_scope["ISO 9001"]
    assert by_chamber["accreditingAgent"]["id"] == chamber_did
    assert by_dakks["accreditingAgent"]["legalName"] == {"da": "DAkkS"}
    assert by_dakks["accreditingAgent"]["location"][0]["address"]["countryCode"]["notation"] == "DEU"
    # Each node id names one thing: the same id never carries two different descriptions.
    seen: dict[str, Any] = {}
    for node in nodes(unit):
        if len(node) > 2 and not node["id"].startswith("http"):  # EU vocabulary concepts are shared by design
            assert seen.setdefault(node["id"], node) == node, node["id"]

    programme = exports["programme", None]["credentialSubject"]["hasClaim"]
    assert programme["provenBy"]["grade"]["noteLiteral"] == {"en": "Passed: every core unit of the programme"}
    assert programme["title"] == {"da": "MIG-svejsning af stålkonstruktioner", "en": "MIG welding of steel structures"}
    qualification = exports["qualification", None]["credentialSubject"]["hasClaim"]
    assert qualification["specifiedBy"]["type"] == "Qualification"
    [licensing] = qualification["specifiedBy"]["accreditation"]
    assert licensing["dcType"]["id"] == "http://data.europa.eu/snb/accreditation/e57dddfcf3"  # state recognition
    assert qualification["provenBy"]["grade"]["noteLiteral"]["en"].startswith("Awarded")
    assert [o["title"] for o in qualification["specifiedBy"]["learningOutcome"]] == titles


async def test_the_learners_own_download_passes_the_edc_shapes(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, me = await passed_and_claimed(client, bootstrap, db, settings)
    await cosign_all(client, room)
    [listed] = await mine(client, me)
    response = await client.get(f"/me/credentials/{listed['id']}/elm", headers=me)
    assert response.status_code == 200, response.text
    assert_conforms(response.json(), "the learner's download")
    await assert_expands_safely(response.json(), "the learner's download")
    assert set(response.json()["credentialSubject"]["hasClaim"]["title"]) == {"da", "en"}
