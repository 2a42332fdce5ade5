"""The language an Open Badges credential is issued in: the learner's ``preferredLanguage`` when the programme
has its texts in it, else the programme's default language — the same on the single and the batch path."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft201909Validator
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.db import Database
from tests.conftest import Bootstrap
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_batch_issuing import learners, passes, run_chunks
from tests.test_credential_schema import assert_valid, validator  # noqa: F401 (a fixture)
from tests.test_credentials_festo import credentials_of

# The classroom's programme (tests.test_codesign_tekniq.programme_content): Danish by default, English too.
DANISH = "MIG-svejsning af stålkonstruktioner: MIG-svejsning"
ENGLISH = "MIG welding of steel structures: MIG welding basics"


async def prefer(client: AsyncTestClient[Litestar], room: Classroom, learner_id: str, language: str | None) -> None:
    url = f"/organisations/{room.provider.org_id}/learners/{learner_id}"
    current = await client.get(url, headers=room.provider.headers)
    assert current.status_code == 200, current.text
    changed = await client.patch(
        url,
        json={"preferredLanguage": language},
        headers={**room.provider.headers, "If-Match": current.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["preferredLanguage"] == language


def unit_credentials(credentials: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The u1 credentials by learner."""
    return {c["learnerId"]: c["credential"] for c in credentials if c["unitKey"] == "u1"}


def assert_in(document: dict[str, Any], language: str) -> None:
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["inLanguage"] == language
    name, outcome = (
        (ENGLISH, "Welds fillet joints with MIG") if language == "en" else (DANISH, "Svejser kantsømme med MIG")
    )
    assert achievement["name"] == document["name"] == name
    assert achievement["learningOutcome"][0]["title"] == outcome


async def test_a_learner_record_keeps_a_preferred_language_and_refuses_what_is_no_language_code(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    room = await classroom(client, bootstrap)
    base = f"/organisations/{room.provider.org_id}/learners"
    made = await client.post(base, json={"name": "Ana Silva", "preferredLanguage": "pt"}, headers=room.provider.headers)
    assert made.status_code == 201 and made.json()["preferredLanguage"] == "pt", made.text
    plain = await client.get(f"{base}/{room.learner_id}", headers=room.provider.headers)
    assert plain.json()["preferredLanguage"] is None
    for wrong in ("english", "EN", "en-GB", "", 3, "en\n"):  # "$" in a Python pattern matches before a last \n
        refused = await client.post(base, json={"name": "X", "preferredLanguage": wrong}, headers=room.provider.headers)
        assert refused.status_code == 400, (wrong, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    await prefer(client, room, room.learner_id, "en")
    await prefer(client, room, room.learner_id, None)  # back to the programme's default


async def test_the_credential_is_in_the_preferred_language_or_the_programmes_default(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    settings: Settings,
    validator: Draft201909Validator,  # noqa: F811
) -> None:
    room = await classroom(client, bootstrap)
    (english, _), (french, _), (unset, _) = who = await learners(client, room, 3)
    await prefer(client, room, english, "en")
    await prefer(client, room, french, "fr")  # the programme has no French texts
    await passes(client, room, who)
    await drain(db, settings)  # the single path
    documents = unit_credentials(await credentials_of(client, room))
    assert_in(documents[english], "en")
    assert_in(documents[french], "da")
    assert_in(documents[unset], "da")
    for document in documents.values():
        assert_valid(validator, document, "a credential in the learner's language")
    # The issuer's name comes in the same language where the organisation has it (Festo has one name).
    assert documents[english]["issuer"]["name"] == "Festo Didactic"

    page = await client.get(f"/c/{documents[english]['id'].removeprefix('urn:uuid:')}")
    assert page.status_code == 200 and 'lang="en"' in page.text and ENGLISH in page.text

    # The learner wants theirs in Danish after all: the provider changes the preference and re-issues.
    await prefer(client, room, english, "da")
    old_id = documents[english]["id"].removeprefix("urn:uuid:")
    reissued = await client.post(
        f"/credentials/{old_id}/reissue", json={"reason": "wanted in Danish"}, headers=room.provider.headers
    )
    assert reissued.status_code in (200, 201), reissued.text
    assert_in(reissued.json()["credential"], "da")
    replaced = await client.get(f"/credentials/{old_id}", headers=room.provider.headers)
    assert replaced.json()["state"] == "revoked" and replaced.json()["replacedBy"] == reissued.json()["id"]


async def test_the_batch_path_issues_in_the_same_language(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await classroom(client, bootstrap)
    (english, _), (unset, _) = who = await learners(client, room, 2)
    await prefer(client, room, english, "en")
    await passes(client, room, who)
    assert await run_chunks(db, settings) >= 2  # the worker's batch of attempt.passed events
    documents = unit_credentials(await credentials_of(client, room))
    assert_in(documents[english], "en")
    assert_in(documents[unset], "da")
