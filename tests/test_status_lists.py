"""Bitstring Status List v1.0: encoding and bit order, allocation under concurrency, status changes,
and the signed list published to verifiers (VC-JWT and JSON with proof), re-signed only after a change."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.credentials import envelopes, keys, status_lists
from domain.credentials.data_integrity import proofs
from domain.credentials.status_lists import LIST_BYTES, LIST_SIZE, StatusSlot
from domain.db import Database
from domain.errors import Conflict, InvalidInput, NotFound
from tests.conftest import BASE_URL, OPERATOR, Bootstrap

ZEROS = bytes(LIST_BYTES)
PROPERTY = settings(max_examples=200, deadline=None)

# The example encodedList of the specification (StatusList2021 and Bitstring Status List): 16 KB of
# zeros, without the multibase prefix that Bitstring Status List v1.0 adds.
SPEC_EXAMPLE = "H4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


# --- Pure helpers ---------------------------------------------------------------------------------


@PROPERTY
@given(st.binary(max_size=4096))
def test_encoding_round_trips(bits: bytes) -> None:
    encoded = status_lists.encode_list(bits)
    assert encoded.startswith("u") and "=" not in encoded
    assert set(encoded[1:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert status_lists.decode_list(encoded) == bits
    # GZIP then base64url, as the specification says, readable by any implementation of both.
    body = encoded[1:]
    assert gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) == bits


def test_the_encoding_is_deterministic_and_reads_the_specification_example() -> None:
    assert status_lists.encode_list(ZEROS) == status_lists.encode_list(ZEROS)
    assert status_lists.decode_list(SPEC_EXAMPLE) == ZEROS
    assert status_lists.decode_list("u" + SPEC_EXAMPLE) == ZEROS


@pytest.mark.parametrize(
    "text", ["u!!!", "uAAAA", "u" + base64.urlsafe_b64encode(gzip.compress(b"x" * 100, mtime=0)[:-9]).decode()]
)
def test_what_is_not_an_encoded_list_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        status_lists.decode_list(text)


def test_a_list_that_inflates_without_bound_is_refused() -> None:
    bomb = status_lists.encode_list(bytes(status_lists.MAX_DECODED_BYTES + 1))
    with pytest.raises(InvalidInput, match="inflates to more than"):
        status_lists.decode_list(bomb)


def test_index_zero_is_the_most_significant_bit_of_the_first_byte() -> None:
    assert status_lists.with_bit(ZEROS, 0, True)[:2] == b"\x80\x00"
    assert status_lists.with_bit(ZEROS, 7, True)[:2] == b"\x01\x00"
    assert status_lists.with_bit(ZEROS, 8, True)[:2] == b"\x00\x80"
    assert status_lists.with_bit(ZEROS, LIST_SIZE - 1, True)[-1:] == b"\x01"
    assert status_lists.bit(b"\x80\x01", 0) and status_lists.bit(b"\x80\x01", 15)
    assert not any(status_lists.bit(b"\x80\x01", i) for i in range(1, 15))
    with pytest.raises(InvalidInput, match="outside the list"):
        status_lists.bit(b"\x80", 8)


@PROPERTY
@given(st.binary(min_size=1, max_size=64), st.data(), st.booleans())
def test_setting_a_bit_changes_that_bit_alone(bits: bytes, data: st.DataObject, value: bool) -> None:
    index = data.draw(st.integers(0, len(bits) * 8 - 1))
    changed = status_lists.with_bit(bits, index, value)
    assert status_lists.bit(changed, index) is value
    assert all(status_lists.bit(changed, i) == status_lists.bit(bits, i) for i in range(len(bits) * 8) if i != index)
    # The order is the big-endian one: the bitstring read as one unsigned integer, index 0 at the top.
    as_int = int.from_bytes(changed, "big")
    assert bool(as_int >> (len(bits) * 8 - 1 - index) & 1) is value


def test_a_credential_points_at_its_revocation_list() -> None:
    slot = StatusSlot(uuid4(), 3, 94567, uuid4(), uuid4())
    url = f"{BASE_URL}/status-lists/{slot.revocation_list_id}"
    assert status_lists.credential_status(BASE_URL + "/", slot) == {
        "id": f"{url}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": url,
    }


# --- Allocation and status ------------------------------------------------------------------------


async def issuer(bootstrap: Bootstrap, db: Database, settings: Settings, name: str = "AMU Welding Centre") -> UUID:
    organisation = await bootstrap.organisation(name, kind="vet_provider")
    await keys.create_key(db, OPERATOR, organisation.id, master_key=settings.master_key)
    return organisation.id


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Database]:
    """A pool wide enough for real concurrency (the ``db`` fixture's holds two connections)."""
    database = await Database.connect(database_url, min_size=10, max_size=20)
    yield database
    await database.close()


async def stored_bits(db: Database, list_id: UUID) -> bytes:
    async with db.connection() as conn:
        bits: bytes = await conn.fetchval("SELECT bits FROM status_lists WHERE id = $1", list_id)
    return bits


async def list_version(db: Database, list_id: UUID) -> int:
    async with db.connection() as conn:
        version: int = await conn.fetchval("SELECT version FROM status_lists WHERE id = $1", list_id)
    return version


async def test_concurrent_allocations_get_distinct_slots_across_a_list_boundary(
    bootstrap: Bootstrap, pool: Database
) -> None:
    org_id = (await bootstrap.organisation("AMU Nord", kind="vet_provider")).id
    other_id = (await bootstrap.organisation("AMU Syd", kind="vet_provider")).id
    async with pool.connection() as conn:  # 200 slots from here cross into the next list
        start = await conn.fetchval("SELECT nextval('status_list_entries')")
        await conn.execute("SELECT setval('status_list_entries', $1)", (start // LIST_SIZE + 2) * LIST_SIZE - 101)

    async def one(organisation_id: UUID) -> StatusSlot:
        async with pool.transaction() as conn:
            return await status_lists.allocate(conn, organisation_id)

    slots = await asyncio.gather(*(one(org_id if i % 4 else other_id) for i in range(200)))
    assert len({(s.number, s.index) for s in slots}) == 200
    assert {s.index for s in slots} >= {LIST_SIZE - 1, 0}, "the slots run over into the next list"
    lists: dict[tuple[UUID, int], tuple[UUID, UUID]] = {}
    for s in slots:  # one pair of lists per organisation and number, whoever made them
        assert lists.setdefault((s.organisation_id, s.number), (s.revocation_list_id, s.suspension_list_id)) == (
            s.revocation_list_id,
            s.suspension_list_id,
        )
    assert len(lists) == 4
    async with pool.connection() as conn:
        rows = await conn.fetch("SELECT organisation_id, number, purpose, id FROM status_lists")
    assert len(rows) == 8
    assert {(r["organisation_id"], r["number"], r["purpose"]): r["id"] for r in rows} == {
        (org, number, purpose): ids[i]
        for (org, number), ids in lists.items()
        for i, purpose in enumerate(["revocation", "suspension"])
    }


async def test_bulk_allocation_gives_distinct_slots_in_few_lists(bootstrap: Bootstrap, db: Database) -> None:
    org_id = (await bootstrap.organisation(kind="vet_provider")).id
    async with db.transaction() as conn:
        slots = await status_lists.allocate_many(conn, org_id, 1000)
        assert await status_lists.allocate_many(conn, org_id, 0) == []
        single = await status_lists.allocate(conn, org_id)
    assert len({(s.number, s.index) for s in [*slots, single]}) == 1001
    assert len({s.revocation_list_id for s in slots}) <= 2
    assert all(s.organisation_id == org_id for s in slots)


async def test_suspension_comes_and_goes_and_revocation_stays(bootstrap: Bootstrap, db: Database) -> None:
    org_id = (await bootstrap.organisation(kind="vet_provider")).id
    async with db.transaction() as conn:
        slot = await status_lists.allocate(conn, org_id)
        assert await status_lists.status_of(conn, org_id, slot.number, slot.index) == (False, False)
    n, i = slot.number, slot.index

    async def change(purpose: status_lists.StatusPurpose, value: bool) -> tuple[bool, bool]:
        async with db.transaction() as conn:  # the caller's transaction, as issuing's would be
            await status_lists.set_status(conn, org_id, n, i, purpose, value)
            return await status_lists.status_of(conn, org_id, n, i)

    assert await change("suspension", True) == (False, True)
    assert await stored_bits(db, slot.suspension_list_id) == status_lists.with_bit(ZEROS, i, True)
    assert await change("suspension", False) == (False, False)  # reinstated
    assert await stored_bits(db, slot.suspension_list_id) == ZEROS
    assert await change("revocation", True) == (True, False)
    assert await stored_bits(db, slot.revocation_list_id) == status_lists.with_bit(ZEROS, i, True)

    version = await list_version(db, slot.revocation_list_id)
    assert await change("revocation", True) == (True, False)
    assert await list_version(db, slot.revocation_list_id) == version, "setting a set bit is no change"
    with pytest.raises(Conflict, match="cannot be undone"):
        await change("revocation", False)
    assert await change("suspension", True) == (True, True)

    # Clearing a revocation bit that was never set is no change, and nothing to refuse.
    async with db.transaction() as conn:
        other = await status_lists.allocate(conn, org_id)
        await status_lists.set_status(conn, org_id, other.number, other.index, "revocation", False)
        assert await status_lists.status_of(conn, org_id, other.number, other.index) == (False, False)


async def test_a_change_rolled_back_with_its_transaction_leaves_no_bit(bootstrap: Bootstrap, db: Database) -> None:
    org_id = (await bootstrap.organisation(kind="vet_provider")).id
    async with db.transaction() as conn:
        slot = await status_lists.allocate(conn, org_id)
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await status_lists.set_status(conn, org_id, slot.number, slot.index, "revocation", True)
            raise RuntimeError("the caller's change failed")
    async with db.connection() as conn:
        assert await status_lists.status_of(conn, org_id, slot.number, slot.index) == (False, False)


@pytest.mark.parametrize("index", [0, 7, 8, 4242, LIST_SIZE - 1])
async def test_postgresql_stores_bits_in_the_specification_order(
    bootstrap: Bootstrap, db: Database, index: int
) -> None:
    org_id = (await bootstrap.organisation(kind="vet_provider")).id
    async with db.transaction() as conn:
        slot = await status_lists.allocate(conn, org_id)
        await status_lists.set_status(conn, org_id, slot.number, index, "suspension", True)
        assert await status_lists.status_of(conn, org_id, slot.number, index) == (False, True)
    bits = await stored_bits(db, slot.suspension_list_id)
    assert bits == status_lists.with_bit(ZEROS, index, True)
    assert [i for i in range(max(0, index - 9), min(LIST_SIZE, index + 10)) if status_lists.bit(bits, i)] == [index]


async def test_unknown_slots_and_bad_indexes_are_refused(bootstrap: Bootstrap, db: Database) -> None:
    org_id = (await bootstrap.organisation(kind="vet_provider")).id
    async with db.transaction() as conn:
        slot = await status_lists.allocate(conn, org_id)
    async with db.connection() as conn:
        with pytest.raises(NotFound):
            await status_lists.set_status(conn, org_id, slot.number + 1000, 0, "revocation", True)
        with pytest.raises(NotFound):
            await status_lists.status_of(conn, uuid4(), slot.number, 0)
        for index in (-1, LIST_SIZE):
            with pytest.raises(InvalidInput):
                await status_lists.set_status(conn, org_id, slot.number, index, "suspension", True)
        with pytest.raises(InvalidInput):
            await status_lists.set_status(conn, org_id, slot.number, 0, "paused", True)  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            await status_lists.status_list_credential(conn, uuid4(), public_url=BASE_URL, master_key=b"k" * 32)


# --- Publishing -----------------------------------------------------------------------------------


async def revoked_slot(db: Database, org_id: UUID) -> StatusSlot:
    async with db.transaction() as conn:
        slot = await status_lists.allocate(conn, org_id)
        await status_lists.set_status(conn, org_id, slot.number, slot.index, "revocation", True)
    return slot


async def test_the_published_list_verifies_with_the_organisations_keys_and_shows_the_bit(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    org_id = await issuer(bootstrap, db, settings)
    slot = await revoked_slot(db, org_id)
    status = status_lists.credential_status(settings.public_url, slot)
    assert status["statusListCredential"].startswith(BASE_URL)

    response = await client.get(status["statusListCredential"])  # no token
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vc+jwt")
    assert response.headers["cache-control"] == "public, max-age=60"
    published = await list_version(db, slot.revocation_list_id) + await list_version(db, slot.suspension_list_id)
    assert response.headers["etag"] == f'W/"v{published}"'
    token = response.text
    async with db.connection() as conn:
        header, payload = keys.verify_compact(token, await keys.published_keys(conn, org_id))
    did = keys.did_web(settings.public_url, org_id)
    assert (header["typ"], header["cty"], header["iss"]) == ("vc+jwt", "vc", did)

    document = json.loads(payload)
    url = status["statusListCredential"]
    assert document["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert (document["id"], document["issuer"]) == (url, did)
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["validFrom"].endswith("Z")
    subject = document["credentialSubject"]
    assert (subject["id"], subject["type"], subject["statusPurpose"]) == (
        f"{url}#list",
        "BitstringStatusList",
        "revocation",
    )
    bits = status_lists.decode_list(subject["encodedList"])
    assert len(bits) == LIST_BYTES
    index = int(status["statusListIndex"])
    assert status_lists.bit(bits, index) and bits == status_lists.with_bit(ZEROS, index, True)

    # The suspension list of the same number: the same index, not set.
    suspension = await client.get(f"/status-lists/{slot.suspension_list_id}")
    assert suspension.status_code == 200
    suspended = json.loads(envelopes.b64url_decode(suspension.text.split(".")[1]))["credentialSubject"]
    assert suspended["statusPurpose"] == "suspension"
    assert not status_lists.bit(status_lists.decode_list(suspended["encodedList"]), index)


@pytest.mark.parametrize("accept", ["application/json", "application/vc"])
async def test_the_json_form_carries_a_data_integrity_proof_by_the_key_of_its_jwt(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, accept: str
) -> None:
    org_id = await issuer(bootstrap, db, settings)
    slot = await revoked_slot(db, org_id)
    path = f"/status-lists/{slot.revocation_list_id}"
    token = (await client.get(path, headers={"Accept": "application/vc+jwt"})).text

    response = await client.get(path, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(accept)
    assert response.headers["etag"] != (await client.get(path)).headers["etag"], "one tag per representation"
    assert "Accept" in response.headers["vary"]
    document = response.json()
    (proof,) = document["proof"]
    header = json.loads(envelopes.b64url_decode(token.split(".")[0]))
    assert {k: v for k, v in proof.items() if k != "proofValue"} == {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": document["validFrom"],
        "verificationMethod": header["kid"],  # the DID URL of the key that signed the VC-JWT
        "proofPurpose": "assertionMethod",
    }
    assert {k: v for k, v in document.items() if k != "proof"} == envelopes.credential_json(
        envelopes.b64url_decode(token.split(".")[1])
    )
    envelope = envelopes.read(document)  # what Guildhall's verifier reads: the proof signs this very document
    assert envelope.form == "data-integrity"
    assert envelopes.credential_json(envelope.payload)["credentialSubject"]["statusPurpose"] == "revocation"
    async with db.connection() as conn:
        jwks = await keys.published_keys(conn, org_id)
    [jwk] = [k for k in jwks["keys"] if header["kid"].endswith("#key-" + k["kid"])]
    proofs.verify(envelopes.credential_json(envelope.payload), proof, jwk, settings.issuer)

    # What the OpenAPI document says of this answer is what it is: a proof set (an array), not one object.
    spec = (await client.get("/schema/openapi.json")).json()["paths"]["/status-lists/{list_id}"]["get"]
    documented = spec["responses"]["200"]["content"][accept]["schema"]["properties"]["proof"]
    assert documented["type"] == "array" and "JwtProof2020 proof holding" not in documented.get("description", "")


async def test_an_unknown_list_is_not_found(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get(f"/status-lists/{uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/status-lists/not-a-list")).status_code == 404


async def test_the_list_is_signed_again_only_after_a_change(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org_id = await issuer(bootstrap, db, settings)
    async with db.transaction() as conn:
        slot = await status_lists.allocate(conn, org_id)
    signed: list[bytes] = []
    sign: Callable[[keys.IssuerKey, bytes, str], Awaitable[str]] = envelopes.sign

    async def counting_sign(key: keys.IssuerKey, payload: bytes, signer_did: str) -> str:
        signed.append(payload)
        return await sign(key, payload, signer_did)

    monkeypatch.setattr(envelopes, "sign", counting_sign)
    path = f"/status-lists/{slot.suspension_list_id}"

    first = await client.get(path)
    again = await client.get(path, headers={"Accept": "application/json"})
    third = await client.get(path)
    assert first.status_code == again.status_code == third.status_code == 200
    assert len(signed) == 1 and first.text == third.text
    assert again.json()["proof"][0]["type"] == "DataIntegrityProof"
    assert first.headers["etag"] == third.headers["etag"] == 'W/"v1"'
    not_modified = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == first.headers["etag"]
    assert len(signed) == 1

    async with db.transaction() as conn:
        await status_lists.set_status(conn, org_id, slot.number, slot.index, "suspension", True)
    changed = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] == 'W/"v2"'
    assert len(signed) == 2 and changed.text != first.text
    assert (await client.get(path)).text == changed.text and len(signed) == 2

    async with db.transaction() as conn:  # reinstated: a new version, signed once more
        await status_lists.set_status(conn, org_id, slot.number, slot.index, "suspension", False)
        await status_lists.set_status(conn, org_id, slot.number, slot.index, "suspension", False)
    reinstated = await client.get(path)
    assert reinstated.headers["etag"] == 'W/"v3"' and len(signed) == 3
    subject: dict[str, Any] = json.loads(signed[-1])["credentialSubject"]
    assert not status_lists.bit(status_lists.decode_list(subject["encodedList"]), slot.index)

    # Other lists' signatures are their own: the revocation list of the slot was never signed.
    async with db.connection() as conn:
        cached = await conn.fetchval("SELECT signed_jwt FROM status_lists WHERE id = $1", slot.revocation_list_id)
    assert cached is None


def test_a_revocation_list_publishes_suspended_credentials_as_not_valid() -> None:
    revoked = status_lists.with_bit(ZEROS, 3, True)
    suspended = status_lists.with_bit(ZEROS, 9, True)
    published = status_lists.published_bits(revoked, suspended)
    assert [i for i in range(16) if status_lists.bit(published, i)] == [3, 9]
    assert status_lists.published_bits(revoked, revoked) == revoked
    with pytest.raises(InvalidInput):
        status_lists.published_bits(ZEROS, b"\x00")


async def published_revocation_bit(client: AsyncTestClient[Litestar], slot: StatusSlot) -> tuple[bool, str]:
    """The slot's bit in the revocation list as published, and the list's ETag."""
    response = await client.get(f"/status-lists/{slot.revocation_list_id}", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    subject = response.json()["credentialSubject"]
    assert subject["statusPurpose"] == "revocation"
    return status_lists.bit(status_lists.decode_list(subject["encodedList"]), slot.index), response.headers["etag"]


async def test_the_published_revocation_bit_follows_suspension_and_stays_after_revocation(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    org_id = await issuer(bootstrap, db, settings)
    async with db.transaction() as conn:
        slot, neighbour = await status_lists.allocate_many(conn, org_id, 2)
    assert (slot.number, slot.revocation_list_id) == (neighbour.number, neighbour.revocation_list_id)

    async def change(purpose: status_lists.StatusPurpose, value: bool) -> None:
        async with db.transaction() as conn:
            await status_lists.set_status(conn, org_id, slot.number, slot.index, purpose, value)

    clear, etag = await published_revocation_bit(client, slot)
    assert not clear
    await change("suspension", True)
    suspended, suspended_etag = await published_revocation_bit(client, slot)
    assert suspended and suspended_etag != etag  # the cached signature of the old bits is not served
    assert not (await published_revocation_bit(client, neighbour))[0]
    async with db.connection() as conn:  # the stored lists keep the two purposes apart
        assert await status_lists.status_of(conn, org_id, slot.number, slot.index) == (False, True)

    await change("suspension", False)
    reinstated, reinstated_etag = await published_revocation_bit(client, slot)
    assert not reinstated and reinstated_etag not in (etag, suspended_etag)

    await change("suspension", True)
    await change("revocation", True)
    await change("suspension", False)  # reinstating a revoked credential leaves it revoked
    assert (await published_revocation_bit(client, slot))[0]
    async with db.connection() as conn:
        assert await status_lists.status_of(conn, org_id, slot.number, slot.index) == (True, False)


async def test_signing_a_list_needs_the_organisations_key(
    bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    org_id = (await bootstrap.organisation(kind="vet_provider")).id  # no key yet
    async with db.transaction() as conn:
        slot = await status_lists.allocate(conn, org_id)
    async with db.connection() as conn:
        with pytest.raises(Conflict, match="no signing key"):
            await status_lists.status_list_credential(
                conn, slot.revocation_list_id, public_url=settings.public_url, master_key=settings.master_key
            )
