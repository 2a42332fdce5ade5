"""W3C Bitstring Status List v1.0: revocation and suspension of Guildhall's credentials.

* Each issuing organisation has lists of ``LIST_SIZE`` (131,072) bits, the specification's minimum for
  herd privacy (16 KB). A credential gets one slot, a list ``number`` and an ``index``; the index is
  used in two lists of that number, purpose ``revocation`` (permanent) and ``suspension`` (temporary).
* Open Badges 3.0 allows one ``credentialStatus`` object (the 1EdTech schema has no array), so the
  credential names one ``BitstringStatusListEntry``, purpose ``revocation`` (``credential_status``). So that
  every independent checker reads a suspended credential as not valid, the revocation list is *published*
  with the suspension bits ORed in (``published_bits``): its bit is set while a credential is revoked or
  suspended, and cleared again on reinstatement unless it was revoked. A refused or withdrawn co-signature
  sets the revocation bit as well (``service``): final, and a copy handed out earlier must fail every
  verifier's status check. The lists in the database keep the two purposes apart, and Guildhall's own
  verifier and pages read both (``status_of``) to tell suspended from revoked. The suspension list is
  published as well, with its own bits only.
* Slots come from a PostgreSQL sequence (``allocate``), so concurrent issuance never waits on a hot
  row; lists are made on first use. Gaps in an organisation's lists are harmless.
* A status change (``set_status``) runs in the caller's transaction, beside the change it reflects.
  A revocation bit is never cleared.
* A list is published as a signed ``BitstringStatusListCredential`` (VC-JWT), signed by the
  organisation's current key and cached until the bits it publishes change (``signed_status_list``); a
  revocation list's published version is the sum of its own and its suspension list's versions.
* Bit order as the specification has it: index 0 is the most significant bit of the first byte.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from domain.credentials import envelopes, keys
from domain.db import Connection
from domain.errors import Conflict, InvalidInput, NotFound
from domain.sql import load_queries

q = load_queries(__file__, "status_lists.sql")

StatusPurpose = Literal["revocation", "suspension"]
PURPOSES: tuple[StatusPurpose, ...] = ("revocation", "suspension")

LIST_SIZE = 131_072  # bits per list: the specification's minimum, 16 KB
LIST_BYTES = LIST_SIZE // 8
MULTIBASE_BASE64URL = "u"  # the multibase prefix of base64url without padding
MAX_DECODED_BYTES = 16 * 1024 * 1024  # a foreign list larger than this is refused (a GZIP bomb)

ENTRY_TYPE = "BitstringStatusListEntry"
CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"


# --- Pure helpers -------------------------------------------------------------------------------


def encode_list(bits: bytes) -> str:
    """``encodedList``: the bitstring GZIP-compressed, base64url without padding, multibase prefix ``u``.

    The GZIP header's time is 0, so the same bits always encode to the same text.
    """
    compressed = gzip.compress(bits, mtime=0)
    return MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()


def decode_list(text: str) -> bytes:
    """The bitstring of an ``encodedList``; ``InvalidInput`` if it is not one.

    The multibase prefix is optional here (older lists omit it); output is capped at
    ``MAX_DECODED_BYTES`` so that a small hostile list cannot inflate without bound.
    """
    body = text.removeprefix(MULTIBASE_BASE64URL)
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP framing
        bits = inflater.decompress(compressed, MAX_DECODED_BYTES)
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise InvalidInput("the encodedList is not GZIP-compressed base64url") from exc
    if inflater.unconsumed_tail:
        raise InvalidInput(f"the encodedList inflates to more than {MAX_DECODED_BYTES} bytes")
    if not inflater.eof:
        raise InvalidInput("the encodedList's GZIP stream is truncated")
    return bits


def _check_index(index: int, size_bits: int) -> None:
    if not 0 <= index < size_bits:
        raise InvalidInput(f"status list index {index} is outside the list (0 to {size_bits - 1})")


def bit(bits: bytes, index: int) -> bool:
    """Bit ``index`` of a bitstring: index 0 is the most significant bit of the first byte."""
    _check_index(index, len(bits) * 8)
    return bool(bits[index // 8] >> (7 - index % 8) & 1)


def with_bit(bits: bytes, index: int, value: bool) -> bytes:
    """A copy of ``bits`` with bit ``index`` set or cleared (the order of ``bit``)."""
    _check_index(index, len(bits) * 8)
    changed = bytearray(bits)
    mask = 0x80 >> (index % 8)
    changed[index // 8] = changed[index // 8] | mask if value else changed[index // 8] & ~mask
    return bytes(changed)


def _pg_bit(index: int) -> int:
    """PostgreSQL's bit number for the specification's ``index``: the same byte, the bit mirrored."""
    _check_index(index, LIST_SIZE)
    return index ^ 7


def published_bits(revocation: bytes, suspension: bytes) -> bytes:
    """The bits a revocation list publishes: set where a credential is revoked or suspended."""
    if len(revocation) != len(suspension):
        raise InvalidInput("a revocation list and its suspension list differ in size")
    combined = int.from_bytes(revocation, "big") | int.from_bytes(suspension, "big")
    return combined.to_bytes(len(revocation), "big")


def status_list_url(public_url: str, list_id: UUID) -> str:
    return f"{public_url.rstrip('/')}/status-lists/{list_id}"


# --- Allocation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusSlot:
    """A credential's place in its organisation's status lists: the same index in both purposes' lists."""

    organisation_id: UUID
    number: int
    index: int
    revocation_list_id: UUID
    suspension_list_id: UUID

    def list_id(self, purpose: StatusPurpose) -> UUID:
        return self.revocation_list_id if purpose == "revocation" else self.suspension_list_id


async def _lists(conn: Connection, organisation_id: UUID, numbers: list[int]) -> dict[int, tuple[UUID, UUID]]:
    """The (revocation, suspension) list ids of each number, making the lists that do not exist yet."""
    await conn.execute(q.create_lists, organisation_id, sorted(set(numbers)))
    # A new statement: in READ COMMITTED it sees lists a concurrent transaction made and committed.
    rows = await conn.fetch(q.list_ids, organisation_id, numbers)
    ids = {(row["number"], row["purpose"]): row["id"] for row in rows}
    return {n: (ids[(n, "revocation")], ids[(n, "suspension")]) for n in numbers}


async def allocate(conn: Connection, organisation_id: UUID) -> StatusSlot:
    """A new slot for one credential of ``organisation_id``; its lists exist once this returns.

    One round trip when the lists exist; the first slot of a list also makes the list. Making a list
    is part of the caller's transaction: a concurrent first use waits for it to commit.
    """
    row = await conn.fetchrow(q.next_slot, organisation_id, LIST_SIZE)
    number, index = divmod(row["n"], LIST_SIZE)
    revocation_id, suspension_id = row["revocation_id"], row["suspension_id"]
    if revocation_id is None or suspension_id is None:
        revocation_id, suspension_id = (await _lists(conn, organisation_id, [number]))[number]
    return StatusSlot(organisation_id, number, index, revocation_id, suspension_id)


async def allocate_many(conn: Connection, organisation_id: UUID, count: int) -> list[StatusSlot]:
    """``count`` slots at once, for bulk issuance: three round trips whatever the count."""
    if count <= 0:
        return []
    slots = [divmod(row["n"], LIST_SIZE) for row in await conn.fetch(q.next_slots, count)]
    lists = await _lists(conn, organisation_id, sorted({number for number, _ in slots}))
    return [StatusSlot(organisation_id, number, index, *lists[number]) for number, index in slots]


def credential_status(public_url: str, slot: StatusSlot) -> dict[str, str]:
    """The Open Badges 3.0 ``credentialStatus`` of a credential: its entry in the revocation list, whose
    published bit is set while the credential is revoked or suspended."""
    url = status_list_url(public_url, slot.revocation_list_id)
    return {
        "id": f"{url}#{slot.index}",
        "type": ENTRY_TYPE,
        "statusPurpose": "revocation",
        "statusListIndex": str(slot.index),
        "statusListCredential": url,
    }


# --- Status -------------------------------------------------------------------------------------


async def set_status(
    conn: Connection, organisation_id: UUID, number: int, index: int, purpose: StatusPurpose, value: bool
) -> None:
    """Sets or clears a credential's bit, in the caller's transaction (which should hold its change).

    Setting a set bit or clearing a clear one changes nothing. A revocation is permanent: clearing a
    set revocation bit raises ``Conflict``. ``NotFound`` if the slot's list does not exist.
    """
    if purpose not in PURPOSES:
        raise InvalidInput(f"status purpose {purpose!r} is neither 'revocation' nor 'suspension'")
    pg_bit, wanted = _pg_bit(index), int(value)
    if await conn.fetchval(q.set_bit, organisation_id, number, purpose, pg_bit, wanted) is not None:
        return
    current = await conn.fetchval(q.bit_of, organisation_id, number, purpose, pg_bit)
    if current is None:
        raise NotFound(f"organisation {organisation_id} has no {purpose} status list number {number}")
    if current != wanted:  # only a set revocation bit is left unchanged on purpose
        raise Conflict("a revoked credential stays revoked: its revocation cannot be undone; issue a new one")


async def status_of(conn: Connection, organisation_id: UUID, number: int, index: int) -> tuple[bool, bool]:
    """(revoked, suspended) of the credential in this slot; ``NotFound`` if its lists do not exist."""
    found = {
        row["purpose"]: bool(row["bit"]) for row in await conn.fetch(q.bits_at, organisation_id, number, _pg_bit(index))
    }
    if set(found) != set(PURPOSES):
        raise NotFound(f"organisation {organisation_id} has no status lists number {number}")
    return found["revocation"], found["suspension"]


# --- Publishing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedStatusList:
    """A status list credential as published: the VC-JWT and what a reader needs beside it."""

    list_id: UUID
    organisation_id: UUID
    purpose: StatusPurpose
    version: int  # of the published bits: an ETag
    jwt: str

    @property
    def payload(self) -> bytes:
        """The credential JSON exactly as signed."""
        return envelopes.b64url_decode(self.jwt.split(".")[1])

    def with_proof(self) -> dict[str, Any]:
        """The credential JSON with its signature as one ``JwtProof2020`` proof, as credentials have it."""
        payload = self.payload
        created: str = msgspec.json.decode(payload)["validFrom"]
        return envelopes.with_proof(payload, [envelopes.Signature.from_compact(self.jwt)], [created])


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_list_document(url: str, issuer: str, purpose: StatusPurpose, bits: bytes, valid_from: str) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` (W3C VC 2.0)."""
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": LIST_TYPE,
            "statusPurpose": purpose,
            "encodedList": encode_list(bits),
        },
    }


async def signed_status_list(
    conn: Connection, list_id: UUID, *, public_url: str, master_key: bytes
) -> SignedStatusList:
    """The list's signed credential: cached, or signed now with the organisation's current key when
    the bits it publishes changed since the last signature (a revocation list's include the suspension
    bits: ``published_bits``). ``NotFound`` for an unknown list."""
    row: Mapping[str, Any] | None = await conn.fetchrow(q.status_list, list_id)
    if row is None:
        raise NotFound(f"there is no status list {list_id}")
    organisation_id: UUID = row["organisation_id"]
    purpose: StatusPurpose = row["purpose"]
    version: int = row["version"]
    if row["bits"] is None:  # the cached signature is of the current bits
        return SignedStatusList(list_id, organisation_id, purpose, version, row["signed_jwt"])
    bits: bytes = row["bits"]
    if purpose == "revocation" and row["suspension_bits"] is not None:
        bits = published_bits(bits, row["suspension_bits"])
    key = await keys.current_signing_key(conn, master_key, organisation_id)
    issuer = keys.did_web(public_url, organisation_id)
    document = status_list_document(status_list_url(public_url, list_id), issuer, purpose, bits, _utc_now())
    jwt = await envelopes.sign(key, envelopes.encode_payload(document), issuer)
    await conn.execute(q.cache_signed, list_id, jwt, version)
    return SignedStatusList(list_id, organisation_id, purpose, version, jwt)


async def status_list_credential(conn: Connection, list_id: UUID, *, public_url: str, master_key: bytes) -> str:
    """The list's ``BitstringStatusListCredential`` as a VC-JWT (compact JWS)."""
    return (await signed_status_list(conn, list_id, public_url=public_url, master_key=master_key)).jwt
