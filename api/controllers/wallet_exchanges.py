"""The Learner Credential Wallet's way in: the learner makes a VC-API exchange for one of their credentials
(``/me``), their page shows it as a QR code and a deep link, and the wallet runs the exchange (no token: the
exchange URL is the capability, single use and short-lived)."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath

from api.auth import public, secured
from api.controllers.credentials import public_url
from api.controllers.me import NO_STORE, for_person, person_of
from api.controllers.verification import credential_page, html_page, not_found_page, qr_svg, shown_credential
from api.http import IdempotencyKeyHeader, actor, idempotency_key
from api.ratelimit import enforce
from api.routing import get, post
from domain.credentials.vc_api import exchanges
from domain.credentials.vc_api.models import ExchangeMessage, WalletExchange
from domain.oauth.principals import Principal

_MESSAGE_EXAMPLES = [
    Example(summary="Start the exchange", value={}),
    Example(
        summary="Answer with the DIDAuth presentation",
        value={
            "verifiablePresentation": {
                "@context": [
                    "https://www.w3.org/2018/credentials/v1",
                    "https://w3id.org/security/suites/ed25519-2020/v1",
                ],
                "type": ["VerifiablePresentation"],
                "holder": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                "proof": {
                    "type": "Ed25519Signature2020",
                    "created": "2026-12-07T10:00:00Z",
                    "verificationMethod": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
                    "#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                    "proofPurpose": "authentication",
                    "challenge": "<the request's challenge>",
                    "domain": "https://guildhall.example",
                    "proofValue": "z…",
                },
            }
        },
    ),
]


class MyWalletExchangeController(Controller):
    path = "/me/credentials/{credential_id:uuid}/wallet-exchanges"
    tags = ["Me"]

    @post(
        "/",
        operation_id="createMyWalletExchange",
        summary="Make a Learner Credential Wallet exchange for one of your credentials (link and QR code)",
        description=(
            "A VC-API exchange that delivers this credential, bound to the wallet's DID, into the Digital "
            "Credentials Consortium's Learner Credential Wallet. Show `walletRequestUrl` as a QR code for the "
            "wallet to scan, or open `deepLink` on the phone; `pageUrl` is your credential's page with both. "
            "Single use, 15 minutes; at most 20 in 10 minutes. 409 while the credential is incomplete or once "
            "it is revoked."
        ),
        status_code=201,
        **for_person("credentials:read", errors=[404, 409, 422, 429], verified=True),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        credential_id: FromPath[UUID],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[WalletExchange]:
        state = request.app.state
        person = person_of(principal)
        await enforce(
            state.redis, "wallet-exchange", str(person), state.settings.wallet_exchange_rate_limit, fail_open=False
        )
        key = await idempotency_key(request, principal, idempotency_key_header)
        made = await exchanges.create(
            state.db, actor(principal), person, credential_id, public_url(request), idempotency=key
        )
        return Response(made, status_code=201, headers=NO_STORE)


class CredentialWalletExchangeController(Controller):
    path = "/credentials/{credential_id:uuid}/wallet-exchanges"
    tags = ["Wallets"]

    @post(
        "/",
        operation_id="createCredentialWalletExchange",
        summary="Make a Learner Credential Wallet exchange for a learner's credential (its provider or awarding body)",
        description=(
            "The same exchange as the learner's own (`POST /me/credentials/{id}/wallet-exchanges`), made by a "
            "client of the credential's provider or awarding body, to show the learner (in its learning "
            "platform, say): `walletRequestUrl` as a QR code, `deepLink` on the phone, `pageUrl` the credential's "
            "page with both. Single use, 15 minutes; at most 20 per client in 10 minutes."
        ),
        status_code=201,
        **secured("credentials:issue", errors=[404, 409, 422, 429]),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        credential_id: FromPath[UUID],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[WalletExchange]:
        state = request.app.state
        limit = state.settings.wallet_exchange_rate_limit
        await enforce(state.redis, "wallet-exchange:client", principal.client_id, limit, fail_open=False)
        key = await idempotency_key(request, principal, idempotency_key_header)
        made = await exchanges.create_for_learner(
            state.db, principal, credential_id, public_url(request), idempotency=key
        )
        return Response(made, status_code=201, headers=NO_STORE)


class ExchangeController(Controller):
    path = exchanges.WORKFLOW_PATH
    tags = ["Wallets"]

    @post(
        "/{exchange_id:uuid}",
        operation_id="participateInWalletExchange",
        summary="The wallet's side of a VC-API exchange: start it, then answer with a DIDAuth presentation",
        description=(
            "VC-API workflows and exchanges, as the Learner Credential Wallet runs them. `{}` answers with a "
            "`verifiablePresentationRequest` (DIDAuthentication by a did:key, a challenge and this server's "
            "domain). A `verifiablePresentation` signed by the holder's did:key (Ed25519Signature2020 or "
            "eddsa-rdfc-2022, proofPurpose authentication, that challenge and domain) answers with "
            '`{"verifiablePresentation": {"verifiableCredential": [credential]}}`: the credential with '
            "`credentialSubject.id` = the holder's DID and every Data Integrity proof (the awarding body's and a "
            "co-signing chamber's) made over it. 400 when the presentation proves nothing (the reason named), "
            "404 for an unknown exchange, 409 once it was used or expired, 429 beyond 120 messages a minute "
            "from one address."
        ),
        status_code=200,
        **public(errors=[400, 404, 409, 429]),
    )
    async def message(
        self,
        request: Request[Any, Any, Any],
        exchange_id: FromPath[UUID],
        data: Annotated[ExchangeMessage, Body(examples=_MESSAGE_EXAMPLES)],
    ) -> Response[dict[str, Any]]:
        state = request.app.state
        address = request.client.host if request.client else "unknown"
        await enforce(state.redis, "exchange:ip", address, state.settings.exchange_message_rate_limit, fail_open=False)
        settings = state.settings
        if isinstance(data.verifiablePresentation, dict):
            answer = await exchanges.complete(
                state.db,
                exchange_id,
                data.verifiablePresentation,
                master_key=settings.master_key,
                public_url=settings.issuer,
            )
        else:
            answer = await exchanges.start(state.db, exchange_id, settings.issuer)
        return Response(answer, headers=NO_STORE)


def wallet_block(exchange: WalletExchange) -> str:
    """The learner's "Add to Learner Credential Wallet": the deep link as a button, the QR code to scan."""
    return (
        '<section class="wallet">\n<h2>Add to Learner Credential Wallet</h2>\n'
        f'<p><a class="button" href="{escape(exchange.deep_link)}">Add to Learner Credential Wallet</a></p>\n'
        '<p class="small">On another device, scan this code with the Learner Credential Wallet '
        "(Add credential, Scan QR code). It works once, until "
        f"{exchange.expires_at.strftime('%H:%M')} UTC.</p>\n"
        f'<div class="qr">{qr_svg(exchange.wallet_request_url)}</div>\n</section>'
    )


class MyWalletPageController(Controller):
    path = "/c/{credential_id:uuid}/wallet"
    include_in_schema = False

    @get(
        "/{exchange_id:uuid}",
        operation_id="showCredentialPageWithWallet",
        summary="The learner's own page of their credential, with its Learner Credential Wallet exchange",
        media_type=MediaType.HTML,
        security=[{}],
    )
    async def page(
        self, request: Request[Any, Any, Any], credential_id: FromPath[UUID], exchange_id: FromPath[UUID]
    ) -> Response[str]:
        exchange = await exchanges.live_for_page(request.app.state.db, exchange_id, credential_id, public_url(request))
        shown = await shown_credential(request, str(credential_id)) if exchange is not None else None
        if shown is None or exchange is None:
            return not_found_page()
        return html_page(credential_page(shown, wallet_block(exchange)))
