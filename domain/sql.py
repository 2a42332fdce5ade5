"""Loads named SQL queries from a ``.sql`` file that sits beside the module using them.

A file holds sections that start with ``-- name: <query_name>``; the text up to the next
section is the query. Keeping SQL in ``.sql`` files keeps it readable, reviewable and greppable.
"""

from __future__ import annotations

import re
from pathlib import Path

_SECTION = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


class Queries(dict[str, str]):
    """Query text by name; attribute access for brevity (``q.insert_member``)."""

    def __getattr__(self, name: str) -> str:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(f"no query named {name!r}") from exc


def load_queries(module_file: str, filename: str = "queries.sql") -> Queries:
    text = (Path(module_file).parent / filename).read_text(encoding="utf-8")
    parts = _SECTION.split(text)
    queries = Queries()
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"{filename}: query {name!r} defined twice")
        queries[name] = body.strip().rstrip(";")
    return queries
