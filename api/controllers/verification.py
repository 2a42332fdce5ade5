"""Verifying credentials: ``POST /verify`` for machines, ``/c/{id}`` (and its printable view with a QR code)
for people, and the JSON-LD context that defines Guildhall's own terms in the credentials.

``POST /verify`` takes the credential in any form Guildhall issues, no token needed:

* ``Content-Type: application/json`` (the default): ``{"credential": <form>}`` where ``<form>`` is the
  VC-JWT as a string, the JWS JSON General Serialization object, or the credential JSON with its
  ``proof`` list; or ``<form>`` itself as the whole body (a JSON string for the VC-JWT).
* ``Content-Type: application/vc+jwt`` (or ``application/jwt``, ``application/jose``, ``text/plain``):
  the VC-JWT as raw text.

A body that is no credential gets a 422 problem saying why; a credential, however broken, gets a verdict.
The handler reads the body itself (Litestar would decode every body as JSON), so the request body is
documented by hand (``_VerifyOperation``).

The pages are HTML for people's browsers, not API operations, and are left out of the OpenAPI document
like the authorization page: an unknown or held credential gets an HTML 404 page. They load nothing from
elsewhere and run no script; the Content-Security-Policy admits only their own stylesheet (by hash).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from string import Template
from typing import Any
from uuid import UUID

import msgspec
import segno
from litestar import Controller, Request, Response
from litestar.enums import MediaType
from litestar.exceptions import HTTPException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath

from api.auth import public
from api.errors import problem_spec
from api.routing import get, post
from domain.credentials import envelopes, service, verification
from domain.credentials.data_integrity import contexts, forms
from domain.credentials.verification import NotACredential, Verification
from domain.errors import NotFound
from domain.learners import erasure
from domain.learners.service import q as learner_queries

VC_JWT_MEDIA_TYPE = "application/vc+jwt"
LD_JSON_MEDIA_TYPE = "application/ld+json"
RAW_TOKEN_MEDIA_TYPES = frozenset({VC_JWT_MEDIA_TYPE, "application/jwt", "application/jose", "text/plain"})
MAX_VERIFY_BODY = 512 * 1024  # far above any credential of ours; decoding stays well under a millisecond

# --- POST /verify ---------------------------------------------------------------------------------

_FORMS = Schema(
    one_of=[
        Schema(type=OpenAPIType.STRING, description="The VC-JWT (compact JWS)"),
        Schema(
            type=OpenAPIType.OBJECT,
            description=(
                "The JWS JSON General Serialization (payload and signatures), or the credential JSON with its "
                "proof set (DataIntegrityProof, or the JwtProof2020 proofs handed out before)"
            ),
        ),
    ]
)
_VERIFY_BODY = RequestBody(
    required=True,
    description=(
        'The credential in any form Guildhall issues, best wrapped as {"credential": ...}; or the form itself as '
        "the body. With Content-Type application/vc+jwt, the VC-JWT as raw text."
    ),
    content={
        "application/json": OpenAPIMediaType(
            schema=Schema(  # anyOf: {"credential": ...} is an object too
                any_of=[
                    Schema(
                        type=OpenAPIType.OBJECT,
                        required=["credential"],
                        properties={"credential": _FORMS},
                        additional_properties=False,
                    ),
                    _FORMS,
                ]
            )
        ),
        VC_JWT_MEDIA_TYPE: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, description="The VC-JWT")),
    },
)


@dataclass
class _VerifyOperation(Operation):
    """Documents the request body the handler reads itself."""

    def __post_init__(self) -> None:
        self.request_body = _VERIFY_BODY


def _verify_responses() -> dict[str, Any]:
    spec = public(errors=[422])
    extra = {
        413: problem_spec(f"The body is larger than {MAX_VERIFY_BODY // 1024} KiB: no credential is that large."),
        415: problem_spec("Send application/json, or the VC-JWT as application/vc+jwt."),
    }
    return {**spec, "responses": {**spec["responses"], **extra}}


def _json_kind(value: Any) -> str:
    return {list: "array", int: "number", float: "number", bool: "boolean", type(None): "null"}.get(
        type(value), "value"
    )


async def credential_in(request: Request[Any, Any, Any]) -> str | dict[str, Any]:
    """The credential form in the request body; ``NotACredential`` (422) or a 415 if there is none."""
    media_type = request.content_type[0].lower()
    body = await request.body()
    if media_type in RAW_TOKEN_MEDIA_TYPES:
        try:
            return body.decode("ascii").strip()
        except UnicodeDecodeError as exc:
            raise NotACredential("a VC-JWT is ASCII text (base64url parts separated by dots)") from exc
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(
            status_code=415, detail=f"send application/json, or the VC-JWT as {VC_JWT_MEDIA_TYPE}, not {media_type}"
        )
    try:
        value = msgspec.json.decode(body)
    except RecursionError as exc:
        raise NotACredential(verification.TOO_DEEP) from exc
    except msgspec.DecodeError as exc:
        raise NotACredential(f"the body is not JSON ({exc}); send a VC-JWT as {VC_JWT_MEDIA_TYPE}") from exc
    if isinstance(value, dict) and "credential" in value:
        if len(value) != 1:
            raise NotACredential('send {"credential": ...} with no other member beside it')
        value = value["credential"]
    if isinstance(value, str | dict):
        return value
    raise NotACredential(
        f"a credential is a VC-JWT (a JSON string) or a JSON object (JWS JSON, or the credential with its "
        f"proof), not a JSON {_json_kind(value)}"
    )


class VerificationController(Controller):
    path = "/verify"
    tags = ["Verification"]

    @post(
        "/",
        operation_id="verifyCredential",
        summary="Verify a credential in any form Guildhall issues: signatures, status, validity, co-signatures",
        description=(
            "No token needed. The answer is a verdict (valid, invalid, revoked, suspended, expired, not_yet_valid, "
            "awaiting_cosignature) with every check behind it and every signature with its signer. A body that is "
            "no credential gets a 422 problem; a credential, however broken, gets a verdict."
        ),
        status_code=200,
        request_max_body_size=MAX_VERIFY_BODY,
        operation_class=_VerifyOperation,
        **_verify_responses(),
    )
    async def verify(self, request: Request[Any, Any, Any]) -> Verification:
        credential = await credential_in(request)
        presented = verification.present(credential)  # before taking a connection: junk costs no DB work
        async with request.app.state.db.connection() as conn:
            return await verification.verify_presented(conn, presented, public_url=request.app.state.settings.issuer)


# --- The public page and its printable view ---------------------------------------------------------

_PAGES = Path(__file__).parent.parent / "pages"
_CSS = (_PAGES / "pages.css").read_text(encoding="utf-8").strip()
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
_PAGE = Template((_PAGES / "credential.html").read_text(encoding="utf-8"))
_PRINT = Template((_PAGES / "credential_print.html").read_text(encoding="utf-8"))
_NOT_FOUND = Template((_PAGES / "not_found.html").read_text(encoding="utf-8"))

PAGE_HEADERS = {
    # Nothing loads from anywhere; the one stylesheet is inline and admitted by its hash; no script, no forms.
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; form-action 'none'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # the verdict is live
    "X-Robots-Tag": "noindex, nofollow",  # a learner's name is not for search engines
}

_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
VERDICT_LABELS = {
    "valid": "Valid",
    "invalid": "Not valid",
    "revoked": "Revoked",
    "suspended": "Suspended",
    "expired": "Expired",
    "not_yet_valid": "Not valid yet",
    "awaiting_cosignature": "Awaiting co-signature",
}
CHECK_LABELS = {
    "signatures": "Signatures",
    "keys": "Signing keys",
    "issuer": "Issuer",
    "schema": "Format",
    "validity": "Validity dates",
    "status": "Revocation",
    "cosignatures": "Co-signatures",
    "accreditation": "Accreditation",
}
STATUS_LABELS = {"passed": "Passed", "failed": "Failed", "warning": "Warning", "not_applicable": "Not applicable"}


def html_page(page: str, status_code: int = 200) -> Response[str]:
    return Response(page, status_code=status_code, media_type=MediaType.HTML, headers=PAGE_HEADERS)


def not_found_page() -> Response[str]:
    return html_page(_NOT_FOUND.substitute(css=_CSS), status_code=404)


@dataclass(frozen=True)
class _Withdrawn:
    """A revocation or suspension as the awarding body recorded it: when, and the reason it gave."""

    verdict: str  # revoked | suspended
    since: datetime | None
    reason: str | None


@dataclass(frozen=True)
class _Shown:
    """What the pages show: only what the credential itself says, the live verdict, and (for a revoked or
    suspended credential) the date and reason the awarding body gave."""

    credential_id: UUID
    document: dict[str, Any]
    result: Verification
    withdrawn: _Withdrawn | None = None
    data_integrity: Verification | None = None  # the JSON form's proof set, checked as a verifier would

    def get(self, *path: str) -> Any:
        value: Any = self.document
        for name in path:
            value = value.get(name) if isinstance(value, Mapping) else None
        return value

    @property
    def title(self) -> str:
        return str(self.get("credentialSubject", "achievement", "name") or self.get("name") or "Credential")

    @property
    def learner(self) -> str:
        for entry in self.get("credentialSubject", "identifier") or []:
            if isinstance(entry, Mapping) and entry.get("identityType") == "name" and entry.get("hashed") is False:
                return str(entry.get("identityHash"))
        return "(not named in the credential)"

    @property
    def awarding_body(self) -> str:
        return str(self.get("issuer", "name") or self.get("issuer", "id") or self.get("issuer") or "")

    @property
    def cosigners(self) -> list[str]:
        signatures = self.result.signatures
        return [s.organisation_name or s.signer or "" for s in signatures if s.role == "cosigner" and s.valid]

    @property
    def lang(self) -> str:
        """The language of the credential's texts (a BCP 47 tag), for the page's ``lang`` attributes."""
        language = self.get("credentialSubject", "achievement", "inLanguage")
        return language if isinstance(language, str) and _LANGUAGE_TAG.match(language) else "en"

    def date(self, name: str) -> str:
        value = self.get(name)
        return value[:10] if isinstance(value, str) else "no end date"


async def shown_credential(request: Request[Any, Any, Any], credential_id: str) -> _Shown | None:
    try:
        identifier = UUID(credential_id)
    except ValueError:
        return None
    async with request.app.state.db.connection() as conn:
        try:
            row = await service.fetch_row(conn, identifier)
        except NotFound:
            return None
        if row["payload"] is None:  # held: not issued, so not public
            return None
        envelope = envelopes.Envelope(row["payload"], service.signatures_of(row), "jws-json")
        presented = verification.present_envelope(envelope)
        result = await verification.verify_presented(conn, presented, public_url=request.app.state.settings.issuer)
        erased = await conn.fetchval(learner_queries.learner_erased, row["learner_id"])
    # The signed original stays as it is; what the page shows of an erased learner does not name them.
    document = erasure.public_view(presented.document) if erased else presented.document
    withdrawn = _withdrawn(row, result.verdict, erased=bool(erased))
    return _Shown(identifier, document, result, withdrawn, await _data_integrity(request, row))


def _withdrawn(row: Mapping[str, Any], verdict: str, *, erased: bool) -> _Withdrawn | None:
    if verdict == "revoked" or row["state"] == "revoked":
        since, reason = row["revoked_at"], row["revocation_reason"]
        verdict = "revoked"
    elif verdict == "suspended":
        since, reason = row["suspended_at"], row["suspension_reason"]
    else:
        return None
    # The reason is the awarding body's free text, which may name the learner: once they are erased, only the
    # erasure's own reason is shown.
    return _Withdrawn(verdict, since, None if erased and reason != erasure.ERASED_REASON else reason)


# label, verb, preposition before the date, what it means now
_WITHDRAWN_WORDS = {
    "revoked": ("Revoked", "revoked", "on", "It no longer certifies this achievement."),
    "suspended": ("Suspended", "suspended", "since", "It certifies nothing until it is reinstated."),
}


def _withdrawn_banner(shown: _Shown) -> str:
    """The unmistakable notice on both pages: what happened, who did it, when, and why in its own words."""
    withdrawn = shown.withdrawn
    if withdrawn is None:
        return ""
    label, verb, preposition, meaning = _WITHDRAWN_WORDS[withdrawn.verdict]
    day = withdrawn.since.astimezone(UTC).date().isoformat() if withdrawn.since else None
    when = f" {preposition} <strong>{day}</strong>" if day else ""
    reason = (
        f'<p>Reason given: <q class="reason">{escape(withdrawn.reason)}</q></p>'
        if withdrawn.reason
        else "<p>No reason is shown.</p>"
    )
    return (
        f'<section class="withdrawn" role="alert">\n<p class="withdrawn-label">{label}</p>\n'
        f"<p>This credential was {verb} by <strong>{escape(shown.awarding_body)}</strong>{when}. "
        f"{meaning}</p>\n{reason}\n</section>"
    )


_CERTIFIES = {
    "valid": "This certifies that",
    "revoked": "This credential no longer certifies that",
    "suspended": "While it is suspended, this credential does not certify that",
}


def _watermark(shown: _Shown) -> str:
    if shown.withdrawn is None:
        return ""
    return f'<div class="watermark" aria-hidden="true">{_WITHDRAWN_WORDS[shown.withdrawn.verdict][0]}</div>'


async def _data_integrity(request: Request[Any, Any, Any], row: Mapping[str, Any]) -> Verification | None:
    """The verdict on the credential JSON as wallets get it (its Data Integrity proof set), once it is issued."""
    if row["state"] != "issued":
        return None
    settings, db = request.app.state.settings, request.app.state.db
    form = await forms.json_with_proofs(db, row, master_key=settings.master_key, public_url=settings.issuer)
    async with db.connection() as conn:
        return await verification.verify(conn, form, public_url=settings.issuer)


def _data_integrity_check(shown: _Shown) -> str:
    checked = shown.data_integrity
    if checked is None:
        return ""
    signatures = next(c for c in checked.checks if c.check == "signatures")
    suites = sorted({s.alg for s in checked.signatures if s.alg and "rdfc" in s.alg})
    message = f"the credential JSON with its proof set ({', '.join(suites) or 'no Data Integrity proof'}): "
    return (
        f'\n<li><span class="status status-{signatures.status}">{STATUS_LABELS[signatures.status]}</span> '
        f"<strong>Data Integrity proofs:</strong> {escape(message + signatures.message)}</li>"
    )


def _row(label: str, value: str) -> str:
    return f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>"


def _hours(duration: Any) -> str | None:
    if isinstance(duration, str) and duration.startswith("PT") and duration.endswith("H"):
        return f"{duration[2:-1]} hours"
    return None


def _details(shown: _Shown) -> str:
    achievement = shown.get("credentialSubject", "achievement") or {}
    quality = achievement.get("qualityAssurance")
    rows = [
        ("Assessed by", shown.get("credentialSubject", "source", "name")),
        ("Achievement type", achievement.get("achievementType")),
        ("EQF level", achievement.get("eqfLevel")),
        ("Workload", _hours(achievement.get("volumeOfLearning"))),
        ("ECTS credits", achievement.get("creditsAvailable")),
        ("Assessment", achievement.get("typeOfAssessment")),
        ("Participation", achievement.get("formOfParticipation")),
        ("Supervision", shown.get("credentialSubject", "supervisionAndIdentityVerification")),
        ("Quality assurance", quality.get("category", "").replace("_", " ") if isinstance(quality, Mapping) else None),
        ("Description", achievement.get("description")),
    ]
    return "\n".join(_row(label, str(value)) for label, value in rows if value not in (None, ""))


def _outcomes(shown: _Shown) -> str:
    outcomes = shown.get("credentialSubject", "achievement", "learningOutcome") or []
    items = [f"<li>{escape(str(o['title']))}</li>" for o in outcomes if isinstance(o, Mapping) and o.get("title")]
    return f'<h2>Learning outcomes</h2>\n<ul lang="{shown.lang}">\n{"".join(items)}\n</ul>' if items else ""


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def credential_page(shown: _Shown, wallet: str = "") -> str:
    """The page; ``wallet`` is the learner's own "Add to Learner Credential Wallet" block (HTML), on their
    view only."""
    result = shown.result
    checks = "\n".join(
        f'<li><span class="status status-{c.status}">{STATUS_LABELS[c.status]}</span> '
        f"<strong>{CHECK_LABELS[c.check]}:</strong> {escape(c.message)}</li>"
        for c in result.checks
    ) + _data_integrity_check(shown)
    cosigners = shown.cosigners
    return _PAGE.substitute(
        css=_CSS,
        title=escape(shown.title),
        lang=shown.lang,
        withdrawn=_withdrawn_banner(shown),
        watermark=_watermark(shown),
        verdict=result.verdict,
        verdict_label=VERDICT_LABELS[result.verdict],
        summary=escape(result.summary[:1].upper() + result.summary[1:]),
        learner=escape(shown.learner),
        awarding_body=escape(shown.awarding_body),
        cosigners=_row("Co-signed by", ", ".join(cosigners)) if cosigners else "",
        issued=escape(shown.date("validFrom")),
        valid_until=escape(shown.date("validUntil")),
        details=_details(shown),
        outcomes=_outcomes(shown),
        checks=checks,
        checked_at=_when(result.checked_at),
        credential_id=escape(str(shown.get("id") or "")),
        print_href=f"/c/{shown.credential_id}/print",
        wallet=wallet,
    )


def qr_svg(url: str) -> str:
    """The URL as a QR code, an inline SVG element (no external image, nothing for the CSP to admit)."""
    code = segno.make(url, error="m")
    svg: str = code.svg_inline(scale=4, border=4, omitsize=True, title=f"QR code of {url}")
    return svg


def print_page(shown: _Shown, public_url: str) -> str:
    url = f"{public_url}/c/{shown.credential_id}"
    cosigners = shown.cosigners
    return _PRINT.substitute(
        css=_CSS,
        title=escape(shown.title),
        lang=shown.lang,
        withdrawn=_withdrawn_banner(shown),
        watermark=_watermark(shown),
        certifies=_CERTIFIES[shown.withdrawn.verdict if shown.withdrawn else "valid"],
        certificate_class="certificate" if shown.withdrawn is None else "certificate certificate-withdrawn",
        learner=escape(shown.learner),
        awarding_body=escape(shown.awarding_body),
        cosigned=f", co-signed by <strong>{escape(', '.join(cosigners))}</strong>" if cosigners else "",
        issued=escape(shown.date("validFrom")),
        valid_until=escape(shown.date("validUntil")),
        qr=qr_svg(url),
        page_url=escape(url),
        page_href=f"/c/{shown.credential_id}",
        checked_at=_when(shown.result.checked_at),
        verdict_label=VERDICT_LABELS[shown.result.verdict],
    )


class CredentialPageController(Controller):
    path = "/c"
    include_in_schema = False

    @get(
        "/{credential_id:str}",
        operation_id="showCredentialPage",
        summary="The public page of a credential with its live verification verdict",
        media_type=MediaType.HTML,
        security=[{}],
    )
    async def page(self, request: Request[Any, Any, Any], credential_id: FromPath[str]) -> Response[str]:
        shown = await shown_credential(request, credential_id)
        return not_found_page() if shown is None else html_page(credential_page(shown))

    @get(
        "/{credential_id:str}/print",
        operation_id="showCredentialPrintView",
        summary="A printable view of a credential with a QR code of its public page",
        media_type=MediaType.HTML,
        security=[{}],
    )
    async def print_view(self, request: Request[Any, Any, Any], credential_id: FromPath[str]) -> Response[str]:
        shown = await shown_credential(request, credential_id)
        if shown is None:
            return not_found_page()
        return html_page(print_page(shown, request.app.state.settings.issuer))


# --- The JSON-LD context --------------------------------------------------------------------------

_CONTEXT_CACHE_CONTROL = "public, max-age=86400"


class ContextController(Controller):
    path = "/contexts"
    tags = ["Verification"]

    @get(
        "/guildhall/v1",
        operation_id="getGuildhallContext",
        summary="The JSON-LD context of Guildhall's terms in its credentials (mapped to ELM where it has them)",
        media_type=LD_JSON_MEDIA_TYPE,
        response_description="A JSON-LD 1.1 context",
        **public(),
    )
    async def guildhall_v1(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        public_url = request.app.state.settings.issuer
        document = contexts.guildhall_context(public_url)
        return Response(document, media_type=LD_JSON_MEDIA_TYPE, headers={"Cache-Control": _CONTEXT_CACHE_CONTROL})
