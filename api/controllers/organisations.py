"""Organisations, members, accreditations, clients and the audit trail (filled in below)."""

from typing import Any

ORGANISATION_CONTROLLERS: list[Any] = []
