"""The signed-in person's portfolio: credentials from every provider, and credentials of other issuers they add."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from api.controllers.me import NO_STORE, for_person, person_of
from api.http import IdempotencyKeyHeader, idempotency_key
from api.routing import delete, get, post
from domain.credentials.foreign.fetch import FetchOptions
from domain.oauth.principals import Principal
from domain.portfolio import foreign, service
from domain.portfolio.models import Portfolio, PortfolioEntry
from domain.structs import Input

VcJwt = Annotated[
    str,
    Meta(
        min_length=5,
        max_length=262_144,
        pattern=r"^\s*[a-zA-Z0-9_-]+\.[a-zA-Z0-9_-]+\.[a-zA-Z0-9_-]+\s*$",
        description="The VC-JWT, exactly as the issuer signed it",
    ),
]


class CredentialToAdd(Input):
    """A credential another issuer gave you: its VC-JWT (compact JWS), or its JSON with Data Integrity proofs."""

    credential: VcJwt | dict[str, Any]


def fetch_options(request: Request[Any, Any, Any]) -> FetchOptions:
    settings = request.app.state.settings
    return FetchOptions.of(settings.foreign_fetch_allowed_networks, settings.foreign_fetch_ca_bundle)


class PortfolioController(Controller):
    path = "/me/portfolio"
    tags = ["Me"]

    @get(
        "",
        operation_id="getMyPortfolio",
        summary="Your portfolio: every valid credential you hold, here and elsewhere, with what it attests",
        description=(
            "Every valid credential issued to the learner records you claimed, at every provider, and every "
            "credential of another issuer you added, each with the ESCO skills, EQF level, hours and ECTS "
            "credits it attests and how it was verified. A credential of another issuer counts only while its "
            "verification is valid; it is checked again whenever it is used (stacking, recognition)."
        ),
        **for_person("credentials:read", errors=[], verified=True),
    )
    async def portfolio(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]
    ) -> Response[Portfolio]:
        found = await service.get_portfolio(request.app.state.db, person_of(principal))
        return Response(found, headers=NO_STORE)

    @post(
        "/credentials",
        operation_id="addMyForeignCredential",
        summary="Add a credential another issuer gave you: verified first, refused with the reasons if it does not",
        description=(
            "The VC-JWT (or the JSON with Data Integrity proofs) is verified before it is stored: its "
            "signature against the issuer's published keys (did:web over HTTPS, did:key, or the JWKS its header "
            "names with jku on the issuer's own origin), its validity dates and its Bitstring status list. A "
            "forged, altered, revoked, suspended or expired credential is refused (422) with every reason found. "
            "201 when added, 200 when the same credential was already in your portfolio."
        ),
        status_code=201,
        **for_person("portfolio:write", errors=[409, 422], verified=True),
    )
    async def add(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        data: JSONBody[CredentialToAdd],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[PortfolioEntry]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        added = await foreign.add_credential(
            request.app.state.db,
            principal.actor(),
            person_of(principal),
            data.credential.encode() if isinstance(data.credential, str) else msgspec.json.encode(data.credential),
            fetch_options(request),
            request.app.state.settings.issuer,
            idempotency=key,
        )
        return Response(added.entry, status_code=201 if added.created else 200, headers=NO_STORE)

    @post(
        "/credentials/{foreign_id:uuid}/verification",
        operation_id="recheckMyForeignCredential",
        summary="Verify one of the credentials you added again, now (keys, dates, status list)",
        status_code=200,
        **for_person("portfolio:write", errors=[404], verified=True),
    )
    async def recheck(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], foreign_id: FromPath[UUID]
    ) -> Response[PortfolioEntry]:
        entry = await foreign.recheck_one(
            request.app.state.db,
            person_of(principal),
            foreign_id,
            fetch_options(request),
            request.app.state.settings.issuer,
        )
        return Response(entry, headers=NO_STORE)

    @delete(
        "/credentials/{foreign_id:uuid}",
        operation_id="removeMyForeignCredential",
        summary="Remove a credential you added from your portfolio",
        **for_person("portfolio:write", errors=[404], verified=True),
    )
    async def remove(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], foreign_id: FromPath[UUID]
    ) -> None:
        await foreign.remove(request.app.state.db, principal.actor(), person_of(principal), foreign_id)
