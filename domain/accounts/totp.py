"""TOTP (RFC 6238) as a second factor, with recovery codes.

The shared secret is encrypted at rest under the master key, as signing keys are (AES-GCM, the person's id
as associated data, so a secret copied to another row does not decrypt). An enrolment is pending until the
person proves their authenticator with a first code; then ten recovery codes are shown once (only their
hashes are kept). A code is accepted within one step either side of now and never twice: the last accepted
step is stored, so a code seen over someone's shoulder is worthless once used.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from uuid import UUID

import pyotp

from domain import keys
from domain.db import Connection, Database
from domain.errors import Conflict, InvalidInput
from domain.writes import Actor, write

ISSUER = "Guildhall"
STEP = 30
RECOVERY_CODES = 10
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, for typing into an authenticator
    uri: str  # otpauth://, for a QR code


def _associated(person_id: UUID) -> bytes:
    return b"guildhall totp v1 " + str(person_id).encode()


def _recovery_hash(code: str) -> str:
    normal = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(b"guildhall recovery code v1 " + normal.encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


async def start_enrolment(db: Database, actor: Actor, master_key: bytes, person_id: UUID) -> Enrolment:
    """A new secret, pending until confirmed; refused while a confirmed one is in use."""
    secret = pyotp.random_base32()
    async with write(db, actor) as w:
        row = await w.conn.fetchrow("SELECT email, totp_enabled_at FROM persons WHERE id = $1 FOR UPDATE", person_id)
        if row["totp_enabled_at"] is not None:
            raise Conflict("a second factor is set up already; remove it first to set up another")
        sealed = keys.encrypt(master_key, secret.encode(), _associated(person_id))
        await w.conn.execute(
            "UPDATE persons SET totp_secret = $2, totp_last_step = NULL WHERE id = $1", person_id, sealed
        )
        await w.audit("person.totp_enrolment_started", "person", person_id, None)
    uri = pyotp.TOTP(secret).provisioning_uri(name=row["email"], issuer_name=ISSUER)
    return Enrolment(secret=secret, uri=uri)


def _matching_step(secret: str, code: str, last_step: int | None, now: float | None = None) -> int | None:
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int((now or time.time()) // STEP)
    for step in (current - 1, current, current + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


async def _check_totp(conn: Connection, master_key: bytes, person_id: UUID, code: str, *, pending: bool) -> bool:
    row = await conn.fetchrow(
        "SELECT totp_secret, totp_enabled_at, totp_last_step FROM persons WHERE id = $1 FOR UPDATE", person_id
    )
    if row is None or row["totp_secret"] is None or (row["totp_enabled_at"] is None) != pending:
        return False
    secret = keys.decrypt(master_key, row["totp_secret"], _associated(person_id)).decode()
    step = _matching_step(secret, code, row["totp_last_step"])
    if step is None:
        return False
    await conn.execute("UPDATE persons SET totp_last_step = $2 WHERE id = $1", person_id, step)
    return True


async def confirm_enrolment(db: Database, actor: Actor, master_key: bytes, person_id: UUID, code: str) -> list[str]:
    """Turns the pending secret on with a first code from the authenticator; the recovery codes, shown once."""
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    async with write(db, actor) as w:
        if not await _check_totp(w.conn, master_key, person_id, code, pending=True):
            raise InvalidInput(
                "that code does not match: start the set-up first, and type the current code of your authenticator"
            )
        await w.conn.execute("UPDATE persons SET totp_enabled_at = now() WHERE id = $1", person_id)
        await w.conn.execute("DELETE FROM person_recovery_codes WHERE person_id = $1", person_id)
        await w.conn.executemany(
            "INSERT INTO person_recovery_codes (person_id, code_hash) VALUES ($1, $2)",
            [(person_id, _recovery_hash(c)) for c in codes],
        )
        await w.audit("person.totp_enabled", "person", person_id, None)
    return codes


async def has_second_factor(conn: Connection, person_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT totp_enabled_at IS NOT NULL FROM persons WHERE id = $1", person_id))


async def check_second_factor(conn: Connection, master_key: bytes, person_id: UUID, code: str) -> bool:
    """A current TOTP code, or an unused recovery code (used up by this); on the caller's transaction."""
    if await _check_totp(conn, master_key, person_id, code, pending=False):
        return True
    used = await conn.fetchval(
        "UPDATE person_recovery_codes SET used_at = now() WHERE person_id = $1 AND code_hash = $2 AND used_at IS NULL "
        "RETURNING person_id",
        person_id,
        _recovery_hash(code),
    )
    return used is not None


async def remove(db: Database, actor: Actor, person_id: UUID) -> None:
    async with write(db, actor) as w:
        await w.conn.execute(
            "UPDATE persons SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $1",
            person_id,
        )
        await w.conn.execute("DELETE FROM person_recovery_codes WHERE person_id = $1", person_id)
        await w.audit("person.totp_removed", "person", person_id, None)
