"""A learner's own credentials: listed across their claimed records, downloaded in every form, shared by link."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.credentials import envelopes
from domain.db import Database
from tests.conftest import Bootstrap
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credentials_festo import credentials_of, simulator_pass
from tests.test_learner_claims import claim, issue, learner_token, second_learner

WALLET_SCOPES = "credentials:read assessments:read"


def b64url_json(part: str) -> Any:
    return msgspec.json.decode(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


async def passed_and_claimed(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    settings: Settings,
    scopes: str = WALLET_SCOPES,
    **attempt: Any,
) -> tuple[Classroom, dict[str, str]]:
    """A learner who passed unit u1 (its credential awaits the chamber) and claimed their record."""
    room = await classroom(client, bootstrap)
    recorded = await client.post(
        room.attempts_url, json=room.attempt(welding("l3", "l4", 10), **attempt), headers=room.provider.headers
    )
    assert recorded.status_code == 201, recorded.text
    await drain(db, settings)
    assert (await claim(client, await issue(client, room.provider, room.learner_id))).status_code == 200
    return room, await learner_token(client, bootstrap, scopes=scopes)


async def cosign_all(client: AsyncTestClient[Litestar], room: Classroom) -> None:
    queue = await client.get(f"/organisations/{room.chamber.org_id}/cosignature-queue", headers=room.chamber.headers)
    for item in queue.json()["items"]:
        cosigned = await client.post(f"/credentials/{item['id']}/cosignature", headers=room.chamber.headers)
        assert cosigned.status_code == 200, cosigned.text


async def mine(client: AsyncTestClient[Litestar], me: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/me/credentials", params=params, headers=me)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_learner_lists_only_their_own_signed_credentials_newest_first(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, me = await passed_and_claimed(client, bootstrap, db, settings)
    other_learner = await second_learner(client, room)
    await drain(db, settings)
    everyone = await credentials_of(client, room)
    [own] = [c for c in everyone if c["learnerId"] == room.learner_id]
    [others] = [c for c in everyone if c["learnerId"] == other_learner]

    [listed] = await mine(client, me)
    assert listed["id"] == own["id"] and listed["learnerId"] == room.learner_id
    assert listed["state"] == "awaiting_cosignature" and listed["valid"] is False  # signed, not yet co-signed
    assert listed["achievementName"] == own["credential"]["credentialSubject"]["achievement"]["name"]
    assert listed["awardingBody"] == {"id": str(room.provider.org_id), "name": "Festo Didactic"}
    assert listed["issuedAt"] == own["issuedAt"] and listed["validUntil"] == own["validUntil"]
    assert "credential" not in listed  # the list is a summary; the JSON is one GET away
    links = listed["links"]
    for form, path in (("vcJwt", "vc-jwt"), ("jwsJson", "jws"), ("json", "json"), ("elm", "elm")):
        assert links[form].endswith(f"/me/credentials/{own['id']}/{path}"), links
    assert links["page"].endswith(f"/c/{own['id']}")

    await cosign_all(client, room)
    [listed] = await mine(client, me)
    assert listed["state"] == "issued" and listed["valid"] is True

    # Someone else's credential is not there, whatever is asked for.
    for path in ("", "/vc-jwt", "/jws", "/json", "/elm"):
        response = await client.get(f"/me/credentials/{others['id']}{path}", headers=me)
        assert response.status_code == 404, (path, response.text)

    # While the provider holds issuing, new credentials are not the learner's yet.
    held = await client.put(
        f"/organisations/{room.provider.org_id}/issuing-holds/{room.programme_id}",
        json={"reason": "exam board meets on Friday"},
        headers=room.provider.headers,
    )
    assert held.status_code == 200, held.text
    await simulator_pass(client, room)
    await drain(db, settings)
    unsigned = [c for c in await credentials_of(client, room, state="held") if c["learnerId"] == room.learner_id]
    assert len(unsigned) == 2  # the simulation unit and the whole programme
    assert [c["id"] for c in await mine(client, me)] == [own["id"]]
    assert (await client.get(f"/me/credentials/{unsigned[0]['id']}", headers=me)).status_code == 404

    released = await client.delete(
        f"/organisations/{room.provider.org_id}/issuing-holds/{room.programme_id}", headers=room.provider.headers
    )
    assert released.status_code == 200, released.text
    await drain(db, settings)
    pages, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/me/credentials", params=params, headers=me)
        assert page.status_code == 200, page.text
        pages += page.json()["items"]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    assert len(pages) == 3 and {c["id"] for c in pages} == {own["id"], *(c["id"] for c in unsigned)}
    newest_first = sorted(pages, key=lambda c: (c["issuedAt"], c["id"]), reverse=True)
    assert [c["id"] for c in pages] == [c["id"] for c in newest_first]
    assert all(c["learnerId"] == room.learner_id for c in pages)


async def test_every_form_downloads_and_says_what_the_credential_says(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, me = await passed_and_claimed(client, bootstrap, db, settings)
    await cosign_all(client, room)
    [listed] = await mine(client, me)
    url = f"/me/credentials/{listed['id']}"

    detail = await client.get(url, headers=me)
    assert detail.status_code == 200, detail.text
    document = detail.json()["credential"]
    assert document["id"] == f"urn:uuid:{listed['id']}"
    assert document["credentialSubject"]["identifier"][0]["identityHash"] == "Jonas Weber"
    assert [s["role"] for s in detail.json()["signatures"]] == ["issuer", "cosigner"]

    jwt = await client.get(f"{url}/vc-jwt", headers=me)
    assert jwt.status_code == 200, jwt.text
    assert jwt.headers["content-type"].startswith("application/vc+jwt")
    header, payload, _ = jwt.text.split(".")
    assert b64url_json(payload) == {**document, **envelopes.jwt_claims(document)}
    assert {"iss", "jti", "nbf", "iat", "exp"} <= set(b64url_json(payload)), "the OB 3.0 JWT profile's claims"
    assert b64url_json(header)["iss"].startswith("did:web:")

    jws = await client.get(f"{url}/jws", headers=me)
    assert jws.status_code == 200, jws.text
    assert envelopes.credential_json(envelopes.b64url_decode(jws.json()["payload"])) == document
    assert len(jws.json()["signatures"]) == 2

    proved = await client.get(f"{url}/json", headers=me)
    assert proved.status_code == 200, proved.text
    proofs = proved.json().pop("proof")
    assert {k: v for k, v in proved.json().items() if k != "proof"} == document
    assert [p["type"] for p in proofs] == ["JwtProof2020", "JwtProof2020"]
    # Each form reads back to the same signed payload.
    for form in (jwt.text, jws.json(), proved.json()):
        assert envelopes.credential_json(envelopes.read(form).payload) == document

    elm = await client.get(f"{url}/elm", headers=me)
    assert elm.status_code == 200, elm.text
    assert elm.headers["content-type"].startswith("application/ld+json")
    assert "EuropeanDigitalCredential" in elm.json()["type"] and elm.json()["id"] == document["id"]


async def test_the_own_credentials_need_a_persons_token_with_the_scope(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, me = await passed_and_claimed(client, bootstrap, db, settings, scopes="assessments:read")
    [credential] = await credentials_of(client, room)
    reads = ["/me/credentials", f"/me/credentials/{credential['id']}", f"/me/credentials/{credential['id']}/vc-jwt"]
    for path in [*reads, "/me/data"]:
        refused = await client.get(path, headers=room.provider.headers)  # client credentials: no person
        assert refused.status_code == 403 and "person's token" in refused.json()["detail"], path
        assert (await client.get(path)).status_code == 401
    refused = await client.post("/me/erasure", json={}, headers=room.provider.headers)
    assert refused.status_code == 403 and "person's token" in refused.json()["detail"]
    for path in reads:
        unscoped = await client.get(path, headers=me)
        assert unscoped.status_code == 403 and "credentials:read" in unscoped.json()["detail"], path
    assert (await client.post("/me/erasure", json={}, headers=me)).status_code == 403  # no credentials:revoke
