"""Invitations to an organisation, and its second-factor policy (its admins)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from api.auth import public, secured
from api.http import IdempotencyKeyHeader, actor, idempotency_key
from api.observability import request_id_var
from api.ratelimit import enforce
from api.routing import get, post, put
from domain.db import Database
from domain.errors import NotFound
from domain.oauth.principals import Principal
from domain.organisations import invitations
from domain.organisations.invitations import Invitation, InvitationCreate, InvitationPage
from domain.organisations.models import Member
from domain.structs import Input, Model
from domain.writes import write


def _admin(*errors: int) -> dict[str, Any]:
    return secured("organisations:write", roles=["admin"], member_of_path_org=True, errors=[404, *errors])


class InvitationController(Controller):
    path = "/organisations/{org_id:uuid}/invitations"
    tags = ["Members"]

    @post(
        "/",
        operation_id="createInvitation",
        summary="Invite a person by e-mail with roles (its admins); the link is mailed, never returned",
        status_code=201,
        **_admin(409, 422),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[InvitationCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[Invitation]:
        settings = request.app.state.settings
        key = await idempotency_key(request, principal, idempotency_key_header)
        created = await invitations.create_invitation(
            request.app.state.db,
            actor(principal),
            org_id,
            data,
            public_url=settings.issuer,
            ttl=settings.invitation_ttl,
            idempotency=key,
        )
        return Response(
            created, status_code=201, headers={"Location": f"/organisations/{org_id}/invitations/{created.id}"}
        )

    @get("/", operation_id="listInvitations", summary="The organisation's invitations, newest first", **_admin())
    async def list(self, request: Request[Any, Any, Any], org_id: FromPath[UUID]) -> InvitationPage:
        return await invitations.list_invitations(request.app.state.db, org_id)

    @get("/{invitation_id:uuid}", operation_id="getInvitation", summary="Read an invitation", **_admin())
    async def read(
        self, request: Request[Any, Any, Any], org_id: FromPath[UUID], invitation_id: FromPath[UUID]
    ) -> Invitation:
        return await invitations.get_invitation(request.app.state.db, org_id, invitation_id)

    @post(
        "/{invitation_id:uuid}/revocation",
        operation_id="revokeInvitation",
        summary="Revoke an invitation: its link stops working",
        status_code=200,
        **_admin(409),
    )
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        invitation_id: FromPath[UUID],
    ) -> Invitation:
        return await invitations.revoke_invitation(request.app.state.db, actor(principal), org_id, invitation_id)

    @post(
        "/{invitation_id:uuid}/resending",
        operation_id="resendInvitation",
        summary="Send the invitation again with a new link and expiry (the old link stops working)",
        status_code=200,
        **_admin(409),
    )
    async def resend(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        invitation_id: FromPath[UUID],
    ) -> Invitation:
        settings = request.app.state.settings
        return await invitations.resend_invitation(
            request.app.state.db,
            actor(principal),
            org_id,
            invitation_id,
            public_url=settings.issuer,
            ttl=settings.invitation_ttl,
        )


class InvitationAcceptance(Input):
    password: Annotated[
        str, Meta(min_length=1, max_length=1000, description="A new password, or the one of the login you have")
    ]


class InvitationAcceptanceController(Controller):
    path = "/invitations"
    tags = ["Members"]

    @post(
        "/{token:str}/acceptance",
        operation_id="acceptInvitation",
        summary="Accept an invitation with the token from its link: choose a password, or give your login's",
        status_code=200,
        **public(errors=[400, 401, 404, 422, 429]),
    )
    async def accept(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: JSONBody[InvitationAcceptance]
    ) -> Member:
        state = request.app.state
        address = request.client.host if request.client else "unknown"
        await enforce(state.redis, "invitation:ip", address, state.settings.login_rate_limit, fail_open=False)
        return await invitations.accept(state.db, request_id_var.get(), token, data.password)


SecondFactorRole = Annotated[str, Meta(pattern="^(signatory|admin)$")]


class SecondFactorPolicy(Model):
    """Which roles of the organisation's members need a second factor (TOTP) in the sign-in behind their
    token to co-sign, revoke, or rotate signing keys for it."""

    required_for: list[SecondFactorRole]


class SecondFactorPolicyUpdate(Input):
    required_for: Annotated[list[SecondFactorRole], Meta(description='e.g. ["signatory", "admin"]; [] for none')]


async def _policy(db: Database, organisation_id: UUID) -> SecondFactorPolicy:
    async with db.connection() as conn:
        roles = await conn.fetchval("SELECT second_factor_roles FROM organisations WHERE id = $1", organisation_id)
    if roles is None:
        raise NotFound(f"there is no organisation {organisation_id}")
    return SecondFactorPolicy(required_for=sorted(roles))


class SecondFactorPolicyController(Controller):
    path = "/organisations/{org_id:uuid}/second-factor-policy"
    tags = ["Members"]

    @get(
        "/",
        operation_id="getSecondFactorPolicy",
        summary="Which roles need a second factor to sign, revoke or rotate keys",
        **secured("organisations:read", member_of_path_org=True, errors=[404]),
    )
    async def read(self, request: Request[Any, Any, Any], org_id: FromPath[UUID]) -> SecondFactorPolicy:
        return await _policy(request.app.state.db, org_id)

    @put(
        "/",
        operation_id="setSecondFactorPolicy",
        summary="Require a second factor of signatories and/or admins (its admins)",
        **_admin(422),
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[SecondFactorPolicyUpdate],
    ) -> SecondFactorPolicy:
        roles = sorted(set(data.required_for))
        async with write(request.app.state.db, actor(principal)) as w:
            before = await w.conn.fetchval(
                "UPDATE organisations o SET second_factor_roles = $2 FROM organisations old "
                "WHERE o.id = $1 AND old.id = o.id RETURNING old.second_factor_roles",
                org_id,
                roles,
            )
            if before is None:
                raise NotFound(f"there is no organisation {org_id}")
            await w.audit(
                "organisation.second_factor_policy_set", "organisation", org_id, org_id, {"from": before, "to": roles}
            )
        return SecondFactorPolicy(required_for=roles)
