"""Members of an organisation and their roles."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.auth import secured
from api.http import Cursor, IdempotencyKeyHeader, IfMatch, Limit, actor, etag, expected_version, idempotency_key
from api.routing import delete, get, patch, post
from domain.oauth.principals import Principal
from domain.organisations import members
from domain.organisations.models import Member, MemberCreate, MemberPage, MemberUpdate


def _with_etag(member: Member, status_code: int = 200) -> Response[Member]:
    headers = {"ETag": etag(member.version)}
    if status_code == 201:
        headers["Location"] = f"/organisations/{member.organisation_id}/members/{member.person_id}"
    return Response(member, status_code=status_code, headers=headers)


class MemberController(Controller):
    path = "/organisations/{org_id:uuid}/members"
    tags = ["Members"]

    @get(
        "/",
        operation_id="listMembers",
        summary="List the organisation's members (its members only)",
        **secured("organisations:read", member_of_path_org=True, errors=[404, 422]),
    )
    async def list(
        self, request: Request[Any, Any, Any], org_id: FromPath[UUID], cursor: Cursor = None, limit: Limit = 20
    ) -> MemberPage:
        return await members.list_members(request.app.state.db, org_id, cursor=cursor, limit=limit)

    @post(
        "/",
        operation_id="addMember",
        summary="Add a person to the organisation with roles (its admins); one without a login is mailed an invitation",
        status_code=201,
        **secured("organisations:write", roles=["admin"], member_of_path_org=True, errors=[404, 409, 422]),
    )
    async def add(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[MemberCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[Member]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        settings = request.app.state.settings
        member = await members.add_member(
            request.app.state.db,
            actor(principal),
            org_id,
            data,
            key,
            invite_url=settings.issuer,  # a person without a password gets an invitation to choose one
            invitation_ttl=settings.invitation_ttl,
        )
        return _with_etag(member, 201)

    @get(
        "/{person_id:uuid}",
        operation_id="getMember",
        summary="Read a membership",
        **secured("organisations:read", member_of_path_org=True, errors=[404]),
    )
    async def read(
        self, request: Request[Any, Any, Any], org_id: FromPath[UUID], person_id: FromPath[UUID]
    ) -> Response[Member]:
        return _with_etag(await members.get_member(request.app.state.db, org_id, person_id))

    @patch(
        "/{person_id:uuid}",
        operation_id="updateMember",
        summary="Change a member's roles (its admins; needs If-Match)",
        **secured("organisations:write", roles=["admin"], member_of_path_org=True, errors=[404, 409, 412, 428]),
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        person_id: FromPath[UUID],
        data: JSONBody[MemberUpdate],
        if_match: IfMatch = None,
    ) -> Response[Member]:
        member = await members.update_member(
            request.app.state.db, actor(principal), org_id, person_id, expected_version(if_match), data
        )
        return _with_etag(member)

    @delete(
        "/{person_id:uuid}",
        operation_id="removeMember",
        summary="Remove a member (its admins; needs If-Match; the last admin stays)",
        **secured("organisations:write", roles=["admin"], member_of_path_org=True, errors=[404, 409, 412, 428]),
    )
    async def remove(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        person_id: FromPath[UUID],
        if_match: IfMatch = None,
    ) -> None:
        await members.remove_member(
            request.app.state.db, actor(principal), org_id, person_id, expected_version(if_match)
        )
