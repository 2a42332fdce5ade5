"""Verifying a credential in any form Guildhall issues: what any verifier can check, and what only the
issuing server knows.

``verify()`` takes a VC-JWT, a JWS JSON General Serialization or the credential JSON with its proofs
(``present()`` reads them; anything else is ``NotACredential``, a 422) and answers with a verdict and the
checks behind it, each ``passed``, ``failed``, ``warning`` or ``not_applicable`` with a message:

============== ========================================================================================
signatures     every signature verifies over the payload (and the JSON sent is the JSON signed)
keys           every signer is an organisation of this server and signed with a key it publishes
issuer         the payload's ``issuer.id`` is the DID of the first signature
schema         the payload has the required shape of an Open Badges 3.0 ``AchievementCredential``
validity       ``validFrom`` has come and ``validUntil`` has not
status         the revocation and the suspension bit in the Bitstring Status Lists of this server
cosignatures   each ``requiredSigner`` of a ``CoSignaturePolicy`` term signed, and did not withdraw
accreditation  the awarding body holds a current accreditation (a warning, not a failure, if not)
============== ========================================================================================

The verdict is the most severe outcome a check reached (``SEVERITY``): ``invalid`` (a forgery, a
changed payload, an unknown key, a withdrawn or refused co-signature), then ``revoked``, ``suspended``,
``expired``, ``not_yet_valid``, ``awaiting_cosignature``, and ``valid`` when nothing stood in the way.

A VC-JWT carries the awarding body's signature only. A co-signature that is not in the form sent but is
recorded here is verified over the very payload sent — so it counts only if it signed those bytes — and
reported with ``inCredential: false``.

Cost, for thousands of verifications a second: one connection and, once warm, one query (``live_state``:
the credential's recorded signatures, its state and both status bits). What cannot change is remembered per
process: a signature that verified over the same bytes (``_verified``; keys are never changed or withdrawn,
rotation only retires them), published keys (a kid not in the cached JWKS reloads them, so a new key is
found at once) and DIDs' organisations. Names and accreditations of organisations are kept for
``ORGANISATION_CACHE_SECONDS``. A signature not seen before is an Ed25519, ES256 or RS256 verification, each
well under a millisecond on the event loop; ``MAX_SIGNATURES`` bounds how many one request may ask for.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal, cast
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.credentials import envelopes, keys, status_lists
from domain.credentials.document import COSIGNATURE_TERMS, OB_CONTEXT, VC_CONTEXT
from domain.credentials.keys import SignatureInvalid
from domain.db import Connection
from domain.errors import InvalidInput, NotFound
from domain.organisations.models import Organisation
from domain.organisations.service import fetch_organisations
from domain.sql import load_queries
from domain.structs import Model

q = load_queries(__file__, "verification.sql")

Verdict = Literal["valid", "invalid", "revoked", "suspended", "expired", "not_yet_valid", "awaiting_cosignature"]
SEVERITY: tuple[Verdict, ...] = (
    "invalid",
    "revoked",
    "suspended",
    "expired",
    "not_yet_valid",
    "awaiting_cosignature",
    "valid",
)
CheckName = Literal["signatures", "keys", "issuer", "schema", "validity", "status", "cosignatures", "accreditation"]
CheckStatus = Literal["passed", "failed", "warning", "not_applicable"]
Form = Literal["vc+jwt", "jws-json", "json-proof"]

MAX_SIGNATURES = 8  # Guildhall's credentials carry two; more is no credential of ours, and costs CPU
MAX_PROTECTED_HEADER = 1024  # base64url characters
TOO_DEEP = "the JSON is nested too deeply to be a credential"
URN_UUID = "urn:uuid:"
_OB_CONTEXT_PATTERN = re.compile(r"^https://purl\.imsglobal\.org/spec/ob/v3p0/context(-3\.\d\.\d)*\.json$")


class NotACredential(InvalidInput):
    """What was sent is none of the forms of a credential (a 422, not a verdict)."""

    title = "Not a credential"


# --- What the API returns -----------------------------------------------------------------------


class VerificationCheck(Model):
    check: CheckName
    status: CheckStatus
    message: str


class VerifiedSignature(Model):
    role: Annotated[Literal["issuer", "cosigner"], Meta(description="The first signature is the awarding body's")]
    signer: Annotated[str | None, Meta(description="The DID named in the protected header (iss)")]
    organisation_id: UUID | None
    organisation_name: str | None
    kid: Annotated[
        str | None,
        Meta(description="The signing key's kid in the signer's JWKS (the header may name it by its DID URL)"),
    ]
    alg: str | None
    valid: bool
    in_credential: Annotated[
        bool,
        Meta(
            description="False for a co-signature recorded by this server but not in the form sent "
            "(a VC-JWT carries the awarding body's signature only); it was verified over the same payload"
        ),
    ]
    problem: str | None = None


class Verification(Model):
    """The verdict on a credential and every check behind it."""

    verdict: Verdict
    summary: str
    credential_id: Annotated[str | None, Meta(description="The credential's id as signed, e.g. urn:uuid:...")]
    form: Annotated[Form, Meta(description="The form that was sent")]
    checked_at: datetime
    signatures: list[VerifiedSignature]
    checks: list[VerificationCheck]


# --- Reading what was sent ------------------------------------------------------------------------


@dataclass(frozen=True)
class Presented:
    """A credential as sent: its envelope, the signed payload decoded, and whether the JSON sent
    differs from the JSON its proofs signed (then ``changed`` says so)."""

    envelope: envelopes.Envelope
    document: dict[str, Any]
    changed: str | None = None


def present(credential: str | Mapping[str, Any]) -> Presented:
    """Any form of a credential, read; ``NotACredential`` with the precise reason if it is none."""
    changed = None
    try:
        envelope = envelopes.read(credential)
    except RecursionError as exc:
        raise NotACredential(TOO_DEEP) from exc
    except SignatureInvalid as exc:
        found = _changed_after_signing(credential)
        if found is None:
            raise NotACredential(f"this is not a credential Guildhall can read: {exc}") from exc
        envelope = found
        changed = "the credential JSON sent is not the JSON its proofs signed: it was changed after signing"
    return present_envelope(envelope, changed)


def present_envelope(envelope: envelopes.Envelope, changed: str | None = None) -> Presented:
    """An envelope read already (a stored credential's, say), with its payload decoded."""
    if len(envelope.signatures) > MAX_SIGNATURES:
        raise NotACredential(f"a credential carries at most {MAX_SIGNATURES} signatures here")
    if any(len(s.protected) > MAX_PROTECTED_HEADER for s in envelope.signatures):
        # Guildhall's are about 200; a bound also keeps a hostile header's nesting far from the recursion limit.
        raise NotACredential(f"a protected header of more than {MAX_PROTECTED_HEADER} characters is none of ours")
    try:
        document = msgspec.json.decode(envelope.payload)
    except RecursionError as exc:
        raise NotACredential(TOO_DEEP) from exc
    except msgspec.DecodeError as exc:
        raise NotACredential("the signed payload is not JSON, so it is no credential") from exc
    if not isinstance(document, dict):
        raise NotACredential("the signed payload is not a JSON object, so it is no credential")
    return Presented(envelope, document, changed)


def _changed_after_signing(credential: str | Mapping[str, Any]) -> envelopes.Envelope | None:
    """The envelope of a well-formed credential-with-proofs whose JSON no longer matches the payload its
    proofs signed (a tampered credential: a verdict, not a malformed request); None for anything else."""
    if not isinstance(credential, Mapping):
        return None
    proofs = credential.get("proof")
    proofs = proofs if isinstance(proofs, list) else [proofs]
    tokens: list[str] = [
        p["jwt"]
        for p in proofs
        if isinstance(p, Mapping) and p.get("type") == envelopes.PROOF_TYPE and isinstance(p.get("jwt"), str)
    ]
    if not tokens or len(tokens) != len(proofs) or not all(t.count(".") == 2 for t in tokens):
        return None
    try:
        payloads = {envelopes.b64url_decode(t.split(".")[1]) for t in tokens}
        signatures = [envelopes.Signature.from_compact(t) for t in tokens]
    except SignatureInvalid:
        return None
    if len(payloads) != 1:
        return None
    return envelopes.Envelope(payloads.pop(), signatures, "json-proof")


# --- The required shape of an Open Badges 3.0 AchievementCredential ---------------------------------

Moment = Annotated[datetime, Meta(tz=True)]


def _must_include(types: list[str], *names: str) -> None:
    if not any(name in types for name in names):
        raise ValueError(f"type must include {' or '.join(repr(n) for n in names)}")


class _Criteria(msgspec.Struct):
    id: str | None = None
    narrative: str | None = None


class _Achievement(msgspec.Struct):
    id: str
    type: list[str]
    name: str
    description: str
    criteria: _Criteria

    def __post_init__(self) -> None:
        _must_include(self.type, "Achievement")


class _IdentityObject(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    type: Literal["IdentityObject"]
    hashed: bool
    identity_hash: str
    identity_type: str
    salt: str | None = None


class _Subject(msgspec.Struct):
    type: list[str]
    achievement: _Achievement
    identifier: list[_IdentityObject] = []

    def __post_init__(self) -> None:
        _must_include(self.type, "AchievementSubject")


class _Profile(msgspec.Struct):
    id: str
    type: list[str]

    def __post_init__(self) -> None:
        _must_include(self.type, "Profile")


class _Evidence(msgspec.Struct):
    type: list[str]

    def __post_init__(self) -> None:
        _must_include(self.type, "Evidence")


class _Identified(msgspec.Struct):
    id: str
    type: str


class _Typed(msgspec.Struct):
    type: str


class _AchievementCredential(msgspec.Struct, rename="camel", kw_only=True):
    context: list[str | dict[str, Any]] = msgspec.field(name="@context")
    id: str
    type: list[str]
    issuer: str | _Profile
    valid_from: Moment
    credential_subject: _Subject
    valid_until: Moment | None = None
    awarded_date: Moment | None = None
    credential_status: _Identified | None = None
    credential_schema: list[_Identified] = []
    terms_of_use: list[_Typed] = []
    evidence: list[_Evidence] = []

    def __post_init__(self) -> None:
        if len(self.context) < 2 or self.context[0] != VC_CONTEXT:
            raise ValueError(f"@context must begin with {VC_CONTEXT!r} and the Open Badges 3.0 context")
        second = self.context[1]
        if not isinstance(second, str) or not _OB_CONTEXT_PATTERN.match(second):
            raise ValueError(f"the second @context must be the Open Badges 3.0 context, e.g. {OB_CONTEXT!r}")
        _must_include(self.type, "VerifiableCredential")
        _must_include(self.type, "AchievementCredential", "OpenBadgeCredential")


def schema_problem(payload: bytes) -> str | None:
    """Why the payload is not an Open Badges 3.0 AchievementCredential (its required shape), or None."""
    try:
        msgspec.json.decode(payload, type=_AchievementCredential)
    except msgspec.ValidationError as exc:
        return str(exc)
    except msgspec.DecodeError as exc:  # pragma: no cover - present() decoded it already
        return str(exc)
    except RecursionError:  # pragma: no cover - present() decoded it already, a little less deep in the stack
        return TOO_DEEP
    return None


# --- Reading the payload defensively (the schema check says what is wrong with it) -----------------


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _entries(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def _types(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def issuer_of(document: Mapping[str, Any]) -> str | None:
    issuer = document.get("issuer")
    return _text(issuer.get("id")) if isinstance(issuer, dict) else _text(issuer)


def our_credential_id(document: Mapping[str, Any]) -> UUID | None:
    """The id of the credential when it names one the way Guildhall does (``urn:uuid:<id>``)."""
    text = _text(document.get("id"))
    if text is None or not text.startswith(URN_UUID):
        return None
    try:
        return UUID(text.removeprefix(URN_UUID))
    except ValueError:
        return None


def required_signers(document: Mapping[str, Any]) -> list[str]:
    """The DIDs the credential's ``CoSignaturePolicy`` terms require to sign, in order."""
    signers: list[str] = []
    for term in _entries(document.get("termsOfUse")):
        if COSIGNATURE_TERMS in _types(term.get("type")):
            signers += [s for s in _types(term.get("requiredSigner")) if isinstance(s, str)]
    return list(dict.fromkeys(signers))


@dataclass(frozen=True)
class StatusPointer:
    """Where ``credentialStatus`` points: a list of this server (``list_id``) or elsewhere (``url``)."""

    url: str | None = None
    list_id: UUID | None = None
    index: int | None = None
    problem: str | None = None
    unchecked: list[str] = field(default_factory=list)  # other status types, not checked here


def status_pointer(document: Mapping[str, Any], public_url: str) -> StatusPointer | None:
    entries = _entries(document.get("credentialStatus"))
    if not entries:
        return None
    ours = [e for e in entries if status_lists.ENTRY_TYPE in _types(e.get("type"))]
    unchecked = [str(e.get("type")) for e in entries if e not in ours]
    if not ours:
        return StatusPointer(unchecked=unchecked)
    entry = ours[0]
    url = _text(entry.get("statusListCredential"))
    raw_index = entry.get("statusListIndex")
    index = None
    if isinstance(raw_index, str) and raw_index.isascii() and raw_index.isdigit() and len(raw_index) < 12:
        index = int(raw_index)
    if index is None or not 0 <= index < status_lists.LIST_SIZE:
        return StatusPointer(url, problem=f"statusListIndex {raw_index!r} is no index into a status list")
    if url is None:
        return StatusPointer(problem="credentialStatus names no statusListCredential")
    prefix = status_lists.status_list_url(public_url, UUID(int=0)).removesuffix(str(UUID(int=0)))
    if not url.startswith(prefix):
        return StatusPointer(url, index=index, unchecked=unchecked)
    try:
        list_id = UUID(url.removeprefix(prefix))
    except ValueError:
        return StatusPointer(url, index=index, problem=f"{url} names no status list of this server")
    return StatusPointer(url, list_id, index, unchecked=unchecked)


def _moment(value: Any) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


# --- Published keys and organisations -------------------------------------------------------------

# Key material never changes once published (rotation retires a key but keeps publishing it), so the
# JWKS of an organisation is kept for the life of the process; a kid not in the cached copy reloads it.
_JWKS_CACHE_SIZE = 1024
_jwks: OrderedDict[UUID, dict[str, Any]] = OrderedDict()


def _kids(jwks: Mapping[str, Any]) -> set[str]:
    return {k["kid"] for k in jwks.get("keys", []) if isinstance(k.get("kid"), str)}


async def published_keys(conn: Connection, organisation_id: UUID, kids: set[str]) -> dict[str, Any] | None:
    """The organisation's JWKS (None for an unknown organisation), from the cache when it holds ``kids``."""
    cached = _jwks.get(organisation_id)
    if cached is not None and kids <= _kids(cached):
        _jwks.move_to_end(organisation_id)
        return cached
    try:
        jwks = await keys.published_keys(conn, organisation_id)
    except NotFound:
        return None
    _jwks[organisation_id] = jwks
    if len(_jwks) > _JWKS_CACHE_SIZE:
        _jwks.popitem(last=False)
    return jwks


@lru_cache(maxsize=4096)
def organisation_of_did(public_url: str, did: str) -> UUID | None:
    """``keys.organisation_of_did``, remembered: a verification asks it a dozen times."""
    return keys.organisation_of_did(public_url, did)


# Names and accreditations change, but rarely: a verification may show them up to this old. The credential's
# status, signatures and co-signature withdrawals are read live, every time.
ORGANISATION_CACHE_SECONDS = 30.0
_ORGANISATION_CACHE_SIZE = 1024
_organisations: OrderedDict[UUID, tuple[float, Organisation]] = OrderedDict()


async def organisations_by_id(conn: Connection, ids: set[UUID]) -> dict[UUID, Organisation]:
    """The organisations (``fetch_organisations``), from a short-lived cache where it has them."""
    now = time.monotonic()
    found = {
        i: o
        for i, (at, o) in ((i, _organisations.get(i, (0.0, None))) for i in ids)
        if o is not None and now - at < ORGANISATION_CACHE_SECONDS
    }
    missing = sorted(ids - set(found))
    if missing:
        for organisation in await fetch_organisations(conn, missing):
            found[organisation.id] = organisation
            _organisations[organisation.id] = (now, organisation)
            _organisations.move_to_end(organisation.id)
        while len(_organisations) > _ORGANISATION_CACHE_SIZE:
            _organisations.popitem(last=False)
    return found


def organisation_name(organisation: Organisation, language: str | None = None) -> str:
    """The organisation's name in ``language`` if it has one, else in its own default language."""
    names = organisation.name
    return (
        (names.get(language) if language else None)
        or names.get(organisation.default_language)
        or next(iter(names.values()), "")
    )


# --- Verifying ------------------------------------------------------------------------------------


@dataclass
class _Context:
    """Everything the checks look at, gathered once."""

    presented: Presented
    public_url: str
    now: datetime
    checked: list[envelopes.CheckedSignature]
    embedded: int  # how many of ``checked`` came in the form sent; the rest are recorded here
    jwks: dict[str, dict[str, Any] | None]  # by signer DID
    organisations: dict[UUID, Organisation]
    live: Mapping[str, Any]
    pointer: StatusPointer | None

    @property
    def document(self) -> dict[str, Any]:
        return self.presented.document

    def organisation(self, did: str | None) -> Organisation | None:
        org_id = organisation_of_did(self.public_url, did) if did else None
        return self.organisations.get(org_id) if org_id else None

    def who(self, did: str | None) -> str:
        organisation = self.organisation(did)
        if organisation is not None:
            return self.name_of(organisation)
        return did or "an unnamed signer"

    def name_of(self, organisation: Organisation) -> str:
        """One name per organisation in everything said about this credential: the awarding body's as the
        credential gives it (``issuer.name``, signed), any other's in the language of the credential's texts."""
        issuer = self.document.get("issuer")
        signed_name = issuer.get("name") if isinstance(issuer, Mapping) else None
        if isinstance(signed_name, str) and signed_name and self.organisation(issuer_of(self.document)) is organisation:
            return signed_name
        subject = self.document.get("credentialSubject")
        achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
        language = achievement.get("inLanguage") if isinstance(achievement, Mapping) else None
        return organisation_name(organisation, language if isinstance(language, str) else None)


@dataclass(frozen=True)
class _Outcome:
    check: VerificationCheck
    verdict: Verdict = "valid"


def _passed(check: CheckName, message: str) -> _Outcome:
    return _Outcome(VerificationCheck(check=check, status="passed", message=message))


def _failed(check: CheckName, message: str, verdict: Verdict = "invalid") -> _Outcome:
    return _Outcome(VerificationCheck(check=check, status="failed", message=message), verdict)


def _note(check: CheckName, status: CheckStatus, message: str) -> _Outcome:
    return _Outcome(VerificationCheck(check=check, status=status, message=message))


async def verify(
    conn: Connection, credential: str | Mapping[str, Any], *, public_url: str, now: datetime | None = None
) -> Verification:
    """The verdict on a credential in any form; ``NotACredential`` if it is none."""
    return await verify_presented(conn, present(credential), public_url=public_url, now=now)


async def verify_presented(
    conn: Connection, presented: Presented, *, public_url: str, now: datetime | None = None
) -> Verification:
    now = now or datetime.now(UTC)
    document = presented.document
    pointer = status_pointer(document, public_url)
    list_id = pointer.list_id if pointer is not None else None
    byte = pointer.index // 8 if pointer is not None and pointer.index is not None else 0
    live = await conn.fetchrow(q.live_state, our_credential_id(document), list_id, byte)
    required = required_signers(document)
    signatures = [*presented.envelope.signatures, *_recorded_cosignatures(presented, live, required, public_url)]
    envelope = envelopes.Envelope(presented.envelope.payload, signatures, presented.envelope.form)
    checked, jwks = await check_signatures(conn, envelope, public_url)
    embedded = len(presented.envelope.signatures)
    # A recorded co-signature counts only if it signed these very bytes; one that did not is left out.
    checked = checked[:embedded] + [c for c in checked[embedded:] if c.valid]
    dids = {c.signer for c in checked if c.signer} | set(required) | {issuer_of(document) or ""}
    ids = {i for i in (organisation_of_did(public_url, d) for d in dids if d) if i is not None}
    organisations = await organisations_by_id(conn, ids) if ids else {}
    context = _Context(presented, public_url, now, checked, embedded, jwks, organisations, live, pointer)
    return _conclude(context, required)


# A signature that verified over some bytes verifies over them for ever: published keys never change and are
# never withdrawn (a rotation retires a key but keeps publishing it). So a verified signature is remembered,
# keyed by its protected header, its value and the SHA-256 of the payload, and the same credential verified
# again (a page viewed twice, an employer checking twice) costs no signature check. Failures are not kept.
_VERIFIED_CACHE_SIZE = 8192
_verified: OrderedDict[tuple[str, str, bytes], envelopes.CheckedSignature] = OrderedDict()


async def check_signatures(
    conn: Connection, envelope: envelopes.Envelope, public_url: str
) -> tuple[list[envelopes.CheckedSignature], dict[str, dict[str, Any] | None]]:
    """``envelopes.check_signatures`` for the signatures not verified before, against the signers' published
    keys (DIDs of this server only); with the JWKS looked up, by signer DID."""
    digest = hashlib.sha256(envelope.payload).digest()
    cache_keys = [(s.protected, s.signature, digest) for s in envelope.signatures]
    known = [_verified.get(k) for k in cache_keys]
    unknown = [s for s, k in zip(envelope.signatures, known, strict=True) if k is None]
    jwks = await _resolve_keys(conn, [_header(s) for s in unknown], public_url)
    fresh = iter(
        await envelopes.check_signatures(envelopes.Envelope(envelope.payload, unknown, envelope.form), _resolver(jwks))
    )
    checked = []
    for cache_key, remembered in zip(cache_keys, known, strict=True):
        result = remembered if remembered is not None else next(fresh)
        if remembered is not None:
            _verified.move_to_end(cache_key)
        elif result.valid:
            _verified[cache_key] = result
            if len(_verified) > _VERIFIED_CACHE_SIZE:
                _verified.popitem(last=False)
        checked.append(result)
    return checked, jwks


def _header(signature: envelopes.Signature) -> dict[str, Any]:
    try:
        return signature.header()
    except SignatureInvalid:
        return {}


def _recorded_cosignatures(
    presented: Presented, live: Mapping[str, Any], required: Sequence[str], public_url: str
) -> list[envelopes.Signature]:
    """Co-signatures recorded here for required signers whose signature is not in the form sent."""
    sent = {_header(s).get("iss") for s in presented.envelope.signatures}
    missing = {organisation_of_did(public_url, did) for did in required if did not in sent}
    return [
        envelopes.Signature(s["protected"], s["signature"])
        for s in live["signatures"]
        if s["role"] == "cosigner" and UUID(s["organisationId"]) in missing
    ]


async def _resolve_keys(
    conn: Connection, headers: list[dict[str, Any]], public_url: str
) -> dict[str, dict[str, Any] | None]:
    kids: dict[str, set[str]] = {}
    for header in headers:
        signer = header.get("iss")
        if isinstance(signer, str):
            kid = envelopes.signed_kid(header.get("kid"), signer)
            kids.setdefault(signer, set()).update([kid] if kid is not None else [])
    found: dict[str, dict[str, Any] | None] = {}
    for did, wanted in kids.items():
        org_id = organisation_of_did(public_url, did)
        found[did] = await published_keys(conn, org_id, wanted) if org_id is not None else None
    return found


def _resolver(jwks: Mapping[str, dict[str, Any] | None]) -> envelopes.JwksResolver:
    async def resolve(did: str) -> Mapping[str, Any] | None:
        return jwks.get(did)

    return resolve


def _conclude(context: _Context, required: list[str]) -> Verification:
    outcomes = [
        _check_signatures(context),
        _check_keys(context),
        _check_issuer(context),
        _check_schema(context),
        _check_validity(context),
        _check_status(context),
        _check_cosignatures(context, required),
        _check_accreditation(context),
    ]
    verdict = min((o.verdict for o in outcomes), key=SEVERITY.index)
    decisive = next((o.check for o in outcomes if o.verdict == verdict and o.verdict != "valid"), None)
    return Verification(
        verdict=verdict,
        summary=decisive.message if decisive is not None else _valid_summary(context),
        credential_id=_text(context.document.get("id")),
        form=cast(Form, context.presented.envelope.form),
        checked_at=context.now,
        signatures=[_signature_view(context, i, c) for i, c in enumerate(context.checked)],
        checks=[o.check for o in outcomes],
    )


def _valid_summary(context: _Context) -> str:
    issuer = next((c for c in context.checked[:1]), None)
    cosigners = [context.who(c.signer) for c in context.checked[1:] if c.valid]
    text = f"awarded by {context.who(issuer.signer if issuer else None)}"
    return text + (f", co-signed by {', '.join(cosigners)}" if cosigners else "")


def _signature_view(context: _Context, position: int, checked: envelopes.CheckedSignature) -> VerifiedSignature:
    organisation = context.organisation(checked.signer)
    return VerifiedSignature(
        role="issuer" if position == 0 else "cosigner",
        signer=checked.signer,
        organisation_id=organisation.id if organisation else None,
        organisation_name=context.name_of(organisation) if organisation else None,
        kid=checked.kid,
        alg=checked.alg,
        valid=checked.valid,
        in_credential=position < context.embedded,
        problem=checked.problem,
    )


# --- The checks -----------------------------------------------------------------------------------


def _check_signatures(context: _Context) -> _Outcome:
    if context.presented.changed:
        return _failed("signatures", context.presented.changed)
    for position, checked in enumerate(context.checked[: context.embedded]):
        if not checked.valid:
            who = context.who(checked.signer) if checked.signer else f"signature {position + 1}"
            return _failed("signatures", f"the signature of {who} does not verify: {checked.problem}")
    parts = [f"{context.who(c.signer)} ({c.alg})" for c in context.checked]
    count = len(context.checked)
    return _passed(
        "signatures",
        f"{count} signature{'s' if count > 1 else ''} verif{'y' if count > 1 else 'ies'}: " + ", ".join(parts),
    )


def _check_keys(context: _Context) -> _Outcome:
    for position, checked in enumerate(context.checked[: context.embedded]):
        if checked.signer is None:
            return _failed("keys", f"signature {position + 1} names no signer (iss) in its protected header")
        if checked.valid:  # it verified against a key its signer publishes
            continue
        jwks = context.jwks.get(checked.signer)
        if jwks is None:
            return _failed("keys", f"the signer {checked.signer} is not an organisation of this server")
        if checked.kid not in _kids(jwks):
            return _failed("keys", f"{context.who(checked.signer)} publishes no key with the kid {checked.kid!r}")
    return _passed("keys", "every signature was made with a key its organisation publishes")


def _check_issuer(context: _Context) -> _Outcome:
    issuer = issuer_of(context.document)
    first = context.checked[0].signer if context.checked else None
    if issuer is None:
        return _failed("issuer", "the credential names no issuer")
    if issuer != first:
        return _failed("issuer", f"the credential names {issuer} as its issuer, but the first signature is by {first}")
    return _passed("issuer", f"the awarding body {context.who(issuer)} signed first")


def _check_schema(context: _Context) -> _Outcome:
    problem = schema_problem(context.presented.envelope.payload)
    if problem is not None:
        return _failed("schema", f"the credential is not an Open Badges 3.0 AchievementCredential: {problem}")
    problem = envelopes.jwt_claims_problem(context.document)
    if problem is not None:
        return _failed("schema", problem)
    return _passed("schema", "the credential has the required shape of an Open Badges 3.0 AchievementCredential")


def _check_validity(context: _Context) -> _Outcome:
    document = context.document
    valid_from = _moment(document.get("validFrom"))
    if valid_from is None:
        return _failed("validity", "validFrom is missing or not a date-time with a time zone")
    until_text = document.get("validUntil")
    valid_until = _moment(until_text)
    if until_text is not None and valid_until is None:
        return _failed("validity", "validUntil is not a date-time with a time zone")
    if context.now < valid_from:
        return _failed("validity", f"not valid before {_day(valid_from)}", "not_yet_valid")
    if valid_until is not None and context.now >= valid_until:
        return _failed("validity", f"expired on {_day(valid_until)}", "expired")
    if valid_until is None:
        return _passed("validity", f"valid since {_day(valid_from)}, with no end date")
    return _passed("validity", f"valid from {_day(valid_from)} until {_day(valid_until)}")


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def _check_status(context: _Context) -> _Outcome:
    pointer, live = context.pointer, context.live
    if pointer is None:
        return _note("status", "not_applicable", "the credential names no status list, so it cannot be revoked")
    if pointer.problem is not None:
        return _failed("status", pointer.problem)
    if pointer.list_id is None:
        if pointer.url is None:
            return _note("status", "warning", f"status of type {', '.join(pointer.unchecked)} not checked")
        return _note("status", "warning", f"not checked: the status list {pointer.url} is not on this server")
    if live["list_number"] is None or live["revocation_byte"] is None or live["suspension_byte"] is None:
        return _failed("status", f"the status list {pointer.url} does not exist on this server")
    issuer = organisation_of_did(context.public_url, issuer_of(context.document) or "")
    if live["list_organisation_id"] != issuer:
        return _failed("status", "the status list belongs to another organisation than the issuer")
    assert pointer.index is not None
    offset = pointer.index % 8
    revoked = status_lists.bit(bytes([live["revocation_byte"]]), offset)
    suspended = status_lists.bit(bytes([live["suspension_byte"]]), offset)
    if revoked:
        return _failed("status", _revocation_cause(context.live), "revoked")
    if suspended:
        return _failed("status", "suspended by its awarding body until it is reinstated", "suspended")
    return _passed("status", "neither revoked nor suspended (Bitstring Status List)")


def _revocation_cause(live: Mapping[str, Any]) -> str:
    """Why the revocation bit is set: a refused or withdrawn co-signature sets it too (status_lists)."""
    if live["state"] == "cosign_refused":
        return "marked not valid in its revocation list: the co-signature was refused"
    if live["state"] != "revoked" and any(s.get("withdrawnAt") for s in live["signatures"] or []):
        return "marked not valid in its revocation list: a co-signature was withdrawn"
    return "revoked by its awarding body"


def _check_cosignatures(context: _Context, required: list[str]) -> _Outcome:
    if not required:
        return _note("cosignatures", "not_applicable", "the credential requires no co-signature")
    withdrawn = {
        UUID(s["organisationId"]): s["withdrawnAt"] for s in context.live["signatures"] if s.get("withdrawnAt")
    }
    signed = {c.signer for c in context.checked if c.valid}
    for did in required:
        organisation = context.organisation(did)
        who = context.who(did)
        if organisation is not None and organisation.id in withdrawn:
            when = str(withdrawn[organisation.id])[:10]
            return _failed("cosignatures", f"{who} withdrew its co-signature on {when}")
        if did in signed:
            continue
        if context.live["state"] == "cosign_refused":
            return _failed("cosignatures", f"{who} refused to co-sign this credential")
        return _failed("cosignatures", f"awaiting the co-signature of {who}", "awaiting_cosignature")
    return _passed("cosignatures", "co-signed by " + ", ".join(context.who(d) for d in required))


def _check_accreditation(context: _Context) -> _Outcome:
    issuer = issuer_of(context.document)
    organisation = context.organisation(issuer)
    if organisation is None:
        return _note("accreditation", "not_applicable", "the awarding body is not an organisation of this server")
    current = [a for a in organisation.accreditations if a.current]
    name = context.name_of(organisation)
    if not current:
        return _note("accreditation", "warning", f"{name} holds no current accreditation recorded here")
    parts = [
        f"by {a.accrediting_body_name} for {a.scope}" + (f" until {a.valid_until.isoformat()}" if a.valid_until else "")
        for a in current
    ]
    return _passed("accreditation", f"{name} is accredited " + "; ".join(parts))
