"""A learner's copy of their data (GDPR Art. 15/20) and its erasure (Art. 17): what goes, what stays."""

from __future__ import annotations

import asyncio
import html
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.credentials import status_lists
from domain.db import Database
from domain.learners import erasure
from domain.learners.erasure import ERASED_REASON
from domain.writes import Actor
from tests.conftest import Bootstrap
from tests.oauth_flow import APP_REDIRECT_URI, hidden_fields, s256
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credentials_festo import credentials_of, simulator_pass
from tests.test_learner_claims import EMAIL, PASSWORD, claim, codes_url, issue, learner_token
from tests.test_wallet import cosign_all, mine, passed_and_claimed

ERASING_SCOPES = "credentials:read assessments:read credentials:revoke"
VIDEO = {
    "mediaType": "video/mp4",
    "sha256": "a" * 64,
    "url": "https://media.festo.example/jonas-weber-weld.mp4",
    "description": "Jonas Weber welding the test piece",
}


def noted_welding() -> dict[str, Any]:
    scores: list[dict[str, Any]] = welding("l3", "l4", 10)["scores"]  # type: ignore[assignment]
    scores[0] = {**scores[0], "note": "Jonas kept a steady hand despite his injured wrist"}
    return {"mode": "performance_standard", "scores": scores}


async def provider_attempts(client: AsyncTestClient[Litestar], room: Classroom) -> list[dict[str, Any]]:
    response = await client.get(room.attempts_url, params={"limit": 100}, headers=room.provider.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def a_learner_with_everything(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, scopes: str
) -> tuple[Classroom, dict[str, str], dict[str, Any]]:
    """Two units passed (one with notes and evidence, sent with an Idempotency-Key; one from the simulator),
    the programme completed, every credential co-signed, the record claimed. Returns the recorded request."""
    room = await classroom(client, bootstrap)
    body = room.attempt(noted_welding(), place="Festo training centre Esslingen", evidence=[VIDEO])
    keyed = {**room.provider.headers, "Idempotency-Key": "jonas-u1-1"}
    recorded = await client.post(room.attempts_url, json=body, headers=keyed)
    assert recorded.status_code == 201, recorded.text
    await simulator_pass(client, room)
    await drain(db, settings)
    await cosign_all(client, room)
    assert (await claim(client, await issue(client, room.provider, room.learner_id))).status_code == 200
    me = await learner_token(client, bootstrap, scopes=scopes)
    return room, me, {"body": body, "headers": keyed, "answer": recorded.json()}


async def test_the_export_holds_the_person_their_record_attempts_and_credentials(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, me, _ = await a_learner_with_everything(client, bootstrap, db, settings, "credentials:read assessments:read")
    exported = await client.get("/me/data", headers=me)
    assert exported.status_code == 200, exported.text
    assert exported.headers["cache-control"] == "no-store"
    data = exported.json()
    assert data["person"]["email"] == EMAIL and data["person"]["name"] == "Jonas Weber"
    [record] = data["learnerRecords"]
    assert record["id"] == room.learner_id and record["providerName"] == {"en": "Festo Didactic"}
    assert record["name"] == "Jonas Weber" and record["email"] == "jonas@example.de"
    assert record["identifiers"] == [{"scheme": "student_number", "value": "S-1"}]
    assert [e["id"] for e in data["enrolments"]] == [room.enrolment_id]
    attempts = await provider_attempts(client, room)
    assert sorted(a["id"] for a in data["attempts"]) == sorted(a["id"] for a in attempts)
    assert all(a["decision"]["reasons"] is not None for a in data["attempts"])
    noted = next(a for a in data["attempts"] if a["evidence"])
    assert noted["evidence"][0]["description"] == VIDEO["description"]
    listed = await mine(client, me)
    assert [c["id"] for c in data["credentials"]] == [c["id"] for c in listed] and len(listed) == 3
    assert all(
        c["credential"]["credentialSubject"]["identifier"][0]["identityHash"] == "Jonas Weber"
        for c in data["credentials"]
    )
    assert [a["scope"] for a in data["authorisations"]] == ["credentials:read assessments:read"]
    assert data["profile"] == {} and data["hostedCopies"] == [] and data["addedCredentials"] == []

    # Someone else's records are in nobody's export but their own.
    assert all(c["learnerId"] == room.learner_id for c in data["credentials"])
    refused = await client.get("/me/data", headers=await learner_token(client, bootstrap, scopes="assessments:read"))
    assert refused.status_code == 403 and "credentials:read" in refused.json()["detail"]


async def test_an_erasure_revokes_pseudonymises_redacts_and_closes_the_login(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, me, keyed = await a_learner_with_everything(client, bootstrap, db, settings, ERASING_SCOPES)
    credentials = await credentials_of(client, room)
    before = {a["id"]: a for a in await provider_attempts(client, room)}
    async with db.connection() as conn:
        person_id = await conn.fetchval("SELECT id FROM persons WHERE email = $1", EMAIL)

    erased = await client.post("/me/erasure", json={"reason": "I want a fresh start"}, headers=me)
    assert erased.status_code == 200, erased.text
    receipt = erased.json()
    assert receipt["personId"] == str(person_id) and receipt["learnerRecords"] == [room.learner_id]
    assert sorted(receipt["revokedCredentials"]) == sorted(c["id"] for c in credentials)
    assert receipt["redactedAttempts"] == len(before) and receipt["kept"]

    # Every credential is revoked, for everyone who checks; the awarding body keeps what it signed.
    async with db.connection() as conn:
        for credential in credentials:
            seen = await client.get(f"/credentials/{credential['id']}", headers=room.provider.headers)
            assert seen.json()["state"] == "revoked" and seen.json()["valid"] is False
            assert seen.json()["revocationReason"] == ERASED_REASON
            assert seen.json()["credential"] == credential["credential"]
            slot = await conn.fetchrow(
                "SELECT awarding_body_id, status_number, status_index FROM credentials WHERE id = $1",
                UUID(credential["id"]),
            )
            assert await status_lists.status_of(conn, *slot) == (True, False)
            # ... and a public page shows no name.
            shown = erasure.public_view(credential["credential"])
            assert shown["credentialSubject"]["identifier"] == [
                {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": "erased"}
            ]
            assert "Jonas" not in msgspec.json.encode(shown).decode()
            page = await client.get(f"/c/{credential['id']}")
            assert page.status_code == 200 and "Jonas" not in page.text and "erased" in page.text
            assert f'<q class="reason">{html.escape(ERASED_REASON)}</q>' in page.text  # why it was revoked

    # The learner record keeps nothing personal.
    record = await client.get(
        f"/organisations/{room.provider.org_id}/learners/{room.learner_id}", headers=room.provider.headers
    )
    assert {k: record.json()[k] for k in ("name", "email", "dateOfBirth", "identifiers")} == {
        "name": "erased",
        "email": None,
        "dateOfBirth": None,
        "identifiers": [],
    }

    # Attempts keep their decisions, without notes, evidence locations or simulator identities.
    after = {a["id"]: a for a in await provider_attempts(client, room)}
    assert after.keys() == before.keys()
    for attempt_id, attempt in after.items():
        earlier = before[attempt_id]
        for field in ("decision", "passed", "assessedAt", "supervision", "place", "unitKey", "correctsAttemptId"):
            assert attempt[field] == earlier[field], field
        text = msgspec.json.encode(attempt).decode()
        assert "Jonas" not in text and "media.festo.example" not in text and "wrist" not in text
    noted = after[keyed["answer"]["id"]]
    assert noted["evidence"] == [{"mediaType": "video/mp4", "sha256": "a" * 64}]
    assert [s.get("level") or s.get("value") for s in noted["submission"]["scores"]] == ["l3", "l4", 10]
    assert noted["place"] == "Festo training centre Esslingen"
    runs = [r for a in after.values() if a["submission"]["mode"] == "simulation" for r in a["submission"]["runs"]]
    assert runs and all("actor" not in r and "scaledScore" in r for r in runs)
    async with db.connection() as conn:
        statements = [r["statement"] for r in await conn.fetch("SELECT statement FROM xapi_statements")]
    assert statements and all(
        s["actor"] == {"objectType": "Agent", "account": {"homePage": "urn:guildhall:learner", "name": room.learner_id}}
        for s in statements
    )
    # The answer kept for the Idempotency-Key is redacted too: a retry gets no personal data back.
    retried = await client.post(room.attempts_url, json=keyed["body"], headers=keyed["headers"])
    assert retried.json()["id"] == keyed["answer"]["id"]
    assert retried.json()["evidence"] == noted["evidence"] and "wrist" not in retried.text

    # The login is closed: the token, the password and the record's claim are all gone.
    assert (await client.get("/me/credentials", headers=me)).status_code == 401
    assert (await client.post("/me/erasure", json={}, headers=me)).status_code == 401
    assert (await sign_in(client, bootstrap)).status_code == 400
    again = await client.post(codes_url(room.provider.org_id, room.learner_id), json={}, headers=room.provider.headers)
    assert again.status_code == 409
    # The provider cannot put personal data back, nor enrol the erased record again.
    learner_url = f"/organisations/{room.provider.org_id}/learners/{room.learner_id}"
    edited = await client.patch(
        learner_url, json={"name": "Jonas Weber"}, headers={**room.provider.headers, "If-Match": '"v2"'}
    )
    assert edited.status_code == 409 and "erased" in edited.json()["detail"], edited.text
    enrolled = await client.post(
        f"{learner_url}/enrolments",
        json={"programmeId": room.programme_id, "unitKey": "sim"},
        headers=room.provider.headers,
    )
    assert enrolled.status_code == 409, enrolled.text
    async with db.connection() as conn:
        person = await conn.fetchrow("SELECT * FROM persons WHERE id = $1", person_id)
        live_tokens = await conn.fetchval(
            "SELECT count(*) FROM oauth_tokens WHERE person_id = $1 AND revoked_at IS NULL", person_id
        )
        trail = await conn.fetch("SELECT action, organisation_id, details FROM audit_log ORDER BY id")
        events = [r["topic"] for r in await conn.fetch("SELECT topic FROM outbox ORDER BY id")]
    assert person["name"] == "erased" and person["email"] == f"erased-{person_id}@erased.invalid"
    assert person["password_hash"] is None and person["erased_at"] is not None
    assert live_tokens == 0
    [learner_erased] = [r for r in trail if r["action"] == "learner.erased"]
    assert learner_erased["organisation_id"] == room.provider.org_id
    assert learner_erased["details"]["redactedAttempts"] == len(before)
    [person_erased] = [r for r in trail if r["action"] == "person.erased"]
    assert person_erased["details"] == {"learnerRecords": [room.learner_id], "reason": "I want a fresh start"}
    revocations = [r for r in trail if r["action"] == "credential.revoked"]
    assert len(revocations) == len(credentials)
    every_detail = msgspec.json.encode([r["details"] for r in trail]).decode()
    assert "Jonas" not in every_detail and "jonas@" not in every_detail and "S-1" not in every_detail
    assert events.count("learner.erased") == 1 and events.count("credential.revoked") == len(credentials)

    # Asking again answers the same (over HTTP the token is gone; the service itself says so).
    repeated = await erasure.erase(db, Actor(), person_id)
    assert msgspec.json.decode(msgspec.json.encode(repeated)) == receipt


async def sign_in(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> Any:
    """The consent page's sign-in with the learner's e-mail and password."""
    wallet = await bootstrap.organisation("Another wallet", kind="employer")
    app_id, _ = await bootstrap.oauth_client(
        wallet.id, ["credentials:read"], grant_types=["authorization_code"], redirect_uris=[APP_REDIRECT_URI]
    )
    request = {
        "response_type": "code",
        "client_id": app_id,
        "redirect_uri": APP_REDIRECT_URI,
        "scope": "credentials:read",
        "state": "s",
        "code_challenge": s256("a verifier long enough to be a verifier, surely"),
        "code_challenge_method": "S256",
    }
    page = await client.get("/oauth/authorize", params=request)
    form = {**hidden_fields(page.text), "email": EMAIL, "password": PASSWORD, "decision": "allow"}
    return await client.post("/oauth/authorize", data=form, follow_redirects=False)


async def test_two_erasure_requests_at_once_get_one_answer(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    _, me = await passed_and_claimed(client, bootstrap, db, settings, scopes=ERASING_SCOPES)
    answers = await asyncio.gather(*(client.post("/me/erasure", json={}, headers=me) for _ in range(3)))
    assert {a.status_code for a in answers} <= {200, 401} and 200 in {a.status_code for a in answers}
    bodies = [a.json() for a in answers if a.status_code == 200]
    assert all(b == bodies[0] for b in bodies) and len(bodies[0]["revokedCredentials"]) == 1
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'person.erased'") == 1
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'credential.revoked'") == 1


async def test_a_member_of_an_organisation_is_refused_and_nothing_changes(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    employer = await bootstrap.organisation("Bosch Rexroth", kind="employer")
    await bootstrap.member(employer.id, EMAIL, ["viewer"], password=PASSWORD)
    room, _ = await passed_and_claimed(client, bootstrap, db, settings, scopes="assessments:read")
    me = await learner_token(client, bootstrap, scopes=ERASING_SCOPES)
    refused = await client.post("/me/erasure", json={}, headers=me)
    assert refused.status_code == 409 and str(employer.id) in refused.json()["detail"]
    [credential] = await credentials_of(client, room)
    assert credential["state"] == "awaiting_cosignature"
    assert (await client.get("/me/learner-records", headers=me)).json()["items"][0]["name"] == "Jonas Weber"


async def test_erasure_bodies_are_checked(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    _, me = await passed_and_claimed(client, bootstrap, db, settings, scopes=ERASING_SCOPES)
    for body in ({"reason": ""}, {"reason": "x" * 2001}, {"why": "no"}):
        refused = await client.post("/me/erasure", json=body, headers=me)
        assert refused.status_code == 400, (body, refused.text)
    assert (await client.get("/me/credentials", headers=me)).status_code == 200  # nothing was erased


async def test_attempts_stay_append_only_outside_an_erasure(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, _ = await passed_and_claimed(client, bootstrap, db, settings)
    [attempt] = await provider_attempts(client, room)
    async with db.connection() as conn:
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("UPDATE attempts SET evidence = '[]' WHERE id = $1", UUID(attempt["id"]))
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            async with conn.transaction():
                await conn.execute("SELECT set_config('guildhall.erasure', 'on', true)")
                await conn.execute("UPDATE attempts SET passed = false WHERE id = $1", UUID(attempt["id"]))
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            async with conn.transaction():
                await conn.execute("SELECT set_config('guildhall.erasure', 'on', true)")
                await conn.execute("DELETE FROM attempts WHERE id = $1", UUID(attempt["id"]))
        async with conn.transaction():
            await conn.execute("SELECT set_config('guildhall.erasure', 'on', true)")
            await conn.execute("UPDATE attempts SET evidence = '[]' WHERE id = $1", UUID(attempt["id"]))


def test_redaction_keeps_what_decides_and_drops_what_describes_the_person() -> None:
    outcome_based = {
        "mode": "prior_learning",
        "judgements": [
            {
                "outcome": "lo1",
                "achieved": True,
                "note": "Jonas showed his Gesellenbrief",
                "evidence": [{"id": "jonas-cv.pdf", "description": "CV", "sha256": "b" * 64}, {"id": "ref"}],
            },
            {"outcome": "lo2", "achieved": False, "evidence": [{"id": "jonas-cv.pdf", "sha256": "b" * 64}]},
        ],
    }
    assert erasure.redact_submission(outcome_based) == {
        "mode": "prior_learning",
        "judgements": [
            {
                "outcome": "lo1",
                "achieved": True,
                "evidence": [{"id": "evidence-1", "sha256": "b" * 64}, {"id": "evidence-2"}],
            },
            {"outcome": "lo2", "achieved": False, "evidence": [{"id": "evidence-1", "sha256": "b" * 64}]},
        ],
    }
    judged = {"mode": "outcome_based", "judgements": [{"outcome": "lo1", "achieved": True, "evidence": ["https://x"]}]}
    assert erasure.redact_submission(judged)["judgements"] == [{"outcome": "lo1", "achieved": True, "evidence": []}]
    simulated = {"mode": "simulation", "runs": [{"scaledScore": 0.9, "actor": {"name": "Jonas"}, "statementId": "s"}]}
    assert erasure.redact_submission(simulated)["runs"] == [{"scaledScore": 0.9, "statementId": "s"}]
    assert erasure.redact_evidence([VIDEO, "junk"]) == [{"mediaType": "video/mp4", "sha256": "a" * 64}]
    learner = "0b6a3f8e-8f6c-4c1e-9d0e-2f5a7c1d9e11"
    stored = {"id": learner, "name": "Jonas", "email": "j@x", "dateOfBirth": "2000-01-01", "identifiers": [{}]}
    assert erasure.redact_answer(stored, frozenset({learner})) == {
        "id": learner,
        "name": "erased",
        "email": None,
        "dateOfBirth": None,
        "identifiers": [],
    }
    assert erasure.redact_answer(stored, frozenset()) == stored
