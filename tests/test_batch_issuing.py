"""Issuing a chunk of passes at once (domain/credentials/batch.py) gives what issuing them one by one gives,
exactly once: the same documents, signatures, audit entries and events; a chunk run twice or by two workers
at once issues nothing twice; a bad event in a chunk holds back no other."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from uuid import uuid4

import msgspec
import pytest
from arq import Retry
from joserfc.jwk import OKPKey
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api import worker as worker_module
from api.settings import Settings
from domain import outbox
from domain.credentials import batch, envelopes, keys
from domain.db import Database
from tests.conftest import Bootstrap
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credentials_lifecycle import cosign_all, publish_qualification

PASSING = welding("l3", "l4", 10)
SIMULATED = {"mode": "simulation", "runs": [{"scaledScore": 0.91, "durationSeconds": 600}]}
CREDENTIAL_TOPICS = ("credential.issued", "credential.awaiting_cosignature", "qualification.awarded")


async def learners(client: AsyncTestClient[Litestar], room: Classroom, count: int) -> list[tuple[str, str]]:
    """The classroom's learner and ``count - 1`` more, each enrolled in the programme: (learner, enrolment)."""
    made = [(room.learner_id, room.enrolment_id)]
    base = f"/organisations/{room.provider.org_id}/learners"
    for i in range(1, count):
        body = {"name": f"Learner {i}", "email": f"learner{i}@example.de"}
        learner = await client.post(base, json=body, headers=room.provider.headers)
        assert learner.status_code == 201, learner.text
        path = f"{base}/{learner.json()['id']}/enrolments"
        enrolment = await client.post(path, json={"programmeId": room.programme_id}, headers=room.provider.headers)
        assert enrolment.status_code == 201, enrolment.text
        made.append((learner.json()["id"], enrolment.json()["id"]))
    return made


async def passes(
    client: AsyncTestClient[Litestar], room: Classroom, who: list[tuple[str, str]], unit_key: str = "u1"
) -> None:
    for learner_id, enrolment_id in who:
        body = {
            **room.attempt(PASSING if unit_key == "u1" else SIMULATED, unit_key=unit_key),
            "learnerId": learner_id,
            "enrolmentId": enrolment_id,
        }
        recorded = await client.post(room.attempts_url, json=body, headers=room.provider.headers)
        assert recorded.status_code == 201, recorded.text
        assert recorded.json()["decision"]["passed"], recorded.text


async def subscribe(client: AsyncTestClient[Litestar], bootstrap: Bootstrap, room: Classroom, types: list[str]) -> None:
    """A webhook endpoint of the provider for these event types (nothing listens: only deliveries are queued)."""
    client_id, secret = await bootstrap.oauth_client(room.provider.org_id, ["webhooks:manage"])
    assert secret is not None
    headers = {"Authorization": f"Bearer {await bootstrap.token(client_id, secret)}"}
    body = {"url": "http://127.0.0.1:9/hooks", "eventTypes": types}
    created = await client.post(f"/organisations/{room.provider.org_id}/webhook-endpoints", json=body, headers=headers)
    assert created.status_code == 201, created.text


def context(settings: Settings) -> outbox.HandlerContext:
    return outbox.HandlerContext(master_key=settings.master_key, public_url=settings.issuer)


async def pending(db: Database, topic: str | None = None) -> list[int]:
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT id FROM outbox WHERE done_at IS NULL AND ($1::text IS NULL OR topic = $1) ORDER BY id", topic
        )
    return [r["id"] for r in rows]


async def run_chunks(db: Database, settings: Settings, size: int = 50) -> int:
    """What the worker does with the sweep's chunks, until nothing is pending (no Redis: no dispatch)."""
    ctx = {"db": db, "handler_context": context(settings)}
    done = 0
    while ids := await pending(db):
        for start in range(0, len(ids), size):
            done += await worker_module.process_outbox_events(ctx, ids[start : start + size])
    return done


async def snapshot(db: Database, audit_after: int = 0, events_after: int = 0) -> dict[str, Any]:
    """Credentials, signatures, audit entries and events, with credential ids replaced by issuance keys and
    what differs by nature (slot index, dates) replaced by placeholders."""
    async with db.connection() as conn:
        credentials = [dict(r) for r in await conn.fetch("SELECT * FROM credentials ORDER BY issuance_key")]
        signatures = await conn.fetch("SELECT * FROM credential_signatures")
        audit = await conn.fetch(
            "SELECT organisation_id, actor_person_id, actor_client_id, action, target_type, target_id, request_id, "
            "details FROM audit_log WHERE id > $1 AND target_type = 'credential'",
            audit_after,
        )
        events = await conn.fetch(
            "SELECT topic, organisation_id, subject, payload FROM outbox WHERE id > $1 AND topic = ANY($2::text[])",
            events_after,
            list(CREDENTIAL_TOPICS),
        )
        deliveries = await conn.fetch("SELECT endpoint_id, event_type, subject, body FROM webhook_deliveries")
    names = {str(c["id"]): c["issuance_key"] for c in credentials}

    def named(text: str) -> str:
        return re.sub(
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", lambda m: names.get(m[0], m[0]), text
        )

    documents, rows = {}, {}
    for c in credentials:
        document = msgspec.json.decode(c["payload"])
        for moment in ("validFrom", "awardedDate", "validUntil", "nbf", "iat", "exp"):  # the JWT claims too
            document[moment] = "<date>" if moment in document else None
        status = document["credentialStatus"]
        status["id"] = status["id"].rsplit("#", 1)[0] + "#<index>"
        status["statusListIndex"] = "<index>"
        documents[c["issuance_key"]] = msgspec.json.decode(named(msgspec.json.encode(document).decode()))
        length = c["valid_until"] - c["issued_at"] if c["valid_until"] else None
        skip = {"id", "payload", "status_index", "issued_at", "valid_until", "created_at", "updated_at", "stands_on"}
        rows[c["issuance_key"]] = {
            **{k: v for k, v in c.items() if k not in skip},
            "validity": length,
            "stands_on": [names[str(i)] for i in c["stands_on"]],
        }
    headers = sorted(
        (
            names[str(s["credential_id"])],
            s["role"],
            msgspec.json.encode(envelopes.Signature(s["protected"], s["signature"]).header()),
        )
        for s in signatures
    )
    return {
        "documents": documents,
        "rows": rows,
        "signatures": headers,
        "audit": sorted(named(msgspec.json.encode(dict(r)).decode()) for r in audit),
        "events": sorted(named(msgspec.json.encode(dict(r)).decode()) for r in events),
        "deliveries": sorted(
            named(
                msgspec.json.encode({**dict(r), "body": {**msgspec.json.decode(r["body"]), "timestamp": None}}).decode()
            )
            for r in deliveries
        ),
    }


async def forget_issuing(db: Database) -> tuple[int, int]:
    """Takes back what issuing wrote, so that the same passes can be issued again the other way; returns the
    last audit and outbox ids, after which the second round's entries come."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM webhook_deliveries")
        await conn.execute("DELETE FROM credential_signatures")
        await conn.execute("DELETE FROM credentials")
        await conn.execute("DELETE FROM outbox WHERE topic = ANY($1::text[])", list(CREDENTIAL_TOPICS))
        await conn.execute("UPDATE outbox SET done_at = NULL WHERE topic = 'attempt.passed'")
        audit = await conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")
        events = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    return audit, events


async def test_a_batch_issues_exactly_what_the_single_path_issues(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    await subscribe(client, bootstrap, room, ["attempt.passed", "credential.awaiting_cosignature"])
    who = await learners(client, room, 6)
    await passes(client, room, who)
    await passes(client, room, who[:2], unit_key="sim")  # two learners complete the programme
    await drain(db, settings)  # one by one
    one_by_one = await snapshot(db)
    kinds = sorted((row["kind"], row["unit_key"]) for row in one_by_one["rows"].values())
    assert kinds == [("programme", None)] * 2 + [("unit", "sim")] * 2 + [("unit", "u1")] * 6

    audit_after, events_after = await forget_issuing(db)
    assert await run_chunks(db, settings) >= 8
    batched = await snapshot(db, audit_after, events_after)

    assert batched["rows"] == one_by_one["rows"]
    assert batched["documents"] == one_by_one["documents"]
    assert batched["signatures"] == one_by_one["signatures"]
    assert batched["audit"] == one_by_one["audit"]
    assert batched["events"] == one_by_one["events"]
    assert batched["deliveries"] == one_by_one["deliveries"] and len(one_by_one["deliveries"]) == 8 + 10
    # Each signature verifies against the awarding body's published keys.
    async with db.connection() as conn:
        jwks = await keys.published_keys(conn, room.provider.org_id)
        rows = await conn.fetch(
            "SELECT c.payload, s.protected, s.signature FROM credentials c "
            "JOIN credential_signatures s ON s.credential_id = c.id"
        )
    for row in rows:
        signature = envelopes.Signature(row["protected"], row["signature"])
        assert keys.verify_compact(signature.compact(row["payload"]), jwks)[1] == row["payload"]


async def test_the_plain_cases_go_the_batch_way(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    """Learners passing one unit of a two-unit programme: no programme credential, so the batch issues all."""
    room = await classroom(client, bootstrap)
    await passes(client, room, await learners(client, room, 5))
    calls: list[str] = []
    original = batch.handlers.issue_on_pass

    async def counting(conn: Any, event: outbox.OutboxEvent) -> None:
        calls.append(event.payload["attemptId"])
        await original(conn, event)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch.handlers, "issue_on_pass", counting)
        await run_chunks(db, settings)
    assert calls == []  # none went the single way
    async with db.connection() as conn:
        states = [r["state"] for r in await conn.fetch("SELECT state FROM credentials")]
    assert states == ["awaiting_cosignature"] * 5


async def counts(db: Database) -> dict[str, int]:
    async with db.connection() as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM credentials) AS credentials, "
            "(SELECT count(DISTINCT attempt_id) FROM credentials) AS attempts, "
            "(SELECT count(*) FROM credential_signatures) AS signatures, "
            "(SELECT count(*) FROM audit_log WHERE target_type = 'credential') AS audited, "
            "(SELECT count(*) FROM outbox WHERE topic = 'credential.awaiting_cosignature') AS events, "
            "(SELECT count(*) FROM outbox WHERE done_at IS NULL AND topic = 'attempt.passed') AS undone"
        )
    return dict(row)


async def test_a_batch_processed_twice_or_by_two_workers_at_once_issues_once(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, database_url: str
) -> None:
    room = await classroom(client, bootstrap)
    await passes(client, room, await learners(client, room, 8))
    ids = await pending(db, "attempt.passed")
    assert len(ids) == 8
    other = await Database.connect(database_url, min_size=1, max_size=2)
    try:
        # Two workers with overlapping chunks at the same moment, then the first chunk once more.
        done = await asyncio.gather(
            outbox.process_events(db, ids[:6], context(settings)),
            outbox.process_events(other, ids[3:], context(settings)),
        )
        assert await outbox.process_events(db, ids[:6], context(settings)) == 0
        assert await outbox.process_events(other, ids, context(settings)) == 0
    finally:
        await other.close()
    assert sum(done) == 8
    assert await counts(db) == {
        "credentials": 8, "attempts": 8, "signatures": 8, "audited": 8, "events": 8, "undone": 0,
    }  # fmt: skip


async def test_a_failing_event_in_a_batch_holds_back_no_other(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    await passes(client, room, await learners(client, room, 4))
    async with db.connection() as conn:
        bad = await conn.fetchval(
            "INSERT INTO outbox (topic, organisation_id, subject, payload) "
            "VALUES ('attempt.passed', $1, 'learner/nobody', '{\"attemptId\": \"not-an-id\"}') RETURNING id",
            room.provider.org_id,
        )
    ids = sorted([*await pending(db, "attempt.passed"), bad])
    ctx = {"db": db, "handler_context": context(settings), "job_try": 1}
    for _ in range(2):  # the job, then its retry
        with pytest.raises(Retry):
            await worker_module.process_outbox_events(ctx, ids)
    assert await counts(db) == {
        "credentials": 4, "attempts": 4, "signatures": 4, "audited": 4, "events": 4, "undone": 1,
    }  # fmt: skip
    async with db.connection() as conn:
        row = await conn.fetchrow("SELECT attempts, last_error, done_at FROM outbox WHERE id = $1", bad)
    assert row["attempts"] == 2 and row["done_at"] is None
    assert "not-an-id" in row["last_error"] or "UUID" in row["last_error"] or "hexadecimal" in row["last_error"]


async def test_cosigned_units_in_a_batch_stack_into_the_same_qualifications(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    pid = room.programme_id
    rule = {"allOf": [{"programmeId": pid, "unitKey": "u1"}, {"programmeId": pid, "unitKey": "sim"}]}
    await publish_qualification(client, room, rule)
    who = await learners(client, room, 4)
    await passes(client, room, who)
    await passes(client, room, who[:3], unit_key="sim")
    await run_chunks(db, settings)
    assert {c["outcome"] for c in await cosign_all(client, room)} == {"cosigned"}
    await drain(db, settings)  # the co-signatures one by one: three learners earn the qualification
    one_by_one = await snapshot(db)
    assert sum(row["kind"] == "qualification" for row in one_by_one["rows"].values()) == 3

    async with db.transaction() as conn:
        qualifications = "SELECT id FROM credentials WHERE kind = 'qualification'"
        await conn.execute(f"DELETE FROM credential_signatures WHERE credential_id IN ({qualifications})")
        await conn.execute(
            f"DELETE FROM outbox WHERE subject IN (SELECT 'credential/' || id FROM ({qualifications}) q)"
        )
        await conn.execute(f"DELETE FROM credentials WHERE id IN ({qualifications})")
        await conn.execute("UPDATE outbox SET done_at = NULL WHERE topic = 'credential.cosigned'")
        audit_after = await conn.fetchval("SELECT max(id) FROM audit_log")
        events_after = await conn.fetchval("SELECT max(id) FROM outbox")
    await run_chunks(db, settings)  # the same co-signatures in a batch
    batched = await snapshot(db, audit_after, events_after)
    assert batched["rows"] == one_by_one["rows"]
    assert batched["documents"] == one_by_one["documents"]
    qualification_audit = [a for a in one_by_one["audit"] if '"target_id":"qualification:' in a]
    assert batched["audit"] == qualification_audit and len(qualification_audit) == 3
    qualification_events = [e for e in one_by_one["events"] if '"subject":"credential/qualification:' in e]
    assert batched["events"] == qualification_events and len(qualification_events) == 6  # issued, awarded


@pytest.mark.parametrize("header_alg", ["Ed25519", "EdDSA"])
async def test_the_batch_signs_the_very_bytes_joserfc_signs(header_alg: str) -> None:
    jwk = OKPKey.generate_key("Ed25519", {"use": "sig", "alg": header_alg}, private=True, auto_kid=True)
    assert jwk.kid is not None
    key = keys.IssuerKey(jwk.kid, uuid4(), "Ed25519", header_alg, jwk)
    signer = batch._Signer(key, "did:web:example.org:organisations:1")
    for payload in (b'{"first": true}', b'{"second": "\\u00e5"}', b"{}"):
        made = await signer.sign(payload)
        expected = await envelopes.sign(key, payload, signer.did)
        assert made.compact(payload) == expected
    assert signer.ed25519 is not None  # the last two went the direct way


async def test_events_locked_a_moment_by_someone_else_are_taken_on_a_second_try(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, database_url: str
) -> None:
    """The sweep marks events dispatched with an UPDATE: a batch that meets those row locks skips the rows and
    tries them again once it is done, instead of leaving them to the next sweep a minute later."""
    room = await classroom(client, bootstrap)
    await passes(client, room, await learners(client, room, 4))
    ids = await pending(db, "attempt.passed")
    holder = await Database.connect(database_url, min_size=1, max_size=1)
    original = outbox.process_batch
    calls: list[list[int]] = []
    try:
        async with holder.connection() as conn:
            locking = conn.transaction()
            await locking.start()
            await conn.execute("UPDATE outbox SET dispatched_at = now() WHERE id = ANY($1::bigint[])", ids[:2])

            async def then_release(*args: Any, **kwargs: Any) -> list[int]:
                calls.append(list(args[1]))
                handled = await original(*args, **kwargs)
                if len(calls) == 1:
                    await locking.commit()  # the sweep's marking ends
                return handled

            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(outbox, "process_batch", then_release)
                assert await outbox.process_events(db, ids, context(settings)) == 4
    finally:
        await holder.close()
    assert calls == [ids, ids[:2]]
    assert (await counts(db))["credentials"] == 4 and await pending(db, "attempt.passed") == []
