"""Occupational profiles: public reference data, written by hand or imported from ESCO's CSV files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, KwargDefinition, MultipartBody, QueryParameter

from api.auth import public, secured
from api.http import (
    Cursor,
    IdempotencyKeyHeader,
    IfMatch,
    Limit,
    VersionNumber,
    actor,
    etag,
    expected_version,
    idempotency_key,
)
from api.routing import get, post
from domain.oauth.principals import Principal
from domain.profiles import esco, service
from domain.profiles.models import (
    ESCO_OCCUPATION_PATTERN,
    ImportResult,
    ProfileCreate,
    ProfileVersion,
    ProfileVersionPage,
)

OccupationFilter = Annotated[
    str | None,
    QueryParameter(
        pattern=ESCO_OCCUPATION_PATTERN, description="Only profiles of this ESCO occupation (its URI)", required=False
    ),
]
IscoFilter = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[0-9]{1,4}$",
        description="Only profiles in this ISCO-08 group: a unit group (7212) or a prefix of one (7, 72, 721)",
        required=False,
    ),
]
TitleFilter = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=200,
        description="Only profiles whose title contains this text (any language, case-insensitive)",
        required=False,
    ),
]


def _described(text: str) -> KwargDefinition:
    return KwargDefinition(description=text)


@dataclass
class EscoImportForm:
    """ESCO's CSV files for one language, and the occupations to import from them."""

    occupations: Annotated[UploadFile, _described("ESCO's occupations_<lang>.csv")]
    skills: Annotated[UploadFile, _described("ESCO's skills_<lang>.csv")]
    relations: Annotated[UploadFile, _described("ESCO's occupationSkillRelations_<lang>.csv")]
    occupation: Annotated[
        list[str],
        KwargDefinition(
            min_items=1, description="The ESCO occupation URIs to import; repeat the field for several occupations"
        ),
    ]
    language: Annotated[str, _described("The files' language (ISO 639), recorded as the title language")] = "en"


def _with_etag(
    version: ProfileVersion, status_code: int = 200, location: str | None = None
) -> Response[ProfileVersion]:
    headers = {"ETag": etag(version.number)}
    if location is not None:
        headers["Location"] = location
    return Response(version, status_code=status_code, headers=headers)


def _version_url(version: ProfileVersion) -> str:
    return f"/occupational-profiles/{version.profile_id}/versions/{version.number}"


class ProfileController(Controller):
    path = "/"
    tags = ["Occupational profiles"]

    @post(
        "/occupational-profiles",
        operation_id="createOccupationalProfile",
        summary="Write an occupational profile by hand (its version 1)",
        status_code=201,
        **secured("programmes:write", errors=[422]),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        data: JSONBody[ProfileCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[ProfileVersion]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        version = await service.create_profile(request.app.state.db, actor(principal), data, key)
        return _with_etag(version, 201, f"/occupational-profiles/{version.profile_id}")

    @post(
        "/occupational-profiles/{profile_id:uuid}/versions",
        operation_id="addOccupationalProfileVersion",
        summary="Add a version with new content (needs If-Match with the latest version's ETag)",
        status_code=201,
        **secured("programmes:write", errors=[404, 412, 422, 428]),
    )
    async def add_version(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        profile_id: FromPath[UUID],
        data: JSONBody[ProfileCreate],
        if_match: IfMatch = None,
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[ProfileVersion]:
        expected = expected_version(if_match)
        key = await idempotency_key(request, principal, idempotency_key_header)
        version = await service.add_profile_version(request.app.state.db, principal, profile_id, expected, data, key)
        return _with_etag(version, 201, _version_url(version))

    @post(
        "/occupational-profiles/import",
        operation_id="importOccupationalProfiles",
        summary="Import occupations from ESCO's CSV files (a new version only where the content changed)",
        status_code=200,
        **secured("programmes:write", errors=[422]),
    )
    async def import_esco(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        data: MultipartBody[EscoImportForm],
    ) -> ImportResult:
        texts = {
            name: esco.decode_csv(await upload.read(), name)
            for name, upload in (
                ("occupations", data.occupations),
                ("skills", data.skills),
                ("relations", data.relations),
            )
        }
        imported = await esco.import_esco(
            request.app.state.db,
            actor(principal),
            occupations=texts["occupations"],
            skills=texts["skills"],
            relations=texts["relations"],
            occupation_uris=[uri.strip() for uri in data.occupation],
            language=data.language.strip(),
        )
        return ImportResult(items=imported)

    @get(
        "/occupational-profiles",
        operation_id="listOccupationalProfiles",
        summary="Find occupational profiles (the latest version of each) by ESCO occupation, ISCO-08 group or title",
        **public(errors=[400, 422]),
    )
    async def list(
        self,
        request: Request[Any, Any, Any],
        occupation: OccupationFilter = None,
        isco: IscoFilter = None,
        q: TitleFilter = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> ProfileVersionPage:
        return await service.list_profiles(
            request.app.state.db, cursor=cursor, limit=limit, occupation=occupation, isco=isco, text=q
        )

    @get(
        "/occupational-profiles/{profile_id:uuid}",
        operation_id="getOccupationalProfile",
        summary="Read an occupational profile (its latest version)",
        **public(errors=[400, 404]),
    )
    async def read(self, request: Request[Any, Any, Any], profile_id: FromPath[UUID]) -> Response[ProfileVersion]:
        return _with_etag(await service.get_profile(request.app.state.db, profile_id))

    @get(
        "/occupational-profiles/{profile_id:uuid}/versions/{number:int}",
        operation_id="getOccupationalProfileVersion",
        summary="Read one version of an occupational profile by its number",
        **public(errors=[400, 404]),
    )
    async def read_version(
        self, request: Request[Any, Any, Any], profile_id: FromPath[UUID], number: VersionNumber
    ) -> Response[ProfileVersion]:
        return _with_etag(await service.get_profile_version(request.app.state.db, profile_id, number))

    @get(
        "/occupational-profile-versions/{version_id:uuid}",
        operation_id="getOccupationalProfileVersionById",
        summary="Read an occupational profile version by its id (the id programmes refer to)",
        **public(errors=[400, 404]),
    )
    async def read_version_by_id(
        self, request: Request[Any, Any, Any], version_id: FromPath[UUID]
    ) -> Response[ProfileVersion]:
        return _with_etag(await service.get_version(request.app.state.db, version_id))
