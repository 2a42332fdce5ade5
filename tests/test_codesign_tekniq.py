"""The TEKNIQ case end to end: an employers' association drafts a welding programme with a union and
a chamber, through proposal, requested changes and approvals, to the public register and a second
version compared with the first."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.db import Database
from tests.conftest import Bootstrap, Integrator

WELDER = "http://data.europa.eu/esco/occupation/0d8c7f2a-3c6e-4c58-9f61-1b2a3c4d5e6f"
SKILL = "http://data.europa.eu/esco/skill/"
MIG_WELDING = SKILL + "1a2b3c4d-0000-4000-8000-000000000001"
WELD_INSPECTION = SKILL + "1a2b3c4d-0000-4000-8000-000000000002"
SAFETY = SKILL + "1a2b3c4d-0000-4000-8000-000000000003"
BLUEPRINTS = SKILL + "1a2b3c4d-0000-4000-8000-000000000004"

RUBRIC = {
    "type": "rubric",
    "levels": [
        {"key": "l1", "name": "Poor", "points": 1},
        {"key": "l2", "name": "Fair", "points": 2},
        {"key": "l3", "name": "Good", "points": 3},
        {"key": "l4", "name": "Excellent", "points": 4},
    ],
}
ASSESSMENT = {
    "mode": "performance_standard",
    "cutScore": 60,
    "supervision": "supervised_identity_check_onsite",
    "maxAttempts": 3,
    "criteria": [
        {"key": "bead", "title": "Weld bead geometry", "scale": RUBRIC, "weight": 2, "minimum": "l3"},
        {"key": "penetration", "title": "Root penetration", "scale": RUBRIC, "weight": 2},
        {"key": "safety", "title": "Safe working", "scale": {"type": "numeric", "min": 0, "max": 10}, "weight": 1},
    ],
}


async def welder_profile(client: AsyncTestClient[Litestar], author: Integrator) -> str:
    response = await client.post(
        "/occupational-profiles",
        headers=author.headers,
        json={
            "title": {"en": "Welder", "da": "Svejser"},
            "defaultLanguage": "en",
            "escoOccupationUri": WELDER,
            "iscoCode": "7212",
            "competences": [
                {"escoSkillUri": MIG_WELDING, "title": {"en": "use MIG welding"}, "relation": "essential"},
                {"escoSkillUri": WELD_INSPECTION, "title": {"en": "inspect welds"}, "relation": "essential"},
                {"escoSkillUri": SAFETY, "title": {"en": "follow welding safety rules"}, "relation": "essential"},
                {"escoSkillUri": BLUEPRINTS, "title": {"en": "read blueprints"}, "relation": "optional"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    profile_version_id: str = response.json()["id"]
    return profile_version_id


def programme_content(profile_version_id: str, awarding_body: str, cosigner: str, provider: str) -> dict[str, Any]:
    """A complete programme but for its EQF level, which the test adds later."""
    return {
        "title": {"en": "MIG welding of steel structures", "da": "MIG-svejsning af stålkonstruktioner"},
        "description": {"en": "A short AMU course for welders", "da": "Et kort AMU-kursus for svejsere"},
        "defaultLanguage": "da",
        "profileVersionId": profile_version_id,
        "awardingBodyId": awarding_body,
        "providerIds": [provider],
        "typeOfAssessment": {"en": "Practical welding test against a performance standard"},
        "formOfParticipation": "onsite",
        "qualityAssurance": {"type": "chamber_approval", "bodyId": cosigner},
        "languages": ["da", "en"],
        "validityMonths": 36,
        "cosignerId": cosigner,
        "supervision": "supervised_identity_check_onsite",
        "units": [
            {
                "key": "u1",
                "kind": "core",
                "title": {"en": "MIG welding basics", "da": "MIG-svejsning"},
                "workloadHours": 37,
                "ectsCredits": 1.5,
                "eqfLevel": 4,
                "learningOutcomes": [
                    {
                        "key": "lo1",
                        "text": {"en": "Welds fillet joints with MIG", "da": "Svejser kantsømme med MIG"},
                        "competences": [MIG_WELDING],
                    },
                    {"key": "lo2", "text": {"en": "Works safely", "da": "Arbejder sikkert"}, "competences": [SAFETY]},
                ],
                "assessment": ASSESSMENT,
            }
        ],
    }


async def test_tekniq_welding_programme_from_draft_to_register(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    tekniq = await bootstrap.integrator(["programmes:write"], name="TEKNIQ Arbejdsgiverne", kind="employer_association")
    union = await bootstrap.integrator(["programmes:write"], name="Dansk Metal", kind="social_partner")
    chamber = await bootstrap.integrator(["programmes:write"], name="Danish Chamber", kind="chamber")
    provider = await bootstrap.integrator(["programmes:write"], name="AMU Syd", kind="vet_provider")
    outsider = await bootstrap.integrator(["programmes:read"], name="Some Employer", kind="employer")
    profile = await welder_profile(client, tekniq)

    # TEKNIQ drafts, with everything but the EQF level.
    content = programme_content(profile, str(tekniq.org_id), str(chamber.org_id), str(provider.org_id))
    created = await client.post("/programmes", json={"content": content}, headers=tekniq.headers)
    assert created.status_code == 201, created.text
    programme = created.json()
    pid, v1 = programme["designId"], f"/programmes/{programme['designId']}/versions/1"
    assert programme["status"] == "draft" and created.headers["etag"] == '"v1"'

    # The union and the chamber co-author; the provider delivers.
    for org, roles in ((union, ["author", "approver"]), (chamber, ["approver", "cosigner"]), (provider, ["author"])):
        added = await client.put(
            f"/programmes/{pid}/coauthors/{org.org_id}", json={"roles": roles}, headers=tekniq.headers
        )
        assert added.status_code == 200, added.text
    assert (
        await client.put(
            f"/programmes/{pid}/coauthors/{outsider.org_id}", json={"roles": ["author"]}, headers=union.headers
        )
    ).status_code == 403  # only the lead chooses co-authors

    # The union adds a learning outcome; TEKNIQ's edit from the same revision is stale.
    union_edit = {
        **content,
        "units": [
            {
                **content["units"][0],
                "learningOutcomes": [
                    *content["units"][0]["learningOutcomes"],
                    {
                        "key": "lo3",
                        "text": {"en": "Inspects own welds", "da": "Kontrollerer egne svejsninger"},
                        "competences": [WELD_INSPECTION],
                    },
                ],
            }
        ],
    }
    saved = await client.put(f"{v1}/content", json=union_edit, headers={**union.headers, "If-Match": '"v1"'})
    assert saved.status_code == 200, saved.text
    assert saved.headers["etag"] == '"v2"'
    stale = await client.put(
        f"{v1}/content", json={**content, "validityMonths": 24}, headers={**tekniq.headers, "If-Match": '"v1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["currentRevision"] == 2
    assert (await client.get(v1, headers=tekniq.headers)).json()["content"]["validityMonths"] == 36

    comment = await client.post(
        f"{v1}/comments",
        headers=union.headers,
        json={"target": "outcome:u1/lo3", "body": "Should this cover visual inspection only?"},
    )
    assert comment.status_code == 201, comment.text

    # Proposal is refused while the EQF level is missing.
    refused = await client.post(f"{v1}/proposal", headers={**tekniq.headers, "If-Match": '"v2"'})
    assert refused.status_code == 422
    problem = refused.json()
    assert [g["element"] for g in problem["gaps"]] == ["(8) level (EQF)"]
    assert "EQF level" in problem["detail"]

    fixed = await client.put(
        f"{v1}/content", json={**union_edit, "eqfLevel": 4}, headers={**tekniq.headers, "If-Match": '"v2"'}
    )
    assert fixed.status_code == 200 and fixed.headers["etag"] == '"v3"'
    proposed = await client.post(f"{v1}/proposal", headers={**tekniq.headers, "If-Match": '"v3"'})
    assert proposed.status_code == 200, proposed.text
    assert proposed.json()["status"] == "proposed"
    assert sorted(proposed.json()["awaitingApprovalFrom"]) == sorted([str(union.org_id), str(chamber.org_id)])
    frozen = await client.put(f"{v1}/content", json=union_edit, headers={**union.headers, "If-Match": '"v4"'})
    assert frozen.status_code == 409

    # The union requests changes: back to draft. Then TEKNIQ proposes again and both approve.
    no_reason = await client.post(f"{v1}/decisions", json={"decision": "request_changes"}, headers=union.headers)
    assert no_reason.status_code == 422
    changes = await client.post(
        f"{v1}/decisions",
        headers=union.headers,
        json={"decision": "request_changes", "reason": "Add visual inspection to lo3"},
    )
    assert changes.status_code == 200 and changes.json()["status"] == "draft"
    assert (
        await client.post(f"{v1}/decisions", json={"decision": "approve"}, headers=provider.headers)
    ).status_code in (403, 409)
    revision = changes.json()["revision"]
    reproposed = await client.post(f"{v1}/proposal", headers={**tekniq.headers, "If-Match": f'"v{revision}"'})
    assert reproposed.status_code == 200, reproposed.text
    assert (
        await client.post(f"{v1}/decisions", json={"decision": "approve"}, headers=provider.headers)
    ).status_code == 403  # an author, not an approver
    first = await client.post(f"{v1}/decisions", json={"decision": "approve"}, headers=union.headers)
    assert first.json()["status"] == "proposed"
    assert (
        await client.post(f"{v1}/decisions", json={"decision": "approve"}, headers=union.headers)
    ).status_code == 409  # decided already
    last = await client.post(f"{v1}/decisions", json={"decision": "approve"}, headers=chamber.headers)
    assert last.status_code == 200 and last.json()["status"] == "published"

    # Found in the public register, without a token.
    for params in (
        {"q": "svejsning", "lang": "da"},
        {"q": "welding", "lang": "en"},
        {"occupation": WELDER},
        {"isco": "7212", "eqfLevel": 4},
        {"country": "DK", "language": "da"},
        {"provider": str(provider.org_id)},
        {"qualityAssurance": "chamber_approval"},
    ):
        found = await client.get("/register/programmes", params=params)
        assert found.status_code == 200, (params, found.text)
        assert [e["designId"] for e in found.json()["items"]] == [pid], params
    assert (await client.get("/register/programmes", params={"q": "plumbing"})).json()["items"] == []
    view = (await client.get(f"/register/programmes/{pid}")).json()
    assert view["version"]["number"] == 1 and view["publishedVersions"] == [1]
    assert {a["organisationId"] for a in view["version"]["approvals"]} == {str(union.org_id), str(chamber.org_id)}
    assert view["awardingBody"]["name"]["en"] == "TEKNIQ Arbejdsgiverne"
    assert view["coverage"]["essentialNotCovered"] == []
    assert [c["key"] for c in view["coverage"]["optionalNotCovered"]] == [BLUEPRINTS]

    # A second version starts from the first; the first stays readable and unchangeable.
    drafted = await client.post(f"/programmes/{pid}/versions", json={}, headers=union.headers)
    assert drafted.status_code == 201, drafted.text
    v2 = f"/programmes/{pid}/versions/2"
    assert drafted.json()["basedOnNumber"] == 1
    second = {**union_edit, "eqfLevel": 4, "validityMonths": 24}
    assert (
        await client.put(f"{v2}/content", json=second, headers={**union.headers, "If-Match": '"v1"'})
    ).status_code == 200
    comparison = await client.get(f"/programmes/{pid}/compare", params={"from": 1, "to": 2}, headers=tekniq.headers)
    assert comparison.status_code == 200
    assert comparison.json()["changes"] == [{"op": "change", "path": "validityMonths", "before": 36, "after": 24}]
    history = (await client.get(f"{v1}/changes", headers=tekniq.headers)).json()["changes"]
    assert [h["revision"] for h in history] == [1, 2, 3]
    assert any(c["path"] == "units[u1].learningOutcomes[lo3]" and c["op"] == "add" for c in history[1]["changes"])

    # Outsiders see the published version but not the draft.
    assert (await client.get(v1, headers=outsider.headers)).status_code == 200
    assert (await client.get(v2, headers=outsider.headers)).status_code == 404
    assert [
        v["number"] for v in (await client.get(f"/programmes/{pid}", headers=outsider.headers)).json()["versions"]
    ] == [1]


async def test_published_versions_cannot_change_by_any_route(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    lead = await bootstrap.integrator(["programmes:write"], name="Lead", kind="employer_association")
    chamber = await bootstrap.integrator(["programmes:write"], name="Chamber", kind="chamber")
    profile = await welder_profile(client, lead)
    content = {**programme_content(profile, str(lead.org_id), str(chamber.org_id), str(lead.org_id)), "eqfLevel": 4}
    pid = (await client.post("/programmes", json={"content": content}, headers=lead.headers)).json()["designId"]
    await client.put(
        f"/programmes/{pid}/coauthors/{chamber.org_id}", json={"roles": ["approver", "cosigner"]}, headers=lead.headers
    )
    v1 = f"/programmes/{pid}/versions/1"
    assert (await client.post(f"{v1}/proposal", headers={**lead.headers, "If-Match": '"v1"'})).status_code == 200
    published = await client.post(f"{v1}/decisions", json={"decision": "approve"}, headers=chamber.headers)
    assert published.json()["status"] == "published"
    revision = published.json()["revision"]

    attempts = [
        client.put(f"{v1}/content", json=content, headers={**lead.headers, "If-Match": f'"v{revision}"'}),
        client.post(f"{v1}/proposal", headers={**lead.headers, "If-Match": f'"v{revision}"'}),
        client.post(f"{v1}/decisions", json={"decision": "request_changes", "reason": "x"}, headers=chamber.headers),
        client.post(f"{v1}/comments", json={"body": "late"}, headers=lead.headers),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 409, response.text
    async with db.transaction() as conn:
        try:
            await conn.execute("UPDATE design_versions SET content = '{}' WHERE design_id = $1", pid)
        except Exception as exc:  # the database itself refuses
            assert "published and cannot change" in str(exc)
        else:
            raise AssertionError("the database let a published version change")
    assert (await client.get(v1, headers=lead.headers)).json()["content"]["eqfLevel"] == 4


async def test_a_unit_assessment_specification_is_checked_when_saved(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    lead = await bootstrap.integrator(["programmes:write"], name="Lead", kind="employer_association")
    profile = await welder_profile(client, lead)
    content = programme_content(profile, str(lead.org_id), str(lead.org_id), str(lead.org_id))
    unit = content["units"][0]
    broken = {**ASSESSMENT, "criteria": [{**ASSESSMENT["criteria"][0], "minimum": "l9"}]}  # type: ignore[dict-item]
    response = await client.post(
        "/programmes", headers=lead.headers, json={"content": {**content, "units": [{**unit, "assessment": broken}]}}
    )
    assert response.status_code == 422
    assert "unit 'u1' assessment: criteria[bead].minimum" in response.json()["detail"]
    unknown_outcome = {"mode": "outcome_based", "outcomes": [{"key": "lo9"}]}
    response = await client.post(
        "/programmes",
        headers=lead.headers,
        json={"content": {**content, "units": [{**unit, "assessment": unknown_outcome}]}},
    )
    assert response.status_code == 422
    assert "outcome 'lo9' is not a learning outcome of the unit" in response.json()["detail"]


async def test_a_body_must_have_the_json_types_the_document_gives(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    # Found by schemathesis: Litestar reads bodies in msgspec's lax mode, so 0 passed for a boolean and "4" for
    # an integer; the document says boolean and integer, and such a body is now refused with the reason.
    lead = await bootstrap.integrator(["programmes:write"], name="Lead", kind="employer_association")
    profile = await welder_profile(client, lead)
    content = programme_content(profile, str(lead.org_id), str(lead.org_id), str(lead.org_id))
    unit = content["units"][0]
    cases = [
        (
            {**content, "units": [{**unit, "certifiableAlone": 0}]},
            "content.units[0].certifiableAlone",
            "Expected `bool`, got `int`",
        ),
        ({**content, "eqfLevel": "4"}, "content.eqfLevel", "Expected `int | null`, got `str`"),
        ({**content, "validityMonths": 12.0}, "content.validityMonths", "Expected `int | null`, got `float`"),
    ]
    for body, name, reason in cases:
        response = await client.post("/programmes", headers=lead.headers, json={"content": body})
        assert response.status_code == 400, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["invalidParams"] == [{"name": name, "reason": reason}]
    assert (await client.get("/programmes", headers=lead.headers)).json()["items"] == []
    created = await client.post("/programmes", headers=lead.headers, json={"content": {**content, "eqfLevel": 4}})
    assert created.status_code == 201, created.text
