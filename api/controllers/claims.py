"""Claim codes: a provider issues one for a learner; the learner uses it once to get a login."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.auth import public, secured
from api.controllers.learners import RECORDING_ROLES
from api.http import actor
from api.observability import request_id_var
from api.ratelimit import enforce
from api.routing import post
from domain.learners import claims
from domain.learners.claims import ClaimCode, ClaimCodeCreate, ClaimResult, LearnerClaim
from domain.oauth.principals import Principal


class ClaimCodeController(Controller):
    path = "/organisations/{org_id:uuid}/learners/{learner_id:uuid}/claim-codes"
    tags = ["Learners"]

    @post(
        "/",
        operation_id="issueClaimCode",
        summary="Issue a one-time code with which the learner claims their record; earlier codes stop working",
        description=(
            "The code is in this answer only (it is stored hashed): hand it to the learner, printed or mailed. "
            "It works once, for validDays (default 30)."
        ),
        status_code=201,
        **secured("assessments:write", roles=RECORDING_ROLES, member_of_path_org=True, errors=[404, 409]),
    )
    async def issue(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        learner_id: FromPath[UUID],
        data: JSONBody[ClaimCodeCreate],
    ) -> Response[ClaimCode]:
        state = request.app.state
        code = await claims.issue_code(
            state.db, actor(principal), org_id, learner_id, data.valid_days, key=state.settings.claim_code_key
        )
        # A secret: no cache, proxy or browser history may keep it.
        return Response(code, status_code=201, headers={"Cache-Control": "no-store"})


class LearnerClaimController(Controller):
    path = "/learner-claims"
    tags = ["Learners"]

    @post(
        "/",
        operation_id="claimLearnerRecord",
        summary="Claim a learner record with its code, into a new login or one whose password you know",
        description=(
            "With an e-mail address that has no login yet, a person is created with this password (at least "
            "12 characters); otherwise the password must be that login's. A mistyped, expired, used or replaced "
            "code gets one answer. Rate limited per address."
        ),
        status_code=200,
        **public(errors=[400, 403, 409, 422, 429]),
    )
    async def claim(self, request: Request[Any, Any, Any], data: JSONBody[LearnerClaim]) -> Response[ClaimResult]:
        state = request.app.state
        address = request.client.host if request.client else "unknown"
        # Fail closed: without the counter, codes and passwords could be guessed at full speed.
        await enforce(state.redis, "claim:ip", address, state.settings.login_rate_limit, fail_open=False)
        result = await claims.claim(
            state.db, request_id_var.get(), data, key=state.settings.claim_code_key, public_url=state.settings.issuer
        )
        return Response(result, headers={"Cache-Control": "no-store"})
