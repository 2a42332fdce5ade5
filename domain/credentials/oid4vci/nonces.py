"""``c_nonce`` values (OID4VCI 1.0 §7): fresh from the nonce endpoint, each accepted in one proof only, within
``NONCE_LIFETIME`` seconds.

Single use rather than merely time-bounded: a proof captured in transit cannot be replayed, even within the
nonce's life. They are kept (hashed) in PostgreSQL, so that every replica accepts a nonce another one issued,
and consumed in the transaction that issues the credential.
"""

from __future__ import annotations

import secrets

from domain.credentials.oid4vci.metadata import NONCE_LIFETIME
from domain.db import Connection, Database
from domain.oauth.clients import hash_secret
from domain.sql import load_queries

q = load_queries(__file__, "nonces.sql")


async def new_nonce(db: Database) -> str:
    nonce = secrets.token_urlsafe(24)
    async with db.connection() as conn:
        await conn.execute(q.insert_nonce, hash_secret(nonce), NONCE_LIFETIME)
    return nonce


async def consume_nonce(conn: Connection, nonce: str) -> bool:
    """True once for a nonce we issued that has not expired; False for anything else."""
    return await conn.fetchval(q.consume_nonce, hash_secret(nonce)) is not None
