"""Skills-gap guidance: public questions, which a learner's token may answer from their portfolio."""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response
from litestar.params import JSONBody, QueryParameter

from api.auth import authenticate, public
from api.controllers.credentials import public_url
from api.http import Cursor, Limit
from api.routing import get, post
from domain.errors import Forbidden, InvalidInput
from domain.guidance import service
from domain.guidance.models import GapReport, GapRequest, OccupationMatchPage
from domain.profiles.models import ESCO_SKILL_PATTERN

PORTFOLIO_SCOPE = "credentials:read"
_SKILL = re.compile(ESCO_SKILL_PATTERN)
_PORTFOLIO_ACCESS = (
    "**Access:** anyone; no access token needed. With a learner's access token (authorization-code flow, "
    f"scope `{PORTFOLIO_SCOPE}`) the skills their valid credentials attest count too, each covered skill "
    "naming its credential."
)

Skills = Annotated[
    list[str] | None,
    QueryParameter(
        name="skill",
        max_items=1000,
        description="An ESCO skill URI the person has (http://data.europa.eu/esco/skill/<uuid>); repeat for several",
    ),
]
UsePortfolio = Annotated[
    bool,
    QueryParameter(name="usePortfolio", description="Add the skills of the learner's portfolio (needs their token)"),
]
Language = Annotated[
    str | None, QueryParameter(name="lang", pattern=r"^[a-z]{2,3}$", description="Language of the labels")
]


async def _person(request: Request[Any, Any, Any], use_portfolio: bool) -> UUID | None:
    """The learner whose portfolio to use: only when asked for, and only with a person's token."""
    if not use_portfolio:
        return None
    if not request.headers.get("authorization"):
        raise InvalidInput("usePortfolio needs a learner's access token (authorization-code flow)")
    principal = await authenticate(request)
    if principal.person_id is None:
        raise Forbidden("usePortfolio needs a person's token; a client acting on its own has no portfolio")
    if not principal.has_scope(PORTFOLIO_SCOPE):
        raise Forbidden(f"the access token lacks the scope {PORTFOLIO_SCOPE} that reading the portfolio needs")
    return principal.person_id


class GuidanceController(Controller):
    path = "/guidance"
    tags = ["Guidance"]

    @post(
        "/gap",
        operation_id="analyseSkillsGap",
        summary="What a person's skills lack for an occupation, and the published training that closes the gap",
        description=(
            "The target is an ESCO occupation (`occupation`) or an occupational profile here (`profileId`, "
            "`profileVersionId`). The answer lists the essential and optional skills already covered (and by "
            "what), those missing, and the published programmes and units of the public register that teach "
            "them, ranked by missing essential skills covered per training hour, then EQF fit, language, "
            "country/region, validity and quality assurance (`preferences`); each says why in `rankingKey` "
            f"and `why`. Nothing is stored.\n\n{_PORTFOLIO_ACCESS}"
        ),
        status_code=200,
        **public(errors=[400, 401, 403, 404, 422]),
    )
    async def gap(self, request: Request[Any, Any, Any], data: JSONBody[GapRequest]) -> Response[GapReport]:
        person = await _person(request, data.use_portfolio)
        report = await service.gap(request.app.state.db, data, person, public_url(request))
        return Response(report, headers={"Cache-Control": "no-store"})

    @get(
        "/occupations",
        operation_id="listClosestOccupations",
        summary="The ESCO occupations a person's skills are closest to, with what each still needs",
        description=(
            "Ordered by the share of the occupation's essential skills the person has (then by how many), "
            f"each with its missing essential skills.\n\n{_PORTFOLIO_ACCESS}"
        ),
        **public(errors=[400, 401, 403, 422]),
    )
    async def occupations(
        self,
        request: Request[Any, Any, Any],
        skills: Skills = None,
        use_portfolio: UsePortfolio = False,
        lang: Language = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> Response[OccupationMatchPage]:
        wrong = [s for s in skills or [] if not _SKILL.match(s)]
        if wrong:
            raise InvalidInput(f"skill {wrong[0]!r} is not an ESCO skill URI (http://data.europa.eu/esco/skill/<uuid>)")
        if not skills and not use_portfolio:
            raise InvalidInput("name the person's skills (skill=<ESCO skill URI>, repeated) or set usePortfolio=true")
        person = await _person(request, use_portfolio)
        page = await service.closest_occupations(
            request.app.state.db, skills or [], person, language=lang, cursor=cursor, limit=limit
        )
        return Response(page, headers={"Cache-Control": "no-store"})
