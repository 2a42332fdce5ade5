"""The public register of published programmes and qualifications: no token needed."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import FromPath, QueryParameter

from api.auth import public
from api.http import Cursor, Limit, VersionNumber
from domain.designs import register, service
from domain.designs.content import QualityAssuranceType
from domain.designs.models import DesignKind, ProgrammeRegisterView, QualificationRegisterView

Text = Annotated[
    str | None,
    QueryParameter(name="q", max_length=200, description="Words to find, in the language `lang` (web search syntax)"),
]
Language = Annotated[
    str | None,
    QueryParameter(name="lang", pattern=r"^[a-z]{2,3}$", description="Language of `q` and of the texts searched"),
]
Occupation = Annotated[str | None, QueryParameter(description="ESCO occupation URI")]
Isco = Annotated[str | None, QueryParameter(pattern=r"^[0-9]{4}$", description="ISCO-08 code")]
Eqf = Annotated[int | None, QueryParameter(name="eqfLevel", ge=1, le=8)]
Country = Annotated[str | None, QueryParameter(pattern=r"^[A-Z]{2}$", description="Country of the awarding body")]
TaughtIn = Annotated[
    str | None, QueryParameter(name="language", pattern=r"^[a-z]{2,3}$", description="A language of instruction")
]
Provider = Annotated[UUID | None, QueryParameter(description="A delivering VET provider")]
AwardingBody = Annotated[UUID | None, QueryParameter(name="awardingBody")]
QualityAssurance = Annotated[QualityAssuranceType | None, QueryParameter(name="qualityAssurance")]


async def _search(request: Request[Any, Any, Any], kind: DesignKind, **filters: Any) -> register.RegisterPage:
    async with request.app.state.db.connection() as conn:
        return await register.search(conn, kind, **filters)


class RegisterController(Controller):
    path = "/register"
    tags = ["Public register"]

    @get(
        "/programmes",
        operation_id="searchRegisterProgrammes",
        summary="Search published programmes (latest version of each), oldest publication first",
        **public(errors=[400, 422]),
    )
    async def programmes(
        self,
        request: Request[Any, Any, Any],
        text: Text = None,
        lang: Language = None,
        occupation: Occupation = None,
        isco: Isco = None,
        eqf_level: Eqf = None,
        country: Country = None,
        taught_in: TaughtIn = None,
        provider: Provider = None,
        awarding_body: AwardingBody = None,
        quality_assurance: QualityAssurance = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> register.RegisterPage:
        return await _search(
            request,
            "programme",
            text=text,
            language=lang,
            occupation=occupation,
            isco=isco,
            eqf_level=eqf_level,
            country=country,
            taught_in=taught_in,
            provider=provider,
            awarding_body=awarding_body,
            quality_assurance=quality_assurance,
            cursor=cursor,
            limit=limit,
        )

    @get(
        "/qualifications",
        operation_id="searchRegisterQualifications",
        summary="Search published qualifications",
        **public(errors=[400, 422]),
    )
    async def qualifications(
        self,
        request: Request[Any, Any, Any],
        text: Text = None,
        lang: Language = None,
        eqf_level: Eqf = None,
        country: Country = None,
        awarding_body: AwardingBody = None,
        quality_assurance: QualityAssurance = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> register.RegisterPage:
        return await _search(
            request,
            "qualification",
            text=text,
            language=lang,
            occupation=None,
            isco=None,
            eqf_level=eqf_level,
            country=country,
            taught_in=None,
            provider=None,
            awarding_body=awarding_body,
            quality_assurance=quality_assurance,
            cursor=cursor,
            limit=limit,
        )

    @get(
        "/programmes/{design_id:uuid}",
        operation_id="getRegisterProgramme",
        summary="A programme's latest published version: co-authors, approvals, awarding body, units, coverage",
        **public(errors=[400, 404]),
    )
    async def programme(self, request: Request[Any, Any, Any], design_id: FromPath[UUID]) -> ProgrammeRegisterView:
        view = await service.published_view(request.app.state.db, "programme", design_id)
        assert isinstance(view, ProgrammeRegisterView)
        return view

    @get(
        "/programmes/{design_id:uuid}/versions/{number:int}",
        operation_id="getRegisterProgrammeVersion",
        summary="An older published version of a programme",
        **public(errors=[400, 404]),
    )
    async def programme_version(
        self, request: Request[Any, Any, Any], design_id: FromPath[UUID], number: VersionNumber
    ) -> ProgrammeRegisterView:
        view = await service.published_view(request.app.state.db, "programme", design_id, number)
        assert isinstance(view, ProgrammeRegisterView)
        return view

    @get(
        "/qualifications/{design_id:uuid}",
        operation_id="getRegisterQualification",
        summary="A qualification's latest published version",
        **public(errors=[400, 404]),
    )
    async def qualification(
        self, request: Request[Any, Any, Any], design_id: FromPath[UUID]
    ) -> QualificationRegisterView:
        view = await service.published_view(request.app.state.db, "qualification", design_id)
        assert isinstance(view, QualificationRegisterView)
        return view
