"""Recognition of credentials from elsewhere: the awarding body's rules and queue, a provider asking for its
learner (with their consent), and the person's own requests and consents."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import secured
from api.controllers.me import for_person, person_of
from api.controllers.portfolio import fetch_options
from api.http import Cursor, IdempotencyKeyHeader, IfMatch, Limit, actor, etag, expected_version, idempotency_key
from api.routing import delete, get, post, put
from domain.oauth.principals import Principal
from domain.recognition import rules, service
from domain.recognition.models import (
    ProviderRecognitionRequestCreate,
    RecognitionDecision,
    RecognitionRequest,
    RecognitionRequestCreate,
    RecognitionRequestPage,
    RecognitionRule,
    RecognitionRuleCreate,
    RecognitionRulePage,
    RequestStatus,
)
from domain.scopes import Role

RULE_ROLES: list[Role] = ["author"]  # an organisation's admin always qualifies too
DECIDING_ROLES: list[Role] = ["assessor"]
StatusFilter = Annotated[RequestStatus | None, QueryParameter(name="status", description="Only requests in this state")]


def _rule(rule: RecognitionRule, status_code: int = 200) -> Response[RecognitionRule]:
    return Response(rule, status_code=status_code, headers={"ETag": etag(rule.version)})


def _request(request: RecognitionRequest, status_code: int = 200) -> Response[RecognitionRequest]:
    return Response(request, status_code=status_code, headers={"ETag": etag(request.version)})


class RecognitionRuleController(Controller):
    path = "/organisations/{org_id:uuid}/recognition-rules"
    tags = ["Recognition"]

    @post(
        "/",
        operation_id="createRecognitionRule",
        summary="Say what the organisation recognises for a unit of a programme it awards",
        status_code=201,
        **secured("programmes:write", roles=RULE_ROLES, member_of_path_org=True, errors=[404, 409, 422]),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[RecognitionRuleCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[RecognitionRule]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        rule = await rules.create_rule(request.app.state.db, actor(principal), org_id, data, key)
        return _rule(rule, 201)

    @get(
        "/",
        operation_id="listRecognitionRules",
        summary="The organisation's recognition rules in force, oldest first",
        **secured("programmes:read", member_of_path_org=True, errors=[404, 422]),
    )
    async def list_rules(
        self, request: Request[Any, Any, Any], org_id: FromPath[UUID], cursor: Cursor = None, limit: Limit = 20
    ) -> RecognitionRulePage:
        return await rules.list_rules(request.app.state.db, org_id, cursor=cursor, limit=limit)

    @get(
        "/{rule_id:uuid}",
        operation_id="getRecognitionRule",
        summary="One recognition rule",
        **secured("programmes:read", member_of_path_org=True, errors=[404]),
    )
    async def get_rule(
        self, request: Request[Any, Any, Any], org_id: FromPath[UUID], rule_id: FromPath[UUID]
    ) -> Response[RecognitionRule]:
        return _rule(await rules.get_rule(request.app.state.db, org_id, rule_id))

    @delete(
        "/{rule_id:uuid}",
        operation_id="withdrawRecognitionRule",
        summary="Withdraw a recognition rule (needs If-Match); what it granted stays granted",
        **secured("programmes:write", roles=RULE_ROLES, member_of_path_org=True, errors=[404, 412, 428]),
    )
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        rule_id: FromPath[UUID],
        if_match: IfMatch = None,
    ) -> None:
        await rules.withdraw_rule(request.app.state.db, actor(principal), org_id, rule_id, expected_version(if_match))


class RecognitionQueueController(Controller):
    path = "/organisations/{org_id:uuid}/recognition-requests"
    tags = ["Recognition"]

    @get(
        "/",
        operation_id="listRecognitionRequests",
        summary="Recognition requests for units the organisation awards (its queue: status=pending), oldest first",
        **secured("assessments:read", member_of_path_org=True, errors=[404, 422]),
    )
    async def list_requests(
        self,
        request: Request[Any, Any, Any],
        org_id: FromPath[UUID],
        status: StatusFilter = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> RecognitionRequestPage:
        return await service.queue(request.app.state.db, org_id, status, cursor=cursor, limit=limit)

    @get(
        "/{request_id:uuid}",
        operation_id="getRecognitionRequest",
        summary="One recognition request for a unit the organisation awards",
        **secured("assessments:read", member_of_path_org=True, errors=[404]),
    )
    async def get_request(
        self, request: Request[Any, Any, Any], org_id: FromPath[UUID], request_id: FromPath[UUID]
    ) -> Response[RecognitionRequest]:
        return _request(await service.get_request(request.app.state.db, org_id, request_id))

    @post(
        "/{request_id:uuid}/decision",
        operation_id="decideRecognitionRequest",
        summary="Grant or refuse a pending recognition request, with reasons (an assessor; needs If-Match)",
        description=(
            "A grant checks the credentials again first (409 if one no longer verifies) and is recorded as a "
            "prior_learning attempt of the person's learner record here, whose evidence is the recognised "
            "credentials; its pass earns the unit credential and counts for stacking."
        ),
        status_code=200,
        **secured("assessments:write", roles=DECIDING_ROLES, member_of_path_org=True, errors=[404, 409, 412, 422, 428]),
    )
    async def decide(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        request_id: FromPath[UUID],
        data: JSONBody[RecognitionDecision],
        if_match: IfMatch = None,
    ) -> Response[RecognitionRequest]:
        decided = await service.decide(
            request.app.state.db,
            actor(principal),
            org_id,
            request_id,
            data,
            expected_version(if_match),
            fetch_options(request),
            request.app.state.settings.issuer,
        )
        return _request(decided)


class ProviderRecognitionController(Controller):
    path = "/organisations/{org_id:uuid}/learner-recognition-requests"
    tags = ["Recognition"]

    @post(
        "/",
        operation_id="submitRecognitionRequestForLearner",
        summary="Ask for recognition for one of your learners, who consented, naming credentials of their portfolio",
        status_code=201,
        **secured("assessments:write", roles=DECIDING_ROLES, member_of_path_org=True, errors=[404, 409, 422]),
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        org_id: FromPath[UUID],
        data: JSONBody[ProviderRecognitionRequestCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[RecognitionRequest]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        person_id = await service.person_for_provider(request.app.state.db, org_id, data.learner_id)
        submitted = await service.submit(
            request.app.state.db,
            actor(principal),
            person_id,
            data,
            fetch_options(request),
            request.app.state.settings.issuer,
            submitted_by=org_id,
            idempotency=key,
        )
        return _request(submitted, 201)


class MyRecognitionController(Controller):
    path = "/me"
    tags = ["Me"]

    @post(
        "/recognition-requests",
        operation_id="submitMyRecognitionRequest",
        summary="Ask the awarding body of a unit to recognise credentials of your portfolio",
        description=(
            "Each credential named is checked again now (422 with the reasons if one does not verify). A rule of "
            "the awarding body that they meet grants at once (status granted, with the prior_learning attempt "
            "that earns the unit); otherwise the request waits for an assessor (status pending)."
        ),
        status_code=201,
        **for_person("portfolio:write", errors=[404, 409, 422], verified=True),
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        data: JSONBody[RecognitionRequestCreate],
        idempotency_key_header: IdempotencyKeyHeader = None,
    ) -> Response[RecognitionRequest]:
        key = await idempotency_key(request, principal, idempotency_key_header)
        submitted = await service.submit(
            request.app.state.db,
            actor(principal),
            person_of(principal),
            data,
            fetch_options(request),
            request.app.state.settings.issuer,
            idempotency=key,
        )
        return _request(submitted, 201)

    @get(
        "/recognition-requests",
        operation_id="listMyRecognitionRequests",
        summary="Your recognition requests, oldest first, with their decisions",
        **for_person("credentials:read", errors=[422], verified=True),
    )
    async def list_mine(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> RecognitionRequestPage:
        return await service.mine(request.app.state.db, person_of(principal), cursor=cursor, limit=limit)

    @put(
        "/recognition-consents/{organisation_id:uuid}",
        operation_id="grantRecognitionConsent",
        summary="Let an organisation (your provider) ask for recognition on your behalf",
        status_code=204,
        **for_person("portfolio:write", errors=[404], verified=True),
    )
    async def consent(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], organisation_id: FromPath[UUID]
    ) -> None:
        await service.grant_consent(request.app.state.db, actor(principal), person_of(principal), organisation_id)

    @delete(
        "/recognition-consents/{organisation_id:uuid}",
        operation_id="withdrawRecognitionConsent",
        summary="Withdraw the consent you gave an organisation to ask for recognition on your behalf",
        **for_person("portfolio:write", errors=[404], verified=True),
    )
    async def withdraw_consent(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], organisation_id: FromPath[UUID]
    ) -> None:
        await service.withdraw_consent(request.app.state.db, actor(principal), person_of(principal), organisation_id)
