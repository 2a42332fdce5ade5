"""Issuing organisations' signing keys: admins create and rotate them; anyone reads the public parts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.auth import public, secured
from api.http import IdempotencyKeyHeader, actor, idempotency_key
from api.routing import get, post
from domain.credentials import keys
from domain.oauth.principals import Principal

# Verifiers reload sooner anyway when they meet a kid they do not know.
_PUBLIC_CACHE = {"Cache-Control": "public, max-age=300"}


def _key_admin() -> dict[str, Any]:
    """Creating and rotating keys: an admin of the organisation, with a token that may issue credentials."""
    return secured("credentials:issue", roles=["admin"], member_of_path_org=True, errors=[404, 409, 422])


class IssuerKeyController(Controller):
    path = "/organisations/{org_id:uuid}"
    tags = ["Issuer keys"]

    @post(
        "/signing-keys",
        operation_id="createSigningKey",
        summary="Create the organisation's first credential signing key (Ed25519 as EdDSA unless asked otherwise)",
        status_code=201,
        **_key_admin(),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[keys.SigningKeyOptions],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[keys.IssuerSigningKey]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        created = await keys.create_key(
            request.app.state.db,
            actor(principal),
            org_id,
            data.alg or "Ed25519",
            data.header_alg,
            master_key=request.app.state.settings.master_key,
            idempotency=key,
        )
        return Response(created, status_code=201)

    @post(
        "/signing-keys/rotation",
        operation_id="rotateSigningKey",
        summary="Replace the current signing key; the old one stays published so its signatures verify",
        status_code=201,
        **_key_admin(),
    )
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[keys.SigningKeyOptions],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[keys.IssuerSigningKey]:
        principal.require_second_factor(org_id, "rotate its signing key")
        key = await idempotency_key(request, principal, idempotency_key_header)
        created = await keys.rotate_key(
            request.app.state.db,
            actor(principal),
            org_id,
            data.alg,
            data.header_alg,
            master_key=request.app.state.settings.master_key,
            idempotency=key,
        )
        return Response(created, status_code=201)

    @get(
        "/signing-keys",
        operation_id="listSigningKeys",
        summary="List the organisation's signing keys, current first, with their status (its members)",
        **secured("organisations:read", member_of_path_org=True, errors=[404]),
    )
    async def list(self, request: Request[Any, Any, Any], org_id: FromPath[UUID]) -> keys.IssuerSigningKeyList:
        async with request.app.state.db.connection() as conn:
            return keys.IssuerSigningKeyList(items=await keys.list_keys(conn, org_id))

    @get(
        "/jwks.json",
        operation_id="getIssuerJwks",
        summary="The organisation's public signing keys (JWKS), retired ones included",
        **public(errors=[400, 404]),
    )
    async def jwks(self, request: Request[Any, Any, Any], org_id: FromPath[UUID]) -> Response[keys.IssuerJsonWebKeySet]:
        async with request.app.state.db.connection() as conn:
            key_set = await keys.published_keys(conn, org_id)
        return Response(keys.IssuerJsonWebKeySet(**key_set), headers=_PUBLIC_CACHE)

    @get(
        "/did.json",
        operation_id="getIssuerDidDocument",
        summary="The organisation's did:web DID document: its published keys as assertion methods",
        **public(errors=[400, 404]),
    )
    async def did_document(self, request: Request[Any, Any, Any], org_id: FromPath[UUID]) -> Response[keys.DidDocument]:
        """Serves ``did:web:<host>:organisations:<org_id>`` (host and any path from the public URL).

        A did:web resolver replaces each ``:`` after ``did:web:`` with ``/``, decodes a ``%3A`` port,
        prefixes ``https://`` and, since the DID has a path, appends ``/did.json``: it fetches
        ``https://<host>/organisations/<org_id>/did.json``, this operation.
        """
        async with request.app.state.db.connection() as conn:
            key_set = await keys.published_keys(conn, org_id)
        did = keys.did_web(request.app.state.settings.public_url, org_id)
        return Response(keys.did_document(did, key_set), headers=_PUBLIC_CACHE)
