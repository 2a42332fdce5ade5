"""Credentials: read them in every signed form, co-sign or refuse, revoke, suspend, reinstate,
re-issue, and hold or release issuing."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import secured
from api.errors import signed_download
from api.http import Cursor, IdempotencyKeyHeader, Limit, idempotency_key
from api.routing import delete, get, post, put
from domain.credentials import service
from domain.credentials.data_integrity import forms
from domain.credentials.models import (
    BatchCosign,
    BatchResult,
    Credential,
    CredentialPage,
    CredentialState,
    IssuingHold,
    IssuingHoldList,
    OptionalReason,
    ReasonInput,
    ReleaseResult,
)
from domain.oauth.principals import Principal
from domain.outbox import HandlerContext
from domain.scopes import Role

VC_JWT_MEDIA_TYPE = "application/vc+jwt"
SIGNATORY: list[Role] = ["signatory"]
ISSUER_ROLES: list[Role] = ["admin", "assessor", "signatory"]


def context(request: Request[Any, Any, Any]) -> HandlerContext:
    settings = request.app.state.settings
    return HandlerContext(master_key=settings.master_key, public_url=settings.issuer)


def public_url(request: Request[Any, Any, Any]) -> str:
    return str(request.app.state.settings.issuer)


class CredentialController(Controller):
    path = "/credentials/{credential_id:uuid}"
    tags = ["Credentials"]

    @get(
        "/",
        operation_id="getCredential",
        summary="A credential's record: state, signatures, validity and the Open Badges 3.0 JSON",
        **secured("credentials:read", errors=[404]),
    )
    async def read(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], credential_id: FromPath[UUID]
    ) -> Credential:
        return await service.get_credential(request.app.state.db, principal, credential_id, public_url(request))

    @get(
        "/vc-jwt",
        operation_id="getCredentialVcJwt",
        summary="The credential as a VC-JWT (compact JWS signed by the awarding body)",
        media_type=VC_JWT_MEDIA_TYPE,
        **signed_download(secured("credentials:read", errors=[404, 409])),
    )
    async def vc_jwt(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], credential_id: FromPath[UUID]
    ) -> Response[str]:
        """VC-JOSE-COSE and the Open Badges 3.0 JWT profile: the payload is the credential with the registered
        claims ``iss``, ``jti``, ``sub`` (when the subject has an id), ``nbf``, ``iat`` and ``exp`` (when it has
        a ``validUntil``) taken from it; the header's ``kid`` is the signing key's DID URL ``{did}#key-{kid}``,
        a verification method of the awarding body's ``did.json``."""
        row = await service.signed_forms(request.app.state.db, principal, credential_id)
        return Response(service.vc_jwt(row), media_type=VC_JWT_MEDIA_TYPE)

    @get(
        "/jws",
        operation_id="getCredentialJwsJson",
        summary="The credential as a JWS JSON General Serialization: every signature over one payload",
        **signed_download(secured("credentials:read", errors=[404, 409])),
    )
    async def jws(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], credential_id: FromPath[UUID]
    ) -> dict[str, Any]:
        return service.jws_json(await service.signed_forms(request.app.state.db, principal, credential_id))

    @get(
        "/json",
        operation_id="getCredentialJson",
        summary="The credential JSON with its proof set (one DataIntegrityProof per signature, eddsa-rdfc-2022)",
        **signed_download(secured("credentials:read", errors=[404, 409])),
    )
    async def json_with_proof(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], credential_id: FromPath[UUID]
    ) -> dict[str, Any]:
        row = await service.signed_forms(request.app.state.db, principal, credential_id)
        settings = request.app.state.settings
        return await forms.json_with_proofs(
            request.app.state.db, row, master_key=settings.master_key, public_url=settings.issuer
        )

    @post(
        "/cosignature",
        operation_id="cosignCredential",
        summary="Co-sign a credential awaiting the caller's organisation (a signatory of the co-signer)",
        status_code=200,
        **secured("credentials:cosign", errors=[404, 409, 422]),
    )
    async def cosign(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        credential_id: FromPath[UUID],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Credential:
        key = await idempotency_key(request, principal, idempotency_key_header)
        return await service.cosign(
            request.app.state.db,
            principal,
            credential_id,
            context(request),
            public_url=public_url(request),
            idempotency=key,
            dispatcher=request.app.state.jobs,
        )

    @post(
        "/cosignature-refusal",
        operation_id="refuseCosignature",
        summary="Refuse to co-sign, with a reason the provider and awarding body read",
        status_code=200,
        **secured("credentials:cosign", errors=[404, 409, 422]),
    )
    async def refuse(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        credential_id: FromPath[UUID],
        data: JSONBody[ReasonInput],
    ) -> Credential:
        return await service.refuse_cosignature(
            request.app.state.db,
            principal,
            credential_id,
            data.reason,
            public_url=public_url(request),
            dispatcher=request.app.state.jobs,
        )

    @post(
        "/revocation",
        operation_id="revokeCredential",
        summary="Revoke for good (the awarding body), or withdraw the caller's co-signature (the co-signer)",
        status_code=200,
        **secured("credentials:revoke", errors=[404, 409, 422]),
    )
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        credential_id: FromPath[UUID],
        data: JSONBody[ReasonInput],
    ) -> Credential:
        return await service.revoke(
            request.app.state.db,
            principal,
            credential_id,
            data.reason,
            public_url=public_url(request),
            dispatcher=request.app.state.jobs,
        )

    @post(
        "/suspension",
        operation_id="suspendCredential",
        summary="Suspend until reinstated (the awarding body)",
        status_code=200,
        **secured("credentials:revoke", errors=[404, 409, 422]),
    )
    async def suspend(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        credential_id: FromPath[UUID],
        data: JSONBody[ReasonInput],
    ) -> Credential:
        return await service.set_suspended(
            request.app.state.db,
            principal,
            credential_id,
            True,
            data.reason,
            public_url=public_url(request),
            dispatcher=request.app.state.jobs,
        )

    @delete(
        "/suspension",
        operation_id="reinstateCredential",
        summary="Reinstate a suspended credential (the awarding body)",
        status_code=200,
        **secured("credentials:revoke", errors=[404, 409]),
    )
    async def reinstate(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], credential_id: FromPath[UUID]
    ) -> Credential:
        return await service.set_suspended(
            request.app.state.db,
            principal,
            credential_id,
            False,
            None,
            public_url=public_url(request),
            dispatcher=request.app.state.jobs,
        )

    @post(
        "/reissue",
        operation_id="reissueCredential",
        summary="Issue a new credential for the same decision; this one is revoked with the reason given",
        status_code=201,
        **secured("credentials:issue", errors=[404, 409, 422]),
    )
    async def reissue(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        credential_id: FromPath[UUID],
        data: JSONBody[ReasonInput],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[Credential]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        created = await service.reissue(
            request.app.state.db,
            principal,
            credential_id,
            data.reason,
            context(request),
            public_url=public_url(request),
            idempotency=key,
            dispatcher=request.app.state.jobs,
        )
        return Response(created, status_code=201, headers={"Location": f"/credentials/{created.id}"})

    @post(
        "/release",
        operation_id="releaseCredential",
        summary="Sign and issue one held credential now (the assessing provider)",
        status_code=200,
        **secured("credentials:issue", errors=[404, 409]),
    )
    async def release(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], credential_id: FromPath[UUID]
    ) -> Credential:
        return await service.release_one(
            request.app.state.db,
            principal,
            credential_id,
            context(request),
            public_url=public_url(request),
            dispatcher=request.app.state.jobs,
        )


class OrganisationCredentialController(Controller):
    path = "/organisations/{org_id:uuid}"
    tags = ["Credentials"]

    @get(
        "/credentials",
        operation_id="listOrganisationCredentials",
        summary="Credentials the organisation awarded, assessed or co-signs, newest first",
        **secured("credentials:read", member_of_path_org=True, errors=[404, 422]),
    )
    async def list(
        self,
        request: Request[Any, Any, Any],
        org_id: FromPath[UUID],
        credential_state: Annotated[CredentialState | None, QueryParameter(name="state")] = None,
        learner_id: Annotated[UUID | None, QueryParameter(name="learnerId")] = None,
        programme_id: Annotated[UUID | None, QueryParameter(name="programmeId")] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> CredentialPage:
        return await service.list_credentials(
            request.app.state.db,
            org_id,
            state=credential_state,
            learner_id=learner_id,
            programme_id=programme_id,
            cursor=cursor,
            limit=limit,
            public_url=public_url(request),
        )

    @get(
        "/cosignature-queue",
        operation_id="listCosignatureQueue",
        summary="Credentials waiting for this organisation's co-signature, oldest first",
        **secured("credentials:cosign", roles=SIGNATORY, member_of_path_org=True, errors=[404, 422]),
    )
    async def queue(
        self,
        request: Request[Any, Any, Any],
        org_id: FromPath[UUID],
        programme_id: Annotated[UUID | None, QueryParameter(name="programmeId")] = None,
        provider_id: Annotated[UUID | None, QueryParameter(name="providerId")] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> CredentialPage:
        return await service.cosign_queue(
            request.app.state.db,
            org_id,
            programme_id=programme_id,
            provider_id=provider_id,
            cursor=cursor,
            limit=limit,
            public_url=public_url(request),
        )

    @post(
        "/cosignatures",
        operation_id="cosignCredentials",
        summary="Co-sign a batch of credentials; each is signed or refused on its own",
        status_code=200,
        **secured("credentials:cosign", roles=SIGNATORY, member_of_path_org=True, errors=[404, 422]),
    )
    async def cosign_batch(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[BatchCosign],
    ) -> BatchResult:
        return await service.cosign_batch(
            request.app.state.db,
            principal,
            org_id,
            data.credential_ids,
            context(request),
            dispatcher=request.app.state.jobs,
        )

    @get(
        "/issuing-holds",
        operation_id="listIssuingHolds",
        summary="Programmes whose new credentials the provider holds",
        **secured("credentials:read", member_of_path_org=True, errors=[404]),
    )
    async def holds(self, request: Request[Any, Any, Any], org_id: FromPath[UUID]) -> IssuingHoldList:
        return await service.holds(request.app.state.db, org_id)

    @put(
        "/issuing-holds/{programme_id:uuid}",
        operation_id="holdIssuing",
        summary="Hold issuing for a programme: its new credentials wait, unsigned, until released",
        **secured("credentials:issue", roles=ISSUER_ROLES, member_of_path_org=True, errors=[404, 422]),
    )
    async def hold(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        programme_id: FromPath[UUID],
        data: JSONBody[OptionalReason],
    ) -> IssuingHold:
        return await service.hold(request.app.state.db, principal, org_id, programme_id, data.reason)

    @delete(
        "/issuing-holds/{programme_id:uuid}",
        operation_id="releaseIssuingHold",
        summary="Lift a hold: what it held is signed and issued",
        status_code=200,
        **secured("credentials:issue", roles=ISSUER_ROLES, member_of_path_org=True, errors=[404]),
    )
    async def release(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        programme_id: FromPath[UUID],
    ) -> ReleaseResult:
        return await service.release_hold(
            request.app.state.db, principal, org_id, programme_id, context(request), dispatcher=request.app.state.jobs
        )
