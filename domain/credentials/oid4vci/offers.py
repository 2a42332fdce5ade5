"""Credential offers (OID4VCI 1.0 §4): which of one learner's credentials a wallet may fetch, and the two ways
to redeem them.

* **Pre-authorized code** with a transaction code: the offer carries the code; the 6-digit PIN is handed to
  the learner apart from it (never in the link or QR code). Five wrong PINs and the offer is dead.
* **Authorization code**: the offer carries ``issuer_state``; the wallet sends the learner to our
  authorization page, where they sign in; the code is bound to the offer.

An offer lives for ``valid_minutes`` (30 by default) and is redeemed once: a second redemption is refused
with ``invalid_grant`` and the token the first one got stops working. Codes are stored as hashes (the PIN as
an HMAC under a key of its own, being short); the offer as handed out is kept encrypted under the master key
so that its page can show it again until it is redeemed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.credentials import service
from domain.credentials.oid4vci.errors import InvalidGrant, InvalidRequest
from domain.credentials.oid4vci.metadata import CONFIGURATIONS, PRE_AUTHORIZED_GRANT, serves
from domain.db import Connection, Database
from domain.errors import Conflict, InvalidInput, NotFound
from domain.keys import decrypt, encrypt
from domain.oauth.clients import hash_secret
from domain.sql import load_queries
from domain.structs import Input, Model
from domain.writes import Actor, write

q = load_queries(__file__, "offers.sql")

OFFER_SCHEME = "openid-credential-offer://"
TX_CODE_LENGTH = 6
MAX_TX_CODE_FAILURES = 5


ConfigurationId = Literal[
    "open_badge_jwt_vc_json", "open_badge_ldp_vc", "unit_dc_sd_jwt", "programme_dc_sd_jwt", "qualification_dc_sd_jwt"
]


class CredentialOfferCreate(Input):
    credential_ids: Annotated[
        list[UUID], Meta(min_length=1, max_length=20, description="The credentials to offer: all of one learner")
    ]
    credential_configuration_ids: (
        Annotated[
            list[ConfigurationId],
            Meta(
                min_length=1,
                max_length=5,
                description=(
                    "The formats the wallet may fetch them in (default: every one that fits: the VC-JWT, the JSON "
                    "with Data Integrity proofs and the SD-JWT VC of each credential's achievement type)"
                ),
            ),
        ]
        | None
    ) = None
    valid_minutes: Annotated[int, Meta(ge=5, le=1440, description="How long the offer can be redeemed")] = 30


class CredentialOfferCreated(Model):
    """The offer, shown once: hand ``offerUri`` (or the page's QR code) to the wallet and ``txCode`` to the learner
    by another way; the wallet asks the learner for the PIN."""

    id: UUID
    offer_uri: Annotated[str, Meta(description="openid-credential-offer://?credential_offer=… for the wallet")]
    credential_offer: Annotated[dict[str, Any], Meta(description="The offer object the link carries (OID4VCI §4.1.1)")]
    tx_code: Annotated[str, Meta(description="The PIN the wallet will ask for: shown to the learner only, once")]
    page: Annotated[
        str,
        Meta(description="The learner's page of the (first) credential with the offer as a QR code (never the PIN)"),
    ]
    credential_configuration_ids: list[str]
    expires_at: datetime


class Redemption(msgspec.Struct, frozen=True):
    offer_id: UUID
    credential_ids: list[UUID]
    configuration_ids: list[str]
    credential_kinds: list[str]

    def credentials_for(self, configuration_id: str) -> list[UUID]:
        """The offer's credentials that can be had in this configuration (an SD-JWT VC's is of one type)."""
        return [
            c
            for c, kind in zip(self.credential_ids, self.credential_kinds, strict=True)
            if serves(configuration_id, kind)
        ]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Redemption:
        return cls(
            row["id"], list(row["credential_ids"]), list(row["configuration_ids"]), list(row["credential_kinds"])
        )


def _tx_code_hash(key: bytes, offer_id: UUID, tx_code: str) -> str:
    # Six digits are guessed in a million tries: keyed, and bound to the offer, so a stolen table reveals nothing.
    return hmac.new(key, f"{offer_id}:{tx_code}".encode(), hashlib.sha256).hexdigest()


def tx_code_key(master_key: bytes) -> bytes:
    return hmac.new(master_key, b"guildhall oid4vci transaction codes v1", hashlib.sha256).digest()


def offer_link(offer: Mapping[str, Any]) -> str:
    return OFFER_SCHEME + "?credential_offer=" + quote(msgspec.json.encode(offer).decode(), safe="")


def offer_object(
    issuer: str, configuration_ids: list[str], pre_authorized_code: str, issuer_state: str
) -> dict[str, Any]:
    return {
        "credential_issuer": issuer,
        "credential_configuration_ids": configuration_ids,
        "grants": {
            PRE_AUTHORIZED_GRANT: {
                "pre-authorized_code": pre_authorized_code,
                "tx_code": {
                    "input_mode": "numeric",
                    "length": TX_CODE_LENGTH,
                    "description": "The PIN Guildhall showed you beside this offer",
                },
            },
            "authorization_code": {"issuer_state": issuer_state, "authorization_server": issuer},
        },
    }


def _configuration_ids(asked: list[ConfigurationId] | None, kinds: set[str]) -> list[str]:
    """The asked-for configurations (default: every one some offered credential fits); each must fit one."""
    fitting = [c for c in CONFIGURATIONS if any(serves(c, kind) for kind in kinds)]
    if asked is None:
        return fitting
    unfit = [c for c in asked if c not in fitting]
    if unfit:
        raise InvalidInput(f"no offered credential can be had as {', '.join(unfit)}; these can: {', '.join(fitting)}")
    return list(dict.fromkeys(asked))


async def _check_offerable(
    conn: Connection, credential_ids: list[UUID], *, person_id: UUID | None, organisations: frozenset[UUID] | None
) -> set[str]:
    """Every credential exists for the caller (the person's own, or one the organisations awarded or assessed),
    belongs to one learner, and is complete and valid now; their achievement types."""
    rows = {r["id"]: r for r in await conn.fetch(q.credential_owners, credential_ids)}
    for credential_id in credential_ids:
        row = rows.get(credential_id)
        visible = (
            row is not None
            and row["signed"]
            and (
                row["person_id"] == person_id
                if person_id is not None
                else organisations is None or bool({row["awarding_body_id"], row["provider_id"]} & organisations)
            )
        )
        if not visible:
            raise NotFound(f"you have no credential {credential_id} to offer")
    if len({rows[c]["learner_id"] for c in credential_ids}) > 1 and person_id is None:
        raise InvalidInput("an offer is made to one learner: these credentials belong to several")
    for credential_id in credential_ids:
        row = await service.fetch_row(conn, credential_id)
        await service.require_complete(conn, row)
        if not service.is_valid(row):
            raise Conflict(f"credential {credential_id} is not valid now (revoked, suspended or expired): not offered")
    return {rows[c]["kind"] for c in credential_ids}


async def create_offer(
    db: Database,
    actor: Actor,
    data: CredentialOfferCreate,
    *,
    issuer: str,
    master_key: bytes,
    person_id: UUID | None = None,
    organisations: frozenset[UUID] | None = None,
) -> CredentialOfferCreated:
    """An offer of the learner's credentials, made by the learner (``person_id``) or by an organisation that awarded
    or assessed them (``organisations``; None: the operator)."""
    credential_ids = list(dict.fromkeys(data.credential_ids))
    offer_id = uuid.uuid4()
    pre_authorized_code, issuer_state = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    tx_code = f"{secrets.randbelow(10**TX_CODE_LENGTH):0{TX_CODE_LENGTH}d}"
    async with write(db, actor) as w:
        kinds = await _check_offerable(w.conn, credential_ids, person_id=person_id, organisations=organisations)
        configuration_ids = _configuration_ids(data.credential_configuration_ids, kinds)
        offer = offer_object(issuer, configuration_ids, pre_authorized_code, issuer_state)
        sealed = encrypt(master_key, msgspec.json.encode(offer), offer_id.bytes)
        expires_at = await w.conn.fetchval(
            q.insert_offer,
            offer_id,
            credential_ids,
            configuration_ids,
            hash_secret(pre_authorized_code),
            _tx_code_hash(tx_code_key(master_key), offer_id, tx_code),
            hash_secret(issuer_state),
            sealed,
            actor.client_id,
            actor.person_id,
            data.valid_minutes,
        )
        organisation = None if person_id is not None else actor.organisation_id
        details = {"credentialIds": [str(c) for c in credential_ids], "configurations": configuration_ids}
        await w.audit("credential.offered", "credential_offer", offer_id, organisation, details)
    return CredentialOfferCreated(
        id=offer_id,
        offer_uri=offer_link(offer),
        credential_offer=offer,
        tx_code=tx_code,
        page=f"{issuer}/c/{credential_ids[0]}/openid4vci/{offer_id}",
        credential_configuration_ids=configuration_ids,
        expires_at=expires_at,
    )


async def shown_offer(
    db: Database, offer_id: UUID, credential_id: UUID, master_key: bytes
) -> tuple[dict[str, Any], int] | None:
    """The offer as handed out and how many credentials it holds, while it can still be redeemed, for the page of
    one of its credentials; None otherwise."""
    async with db.connection() as conn:
        row = await conn.fetchrow(q.sealed_offer, offer_id, MAX_TX_CODE_FAILURES)
    if row is None or credential_id not in row["credential_ids"]:
        return None
    offer: dict[str, Any] = msgspec.json.decode(decrypt(master_key, row["offer_sealed"], offer_id.bytes))
    return offer, len(row["credential_ids"])


async def redeem_pre_authorized_code(
    db: Database, code: str, tx_code: str | None, *, master_key: bytes, jti: str, expires_at: int
) -> Redemption:
    """Redeems the offer for the access token ``jti`` (valid until ``expires_at``); ``InvalidGrant`` for an
    unknown, expired or used code and a wrong PIN. What a refusal counts (a wrong PIN, the revocation a replay
    causes) is committed before the wallet is told."""
    async with db.transaction() as conn:
        refusal, redemption = await _redeem(conn, code, tx_code, master_key, jti, expires_at)
    if refusal is not None:
        raise refusal
    assert redemption is not None
    return redemption


async def _redeem(
    conn: Connection, code: str, tx_code: str | None, master_key: bytes, jti: str, expires_at: int
) -> tuple[InvalidGrant | InvalidRequest | None, Redemption | None]:
    row = await conn.fetchrow(q.lock_by_pre_authorized_code, hash_secret(code))
    if row is None:
        return InvalidGrant("the pre-authorized code is not known"), None
    if row["redeemed_at"] is not None:
        await conn.execute(q.revoke_offer_token, row["id"])
        return InvalidGrant("the pre-authorized code was already used; its access token is revoked"), None
    if row["expired"]:
        return InvalidGrant("the credential offer has expired; ask for a new one"), None
    if row["tx_code_failures"] >= MAX_TX_CODE_FAILURES:
        return InvalidGrant("too many wrong transaction codes: this offer is void; ask for a new one"), None
    if not tx_code:
        return InvalidRequest("this offer needs its transaction code (tx_code), the learner's PIN"), None
    expected = _tx_code_hash(tx_code_key(master_key), row["id"], tx_code)
    if not hmac.compare_digest(expected, row["tx_code_hash"]):
        failures = await conn.fetchval(q.count_tx_code_failure, row["id"])
        return InvalidGrant(f"the transaction code is wrong; {MAX_TX_CODE_FAILURES - failures} tries left"), None
    await conn.execute(q.redeem, row["id"], jti, expires_at)
    return None, Redemption.from_row(row)


async def bind_offer_to_person(conn: Connection, issuer_state: str, person_id: UUID) -> UUID:
    """The live, unredeemed offer an authorization request names by ``issuer_state``, if every credential in it is
    of the person who signed in; ``InvalidRequest`` otherwise (an offer is no one else's to redeem)."""
    row = await conn.fetchrow(q.lock_by_issuer_state, hash_secret(issuer_state))
    if row is None or row["expired"] or row["redeemed_at"] is not None:
        raise InvalidRequest("issuer_state names no live credential offer: it expired or was used")
    owners = await conn.fetch(q.credential_owners, row["credential_ids"])
    if not owners or any(o["person_id"] != person_id for o in owners):
        raise InvalidRequest("this credential offer is not for the person who signed in")
    offer_id: UUID = row["id"]
    return offer_id


async def redeem_with_authorization_code(conn: Connection, offer_id: UUID, jti: str, expires_at: int) -> Redemption:
    """Marks the offer redeemed by the access token an authorization code bound to it was exchanged for."""
    row = await conn.fetchrow(q.lock_offer, offer_id)
    if row is None or row["redeemed_at"] is not None or row["expired"]:
        raise InvalidGrant("the credential offer of this authorization code was already redeemed, or has expired")
    await conn.execute(q.redeem, offer_id, jti, expires_at)
    return Redemption.from_row(row)


async def offer_for_token(conn: Connection, jti: str) -> Redemption | None:
    row = await conn.fetchrow(q.offer_for_token, jti)
    return None if row is None else Redemption.from_row(row)


async def credential_owner(conn: Connection, credential_id: UUID) -> UUID | None:
    row = await conn.fetchrow(q.credential_owners, [credential_id])
    return None if row is None else row["person_id"]
