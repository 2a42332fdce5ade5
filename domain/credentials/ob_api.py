"""The 1EdTech Open Badges 3.0 API (§6) for the signed-in person: their credentials, and their profile.

* **getCredentials** lists the credentials of every learner record the person has claimed
  (``learners.person_id``), at every provider, oldest issue first, paged by ``limit`` and ``offset``
  and filtered by ``since`` (issued at or after: issue times have whole seconds, so a wallet that passes
  the last issue time it saw misses nothing of that second). Only live credentials are listed: issued
  (a suspended one too, its status list says so), not revoked, not awaiting or refused a co-signature,
  no signature withdrawn. Each appears once, in the ``GetOpenBadgeCredentialsResponse`` array its form belongs in:
  a VC-JWT (the awarding body's compact JWS) in ``compactJwsString``, the JSON with an embedded proof in
  ``credential``. Guildhall answers with the VC-JWT, the form 1EdTech certifies, unless the person's
  wallet stored another form here (upsert), which is then returned as stored.
* **upsertCredential** stores a credential the person's wallet sends — a VC-JWT (``text/plain``) or the
  JSON with its proof (``application/json``) — keyed by the credential's id: 201 the first time, 200
  after. It must be a credential of this server, issued to one of the person's learner records and still
  live: every signature is checked against the published keys of the organisation its DID names
  (``envelopes.check_signatures``) and the signed bytes must be those this server issued. A credential of
  another issuer cannot be checked here (no DID of another server is resolved), so it is refused rather
  than stored unverified.
* **getProfile** / **putProfile**: the person as an Open Badges ``Profile`` — name and e-mail from their
  login, and what they add (given and family name, phone, homepage, description). The e-mail address is
  the login and is not changed here. A field left out of a PUT stays as it was; ``null`` clears it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from domain.credentials import envelopes
from domain.credentials.document import OB_CONTEXT
from domain.credentials.keys import SignatureInvalid, organisation_of_did, published_keys
from domain.credentials.verification import TOO_DEEP
from domain.db import Connection, Database
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.sql import load_queries
from domain.structs import Input
from domain.writes import Actor, write

q = load_queries(__file__, "ob_api.sql")

COMPACT_JWS = r"^[a-zA-Z0-9_-]+\.[a-zA-Z0-9_-]*\.[a-zA-Z0-9_-]+$"
_COMPACT_JWS = re.compile(COMPACT_JWS)
_URN_UUID = re.compile(r"^urn:uuid:([0-9a-fA-F-]{36})$")
CREDENTIAL_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
JWT_MEDIA_TYPES = frozenset({"text/plain", "application/vc+jwt", "application/jwt"})
JSON_MEDIA_TYPES = frozenset({"application/json", "application/ld+json", "application/vc+ld+json", "application/vc"})


class UnsupportedMediaType(InvalidInput):
    """The body is neither a compact JWS (text/plain) nor JSON."""


# --- getCredentials ------------------------------------------------------------------------------


class GetOpenBadgeCredentialsResponse(msgspec.Struct):
    """Open Badges 3.0 ``GetOpenBadgeCredentialsResponse``: credentials with an embedded proof in
    ``credential``, those signed as VC-JWT in ``compactJwsString``."""

    credential: list[dict[str, Any]]
    compact_jws_string: Annotated[
        list[Annotated[str, Meta(pattern=COMPACT_JWS)]], Meta(description="VC-JWTs (compact JWS)")
    ] = msgspec.field(name="compactJwsString")


@dataclass(frozen=True)
class CredentialsPage:
    body: GetOpenBadgeCredentialsResponse
    total: int
    limit: int
    offset: int


async def list_credentials(
    db: Database, person_id: UUID, *, limit: int, offset: int, since: datetime | None
) -> CredentialsPage:
    async with db.connection() as conn:
        total: int = await conn.fetchval(q.count_for_person, person_id, since)
        rows = await conn.fetch(q.page_for_person, person_id, since, limit, offset)
    body = GetOpenBadgeCredentialsResponse(credential=[], compact_jws_string=[])
    for row in rows:
        if row["hosted_form"] == "json":
            body.credential.append(msgspec.json.decode(row["hosted_body"]))
        elif row["hosted_form"] == "vc+jwt":
            body.compact_jws_string.append(row["hosted_body"])
        else:
            issuer = envelopes.Signature(row["protected"], row["signature"])
            body.compact_jws_string.append(issuer.compact(row["payload"]))
    return CredentialsPage(body=body, total=total, limit=limit, offset=offset)


# --- upsertCredential ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hosted:
    created: bool
    form: str  # "vc+jwt" or "json"
    body: str  # the compact JWS, or the credential JSON with its proof


def _read(body: bytes, media_type: str) -> tuple[envelopes.Envelope, str, str]:
    """The envelope, the form and the text to keep, from a request body of ``media_type``."""
    kind = media_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise InvalidInput("the body is not UTF-8 text") from exc
    if kind in JWT_MEDIA_TYPES:
        if not _COMPACT_JWS.match(text):
            raise SignatureInvalid("the body is not a compact JWS (a VC-JWT: three base64url parts joined by dots)")
        return envelopes.read(text), "vc+jwt", text
    if kind in JSON_MEDIA_TYPES:
        try:
            document = msgspec.json.decode(text)
        except msgspec.DecodeError as exc:
            raise InvalidInput("the body is not JSON") from exc
        if not isinstance(document, dict):
            raise InvalidInput("the body is not a JSON object: send the credential JSON with its proof")
        if "payload" in document and "signatures" in document:
            raise InvalidInput(
                "a JWS JSON serialization is not an Open Badges credential form: send the VC-JWT as text/plain, "
                "or the credential JSON with its proof"
            )
        return envelopes.read(document), "json", msgspec.json.encode(document).decode()
    raise UnsupportedMediaType(
        f"Content-Type {kind or 'none'!r} is not accepted: send a VC-JWT as text/plain, or the credential JSON "
        "with its proof as application/json"
    )


def _credential_id(document: Mapping[str, Any]) -> UUID:
    types = document.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types or not CREDENTIAL_TYPES & set(types):
        raise InvalidInput(
            "this is not an Open Badges credential: its type lacks VerifiableCredential and "
            "OpenBadgeCredential (or AchievementCredential)"
        )
    match = _URN_UUID.match(str(document.get("id", "")))
    if match is None:
        raise InvalidInput(f"credential {document.get('id')!r} was not issued by this server")
    return UUID(match.group(1))


async def _check_signatures(conn: Connection, envelope: envelopes.Envelope, public_url: str) -> None:
    async def resolve(did: str) -> Mapping[str, Any] | None:
        organisation_id = organisation_of_did(public_url, did)
        if organisation_id is None:
            return None
        try:
            jwks = await published_keys(conn, organisation_id)
        except NotFound:
            return None
        return jwks if jwks["keys"] else None

    checked = await envelopes.check_signatures(envelope, resolve)
    refused = [f"{c.signer or 'a signature'}: {c.problem}" for c in checked if not c.valid]
    if refused or not checked:
        raise SignatureInvalid(
            "the credential's signatures do not verify against the keys of organisations on this server "
            f"(only credentials this server issued can be stored here): {'; '.join(refused) or 'none'}"
        )


async def upsert_credential(
    db: Database, actor: Actor, person_id: UUID, body: bytes, media_type: str, public_url: str
) -> Hosted:
    # The edge bounds the body's nesting; what is signed (a payload, a protected header) comes in base64url.
    try:
        envelope, form, text = _read(body, media_type)
        document = msgspec.json.decode(envelope.payload)
    except msgspec.DecodeError as exc:
        raise InvalidInput("the signed payload is not JSON") from exc
    except RecursionError as exc:
        raise InvalidInput(TOO_DEEP) from exc
    if not isinstance(document, dict):
        raise InvalidInput("the signed payload is not a JSON object")
    credential_id = _credential_id(document)
    async with write(db, actor) as w:
        try:
            await _check_signatures(w.conn, envelope, public_url)
        except RecursionError as exc:
            raise InvalidInput(TOO_DEEP) from exc
        row = await w.conn.fetchrow(q.credential_for_hosting, credential_id)
        if row is None or row["payload"] != envelope.payload:
            raise InvalidInput(f"credential {document['id']} is not one this server issued, or not as issued")
        if row["person_id"] != person_id:
            raise Forbidden(f"credential {document['id']} was not issued to one of your learner records")
        if row["state"] != "issued" or row["withdrawn"]:
            state = "revoked" if row["state"] == "revoked" else f"not valid ({row['state'].replace('_', ' ')})"
            raise InvalidInput(f"credential {document['id']} is {state}: it is not stored")
        created: bool = await w.conn.fetchval(q.upsert_hosted, credential_id, person_id, form, text, actor.client_id)
        await w.audit("credential.hosted", "credential", credential_id, None, {"form": form, "created": created})
    return Hosted(created=created, form=form, body=text)


# --- getProfile / putProfile ---------------------------------------------------------------------

DETAIL_FIELDS = ("givenName", "familyName", "additionalName", "phone", "url", "description")
Name = Annotated[str, Meta(min_length=1, max_length=200)]


class ObProfile(msgspec.Struct, omit_defaults=True):
    """Open Badges 3.0 ``Profile`` of the signed-in person."""

    context: list[str] = msgspec.field(name="@context")
    id: str
    type: list[str]
    name: str
    email: str | None = None
    given_name: str | None = msgspec.field(default=None, name="givenName")
    family_name: str | None = msgspec.field(default=None, name="familyName")
    additional_name: str | None = msgspec.field(default=None, name="additionalName")
    phone: str | None = None
    url: str | None = None
    description: str | None = None


class ProfileUpdate(Input):
    """A Profile, or part of one: a field left out stays as it is, ``null`` clears it. ``id``, ``type``
    and ``email`` may be sent back as read; the e-mail address is the login and is not changed here."""

    context: list[Annotated[str, Meta(max_length=2000)]] | UnsetType = msgspec.field(default=UNSET, name="@context")
    id: Annotated[str, Meta(max_length=2000)] | UnsetType = UNSET
    type: list[Annotated[str, Meta(max_length=200)]] | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    email: Annotated[str, Meta(max_length=320)] | UnsetType = UNSET
    given_name: Name | UnsetType | None = UNSET
    family_name: Name | UnsetType | None = UNSET
    additional_name: Name | UnsetType | None = UNSET
    phone: Annotated[str, Meta(pattern=r"^[0-9+()./ -]{3,40}$")] | UnsetType | None = UNSET
    url: Annotated[str, Meta(pattern=r"^https?://[^\s]+$", max_length=2000)] | UnsetType | None = UNSET
    description: Annotated[str, Meta(min_length=1, max_length=2000)] | UnsetType | None = UNSET


def profile_id(person_id: UUID) -> str:
    return f"urn:uuid:{person_id}"


def _profile(row: Mapping[str, Any]) -> ObProfile:
    details: dict[str, Any] = row["details"] or {}
    return ObProfile(
        context=[OB_CONTEXT],
        id=profile_id(row["id"]),
        type=["Profile"],
        name=row["name"],
        email=row["email"],
        given_name=details.get("givenName"),
        family_name=details.get("familyName"),
        additional_name=details.get("additionalName"),
        phone=details.get("phone"),
        url=details.get("url"),
        description=details.get("description"),
    )


async def get_profile(db: Database, person_id: UUID) -> ObProfile:
    async with db.connection() as conn:
        row = await conn.fetchrow(q.profile, person_id)
    if row is None:
        raise NotFound("your login no longer exists")
    return _profile(row)


async def update_profile(db: Database, actor: Actor, person_id: UUID, data: ProfileUpdate) -> ObProfile:
    async with write(db, actor) as w:
        row = await w.conn.fetchrow(q.lock_profile, person_id)
        if row is None:
            raise NotFound("your login no longer exists")
        problems = []
        if not isinstance(data.id, UnsetType) and data.id != profile_id(person_id):
            problems.append(f"id: this profile is {profile_id(person_id)}")
        if not isinstance(data.type, UnsetType) and "Profile" not in data.type:
            problems.append("type must include 'Profile'")
        if not isinstance(data.email, UnsetType) and data.email.strip().lower() != row["email"].lower():
            problems.append("email: your e-mail address is your sign-in and cannot be changed here")
        if problems:
            raise InvalidInput("; ".join(problems))
        details: dict[str, Any] = dict(row["details"] or {})
        changed = []
        for field in msgspec.structs.fields(ProfileUpdate):
            if field.encode_name not in DETAIL_FIELDS:
                continue
            value = getattr(data, field.name)
            if isinstance(value, UnsetType):
                continue
            changed.append(field.encode_name)
            if value is None:
                details.pop(field.encode_name, None)
            else:
                details[field.encode_name] = value
        name = row["name"] if isinstance(data.name, UnsetType) else data.name
        if name != row["name"]:
            changed.append("name")
        updated = await w.conn.fetchrow(q.update_profile, person_id, name, details)
        if changed:
            # Which fields, not their values: the audit trail outlives what a person may ask to erase.
            await w.audit("person.profile_updated", "person", person_id, None, {"fields": sorted(changed)})
    return _profile(updated)
