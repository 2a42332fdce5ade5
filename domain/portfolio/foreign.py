"""Credentials of other issuers in a person's portfolio: verified before they are stored, stored exactly
as received with the result, and verified again whenever they are used.

Accepted as a VC-JWT or as a credential JSON with Data Integrity proofs. A credential that does not verify
now (forged, tampered with, revoked, suspended, expired, or whose issuer's keys cannot be found) is refused
with every reason found; none is stored unverified.
A credential of this server is refused too: it reaches the portfolio by claiming the learner record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec

from domain.credentials.foreign.fetch import FetchOptions
from domain.credentials.foreign.models import CredentialCheck
from domain.credentials.foreign.verify import Checked, issuer_of, read_token, verify_data_integrity, verify_vc_jwt
from domain.credentials.keys import organisation_of_did
from domain.db import Connection, Database
from domain.errors import InvalidInput, NotFound
from domain.portfolio.models import PortfolioEntry
from domain.portfolio.service import added_entry
from domain.sql import load_queries
from domain.writes import Actor, IdempotencyKey, write

q = load_queries(__file__)


class CredentialRefused(InvalidInput):
    """A credential of another issuer that does not verify: the message gives every reason."""


@dataclass(frozen=True)
class Added:
    entry: PortfolioEntry
    created: bool


def parse_body(body: bytes) -> str | dict[str, Any]:
    """A VC-JWT (as text, or a JSON string holding it) or a credential JSON object."""
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise InvalidInput("the credential is not UTF-8 text") from exc
    if text.startswith(("{", '"')):
        try:
            decoded = msgspec.json.decode(text)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise InvalidInput("the body is neither a VC-JWT nor a credential JSON") from exc
        if isinstance(decoded, dict | str):
            return decoded.strip() if isinstance(decoded, str) else decoded
        raise InvalidInput("the body is neither a VC-JWT nor a credential JSON")
    return text


async def verify(parsed: str | dict[str, Any], options: FetchOptions, public_url: str) -> Checked:
    if isinstance(parsed, dict):
        return await verify_data_integrity(parsed, options, public_url)
    return await verify_vc_jwt(parsed, options)


async def add_credential(
    db: Database,
    actor: Actor,
    person_id: UUID,
    body: bytes,
    options: FetchOptions,
    public_url: str,
    idempotency: IdempotencyKey | None = None,
) -> Added:
    """Verifies and stores a credential of another issuer in the person's portfolio (once per exact bytes)."""
    parsed = parse_body(body)
    checked = await verify(parsed, options, public_url)
    token = parsed if isinstance(parsed, str) else body.decode("utf-8").strip()
    if organisation_of_did(public_url, checked.issuer) is not None:
        raise InvalidInput(
            "this credential was issued here: it is in your portfolio once you claim the learner record it belongs to"
        )
    if not checked.verification.valid:
        raise CredentialRefused("the credential does not verify: " + "; ".join(checked.verification.problems))
    digest = hashlib.sha256(token.encode()).hexdigest()
    verification = msgspec.to_builtins(checked.verification)
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return Added(w.replay(PortfolioEntry), False)
        row = await w.conn.fetchrow(
            q.insert_foreign,
            person_id,
            checked.form,
            token,
            digest,
            checked.document.get("id") if isinstance(checked.document.get("id"), str) else None,
            checked.issuer,
            checked.document,
            verification,
            True,
            checked.verification.checked_at,
            actor.client_id,
        )
        entry = added_entry(row)
        if row["is_new"]:
            await w.audit(
                "portfolio.credential_added", "foreign_credential", row["id"], None, {"issuer": checked.issuer}
            )
        await w.remember(entry)
    return Added(entry, bool(row["is_new"]))


async def recheck(conn: Connection, row: Mapping[str, Any], options: FetchOptions, public_url: str) -> CredentialCheck:
    """Verifies a stored credential again (keys, dates, status list) and stores the new result."""
    checked = await verify(parse_body(row["body"].encode()), options, public_url)
    await conn.execute(
        q.update_verification,
        row["id"],
        msgspec.to_builtins(checked.verification),
        checked.verification.valid,
        checked.verification.checked_at,
    )
    return checked.verification


async def recheck_one(
    db: Database, person_id: UUID, foreign_id: UUID, options: FetchOptions, public_url: str
) -> PortfolioEntry:
    """One of the person's added credentials, verified again now."""
    async with db.connection() as conn:
        row = await conn.fetchrow(q.foreign_of_person_by_id, person_id, foreign_id)
        if row is None:
            raise NotFound(f"your portfolio has no added credential {foreign_id}")
    async with db.connection() as conn:
        await recheck(conn, row, options, public_url)
        updated = await conn.fetchrow(q.foreign_of_person_by_id, person_id, foreign_id)
    return added_entry(updated)


async def remove(db: Database, actor: Actor, person_id: UUID, foreign_id: UUID) -> None:
    async with write(db, actor) as w:
        if await w.conn.fetchval(q.delete_foreign, person_id, foreign_id) is None:
            raise NotFound(f"your portfolio has no added credential {foreign_id}")
        await w.audit("portfolio.credential_removed", "foreign_credential", foreign_id, None, {})


def foreign_issuer(body: bytes, public_url: str) -> str | None:
    """The issuer of a credential (VC-JWT or JSON) that another server issued, else None (not a credential,
    or one of this server)."""
    try:
        parsed = parse_body(body)
        document = parsed if isinstance(parsed, dict) else read_token(parsed)[1]
    except InvalidInput:
        return None
    issuer = issuer_of(document)
    if issuer is None or organisation_of_did(public_url, issuer) is not None:
        return None
    return issuer
