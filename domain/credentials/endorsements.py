"""Endorsements: a chamber, an authority or a QA body vouches for an achievement with an Open Badges 3.0
``EndorsementCredential``, signed as a VC-JWT with its own issuer key.

* The subject is the achievement as credentials name it (``document.achievement_id``): the latest published
  version of the programme or qualification, or one unit of a programme (``unitKey``).
* Only organisations of kind ``chamber``, ``authority`` or ``qa_body`` endorse; another kind gets 403
  (the request is fine, the organisation may not make it). The caller needs scope ``credentials:issue`` and
  the role ``admin`` or ``signatory`` in the endorsing organisation.
* One live endorsement per endorser and achievement (409 for a second); withdrawing one keeps it readable,
  with ``withdrawnAt``, and leaves it out of credentials issued afterwards.
* Credentials issued later for that achievement carry every live endorsement's VC-JWT in
  ``achievement.endorsementJwt`` (``facts.load`` reads them; ``document.achievement`` writes them); a unit's
  credentials carry the programme's endorsements too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from msgspec import Meta

from domain.credentials import envelopes
from domain.credentials.document import OB_CONTEXT, VC_CONTEXT, Party, _profile, iso, text
from domain.credentials.keys import did_web, ensure_signing_key
from domain.db import Connection, Database
from domain.designs.content import Key
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.oauth.principals import Principal
from domain.organisations.service import fetch_organisation
from domain.scopes import Role
from domain.sql import load_queries
from domain.structs import Input, Model
from domain.writes import IdempotencyKey, write

q = load_queries(__file__, "endorsements.sql")

ENDORSER_KINDS = frozenset({"chamber", "authority", "qa_body"})
ENDORSER_ROLES: frozenset[Role] = frozenset({"admin", "signatory"})
ENDORSEMENT_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_endorsementcredential_schema.json"


class EndorsementCreate(Input):
    programme_id: Annotated[UUID, Meta(description="The programme (or qualification) endorsed")]
    comment: Annotated[str, Meta(min_length=1, max_length=5000, description="What the endorser says about it")]
    unit_key: Annotated[Key | None, Meta(description="One unit of the programme; omit to endorse it whole")] = None


class Endorsement(Model):
    """An endorsement and its signed ``EndorsementCredential`` (``credential`` is the JSON, ``jwt`` the VC-JWT)."""

    id: UUID
    endorser_id: UUID
    programme_id: UUID
    unit_key: str | None
    comment: str
    achievement_id: Annotated[str, Meta(description="The achievement endorsed, as credentials name it")]
    created_at: datetime
    withdrawn_at: datetime | None
    credential: dict[str, Any]
    jwt: str


def achievement_id(public_url: str, kind: str, design_id: UUID, version_number: int, unit_key: str | None) -> str:
    """What ``document.achievement_id`` names the achievement of a credential of this version (and unit)."""
    path = "qualifications" if kind == "qualification" else "programmes"
    base = f"{public_url}/register/{path}/{design_id}/versions/{version_number}"
    return f"{base}#unit-{unit_key}" if unit_key is not None else base


def to_record(row: Mapping[str, Any]) -> Endorsement:
    credential = envelopes.credential_json(row["payload"])
    return Endorsement(
        id=row["id"],
        endorser_id=row["endorser_id"],
        programme_id=row["design_id"],
        unit_key=row["unit_key"],
        comment=row["comment"],
        achievement_id=credential["credentialSubject"]["id"],
        created_at=row["created_at"],
        withdrawn_at=row["withdrawn_at"],
        credential=credential,
        jwt=row["jwt"],
    )


async def _achievement(conn: Connection, programme_id: UUID, unit_key: str | None) -> tuple[str, int, str, str]:
    """``(kind, version number, title, language)`` of what is endorsed; 404 unless it is published."""
    row = await conn.fetchrow(q.latest_published, programme_id)
    if row is None:
        raise NotFound(f"there is no published programme or qualification {programme_id}")
    content: dict[str, Any] = row["content"]
    language = str(content.get("defaultLanguage") or "en")
    title = text(content.get("title"), language) or str(programme_id)
    if unit_key is not None:
        if row["kind"] != "programme":
            raise InvalidInput("unitKey: a qualification has no units; omit unitKey to endorse it whole")
        unit = next((u for u in content.get("units", []) if u.get("key") == unit_key), None)
        if unit is None:
            raise InvalidInput(f"unitKey: version {row['number']} of programme {programme_id} has no unit {unit_key!r}")
        title = f"{title}: {text(unit.get('title'), language) or unit_key}"
    return row["kind"], row["number"], title, language


async def endorse(
    db: Database,
    principal: Principal,
    endorser_id: UUID,
    data: EndorsementCreate,
    *,
    master_key: bytes,
    public_url: str,
    idempotency: IdempotencyKey | None = None,
) -> Endorsement:
    principal.require_role(endorser_id, ENDORSER_ROLES)
    async with write(db, principal.actor(), idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(Endorsement)
        organisation = await fetch_organisation(w.conn, endorser_id)
        if organisation.kind not in ENDORSER_KINDS:
            raise Forbidden(
                f"only chambers, authorities and QA bodies endorse achievements; organisation {endorser_id} "
                f"is of kind {organisation.kind!r}"
            )
        kind, number, title, language = await _achievement(w.conn, data.programme_id, data.unit_key)
        if await w.conn.fetchval(q.live_endorsement, endorser_id, data.programme_id, data.unit_key):
            raise Conflict("your organisation already endorses this achievement; withdraw that endorsement first")
        endorsement_id, now = uuid4(), datetime.now(UTC).replace(microsecond=0)
        did = did_web(public_url, endorser_id)
        issuer = _profile(Party(organisation, did), organisation.default_language)
        credential = {
            "@context": [VC_CONTEXT, OB_CONTEXT],
            "id": f"urn:uuid:{endorsement_id}",
            "type": ["VerifiableCredential", "EndorsementCredential"],
            "name": f"{issuer['name']} endorses {title}",
            "issuer": issuer,
            "validFrom": iso(now),
            "awardedDate": iso(now),
            "credentialSubject": {
                "id": achievement_id(public_url, kind, data.programme_id, number, data.unit_key),
                "type": ["EndorsementSubject"],
                "endorsementComment": data.comment,
            },
            "credentialSchema": [{"id": ENDORSEMENT_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
        }
        payload = envelopes.encode_payload(credential)
        key = await ensure_signing_key(w.conn, master_key, endorser_id)
        token = await envelopes.sign(key, payload, did)
        row = await w.conn.fetchrow(
            q.insert_endorsement,
            endorsement_id,
            endorser_id,
            data.programme_id,
            data.unit_key,
            data.comment,
            payload,
            token,
            now,
        )
        await w.audit(
            "endorsement.created",
            "endorsement",
            endorsement_id,
            endorser_id,
            {"programmeId": str(data.programme_id), "unitKey": data.unit_key, "language": language, "kid": key.kid},
        )
        record = to_record(row)
        await w.remember(record)
    return record


async def get_endorsement(db: Database, endorsement_id: UUID) -> Endorsement:
    async with db.connection() as conn:
        row = await conn.fetchrow(q.endorsement, endorsement_id)
    if row is None:
        raise NotFound(f"there is no endorsement {endorsement_id}")
    return to_record(row)


async def withdraw(db: Database, principal: Principal, endorser_id: UUID, endorsement_id: UUID) -> Endorsement:
    """Withdraws the endorsement: credentials issued from now on leave it out."""
    principal.require_role(endorser_id, ENDORSER_ROLES)
    async with write(db, principal.actor()) as w:
        row = await w.conn.fetchrow(q.withdraw, endorsement_id, endorser_id)
        if row is None:
            existing = await w.conn.fetchrow(q.endorsement, endorsement_id)
            if existing is None or existing["endorser_id"] != endorser_id:
                raise NotFound(f"organisation {endorser_id} has no endorsement {endorsement_id}")
            raise Conflict(f"endorsement {endorsement_id} was already withdrawn")
        await w.audit("endorsement.withdrawn", "endorsement", endorsement_id, endorser_id)
        return to_record(row)
