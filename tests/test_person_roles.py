"""A person acts with the roles of their membership: scopes of the app, roles in the organisation."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Bootstrap
from tests.oauth_flow import APP_REDIRECT_URI, person_token
from tests.test_codesign_tekniq import programme_content, welder_profile

PASSWORD = "correct horse battery staple"
SCOPES = "organisations:write programmes:write"


async def test_member_roles_limit_what_a_person_may_do(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    union = await bootstrap.organisation("3F", kind="social_partner")
    other = await bootstrap.organisation("Other union", kind="social_partner")
    app_id, app_secret = await bootstrap.oauth_client(
        union.id, SCOPES.split(), grant_types=["authorization_code", "refresh_token"], redirect_uris=[APP_REDIRECT_URI]
    )
    assert app_secret is not None
    await bootstrap.member(union.id, "admin@3f.example", ["admin"], password=PASSWORD)
    await bootstrap.member(union.id, "viewer@3f.example", ["viewer"], password=PASSWORD)
    await bootstrap.member(other.id, "someone@other.example", ["admin"], password=PASSWORD)
    admin = {
        "Authorization": "Bearer "
        + await person_token(client, app_id, app_secret, "admin@3f.example", PASSWORD, SCOPES)
    }
    viewer = {
        "Authorization": "Bearer "
        + await person_token(client, app_id, app_secret, "viewer@3f.example", PASSWORD, SCOPES)
    }

    assert (await client.get(f"/organisations/{union.id}/members", headers=viewer)).status_code == 200
    change = {"website": "https://3f.example"}
    refused = await client.patch(f"/organisations/{union.id}", json=change, headers={**viewer, "If-Match": '"v1"'})
    assert refused.status_code == 403 and "you hold viewer" in refused.json()["detail"]
    allowed = await client.patch(f"/organisations/{union.id}", json=change, headers={**admin, "If-Match": '"v1"'})
    assert allowed.status_code == 200
    trail = await client.get(f"/organisations/{union.id}/audit", headers=admin)
    assert trail.json()["items"][0]["actorPersonId"] is not None
    assert (await client.get(f"/organisations/{union.id}/audit", headers=viewer)).status_code == 403
    # Membership of one organisation gives nothing in another.
    assert (await client.get(f"/organisations/{other.id}/members", headers=admin)).status_code == 403

    # On a programme the union co-authors, a viewer may read the draft but not edit it.
    lead = await bootstrap.integrator(["programmes:write"], name="Employers", kind="employer_association")
    profile = await welder_profile(client, lead)
    content = programme_content(profile, str(lead.org_id), str(lead.org_id), str(lead.org_id))
    pid = (await client.post("/programmes", json={"content": content}, headers=lead.headers)).json()["designId"]
    await client.put(f"/programmes/{pid}/coauthors/{union.id}", json={"roles": ["author"]}, headers=lead.headers)
    url = f"/programmes/{pid}/versions/1"
    assert (await client.get(url, headers=viewer)).status_code == 200
    edit = {**content, "validityMonths": 12}
    by_viewer = await client.put(f"{url}/content", json=edit, headers={**viewer, "If-Match": '"v1"'})
    assert by_viewer.status_code == 403
    by_admin = await client.put(f"{url}/content", json=edit, headers={**admin, "If-Match": '"v1"'})
    assert by_admin.status_code == 200, by_admin.text
    history = (await client.get(f"{url}/changes", headers=admin)).json()["changes"]
    assert history[-1]["organisationId"] == str(union.id) and history[-1]["personId"]
