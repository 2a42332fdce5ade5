"""Organisations and their accreditations."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from api.auth import secured
from api.http import Cursor, IdempotencyKeyHeader, IfMatch, Limit, actor, etag, expected_version, idempotency_key
from api.routing import delete, get, patch, post
from domain.errors import Forbidden
from domain.oauth.principals import Principal
from domain.organisations import service
from domain.organisations.models import (
    AccreditationCreate,
    Organisation,
    OrganisationCreate,
    OrganisationKind,
    OrganisationPage,
    OrganisationUpdate,
)


def _with_etag(organisation: Organisation, status_code: int = 200) -> Response[Organisation]:
    headers = {"ETag": etag(organisation.version)}
    if status_code == 201:
        headers["Location"] = f"/organisations/{organisation.id}"
    return Response(organisation, status_code=status_code, headers=headers)


def admin_organisations(principal: NamedDependency[Principal]) -> frozenset[UUID]:
    """The organisations for which the caller may act as admin (to record accreditations)."""
    return frozenset(o for o in principal.organisations() if "admin" in principal.roles_in(o))


class OrganisationController(Controller):
    path = "/organisations"
    tags = ["Organisations"]

    @post(
        "/",
        operation_id="createOrganisation",
        summary="Register an organisation (platform operator)",
        status_code=201,
        **secured("admin", errors=[409, 422]),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        data: JSONBody[OrganisationCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[Organisation]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        organisation = await service.create_organisation(request.app.state.db, actor(principal), data, key)
        return _with_etag(organisation, 201)

    @get(
        "/",
        operation_id="listOrganisations",
        summary="List organisations (public profiles)",
        **secured("organisations:read", errors=[422]),
    )
    async def list(
        self,
        request: Request[Any, Any, Any],
        kind: FromQuery[OrganisationKind | None] = None,
        country: FromQuery[str | None] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> OrganisationPage:
        return await service.list_organisations(
            request.app.state.db, cursor=cursor, limit=limit, kind=kind, country=country
        )

    @get(
        "/{org_id:uuid}",
        operation_id="getOrganisation",
        summary="Read an organisation",
        **secured("organisations:read", errors=[404]),
    )
    async def read(self, request: Request[Any, Any, Any], org_id: FromPath[UUID]) -> Response[Organisation]:
        return _with_etag(await service.get_organisation(request.app.state.db, org_id))

    @patch(
        "/{org_id:uuid}",
        operation_id="updateOrganisation",
        summary="Change an organisation's profile (its admins; needs If-Match)",
        **secured("organisations:write", roles=["admin"], member_of_path_org=True, errors=[404, 412, 422, 428]),
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[OrganisationUpdate],
        if_match: IfMatch = None,
    ) -> Response[Organisation]:
        organisation = await service.update_organisation(
            request.app.state.db, actor(principal), org_id, expected_version(if_match), data
        )
        return _with_etag(organisation)

    @post(
        "/{org_id:uuid}/accreditations",
        operation_id="recordAccreditation",
        summary="Record an accreditation of this organisation (by the accrediting body)",
        status_code=201,
        **secured("organisations:write", errors=[404, 422]),
    )
    async def accredit(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[AccreditationCreate],
    ) -> Response[Organisation]:
        if not principal.is_operator and not admin_organisations(principal):
            raise Forbidden("only an admin of the accrediting body records an accreditation")
        organisation = await service.add_accreditation(
            request.app.state.db,
            actor(principal),
            org_id,
            data,
            acting_for=admin_organisations(principal),
            operator=principal.is_operator,
        )
        return _with_etag(organisation, 201)

    @delete(
        "/{org_id:uuid}/accreditations/{accreditation_id:uuid}",
        operation_id="withdrawAccreditation",
        summary="Withdraw an accreditation (by the accrediting body)",
        status_code=200,
        **secured("organisations:write", errors=[404, 409]),
    )
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        accreditation_id: FromPath[UUID],
    ) -> Response[Organisation]:
        organisation = await service.withdraw_accreditation(
            request.app.state.db,
            actor(principal),
            org_id,
            accreditation_id,
            acting_for=admin_organisations(principal),
            operator=principal.is_operator,
        )
        return _with_etag(organisation)
