"""OpenID4VCI 1.0 over HTTP: the credential issuer's metadata, the nonce and credential endpoints, the making of
offers (by an organisation, or by the learner under ``/me``) and the learner's credential page that shows one as a
QR code.

The protocol endpoints answer errors as wallets expect them, ``{"error": ..., "error_description": ...}`` with
the spec's codes (OID4VCI 1.0 §8.3.1.2), as ``application/json``; the RFC 9457 members (``type``, ``title``,
``status``, ``detail``) are added to the same object, so that Guildhall's own clients read them as ever.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.exceptions import ClientException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from api.auth import CREDENTIAL_ACCESS_TOKEN_SCHEME, public, secured
from api.controllers.me import for_person, person_of
from api.controllers.verification import credential_page, html_page, not_found_page, qr_svg, shown_credential
from api.errors import handle_http_exception, problems
from api.observability import request_id_var
from api.ratelimit import enforce
from api.routing import get, post
from domain.credentials.oid4vci import issuance, metadata, nonces, offers
from domain.credentials.oid4vci.errors import InvalidCredentialRequest, InvalidToken, Oid4vciError
from domain.credentials.oid4vci.metadata import LOGO_PATH, NONCE_LIFETIME
from domain.credentials.oid4vci.offers import CredentialOfferCreate, CredentialOfferCreated
from domain.errors import Unauthenticated
from domain.oauth.principals import Principal
from domain.writes import Actor

_LOGO = (Path(__file__).resolve().parent.parent / "pages" / "guildhall-logo.svg").read_bytes()
NO_STORE = {"Cache-Control": "no-store"}


class ProtocolError(msgspec.Struct, omit_defaults=True):
    """An OID4VCI / OAuth error: ``error`` is the spec's code; the RFC 9457 members are added beside it."""

    error: Annotated[
        str,
        Meta(
            description=(
                "invalid_credential_request, unknown_credential_configuration, unknown_credential_identifier, "
                "invalid_proof, invalid_nonce, credential_request_denied, invalid_token, invalid_request, "
                "invalid_grant"
            )
        ),
    ]
    error_description: str
    type: str
    title: str
    status: int
    detail: str


def protocol_error_spec(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=ProtocolError, description=description, media_type="application/json", generate_examples=False
    )


def protocol_error(error: Oid4vciError, headers: dict[str, str] | None = None) -> Response[ProtocolError]:
    body = ProtocolError(
        error=error.error,
        error_description=error.description,
        type=f"urn:guildhall:problem:oid4vci:{error.error}",
        title=error.title,
        status=error.status,
        detail=error.description,
    )
    extra = {"WWW-Authenticate": f'Bearer error="{error.error}"'} if error.status == 401 else {}
    return Response(
        body, status_code=error.status, media_type="application/json", headers={**NO_STORE, **extra, **(headers or {})}
    )


def _on_protocol_error(_: Request[Any, Any, Any], exc: Oid4vciError) -> Response[ProtocolError]:
    return protocol_error(exc)


def _on_unreadable(_: Request[Any, Any, Any], exc: ClientException) -> Response[Any]:
    """A body that is not the JSON of a credential request is the wallet's ``invalid_credential_request``;
    other client errors (415: not sent as JSON) stay problem documents."""
    if exc.status_code != 400:
        return handle_http_exception(_, exc)
    return protocol_error(InvalidCredentialRequest(f"the credential request cannot be read: {exc.detail}"))


def _client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


class CredentialRequestBody(msgspec.Struct, omit_defaults=True):
    """OID4VCI 1.0 §8.2: exactly one of the two names, and one ``jwt`` proof."""

    credential_configuration_id: str | None = None
    credential_identifier: Annotated[
        str | None, Meta(description="<configuration id>:<credential id>, from the token's authorization_details")
    ] = None
    proofs: Annotated[dict[str, list[str]] | None, Meta(description='{"jwt": ["<openid4vci-proof+jwt>"]}')] = None
    proof: Annotated[dict[str, str] | None, Meta(description='Older form: {"proof_type": "jwt", "jwt": "…"}')] = None


class CredentialObject(msgspec.Struct):
    credential: Annotated[Any, Meta(description="A VC-JWT or SD-JWT VC (string) or a JSON-LD credential (object)")]


class CredentialResponse(msgspec.Struct):
    credentials: list[CredentialObject]


class NonceResponse(msgspec.Struct):
    c_nonce: str
    c_nonce_expires_in: Annotated[int, Meta(description="Seconds; each nonce is accepted in one proof only")]


class CredentialIssuerMetadataController(Controller):
    path = "/.well-known/openid-credential-issuer"
    tags = ["OpenID4VCI"]

    @get(
        "/",
        operation_id="getCredentialIssuerMetadata",
        summary="The credential issuer's metadata: endpoints and one configuration per format (OID4VCI 1.0 §12.2)",
        **public(),
    )
    async def issuer_metadata(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        document = metadata.issuer_metadata(request.app.state.settings.issuer)
        return Response(document, headers={"Cache-Control": "public, max-age=3600"})


class Oid4vciController(Controller):
    path = "/oid4vci"
    tags = ["OpenID4VCI"]

    @post(
        "/nonce",
        operation_id="getCredentialNonce",
        summary="A fresh c_nonce for the proof of possession (single use, five minutes)",
        status_code=200,
        **public(errors=[429]),
    )
    async def nonce(self, request: Request[Any, Any, Any]) -> Response[NonceResponse]:
        state = request.app.state
        await enforce(
            state.redis, "oid4vci:nonce", _client_ip(request), state.settings.wallet_rate_limit, fail_open=True
        )
        value = await nonces.new_nonce(state.db)
        return Response(NonceResponse(value, NONCE_LIFETIME), headers=NO_STORE)

    @post(
        "/credential",
        operation_id="requestCredential",
        summary="The credential, bound to the wallet's key, in the format asked for (OID4VCI 1.0 §8)",
        description=(
            "Needs the access token the offer was redeemed for at `/oauth/token` (pre-authorized code, or "
            "authorization code with the offer's `issuer_state`) and a `jwt` proof (`typ: openid4vci-proof+jwt`, "
            "ES256 or EdDSA, `aud` this issuer, the `nonce` from `/oid4vci/nonce`) naming the wallet's key by "
            "`jwk` or by a did:key / did:jwk `kid`. Errors are OID4VCI's, with RFC 9457 members beside them."
        ),
        status_code=200,
        exception_handlers={
            Oid4vciError: _on_protocol_error,
            ClientException: _on_unreadable,
            ValidationException: _on_unreadable,
        },
        security=[{CREDENTIAL_ACCESS_TOKEN_SCHEME: []}],
        responses={
            400: protocol_error_spec(
                "invalid_credential_request, unknown_credential_configuration, unknown_credential_identifier, "
                "invalid_proof, invalid_nonce or credential_request_denied"
            ),
            401: protocol_error_spec("invalid_token: no access token, or not a live one for an offer"),
            **problems(429),
        },
    )
    async def credential(
        self, request: Request[Any, Any, Any], data: JSONBody[CredentialRequestBody]
    ) -> Response[CredentialResponse]:
        state = request.app.state
        address = _client_ip(request)
        await enforce(state.redis, "oid4vci:credential", address, state.settings.wallet_rate_limit, fail_open=True)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("send the access token from /oauth/token as Authorization: Bearer <token>")
        try:
            claims = await state.token_verifier.verify(token.strip())
        except Unauthenticated as exc:
            raise InvalidToken(exc.message) from None
        try:
            body = msgspec.json.decode(await request.body())
        except msgspec.DecodeError:
            raise InvalidCredentialRequest("the credential request is not JSON") from None
        settings = state.settings
        issued = await issuance.issue_credential(
            state.db,
            claims["jti"],
            body,
            issuer=settings.issuer,
            master_key=settings.master_key,
            actor=_wallet_actor(claims),
        )
        return Response(CredentialResponse([CredentialObject(issued.credential)]), headers=NO_STORE)

    @get(
        LOGO_PATH.removeprefix("/oid4vci"),
        operation_id="getIssuerLogo",
        summary="Guildhall's logo, as the issuer metadata's display names it",
        media_type="image/svg+xml",
        include_in_schema=False,  # an image for wallets' screens, like the pages: not an API operation
        security=[{}],
    )
    async def logo(self) -> Response[bytes]:
        return Response(_LOGO, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


def offer_block(offer: dict[str, Any], credentials: int) -> str:
    """The learner's "Add to your wallet" block: the offer link as a button, its QR code, never the PIN."""
    link = escape(offers.offer_link(offer))
    several = f" It holds {credentials} credentials." if credentials > 1 else ""
    return (
        '<section class="wallet">\n<h2>Add to your wallet (OpenID4VCI)</h2>\n'
        f'<p><a class="button" href="{link}">Open in your wallet</a></p>\n'
        '<p class="small">Scan this code with an EU Digital Identity Wallet or another OpenID4VCI wallet. It '
        "will ask for the PIN you were shown when the offer was made (it is not on this page). The offer works "
        f"once, for a short while.{several}</p>\n"
        f'<div class="qr">{qr_svg(offers.offer_link(offer))}</div>\n</section>'
    )


class MyOfferPageController(Controller):
    path = "/c/{credential_id:uuid}/openid4vci"
    include_in_schema = False

    @get(
        "/{offer_id:uuid}",
        operation_id="showCredentialPageWithOffer",
        summary="The learner's own page of their credential, with the OpenID4VCI offer as a QR code (no PIN)",
        media_type=MediaType.HTML,
        security=[{}],
    )
    async def page(
        self, request: Request[Any, Any, Any], credential_id: FromPath[UUID], offer_id: FromPath[UUID]
    ) -> Response[str]:
        state = request.app.state
        shown_offer = await offers.shown_offer(state.db, offer_id, credential_id, state.settings.master_key)
        shown = await shown_credential(request, str(credential_id)) if shown_offer is not None else None
        if shown is None or shown_offer is None:
            return not_found_page()
        offer, credentials = shown_offer
        response = html_page(credential_page(shown, offer_block(offer, credentials)))
        response.headers["Cache-Control"] = "no-store"
        return response


def _wallet_actor(claims: dict[str, Any]) -> Actor:
    """The wallet, in the audit trail: it is nobody's client; its request id ties the entry to the logs."""
    return Actor(client_id=None, person_id=None, organisation_id=None, request_id=request_id_var.get())


_OFFER_DESCRIPTION = (
    "The answer carries the `openid-credential-offer://` link (also as a QR code on the page it names) and the "
    "PIN (`txCode`) to give the learner apart from it; both are shown once. The wallet redeems the offer once, "
    "within `validMinutes`, with the pre-authorized code and the PIN, or through the authorization code grant "
    "(the learner signs in). Not idempotent: a retried request makes a second offer, and the first expires unused."
)


class CredentialOfferController(Controller):
    tags = ["OpenID4VCI"]

    @post(
        "/organisations/{org_id:uuid}/credential-offers",
        operation_id="createCredentialOffer",
        summary="Offer a learner's credentials to their wallet (OpenID4VCI)",
        description=_OFFER_DESCRIPTION + " The organisation must have awarded or assessed every credential.",
        **secured(
            "credentials:issue", roles=["admin", "signatory"], member_of_path_org=True, errors=[404, 409, 422, 429]
        ),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[CredentialOfferCreate],
    ) -> Response[CredentialOfferCreated]:
        state = request.app.state
        await enforce(
            state.redis, "oid4vci:offer", principal.client_id, state.settings.offer_rate_limit, fail_open=False
        )
        organisations = None if principal.is_operator else frozenset({org_id})
        created = await offers.create_offer(
            state.db,
            principal.actor(),
            data,
            issuer=state.settings.issuer,
            master_key=state.settings.master_key,
            organisations=organisations,
        )
        return Response(created, status_code=201, headers=NO_STORE)

    @post(
        "/me/credential-offers",
        operation_id="createMyCredentialOffer",
        summary="Offer your own credentials to your wallet (OpenID4VCI)",
        description=_OFFER_DESCRIPTION,
        **for_person("credentials:read", errors=[404, 409, 422, 429], verified=True),
    )
    async def create_mine(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        data: JSONBody[CredentialOfferCreate],
    ) -> Response[CredentialOfferCreated]:
        state = request.app.state
        person_id = person_of(principal)
        await enforce(state.redis, "oid4vci:offer", str(person_id), state.settings.offer_rate_limit, fail_open=False)
        created = await offers.create_offer(
            state.db,
            principal.actor(),
            data,
            issuer=state.settings.issuer,
            master_key=state.settings.master_key,
            person_id=person_id,
        )
        return Response(created, status_code=201, headers=NO_STORE)
