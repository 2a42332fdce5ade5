"""Credentials after issuing: stacking into a qualification, holds, re-issue, suspension, and who may do what."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.db import Database
from tests.conftest import Bootstrap
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credentials_festo import credentials_of, simulator_pass


async def pass_welding(client: AsyncTestClient[Litestar], room: Classroom) -> None:
    recorded = await client.post(
        room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=room.provider.headers
    )
    assert recorded.status_code == 201, recorded.text


async def cosign_all(client: AsyncTestClient[Litestar], room: Classroom) -> list[dict[str, Any]]:
    queue = await client.get(f"/organisations/{room.chamber.org_id}/cosignature-queue", headers=room.chamber.headers)
    ids = [c["id"] for c in queue.json()["items"]]
    batch = await client.post(
        f"/organisations/{room.chamber.org_id}/cosignatures", json={"credentialIds": ids}, headers=room.chamber.headers
    )
    assert batch.status_code == 200, batch.text
    items: list[dict[str, Any]] = batch.json()["items"]
    return items


async def publish_qualification(client: AsyncTestClient[Litestar], room: Classroom, rule: dict[str, Any]) -> str:
    created = await client.post(
        "/qualifications",
        headers=room.provider.headers,
        json={
            "content": {
                "title": {"en": "Certified automation welder"},
                "description": {"en": "Welding and automation units together"},
                "awardingBodyId": str(room.provider.org_id),
                "eqfLevel": 4,
                "qualityAssurance": {"type": "chamber_approval"},
                "validityMonths": 60,
                "rule": rule,
            }
        },
    )
    assert created.status_code == 201, created.text
    qid: str = created.json()["designId"]
    await client.put(
        f"/qualifications/{qid}/coauthors/{room.chamber.org_id}",
        json={"roles": ["approver"]},
        headers=room.provider.headers,
    )
    url = f"/qualifications/{qid}/versions/1"
    assert (
        await client.post(f"{url}/proposal", headers={**room.provider.headers, "If-Match": '"v1"'})
    ).status_code == 200
    decided = await client.post(f"{url}/decisions", json={"decision": "approve"}, headers=room.chamber.headers)
    assert decided.json()["status"] == "published", decided.text
    return qid


async def test_unit_credentials_that_complete_a_qualification_issue_it_listing_them(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    pid = room.programme_id
    qid = await publish_qualification(
        client,
        room,
        {
            "allOf": [{"programmeId": pid, "unitKey": "u1"}],
            "atLeast": [{"count": 1, "of": [{"programmeId": pid, "unitKey": "sim"}]}],
            "minHours": 40,
        },
    )
    await pass_welding(client, room)
    await drain(db, settings)
    assert [c["outcome"] for c in await cosign_all(client, room)] == ["cosigned"]
    await drain(db, settings)
    assert not [c for c in await credentials_of(client, room) if c["kind"] == "qualification"]  # sim still missing

    await simulator_pass(client, room)
    await drain(db, settings)
    assert {c["outcome"] for c in await cosign_all(client, room)} == {"cosigned"}  # sim unit + programme
    await drain(db, settings)
    credentials = await credentials_of(client, room)
    [qualification] = [c for c in credentials if c["kind"] == "qualification"]
    units = {c["id"] for c in credentials if c["kind"] == "unit"}
    assert qualification["programmeId"] == qid and set(qualification["standsOn"]) == units
    assert qualification["state"] == "issued"  # the qualification names no co-signer
    evidence = {e["id"] for e in qualification["credential"]["evidence"]}
    assert evidence == {f"urn:uuid:{u}" for u in units}
    await drain(db, settings)
    assert len([c for c in await credentials_of(client, room) if c["kind"] == "qualification"]) == 1


async def test_held_credentials_wait_unsigned_until_released(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    holds = f"/organisations/{room.provider.org_id}/issuing-holds"
    held = await client.put(
        f"{holds}/{room.programme_id}", json={"reason": "Exam board meets on Friday"}, headers=room.provider.headers
    )
    assert held.status_code == 200, held.text
    await pass_welding(client, room)
    await drain(db, settings)
    [credential] = await credentials_of(client, room)
    assert credential["state"] == "held" and credential["credential"] is None
    not_yet = await client.get(f"/credentials/{credential['id']}/vc-jwt", headers=room.provider.headers)
    assert not_yet.status_code == 409

    released = await client.delete(f"{holds}/{room.programme_id}", headers=room.provider.headers)
    assert released.status_code == 200 and released.json()["released"] == 1, released.text
    [credential] = await credentials_of(client, room)
    assert credential["state"] == "awaiting_cosignature" and credential["credential"] is not None
    again = await client.delete(f"{holds}/{room.programme_id}", headers=room.provider.headers)
    assert again.status_code == 404


async def test_reissue_replaces_and_revokes_suspension_is_reversible_and_outsiders_see_nothing(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    await pass_welding(client, room)
    await drain(db, settings)
    await cosign_all(client, room)
    [old] = await credentials_of(client, room)
    url = f"/credentials/{old['id']}"

    outsider = await bootstrap.integrator(
        ["credentials:read", "credentials:revoke", "credentials:cosign"], name="Other provider", kind="vet_provider"
    )
    assert (await client.get(url, headers=outsider.headers)).status_code == 404
    assert (await client.post(f"{url}/revocation", json={"reason": "x"}, headers=outsider.headers)).status_code == 404
    assert (await client.post(f"{url}/cosignature", headers=outsider.headers)).status_code == 404
    reader = await bootstrap.token(room.provider.client_id, room.provider.client_secret, scope="credentials:read")
    no_scope = await client.post(
        f"{url}/suspension", json={"reason": "x"}, headers={"Authorization": f"Bearer {reader}"}
    )
    assert no_scope.status_code == 403
    assert (await client.get(url)).status_code == 401

    suspended = await client.post(
        f"{url}/suspension", json={"reason": "Under investigation"}, headers=room.provider.headers
    )
    assert suspended.status_code == 200 and suspended.json()["suspended"] is True and suspended.json()["valid"] is False
    twice = await client.post(f"{url}/suspension", json={"reason": "again"}, headers=room.provider.headers)
    assert twice.status_code == 409
    reinstated = await client.delete(f"{url}/suspension", headers=room.provider.headers)
    assert reinstated.status_code == 200 and reinstated.json()["valid"] is True

    reissued = await client.post(f"{url}/reissue", json={"reason": "Name corrected"}, headers=room.provider.headers)
    assert reissued.status_code == 201, reissued.text
    new = reissued.json()
    assert new["replacesCredentialId"] == old["id"] and new["state"] == "awaiting_cosignature"
    old_now = (await client.get(url, headers=room.provider.headers)).json()
    assert old_now["state"] == "revoked" and old_now["replacedBy"] == new["id"]
    assert old_now["revocationReason"] == f"replaced by credential {new['id']}: Name corrected"
    assert (
        await client.post(f"{url}/reissue", json={"reason": "again"}, headers=room.provider.headers)
    ).status_code == 409

    withdrawn = await client.post(
        f"/credentials/{new['id']}/cosignature-refusal",
        json={"reason": "Evidence incomplete"},
        headers=room.chamber.headers,
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "cosign_refused"
    assert withdrawn.json()["cosignRefusalReason"] == "Evidence incomplete"
