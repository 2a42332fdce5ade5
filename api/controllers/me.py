"""The learner's own view: the records a person has claimed and their attempts, nothing of anyone else."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.params import QueryParameter

from api.auth import secured
from api.http import Cursor, Limit
from domain.attempts.models import AttemptPage
from domain.errors import Forbidden
from domain.learners import claims
from domain.learners.claims import LearnerRecordPage
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


def for_person(*scopes: str, errors: list[int]) -> dict[str, Any]:
    """``secured()`` for operations on the signed-in person's own data."""
    kwargs = secured(*scopes, errors=errors)
    kwargs["guards"] = [*kwargs["guards"], require_person]
    return kwargs


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
