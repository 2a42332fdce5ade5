"""IETF Token Status List (draft-ietf-oauth-status-list): the Status List Token of each status list slot range.

* **One index, both worlds**: a credential's slot (``status_lists.allocate``: list ``number``, ``index``)
  serves the W3C Bitstring lists and this list alike. The token is published at the URL of the slot's
  *revocation* list (``/status-lists/{id}``, asked for with ``Accept: application/statuslist+jwt``), which is
  the ``uri`` an SD-JWT VC's ``status.status_list`` names; ``idx`` is the same index.
* **Two bits a credential** (``bits: 2``): ``0x00`` VALID, ``0x01`` INVALID (revoked, or its co-signature
  refused or withdrawn: those set the revocation bit), ``0x02`` SUSPENDED (suspended and not revoked). The
  values are derived from the two bitstrings the database keeps (``statuses``), so the token is in step
  with every revocation, suspension and reinstatement without a write of its own.
* **Encoding** (§4.1): status ``i`` sits in byte ``i // 4`` at bit ``2 * (i % 4)`` counted from the least
  significant bit; the bytes are compressed with DEFLATE in the ZLIB format (RFC 1950) and base64url
  encoded without padding (``lst``). The W3C lists count bits the other way (index 0 is the most
  significant bit of the first byte): ``statuses`` translates.
* **The token**: a JWT, header ``typ: statuslist+jwt`` and ``kid`` (a key of the organisation's JWKS, as
  published in its ``/.well-known/jwt-vc-issuer`` metadata), claims ``iss``, ``sub`` (the list's URI),
  ``iat``, ``exp`` (a day later) and ``ttl`` (60 s, as the HTTP cache). Signed by the organisation's current
  key and cached beside the list until its bits change or half its life has passed.
"""

from __future__ import annotations

import base64
import binascii
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any
from uuid import UUID

import msgspec

from domain.credentials import keys, status_lists
from domain.credentials.sd_jwt import issuer_metadata
from domain.db import Connection
from domain.errors import InvalidInput, NotFound
from domain.sql import load_queries

q = load_queries(__file__, "token_status_list.sql")

MEDIA_TYPE = "application/statuslist+jwt"
TOKEN_TYPE = "statuslist+jwt"
BITS = 2
ENTRIES_PER_BYTE = 8 // BITS
LIST_BYTES = status_lists.LIST_SIZE // ENTRIES_PER_BYTE
TOKEN_LIFETIME = 24 * 3600  # exp - iat, seconds
TTL = 60  # seconds a consumer may keep the token before fetching again (the HTTP cache's max-age)
RESIGN_BEFORE = TOKEN_LIFETIME // 2  # a cached token with less life left than this is signed anew
MAX_DECODED_BYTES = 16 * 1024 * 1024


class Status(IntEnum):
    VALID = 0x00
    INVALID = 0x01
    SUSPENDED = 0x02


# --- Pure: values and encoding ------------------------------------------------------------------


def statuses(revocation: bytes, suspension: bytes) -> bytes:
    """The 2-bit status array of a slot range from its W3C revocation and suspension bitstrings.

    Only bytes with a set bit are visited: a list is mostly zeros.
    """
    if len(revocation) != len(suspension):
        raise InvalidInput("a revocation list and its suspension list differ in size")
    out = bytearray(len(revocation) * 8 // ENTRIES_PER_BYTE)
    for byte_index, (revoked_byte, suspended_byte) in enumerate(zip(revocation, suspension, strict=True)):
        if not revoked_byte | suspended_byte:
            continue
        for offset in range(8):
            mask = 0x80 >> offset
            if revoked_byte & mask:
                value = Status.INVALID
            elif suspended_byte & mask:
                value = Status.SUSPENDED
            else:
                continue
            index = byte_index * 8 + offset
            out[index // ENTRIES_PER_BYTE] |= value << (BITS * (index % ENTRIES_PER_BYTE))
    return bytes(out)


def status_at(status_bytes: bytes, index: int) -> int:
    """The status of ``index`` in a 2-bit status array (the specification's order): a ``Status``, or 0x03
    (application-specific: Guildhall never sets it)."""
    if not 0 <= index < len(status_bytes) * ENTRIES_PER_BYTE:
        raise InvalidInput(f"status index {index} is outside the list")
    shift = BITS * (index % ENTRIES_PER_BYTE)
    return status_bytes[index // ENTRIES_PER_BYTE] >> shift & 0b11


def encode_lst(status_bytes: bytes) -> str:
    """``lst``: DEFLATE in the ZLIB format (RFC 1950), best compression, base64url without padding."""
    return base64.urlsafe_b64encode(zlib.compress(status_bytes, 9)).rstrip(b"=").decode()


def decode_lst(lst: str) -> bytes:
    """The status bytes of an ``lst``; ``InvalidInput`` if it is not one (output capped: no ZLIB bomb)."""
    try:
        compressed = base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4))
        inflater = zlib.decompressobj()
        data = inflater.decompress(compressed, MAX_DECODED_BYTES)
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise InvalidInput("lst is not ZLIB-compressed base64url") from exc
    if inflater.unconsumed_tail or not inflater.eof:
        raise InvalidInput("lst is truncated or inflates beyond the limit")
    return data


def token_claims(*, issuer: str, uri: str, status_bytes: bytes, issued_at: int) -> dict[str, Any]:
    """The Status List Token's claims."""
    return {
        "iss": issuer,
        "sub": uri,
        "iat": issued_at,
        "exp": issued_at + TOKEN_LIFETIME,
        "ttl": TTL,
        "status_list": {"bits": BITS, "lst": encode_lst(status_bytes)},
    }


# --- Publishing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusListToken:
    list_id: UUID
    organisation_id: UUID
    version: int  # of the bits it publishes: the revocation list's and its suspension list's versions summed
    jwt: str


async def status_list_token(conn: Connection, list_id: UUID, *, public_url: str, master_key: bytes) -> StatusListToken:
    """The signed Status List Token published at revocation list ``list_id``'s URL: cached, or signed now
    when the bits changed or the cached one is past half its life. ``NotFound`` for an unknown list or a
    suspension list (its slots' token is at their revocation list's URL)."""
    row: Mapping[str, Any] | None = await conn.fetchrow(q.token_source, list_id, RESIGN_BEFORE)
    if row is None or row["purpose"] != "revocation":
        raise NotFound(
            f"there is no Token Status List at status list {list_id}"
            + (": a credential's status_list.uri names its revocation list" if row is not None else "")
        )
    organisation_id: UUID = row["organisation_id"]
    version: int = row["version"]
    if row["bits"] is None:  # the cached token is of the current bits and fresh enough
        return StatusListToken(list_id, organisation_id, version, row["token_jwt"])
    key = await keys.current_signing_key(conn, master_key, organisation_id)
    issued_at = int(time.time())
    claims = token_claims(
        issuer=issuer_metadata.issuer_url(public_url, organisation_id),
        uri=status_lists.status_list_url(public_url, list_id),
        status_bytes=statuses(row["bits"], row["suspension_bits"] or bytes(len(row["bits"]))),
        issued_at=issued_at,
    )
    jwt = await keys.sign_compact(key, msgspec.json.encode(claims), {"typ": TOKEN_TYPE, "kid": key.kid})
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    await conn.execute(q.cache_token, list_id, jwt, version, expires)
    return StatusListToken(list_id, organisation_id, version, jwt)
