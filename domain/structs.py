"""Base classes for the Structs that cross the API boundary: camelCase on the wire."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)

MAX_VERSION = 2**31 - 1  # versions and their numbers are PostgreSQL integers: a larger number names nothing


class Model(msgspec.Struct, rename="camel", kw_only=True):
    """A record the API returns."""


class Input(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """A request body: unknown fields are refused so that a misspelt field is not silently lost."""


class Page(msgspec.Struct, rename="camel", kw_only=True):
    """One page of a list; pass ``nextCursor`` as ``cursor`` to get the next (null at the end)."""

    next_cursor: str | None


_ENCODE_NAMES: dict[type, dict[str, str]] = {}


def from_row(cls: type[S], row: Mapping[str, Any]) -> S:
    """A Struct from a database row whose columns carry the fields' Python (snake_case) names.

    Nested JSON built in SQL must already use the wire (camelCase) names.
    """
    names = _ENCODE_NAMES.get(cls)
    if names is None:
        names = _ENCODE_NAMES[cls] = {f.name: f.encode_name for f in msgspec.structs.fields(cls)}
    return msgspec.convert({names.get(k, k): v for k, v in row.items()}, cls, strict=False)
