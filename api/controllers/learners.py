"""A provider's learners and their enrolments."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from api.auth import secured
from api.http import Cursor, IdempotencyKeyHeader, IfMatch, Limit, actor, etag, expected_version, idempotency_key
from api.routing import get, patch, post
from domain.errors import InvalidInput
from domain.learners import service
from domain.learners.models import (
    Enrolment,
    EnrolmentCreate,
    EnrolmentPage,
    ExternalIdentifier,
    Learner,
    LearnerCreate,
    LearnerPage,
    LearnerUpdate,
)
from domain.oauth.principals import Principal
from domain.scopes import Role

RECORDING_ROLES: list[Role] = ["assessor"]  # an organisation's admin always qualifies too


def _with_etag(learner: Learner, status_code: int = 200) -> Response[Learner]:
    headers = {"ETag": etag(learner.version)}
    if status_code == 201:
        headers["Location"] = f"/organisations/{learner.provider_id}/learners/{learner.id}"
    return Response(learner, status_code=status_code, headers=headers)


class LearnerController(Controller):
    path = "/organisations/{org_id:uuid}/learners"
    tags = ["Learners"]

    @post(
        "/",
        operation_id="registerLearner",
        summary="Register a learner at this provider",
        status_code=201,
        **secured("assessments:write", roles=RECORDING_ROLES, member_of_path_org=True, errors=[404, 409, 422]),
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[LearnerCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[Learner]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        return _with_etag(await service.create_learner(request.app.state.db, actor(principal), org_id, data, key), 201)

    @get(
        "/",
        operation_id="listLearners",
        summary="List the provider's learners; find one by identifier with scheme and value",
        **secured("assessments:read", member_of_path_org=True, errors=[404, 422]),
    )
    async def list(
        self,
        request: Request[Any, Any, Any],
        org_id: FromPath[UUID],
        scheme: FromQuery[str | None] = None,
        value: FromQuery[str | None] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> LearnerPage:
        if (scheme is None) != (value is None):
            raise InvalidInput("give both scheme and value to find a learner by identifier")
        identifier = ExternalIdentifier(scheme=scheme, value=value) if scheme and value else None
        return await service.list_learners(
            request.app.state.db, org_id, cursor=cursor, limit=limit, identifier=identifier
        )

    @get(
        "/{learner_id:uuid}",
        operation_id="getLearner",
        summary="Read a learner",
        **secured("assessments:read", member_of_path_org=True, errors=[404]),
    )
    async def read(
        self, request: Request[Any, Any, Any], org_id: FromPath[UUID], learner_id: FromPath[UUID]
    ) -> Response[Learner]:
        return _with_etag(await service.get_learner(request.app.state.db, org_id, learner_id))

    @patch(
        "/{learner_id:uuid}",
        operation_id="updateLearner",
        summary="Change a learner (needs If-Match)",
        **secured("assessments:write", roles=RECORDING_ROLES, member_of_path_org=True, errors=[404, 409, 412, 428]),
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        learner_id: FromPath[UUID],
        data: JSONBody[LearnerUpdate],
        if_match: IfMatch = None,
    ) -> Response[Learner]:
        learner = await service.update_learner(
            request.app.state.db, actor(principal), org_id, learner_id, expected_version(if_match), data
        )
        return _with_etag(learner)

    @post(
        "/{learner_id:uuid}/enrolments",
        operation_id="enrolLearner",
        summary="Enrol the learner in a published programme version (or one of its units)",
        status_code=201,
        **secured("assessments:write", roles=RECORDING_ROLES, member_of_path_org=True, errors=[404, 409, 422]),
    )
    async def enrol(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        learner_id: FromPath[UUID],
        data: JSONBody[EnrolmentCreate],
    ) -> Enrolment:
        return await service.enrol(request.app.state.db, actor(principal), org_id, learner_id, data)

    @get(
        "/{learner_id:uuid}/enrolments",
        operation_id="listEnrolments",
        summary="The learner's enrolments",
        **secured("assessments:read", member_of_path_org=True, errors=[404, 422]),
    )
    async def enrolments(
        self,
        request: Request[Any, Any, Any],
        org_id: FromPath[UUID],
        learner_id: FromPath[UUID],
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> EnrolmentPage:
        return await service.list_enrolments(request.app.state.db, org_id, learner_id, cursor=cursor, limit=limit)
