"""Every credential Guildhall issues — a unit's, a programme's, a qualification's — carries all eleven EU
Annex I elements, in the signed Open Badges 3.0 credential (``document.ANNEX_I``) and in its European
Learning Model export (``elm.ANNEX_I_ELM``); and the learner's e-mail appears in neither, only its hash."""

from __future__ import annotations

import json
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.credentials import envelopes
from domain.credentials.document import ANNEX_I, email_hash
from domain.credentials.elm import ANNEX_I_ELM
from domain.db import Database
from tests.conftest import Bootstrap
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credentials_festo import credentials_of, simulator_pass

EMAIL = "jonas@example.de"  # the classroom learner's


def follow(document: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path``; a list on the way stands for its first item."""
    value = document
    for key in path:
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def present(value: Any) -> bool:
    if isinstance(value, dict):
        return any(present(v) for v in value.values())
    if isinstance(value, list):
        return any(present(v) for v in value)
    return value is not None and value != ""


def missing(document: dict[str, Any], paths: dict[str, tuple[str, ...]]) -> list[str]:
    return [element for element, path in paths.items() if not present(follow(document, path))]


async def publish_qualification(client: AsyncTestClient[Litestar], room: Classroom) -> str:
    """A qualification over the classroom's unit u1, awarded by the provider and approved by the chamber."""
    content = {
        "title": {"en": "Certified MIG welder"},
        "awardingBodyId": str(room.provider.org_id),
        "eqfLevel": 4,
        "qualityAssurance": {"type": "state_recognition"},
        "rule": {"allOf": [{"programmeId": room.programme_id, "unitKey": "u1"}], "minHours": 30},
    }
    created = await client.post("/qualifications", json={"content": content}, headers=room.provider.headers)
    assert created.status_code == 201, created.text
    qid: str = created.json()["designId"]
    await client.put(
        f"/qualifications/{qid}/coauthors/{room.chamber.org_id}",
        json={"roles": ["approver"]},
        headers=room.provider.headers,
    )
    url = f"/qualifications/{qid}/versions/1"
    proposed = await client.post(f"{url}/proposal", headers={**room.provider.headers, "If-Match": '"v1"'})
    assert proposed.status_code == 200, proposed.text
    published = await client.post(f"{url}/decisions", json={"decision": "approve"}, headers=room.chamber.headers)
    assert published.json()["status"] == "published", published.text
    return qid


async def cosign_all(client: AsyncTestClient[Litestar], room: Classroom) -> None:
    queue = await client.get(f"/organisations/{room.chamber.org_id}/cosignature-queue", headers=room.chamber.headers)
    for item in queue.json()["items"]:
        cosigned = await client.post(f"/credentials/{item['id']}/cosignature", headers=room.chamber.headers)
        assert cosigned.status_code == 200, cosigned.text


async def every_kind(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> tuple[Classroom, dict[tuple[str, str | None], dict[str, Any]]]:
    """The classroom learner with a unit credential for each unit, the programme's and a qualification's."""
    room = await classroom(client, bootstrap)
    await publish_qualification(client, room)
    recorded = await client.post(
        room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=room.provider.headers
    )
    assert recorded.status_code == 201, recorded.text
    await simulator_pass(client, room)
    await drain(db, settings)
    await cosign_all(client, room)  # a valid unit credential is what a qualification stands on
    await drain(db, settings)
    await cosign_all(client, room)
    records = {(c["kind"], c["unitKey"]): c for c in await credentials_of(client, room)}
    assert sorted(records, key=str) == sorted(
        [("unit", "u1"), ("unit", "sim"), ("programme", None), ("qualification", None)], key=str
    ), records.keys()
    return room, records


async def test_every_credential_kind_carries_all_eleven_elements_in_open_badges_and_in_elm(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    assert set(ANNEX_I) == set(ANNEX_I_ELM) and len(ANNEX_I) == 11
    room, records = await every_kind(client, bootstrap, db, settings)
    for key, record in records.items():
        assert record["state"] == "issued", (key, record["state"])
        credential = record["credential"]
        assert missing(credential, ANNEX_I) == [], (key, missing(credential, ANNEX_I))
        response = await client.get(f"/credentials/{record['id']}/elm", headers=room.provider.headers)
        assert response.status_code == 200, response.text
        elm = response.json()
        assert missing(elm, ANNEX_I_ELM) == [], (key, missing(elm, ANNEX_I_ELM))
        # The same values, not only some value: the title, the EQF level, the workload, the issuing date.
        # (the signed title, beside the programme's other languages, which the ELM export adds)
        assert follow(credential, ANNEX_I["title"]) in follow(elm, ANNEX_I_ELM["title"]).values()
        assert (
            follow(elm, ANNEX_I_ELM["level"]) == f"http://data.europa.eu/snb/eqf/{follow(credential, ANNEX_I['level'])}"
        )
        assert follow(elm, ANNEX_I_ELM["workload"]) == follow(credential, ANNEX_I["workload"])
        assert follow(elm, ANNEX_I_ELM["date_of_issuing"]) == follow(credential, ANNEX_I["date_of_issuing"])
        assert follow(elm, ANNEX_I_ELM["country_of_issuer"]).endswith("/country/DEU")


async def test_the_email_address_is_never_in_clear_only_its_salted_hash(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, records = await every_kind(client, bootstrap, db, settings)
    for key, record in records.items():
        credential = record["credential"]
        jwt = await client.get(f"/credentials/{record['id']}/vc-jwt", headers=room.provider.headers)
        signed = envelopes.read(jwt.text).payload.decode()
        elm = (await client.get(f"/credentials/{record['id']}/elm", headers=room.provider.headers)).json()
        for form in (json.dumps(credential), signed, json.dumps(elm)):
            assert EMAIL not in form.lower() and "example.de" not in form.lower(), key
        [hashed] = [i for i in credential["credentialSubject"]["identifier"] if i["identityType"] == "emailAddress"]
        assert hashed["hashed"] is True and hashed["identityHash"] == email_hash(EMAIL, hashed["salt"])
        assert [i["notation"] for i in elm["credentialSubject"]["identifier"]] == [hashed["identityHash"]]
        assert list(elm["credentialSubject"]["fullName"].values()) == ["Jonas Weber"]
