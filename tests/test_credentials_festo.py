"""The Festo/IHK case to the end: pass, credential awaiting the chamber, chamber co-signs, verify, revoke."""

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
from tests.test_xapi import FAILED, PASSED, URL, statement


async def simulator_pass(client: AsyncTestClient[Litestar], room: Classroom) -> None:
    headers = {**room.provider.headers, "X-Experience-API-Version": "1.0.3"}
    for verb, score, at in ((FAILED, 0.62, "2026-11-20T09:00:00Z"), (PASSED, 0.91, "2026-11-20T11:00:00Z")):
        response = await client.post(URL, json=statement(room, verb, score, at=at), headers=headers)
        assert response.status_code == 200, response.text


async def credentials_of(client: AsyncTestClient[Litestar], room: Classroom, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(
        f"/organisations/{room.provider.org_id}/credentials", params=params, headers=room.provider.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_simulator_pass_is_issued_once_awaits_the_chamber_and_is_valid_when_cosigned(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    await simulator_pass(client, room)
    await drain(db, settings)
    await drain(db, settings)  # nothing more: exactly one credential

    [credential] = await credentials_of(client, room)
    assert credential["state"] == "awaiting_cosignature" and credential["valid"] is False
    assert credential["unitKey"] == "sim" and credential["cosignerId"] == str(room.chamber.org_id)
    document = credential["credential"]
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential", "AchievementCredential"]
    assert document["credentialStatus"]["type"] == "BitstringStatusListEntry"
    results = document["credentialSubject"]["result"]
    assert any(r.get("value") == "0.91" for r in results), results  # the best run's score

    queue = await client.get(f"/organisations/{room.chamber.org_id}/cosignature-queue", headers=room.chamber.headers)
    assert [c["id"] for c in queue.json()["items"]] == [credential["id"]]
    cosigned = await client.post(f"/credentials/{credential['id']}/cosignature", headers=room.chamber.headers)
    assert cosigned.status_code == 200, cosigned.text
    assert cosigned.json()["state"] == "issued" and cosigned.json()["valid"] is True
    assert [s["role"] for s in cosigned.json()["signatures"]] == ["issuer", "cosigner"]

    jws = (await client.get(f"/credentials/{credential['id']}/jws", headers=room.provider.headers)).json()
    assert len(jws["signatures"]) == 2
    jwt = await client.get(f"/credentials/{credential['id']}/vc-jwt", headers=room.provider.headers)
    assert jwt.headers["content-type"].startswith("application/vc+jwt") and jwt.text.count(".") == 2

    revoked = await client.post(
        f"/credentials/{credential['id']}/revocation", json={"reason": "Issued in error"}, headers=room.provider.headers
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked" and revoked.json()["valid"] is False


async def test_a_welding_pass_issues_a_unit_credential_and_completing_the_programme_issues_its_own(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    recorded = await client.post(
        room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=room.provider.headers
    )
    assert recorded.status_code == 201, recorded.text
    await drain(db, settings)
    assert [c["unitKey"] for c in await credentials_of(client, room)] == ["u1"]
    await simulator_pass(client, room)
    await drain(db, settings)
    kinds = sorted((c["kind"], c["unitKey"]) for c in await credentials_of(client, room))
    assert kinds == [("programme", None), ("unit", "sim"), ("unit", "u1")]
