"""Recording and reading assessment attempts at a provider."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import secured
from api.controllers.learners import RECORDING_ROLES
from api.http import Cursor, IdempotencyKeyHeader, Limit, actor, idempotency_key
from api.queue import WithoutWaiting
from api.routing import get, post
from domain.attempts import service
from domain.attempts.models import Attempt, AttemptCreate, AttemptPage, CorrectionCreate
from domain.oauth.principals import Principal
from domain.writes import IdempotencyKey


async def record_attempt(
    state: State, principal: Principal, org_id: UUID, data: AttemptCreate, key: IdempotencyKey | None
) -> Attempt:
    """``recordAttempt``'s work, whichever way its request came (api/fast_recording.py serves plain ones)."""
    events = WithoutWaiting(state.jobs)  # the integrator's hot path: no wait for Redis
    return await service.record_attempt(state.db, actor(principal), org_id, data, idempotency=key, dispatcher=events)


def attempt_location(org_id: UUID, attempt_id: UUID) -> str:
    return f"/organisations/{org_id}/attempts/{attempt_id}"


class AttemptController(Controller):
    path = "/organisations/{org_id:uuid}/attempts"
    tags = ["Attempts"]

    @post(
        "/",
        operation_id="recordAttempt",
        summary="Record an attempt; the decision and its reasons come back at once",
        status_code=201,
        **secured(
            "assessments:write",
            roles=RECORDING_ROLES,
            member_of_path_org=True,
            errors=[403, 404, 409, 422],
            token_checked_in_write=True,  # record_attempt's every way confirms the token (Actor.token_to_confirm)
        ),
    )
    async def record(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[AttemptCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[Attempt]:
        # Plain requests are served by api/fast_recording.py, which does what this does: keep the two alike.
        key = await idempotency_key(request, principal, idempotency_key_header)
        attempt = await record_attempt(request.app.state, principal, org_id, data, key)
        return Response(attempt, status_code=201, headers={"Location": attempt_location(org_id, attempt.id)})

    @get(
        "/",
        operation_id="listAttempts",
        summary="The provider's attempts, oldest first; filter by learner",
        **secured("assessments:read", member_of_path_org=True, errors=[404, 422]),
    )
    async def list(
        self,
        request: Request[Any, Any, Any],
        org_id: FromPath[UUID],
        learner_id: Annotated[UUID | None, QueryParameter(name="learnerId")] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> AttemptPage:
        return await service.list_attempts(
            request.app.state.db, provider_id=org_id, learner_id=learner_id, cursor=cursor, limit=limit
        )

    @get(
        "/{attempt_id:uuid}",
        operation_id="getAttempt",
        summary="Read an attempt with its decision",
        **secured("assessments:read", member_of_path_org=True, errors=[404]),
    )
    async def read(
        self, request: Request[Any, Any, Any], org_id: FromPath[UUID], attempt_id: FromPath[UUID]
    ) -> Attempt:
        return await service.get_attempt(request.app.state.db, org_id, attempt_id)

    @post(
        "/{attempt_id:uuid}/corrections",
        operation_id="correctAttempt",
        summary="Correct an attempt: a new record with a reason; the decision follows the latest",
        status_code=201,
        **secured("assessments:write", roles=RECORDING_ROLES, member_of_path_org=True, errors=[404, 409, 422]),
    )
    async def correct(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        attempt_id: FromPath[UUID],
        data: JSONBody[CorrectionCreate],
    ) -> Attempt:
        return await service.correct_attempt(
            request.app.state.db, actor(principal), org_id, attempt_id, data, dispatcher=request.app.state.jobs
        )
