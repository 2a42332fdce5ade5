"""Occupational profiles through HTTP: written by hand or imported from ESCO's CSV files, versioned
with If-Match, read and searched by anyone without a token."""

from __future__ import annotations

import copy
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.db import Database
from domain.profiles import esco
from tests.conftest import Bootstrap, Integrator

Client = AsyncTestClient[Litestar]

WELDER = esco.SAMPLE_OCCUPATIONS["welder"]
PIPE_FITTER = esco.SAMPLE_OCCUPATIONS["pipe fitter"]
AUTOMATION = esco.SAMPLE_OCCUPATIONS["industrial automation technician"]
FILLET_WELDS = "http://data.europa.eu/esco/skill/4f1c2a8e-93b7-4d0e-8a55-6c1e2b7d9f30"
WELD_SAFETY = "http://data.europa.eu/esco/skill/9a7e5c13-2b64-4f88-b1d2-0e3f6a4c8d71"

AMU_WELDER: dict[str, Any] = {
    "title": {"da": "Svejser, plade (AMU)", "en": "Plate welder (AMU)"},
    "defaultLanguage": "da",
    "escoOccupationUri": WELDER,
    "iscoCode": "7212",
    "description": {"da": "Svejser stålplader med MAG og MMA.", "en": "Welds steel plate with MAG and MMA."},
    "competences": [
        {
            "escoSkillUri": FILLET_WELDS,
            "title": {"da": "Kantsømme i plade", "en": "Fillet welds"},
            "relation": "essential",
        },
        {"escoSkillUri": WELD_SAFETY, "title": {"da": "Sikkerhed ved svejsning"}, "relation": "essential"},
        {"key": "amu-40141", "title": {"da": "Tegningslæsning for svejsere"}, "relation": "optional"},
    ],
}


def profile(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(AMU_WELDER)
    body.update(changes)
    return body


async def author(bootstrap: Bootstrap, name: str = "TEKNIQ Arbejdsgiverne") -> Integrator:
    return await bootstrap.integrator(["programmes:write"], name=name, kind="employer_association")


def sample_files(relations: str | None = None) -> dict[str, tuple[str, bytes, str]]:
    def read(name: str) -> bytes:
        return (esco.SAMPLE_DIR / name).read_bytes()

    return {
        "occupations": ("occupations_en.csv", read("occupations_en.csv"), "text/csv"),
        "skills": ("skills_en.csv", read("skills_en.csv"), "text/csv"),
        "relations": (
            "occupationSkillRelations_en.csv",
            relations.encode() if relations is not None else read("occupationSkillRelations_en.csv"),
            "text/csv",
        ),
    }


async def import_sample(client: Client, who: Integrator, occupations: list[str], relations: str | None = None) -> Any:
    return await client.post(
        "/occupational-profiles/import",
        files=sample_files(relations),
        data={"occupation": occupations},
        headers=who.headers,
    )


async def test_a_profile_written_by_hand_is_read_by_anyone_without_a_token(
    client: Client, bootstrap: Bootstrap, db: Database
) -> None:
    tekniq = await author(bootstrap)
    created = await client.post("/occupational-profiles", json=AMU_WELDER, headers=tekniq.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["etag"] == '"v1"'
    assert created.headers["location"] == f"/occupational-profiles/{body['profileId']}"
    assert body["number"] == 1 and body["title"] == AMU_WELDER["title"] and body["defaultLanguage"] == "da"
    assert body["escoOccupationUri"] == WELDER and body["iscoCode"] == "7212"
    assert body["description"] == AMU_WELDER["description"]
    assert body["competences"] == [
        {
            "key": FILLET_WELDS,
            "escoSkillUri": FILLET_WELDS,
            "title": {"da": "Kantsømme i plade", "en": "Fillet welds"},
            "relation": "essential",
        },
        {
            "key": WELD_SAFETY,
            "escoSkillUri": WELD_SAFETY,
            "title": {"da": "Sikkerhed ved svejsning"},
            "relation": "essential",
        },
        {
            "key": "amu-40141",
            "escoSkillUri": None,
            "title": {"da": "Tegningslæsning for svejsere"},
            "relation": "optional",
        },
    ]

    for url in (
        f"/occupational-profiles/{body['profileId']}",
        f"/occupational-profiles/{body['profileId']}/versions/1",
        f"/occupational-profile-versions/{body['id']}",
    ):
        read = await client.get(url)
        assert read.status_code == 200, (url, read.text)
        assert read.json() == body and read.headers["etag"] == '"v1"'

    async with db.connection() as conn:
        audit = await conn.fetchrow(
            "SELECT organisation_id, action, target_id FROM audit_log WHERE target_type = 'occupational_profile'"
        )
        created_by = await conn.fetchval("SELECT created_by FROM occupational_profiles")
    assert dict(audit) == {
        "organisation_id": tekniq.org_id,
        "action": "occupational_profile.created",
        "target_id": body["profileId"],
    }
    assert created_by == tekniq.org_id


async def test_unknown_profiles_and_versions_are_404(client: Client, bootstrap: Bootstrap) -> None:
    tekniq = await author(bootstrap)
    created = (await client.post("/occupational-profiles", json=AMU_WELDER, headers=tekniq.headers)).json()
    missing = "0b5b7c39-8f0e-4a77-9d6f-1f2e3a4b5c6d"
    cases = {
        f"/occupational-profiles/{missing}": f"there is no occupational profile {missing}",
        f"/occupational-profiles/{missing}/versions/1": f"there is no occupational profile {missing}",
        f"/occupational-profiles/{created['profileId']}/versions/2": (
            f"occupational profile {created['profileId']} has no version 2"
        ),
        f"/occupational-profile-versions/{missing}": f"there is no occupational profile version {missing}",
    }
    for url, detail in cases.items():
        response = await client.get(url)
        assert response.status_code == 404, url
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"] == detail


async def test_a_version_number_beyond_any_version_is_refused_not_a_server_error(
    client: Client, bootstrap: Bootstrap
) -> None:
    # Found by schemathesis: version numbers are PostgreSQL integers, and a larger one broke the query (500).
    tekniq = await author(bootstrap)
    created = (await client.post("/occupational-profiles", json=AMU_WELDER, headers=tekniq.headers)).json()
    for number in (2**31, 2_199_023_255_551, 0):
        response = await client.get(f"/occupational-profiles/{created['profileId']}/versions/{number}")
        assert response.status_code == 400, (number, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["invalidParams"][0]["name"] == "number"
    largest = await client.get(f"/occupational-profiles/{created['profileId']}/versions/{2**31 - 1}")
    assert largest.status_code == 404
    document = (await client.get("/schema/openapi.json")).json()
    operation = document["paths"]["/occupational-profiles/{profile_id}/versions/{number}"]["get"]
    number_schema = next(p["schema"] for p in operation["parameters"] if p["name"] == "number")
    assert (number_schema["minimum"], number_schema["maximum"]) == (1, 2**31 - 1)


async def test_a_new_version_needs_the_etag_of_the_latest(client: Client, bootstrap: Bootstrap) -> None:
    tekniq = await author(bootstrap)
    first = (await client.post("/occupational-profiles", json=AMU_WELDER, headers=tekniq.headers)).json()
    versions = f"/occupational-profiles/{first['profileId']}/versions"
    revised = profile(title={"da": "Pladesvejser (AMU)", "en": "Plate welder (AMU)"})

    missing = await client.post(versions, json=revised, headers=tekniq.headers)
    assert missing.status_code == 428 and "If-Match" in missing.json()["detail"]

    second = await client.post(versions, json=revised, headers={**tekniq.headers, "If-Match": '"v1"'})
    assert second.status_code == 201, second.text
    assert second.headers["etag"] == '"v2"' and second.headers["location"] == f"{versions}/2"
    body = second.json()
    assert body["number"] == 2 and body["profileId"] == first["profileId"] and body["id"] != first["id"]
    assert body["title"]["da"] == "Pladesvejser (AMU)"

    stale = await client.post(versions, json=revised, headers={**tekniq.headers, "If-Match": '"v1"'})
    assert stale.status_code == 412
    assert stale.json()["detail"].startswith(f"occupational profile {first['profileId']} is at version 2, not 1")
    assert stale.json()["currentVersion"] == 2
    garbage = await client.post(versions, json=revised, headers={**tekniq.headers, "If-Match": "yesterday's"})
    assert garbage.status_code == 412

    latest = await client.get(f"/occupational-profiles/{first['profileId']}")
    assert latest.json() == body and latest.headers["etag"] == '"v2"'
    assert (await client.get(f"{versions}/1")).json() == first  # earlier versions stay as they were
    assert (await client.get(f"/occupational-profile-versions/{first['id']}")).json() == first

    unknown = await client.post(
        "/occupational-profiles/0b5b7c39-8f0e-4a77-9d6f-1f2e3a4b5c6d/versions",
        json=revised,
        headers={**tekniq.headers, "If-Match": '"v1"'},
    )
    assert unknown.status_code == 404


async def test_invalid_profiles_are_refused_with_the_reason(client: Client, bootstrap: Bootstrap) -> None:
    tekniq = await author(bootstrap)
    essential = AMU_WELDER["competences"][0]
    slug_competence = AMU_WELDER["competences"][2]
    cases: list[tuple[dict[str, Any], int, str]] = [
        (
            {"competences": [essential, {**essential, "title": {"da": "Igen"}}]},
            422,
            f"competences[1] repeats the key '{FILLET_WELDS}' of competences[0]",
        ),
        (
            {"competences": [slug_competence, slug_competence]},
            422,
            "competences[1] repeats the key 'amu-40141' of competences[0]",
        ),
        (
            {"competences": [{**slug_competence, "key": "Tegning læsning"}]},
            422,
            "competences[0].key 'Tegning læsning' is not a valid key: without an escoSkillUri, use lower-case letters",
        ),
        (
            {"competences": [{"title": {"da": "Uden nøgle"}, "relation": "optional"}]},
            422,
            "competences[0] needs an escoSkillUri, or a key such as 'weld-inspection'",
        ),
        (
            {"competences": [{**essential, "key": "fillet-welds"}]},
            422,
            "competences[0].key must be its escoSkillUri (or be left out), not 'fillet-welds'",
        ),
        (
            {"competences": [{**essential, "title": {"en": "Fillet welds"}}]},
            422,
            "competences[0].title has no text in the default language 'da'",
        ),
        ({"title": {"en": "Plate welder"}}, 422, "title has no text in the default language 'da'"),
        ({"description": {"en": "Welds."}}, 422, "description has no text in the default language 'da'"),
        (
            {"competences": [{**essential, "escoSkillUri": "http://data.europa.eu/esco/skill/fillet-welds"}]},
            400,
            "competences[0].escoSkillUri",
        ),
        ({"escoOccupationUri": "https://esco.ec.europa.eu/en/classification/occupation"}, 400, "escoOccupationUri"),
        ({"iscoCode": "721"}, 400, "iscoCode"),
        ({"iscoCode": "72120"}, 400, "iscoCode"),
        ({"competences": []}, 400, "competences"),
        ({"competences": [{**essential, "relation": "nice-to-have"}]}, 400, "relation"),
        ({"competence": []}, 400, "competence"),
    ]
    for change, status, message in cases:
        response = await client.post("/occupational-profiles", json=profile(**change), headers=tekniq.headers)
        assert response.status_code == status, (change, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert message in response.json()["detail"], (change, response.json())

    several = await client.post(
        "/occupational-profiles",
        json=profile(title={"en": "Plate welder"}, competences=[slug_competence, slug_competence]),
        headers=tekniq.headers,
    )
    assert several.json()["detail"] == (
        "title has no text in the default language 'da'; competences[1] repeats the key 'amu-40141' of competences[0]"
    )
    assert (await client.get("/occupational-profiles")).json()["items"] == []


async def test_a_retried_create_with_the_same_idempotency_key_creates_one_profile(
    client: Client, bootstrap: Bootstrap
) -> None:
    tekniq = await author(bootstrap)
    headers = {**tekniq.headers, "Idempotency-Key": "amu-welder-2026"}
    first = await client.post("/occupational-profiles", json=AMU_WELDER, headers=headers)
    retry = await client.post("/occupational-profiles", json=AMU_WELDER, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry.headers["etag"] == '"v1"'
    other_body = await client.post("/occupational-profiles", json=profile(iscoCode="7214"), headers=headers)
    assert other_body.status_code == 422 and "already used for a different request" in other_body.json()["detail"]
    assert len((await client.get("/occupational-profiles")).json()["items"]) == 1


async def test_the_register_filters_by_occupation_isco_group_and_title_and_pages(
    client: Client, bootstrap: Bootstrap
) -> None:
    tekniq = await author(bootstrap)
    assert (await import_sample(client, tekniq, [WELDER, PIPE_FITTER, AUTOMATION])).status_code == 200
    amu = (await client.post("/occupational-profiles", json=AMU_WELDER, headers=tekniq.headers)).json()

    async def found(**params: Any) -> list[str]:
        response = await client.get("/occupational-profiles", params=params)
        assert response.status_code == 200, response.text
        return [item["title"].get("en") or item["title"]["da"] for item in response.json()["items"]]

    everything = ["welder", "pipe fitter", "industrial automation technician", "Plate welder (AMU)"]
    assert await found() == everything
    assert await found(occupation=WELDER) == ["welder", "Plate welder (AMU)"]
    assert await found(isco="7") == ["welder", "pipe fitter", "Plate welder (AMU)"]
    assert await found(isco="72") == ["welder", "Plate welder (AMU)"]
    assert await found(isco="7126") == ["pipe fitter"]
    assert await found(isco="3113") == ["industrial automation technician"]
    assert await found(q="WELD") == ["welder", "Plate welder (AMU)"]
    assert await found(q="pladesvejser") == []
    assert await found(q="svejser") == ["Plate welder (AMU)"]  # any language
    assert await found(q="100%") == []  # no wildcards
    assert await found(q="weld", isco="72", occupation=WELDER) == ["welder", "Plate welder (AMU)"]

    # The register shows the latest version of each profile.
    renamed = profile(title={"da": "Pladesvejser (AMU)", "en": "Plate welder, level 2"}, iscoCode="7214")
    added = await client.post(
        f"/occupational-profiles/{amu['profileId']}/versions",
        json=renamed,
        headers={**tekniq.headers, "If-Match": '"v1"'},
    )
    assert added.status_code == 201
    assert await found(q="pladesvejser") == ["Plate welder, level 2"]
    assert await found(isco="7212") == ["welder"]
    assert await found(isco="7214") == ["Plate welder, level 2"]

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/occupational-profiles", params=params)).json()
        assert len(page["items"]) <= 3
        seen += [item["profileId"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4
    assert seen[-1] == amu["profileId"]

    refused: list[tuple[dict[str, Any], int, str]] = [
        ({"isco": "72a"}, 400, "isco"),
        ({"isco": "72121"}, 400, "isco"),
        ({"occupation": "welder"}, 400, "occupation"),
        ({"limit": 0}, 400, "limit"),
        ({"cursor": "not-a-cursor"}, 422, "the cursor is not one this API returned"),
    ]
    for params, status, message in refused:
        response = await client.get("/occupational-profiles", params=params)
        assert response.status_code == status, (params, response.text)
        assert message in response.json()["detail"]


async def test_the_sample_is_imported_through_the_multipart_endpoint(client: Client, bootstrap: Bootstrap) -> None:
    tekniq = await author(bootstrap)
    response = await import_sample(client, tekniq, [WELDER, PIPE_FITTER, AUTOMATION])
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(i["escoOccupationUri"], i["outcome"]) for i in items] == [
        (WELDER, "created"),
        (PIPE_FITTER, "created"),
        (AUTOMATION, "created"),
    ]
    welder = items[0]["profile"]
    assert welder["title"] == {"en": "welder"} and welder["defaultLanguage"] == "en"
    assert welder["iscoCode"] == "7212" and welder["number"] == 1
    assert welder["description"]["en"].startswith("Welders join metal parts")
    essential = [c["title"]["en"] for c in welder["competences"] if c["relation"] == "essential"]
    optional = [c["title"]["en"] for c in welder["competences"] if c["relation"] == "optional"]
    assert len(essential) == 10 and len(optional) == 5
    assert "carry out metal active gas welding" in essential and "inspect welds for defects" in essential
    assert "carry out tungsten inert gas welding" in optional
    assert all(c["key"] == c["escoSkillUri"] for c in welder["competences"])
    assert (await client.get(f"/occupational-profile-versions/{welder['id']}")).json() == welder
    assert [i["profile"]["iscoCode"] for i in items[1:]] == ["7126", "3113"]

    again = await import_sample(client, tekniq, [WELDER, PIPE_FITTER, AUTOMATION])
    assert again.status_code == 200
    assert [i["outcome"] for i in again.json()["items"]] == ["unchanged"] * 3
    assert [i["profile"] for i in again.json()["items"]] == [i["profile"] for i in items]
    assert len((await client.get("/occupational-profiles")).json()["items"]) == 3

    # ESCO drops one optional skill of the welder: a re-import adds version 2 to the same profile.
    header, *rows = (esco.SAMPLE_DIR / "occupationSkillRelations_en.csv").read_text().splitlines()
    dropped = next(r for r in rows if r.startswith(WELDER) and ",optional," in r)
    changed = await import_sample(client, tekniq, [WELDER], "\n".join([header, *[r for r in rows if r != dropped]]))
    (item,) = changed.json()["items"]
    assert item["outcome"] == "new_version"
    assert item["profile"]["profileId"] == welder["profileId"] and item["profile"]["number"] == 2
    assert len(item["profile"]["competences"]) == 14
    assert (await client.get(f"/occupational-profiles/{welder['profileId']}")).headers["etag"] == '"v2"'


async def test_an_import_in_another_language_titles_the_profile_in_it(client: Client, bootstrap: Bootstrap) -> None:
    tekniq = await author(bootstrap)
    response = await client.post(
        "/occupational-profiles/import",
        files=sample_files(),
        data={"occupation": WELDER, "language": "da"},
        headers=tekniq.headers,
    )
    assert response.status_code == 200, response.text
    (item,) = response.json()["items"]
    assert item["profile"]["title"] == {"da": "welder"} and item["profile"]["defaultLanguage"] == "da"


async def test_an_import_with_a_broken_relations_file_names_the_bad_rows(client: Client, bootstrap: Bootstrap) -> None:
    tekniq = await author(bootstrap)
    lines = (esco.SAMPLE_DIR / "occupationSkillRelations_en.csv").read_text().splitlines()
    unknown_skill = "http://data.europa.eu/esco/skill/00000000-0000-4000-8000-000000000000"
    lines[1] = lines[1].replace(",essential,", ",mandatory,")
    lines[2] = lines[2].rsplit(",", 1)[0] + "," + unknown_skill
    missing_occupation = "http://data.europa.eu/esco/occupation/00000000-0000-4000-8000-000000000000"
    response = await import_sample(client, tekniq, [WELDER, missing_occupation], "\n".join(lines))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["problems"] == [
        {"file": "relations", "row": 2, "detail": "relationType 'mandatory' is not 'essential' or 'optional'"},
        {"file": "relations", "row": 3, "detail": f"skill {unknown_skill} is not in the skills file"},
        {"file": "occupations", "row": None, "detail": f"there is no row for occupation {missing_occupation}"},
    ]
    assert problem["detail"] == (
        "the ESCO files have 3 problems: "
        "relations row 2: relationType 'mandatory' is not 'essential' or 'optional'; "
        f"relations row 3: skill {unknown_skill} is not in the skills file; "
        f"occupations: there is no row for occupation {missing_occupation}"
    )
    assert (await client.get("/occupational-profiles")).json()["items"] == []

    not_utf8 = await client.post(
        "/occupational-profiles/import",
        files={
            **sample_files(),
            "skills": ("skills_en.csv", "conceptUri,preferredLabel\nx,Schwei\xdfen\n".encode("latin-1")),
        },
        data={"occupation": WELDER},
        headers=tekniq.headers,
    )
    assert not_utf8.status_code == 422 and "the skills file is not UTF-8 text" in not_utf8.json()["detail"]
    without_files = await client.post(
        "/occupational-profiles/import",
        files={"occupations": ("o.csv", b"")},
        data={"occupation": WELDER},
        headers=tekniq.headers,
    )
    assert without_files.status_code == 400


async def test_writes_need_a_token_with_programmes_write(client: Client, bootstrap: Bootstrap) -> None:
    writes: list[tuple[str, dict[str, Any]]] = [
        ("/occupational-profiles", {"json": AMU_WELDER}),
        ("/occupational-profiles/0b5b7c39-8f0e-4a77-9d6f-1f2e3a4b5c6d/versions", {"json": AMU_WELDER}),
        ("/occupational-profiles/import", {"files": sample_files(), "data": {"occupation": WELDER}}),
    ]
    reader = await bootstrap.integrator(["programmes:read", "organisations:write"], name="Reader")
    for url, body in writes:
        anonymous = await client.post(url, **body)
        assert anonymous.status_code == 401, url
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        refused = await client.post(url, headers=reader.headers, **body)
        assert refused.status_code == 403, url
        assert "programmes:write" in refused.json()["detail"]
    assert (await client.get("/occupational-profiles")).json()["items"] == []
