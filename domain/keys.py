"""Signing keys: generated here, private halves encrypted at rest with AES-256-GCM under the master key."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc.jwk import ECKey, KeySet

from domain.db import Connection
from domain.sql import load_queries

q = load_queries(__file__, "keys.sql")

_NONCE_BYTES = 12


def encrypt(master_key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(master_key).encrypt(nonce, plaintext, associated)


def decrypt(master_key: bytes, ciphertext: bytes, associated: bytes) -> bytes:
    return AESGCM(master_key).decrypt(ciphertext[:_NONCE_BYTES], ciphertext[_NONCE_BYTES:], associated)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    key: ECKey


def _new_es256_key() -> tuple[str, ECKey]:
    kid = secrets.token_urlsafe(12)
    key = ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"}, private=True)
    return kid, key


async def ensure_key(
    conn: Connection, master_key: bytes, purpose: str, organisation_id: UUID | None = None
) -> SigningKey:
    """Returns the current key for a purpose, creating the first one if there is none.

    A transaction-level advisory lock makes concurrent first starts create exactly one key.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('signing_keys:' || $1))", purpose)
        row = await conn.fetchrow(q.current_key, purpose, organisation_id)
        if row is None:
            kid, key = _new_es256_key()
            private = msgspec.json.encode(key.as_dict(private=True))
            await conn.execute(
                q.insert_key,
                kid,
                purpose,
                organisation_id,
                "ES256",
                key.as_dict(private=False),
                encrypt(master_key, private, kid.encode()),
            )
            return SigningKey(kid=kid, alg="ES256", key=key)
    return _load(row, master_key)


def _load(row: Any, master_key: bytes) -> SigningKey:
    private = msgspec.json.decode(decrypt(master_key, row["private_key_ciphertext"], row["kid"].encode()))
    return SigningKey(kid=row["kid"], alg=row["alg"], key=ECKey.import_key(private))


async def public_keys(conn: Connection, purpose: str, organisation_id: UUID | None = None) -> KeySet:
    """Every published key of a purpose, retired ones included, so older signatures still verify."""
    rows = await conn.fetch(q.public_keys, purpose, organisation_id)
    return KeySet([ECKey.import_key(r["public_jwk"]) for r in rows])


async def public_jwks(conn: Connection, purpose: str, organisation_id: UUID | None = None) -> dict[str, Any]:
    rows = await conn.fetch(q.public_keys, purpose, organisation_id)
    return {"keys": [r["public_jwk"] for r in rows]}
