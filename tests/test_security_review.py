"""What the outside review found (issue 12, items 1–5 and 8), each shown through HTTP: a cross-tenant
profile write, a draft-history leak, sign-in throttling, deep JSON, the smaller holes, and error messages."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Bootstrap
from tests.oauth_flow import APP_REDIRECT_URI, person_token
from tests.scenarios import publish
from tests.test_codesign_tekniq import ASSESSMENT, programme_content, welder_profile
from tests.test_profiles import AMU_WELDER, profile

Client = AsyncTestClient[Litestar]
PASSWORD = "correct horse battery staple"


# 1. Only the owning organisation (and the operator) versions an occupational profile.


async def test_only_the_owner_and_the_operator_add_profile_versions(client: Client, bootstrap: Bootstrap) -> None:
    owner = await bootstrap.integrator(["programmes:write"], name="TEKNIQ Arbejdsgiverne")
    outsider = await bootstrap.integrator(["programmes:write"], name="Somebody Else")
    created = (await client.post("/occupational-profiles", json=AMU_WELDER, headers=owner.headers)).json()
    versions = f"/occupational-profiles/{created['profileId']}/versions"
    forged = profile(title={"da": "Forfalsket", "en": "Forged"})

    refused = await client.post(versions, json=forged, headers={**outsider.headers, "If-Match": '"v1"'})
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert f"organisation {owner.org_id}" in refused.json()["detail"]
    # A viewer of the owning organisation, signing in through an app of that organisation, may not either.
    app_id, app_secret = await bootstrap.oauth_client(
        owner.org_id,
        ["programmes:write"],
        grant_types=["authorization_code"],
        redirect_uris=[APP_REDIRECT_URI],
    )
    assert app_secret is not None
    await bootstrap.member(owner.org_id, "viewer@tekniq.example", ["viewer"], password=PASSWORD)
    viewer = await person_token(client, app_id, app_secret, "viewer@tekniq.example", PASSWORD, "programmes:write")
    as_viewer = await client.post(
        versions, json=forged, headers={"Authorization": f"Bearer {viewer}", "If-Match": '"v1"'}
    )
    assert as_viewer.status_code == 403, as_viewer.text
    assert (await client.get(f"/occupational-profiles/{created['profileId']}")).json() == created

    mine = await client.post(versions, json=profile(), headers={**owner.headers, "If-Match": '"v1"'})
    assert mine.status_code == 201, mine.text
    operator_id, operator_secret = await bootstrap.oauth_client(outsider.org_id, ["admin"])
    assert operator_secret is not None
    operator = await bootstrap.token(operator_id, operator_secret)
    by_operator = await client.post(
        versions,
        json=profile(description={"da": "Rettet af operatøren."}),
        headers={"Authorization": f"Bearer {operator}", "If-Match": '"v2"'},
    )
    assert by_operator.status_code == 201, by_operator.text


async def test_an_import_never_versions_another_organisations_profile(client: Client, bootstrap: Bootstrap) -> None:
    from tests.test_profiles import WELDER, import_sample

    owner = await bootstrap.integrator(["programmes:write"], name="TEKNIQ Arbejdsgiverne")
    outsider = await bootstrap.integrator(["programmes:write"], name="Somebody Else")
    mine = (await client.post("/occupational-profiles", json=AMU_WELDER, headers=owner.headers)).json()
    imported = await import_sample(client, outsider, [WELDER])
    assert imported.status_code == 200, imported.text
    item = imported.json()["items"][0]
    assert item["outcome"] == "created" and item["profile"]["profileId"] != mine["profileId"]
    assert (await client.get(f"/occupational-profiles/{mine['profileId']}")).json() == mine


# 2. The change log of a version, published or not, is for its co-authors.


async def test_the_change_log_is_for_coauthors_only(client: Client, bootstrap: Bootstrap) -> None:
    lead = await bootstrap.integrator(["programmes:write"], name="TEKNIQ Arbejdsgiverne")
    chamber = await bootstrap.integrator(["programmes:write"], name="Chamber", kind="chamber")
    reader = await bootstrap.integrator(["programmes:read"], name="Any Reader")
    profile_version = await welder_profile(client, lead)
    content = {
        **programme_content(profile_version, str(lead.org_id), str(chamber.org_id), str(lead.org_id)),
        "eqfLevel": 4,
        "units": [{**programme_content(profile_version, "", "", "")["units"][0], "assessment": ASSESSMENT}],
    }
    pid = await publish(client, lead, chamber, content)
    v1 = f"/programmes/{pid}/versions/1"

    assert (await client.get(v1, headers=reader.headers)).status_code == 200  # the published content is public
    hidden = await client.get(f"{v1}/changes", headers=reader.headers)
    assert hidden.status_code == 404, hidden.text
    assert hidden.headers["content-type"].startswith("application/problem+json")
    assert "co-authors" in hidden.json()["detail"]
    for coauthor in (lead, chamber):
        log = await client.get(f"{v1}/changes", headers=coauthor.headers)
        assert log.status_code == 200, log.text
        assert log.json()["number"] == 1


def _problem(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    return body
