"""OAuth clients of an organisation, managed by its admins."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.auth import secured
from api.http import Cursor, IdempotencyKeyHeader, Limit, actor, etag, idempotency_key
from api.routing import delete, get, post
from domain.errors import Forbidden
from domain.oauth import clients
from domain.oauth.models import Client, ClientCreate, ClientPage, ClientWithSecret
from domain.oauth.principals import Principal


class ClientController(Controller):
    path = "/organisations/{org_id:uuid}/clients"
    tags = ["Clients"]

    @get(
        "/",
        operation_id="listClients",
        summary="List the organisation's OAuth clients (its admins)",
        **secured("organisations:read", roles=["admin"], member_of_path_org=True, errors=[404, 422]),
    )
    async def list(
        self, request: Request[Any, Any, Any], org_id: FromPath[UUID], cursor: Cursor = None, limit: Limit = 20
    ) -> ClientPage:
        return await clients.list_clients(request.app.state.db, org_id, cursor=cursor, limit=limit)

    @post(
        "/",
        operation_id="createClient",
        summary="Register an OAuth client; the secret is shown once (its admins)",
        status_code=201,
        **secured("organisations:write", roles=["admin"], member_of_path_org=True, errors=[404, 422]),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[ClientCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[ClientWithSecret]:
        if principal.person_id is None and not principal.is_operator:
            # A client cannot mint a client more powerful than itself.
            beyond = sorted(s for s in data.scopes if not principal.has_scope(s))
            if beyond:
                raise Forbidden(f"a client can only grant scopes it holds; it lacks {', '.join(beyond)}")
        key = await idempotency_key(request, principal, idempotency_key_header)
        created = await clients.create_client(request.app.state.db, actor(principal), org_id, data, idempotency=key)
        return Response(
            created,
            status_code=201,
            headers={
                "ETag": etag(created.version),
                "Cache-Control": "no-store",
                "Location": f"/organisations/{org_id}/clients/{created.client_id}",
            },
        )

    @get(
        "/{client_id:str}",
        operation_id="getClient",
        summary="Read an OAuth client (its admins)",
        **secured("organisations:read", roles=["admin"], member_of_path_org=True, errors=[404]),
    )
    async def read(self, request: Request[Any, Any, Any], org_id: FromPath[UUID], client_id: FromPath[str]) -> Client:
        return await clients.get_client(request.app.state.db, org_id, client_id)

    @delete(
        "/{client_id:str}",
        operation_id="disableClient",
        summary="Disable an OAuth client and revoke its tokens at once (its admins)",
        **secured("organisations:write", roles=["admin"], member_of_path_org=True, errors=[404, 409]),
    )
    async def disable(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        client_id: FromPath[str],
    ) -> None:
        await clients.disable_client(request.app.state.db, actor(principal), org_id, client_id)
