"""The signed-in person's portfolio: credentials from every provider, and credentials of other issuers they add."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency

from api.controllers.me import NO_STORE, for_person, person_of
from domain.oauth.principals import Principal
from domain.portfolio import service
from domain.portfolio.models import Portfolio


class PortfolioController(Controller):
    path = "/me/portfolio"
    tags = ["Me"]

    @get(
        "",
        operation_id="getMyPortfolio",
        summary="Your portfolio: every valid credential you hold, here and elsewhere, with what it attests",
        description=(
            "Every valid credential issued to the learner records you claimed, at every provider, and every "
            "credential of another issuer you added, each with the ESCO skills, EQF level, hours and ECTS "
            "credits it attests and how it was verified. A credential of another issuer counts only while its "
            "verification is valid; it is checked again whenever it is used (stacking, recognition)."
        ),
        **for_person("credentials:read", errors=[]),
    )
    async def portfolio(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]
    ) -> Response[Portfolio]:
        found = await service.get_portfolio(request.app.state.db, person_of(principal))
        return Response(found, headers=NO_STORE)
