"""Nobody reaches what is not theirs: other organisations' data, missing scopes, bad or dead tokens."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.db import Database
from tests.conftest import Bootstrap, Integrator


async def two_organisations(bootstrap: Bootstrap) -> tuple[Integrator, Integrator]:
    a = await bootstrap.integrator(["organisations:write"], name="Organisation A")
    b = await bootstrap.integrator(["organisations:write"], name="Organisation B")
    await bootstrap.member(b.org_id, "admin@b.example", ["admin"])
    return a, b


async def test_an_organisation_cannot_reach_anothers_private_data(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    a, b = await two_organisations(bootstrap)
    b_url = f"/organisations/{b.org_id}"
    members = (await client.get(f"{b_url}/members", headers=b.headers)).json()["items"]
    person = members[0]["personId"]
    attempts = [
        ("GET", f"{b_url}/members", None, {}),
        ("GET", f"{b_url}/members/{person}", None, {}),
        ("POST", f"{b_url}/members", {"email": "spy@a.example", "name": "Spy", "roles": ["admin"]}, {}),
        ("PATCH", f"{b_url}/members/{person}", {"roles": ["viewer"]}, {"If-Match": '"v1"'}),
        ("DELETE", f"{b_url}/members/{person}", None, {"If-Match": '"v1"'}),
        ("PATCH", b_url, {"website": "https://evil.example"}, {"If-Match": '"v1"'}),
        ("GET", f"{b_url}/clients", None, {}),
        ("GET", f"{b_url}/clients/{b.client_id}", None, {}),
        ("POST", f"{b_url}/clients", {"name": "Backdoor", "scopes": ["organisations:write"]}, {}),
        ("DELETE", f"{b_url}/clients/{b.client_id}", None, {}),
        ("GET", f"{b_url}/audit", None, {}),
    ]
    for method, url, body, headers in attempts:
        response = await client.request(method, url, json=body, headers={**a.headers, **headers})
        assert response.status_code == 403, (method, url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert f"not a member of organisation {b.org_id}" in response.json()["detail"]
    # B is untouched.
    assert (await client.get(f"{b_url}/members", headers=b.headers)).json()["items"] == members
    assert (await client.get(b_url, headers=b.headers)).json()["version"] == 1


async def test_calls_without_a_usable_token_are_refused(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    a, _ = await two_organisations(bootstrap)
    url = f"/organisations/{a.org_id}/members"
    for headers in (
        {},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": f"Bearer {a.token}x"},
    ):
        response = await client.get(url, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_token_without_the_scope_is_refused(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    reader = await bootstrap.integrator(["organisations:read"], name="Read-only")
    response = await client.patch(
        f"/organisations/{reader.org_id}",
        json={"website": "https://x.example"},
        headers={**reader.headers, "If-Match": '"v1"'},
    )
    assert response.status_code == 403
    assert "lacks the scope organisations:write" in response.json()["detail"]
    no_scope = await bootstrap.integrator(["programmes:read"], name="Programmes only")
    assert (await client.get("/organisations", headers=no_scope.headers)).status_code == 403


async def test_expired_and_revoked_tokens_are_refused_at_once(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    a, _ = await two_organisations(bootstrap)
    url = f"/organisations/{a.org_id}/members"
    assert (await client.get(url, headers=a.headers)).status_code == 200

    expiring = await bootstrap.token(a.client_id, a.client_secret)
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE oauth_tokens SET expires_at = now() - interval '1 second' WHERE revoked_at IS NULL"
            " AND issued_at = (SELECT max(issued_at) FROM oauth_tokens)"
        )
    expired = await client.get(url, headers={"Authorization": f"Bearer {expiring}"})
    assert expired.status_code == 401 and "expired or revoked" in expired.json()["detail"]

    revoked = await client.post("/oauth/revoke", data={"token": a.token}, auth=(a.client_id, a.client_secret))
    assert revoked.status_code == 200
    response = await client.get(url, headers=a.headers)
    assert response.status_code == 401
