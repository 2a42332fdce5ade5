"""Endorsements: a chamber (or authority, QA body) endorses an achievement with a signed Open Badges 3.0
EndorsementCredential, and the credentials issued afterwards for that achievement carry it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.credentials import keys
from domain.db import Database
from tests.conftest import Bootstrap, Integrator
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credentials_festo import credentials_of, simulator_pass

SCHEMA = Path("/work/shared/reference/openbadges-3.0/endorsementcredential.schema.json")


async def endorser(bootstrap: Bootstrap, room: Classroom) -> Integrator:
    """The classroom's chamber, with a token that may issue (the classroom's own cannot)."""
    client_id, secret = await bootstrap.oauth_client(room.chamber.org_id, ["credentials:issue"])
    assert secret is not None
    return Integrator(room.chamber.organisation, client_id, secret, await bootstrap.token(client_id, secret))


async def endorse(
    client: AsyncTestClient[Litestar], who: Integrator, programme_id: str, unit_key: str | None = None, **extra: Any
) -> Any:
    body: dict[str, Any] = {"programmeId": programme_id, "comment": "Meets the chamber's welding standard"}
    if unit_key is not None:
        body["unitKey"] = unit_key
    return await client.post(f"/organisations/{who.org_id}/endorsements", json={**body, **extra}, headers=who.headers)


def validate_against_the_schema(credential: dict[str, Any]) -> None:
    if not SCHEMA.exists():
        pytest.skip(f"the Open Badges 3.0 EndorsementCredential schema is not at {SCHEMA}")
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(credential)]
    assert errors == []


async def test_an_endorsement_is_signed_by_the_chamber_and_later_credentials_carry_it(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    chamber = await endorser(bootstrap, room)
    authority = await bootstrap.integrator(
        ["credentials:issue"], name="Ministry of Labour", kind="authority", country="DE"
    )

    created = await endorse(client, chamber, room.programme_id, "u1")
    assert created.status_code == 201, created.text
    endorsement = created.json()
    whole = await endorse(client, authority, room.programme_id)
    assert whole.status_code == 201, whole.text

    # The EndorsementCredential: the chamber's profile, the achievement as credentials name it, the comment.
    credential = endorsement["credential"]
    did = keys.did_web(settings.public_url, room.chamber.org_id)
    assert credential["type"] == ["VerifiableCredential", "EndorsementCredential"]
    assert credential["issuer"]["id"] == did and credential["issuer"]["name"] == "IHK Region Stuttgart"
    subject = credential["credentialSubject"]
    assert subject["type"] == ["EndorsementSubject"]
    assert subject["endorsementComment"] == "Meets the chamber's welding standard"
    assert subject["id"] == endorsement["achievementId"]
    assert subject["id"].endswith(f"/register/programmes/{room.programme_id}/versions/1#unit-u1")
    validate_against_the_schema(credential)

    # Anyone reads it, as JSON or as the VC-JWT; the JWT verifies with the chamber's published keys.
    public = await client.get(f"/endorsements/{endorsement['id']}")
    assert public.status_code == 200 and public.json()["jwt"] == endorsement["jwt"]
    token = await client.get(f"/endorsements/{endorsement['id']}/vc-jwt")
    assert token.headers["content-type"].startswith("application/vc+jwt") and token.text == endorsement["jwt"]
    jwks = (await client.get(f"/organisations/{room.chamber.org_id}/jwks.json")).json()
    header, payload = keys.verify_compact(token.text, jwks, did)
    assert header["iss"] == did and header["typ"] == "vc+jwt" and header["kid"].startswith(f"{did}#key-")
    # The OB 3.0 JWT profile's claims beside the credential: the endorsed achievement is the subject.
    issued = int(datetime.fromisoformat(credential["validFrom"]).timestamp())
    claims = {"iss": did, "jti": credential["id"], "sub": subject["id"], "nbf": issued, "iat": issued}
    assert msgspec.json.decode(payload) == {**credential, **claims}

    # The authority withdraws its endorsement of the whole programme before the learner passes.
    withdrawn = await client.delete(
        f"/organisations/{authority.org_id}/endorsements/{whole.json()['id']}", headers=authority.headers
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawnAt"] is not None, withdrawn.text

    # The learner passes unit u1: its credential's achievement carries the chamber's endorsement.
    recorded = await client.post(
        room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=room.provider.headers
    )
    assert recorded.status_code == 201, recorded.text
    await drain(db, settings)
    [unit] = await credentials_of(client, room)
    achievement = unit["credential"]["credentialSubject"]["achievement"]
    assert achievement["id"] == endorsement["achievementId"]
    assert achievement["endorsementJwt"] == [endorsement["jwt"]]
    embedded_header, embedded = keys.verify_compact(achievement["endorsementJwt"][0], jwks)
    assert (
        embedded_header["iss"] == did and msgspec.json.decode(embedded)["credentialSubject"]["id"] == achievement["id"]
    )

    # The other unit and the programme as a whole: the chamber endorsed neither; the authority withdrew.
    await simulator_pass(client, room)
    await drain(db, settings)
    others = [c for c in await credentials_of(client, room) if c["unitKey"] != "u1"]
    assert sorted(str(c["unitKey"]) for c in others) == ["None", "sim"]
    for other in others:
        assert "endorsementJwt" not in other["credential"]["credentialSubject"]["achievement"]


async def test_who_may_endorse_what(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    chamber = await endorser(bootstrap, room)

    # A provider is not a chamber, an authority or a QA body: 403, whatever its scopes and roles.
    provider = await endorse(client, room.provider, room.programme_id)
    assert provider.status_code == 403 and "chambers, authorities and QA bodies" in provider.json()["detail"]
    # The chamber's token without credentials:issue, and a token of another organisation: 403.
    assert (await endorse(client, room.chamber, room.programme_id)).status_code == 403
    qa_body = await bootstrap.integrator(["credentials:issue"], name="Akkreditierungsrat", kind="qa_body", country="DE")
    elsewhere = await client.post(
        f"/organisations/{room.chamber.org_id}/endorsements",
        json={"programmeId": room.programme_id, "comment": "x"},
        headers=qa_body.headers,
    )
    assert elsewhere.status_code == 403

    # What is endorsed must be published, and a unit must be one of its units.
    unknown = await endorse(client, chamber, "00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404
    no_unit = await endorse(client, chamber, room.programme_id, "u9")
    assert no_unit.status_code == 422 and "no unit 'u9'" in no_unit.json()["detail"]
    assert (await endorse(client, chamber, room.programme_id, comment="")).status_code == 400

    # One live endorsement per endorser and achievement; a QA body endorses the same one on its own.
    first = await endorse(client, chamber, room.programme_id)
    assert first.status_code == 201, first.text
    again = await endorse(client, chamber, room.programme_id)
    assert again.status_code == 409
    assert (await endorse(client, qa_body, room.programme_id)).status_code == 201

    # Only the endorser withdraws, once; a withdrawn endorsement stays readable, and may be made anew.
    endorsement_id = first.json()["id"]
    foreign = await client.delete(
        f"/organisations/{qa_body.org_id}/endorsements/{endorsement_id}", headers=qa_body.headers
    )
    assert foreign.status_code == 404
    withdrawn = await client.delete(
        f"/organisations/{chamber.org_id}/endorsements/{endorsement_id}", headers=chamber.headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    twice = await client.delete(
        f"/organisations/{chamber.org_id}/endorsements/{endorsement_id}", headers=chamber.headers
    )
    assert twice.status_code == 409
    assert (await client.get(f"/endorsements/{endorsement_id}")).json()["withdrawnAt"] is not None
    assert (await endorse(client, chamber, room.programme_id)).status_code == 201
    assert (await client.get("/endorsements/00000000-0000-4000-8000-000000000000")).status_code == 404


async def test_an_endorsement_of_a_qualification_names_the_qualification(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    from tests.test_annex_i import publish_qualification

    room = await classroom(client, bootstrap)
    chamber = await endorser(bootstrap, room)
    qid = await publish_qualification(client, room)
    unit = await endorse(client, chamber, qid, "u1")
    assert unit.status_code == 422 and "qualification has no units" in unit.json()["detail"]
    created = await endorse(client, chamber, qid)
    assert created.status_code == 201, created.text
    assert created.json()["achievementId"].endswith(f"/register/qualifications/{qid}/versions/1")
    validate_against_the_schema(created.json()["credential"])
