"""The recording path confirms the access token inside its own write: once this process has checked a client's
token, the guard takes its remembered principal without asking PostgreSQL, and ``record_attempt_at_once`` (or the
usual way's transaction) confirms the token is still live before anything else. A keyed recording then costs one
round trip in all, the guard's included; a token revoked, or whose client is disabled, records nothing on any way
and is answered 401 at once. A person's token is always read afresh (their memberships can change)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.db import Database
from tests.conftest import Bootstrap, Integrator
from tests.oauth_flow import APP_REDIRECT_URI, person_token
from tests.test_attempts_keyed_one_round_trip import OUTCOMES, CountingDatabase, classroom, keyed, stored_counts
from tests.test_attempts_one_round_trip import judged


@contextmanager
def counted(client: AsyncTestClient[Litestar], database_url: str) -> Iterator[CountingDatabase]:
    """The app's requests go to a pool that logs every statement (the guard's and the write's alike) while in the
    block; it is made on the app's own event loop, which runs in the test client's thread."""
    app, portal = client.app, client.blocking_portal
    database = portal.call(CountingDatabase.open, database_url)
    own, app.state.db = app.state.db, database
    try:
        yield database
    finally:
        app.state.db = own
        portal.call(database.close)


async def recorded(client: AsyncTestClient[Litestar], provider: Integrator, body: dict[str, Any], key: str) -> Any:
    return await client.post(f"/organisations/{provider.org_id}/attempts", json=body, headers=keyed(provider, key))


async def test_a_keyed_recording_with_a_known_client_token_costs_one_round_trip_in_all(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, database_url: str
) -> None:
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    body = judged(learner_id, enrolment_id)
    with counted(client, database_url) as counting_db:
        first = await recorded(client, provider, body, "warm")  # the usual way, which teaches the process the unit
        assert first.status_code == 201, first.text
        for n in range(3):
            del counting_db.statements[:]
            answer = await recorded(client, provider, body, f"k{n}")
            assert answer.status_code == 201, answer.text
            assert len(counting_db.statements) == 1, counting_db.statements  # no token_principal before it
            assert "record_attempts_at_once" in counting_db.statements[0]
    assert await stored_counts(db, learner_id) == (4, 8, 4)


async def revoke(client: AsyncTestClient[Litestar], provider: Integrator) -> None:
    revoked = await client.post(
        "/oauth/revoke", data={"token": provider.token}, auth=(provider.client_id, provider.client_secret)
    )
    assert revoked.status_code == 200, revoked.text


def refused_as_dead(answer: Any) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.json()["detail"] == "the access token is expired or revoked; get a new one"
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_a_revoked_token_records_nothing_on_the_short_way_the_usual_way_or_a_retry(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    body = judged(learner_id, enrolment_id)
    for key in ("one", "two"):  # the second goes the short way with the remembered principal
        assert (await recorded(client, provider, body, key)).status_code == 201
    await revoke(client, provider)

    refused_as_dead(await recorded(client, provider, body, "three"))  # the short way
    refused_as_dead(await recorded(client, provider, body, "two"))  # a retry does not replay the stored answer
    unfit = judged(learner_id, enrolment_id)
    unfit["submission"]["judgements"].append({"outcome": "lo9", "achieved": True})  # the short way declines it
    refused_as_dead(await recorded(client, provider, unfit, "four"))  # the usual way: 401, not the 422 it would be
    refused_as_dead(
        await client.post(f"/organisations/{provider.org_id}/attempts", json=body, headers=provider.headers)
    )
    assert await stored_counts(db, learner_id) == (2, 4, 2)


async def test_a_disabled_client_records_nothing_although_its_token_is_remembered(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    body = judged(learner_id, enrolment_id)
    assert (await recorded(client, provider, body, "one")).status_code == 201
    assert (await recorded(client, provider, body, "two")).status_code == 201
    async with db.connection() as conn:  # as disableClient does it
        await conn.execute("UPDATE oauth_clients SET disabled_at = now() WHERE client_id = $1", provider.client_id)
    refused_as_dead(await recorded(client, provider, body, "three"))
    assert await stored_counts(db, learner_id) == (2, 4, 2)


async def test_a_persons_token_is_read_afresh_so_a_removed_membership_takes_effect_at_once(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    provider, learner_id, enrolment_id = await classroom(client, bootstrap, OUTCOMES)
    org = UUID(str(provider.org_id))
    password = "correct horse battery staple"
    app_id, app_secret = await bootstrap.oauth_client(
        org, ["assessments:write"], grant_types=["authorization_code"], redirect_uris=[APP_REDIRECT_URI]
    )
    assert app_secret is not None
    person = await bootstrap.member(org, "assessor@example.dk", ["assessor"], password=password)
    token = await person_token(client, app_id, app_secret, "assessor@example.dk", password, "assessments:write")
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/organisations/{provider.org_id}/attempts"
    for _ in range(2):
        answer = await client.post(url, json=judged(learner_id, enrolment_id), headers=headers)
        assert answer.status_code == 201, answer.text
    async with db.connection() as conn:
        await conn.execute("DELETE FROM members WHERE person_id = $1", person)
    refused = await client.post(url, json=judged(learner_id, enrolment_id), headers=headers)
    assert refused.status_code == 403, refused.text
    assert await stored_counts(db, learner_id) == (2, 4, 2)
