"""Qualifications: rules over published units, co-authored and approved like programmes."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Bootstrap, Integrator
from tests.test_codesign_tekniq import programme_content, welder_profile


async def published_programme(client: AsyncTestClient[Litestar], lead: Integrator, approver: Integrator) -> str:
    profile = await welder_profile(client, lead)
    content = {**programme_content(profile, str(lead.org_id), str(approver.org_id), str(lead.org_id)), "eqfLevel": 4}
    pid: str = (await client.post("/programmes", json={"content": content}, headers=lead.headers)).json()["designId"]
    await client.put(
        f"/programmes/{pid}/coauthors/{approver.org_id}", json={"roles": ["approver", "cosigner"]}, headers=lead.headers
    )
    await client.post(f"/programmes/{pid}/versions/1/proposal", headers={**lead.headers, "If-Match": '"v1"'})
    decided = await client.post(
        f"/programmes/{pid}/versions/1/decisions", json={"decision": "approve"}, headers=approver.headers
    )
    assert decided.json()["status"] == "published", decided.text
    return pid


async def test_a_qualification_stacks_published_units(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    lead = await bootstrap.integrator(["programmes:write"], name="Metal Employers", kind="employer_association")
    authority = await bootstrap.integrator(["programmes:write"], name="Ministry", kind="authority")
    pid = await published_programme(client, lead, authority)

    rule = {"allOf": [{"programmeId": pid, "unitKey": "u1"}], "minHours": 30, "minEqfLevel": 4}
    bad = await client.post(
        "/qualifications",
        headers=lead.headers,
        json={"content": {"rule": {"allOf": [{"programmeId": pid, "unitKey": "u9"}]}}},
    )
    assert bad.status_code == 422 and "has no unit 'u9'" in bad.json()["detail"]

    created = await client.post(
        "/qualifications",
        headers=lead.headers,
        json={
            "content": {
                "title": {"en": "Certified structural welder"},
                "awardingBodyId": str(lead.org_id),
                "eqfLevel": 4,
                "qualityAssurance": {"type": "state_recognition"},
                "rule": rule,
            }
        },
    )
    assert created.status_code == 201, created.text
    qid = created.json()["designId"]
    url = f"/qualifications/{qid}/versions/1"

    no_approver = await client.post(f"{url}/proposal", headers={**lead.headers, "If-Match": '"v1"'})
    assert no_approver.status_code == 422 and "approver" in no_approver.json()["detail"]

    await client.put(
        f"/qualifications/{qid}/coauthors/{authority.org_id}", json={"roles": ["approver"]}, headers=lead.headers
    )
    proposed = await client.post(f"{url}/proposal", headers={**lead.headers, "If-Match": '"v1"'})
    assert proposed.status_code == 200, proposed.text
    published = await client.post(f"{url}/decisions", json={"decision": "approve"}, headers=authority.headers)
    assert published.json()["status"] == "published"

    found = await client.get("/register/qualifications", params={"q": "welder"})
    assert [e["designId"] for e in found.json()["items"]] == [qid]
    view = await client.get(f"/register/qualifications/{qid}")
    assert view.json()["version"]["content"]["rule"]["allOf"] == [{"programmeId": pid, "unitKey": "u1"}]


async def test_nobody_approves_for_someone_else(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    lead = await bootstrap.integrator(["programmes:write"], name="Lead", kind="employer_association")
    chamber = await bootstrap.integrator(["programmes:write"], name="Chamber", kind="chamber")
    rogue = await bootstrap.integrator(["programmes:write"], name="Rogue", kind="employer")
    profile = await welder_profile(client, lead)
    content = {**programme_content(profile, str(lead.org_id), str(chamber.org_id), str(lead.org_id)), "eqfLevel": 4}
    pid = (await client.post("/programmes", json={"content": content}, headers=lead.headers)).json()["designId"]
    await client.put(
        f"/programmes/{pid}/coauthors/{chamber.org_id}", json={"roles": ["approver", "cosigner"]}, headers=lead.headers
    )
    url = f"/programmes/{pid}/versions/1"
    await client.post(f"{url}/proposal", headers={**lead.headers, "If-Match": '"v1"'})

    for attempt in (
        client.post(f"{url}/decisions", json={"decision": "approve"}, headers=rogue.headers),
        client.post(
            f"{url}/decisions", json={"decision": "approve", "actingFor": str(chamber.org_id)}, headers=rogue.headers
        ),
        client.post(
            f"{url}/decisions", json={"decision": "approve", "actingFor": str(chamber.org_id)}, headers=lead.headers
        ),
        client.post(f"{url}/decisions", json={"decision": "approve"}, headers=lead.headers),
    ):
        response = await attempt
        assert response.status_code in (403, 404), response.text
    # The rogue cannot even see the draft, its comments or its history.
    for path in (url, f"{url}/comments", f"{url}/changes"):
        assert (await client.get(path, headers=rogue.headers)).status_code == 404
    assert (await client.get(url, headers=lead.headers)).json()["status"] == "proposed"
