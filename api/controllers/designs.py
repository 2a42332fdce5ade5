"""Programmes and qualifications: drafting together, comments, proposals, approvals, new versions.

Both share one workflow, so one base controller serves both paths; only the handlers whose body
is the content itself are written per kind.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import secured
from api.http import (
    Cursor,
    IdempotencyKeyHeader,
    IfMatch,
    Limit,
    VersionNumber,
    etag,
    expected_version,
    idempotency_key,
)
from api.routing import delete, get, post, put
from domain.attempts import service as attempt_service
from domain.attempts.models import AttemptPage
from domain.designs import service
from domain.designs.content import ProgrammeContent, QualificationContent
from domain.designs.coverage import CoverageReport
from domain.designs.models import (
    AnyVersion,
    ChangeLog,
    CoauthorSet,
    Comment,
    CommentCreate,
    CommentPage,
    Comparison,
    Design,
    DesignKind,
    DesignPage,
    NewVersion,
    ProgrammeCreate,
    QualificationCreate,
    VersionDecision,
    Withdrawal,
)
from domain.oauth.principals import Principal
from domain.structs import MAX_VERSION

ActingFor = Annotated[
    UUID | None, QueryParameter(name="actingFor", description="The co-author you act for, if you are in several")
]
FromVersion = Annotated[int, QueryParameter(name="from", ge=1, le=MAX_VERSION)]
ToVersion = Annotated[int, QueryParameter(ge=1, le=MAX_VERSION)]


def op(template: str) -> Any:
    """An operationId per kind: 'get{Kind}Version' -> 'getProgrammeVersion' / 'getQualificationVersion'."""

    def create(_handler: HTTPRouteHandler, _method: HttpMethod, components: list[Any]) -> str:
        first = next(c for c in components if isinstance(c, str))  # "programmes" or "qualifications"
        return template.format(Kind=first.removesuffix("s").capitalize())

    return create


def versioned(version: AnyVersion, status_code: int = 200) -> Response[AnyVersion]:
    headers = {"ETag": etag(version.revision)}
    if status_code == 201:
        headers["Location"] = f"/{version.kind}s/{version.design_id}/versions/{version.number}"
    return Response(version, status_code=status_code, headers=headers)


class DesignController(Controller):
    kind: ClassVar[DesignKind]

    @get(
        "/",
        operation_id=op("list{Kind}s"),
        summary="List those your organisations co-author",
        **secured("programmes:read", errors=[422]),
    )
    async def list_designs(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> DesignPage:
        return await service.list_designs(request.app.state.db, principal, self.kind, cursor=cursor, limit=limit)

    @get(
        "/{design_id:uuid}",
        operation_id=op("get{Kind}"),
        summary="Read one: co-authors and versions (drafts only for co-authors)",
        **secured("programmes:read", errors=[404]),
    )
    async def read_design(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], design_id: FromPath[UUID]
    ) -> Design:
        return await service.get_design(request.app.state.db, principal, self.kind, design_id)

    @put(
        "/{design_id:uuid}/coauthors/{organisation_id:uuid}",
        operation_id=op("set{Kind}Coauthor"),
        summary="Add a co-author or change its roles (the lead organisation)",
        **secured("programmes:write", errors=[404, 409, 422]),
    )
    async def set_coauthor(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        organisation_id: FromPath[UUID],
        data: JSONBody[CoauthorSet],
    ) -> Design:
        return await service.set_coauthor(request.app.state.db, principal, self.kind, design_id, organisation_id, data)

    @delete(
        "/{design_id:uuid}/coauthors/{organisation_id:uuid}",
        operation_id=op("remove{Kind}Coauthor"),
        summary="Remove a co-author (the lead organisation)",
        status_code=200,
        **secured("programmes:write", errors=[404, 409, 422]),
    )
    async def remove_coauthor(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        organisation_id: FromPath[UUID],
    ) -> Design:
        return await service.remove_coauthor(request.app.state.db, principal, self.kind, design_id, organisation_id)

    @post(
        "/{design_id:uuid}/withdrawal",
        operation_id=op("withdraw{Kind}"),
        summary="Withdraw from the public register and the Europass dataset (the lead organisation)",
        description=(
            "The design leaves the register's search and the Europass LOQ dataset at once; its published versions "
            "stay readable (credentials name them) and credentials already issued are untouched. Publishing a new "
            "version lists it again. 409 when it has no published version or is already withdrawn."
        ),
        status_code=200,
        **secured("programmes:write", errors=[404, 409, 422]),
    )
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        data: JSONBody[Withdrawal],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Design:
        key = await idempotency_key(request, principal, idempotency_key_header)
        return await service.withdraw(
            request.app.state.db, principal, self.kind, design_id, data.reason, idempotency=key
        )

    @post(
        "/{design_id:uuid}/versions",
        operation_id=op("draft{Kind}Version"),
        summary="Start a new draft from the latest published version",
        status_code=201,
        **secured("programmes:write", errors=[404, 409, 422]),
    )
    async def new_draft(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        data: JSONBody[NewVersion],
    ) -> Response[AnyVersion]:
        version = await service.new_draft(request.app.state.db, principal, self.kind, design_id, data.acting_for)
        return versioned(version, 201)

    @get(
        "/{design_id:uuid}/versions/{number:int}",
        operation_id=op("get{Kind}Version"),
        summary="Read a version; its ETag is what the next write sends in If-Match",
        **secured("programmes:read", errors=[404]),
    )
    async def read_version(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        number: VersionNumber,
    ) -> Response[AnyVersion]:
        return versioned(await service.get_version(request.app.state.db, principal, self.kind, design_id, number))

    @get(
        "/{design_id:uuid}/versions/{number:int}/changes",
        operation_id=op("list{Kind}Changes"),
        summary="Every saved change of a version: who, when, and what (a structured diff)",
        **secured("programmes:read", errors=[404]),
    )
    async def changes(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        number: VersionNumber,
    ) -> ChangeLog:
        return await service.change_log(request.app.state.db, principal, self.kind, design_id, number)

    @get(
        "/{design_id:uuid}/compare",
        operation_id=op("compare{Kind}Versions"),
        summary="Compare two versions: a structured diff",
        **secured("programmes:read", errors=[404]),
    )
    async def compare(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        from_: FromVersion,
        to: ToVersion,
    ) -> Comparison:
        return await service.compare(request.app.state.db, principal, self.kind, design_id, from_, to)

    @post(
        "/{design_id:uuid}/versions/{number:int}/comments",
        operation_id=op("commentOn{Kind}"),
        summary="Comment on an open version, a unit or a learning outcome (co-authors)",
        status_code=201,
        **secured("programmes:write", errors=[404, 409, 422]),
    )
    async def comment(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        number: VersionNumber,
        data: JSONBody[CommentCreate],
    ) -> Comment:
        return await service.add_comment(request.app.state.db, principal, self.kind, design_id, number, data)

    @get(
        "/{design_id:uuid}/versions/{number:int}/comments",
        operation_id=op("list{Kind}Comments"),
        summary="The co-authors' comments on a version, oldest first",
        **secured("programmes:read", errors=[404, 422]),
    )
    async def comments(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        number: VersionNumber,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> CommentPage:
        return await service.list_comments(
            request.app.state.db, principal, self.kind, design_id, number, cursor=cursor, limit=limit
        )

    @post(
        "/{design_id:uuid}/versions/{number:int}/proposal",
        operation_id=op("propose{Kind}Version"),
        summary="Propose a complete draft for approval (refused with every gap listed; needs If-Match)",
        status_code=200,
        **secured("programmes:write", errors=[404, 409, 412, 422, 428]),
    )
    async def propose(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        number: VersionNumber,
        if_match: IfMatch = None,
        acting_for: ActingFor = None,
    ) -> Response[AnyVersion]:
        version = await service.propose(
            request.app.state.db, principal, self.kind, design_id, number, expected_version(if_match), acting_for
        )
        return versioned(version)

    @post(
        "/{design_id:uuid}/versions/{number:int}/decisions",
        operation_id=op("decideOn{Kind}Version"),
        summary="Approve a proposed version, or request changes with a reason (approvers)",
        status_code=200,
        **secured("programmes:write", errors=[404, 409, 422]),
    )
    async def decide(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        number: VersionNumber,
        data: JSONBody[VersionDecision],
    ) -> Response[AnyVersion]:
        return versioned(await service.decide(request.app.state.db, principal, self.kind, design_id, number, data))


class ProgrammeController(DesignController):
    path = "/programmes"
    tags = ["Programmes"]
    kind = "programme"

    @post(
        "/",
        operation_id="createProgramme",
        summary="Start a programme led by your organisation, with a draft",
        status_code=201,
        **secured("programmes:write", errors=[404, 422]),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        data: JSONBody[ProgrammeCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[AnyVersion]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        version = await service.create_design(
            request.app.state.db, principal, "programme", data.lead_organisation_id, data.content, key
        )
        return versioned(version, 201)

    @put(
        "/{design_id:uuid}/versions/{number:int}/content",
        operation_id="saveProgrammeContent",
        summary="Save a draft's content (authors; needs If-Match; stale writes get 412)",
        **secured("programmes:write", errors=[404, 409, 412, 422, 428]),
    )
    async def save(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        number: VersionNumber,
        data: JSONBody[ProgrammeContent],
        if_match: IfMatch = None,
        acting_for: ActingFor = None,
    ) -> Response[AnyVersion]:
        version = await service.save_content(
            request.app.state.db,
            principal,
            "programme",
            design_id,
            number,
            expected_version(if_match),
            data,
            acting_for,
        )
        return versioned(version)

    @get(
        "/{design_id:uuid}/attempts",
        operation_id="listProgrammeAttempts",
        summary="Attempts at the programme's units, at every provider (its co-authors)",
        **secured("assessments:read", errors=[404, 422]),
    )
    async def attempts(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> AttemptPage:
        await service.require_coauthor(request.app.state.db, principal, "programme", design_id)
        return await attempt_service.list_attempts(
            request.app.state.db, programme_id=design_id, cursor=cursor, limit=limit
        )

    @get(
        "/{design_id:uuid}/versions/{number:int}/coverage",
        operation_id="getProgrammeCoverage",
        summary="Which competences of the occupational profile the version covers, and workload per EQF level",
        **secured("programmes:read", errors=[404, 409]),
    )
    async def coverage(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        number: VersionNumber,
    ) -> CoverageReport:
        return await service.coverage_report(request.app.state.db, principal, design_id, number)


class QualificationController(DesignController):
    path = "/qualifications"
    tags = ["Qualifications"]
    kind = "qualification"

    @post(
        "/",
        operation_id="createQualification",
        summary="Start a qualification (a rule over units) led by your organisation",
        status_code=201,
        **secured("programmes:write", errors=[404, 422]),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        data: JSONBody[QualificationCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[AnyVersion]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        version = await service.create_design(
            request.app.state.db, principal, "qualification", data.lead_organisation_id, data.content, key
        )
        return versioned(version, 201)

    @put(
        "/{design_id:uuid}/versions/{number:int}/content",
        operation_id="saveQualificationContent",
        summary="Save a draft's content (authors; needs If-Match; stale writes get 412)",
        **secured("programmes:write", errors=[404, 409, 412, 422, 428]),
    )
    async def save(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        design_id: FromPath[UUID],
        number: VersionNumber,
        data: JSONBody[QualificationContent],
        if_match: IfMatch = None,
        acting_for: ActingFor = None,
    ) -> Response[AnyVersion]:
        version = await service.save_content(
            request.app.state.db,
            principal,
            "qualification",
            design_id,
            number,
            expected_version(if_match),
            data,
            acting_for,
        )
        return versioned(version)
