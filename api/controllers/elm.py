"""A credential exported in the European Learning Model v3 (Europass Digital Credentials), unsigned."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from api.auth import secured
from domain.credentials import service
from domain.credentials.elm import ELM_MEDIA_TYPE, european_learning_credential
from domain.oauth.principals import Principal


class ElmController(Controller):
    path = "/credentials/{credential_id:uuid}"
    tags = ["Credentials"]

    @get(
        "/elm",
        operation_id="getCredentialElm",
        summary="The credential as a European Learning Model v3 EuropeanDigitalCredential (JSON-LD, unsigned)",
        media_type=ELM_MEDIA_TYPE,
        **secured("credentials:read", errors=[404, 409]),
    )
    async def elm(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], credential_id: FromPath[UUID]
    ) -> Response[dict[str, Any]]:
        """Every EU Annex I element of the signed Open Badges 3.0 credential, in ELM v3 terms (see
        ``docs/annex-i.md``). It carries no proof: the signed forms are ``/vc-jwt``, ``/jws`` and ``/json``."""
        row = await service.signed_forms(request.app.state.db, principal, credential_id)
        document = european_learning_credential(msgspec.json.decode(row["payload"]))
        return Response(document, media_type=ELM_MEDIA_TYPE)
