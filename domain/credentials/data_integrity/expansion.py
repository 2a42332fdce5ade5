"""JSON-LD expansion of Guildhall's own documents (placeholder: everything goes the general way)."""

from __future__ import annotations

from typing import Any


class Unexpandable(ValueError):
    """The document uses something this expansion does not handle: take the general way."""


def expand(document: dict[str, Any], public_url: str) -> list[Any]:
    raise Unexpandable("not yet")
