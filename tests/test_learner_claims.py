"""A learner claims their record with a one-time code and then reads their own records and attempts."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import RateLimit, Settings
from domain.db import Database
from domain.learners.claims import new_code
from tests.conftest import BASE_URL, Bootstrap, Integrator
from tests.mailbox import confirm_address
from tests.oauth_flow import APP_REDIRECT_URI, person_token
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding

EMAIL = "jonas.weber@mail.example"
PASSWORD = "my own long passphrase"
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2}$")


def codes_url(provider_id: object, learner_id: object) -> str:
    return f"/organisations/{provider_id}/learners/{learner_id}/claim-codes"


async def issue(http: AsyncTestClient[Litestar], provider: Integrator, learner_id: object, **body: Any) -> str:
    response = await http.post(codes_url(provider.org_id, learner_id), json=body, headers=provider.headers)
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


async def claim(
    http: AsyncTestClient[Litestar], code: str, email: str = EMAIL, password: str = PASSWORD, **extra: Any
) -> httpx.Response:
    return await http.post("/learner-claims", json={"code": code, "email": email, "password": password, **extra})


async def learner_token(
    http: AsyncTestClient[Litestar], bootstrap: Bootstrap, email: str = EMAIL, scopes: str = "assessments:read"
) -> dict[str, str]:
    """A person token from a learner-facing app (a wallet) that is no provider's."""
    await confirm_address(http, bootstrap.db, email)  # the link mailed at the claim, followed as the learner would
    wallet = await bootstrap.organisation("Skills Wallet", kind="employer")
    app_id, app_secret = await bootstrap.oauth_client(
        wallet.id, scopes.split(), grant_types=["authorization_code", "refresh_token"], redirect_uris=[APP_REDIRECT_URI]
    )
    assert app_secret is not None
    return {"Authorization": "Bearer " + await person_token(http, app_id, app_secret, email, PASSWORD, scopes)}


async def second_learner(http: AsyncTestClient[Litestar], room: Classroom) -> str:
    """Another learner of the same provider, enrolled, with a passed attempt."""
    learners = f"/organisations/{room.provider.org_id}/learners"
    learner = await http.post(learners, json={"name": "Mette Hansen"}, headers=room.provider.headers)
    learner_id: str = learner.json()["id"]
    enrolment = await http.post(
        f"{learners}/{learner_id}/enrolments", json={"programmeId": room.programme_id}, headers=room.provider.headers
    )
    body = {**room.attempt(welding("l4", "l4", 10)), "learnerId": learner_id, "enrolmentId": enrolment.json()["id"]}
    recorded = await http.post(room.attempts_url, json=body, headers=room.provider.headers)
    assert recorded.status_code == 201, recorded.text
    return learner_id


async def test_a_learner_claims_their_record_and_reads_only_their_own(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    own = await client.post(room.attempts_url, headers=room.provider.headers, json=room.attempt(welding("l3", "l3", 8)))
    other_learner = await second_learner(client, room)

    issued = await client.post(codes_url(room.provider.org_id, room.learner_id), json={}, headers=room.provider.headers)
    assert issued.status_code == 201, issued.text
    assert issued.headers["cache-control"] == "no-store"
    code = issued.json()["code"]
    assert CODE.match(code), code
    valid_for = datetime.fromisoformat(issued.json()["expiresAt"]) - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < valid_for <= timedelta(days=30)
    async with db.connection() as conn:
        stored = await conn.fetchval("SELECT code_hash FROM learner_claim_codes")
        trail = await conn.fetchval("SELECT details::text FROM audit_log WHERE action = 'learner.claim_code_issued'")
    assert stored.startswith("hmac-sha256:")  # the code itself is kept nowhere, nor its unkeyed hash
    assert (
        code.replace("-", "") not in stored and hashlib.sha256(code.replace("-", "").encode()).hexdigest() not in stored
    )
    assert code.replace("-", "") not in trail and code not in trail

    claimed = await claim(client, code.lower())  # as typed by hand
    assert claimed.status_code == 200, claimed.text
    answer = claimed.json()
    assert answer["personCreated"] is True and answer["learnerId"] == room.learner_id
    [record] = answer["learnerRecords"]
    assert record["id"] == room.learner_id and record["providerId"] == str(room.provider.org_id)
    assert record["name"] == "Jonas Weber" and record["providerName"] == {"en": "Festo Didactic"}
    async with db.connection() as conn:
        person = await conn.fetchrow("SELECT id, name FROM persons WHERE email = $1", EMAIL)
        audited = await conn.fetchrow(
            "SELECT organisation_id, actor_person_id FROM audit_log WHERE action = 'learner.claimed'"
        )
    assert str(person["id"]) == answer["personId"] and person["name"] == "Jonas Weber"
    assert audited["organisation_id"] == room.provider.org_id and audited["actor_person_id"] == person["id"]

    me = await learner_token(client, bootstrap)
    attempts = await client.get("/me/attempts", headers=me)
    assert attempts.status_code == 200, attempts.text
    assert [a["id"] for a in attempts.json()["items"]] == [own.json()["id"]]
    assert attempts.json()["items"][0]["passed"] is True
    records = await client.get("/me/learner-records", headers=me)
    assert [r["id"] for r in records.json()["items"]] == [room.learner_id]
    # The other learner's attempts stay out of sight, even when asked for by id.
    asked = await client.get("/me/attempts", params={"learnerId": other_learner}, headers=me)
    assert asked.status_code == 200 and asked.json()["items"] == []
    mine = await client.get("/me/attempts", params={"learnerId": room.learner_id}, headers=me)
    assert [a["id"] for a in mine.json()["items"]] == [own.json()["id"]]
    # The learner's token opens nothing at the provider ...
    assert (await client.get(room.attempts_url, headers=me)).status_code == 403
    # ... and the provider keeps reading all of its attempts as before.
    provider_view = await client.get(room.attempts_url, headers=room.provider.headers)
    assert len(provider_view.json()["items"]) == 2


async def test_used_expired_replaced_and_made_up_codes_are_refused_alike(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    other_learner = await second_learner(client, room)
    replaced = await issue(client, room.provider, room.learner_id)
    used = await issue(client, room.provider, room.learner_id)
    assert (await claim(client, used)).status_code == 200
    expired = await issue(client, room.provider, other_learner, validDays=1)
    async with db.connection() as conn:
        await conn.execute(
            "UPDATE learner_claim_codes SET expires_at = now() - interval '1 second' WHERE learner_id = $1",
            other_learner,
        )

    answers = [
        await claim(client, code, email="someone@mail.example")
        for code in (used, replaced, expired, new_code(), "not-a-code")
    ]
    assert {a.status_code for a in answers} == {422}
    assert len({(a.json()["type"], a.json()["detail"]) for a in answers}) == 1
    assert "ask your provider for a new code" in answers[0].json()["detail"]
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT person_id FROM learners WHERE id = $1", other_learner) is None
        assert await conn.fetchval("SELECT count(*) FROM persons WHERE email = 'someone@mail.example'") == 0


async def test_a_code_raced_for_is_used_once(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    code = await issue(client, room.provider, room.learner_id)
    answers = await asyncio.gather(*(claim(client, code, email=f"racer{i}@mail.example") for i in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 422, 422, 422]
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM persons WHERE email LIKE 'racer%'") == 1


async def test_an_existing_login_needs_its_password_and_links_records_across_providers(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    room = await classroom(client, bootstrap)
    first = await issue(client, room.provider, room.learner_id)
    weak = await claim(client, first, password="short")
    assert weak.status_code == 422 and "12 characters" in weak.json()["detail"]
    person_id = (await claim(client, first, name="Jonas")).json()["personId"]  # the refusal left the code usable

    other = await bootstrap.integrator(["assessments:write"], name="Other provider", kind="vet_provider")
    registered = await client.post(
        f"/organisations/{other.org_id}/learners", json={"name": "J. Weber"}, headers=other.headers
    )
    elsewhere = registered.json()["id"]
    code = await issue(client, other, elsewhere)
    refused = await claim(client, code, password="not my passphrase at all")
    assert refused.status_code == 403 and "not its password" in refused.json()["detail"]
    linked = await claim(client, code)
    assert linked.status_code == 200, linked.text
    assert linked.json()["personId"] == person_id and linked.json()["personCreated"] is False
    assert {r["providerId"] for r in linked.json()["learnerRecords"]} == {str(room.provider.org_id), str(other.org_id)}

    me = await learner_token(client, bootstrap)
    page = await client.get("/me/learner-records", params={"limit": 1}, headers=me)
    following = await client.get("/me/learner-records", params={"cursor": page.json()["nextCursor"]}, headers=me)
    assert [r["id"] for r in page.json()["items"] + following.json()["items"]] == [room.learner_id, elsewhere]
    assert following.json()["nextCursor"] is None


async def test_a_claimed_record_cannot_be_claimed_again(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    assert (await claim(client, await issue(client, room.provider, room.learner_id))).status_code == 200
    again = await client.post(codes_url(room.provider.org_id, room.learner_id), json={}, headers=room.provider.headers)
    assert again.status_code == 409 and "already claimed" in again.json()["detail"]
    # A code that was live when the record was claimed (as if issued in the same instant) is refused too.
    late = new_code()
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO learner_claim_codes (code_hash, learner_id, provider_id, expires_at) "
            "VALUES ($1, $2, $3, now() + interval '1 day')",
            hashlib.sha256(late.replace("-", "").encode()).hexdigest(),
            room.learner_id,
            room.provider.org_id,
        )
    taken = await claim(client, late, email="someone.else@mail.example")
    assert taken.status_code == 409 and "already been claimed" in taken.json()["detail"]


async def test_only_the_learners_provider_issues_codes(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    room = await classroom(client, bootstrap)
    other = await bootstrap.integrator(["assessments:write"], name="Other provider", kind="vet_provider")
    url = codes_url(room.provider.org_id, room.learner_id)
    assert (await client.post(url, json={}, headers=other.headers)).status_code == 403
    own_url = codes_url(other.org_id, room.learner_id)
    assert (await client.post(own_url, json={}, headers=other.headers)).status_code == 404
    reader_id, reader_secret = await bootstrap.oauth_client(room.provider.org_id, ["assessments:read"])
    assert reader_secret is not None
    reader = {"Authorization": "Bearer " + await bootstrap.token(reader_id, reader_secret)}
    assert (await client.post(url, json={}, headers=reader)).status_code == 403
    for days in (0, 366):
        response = await client.post(url, json={"validDays": days}, headers=room.provider.headers)
        assert response.status_code == 400, response.text
    assert (await client.post(url, json={"validDays": 365}, headers=room.provider.headers)).status_code == 201


async def test_the_own_view_needs_a_persons_token_with_the_scope(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    room = await classroom(client, bootstrap)
    for path in ("/me/attempts", "/me/learner-records"):
        refused = await client.get(path, headers=room.provider.headers)  # client credentials
        assert refused.status_code == 403 and "person's token" in refused.json()["detail"]
        assert (await client.get(path)).status_code == 401
    assert (await claim(client, await issue(client, room.provider, room.learner_id))).status_code == 200
    unscoped = await learner_token(client, bootstrap, scopes="programmes:read")
    refused = await client.get("/me/attempts", headers=unscoped)
    assert refused.status_code == 403 and "assessments:read" in refused.json()["detail"]


async def test_claims_are_rate_limited_per_address(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    code = await issue(client, room.provider, room.learner_id)
    limited = create_app(dataclasses.replace(settings, login_rate_limit=RateLimit(2, 3600)))
    async with AsyncTestClient(app=limited, base_url=BASE_URL) as http:
        guesses = [(await claim(http, new_code())).status_code for _ in range(2)]
        blocked = await claim(http, code)  # even the right code waits now
    assert guesses == [422, 422]
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 3600


async def test_claims_fail_closed_when_the_counter_is_unreachable(settings: Settings) -> None:
    unreachable = create_app(dataclasses.replace(settings, redis_url="redis://127.0.0.1:1"))
    async with AsyncTestClient(app=unreachable, base_url=BASE_URL) as http:
        refused = await claim(http, new_code())
    assert refused.status_code == 429 and refused.headers["retry-after"] == "30"


async def test_a_login_made_with_a_claim_code_cannot_be_made_a_member(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    """Nobody verified the address: a membership given to it would go to whoever registered it."""
    room = await classroom(client, bootstrap)
    code = await issue(client, room.provider, room.learner_id)
    assert (await claim(client, code, email="boss@provider.example")).status_code == 200
    admin_id, admin_secret = await bootstrap.oauth_client(room.provider.org_id, ["organisations:write"])
    assert admin_secret is not None
    admin = {"Authorization": "Bearer " + await bootstrap.token(admin_id, admin_secret)}
    response = await client.post(
        f"/organisations/{room.provider.org_id}/members",
        json={"email": "Boss@provider.example", "name": "Boss", "roles": ["admin"]},
        headers=admin,
    )
    assert response.status_code == 409
    assert "nobody has verified that the address is theirs" in response.json()["detail"]
    members = await client.get(f"/organisations/{room.provider.org_id}/members", headers=admin)
    assert all(m["email"] != "boss@provider.example" for m in members.json()["items"])
