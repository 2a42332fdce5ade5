"""Members and roles through HTTP, and the audit trail their changes leave."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Bootstrap


async def test_admin_client_manages_members_with_etags(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    org = await bootstrap.integrator(["organisations:write"], name="3F Union", kind="social_partner")
    url = f"/organisations/{org.org_id}/members"
    added = await client.post(
        url,
        json={"email": "Mette@3f.example.dk", "name": "Mette", "roles": ["author"]},
        headers={**org.headers, "Idempotency-Key": "add-mette"},
    )
    assert added.status_code == 201, added.text
    mette = added.json()
    assert mette["roles"] == ["author"] and added.headers["etag"] == '"v1"'

    retried = await client.post(
        url,
        json={"email": "Mette@3f.example.dk", "name": "Mette", "roles": ["author"]},
        headers={**org.headers, "Idempotency-Key": "add-mette"},
    )
    assert retried.status_code == 201 and retried.json() == mette

    duplicate = await client.post(
        url, json={"email": "mette@3f.example.dk", "name": "M", "roles": ["viewer"]}, headers=org.headers
    )
    assert duplicate.status_code == 409 and "already a member" in duplicate.json()["detail"]

    member_url = f"{url}/{mette['personId']}"
    promoted = await client.patch(
        member_url, json={"roles": ["author", "admin", "author"]}, headers={**org.headers, "If-Match": '"v1"'}
    )
    assert promoted.status_code == 200 and promoted.json()["roles"] == ["admin", "author"]

    # Mette is now the only admin: she cannot be demoted or removed.
    last_admin = await client.patch(member_url, json={"roles": ["viewer"]}, headers={**org.headers, "If-Match": '"v2"'})
    assert last_admin.status_code == 409 and "last admin" in last_admin.json()["detail"]
    assert (await client.delete(member_url, headers={**org.headers, "If-Match": '"v2"'})).status_code == 409

    bad_role = await client.patch(member_url, json={"roles": ["king"]}, headers={**org.headers, "If-Match": '"v2"'})
    assert bad_role.status_code == 400

    await client.post(url, json={"email": "ole@3f.example.dk", "name": "Ole", "roles": ["admin"]}, headers=org.headers)
    assert (await client.delete(member_url, headers={**org.headers, "If-Match": '"v1"'})).status_code == 412
    assert (await client.delete(member_url, headers={**org.headers, "If-Match": '"v2"'})).status_code == 204
    assert (await client.get(member_url, headers=org.headers)).status_code == 404

    listed = await client.get(url, headers=org.headers)
    assert [m["email"] for m in listed.json()["items"]] == ["ole@3f.example.dk"]


async def test_a_person_may_belong_to_several_organisations(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    union = await bootstrap.integrator(["organisations:write"], name="Dansk Metal", kind="social_partner")
    provider = await bootstrap.integrator(["organisations:write"], name="AMU Nord", kind="vet_provider")
    body = {"email": "lars@example.dk", "name": "Lars", "roles": ["assessor"]}
    first = await client.post(f"/organisations/{union.org_id}/members", json=body, headers=union.headers)
    second = await client.post(f"/organisations/{provider.org_id}/members", json=body, headers=provider.headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["personId"] == second.json()["personId"]


async def test_every_write_is_in_the_audit_trail_with_its_request_id(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    org = await bootstrap.integrator(["organisations:write"], name="Festo")
    await client.post(
        f"/organisations/{org.org_id}/members",
        json={"email": "anna@festo.example", "name": "Anna", "roles": ["signatory"]},
        headers={**org.headers, "X-Request-ID": "req-add-anna"},
    )
    await client.patch(
        f"/organisations/{org.org_id}",
        json={"website": "https://festo.example"},
        headers={**org.headers, "If-Match": '"v1"', "X-Request-ID": "req-website"},
    )
    trail = await client.get(f"/organisations/{org.org_id}/audit", headers=org.headers)
    assert trail.status_code == 200, trail.text
    entries = trail.json()["items"]
    assert [(e["action"], e["requestId"]) for e in entries[:3]] == [
        ("organisation.updated", "req-website"),
        ("invitation.created", "req-add-anna"),  # Anna has no login yet: she is invited to choose a password
        ("member.added", "req-add-anna"),
    ]
    assert entries[0]["actorClientId"] == org.client_id
    assert entries[0]["details"] == {"changed": ["website"]}

    page = await client.get(f"/organisations/{org.org_id}/audit", params={"limit": 1}, headers=org.headers)
    rest = await client.get(
        f"/organisations/{org.org_id}/audit",
        params={"limit": 10, "cursor": page.json()["nextCursor"]},
        headers=org.headers,
    )
    assert [e["id"] for e in page.json()["items"] + rest.json()["items"]] == [e["id"] for e in entries]
    # The cursor is an entry's id: digits that are not ASCII, or too many for a bigint, broke the query (500).
    for cursor in ("²", "9" * 30, "-1", ""):
        refused = await client.get(f"/organisations/{org.org_id}/audit", params={"cursor": cursor}, headers=org.headers)
        assert refused.status_code == 422, (cursor, refused.text)
    nul = await client.get(f"/organisations/{org.org_id}/audit", params={"action": "a\x00"}, headers=org.headers)
    assert nul.status_code == 422, nul.text
