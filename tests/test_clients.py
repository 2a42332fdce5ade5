"""OAuth clients managed through the API by an organisation's admins."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Bootstrap


async def test_admin_registers_a_client_whose_secret_is_shown_once(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    org = await bootstrap.integrator(["organisations:write", "assessments:write"], name="AMU Syd", kind="vet_provider")
    url = f"/organisations/{org.org_id}/clients"
    created = await client.post(
        url, json={"name": "Simulator bridge", "scopes": ["assessments:write"]}, headers=org.headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["clientSecret"] and body["clientId"].startswith("gh_")
    assert created.headers["cache-control"] == "no-store"

    read = await client.get(f"{url}/{body['clientId']}", headers=org.headers)
    assert read.status_code == 200 and "clientSecret" not in read.json()

    token = await bootstrap.token(body["clientId"], body["clientSecret"])
    assert token

    disabled = await client.delete(f"{url}/{body['clientId']}", headers=org.headers)
    assert disabled.status_code == 204
    whoami = await client.get("/oauth/whoami", headers={"Authorization": f"Bearer {token}"})
    assert whoami.status_code == 401  # its tokens died with it
    refused = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(body["clientId"], body["clientSecret"])
    )
    assert refused.status_code in (400, 401)


async def test_a_client_cannot_mint_a_more_powerful_client(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    org = await bootstrap.integrator(["organisations:write"], name="AMU Vest", kind="vet_provider")
    response = await client.post(
        f"/organisations/{org.org_id}/clients",
        json={"name": "Escalation", "scopes": ["credentials:issue"]},
        headers=org.headers,
    )
    assert response.status_code == 403 and "credentials:issue" in response.json()["detail"]
    operator_scope = await client.post(
        f"/organisations/{org.org_id}/clients", json={"name": "Operator", "scopes": ["admin"]}, headers=org.headers
    )
    assert operator_scope.status_code == 403


async def test_client_rules_are_checked(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    org = await bootstrap.integrator(["organisations:write", "programmes:read"], name="AMU Øst", kind="vet_provider")
    url = f"/organisations/{org.org_id}/clients"
    no_redirect = await client.post(
        url,
        json={"name": "LMS", "scopes": ["programmes:read"], "grantTypes": ["authorization_code"]},
        headers=org.headers,
    )
    assert no_redirect.status_code == 422 and "redirectUri" in no_redirect.json()["detail"]
    public_cc = await client.post(
        url, json={"name": "SPA", "scopes": ["programmes:read"], "tokenEndpointAuthMethod": "none"}, headers=org.headers
    )
    assert public_cc.status_code == 422 and "public client" in public_cc.json()["detail"]
    malformed_scope = await client.post(url, json={"name": "X", "scopes": ["Everything!"]}, headers=org.headers)
    assert malformed_scope.status_code == 400
