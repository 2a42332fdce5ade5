"""A person's portfolio across providers, and a qualification that stands on units of two providers."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain import outbox
from domain.db import Database
from tests.conftest import Bootstrap, Integrator
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_learner_claims import claim, issue, learner_token
from tests.test_wallet import cosign_all

ESCO_SKILL = "http://data.europa.eu/esco/skill/"


async def national_qualification(
    client: AsyncTestClient[Litestar], board: Integrator, approver: Integrator, rooms: list[Classroom]
) -> str:
    """A qualification the board awards on unit u1 of each classroom's programme, approved by ``approver``."""
    created = await client.post(
        "/qualifications",
        headers=board.headers,
        json={
            "content": {
                "title": {"en": "National certificate in structural welding"},
                "awardingBodyId": str(board.org_id),
                "eqfLevel": 4,
                "qualityAssurance": {"type": "state_recognition"},
                "rule": {
                    "allOf": [{"programmeId": r.programme_id, "unitKey": "u1"} for r in rooms],
                    "minHours": 60,
                    "minEqfLevel": 4,
                },
            }
        },
    )
    assert created.status_code == 201, created.text
    qid: str = created.json()["designId"]
    await client.put(
        f"/qualifications/{qid}/coauthors/{approver.org_id}", json={"roles": ["approver"]}, headers=board.headers
    )
    proposed = await client.post(
        f"/qualifications/{qid}/versions/1/proposal", headers={**board.headers, "If-Match": '"v1"'}
    )
    assert proposed.status_code == 200, proposed.text
    decided = await client.post(
        f"/qualifications/{qid}/versions/1/decisions", json={"decision": "approve"}, headers=approver.headers
    )
    assert decided.json()["status"] == "published", decided.text
    return qid


async def portfolio(client: AsyncTestClient[Litestar], me: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/me/portfolio", headers=me)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


async def test_units_of_two_providers_stack_into_one_award_of_the_awarding_body(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    first, second = await classroom(client, bootstrap), await classroom(client, bootstrap)
    board = await bootstrap.integrator(
        ["programmes:write", "credentials:read"], name="National Welding Board", kind="authority"
    )
    qid = await national_qualification(client, board, first.chamber, [first, second])

    # The person claims their record at the first provider; both providers record a pass of unit u1.
    assert (await claim(client, await issue(client, first.provider, first.learner_id))).status_code == 200
    for room in (first, second):
        recorded = await client.post(
            room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=room.provider.headers
        )
        assert recorded.status_code == 201, recorded.text
    await drain(db, settings)
    for room in (first, second):
        await cosign_all(client, room)
    await drain(db, settings)

    me = await learner_token(client, bootstrap, scopes="credentials:read")
    before = await portfolio(client, me)
    assert [e["kind"] for e in before] == ["unit"]  # the second provider's record is not theirs yet
    assert before[0]["providerId"] == str(first.provider.org_id)

    # Claiming the second record links it: the two units now stand together, and the board awards.
    assert (await claim(client, await issue(client, second.provider, second.learner_id))).status_code == 200
    await drain(db, settings)
    await drain(db, settings)  # nothing more to do: still one award

    entries = await portfolio(client, me)
    units = [e for e in entries if e["kind"] == "unit"]
    [award] = [e for e in entries if e["kind"] == "qualification"]
    assert {u["providerId"] for u in units} == {str(first.provider.org_id), str(second.provider.org_id)}
    assert award["programmeId"] == qid
    assert award["issuer"]["name"] == "National Welding Board"
    assert award["issuer"]["id"].endswith(str(board.org_id))
    assert award["eqfLevel"] == 4 and award["hours"] == 74 and award["ectsCredits"] == 3
    for unit in units:
        assert unit["verification"] == {**unit["verification"], "valid": True, "method": "issued_here", "problems": []}
        assert unit["eqfLevel"] == 4 and unit["hours"] == 37 and unit["ectsCredits"] == 1.5
        assert unit["escoSkills"] and all(s.startswith(ESCO_SKILL) for s in unit["escoSkills"])
        assert len(unit["digest"]) == 64

    detail = await client.get(f"/me/credentials/{award['id']}", headers=me)
    assert detail.status_code == 200, detail.text
    document = detail.json()["credential"]
    evidence = {e["id"] for e in document["evidence"]}
    assert evidence == {f"urn:uuid:{u['id']}" for u in units}
    assert detail.json()["awardingBody"]["id"] == str(board.org_id)


async def test_two_providers_units_decided_on_two_connections_at_once_award_once(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, database_url: str
) -> None:
    """The two co-signatures' events, each of which completes the qualification when it sees the other's
    unit, handled at the same moment by two workers: one award (the holder's lock orders them, the second
    finds the first's award), and handling them again changes nothing."""
    first, second = await classroom(client, bootstrap), await classroom(client, bootstrap)
    board = await bootstrap.integrator(["programmes:write", "credentials:read"], name="Board", kind="authority")
    await national_qualification(client, board, first.chamber, [first, second])
    for room in (first, second):
        assert (await claim(client, await issue(client, room.provider, room.learner_id))).status_code == 200
        recorded = await client.post(
            room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=room.provider.headers
        )
        assert recorded.status_code == 201, recorded.text
    await drain(db, settings)
    for room in (first, second):
        await cosign_all(client, room)
    async with db.connection() as conn:
        events = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM outbox WHERE topic = 'credential.cosigned' AND done_at IS NULL ORDER BY id"
            )
        ]
    assert len(events) == 2
    context = outbox.HandlerContext(master_key=settings.master_key, public_url=settings.issuer)
    other = await Database.connect(database_url, min_size=1, max_size=2)
    try:
        await asyncio.gather(
            outbox.process_event(db, events[0], context), outbox.process_event(other, events[1], context)
        )
    finally:
        await other.close()
    await drain(db, settings)
    async with db.connection() as conn:
        awards = await conn.fetch("SELECT id, stands_on FROM credentials WHERE kind = 'qualification'")
        units = {r["id"] for r in await conn.fetch("SELECT id FROM credentials WHERE kind = 'unit'")}
        await conn.execute("UPDATE outbox SET done_at = NULL WHERE id = ANY($1::bigint[])", events)
    assert len(awards) == 1 and set(awards[0]["stands_on"]) == units
    for event_id in events:  # the same events again (a redelivery): still one award
        await outbox.process_event(db, event_id, context)
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM credentials WHERE kind = 'qualification'") == 1
