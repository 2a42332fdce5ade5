"""A credential exported in the European Learning Model v3 (Europass Digital Credentials), unsigned."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath

from api.auth import secured
from api.controllers.credentials import public_url
from api.errors import signed_download
from api.routing import get
from domain.credentials import service
from domain.credentials.elm import ELM_MEDIA_TYPE
from domain.credentials.elm_sources import elm_document
from domain.oauth.principals import Principal


class ElmController(Controller):
    path = "/credentials/{credential_id:uuid}"
    tags = ["Credentials"]

    @get(
        "/elm",
        operation_id="getCredentialElm",
        summary="The credential as a European Learning Model v3 EuropeanDigitalCredential (JSON-LD, unsigned)",
        media_type=ELM_MEDIA_TYPE,
        **signed_download(secured("credentials:read", errors=[404, 409])),
    )
    async def elm(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], credential_id: FromPath[UUID]
    ) -> Response[dict[str, Any]]:
        """Every EU Annex I element of the signed Open Badges 3.0 credential, in ELM v3 terms (see
        ``docs/annex-i.md``), with every text in every language the programme has it. It carries no proof: the
        signed forms are ``/vc-jwt``, ``/jws`` and ``/json``."""
        row = await service.signed_forms(request.app.state.db, principal, credential_id)
        document = await elm_document(request.app.state.db, row, public_url(request))
        return Response(document, media_type=ELM_MEDIA_TYPE)
