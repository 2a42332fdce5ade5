"""Every controller of the API, in one list."""

from __future__ import annotations

from typing import Any


def route_handlers() -> list[Any]:
    from api.controllers.organisations import ORGANISATION_CONTROLLERS

    return [*ORGANISATION_CONTROLLERS]
