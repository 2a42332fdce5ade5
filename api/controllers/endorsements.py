"""Endorsements: chambers, authorities and QA bodies endorse achievements with a signed Open Badges 3.0
``EndorsementCredential``; anyone reads one; the endorser withdraws it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.auth import public, secured
from api.http import IdempotencyKeyHeader, idempotency_key
from api.routing import delete, get, post
from domain.credentials import endorsements
from domain.credentials.endorsements import Endorsement, EndorsementCreate
from domain.oauth.principals import Principal

VC_JWT_MEDIA_TYPE = "application/vc+jwt"


def _endorser() -> dict[str, Any]:
    """An admin or signatory of the endorsing organisation, with a token that may issue credentials."""
    return secured("credentials:issue", roles=["admin", "signatory"], member_of_path_org=True, errors=[404, 409, 422])


class OrganisationEndorsementController(Controller):
    path = "/organisations/{org_id:uuid}/endorsements"
    tags = ["Endorsements"]

    @post(
        "/",
        operation_id="createEndorsement",
        summary="Endorse a published programme, one of its units, or a qualification (chambers, authorities, "
        "QA bodies; 403 for other kinds of organisation)",
        status_code=201,
        **_endorser(),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[EndorsementCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[Endorsement]:
        """Signs an Open Badges 3.0 ``EndorsementCredential`` (a VC-JWT) whose subject is the achievement of the
        latest published version. Credentials issued from now on for that achievement embed it."""
        settings = request.app.state.settings
        created = await endorsements.endorse(
            request.app.state.db,
            principal,
            org_id,
            data,
            master_key=settings.master_key,
            public_url=settings.issuer,
            idempotency=await idempotency_key(request, principal, idempotency_key_header),
        )
        return Response(created, status_code=201)

    @delete(
        "/{endorsement_id:uuid}",
        operation_id="withdrawEndorsement",
        summary="Withdraw an endorsement: credentials issued from now on leave it out",
        status_code=200,
        **_endorser(),
    )
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        endorsement_id: FromPath[UUID],
    ) -> Endorsement:
        return await endorsements.withdraw(request.app.state.db, principal, org_id, endorsement_id)


class EndorsementController(Controller):
    path = "/endorsements/{endorsement_id:uuid}"
    tags = ["Endorsements"]

    @get(
        "/",
        operation_id="getEndorsement",
        summary="An endorsement: its EndorsementCredential JSON, its VC-JWT, and whether it was withdrawn",
        **public(errors=[400, 404]),
    )
    async def read(self, request: Request[Any, Any, Any], endorsement_id: FromPath[UUID]) -> Endorsement:
        return await endorsements.get_endorsement(request.app.state.db, endorsement_id)

    @get(
        "/vc-jwt",
        operation_id="getEndorsementVcJwt",
        summary="The EndorsementCredential as a VC-JWT, signed by the endorser",
        media_type=VC_JWT_MEDIA_TYPE,
        **public(errors=[400, 404]),
    )
    async def vc_jwt(self, request: Request[Any, Any, Any], endorsement_id: FromPath[UUID]) -> Response[str]:
        found = await endorsements.get_endorsement(request.app.state.db, endorsement_id)
        return Response(found.jwt, media_type=VC_JWT_MEDIA_TYPE)
