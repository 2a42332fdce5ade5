"""Every webhook event type reaches its subscriber within seconds of the call that caused it.

A real worker (the one `guildhall worker` runs, polling Redis) runs beside the test without its periodic
sweeps, and a real receiver listens on loopback: an event that is not handed to the job queue when its
transaction commits never arrives here, where in production it would wait for the sweep (about half a
minute). Each HTTP call is timed from just before it is sent to the arrival of the deliveries it causes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.db import Database
from domain.webhooks.models import EVENT_TYPES
from tests.conftest import Bootstrap, Integrator
from tests.outbox_drain import drain
from tests.scenarios import classroom
from tests.test_attempts import welding
from tests.test_codesign_tekniq import programme_content, welder_profile
from tests.test_learner_claims import claim, issue, learner_token
from tests.webhook_receiver import Received, Receiver
from tests.worker_harness import running_worker, undone

# What "at once" means on a busy 2-core machine: the sweep would take 5 to 35 s.
LIMIT = 3.0
# How long to wait for an event before calling it lost (the limit is checked on what arrived).
PATIENCE = 12.0


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.stop()


class Arrivals:
    """The receiver's requests, each claimed by the step that caused it."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.claimed: set[int] = set()
        self.latencies: dict[str, float] = {}

    async def after(self, started: float, *types: str) -> list[Received]:
        deadline = started + PATIENCE
        wanted = list(types)
        found: dict[str, Received] = {}
        while True:
            for index, received in enumerate(self.receiver.requests):
                kind = received.message["type"]
                fresh = received.at >= started
                if fresh and index not in self.claimed and kind in wanted and kind not in found:
                    found[kind] = received
                    self.claimed.add(index)
            if len(found) == len(wanted) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.02)
        missing = [t for t in wanted if t not in found]
        everything = [(r.message["type"], round(r.at - started, 3)) for r in self.receiver.requests]
        assert not missing, f"not delivered within {PATIENCE} s: {missing} (got {list(found)}; all: {everything})"
        for kind, received in found.items():
            self.latencies[kind] = round(received.at - started, 3)
        slow = {kind: self.latencies[kind] for kind in found if self.latencies[kind] > LIMIT}
        assert not slow, f"delivered later than {LIMIT} s after the call: {slow}"
        return [found[t] for t in wanted]


async def timed(call: Any) -> tuple[float, Response]:
    started = time.monotonic()
    response: Response = await call
    assert response.status_code in (200, 201), response.text
    return started, response


async def test_every_event_type_arrives_within_seconds_of_its_call(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, receiver: Receiver
) -> None:
    room = await classroom(client, bootstrap)
    await drain(db, settings)  # the classroom's own events, before anyone subscribes
    provider, chamber = room.provider, room.chamber
    client_id, secret = await bootstrap.oauth_client(provider.org_id, ["webhooks:manage"])
    assert secret is not None
    admin = Integrator(provider.organisation, client_id, secret, await bootstrap.token(client_id, secret))
    # The provider leads the designs, awards, assesses: it may see every event type.
    subscribed = await client.post(
        f"/organisations/{provider.org_id}/webhook-endpoints",
        json={"url": receiver.url(), "eventTypes": list(EVENT_TYPES)},
        headers=admin.headers,
    )
    assert subscribed.status_code == 201, subscribed.text
    arrivals = Arrivals(receiver)

    async with running_worker(settings, cron_jobs=[], poll_delay=0.05):
        # A programme: proposed, then approved by the chamber, which publishes it.
        content = {
            **programme_content(
                await welder_profile(client, provider), str(provider.org_id), str(chamber.org_id), str(provider.org_id)
            ),
            "eqfLevel": 4,
        }
        created = await client.post("/programmes", json={"content": content}, headers=provider.headers)
        pid = created.json()["designId"]
        await timed(
            client.put(
                f"/programmes/{pid}/coauthors/{chamber.org_id}",
                json={"roles": ["approver", "cosigner"]},
                headers=provider.headers,
            )
        )
        started, _ = await timed(
            client.post(f"/programmes/{pid}/versions/1/proposal", headers={**provider.headers, "If-Match": '"v1"'})
        )
        await arrivals.after(started, "programme.proposed")
        started, _ = await timed(
            client.post(
                f"/programmes/{pid}/versions/1/decisions", json={"decision": "approve"}, headers=chamber.headers
            )
        )
        await arrivals.after(started, "programme.approved", "programme.published")

        # A qualification on the classroom's welding unit, the same way.
        created = await client.post(
            "/qualifications",
            headers=provider.headers,
            json={
                "content": {
                    "title": {"en": "Certified welder"},
                    "description": {"en": "The welding unit, co-signed"},
                    "awardingBodyId": str(provider.org_id),
                    "eqfLevel": 4,
                    "qualityAssurance": {"type": "chamber_approval"},
                    "validityMonths": 60,
                    "rule": {"allOf": [{"programmeId": room.programme_id, "unitKey": "u1"}]},
                }
            },
        )
        assert created.status_code == 201, created.text
        qid = created.json()["designId"]
        await timed(
            client.put(
                f"/qualifications/{qid}/coauthors/{chamber.org_id}",
                json={"roles": ["approver"]},
                headers=provider.headers,
            )
        )
        started, _ = await timed(
            client.post(f"/qualifications/{qid}/versions/1/proposal", headers={**provider.headers, "If-Match": '"v1"'})
        )
        await arrivals.after(started, "qualification.proposed")
        started, _ = await timed(
            client.post(
                f"/qualifications/{qid}/versions/1/decisions", json={"decision": "approve"}, headers=chamber.headers
            )
        )
        await arrivals.after(started, "qualification.approved", "qualification.published")

        # A passing attempt: recorded, passed, and the worker issues a credential that waits for the chamber.
        started, _ = await timed(
            client.post(room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=provider.headers)
        )
        *_, waiting = await arrivals.after(
            started, "attempt.recorded", "attempt.passed", "credential.awaiting_cosignature"
        )
        credential = f"/credentials/{waiting.message['data']['credentialId']}"

        # The chamber co-signs; the unit completes the qualification, whose credential is issued at once.
        started, _ = await timed(client.post(f"{credential}/cosignature", headers=chamber.headers))
        cosigned, issued, awarded = await arrivals.after(
            started, "credential.cosigned", "credential.issued", "qualification.awarded"
        )
        assert issued.message["data"]["kind"] == awarded.message["data"]["kind"] == "qualification"

        # Recognition: the learner asks the awarding body to recognise their unit credential; a rule grants at
        # once (a prior_learning attempt, passed: they hold the unit already, so nothing more is issued); a
        # request for the other unit waits for an assessor, who refuses it.
        assert (await claim(client, await issue(client, provider, room.learner_id))).status_code == 200
        me = await learner_token(client, bootstrap, scopes="credentials:read portfolio:write")
        unit_id = cosigned.message["data"]["credentialId"]
        [unit] = [e for e in (await client.get("/me/portfolio", headers=me)).json()["entries"] if e["id"] == unit_id]
        rule = {
            "programmeId": room.programme_id,
            "unitKey": "u1",
            "kind": "achievement",
            "achievementIds": [unit["achievement"]["id"]],
        }
        ruled = await client.post(
            f"/organisations/{provider.org_id}/recognition-rules/", json=rule, headers=provider.headers
        )
        assert ruled.status_code == 201, ruled.text
        asked = {"programmeId": room.programme_id, "credentials": [{"source": "guildhall", "id": unit_id}]}
        started, _ = await timed(client.post("/me/recognition-requests", json={**asked, "unitKey": "u1"}, headers=me))
        await arrivals.after(
            started, "recognition.requested", "recognition.granted", "attempt.recorded", "attempt.passed"
        )
        started, pending = await timed(
            client.post("/me/recognition-requests", json={**asked, "unitKey": "sim"}, headers=me)
        )
        await arrivals.after(started, "recognition.requested")
        started, _ = await timed(
            client.post(
                f"/organisations/{provider.org_id}/recognition-requests/{pending.json()['id']}/decision",
                json={"decision": "refuse", "reasons": ["a welding unit does not cover the simulation"]},
                headers={**provider.headers, "If-Match": '"v1"'},
            )
        )
        await arrivals.after(started, "recognition.refused")

        # The awarding body suspends, reinstates and revokes.
        reason = {"reason": "Under investigation"}
        started, _ = await timed(client.post(f"{credential}/suspension", json=reason, headers=provider.headers))
        await arrivals.after(started, "credential.suspended")
        started, _ = await timed(client.delete(f"{credential}/suspension", headers=provider.headers))
        await arrivals.after(started, "credential.reinstated")
        started, _ = await timed(
            client.post(f"{credential}/revocation", json={"reason": "Issued in error"}, headers=provider.headers)
        )
        [revoked] = await arrivals.after(started, "credential.revoked")
        assert revoked.message["data"]["credentialId"] == cosigned.message["data"]["credentialId"]

        # A failed attempt: attempt.failed is for the worker, not for subscribers, and is handled at once too.
        started, _ = await timed(
            client.post(room.attempts_url, json=room.attempt(welding("l1", "l1", 0)), headers=provider.headers)
        )
        await arrivals.after(started, "attempt.recorded")
        async with asyncio.timeout(PATIENCE):  # every event of the story was dispatched when it committed
            while left := await undone(db):
                assert time.monotonic() - started < LIMIT, f"outbox events not handled at once: {left}"
                await asyncio.sleep(0.05)

    assert sorted(arrivals.latencies) == sorted(EVENT_TYPES), "every event type was caused and timed"
    unasked = [r.message["type"] for i, r in enumerate(receiver.requests) if i not in arrivals.claimed]
    assert unasked == [], "no event arrived twice or unasked"
