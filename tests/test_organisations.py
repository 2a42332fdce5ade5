"""Organisations through HTTP: create, read, list, update with If-Match, idempotent retries, accreditations."""

from __future__ import annotations

import base64
import json
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.db import Database
from tests.conftest import Bootstrap, Integrator

WELDING_PROVIDER = {
    "kind": "vet_provider",
    "name": {"en": "AMU Welding Centre", "da": "AMU Svejsecenter"},
    "defaultLanguage": "da",
    "country": "DK",
    "region": "DK-84",
    "registrationIds": [{"scheme": "DK-CVR", "value": "12345678"}],
    "website": "https://amu.example.dk",
}


async def operator(bootstrap: Bootstrap) -> Integrator:
    return await bootstrap.integrator(["admin"], name="Guildhall operator", kind="authority")


async def test_operator_registers_an_organisation_and_anyone_with_read_scope_reads_it(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    op = await operator(bootstrap)
    created = await client.post("/organisations", json=WELDING_PROVIDER, headers=op.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == WELDING_PROVIDER["name"] and body["region"] == "DK-84"
    assert body["version"] == 1 and body["accreditations"] == []
    assert created.headers["etag"] == '"v1"'
    assert created.headers["location"] == f"/organisations/{body['id']}"

    reader = await bootstrap.integrator(["organisations:read"], name="Reader")
    read = await client.get(f"/organisations/{body['id']}", headers=reader.headers)
    assert read.status_code == 200 and read.json() == body
    assert read.headers["etag"] == '"v1"'


async def test_only_the_platform_operator_registers_organisations(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    writer = await bootstrap.integrator(["organisations:write"])
    response = await client.post("/organisations", json=WELDING_PROVIDER, headers=writer.headers)
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]


async def test_invalid_organisations_are_refused_with_the_reason(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    op = await operator(bootstrap)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"country": "XX"}, 422, "'XX' is not an ISO 3166-1"),
        ({"region": "DE-BW"}, 422, "not in country 'DK'"),
        ({"defaultLanguage": "de"}, 422, "no text in the default language 'de'"),
        ({"kind": "guild"}, 400, "kind"),
        ({"country": "dk"}, 400, "country"),
        ({"region": "DK-84\n"}, 400, "region"),  # "$" in a Python pattern matches before a final newline
        ({"website": "javascript:alert(1)"}, 400, "website"),
        ({"nmae": "typo"}, 400, "nmae"),
    ]
    for change, status, message in cases:
        response = await client.post("/organisations", json={**WELDING_PROVIDER, **change}, headers=op.headers)
        assert response.status_code == status, (change, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert message in response.json()["detail"], (change, response.json())
    missing = await client.post("/organisations", json={"kind": "employer"}, headers=op.headers)
    assert missing.status_code == 400 and "name" in missing.json()["detail"]
    not_json = await client.post(
        "/organisations", content=b"{not json", headers={**op.headers, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    unlabelled = await client.post("/organisations", content=b'{"kind": "employer"}', headers=op.headers)
    assert unlabelled.status_code == 415


async def test_a_retried_create_with_the_same_idempotency_key_creates_one_organisation(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    op = await operator(bootstrap)
    headers = {**op.headers, "Idempotency-Key": "create-amu-1"}
    first = await client.post("/organisations", json=WELDING_PROVIDER, headers=headers)
    second = await client.post("/organisations", json=WELDING_PROVIDER, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    listed = await client.get("/organisations", params={"kind": "vet_provider"}, headers=op.headers)
    assert [o["id"] for o in listed.json()["items"]] == [first.json()["id"]]

    other_body = await client.post(
        "/organisations", json={**WELDING_PROVIDER, "country": "SE", "region": None}, headers=headers
    )
    assert other_body.status_code == 422
    assert "already used for a different request" in other_body.json()["detail"]


async def test_list_pages_with_a_cursor_in_a_stable_order(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    op = await operator(bootstrap)
    for n in range(5):
        await bootstrap.organisation(f"Employer {n}", kind="employer")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, "kind": "employer", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/organisations", params=params, headers=op.headers)).json()
        seen += [o["name"]["en"] for o in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [f"Employer {n}" for n in range(5)]
    bad = await client.get("/organisations", params={"cursor": "garbage!"}, headers=op.headers)
    assert bad.status_code == 422 and "cursor" in bad.json()["detail"]
    too_many = await client.get("/organisations", params={"limit": 1000}, headers=op.headers)
    assert too_many.status_code == 400


async def test_a_hand_made_cursor_is_refused_not_a_server_error(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    # Well-formed cursors naming a key that is no UUID, or a time PostgreSQL cannot hold, reached the
    # query and broke it (500).
    op = await operator(bootstrap)
    some_id = "0b5b7c39-8f0e-4a77-9d6f-1f2e3a4b5c6d"
    for position in (
        ["2026-01-01T00:00:00+00:00", "not-a-uuid"],
        ["0001-01-01T00:00:00+05:00", some_id],
        ["9999-12-31T23:59:59-05:00", some_id],
        ["2026-01-01T00:00:00", some_id],  # cursors carry the time zone
    ):
        cursor = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
        response = await client.get("/organisations", params={"cursor": cursor}, headers=op.headers)
        assert response.status_code == 422, (position, response.text)
        assert response.json()["detail"] == "the cursor is not one this API returned; start again without it"


async def test_text_with_the_nul_character_is_refused_and_nothing_is_stored(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    # PostgreSQL cannot store U+0000 in text or jsonb; wherever a request's text reached it, the answer was a 500.
    op = await operator(bootstrap)
    named = await client.post(
        "/organisations", json={**WELDING_PROVIDER, "name": {"da": "AMU\u0000Svejsecenter"}}, headers=op.headers
    )
    assert named.status_code == 422, named.text
    assert named.headers["content-type"] == "application/problem+json"
    assert named.json()["detail"] == "text cannot contain the NUL character (U+0000): remove it and send again"
    website = {**WELDING_PROVIDER, "website": "https://amu.example\u0000.dk"}
    assert (await client.post("/organisations", json=website, headers=op.headers)).status_code == 422
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM organisations WHERE kind = 'vet_provider'") == 0
    searched = await client.get("/organisations", params={"country": "D\x00"}, headers=op.headers)
    assert searched.status_code == 422, searched.text


async def test_an_etag_naming_a_version_beyond_any_is_a_failed_precondition(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    # Python refuses to read more than 4,300 digits as an int: such an If-Match was a 500.
    org = await bootstrap.integrator(["organisations:write"], name="TEKNIQ")
    url = f"/organisations/{org.org_id}"
    for version in ("9" * 5000, str(2**31)):
        response = await client.patch(url, json={}, headers={**org.headers, "If-Match": f'"v{version}"'})
        assert response.status_code == 412, response.text
        assert "is not an ETag this API issued" in response.json()["detail"]


async def test_update_needs_the_current_etag(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    org = await bootstrap.integrator(["organisations:write"], name="TEKNIQ")
    url = f"/organisations/{org.org_id}"
    change = {"website": "https://tekniq.example.dk"}

    no_etag = await client.patch(url, json=change, headers=org.headers)
    assert no_etag.status_code == 428

    updated = await client.patch(url, json=change, headers={**org.headers, "If-Match": '"v1"'})
    assert updated.status_code == 200, updated.text
    assert updated.json()["website"] == "https://tekniq.example.dk"
    assert updated.headers["etag"] == '"v2"'

    stale = await client.patch(url, json={"website": None}, headers={**org.headers, "If-Match": '"v1"'})
    assert stale.status_code == 412
    assert stale.json()["currentVersion"] == 2
    current = await client.get(url, headers=org.headers)
    assert current.json()["website"] == "https://tekniq.example.dk"  # nothing overwritten

    garbage = await client.patch(url, json=change, headers={**org.headers, "If-Match": "yesterday"})
    assert garbage.status_code == 412


async def test_accreditation_is_recorded_by_the_accrediting_body(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    chamber = await bootstrap.integrator(
        ["organisations:write"], name="IHK Region Stuttgart", kind="chamber", country="DE"
    )
    provider = await bootstrap.integrator(
        ["organisations:write"], name="Festo Didactic", kind="vet_provider", country="DE"
    )
    url = f"/organisations/{provider.org_id}/accreditations"
    accreditation = {
        "accreditingOrganisationId": str(chamber.org_id),
        "scope": "Industry 4.0 automation training",
        "validFrom": "2026-01-01",
        "validUntil": "2029-12-31",
        "reference": "IHK-2026-17",
    }

    self_declared = await client.post(url, json=accreditation, headers=provider.headers)
    assert self_declared.status_code == 403
    assert "accrediting body itself" in self_declared.json()["detail"]

    recorded = await client.post(url, json=accreditation, headers=chamber.headers)
    assert recorded.status_code == 201, recorded.text
    [entry] = recorded.json()["accreditations"]
    assert entry["accreditingBodyName"] == "IHK Region Stuttgart" and entry["current"] is True

    by_employer = await bootstrap.integrator(["organisations:write"], name="Bosch", kind="employer", country="DE")
    refused = await client.post(
        url, json={**accreditation, "accreditingOrganisationId": str(by_employer.org_id)}, headers=by_employer.headers
    )
    assert refused.status_code == 422 and "cannot accredit" in refused.json()["detail"]

    backwards = await client.post(url, json={**accreditation, "validUntil": "2025-01-01"}, headers=chamber.headers)
    assert backwards.status_code == 422

    withdraw_url = f"{url}/{entry['id']}"
    assert (await client.delete(withdraw_url, headers=provider.headers)).status_code == 403
    withdrawn = await client.delete(withdraw_url, headers=chamber.headers)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["accreditations"][0]["current"] is False
    assert (await client.delete(withdraw_url, headers=chamber.headers)).status_code == 409
