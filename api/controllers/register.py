"""The public register of published programmes and qualifications: no token needed."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath, HeaderParameter, QueryParameter

from api.auth import public
from api.controllers.status_lists import IfNoneMatch, matches_etag, public_with_not_modified
from api.http import Cursor, Limit, VersionNumber
from api.routing import get
from domain.designs import europass, loq, register, service
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


IfModifiedSince = Annotated[
    str | None,
    HeaderParameter(name="If-Modified-Since", description="304 when the register has not changed since then"),
]
_DATASET_CACHE_CONTROL = "public, max-age=300"


def _not_modified(if_none_match: str | None, if_modified_since: str | None, tag: str, changed: datetime | None) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when sent; else If-Modified-Since (a date that cannot be read is
    ignored)."""
    if if_none_match is not None:
        return matches_etag(if_none_match, tag)
    if if_modified_since is None or changed is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return changed.replace(microsecond=0) <= since


class EuropassController(Controller):
    path = "/register/europass"
    tags = ["Public register"]

    @get(
        "/loq",
        operation_id="getEuropassLoqDataset",
        summary="The public register as a Europass dataset (European Learning Model, LOQ profile), for harvesting",
        description=(
            "Every programme in the public register (its latest published version; withdrawn ones leave) as an "
            "ELM `LearningOpportunity` with its `LearningAchievementSpecification` (units, learning outcomes with "
            "ESCO skills, EQF, ISCED-F, ECTS and hours, languages, mode, providers, awarding body, quality "
            "assurance), and every published qualification as a `Qualification`: JSON-LD in the Commission's "
            "edc-ap context, valid against its LOQ SHACL shapes. Identifiers are the programme's or "
            "qualification's own (`{register}/programmes/{id}`), the same from one version to the next. "
            "Conditional GETs: send back the ETag in If-None-Match (or the Last-Modified date in "
            "If-Modified-Since) and get 304 while nothing changed."
        ),
        media_type=loq.LOQ_MEDIA_TYPE,
        response_description="The LOQ dataset (JSON-LD)",
        response_headers=[
            ResponseHeader(
                name="ETag", value='"…"', description="Strong; changes with the dataset.", documentation_only=True
            ),
            ResponseHeader(
                name="Last-Modified",
                value="Mon, 07 Dec 2026 10:00:00 GMT",
                description="When the register last changed",
                documentation_only=True,
            ),
            ResponseHeader(name="Cache-Control", value=_DATASET_CACHE_CONTROL, documentation_only=True),
        ],
        **public_with_not_modified(),
    )
    async def loq_dataset(
        self,
        request: Request[Any, Any, Any],
        if_none_match: IfNoneMatch = None,
        if_modified_since: IfModifiedSince = None,
    ) -> Response[dict[str, Any]]:
        dataset = await europass.loq_dataset(request.app.state.db, request.app.state.settings.issuer)
        headers = {"ETag": dataset.etag, "Cache-Control": _DATASET_CACHE_CONTROL}
        if dataset.last_modified is not None:
            headers["Last-Modified"] = format_datetime(dataset.last_modified.astimezone(UTC), usegmt=True)
        if _not_modified(if_none_match, if_modified_since, dataset.etag, dataset.last_modified):
            return Response(None, status_code=304, headers=headers)  # type: ignore[arg-type]  # no body for a 304
        return Response(dataset.document, media_type=loq.LOQ_MEDIA_TYPE, headers=headers)
