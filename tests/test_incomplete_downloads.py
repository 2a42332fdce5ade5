"""Nothing incomplete leaves as if complete: a credential that is held, awaits its co-signature, or whose
co-signature was refused or withdrawn is handed out in no form (409, naming what it lacks) — to the
organisations, to the learner, through the Open Badges 3.0 API — and its public page says it is not valid."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.db import Database
from tests.conftest import Bootstrap
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_credentials_festo import credentials_of, simulator_pass
from tests.test_learner_claims import EMAIL
from tests.test_ob_api import OB, wallet_token
from tests.test_wallet import mine, passed_and_claimed

FORMS = ("vc-jwt", "jws", "json", "elm")
INCOMPLETE = "urn:guildhall:problem:credential-incomplete"


def assert_incomplete(response: httpx.Response, state: str, problem: str, signature: str = "cosigner") -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == INCOMPLETE and body["title"] == "Credential incomplete", body
    assert body["state"] == state and " not complete, so none of its forms is handed out" in body["detail"], body
    [missing] = body["missing"]
    assert missing["signature"] == signature and problem in missing["problem"], body
    name = "IHK Region Stuttgart" if signature == "cosigner" else "Festo Didactic"
    assert missing["organisationName"] == name and name in body["detail"], body


def ids_in_ob_api(body: dict[str, Any]) -> set[str]:
    """The credential ids a wallet gets from getCredentials, in either of its arrays."""
    ids = {c["id"] for c in body["credential"]}
    for token in body["compactJwsString"]:
        part = token.split(".")[1]
        ids.add(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["id"])
    return ids


async def everywhere(
    client: AsyncTestClient[Litestar],
    room: Classroom,
    me: dict[str, str],
    wallet: dict[str, str],
    credential_id: str,
) -> dict[str, Any]:
    """The credential as each party reaches it: downloads by the provider, the co-signer and the learner, the
    learner's record, the Open Badges 3.0 API and the public page."""
    downloads = {}
    for who, prefix, headers in (
        ("provider", "/credentials", room.provider.headers),
        ("chamber", "/credentials", room.chamber.headers),
        ("learner", "/me/credentials", me),
    ):
        for form in FORMS:
            downloads[(who, form)] = await client.get(f"{prefix}/{credential_id}/{form}", headers=headers)
    record = await client.get(f"/me/credentials/{credential_id}", headers=me)
    assert record.status_code == 200, record.text
    listed = await client.get(f"{OB}/credentials", headers=wallet)
    assert listed.status_code == 200, listed.text
    page = await client.get(f"/c/{credential_id}")
    assert page.status_code == 200, page.text
    return {
        "downloads": downloads,
        "record": record.json(),
        "in_ob_api": f"urn:uuid:{credential_id}" in ids_in_ob_api(listed.json()),
        "page": page.text,
    }


async def assert_nowhere_complete(seen: dict[str, Any], state: str, problem: str, label: str) -> None:
    for (who, form), response in seen["downloads"].items():
        try:
            assert_incomplete(response, state, problem)
        except AssertionError as exc:
            raise AssertionError(f"{who} {form}: {exc}") from exc
    assert seen["record"]["state"] == state and seen["record"]["valid"] is False
    assert not seen["in_ob_api"]
    assert f"<strong>{label}</strong>" in seen["page"] and "<strong>Valid</strong>" not in seen["page"]


async def test_awaiting_withdrawn_and_refused_credentials_are_handed_out_nowhere(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, me = await passed_and_claimed(client, bootstrap, db, settings)
    wallet = await wallet_token(client, EMAIL)
    [credential] = await mine(client, me)
    credential_id = credential["id"]

    seen = await everywhere(client, room, me, wallet, credential_id)
    await assert_nowhere_complete(seen, "awaiting_cosignature", "awaiting the co-signature", "Awaiting co-signature")

    cosigned = await client.post(f"/credentials/{credential_id}/cosignature", headers=room.chamber.headers)
    assert cosigned.status_code == 200, cosigned.text
    seen = await everywhere(client, room, me, wallet, credential_id)
    assert all(r.status_code == 200 for r in seen["downloads"].values()), seen["downloads"]
    assert seen["record"]["valid"] is True and seen["in_ob_api"] and "<strong>Valid</strong>" in seen["page"]

    withdrawn = await client.post(
        f"/credentials/{credential_id}/revocation", json={"reason": "Exam irregularity"}, headers=room.chamber.headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    seen = await everywhere(client, room, me, wallet, credential_id)
    await assert_nowhere_complete(seen, "issued", "withdrawn on ", "Not valid")
    assert "Exam irregularity" in seen["downloads"][("learner", "json")].json()["missing"][0]["problem"]

    # The simulation completes the programme: two more credentials await the chamber; it refuses one.
    await simulator_pass(client, room)
    await drain(db, settings)
    [sim] = [c for c in await credentials_of(client, room, state="awaiting_cosignature") if c["unitKey"] == "sim"]
    refused = await client.post(
        f"/credentials/{sim['id']}/cosignature-refusal",
        json={"reason": "Simulator not approved"},
        headers=room.chamber.headers,
    )
    assert refused.status_code == 200, refused.text
    seen = await everywhere(client, room, me, wallet, sim["id"])
    await assert_nowhere_complete(seen, "cosign_refused", "refused on ", "Not valid")
    assert seen["downloads"][("provider", "vc-jwt")].json()["missing"][0]["problem"].endswith("Simulator not approved")


async def test_a_held_credential_lacks_the_awarding_bodys_signature(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    held = await client.put(
        f"/organisations/{room.provider.org_id}/issuing-holds/{room.programme_id}",
        json={"reason": "Exam board meets on Friday"},
        headers=room.provider.headers,
    )
    assert held.status_code == 200, held.text
    await simulator_pass(client, room)
    await drain(db, settings)
    [credential] = await credentials_of(client, room)
    components = (await client.get("/schema/openapi.json")).json()["components"]
    documented = Draft202012Validator({"$ref": "#/components/schemas/IncompleteProblem", "components": components})
    for form in FORMS:
        response = await client.get(f"/credentials/{credential['id']}/{form}", headers=room.provider.headers)
        assert_incomplete(response, "held", "not signed yet: the assessing provider holds issuing", "issuer")
        documented.validate(response.json())  # the body is what the OpenAPI document says it is
    assert (await client.get(f"/c/{credential['id']}")).status_code == 404  # not public, not the learner's
