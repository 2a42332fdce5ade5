"""Signed webhooks from the outbox, end to end: a real receiver on loopback, a real arq worker, real PostgreSQL.

Signatures are checked with the Standard Webhooks algorithm written here from the specification; retries,
order per subject, the audience of events, URL checks and the guards are shown through the API.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import ipaddress
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from arq.connections import ArqRedis, create_pool
from arq.worker import Worker
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api import queue
from api import worker as worker_module
from api.settings import Settings, SettingsError
from domain import outbox
from domain.db import Database
from domain.webhooks import delivery
from domain.webhooks.signatures import sign
from domain.webhooks.urls import LOOPBACK_NETWORKS, IPAddress, UrlPolicy, UrlRefused, check_url
from domain.writes import Actor, write
from tests.conftest import TEST_MASTER_KEY, Bootstrap, Integrator
from tests.oauth_flow import APP_REDIRECT_URI, person_token
from tests.scenarios import classroom
from tests.test_attempts import welding
from tests.webhook_receiver import Answer, Received, Receiver, free_port

ACTOR = Actor(request_id="test-webhooks")
ENDPOINTS = "/organisations/{org}/webhook-endpoints"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Retries at once, so that one burst of the worker goes through a whole schedule (four retries)."""
    return dataclasses.replace(settings, webhook_retry_schedule=(0.0, 0.0, 0.0, 0.0))


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(queue.redis_settings(redis_url))
    yield pool
    await pool.aclose()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.stop()


async def run_worker(redis: ArqRedis, db: Database, settings: Settings) -> Worker:
    """The production functions in a burst worker: outbox events, then the deliveries they queue."""
    context = outbox.HandlerContext(master_key=settings.master_key, public_url=settings.issuer)
    worker = Worker(
        functions=worker_module.FUNCTIONS,
        redis_pool=redis,
        burst=True,
        poll_delay=0,
        handle_signals=False,
        ctx={"db": db, "settings": settings, "handler_context": context},
    )
    await worker.main()
    assert worker.jobs_failed == 0
    return worker


def verify(secret: str, received: Received, tolerance: int = 300) -> list[str]:
    """Standard Webhooks verification from the specification: the ``v1`` signatures that match."""
    message_id = received.headers["webhook-id"]
    timestamp = received.headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) <= tolerance
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return [s for s in received.headers["webhook-signature"].split(" ") if s.split(",", 1) == ["v1", expected]]


async def webhook_admin(bootstrap: Bootstrap, name: str) -> Integrator:
    return await bootstrap.integrator(["webhooks:manage"], name=name)


def endpoints_url(who: Integrator | UUID) -> str:
    return ENDPOINTS.format(org=who.org_id if isinstance(who, Integrator) else who)


async def subscribe(
    client: AsyncTestClient[Litestar], who: Integrator, url: str, types: list[str], org: UUID | None = None
) -> dict[str, Any]:
    response = await client.post(
        ENDPOINTS.format(org=org or who.org_id), json={"url": url, "eventTypes": types}, headers=who.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def emit(db: Database, redis: ArqRedis, topic: str, subject: str, audience: list[UUID], **payload: Any) -> int:
    async with write(db, ACTOR, dispatcher=queue.JobQueue(redis)) as w:
        await w.emit(topic, subject, audience[0], {**payload, "audience": [str(a) for a in audience]})
    return w.event_ids[0]


async def deliveries(client: AsyncTestClient[Litestar], who: Integrator, endpoint: dict[str, Any]) -> list[Any]:
    response = await client.get(f"{endpoints_url(who)}/{endpoint['id']}/deliveries", headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def attempts(
    client: AsyncTestClient[Litestar], who: Integrator, endpoint: dict[str, Any], delivery_id: str
) -> list[Any]:
    url = f"{endpoints_url(who)}/{endpoint['id']}/deliveries/{delivery_id}/attempts"
    response = await client.get(url, headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def test_signatures_match_the_specifications_example() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    received = Received(
        "POST",
        "/",
        {
            "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "webhook-timestamp": "1614265330",
            "webhook-signature": expected,
        },
        body,
    )
    assert verify(secret, received, tolerance=10**10) == [expected]  # the test's own verifier agrees


def test_the_default_schedule_retries_for_about_a_day_with_jitter() -> None:
    schedule = delivery.DEFAULT_RETRY_SCHEDULE
    assert schedule[:3] == (5, 30, 120)
    assert timedelta(hours=20) < timedelta(seconds=sum(schedule)) <= timedelta(days=1)
    waits = [delivery.backoff(1, schedule) for _ in range(200)]
    assert all(w is not None and 4 <= w <= 6 for w in waits) and len(set(waits)) > 1
    assert delivery.backoff(len(schedule), schedule) is not None
    assert delivery.backoff(len(schedule) + 1, schedule) is None  # then the delivery has failed


async def test_an_event_arrives_once_signed_as_standard_webhooks_says(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
) -> None:
    org = await webhook_admin(bootstrap, "Receiving Org")
    response = await client.post(
        endpoints_url(org),
        json={"url": receiver.url(), "eventTypes": ["credential.revoked"], "description": "HR system"},
        headers=org.headers,
    )
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == '"v1"' and response.headers["cache-control"] == "no-store"
    endpoint = response.json()
    secret = endpoint["secret"]
    assert secret.startswith("whsec_") and 24 <= len(base64.b64decode(secret[6:])) <= 64
    assert response.headers["location"] == f"{endpoints_url(org)}/{endpoint['id']}"

    # The secret is shown once and stored only encrypted.
    read = await client.get(f"{endpoints_url(org)}/{endpoint['id']}", headers=org.headers)
    assert read.status_code == 200 and "secret" not in read.json() and read.headers["etag"] == '"v1"'
    listed = await client.get(endpoints_url(org), headers=org.headers)
    assert [e["id"] for e in listed.json()["items"]] == [endpoint["id"]]
    async with db.connection() as conn:
        stored = await conn.fetchval(
            "SELECT secret_ciphertext FROM webhook_endpoints WHERE id = $1", UUID(endpoint["id"])
        )
    assert secret.encode() not in stored and base64.b64decode(secret[6:]) not in stored

    await emit(db, redis, "credential.revoked", "credential/1", [org.org_id], id="c1", reason="withdrawn")
    await emit(db, redis, "credential.suspended", "credential/1", [org.org_id], id="c1")  # not subscribed
    await run_worker(redis, db, settings)

    [received] = receiver.requests
    assert received.method == "POST" and received.path == "/hooks"
    assert verify(secret, received) == [received.headers["webhook-signature"]]
    assert received.headers["content-type"] == "application/json"
    message = received.message
    assert message["type"] == "credential.revoked"
    assert message["data"] == {"id": "c1", "reason": "withdrawn"}  # the audience is not sent
    assert datetime.fromisoformat(message["timestamp"]) > datetime.now(UTC) - timedelta(minutes=1)

    [sent] = await deliveries(client, org, endpoint)
    assert sent["webhookId"] == received.headers["webhook-id"]
    assert (sent["status"], sent["attempts"], sent["lastResponseStatus"], sent["lastResponseExcerpt"]) == (
        "succeeded",
        1,
        200,
        "ok",
    )
    assert sent["eventType"] == "credential.revoked" and sent["subject"] == "credential/1"
    assert await worker_module.sweep_webhooks({"db": db, "redis": redis}) == 0  # nothing is left to send


async def test_a_receiver_that_fails_three_times_gets_the_event_exactly_once_more(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
) -> None:
    receiver.script = [
        Answer(500, b"boom"),
        Answer(302, b"", {"Location": "http://127.0.0.1:1/elsewhere"}),  # not followed: a failure
        Answer(503, b"x" * 5000),
    ]
    org = await webhook_admin(bootstrap, "Flaky Receiver")
    endpoint = await subscribe(client, org, receiver.url(), ["credential.revoked"])
    await emit(db, redis, "credential.revoked", "credential/7", [org.org_id], id="c7")
    await run_worker(redis, db, settings)

    assert len(receiver.requests) == 4
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # the same message each time
    assert len({r.body for r in receiver.requests}) == 1
    assert all(verify(endpoint["secret"], r) for r in receiver.requests)
    [sent] = await deliveries(client, org, endpoint)
    assert (sent["status"], sent["attempts"], sent["lastResponseStatus"]) == ("succeeded", 4, 200)
    logged = await attempts(client, org, endpoint, sent["id"])
    assert [(a["number"], a["succeeded"], a["responseStatus"]) for a in logged] == [
        (1, False, 500),
        (2, False, 302),
        (3, False, 503),
        (4, True, 200),
    ]
    assert "redirects are not followed" in logged[1]["error"]
    assert logged[2]["responseExcerpt"] == "x" * delivery.EXCERPT_BYTES  # a kilobyte of what it said

    await run_worker(redis, db, settings)
    assert await worker_module.sweep_webhooks({"db": db, "redis": redis}) == 0
    assert len(receiver.requests) == 4


async def test_a_receiver_that_was_down_gets_every_event_afterwards_in_order_per_subject(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, redis: ArqRedis, settings: Settings
) -> None:
    down = Receiver(free_port())  # nothing listens there yet
    org = await webhook_admin(bootstrap, "Sleepy Receiver")
    endpoint = await subscribe(client, org, down.url(), ["credential.revoked", "credential.suspended"])
    hourly = dataclasses.replace(settings, webhook_retry_schedule=(3600.0, 3600.0))
    events = [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3)]
    for credential, n in events:
        topic = "credential.suspended" if n == 2 else "credential.revoked"
        await emit(db, redis, topic, f"credential/{credential}", [org.org_id], credential=credential, n=n)
    await run_worker(redis, db, hourly)

    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT subject, status, attempts, last_error FROM webhook_deliveries ORDER BY event_id"
        )
    # The first of each subject was tried and failed; the others waited behind it, untried.
    assert [(r["subject"], r["status"], r["attempts"]) for r in rows] == [
        ("credential/a", "pending", 1),
        ("credential/b", "pending", 1),
        ("credential/a", "pending", 0),
        ("credential/b", "pending", 0),
        ("credential/a", "pending", 0),
    ]
    assert "ConnectError" in rows[0]["last_error"]

    await down.start()
    try:
        async with db.connection() as conn:  # an hour later
            await conn.execute("UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 second'")
        assert await worker_module.sweep_webhooks({"db": db, "redis": redis}) == 2  # one per subject
        await run_worker(redis, db, hourly)
    finally:
        await down.stop()

    received = [(r.message["data"]["credential"], r.message["data"]["n"]) for r in down.requests]
    assert sorted(received) == sorted(events)  # every event, each once
    assert [n for c, n in received if c == "a"] == [1, 2, 3]
    assert [n for c, n in received if c == "b"] == [1, 2]
    assert all(verify(endpoint["secret"], r) for r in down.requests)
    assert {d["status"] for d in await deliveries(client, org, endpoint)} == {"succeeded"}


async def test_a_delivery_waits_for_an_earlier_event_of_its_subject_that_is_still_being_handled(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
) -> None:
    """Two workers: one still handles the first event of a subject (its deliveries do not exist yet) while the
    other has handled the second. The second's delivery waits, and goes once the first's has gone."""
    org = await webhook_admin(bootstrap, "Patient Receiver")
    await subscribe(client, org, receiver.url(), ["credential.suspended", "credential.revoked"])
    audience = [str(org.org_id)]
    async with write(db, ACTOR) as w:  # no dispatcher: the test hands the events to the worker itself
        await w.emit("credential.suspended", "credential/z", org.org_id, {"n": 1, "audience": audience})
        await w.emit("credential.revoked", "credential/z", org.org_id, {"n": 2, "audience": audience})
    first, second = w.event_ids
    ctx = {"db": db, "redis": redis}

    assert await worker_module.process_outbox_event(ctx, second)
    await run_worker(redis, db, settings)
    assert receiver.requests == []  # held: the first event may still queue a delivery before it

    assert await worker_module.process_outbox_event(ctx, first)
    await run_worker(redis, db, settings)
    assert [r.message["data"]["n"] for r in receiver.requests] == [1, 2]


async def test_an_endpoint_that_keeps_failing_stops_and_catches_up_when_re_enabled(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
) -> None:
    receiver.default = Answer(500, b"down for maintenance")
    org = await webhook_admin(bootstrap, "Broken Receiver")
    endpoint = await subscribe(client, org, receiver.url(), ["credential.revoked"])
    url = f"{endpoints_url(org)}/{endpoint['id']}"
    await emit(db, redis, "credential.revoked", "credential/9", [org.org_id], n=1)
    await run_worker(redis, db, settings)

    assert len(receiver.requests) == 5  # the first attempt and four retries
    [gave_up] = await deliveries(client, org, endpoint)
    assert (gave_up["status"], gave_up["attempts"], gave_up["lastResponseExcerpt"]) == (
        "failed",
        5,
        "down for maintenance",
    )
    failing = await client.get(url, headers=org.headers)
    assert failing.json()["status"] == "failing" and failing.json()["failingSince"] is not None
    assert failing.headers["etag"] == '"v2"'
    async with db.connection() as conn:
        audited = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'webhook_endpoint.failing'")
    assert audited == 1

    only_failed = await client.get(f"{url}/deliveries", params={"status": "failed"}, headers=org.headers)
    assert [d["id"] for d in only_failed.json()["items"]] == [gave_up["id"]]

    # Events go on queueing, but nothing is attempted while it is failing.
    await emit(db, redis, "credential.revoked", "credential/9", [org.org_id], n=2)
    await run_worker(redis, db, settings)
    assert len(receiver.requests) == 5
    ping = await client.post(f"{url}/pings", headers=org.headers)
    assert ping.status_code == 409 and "failing" in ping.json()["detail"]

    receiver.default = Answer(204, b"")
    stale = await client.patch(url, json={"status": "enabled"}, headers={**org.headers, "If-Match": '"v1"'})
    assert stale.status_code == 412
    enabled = await client.patch(url, json={"status": "enabled"}, headers={**org.headers, "If-Match": '"v2"'})
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["status"] == "enabled" and enabled.json()["failingSince"] is None
    await run_worker(redis, db, settings)  # the API asked for a sweep when it re-enabled the endpoint

    assert [r.message["data"]["n"] for r in receiver.requests[5:]] == [1, 2]  # in order, each once
    assert {d["status"] for d in await deliveries(client, org, endpoint)} == {"succeeded"}
    failed = await client.get(f"{url}/deliveries", params={"status": "failed"}, headers=org.headers)
    assert failed.status_code == 200 and failed.json()["items"] == []


async def test_urls_that_reach_private_addresses_are_refused(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    org = await webhook_admin(bootstrap, "Curious Org")
    for url in (
        "https://10.0.0.1/hooks",
        "https://172.16.5.4/hooks",
        "https://192.168.1.20:8443/hooks",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/hooks",
        "https://0.0.0.0/hooks",
        "https://224.0.0.251/hooks",
        "https://[::ffff:10.0.0.1]/hooks",
        "https://[fe80::1]/hooks",
        "https://[fc00::1]/hooks",
        "https://[2002:a00:1::1]/hooks",
    ):
        response = await client.post(
            endpoints_url(org), json={"url": url, "eventTypes": ["credential.issued"]}, headers=org.headers
        )
        assert response.status_code == 422, (url, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "may not reach" in response.json()["detail"], url
    for url, reason in (
        ("https://user:secret@127.0.0.1/hooks", "user name or password"),
        ("https://127.0.0.1:99999/hooks", "cannot be read"),
    ):
        response = await client.post(
            endpoints_url(org), json={"url": url, "eventTypes": ["credential.issued"]}, headers=org.headers
        )
        assert response.status_code == 422 and reason in response.json()["detail"], (url, response.text)
    assert (await client.get(endpoints_url(org), headers=org.headers)).json()["items"] == []


async def test_the_url_policy_allows_only_what_the_operator_allows() -> None:
    strict = UrlPolicy(require_https=True, allowed_networks=())
    for url in ("https://127.0.0.1/hooks", "https://127.1/hooks", "https://[::1]/hooks", "https://[::ffff:127.0.0.1]/"):
        with pytest.raises(UrlRefused, match="loopback"):
            await check_url(url, strict)
    loopback = UrlPolicy(require_https=True, allowed_networks=LOOPBACK_NETWORKS)
    with pytest.raises(UrlRefused, match="must use https"):
        await check_url("http://127.0.0.1:8080/hooks", loopback)  # production: https only
    assert (
        await check_url(
            "http://127.0.0.1:8080/hooks", UrlPolicy(require_https=False, allowed_networks=LOOPBACK_NETWORKS)
        )
    ).port == 8080

    internal = UrlPolicy(require_https=False, allowed_networks=(ipaddress.ip_network("10.20.0.0/16"),))
    target = await check_url("https://10.20.1.2:8443/hooks", internal)
    assert target.addresses == (ipaddress.ip_address("10.20.1.2"),) and target.port == 8443
    with pytest.raises(UrlRefused, match="may not reach"):
        await check_url("https://10.21.0.1/hooks", internal)
    with pytest.raises(UrlRefused, match="must use https"):
        await check_url("http://10.20.1.2/hooks", internal)  # plain http only to loopback
    with pytest.raises(UrlRefused, match="fragment"):
        await check_url("https://10.20.1.2/hooks#part", internal)

    async def public_then_private(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.1")]

    async def public(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("93.184.216.34")]

    assert (await check_url("https://hooks.example/x", strict, resolve=public)).host == "hooks.example"
    with pytest.raises(UrlRefused, match=r"10\.0\.0\.1 is a private address"):
        await check_url("https://hooks.example/x", strict, resolve=public_then_private)


def test_the_allowed_networks_setting() -> None:
    env = {"DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x", "GUILDHALL_MASTER_KEY": TEST_MASTER_KEY}
    assert Settings.from_env({**env, "GUILDHALL_ENV": "test"}).webhook_networks == LOOPBACK_NETWORKS
    assert Settings.from_env({**env, "GUILDHALL_ENV": "production"}).webhook_networks == ()
    assert (
        Settings.from_env({**env, "GUILDHALL_ENV": "test", "GUILDHALL_WEBHOOK_ALLOWED_NETWORKS": ""}).webhook_networks
        == ()
    )
    chosen = Settings.from_env({**env, "GUILDHALL_WEBHOOK_ALLOWED_NETWORKS": "10.1.0.0/16, fd00::/8"})
    assert chosen.webhook_networks == (ipaddress.ip_network("10.1.0.0/16"), ipaddress.ip_network("fd00::/8"))
    timed = Settings.from_env({**env, "GUILDHALL_WEBHOOK_RETRY_SCHEDULE": "1,2.5", "GUILDHALL_WEBHOOK_TIMEOUT": "3"})
    assert timed.webhook_retry_schedule == (1.0, 2.5) and timed.webhook_timeout == 3.0
    for name, value in (
        ("GUILDHALL_WEBHOOK_ALLOWED_NETWORKS", "everything"),
        ("GUILDHALL_WEBHOOK_RETRY_SCHEDULE", "soon"),
        ("GUILDHALL_WEBHOOK_TIMEOUT", "300"),
    ):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({**env, name: value})


async def test_a_delivery_connects_to_the_address_it_checked_and_checks_again_each_time(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
) -> None:
    options = worker_module.webhook_options(settings)

    async def loopback(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")]

    async def rebound(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.0.0.1")]

    # The host name is looked up once, checked, and that address is the one connected to.
    url = f"http://hooks.example.test:{receiver.port}/pinned"
    answer = await delivery.post(url, b"{}", {}, options, resolve=loopback)
    assert answer.succeeded and receiver.requests[-1].headers["host"] == f"hooks.example.test:{receiver.port}"
    # A lookup that now also gives an internal address sends nothing.
    refused = await delivery.post(url, b"{}", {}, options, resolve=rebound)
    assert refused.status is None and refused.error is not None and "10.0.0.1" in refused.error
    assert len(receiver.requests) == 1

    # The operator stops allowing loopback: the next attempt is refused before connecting, and logged.
    org = await webhook_admin(bootstrap, "Moved Receiver")
    endpoint = await subscribe(client, org, receiver.url(), ["credential.revoked"])
    await emit(db, redis, "credential.revoked", "credential/3", [org.org_id], n=1)
    strict = dataclasses.replace(settings, webhook_allowed_networks=(), webhook_retry_schedule=(3600.0,))
    await run_worker(redis, db, strict)
    assert len(receiver.requests) == 1
    [held] = await deliveries(client, org, endpoint)
    assert held["status"] == "pending" and held["attempts"] == 1
    assert held["lastError"].startswith("not sent:") and "loopback" in held["lastError"]


async def test_other_organisations_and_tokens_without_the_scope_get_nothing(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, receiver: Receiver
) -> None:
    a = await webhook_admin(bootstrap, "Organisation A")
    b = await webhook_admin(bootstrap, "Organisation B")
    b_endpoint = await subscribe(client, b, receiver.url(), ["credential.issued"])
    # B's endpoint through A's own organisation: it does not exist there.
    a_path = f"{endpoints_url(a)}/{b_endpoint['id']}"
    for method, url, body, headers in (
        ("GET", a_path, None, {}),
        ("PATCH", a_path, {"description": "mine now"}, {"If-Match": '"v1"'}),
        ("DELETE", a_path, None, {"If-Match": '"v1"'}),
        ("POST", f"{a_path}/secret-rotation", {}, {}),
        ("POST", f"{a_path}/pings", None, {}),
        ("GET", f"{a_path}/deliveries", None, {}),
    ):
        response = await client.request(method, url, json=body, headers={**a.headers, **headers})
        assert response.status_code == 404, (method, url, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    # B's endpoint through B's organisation, with A's token: A is no member there.
    b_path = f"{endpoints_url(b)}/{b_endpoint['id']}"
    for method, url in (("GET", endpoints_url(b)), ("GET", b_path), ("POST", f"{b_path}/pings")):
        response = await client.request(method, url, headers=a.headers)
        assert response.status_code == 403, (method, url, response.text)
    # A token of B's own organisation without webhooks:manage, and no token at all.
    reader = await bootstrap.oauth_client(b.org_id, ["organisations:write", "credentials:issue"])
    assert reader[1] is not None
    token = await bootstrap.token(reader[0], reader[1])
    no_scope = await client.get(b_path, headers={"Authorization": f"Bearer {token}"})
    assert no_scope.status_code == 403 and "lacks the scope webhooks:manage" in no_scope.json()["detail"]
    anonymous = await client.get(b_path)
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"

    untouched = await client.get(b_path, headers=b.headers)
    assert untouched.json()["version"] == 1 and untouched.json()["description"] is None


async def test_people_manage_webhooks_as_admins_only(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, receiver: Receiver
) -> None:
    org = await webhook_admin(bootstrap, "People Org")
    app_id, app_secret = await bootstrap.oauth_client(
        org.org_id, ["webhooks:manage"], grant_types=["authorization_code"], redirect_uris=[APP_REDIRECT_URI]
    )
    assert app_secret is not None
    password = "correct horse battery staple"
    await bootstrap.member(org.org_id, "author@people.example", ["author"], password=password)
    await bootstrap.member(org.org_id, "admin@people.example", ["admin"], password=password)
    author = await person_token(client, app_id, app_secret, "author@people.example", password, "webhooks:manage")
    admin = await person_token(client, app_id, app_secret, "admin@people.example", password, "webhooks:manage")
    body = {"url": receiver.url(), "eventTypes": ["credential.issued"]}

    by_author = await client.post(endpoints_url(org), json=body, headers={"Authorization": f"Bearer {author}"})
    assert by_author.status_code == 403 and "you hold author" in by_author.json()["detail"]
    by_admin = await client.post(endpoints_url(org), json=body, headers={"Authorization": f"Bearer {admin}"})
    assert by_admin.status_code == 201, by_admin.text


async def test_a_rotated_secret_signs_beside_the_new_one_during_the_overlap(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
) -> None:
    org = await webhook_admin(bootstrap, "Rotating Org")
    endpoint = await subscribe(client, org, receiver.url(), ["credential.issued"])
    url = f"{endpoints_url(org)}/{endpoint['id']}"
    first = endpoint["secret"]

    rotated = await client.post(f"{url}/secret-rotation", json={}, headers=org.headers)
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store" and rotated.headers["etag"] == '"v2"'
    second = rotated.json()["secret"]
    assert second.startswith("whsec_") and second != first
    until = datetime.fromisoformat(rotated.json()["previousSecretExpiresAt"])
    assert timedelta(hours=23) < until - datetime.now(UTC) <= timedelta(hours=24)

    ping = await client.post(f"{url}/pings", headers=org.headers)
    assert ping.status_code == 202 and ping.json()["eventType"] == "webhook.ping", ping.text
    await run_worker(redis, db, settings)
    [received] = receiver.requests
    assert received.message["type"] == "webhook.ping"
    assert received.message["data"] == {"endpointId": endpoint["id"], "organisationId": str(org.org_id)}
    signatures = received.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert verify(second, received) == [signatures[0]] and verify(first, received) == [signatures[1]]

    # An overlap of zero retires the replaced secret at once.
    third = await client.post(f"{url}/secret-rotation", json={"overlapSeconds": 0}, headers=org.headers)
    assert third.json()["previousSecretExpiresAt"] is None
    await client.post(f"{url}/pings", headers=org.headers)
    await run_worker(redis, db, settings)
    latest = receiver.requests[-1]
    assert verify(third.json()["secret"], latest) == [latest.headers["webhook-signature"]]
    assert verify(second, latest) == []


async def test_a_replay_sends_the_same_message_again(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
) -> None:
    org = await webhook_admin(bootstrap, "Forgetful Receiver")
    endpoint = await subscribe(client, org, receiver.url(), ["credential.issued"])
    await emit(db, redis, "credential.issued", "credential/5", [org.org_id], id="c5")
    await run_worker(redis, db, settings)
    [sent] = await deliveries(client, org, endpoint)

    replay_url = f"{endpoints_url(org)}/{endpoint['id']}/deliveries/{sent['id']}/replay"
    replayed = await client.post(replay_url, headers=org.headers)
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["status"] == "pending" and replayed.json()["webhookId"] == sent["webhookId"]
    again = await client.post(replay_url, headers=org.headers)
    assert again.status_code == 409  # it is already on its way
    await run_worker(redis, db, settings)

    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] and first.body == second.body
    assert verify(endpoint["secret"], second)
    logged = await attempts(client, org, endpoint, sent["id"])
    assert [(a["number"], a["succeeded"]) for a in logged] == [(1, True), (2, True)]
    read = await client.get(f"{endpoints_url(org)}/{endpoint['id']}/deliveries/{sent['id']}", headers=org.headers)
    assert (read.json()["status"], read.json()["attempts"]) == ("succeeded", 2)


async def test_only_the_audience_of_an_event_receives_it(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
) -> None:
    # A provider and a chamber co-design and publish a programme (its events queued for the worker at commit).
    room = await classroom(client, bootstrap)
    outsider = await webhook_admin(bootstrap, "Not a Co-author")
    admins = {"outsider": outsider}
    for name, member in (("provider", room.provider), ("chamber", room.chamber)):
        client_id, secret = await bootstrap.oauth_client(member.org_id, ["webhooks:manage"])
        assert secret is not None
        admins[name] = Integrator(member.organisation, client_id, secret, await bootstrap.token(client_id, secret))
    types = [
        "programme.proposed",
        "programme.approved",
        "programme.published",
        "attempt.recorded",
        "credential.revoked",
    ]
    secrets = {
        name: (await subscribe(client, who, receiver.url(f"/{name}"), types))["secret"] for name, who in admins.items()
    }

    recorded = await client.post(
        room.attempts_url, headers=room.provider.headers, json=room.attempt(welding("l1", "l1", 0))
    )
    assert recorded.status_code == 201, recorded.text
    await emit(db, redis, "credential.revoked", "credential/x", [room.chamber.org_id], id="x")
    await run_worker(redis, db, settings)

    design_events = ["programme.proposed", "programme.approved", "programme.published"]
    for name in ("provider", "chamber"):
        got = receiver.at(f"/{name}")
        assert all(verify(secrets[name], r) for r in got)
        received_types = [r.message["type"] for r in got]
        assert [t for t in received_types if t.startswith("programme.")] == design_events  # in order
        assert received_types.count("attempt.recorded") == 1
        design = next(r.message["data"] for r in got if r.message["type"] == "programme.published")
        assert design["id"] == room.programme_id
    assert "credential.revoked" not in [r.message["type"] for r in receiver.at("/provider")]
    assert [r.message["type"] for r in receiver.at("/chamber")].count("credential.revoked") == 1
    assert receiver.at("/outsider") == []


async def test_changes_need_the_current_etag_and_a_deleted_endpoint_gets_nothing(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    redis: ArqRedis,
    settings: Settings,
    receiver: Receiver,
) -> None:
    org = await webhook_admin(bootstrap, "Tidy Org")
    endpoint = await subscribe(client, org, receiver.url(), ["credential.issued"])
    url = f"{endpoints_url(org)}/{endpoint['id']}"
    change = {"eventTypes": ["credential.revoked", "credential.issued"], "description": "Payroll"}
    assert (await client.patch(url, json=change, headers=org.headers)).status_code == 428
    assert (await client.patch(url, json=change, headers={**org.headers, "If-Match": '"v7"'})).status_code == 412
    private = await client.patch(url, json={"url": "https://10.9.8.7/"}, headers={**org.headers, "If-Match": '"v1"'})
    assert private.status_code == 422
    changed = await client.patch(url, json=change, headers={**org.headers, "If-Match": '"v1"'})
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"v2"'
    assert changed.json()["eventTypes"] == ["credential.issued", "credential.revoked"]
    assert changed.json()["description"] == "Payroll" and changed.json()["url"] == receiver.url()

    paused = await client.patch(url, json={"status": "disabled"}, headers={**org.headers, "If-Match": '"v2"'})
    assert paused.json()["status"] == "disabled"
    await emit(db, redis, "credential.issued", "credential/4", [org.org_id], id="c4")
    await run_worker(redis, db, settings)
    assert receiver.requests == [] and await deliveries(client, org, endpoint) == []  # nothing queued for it

    deleted = await client.delete(url, headers={**org.headers, "If-Match": '"v3"'})
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(url, headers=org.headers)).status_code == 404
    async with db.connection() as conn:
        actions = [
            r["action"]
            for r in await conn.fetch("SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id", endpoint["id"])
        ]
    assert actions == [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.updated",
        "webhook_endpoint.deleted",
    ]
