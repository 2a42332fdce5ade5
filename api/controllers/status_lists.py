"""Bitstring status lists, published for verifiers: no token, cacheable, signed by the issuing organisation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.params import FromPath, HeaderParameter

from api.auth import public
from domain.credentials import status_lists
from domain.credentials.data_integrity import forms

VC_JWT_MEDIA_TYPE = "application/vc+jwt"
VC_MEDIA_TYPE = "application/vc"
JSON_MEDIA_TYPE = "application/json"

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


@dataclass
class _StatusListOperation(Operation):
    """Documents the JSON forms beside the VC-JWT: Litestar 2 describes one media type per response."""

    def __post_init__(self) -> None:
        success = (self.responses or {}).get("200")
        content = getattr(success, "content", None)
        if content is not None:
            for media_type in (VC_MEDIA_TYPE, JSON_MEDIA_TYPE):
                content[media_type] = OpenAPIMediaType(schema=_CREDENTIAL_WITH_PROOF)


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
            "co-signature was refused or withdrawn); a suspension list has the suspension bits alone."
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
        async with request.app.state.db.connection() as conn:
            signed = await status_lists.signed_status_list(
                conn, list_id, public_url=settings.public_url, master_key=settings.master_key
            )
        media_type = request.accept.best_match([VC_JWT_MEDIA_TYPE, VC_MEDIA_TYPE, JSON_MEDIA_TYPE], VC_JWT_MEDIA_TYPE)
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


def matches_etag(if_none_match: str, tag: str) -> bool:
    """RFC 9110 weak comparison of ``If-None-Match`` (a list of tags, or ``*``) with the current tag."""
    opaque = tag.removeprefix("W/")
    candidates = [t.strip() for t in if_none_match.split(",")]
    return any(c == "*" or c.removeprefix("W/") == opaque for c in candidates)
