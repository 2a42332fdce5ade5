"""Bitstring status lists, published for verifiers: no token, cacheable, signed by the issuing organisation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.params import FromPath, HeaderParameter

from api.auth import public
from api.routing import get
from domain.credentials import status_lists
from domain.credentials.data_integrity import forms
from domain.credentials.sd_jwt import token_status_list

VC_JWT_MEDIA_TYPE = "application/vc+jwt"
VC_MEDIA_TYPE = "application/vc"
JSON_MEDIA_TYPE = "application/json"
STATUS_LIST_TOKEN_MEDIA_TYPE = token_status_list.MEDIA_TYPE

# Status changes must reach verifiers within minutes; a cached copy lives one minute at most.
_CACHE_CONTROL = "public, max-age=60"

IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(name="If-None-Match", description="The ETag of the copy you hold: 304 if it is still current"),
]

_CREDENTIAL_WITH_PROOF = Schema(
    type=OpenAPIType.OBJECT,
    description=(
        "The BitstringStatusListCredential (W3C VC 2.0) with a DataIntegrityProof (eddsa-rdfc-2022, or "
        "ecdsa-rdfc-2019 for a P-256 key; a JwtProof2020 holding its VC-JWT for an RSA key) by the key that "
        "signed its VC-JWT; "
        "credentialSubject.encodedList is the GZIP-compressed, multibase base64url bitstring"
    ),
    required=["@context", "id", "type", "issuer", "validFrom", "credentialSubject", "proof"],
    properties={
        "@context": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.STRING)),
        "id": Schema(type=OpenAPIType.STRING, description="The status list's URL"),
        "type": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.STRING)),
        "issuer": Schema(type=OpenAPIType.STRING, description="The DID of the organisation that keeps the list"),
        "validFrom": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME),
        "credentialSubject": Schema(type=OpenAPIType.OBJECT, description="The list: statusPurpose and encodedList"),
        "proof": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(type=OpenAPIType.OBJECT),
            description=(
                "One proof: a DataIntegrityProof by the key that signed the list's VC-JWT (a JwtProof2020 holding "
                "that VC-JWT for an RSA key)"
            ),
        ),
    },
)


_STATUS_LIST_TOKEN = Schema(
    type=OpenAPIType.STRING,
    description=(
        "The IETF Status List Token (draft-ietf-oauth-status-list) of a revocation list's slots: a JWT, header "
        "typ statuslist+jwt, claims iss (the awarding body's SD-JWT VC issuer URL, whose /.well-known/jwt-vc-issuer "
        "metadata holds the key), sub (this URL), iat, exp, ttl and status_list {bits: 2, lst}; 0 VALID, "
        "1 INVALID (revoked, or co-signature refused or withdrawn), 2 SUSPENDED"
    ),
)


@dataclass
class _StatusListOperation(Operation):
    """Documents the JSON forms beside the VC-JWT: Litestar 2 describes one media type per response."""

    def __post_init__(self) -> None:
        success = (self.responses or {}).get("200")
        content = getattr(success, "content", None)
        if content is not None:
            for media_type in (VC_MEDIA_TYPE, JSON_MEDIA_TYPE):
                content[media_type] = OpenAPIMediaType(schema=_CREDENTIAL_WITH_PROOF)
            content[STATUS_LIST_TOKEN_MEDIA_TYPE] = OpenAPIMediaType(schema=_STATUS_LIST_TOKEN)


def public_with_not_modified() -> dict[str, Any]:
    spec = public(errors=[400, 404])
    not_modified = ResponseSpec(data_container=None, description="The copy named by If-None-Match is current")
    return {**spec, "responses": {**spec["responses"], 304: not_modified}}


class StatusListController(Controller):
    path = "/status-lists"
    tags = ["Credential status"]

    @get(
        "/{list_id:uuid}",
        operation_id="getStatusList",
        summary="A signed Bitstring Status List credential (revocation or suspension) of an issuing organisation",
        description=(
            "No token needed. The VC-JWT (application/vc+jwt) by default; with Accept: application/vc or "
            "application/json, the credential JSON with its DataIntegrityProof. Signed by the organisation's "
            "key (see its jwks.json); index 0 is the most significant bit of the first byte. A revocation list, "
            "the one credentials name, has a credential's bit set while it is revoked or suspended (or its "
            "co-signature was refused or withdrawn); a suspension list has the suspension bits alone. With "
            "Accept: application/statuslist+jwt, a revocation list's URL serves the IETF Status List Token of the "
            "same slots (the `status.status_list.uri` of SD-JWT VCs; 404 at a suspension list's URL)."
        ),
        media_type=VC_JWT_MEDIA_TYPE,
        response_description="The signed status list credential",
        response_headers=[
            ResponseHeader(
                name="ETag",
                value='W/"v1"',
                description="Weak; changes when the list's bits change. Send it back in If-None-Match.",
                documentation_only=True,
            ),
            ResponseHeader(name="Cache-Control", value=_CACHE_CONTROL, documentation_only=True),
        ],
        operation_class=_StatusListOperation,
        **public_with_not_modified(),
    )
    async def read(
        self, request: Request[Any, Any, Any], list_id: FromPath[UUID], if_none_match: IfNoneMatch = None
    ) -> Response[bytes]:
        settings = request.app.state.settings
        media_type = request.accept.best_match(
            [VC_JWT_MEDIA_TYPE, VC_MEDIA_TYPE, JSON_MEDIA_TYPE, STATUS_LIST_TOKEN_MEDIA_TYPE], VC_JWT_MEDIA_TYPE
        )
        if media_type == STATUS_LIST_TOKEN_MEDIA_TYPE:
            return await _status_list_token(request, list_id, if_none_match)
        async with request.app.state.db.connection() as conn:
            signed = await status_lists.signed_status_list(
                conn, list_id, public_url=settings.public_url, master_key=settings.master_key
            )
        tag = f'W/"v{signed.version}"' if media_type == VC_JWT_MEDIA_TYPE else f'W/"v{signed.version}-json"'
        headers = {"ETag": tag, "Cache-Control": _CACHE_CONTROL, "Vary": "Accept"}
        if if_none_match is not None and matches_etag(if_none_match, tag):
            return Response(b"", status_code=304, headers=headers)
        if media_type == VC_JWT_MEDIA_TYPE:
            return Response(signed.jwt.encode(), media_type=media_type, headers=headers)
        with_proof = await forms.status_list_with_proof(
            request.app.state.db,
            signed.jwt,
            signed.organisation_id,
            master_key=settings.master_key,
            public_url=settings.issuer,
        )
        return Response(msgspec.json.encode(with_proof), media_type=media_type, headers=headers)


async def _status_list_token(
    request: Request[Any, Any, Any], list_id: UUID, if_none_match: str | None
) -> Response[bytes]:
    """The Status List Token; its ETag changes with every new signature (a token re-signed before it
    expires is a new copy even when the bits are the same)."""
    settings = request.app.state.settings
    async with request.app.state.db.connection() as conn:
        token = await token_status_list.status_list_token(
            conn, list_id, public_url=settings.issuer, master_key=settings.master_key
        )
    signature = token.jwt.rsplit(".", 1)[1]
    tag = f'W/"v{token.version}-token-{signature[:16]}"'
    headers = {"ETag": tag, "Cache-Control": _CACHE_CONTROL, "Vary": "Accept"}
    if if_none_match is not None and matches_etag(if_none_match, tag):
        return Response(b"", status_code=304, headers=headers)
    return Response(token.jwt.encode(), media_type=STATUS_LIST_TOKEN_MEDIA_TYPE, headers=headers)


def matches_etag(if_none_match: str, tag: str) -> bool:
    """RFC 9110 weak comparison of ``If-None-Match`` (a list of tags, or ``*``) with the current tag."""
    opaque = tag.removeprefix("W/")
    candidates = [t.strip() for t in if_none_match.split(",")]
    return any(c == "*" or c.removeprefix("W/") == opaque for c in candidates)
