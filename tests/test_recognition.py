"""Recognition of credentials from elsewhere, end to end over HTTP: another issuer's credentials (a second
Guildhall over https) recognised by an awarding body's rule and by an assessor's decision, recorded as
prior_learning attempts, earning units that then stack into a qualification of a third organisation."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.db import Database
from tests.conftest import Bootstrap
from tests.outbox_drain import drain
from tests.scenarios import classroom
from tests.test_learner_claims import EMAIL, claim, issue, learner_token
from tests.test_portfolio_foreign import (  # noqa: F401  (fixtures)
    PORTFOLIO_SCOPES,
    Elsewhere,
    authority,
    did_key_credential,
    elsewhere,
    foreign_credential,
    settings,
)
from tests.test_portfolio_stacking import national_qualification, portfolio
from tests.test_wallet import cosign_all


async def add(client: AsyncTestClient[Litestar], me: dict[str, str], token: str) -> dict[str, Any]:
    added = await client.post("/me/portfolio/credentials", json={"credential": token}, headers=me)
    assert added.status_code == 201, added.text
    entry: dict[str, Any] = added.json()
    return entry


async def test_credentials_from_elsewhere_are_recognised_by_rule_and_by_an_assessor_then_stack(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    settings: Settings,  # noqa: F811  (this module's: fetching from loopback allowed)
    elsewhere: Elsewhere,  # noqa: F811
) -> None:
    # Elsewhere: two unit credentials of another issuer.
    foreign_room, first_foreign, first_token = await foreign_credential(elsewhere)
    _, _, second_token = await foreign_credential(elsewhere)

    # Here: two programmes, each awarded by its provider, and a qualification of a board that needs both units.
    welding, cutting = await classroom(client, bootstrap), await classroom(client, bootstrap)
    board = await bootstrap.integrator(
        ["programmes:write", "credentials:read"], name="National Board", kind="authority"
    )
    qid = await national_qualification(client, board, welding.chamber, [welding, cutting])
    assert (await claim(client, await issue(client, welding.provider, welding.learner_id))).status_code == 200
    me = await learner_token(client, bootstrap, scopes=PORTFOLIO_SCOPES)
    first, second = await add(client, me, first_token), await add(client, me, second_token)

    # The welding programme's awarding body recognises the first achievement; the other decides case by case.
    rules = f"/organisations/{welding.provider.org_id}/recognition-rules/"
    rule = await client.post(
        rules,
        json={
            "programmeId": welding.programme_id,
            "unitKey": "u1",
            "kind": "achievement",
            "achievementIds": [first["achievement"]["id"]],
        },
        headers={**welding.provider.headers, "Idempotency-Key": "rule-1"},
    )
    assert rule.status_code == 201, rule.text
    retried = await client.post(
        rules,
        json={
            "programmeId": welding.programme_id,
            "unitKey": "u1",
            "kind": "achievement",
            "achievementIds": [first["achievement"]["id"]],
        },
        headers={**welding.provider.headers, "Idempotency-Key": "rule-1"},
    )
    assert retried.json()["id"] == rule.json()["id"]
    not_theirs = await client.post(
        f"/organisations/{cutting.provider.org_id}/recognition-rules/",
        json={"programmeId": welding.programme_id, "unitKey": "u1", "kind": "case_by_case"},
        headers=cutting.provider.headers,
    )
    assert not_theirs.status_code == 404, not_theirs.text  # it does not award the welding programme
    case_by_case = await client.post(
        f"/organisations/{cutting.provider.org_id}/recognition-rules/",
        json={"programmeId": cutting.programme_id, "unitKey": "u1", "kind": "case_by_case"},
        headers=cutting.provider.headers,
    )
    assert case_by_case.status_code == 201, case_by_case.text

    # By rule: granted at once.
    granted = await client.post(
        "/me/recognition-requests",
        json={
            "programmeId": welding.programme_id,
            "unitKey": "u1",
            "credentials": [{"source": "added", "id": first["id"]}],
        },
        headers=me,
    )
    assert granted.status_code == 201, granted.text
    assert granted.json()["status"] == "granted" and granted.json()["ruleId"] == rule.json()["id"]
    assert granted.json()["attemptId"] is not None
    [named] = granted.json()["credentials"]
    assert named["issuer"] == elsewhere.did(foreign_room.provider.org_id) and named["digest"] == first["digest"]

    # Case by case: waits in the cutting programme's awarding body's queue.
    pending = await client.post(
        "/me/recognition-requests",
        json={
            "programmeId": cutting.programme_id,
            "unitKey": "u1",
            "credentials": [{"source": "added", "id": second["id"]}],
        },
        headers=me,
    )
    assert pending.status_code == 201 and pending.json()["status"] == "pending", pending.text
    request_id = pending.json()["id"]
    queue_url = f"/organisations/{cutting.provider.org_id}/recognition-requests/"
    queue = await client.get(queue_url, params={"status": "pending"}, headers=cutting.provider.headers)
    assert [r["id"] for r in queue.json()["items"]] == [request_id]

    # Only the awarding body decides: another organisation sees nothing of it.
    decision = {"decision": "grant", "reasons": ["the cutting unit's outcomes are covered by the credential"]}
    for org in (welding.provider, board):
        foreign_path = f"/organisations/{org.org_id}/recognition-requests/{request_id}"
        assert (await client.get(foreign_path, headers=org.headers)).status_code in (403, 404)
        refused = await client.post(
            f"{foreign_path}/decision", json=decision, headers={**org.headers, "If-Match": '"v1"'}
        )
        assert refused.status_code in (403, 404), refused.text
        elsewhere_path = f"{queue_url}{request_id}"
        assert (await client.get(elsewhere_path, headers=org.headers)).status_code == 403
    decide_url = f"{queue_url}{request_id}/decision"
    assert (await client.post(decide_url, json=decision, headers=cutting.provider.headers)).status_code == 428
    stale = await client.post(decide_url, json=decision, headers={**cutting.provider.headers, "If-Match": '"v7"'})
    assert stale.status_code == 412, stale.text
    decided = await client.post(decide_url, json=decision, headers={**cutting.provider.headers, "If-Match": '"v1"'})
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "granted" and decided.json()["reasons"] == decision["reasons"]
    again = await client.post(decide_url, json=decision, headers={**cutting.provider.headers, "If-Match": '"v2"'})
    assert again.status_code == 409, again.text

    # The grants earn the units (co-signed by each programme's chamber), which stack into the board's award.
    await drain(db, settings)
    await cosign_all(client, welding)
    await cosign_all(client, cutting)
    await drain(db, settings)
    await drain(db, settings)
    entries = await portfolio(client, me)
    units = [e for e in entries if e["kind"] == "unit"]
    [award] = [e for e in entries if e["kind"] == "qualification"]
    assert {u["programmeId"] for u in units} == {welding.programme_id, cutting.programme_id}
    assert award["programmeId"] == qid and award["issuer"]["name"] == "National Board"
    detail = (await client.get(f"/me/credentials/{award['id']}", headers=me)).json()
    assert {e["id"] for e in detail["credential"]["evidence"]} == {f"urn:uuid:{u['id']}" for u in units}
    [welding_unit] = [u for u in units if u["programmeId"] == welding.programme_id]
    unit_detail = (await client.get(f"/me/credentials/{welding_unit['id']}", headers=me)).json()
    [recognised] = [e for e in unit_detail["credential"]["evidence"] if e.get("genre")]
    assert recognised["id"] == f"urn:uuid:{first_foreign['id']}"
    assert recognised["genre"] == "Recognition of prior learning" and recognised["digestSRI"].startswith("sha256-")
    attempts = await client.get("/me/attempts", headers={**me})
    assert attempts.status_code in (200, 403)  # the wallet's token has no assessments:read scope

    async with db.connection() as conn:
        topics = [r["topic"] for r in await conn.fetch("SELECT topic FROM outbox WHERE topic LIKE 'recognition.%'")]
        sources = {r["source"] for r in await conn.fetch("SELECT source FROM attempts WHERE source = 'prior_learning'")}
    assert sorted(topics) == [
        "recognition.granted",
        "recognition.granted",
        "recognition.requested",
        "recognition.requested",
    ]
    assert sources == {"prior_learning"}

    # Revoked at its issuer: named again, it is refused with the reason.
    revoked = await elsewhere.client.post(
        f"/credentials/{first_foreign['id']}/revocation",
        json={"reason": "issued in error"},
        headers=foreign_room.provider.headers,
    )
    assert revoked.status_code == 200, revoked.text
    refused = await client.post(
        "/me/recognition-requests",
        json={
            "programmeId": cutting.programme_id,
            "unitKey": "u1",
            "credentials": [{"source": "added", "id": first["id"]}],
        },
        headers=me,
    )
    assert refused.status_code == 422, refused.text
    assert "revoked (status list" in refused.json()["detail"]


async def test_a_provider_asks_for_its_learner_only_with_their_consent(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    room = await classroom(client, bootstrap)
    assert (await claim(client, await issue(client, room.provider, room.learner_id))).status_code == 200
    me = await learner_token(client, bootstrap, scopes=PORTFOLIO_SCOPES)
    private = ed25519.Ed25519PrivateKey.generate()
    entry = await add(client, me, did_key_credential(private))

    body = {
        "learnerId": room.learner_id,
        "programmeId": room.programme_id,
        "unitKey": "u1",
        "credentials": [{"source": "added", "id": entry["id"]}],
    }
    url = f"/organisations/{room.provider.org_id}/learner-recognition-requests/"
    no_consent = await client.post(url, json=body, headers=room.provider.headers)
    assert no_consent.status_code == 409 and "consented" in no_consent.json()["detail"], no_consent.text

    consent = f"/me/recognition-consents/{room.provider.org_id}"
    assert (await client.put(consent, headers=me)).status_code == 204
    asked = await client.post(url, json=body, headers={**room.provider.headers, "Idempotency-Key": "ask-1"})
    assert asked.status_code == 201, asked.text
    retried = await client.post(url, json=body, headers={**room.provider.headers, "Idempotency-Key": "ask-1"})
    assert retried.json()["id"] == asked.json()["id"]
    assert asked.json()["status"] == "pending"  # no rule: an assessor decides
    assert asked.json()["submittedByOrganisation"] == str(room.provider.org_id)
    mine = await client.get("/me/recognition-requests", headers=me)
    assert [r["id"] for r in mine.json()["items"]] == [asked.json()["id"]]

    # Another provider, even with a consent of its own, cannot ask for a learner that is not its.
    other = await bootstrap.integrator(["assessments:write"], name="Other", kind="vet_provider")
    assert (await client.put(f"/me/recognition-consents/{other.org_id}", headers=me)).status_code == 204
    elsewhere_url = f"/organisations/{other.org_id}/learner-recognition-requests/"
    assert (await client.post(elsewhere_url, json=body, headers=other.headers)).status_code == 404
    assert (await client.post(url, json=body, headers=other.headers)).status_code == 403

    assert (await client.delete(consent, headers=me)).status_code == 204
    withdrawn = await client.post(url, json=body, headers=room.provider.headers)
    assert withdrawn.status_code == 409, withdrawn.text

    # Through the Open Badges API a wallet stores the same kind of credential: it lands in the portfolio.
    from tests.test_ob_api import wallet_token

    wallet = await wallet_token(client, EMAIL)
    token = did_key_credential(private, id="urn:uuid:5d2f8c8e-58a4-4f5e-9b57-0c7f2c1f4e11")
    stored = await client.post(
        "/ims/ob/v3p0/credentials", content=token, headers={**wallet, "Content-Type": "text/plain"}
    )
    assert stored.status_code == 201, stored.text
    listed = (await client.get("/me/portfolio", headers=me)).json()["entries"]
    assert {e["credentialUri"] for e in listed if e["source"] == "added"} >= {
        "urn:uuid:5d2f8c8e-58a4-4f5e-9b57-0c7f2c1f4e11"
    }


async def test_another_organisation_reaches_none_of_an_awarding_bodys_recognition(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    room = await classroom(client, bootstrap)
    scopes = ["programmes:write", "assessments:write"]
    other = await bootstrap.integrator(scopes, name="Other", kind="vet_provider")
    rule = {"programmeId": room.programme_id, "unitKey": "u1", "kind": "case_by_case"}
    created = await client.post(
        f"/organisations/{room.provider.org_id}/recognition-rules/", json=rule, headers=room.provider.headers
    )
    assert created.status_code == 201, created.text
    base = f"/organisations/{room.provider.org_id}"
    for method, url, body, headers in (
        ("GET", f"{base}/recognition-rules/", None, {}),
        ("POST", f"{base}/recognition-rules/", rule, {}),
        ("GET", f"{base}/recognition-rules/{created.json()['id']}", None, {}),
        ("DELETE", f"{base}/recognition-rules/{created.json()['id']}", None, {"If-Match": '"v1"'}),
        ("GET", f"{base}/recognition-requests/", None, {}),
        (
            "POST",
            f"{base}/learner-recognition-requests/",
            {**rule, "learnerId": room.learner_id, "credentials": []},
            {},
        ),
    ):
        response = await client.request(method, url, json=body, headers={**other.headers, **headers})
        assert response.status_code == 403, (method, url, response.text)
        assert f"not a member of organisation {room.provider.org_id}" in response.json()["detail"]
    # A client token is no person: the person's own recognition operations refuse it.
    mine = await client.get("/me/recognition-requests", headers=room.provider.headers)
    assert mine.status_code == 403, mine.text
    withdrawn = await client.delete(
        f"{base}/recognition-rules/{created.json()['id']}", headers={**room.provider.headers, "If-Match": '"v1"'}
    )
    assert withdrawn.status_code == 204, withdrawn.text
    assert (await client.get(f"{base}/recognition-rules/", headers=room.provider.headers)).json()["items"] == []
