"""The learner's own view: the records a person has claimed, their attempts and credentials (to download
and share), a copy of all their data, and its erasure — nothing of anyone else."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import secured
from api.controllers.credentials import VC_JWT_MEDIA_TYPE, public_url
from api.errors import signed_download
from api.http import Cursor, Limit
from api.routing import get, post
from domain.attempts.models import AttemptPage
from domain.credentials import service, wallet
from domain.credentials.data_integrity import forms
from domain.credentials.elm import ELM_MEDIA_TYPE
from domain.credentials.elm_sources import elm_document
from domain.credentials.wallet import MyCredentialDetail, MyCredentialPage
from domain.errors import Forbidden
from domain.learners import claims, erasure
from domain.learners.claims import LearnerRecordPage
from domain.learners.erasure import ErasureReceipt, ErasureRequest, PersonalData
from domain.oauth.principals import Principal


def person_of(principal: Principal) -> UUID:
    """ "Me" is a person: a client acting on its own has no learner records."""
    if principal.person_id is None:
        raise Forbidden(
            "this needs a person's token (authorization-code flow); a client acting on its own has no learner records"
        )
    return principal.person_id


def require_person(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Runs after the token guard, so that a client's token is refused before its parameters are read."""
    person_of(connection.state.principal)


def require_verified_person(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The wallet opens once the person's e-mail address is verified (the link mailed at their claim)."""
    principal: Principal = connection.state.principal
    person_of(principal)
    if not principal.email_verified:
        raise EmailNotVerified(
            "confirm your e-mail address first: follow the link mailed to you when you claimed your record "
            "(POST /me/email-verification sends a new one)"
        )


class EmailNotVerified(Forbidden):
    title = "E-mail address not verified"


def for_person(*scopes: str, errors: list[int], verified: bool = False) -> dict[str, Any]:
    """``secured()`` for operations on the signed-in person's own data (``verified``: only once their e-mail
    address is verified)."""
    kwargs = secured(*scopes, errors=errors)
    kwargs["guards"] = [*kwargs["guards"], require_verified_person if verified else require_person]
    return kwargs


# Personal data: no cache, proxy or browser history may keep a copy.
NO_STORE = {"Cache-Control": "no-store"}


# camelCase on the wire, like every field of the API.
LearnerFilter = Annotated[
    UUID | None, QueryParameter(name="learnerId", description="Only the attempts of this one of your learner records")
]


class MeController(Controller):
    path = "/me"
    tags = ["Me"]

    @get(
        "/learner-records",
        operation_id="listMyLearnerRecords",
        summary="The learner records you have claimed, at every provider",
        **for_person("assessments:read", errors=[422]),
    )
    async def learner_records(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> LearnerRecordPage:
        return await claims.list_records(request.app.state.db, person_of(principal), cursor=cursor, limit=limit)

    @get(
        "/attempts",
        operation_id="listMyAttempts",
        summary="The attempts of your learner records, oldest first; filter by one of your records",
        **for_person("assessments:read", errors=[422]),
    )
    async def attempts(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        learner_id: LearnerFilter = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> AttemptPage:
        return await claims.list_attempts(
            request.app.state.db, person_of(principal), learner_id=learner_id, cursor=cursor, limit=limit
        )

    @get(
        "/credentials",
        operation_id="listMyCredentials",
        summary="Your signed credentials, at every provider, newest first, with links to download and share",
        **for_person("credentials:read", errors=[422], verified=True),
    )
    async def credentials(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> MyCredentialPage:
        return await wallet.list_mine(
            request.app.state.db, person_of(principal), cursor=cursor, limit=limit, public_url=public_url(request)
        )

    @get(
        "/credentials/{credential_id:uuid}",
        operation_id="getMyCredential",
        summary="One of your credentials, with its signatures and the Open Badges 3.0 JSON as signed",
        **for_person("credentials:read", errors=[404], verified=True),
    )
    async def credential(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], credential_id: FromPath[UUID]
    ) -> MyCredentialDetail:
        return await wallet.get_mine(request.app.state.db, person_of(principal), credential_id, public_url(request))

    @get(
        "/credentials/{credential_id:uuid}/vc-jwt",
        operation_id="getMyCredentialVcJwt",
        summary="One of your credentials as a VC-JWT (compact JWS signed by the awarding body), for a wallet",
        media_type=VC_JWT_MEDIA_TYPE,
        **signed_download(for_person("credentials:read", errors=[404, 409], verified=True)),
    )
    async def vc_jwt(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], credential_id: FromPath[UUID]
    ) -> Response[str]:
        row = await wallet.signed_row(request.app.state.db, person_of(principal), credential_id)
        return Response(service.vc_jwt(row), media_type=VC_JWT_MEDIA_TYPE)

    @get(
        "/credentials/{credential_id:uuid}/jws",
        operation_id="getMyCredentialJwsJson",
        summary="One of your credentials as a JWS JSON General Serialization: every signature over one payload",
        **signed_download(for_person("credentials:read", errors=[404, 409], verified=True)),
    )
    async def jws(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], credential_id: FromPath[UUID]
    ) -> dict[str, Any]:
        return service.jws_json(await wallet.signed_row(request.app.state.db, person_of(principal), credential_id))

    @get(
        "/credentials/{credential_id:uuid}/json",
        operation_id="getMyCredentialJson",
        summary="One of your credentials as JSON with its proof set (one DataIntegrityProof per signature)",
        **signed_download(for_person("credentials:read", errors=[404, 409], verified=True)),
    )
    async def json_with_proof(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], credential_id: FromPath[UUID]
    ) -> dict[str, Any]:
        row = await wallet.signed_row(request.app.state.db, person_of(principal), credential_id)
        settings = request.app.state.settings
        return await forms.json_with_proofs(
            request.app.state.db, row, master_key=settings.master_key, public_url=settings.issuer
        )

    @get(
        "/credentials/{credential_id:uuid}/elm",
        operation_id="getMyCredentialElm",
        summary="One of your credentials in the European Learning Model v3, for Europass (unsigned)",
        media_type=ELM_MEDIA_TYPE,
        **signed_download(for_person("credentials:read", errors=[404, 409], verified=True)),
    )
    async def elm(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], credential_id: FromPath[UUID]
    ) -> dict[str, Any]:
        row = await wallet.signed_row(request.app.state.db, person_of(principal), credential_id)
        return await elm_document(request.app.state.db, row, public_url(request))

    @get(
        "/data",
        operation_id="exportMyData",
        summary="A copy of everything Guildhall holds about you as a learner (GDPR Art. 15 and 20)",
        description=(
            "Your login (e-mail, name), every learner record you have claimed (provider, name, e-mail, date of "
            "birth, identifiers), enrolments, attempts with their decisions, credentials with their Open Badges "
            "JSON, credentials of other issuers you added to your portfolio, and the apps that can act for you "
            "now. Machine-readable JSON."
        ),
        **for_person("assessments:read", "credentials:read", errors=[404]),
    )
    async def export_data(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]
    ) -> Response[PersonalData]:
        exported = await erasure.export(request.app.state.db, person_of(principal), public_url(request))
        return Response(exported, headers=NO_STORE)

    @post(
        "/erasure",
        operation_id="eraseMyData",
        summary="Erase your personal data as a learner (GDPR Art. 17); your login ends with it",
        description=(
            "In one step: your login is closed and every token of yours revoked (this one too); your learner "
            "records lose name, e-mail, date of birth and identifiers; your attempts keep their decisions (the "
            "providers must keep assessment records) but lose notes, evidence locations and simulator "
            "identities; every credential of yours is revoked with the reason \"erased at the learner's "
            'request", so that copies already shared fail verification, and public pages no longer show your '
            "name. The answer says what was done and what is kept, and why. Refused (409) while you are a member "
            "of an organisation."
        ),
        status_code=200,
        **for_person("credentials:revoke", errors=[409, 422]),
    )
    async def erase(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        data: JSONBody[ErasureRequest],
    ) -> Response[ErasureReceipt]:
        receipt = await erasure.erase(
            request.app.state.db,
            principal.actor(),
            person_of(principal),
            data.reason,
            dispatcher=request.app.state.jobs,
        )
        return Response(receipt, headers=NO_STORE)
