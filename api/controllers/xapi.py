"""The statements resource of an LRS, for simulators: xAPI statements in, attempts and decisions out.

Only a client acting for its own organisation posts statements (client credentials, scope
``assessments:write``): the provider is the client's organisation, and a learner is looked up among that
provider's learners only. A person's token is refused, since a simulator is a machine with a client of its
own and a person's token would leave open which of their organisations the statements are for.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody

from api.auth import secured
from api.http import actor
from api.routing import post
from domain.attempts import xapi
from domain.attempts.xapi import StatementsReceived
from domain.errors import Forbidden
from domain.oauth.principals import Principal

XapiVersionHeader = Annotated[
    str | None,
    HeaderParameter(
        name="X-Experience-API-Version",
        description="The xAPI version the statements follow (1.0.x)",
        schema_extra={"pattern": xapi.VERSION_PATTERN},  # checked by xapi.check_version, which says why
    ),
]
Statement = dict[str, Any]  # read by the assessment engine, which names each problem precisely


class XapiController(Controller):
    path = "/xapi"
    tags = ["xAPI"]

    @post(
        "/statements",
        operation_id="postXapiStatements",
        summary="Post xAPI 1.0.3 / cmi5 statements (one or an array); each result becomes an attempt",
        description=(
            "Answers the statement ids, as an LRS does, and what became of each: the attempt and its decision. "
            "The actor's account name is the learner's id or '<scheme>:<value>' of an identifier (or mbox "
            "their e-mail); object.id, or for cmi5 context.contextActivities.parent[0].id, is "
            "urn:guildhall:programme:<programme id>:unit:<unit key>. A request is recorded whole or not at all; "
            "a statement sent again is answered as before and records nothing twice. Client tokens only."
        ),
        status_code=200,
        **secured("assessments:write", errors=[404, 409, 422]),
    )
    async def post_statements(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        data: JSONBody[Statement | list[Statement]],
        xapi_version: XapiVersionHeader = None,
    ) -> Response[StatementsReceived]:
        if principal.person_id is not None:
            raise Forbidden(
                "statements are posted by a simulator's own OAuth client (client credentials grant); "
                "a token acting for a person cannot post them"
            )
        xapi.check_version(xapi_version)
        received = await xapi.receive_statements(
            request.app.state.db,
            actor(principal),
            principal.client_organisation_id,
            data,
            dispatcher=request.app.state.jobs,
        )
        return Response(received, headers={"X-Experience-API-Version": xapi.XAPI_VERSION})
