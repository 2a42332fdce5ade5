"""SD-JWT VC: what a wallet and a verifier fetch (issuer metadata, type metadata) and the learner's own copy
bound to a wallet key. The Token Status List is served at the status lists' URLs (``status_lists``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.auth import public
from api.controllers.credentials import public_url
from api.controllers.me import NO_STORE, for_person, person_of
from api.routing import get, post
from domain.credentials.sd_jwt import issuance, issuer_metadata, type_metadata
from domain.credentials.sd_jwt.issuer_metadata import JwtVcIssuerMetadata
from domain.errors import NotFound
from domain.oauth.principals import Principal

SD_JWT_MEDIA_TYPE = "application/dc+sd-jwt"
_METADATA_CACHE = {"Cache-Control": "public, max-age=300"}


class JwtVcIssuerController(Controller):
    path = issuer_metadata.WELL_KNOWN
    tags = ["SD-JWT VC"]

    @get(
        "/organisations/{org_id:uuid}",
        operation_id="getJwtVcIssuerMetadata",
        summary="JWT VC Issuer Metadata of an awarding body: the keys that sign its SD-JWT VCs and status lists",
        description=(
            "No token needed. An SD-JWT VC's `iss` is `{API}/organisations/{id}`; its metadata is here, with the "
            "awarding body's JWKS inline (retired keys too); the JWT's `kid` names one of these keys."
        ),
        **public(errors=[400, 404]),
    )
    async def metadata(self, request: Request[Any, Any, Any], org_id: FromPath[UUID]) -> Response[JwtVcIssuerMetadata]:
        async with request.app.state.db.connection() as conn:
            found = await issuer_metadata.metadata(conn, public_url(request), org_id)
        return Response(found, headers=_METADATA_CACHE)


class TypeMetadataController(Controller):
    path = type_metadata.PATH
    tags = ["SD-JWT VC"]

    @get(
        "/{kind:str}",
        operation_id="getSdJwtVcTypeMetadata",
        summary="SD-JWT VC Type Metadata of an achievement type (unit, programme, qualification)",
        description=(
            "No token needed. The `vct` of Guildhall's SD-JWT VCs is this URL; the document names the type per "
            "language and says of each claim whether it is selectively disclosable (`sd`)."
        ),
        **public(errors=[400, 404]),
    )
    async def type_metadata(self, request: Request[Any, Any, Any], kind: FromPath[str]) -> Response[dict[str, Any]]:
        if kind not in type_metadata.KINDS:
            raise NotFound(f"there is no credential type {kind!r}: one of {', '.join(type_metadata.KINDS)}")
        document = type_metadata.document(public_url(request), kind)
        return Response(document, headers=_METADATA_CACHE)


class MySdJwtVcController(Controller):
    path = "/me/credentials"
    tags = ["Me"]

    @post(
        "/{credential_id:uuid}/sd-jwt-vc",
        operation_id="issueMySdJwtVc",
        summary="One of your credentials as an SD-JWT VC bound to your wallet's key (holder binding)",
        description=(
            "Returns the compact SD-JWT (`typ: dc+sd-jwt`, disclosures separated by `~`, trailing `~`) with "
            "`cnf.jwk` = `holderJwk` (an Ed25519 or EC public JWK). Your name, date of birth, results, evidence "
            "and the credential's id are selectively disclosable; the achievement and the awarding body are "
            "always shown. New salts each time. 422 for a key that is private or of another type; 409 for a "
            "credential that is incomplete (type "
            "urn:guildhall:problem:credential-incomplete, with `missing`), revoked, suspended or expired. Wallets "
            "speaking OpenID4VCI get the same through the credential endpoint."
        ),
        status_code=200,
        media_type=SD_JWT_MEDIA_TYPE,
        **for_person("credentials:read", errors=[404, 409, 422], verified=True),
    )
    async def issue(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        credential_id: FromPath[UUID],
        data: JSONBody[issuance.HolderKey],
    ) -> Response[str]:
        settings = request.app.state.settings
        token = await issuance.issue_to_person(
            request.app.state.db,
            person_of(principal),
            credential_id,
            data.holder_jwk,
            public_url=public_url(request),
            master_key=settings.master_key,
        )
        return Response(token, media_type=SD_JWT_MEDIA_TYPE, headers=NO_STORE)
