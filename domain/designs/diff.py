"""A structured diff of two versions' content: what was added, removed or changed, and where.

Lists of items that carry a ``key`` (units, learning outcomes) are matched by key, so that moving
or editing one unit reads as that, not as a shifted list.
"""

from __future__ import annotations

from typing import Any

from domain.structs import Model


class Change(Model):
    op: str  # "add" | "remove" | "change"
    path: str
    before: Any = None
    after: Any = None


def diff(before: Any, after: Any, path: str = "") -> list[Change]:
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[Change] = []
        for name in sorted(before.keys() | after.keys()):
            sub = f"{path}.{name}" if path else name
            if name not in after:
                changes.append(Change(op="remove", path=sub, before=before[name]))
            elif name not in before:
                changes.append(Change(op="add", path=sub, after=after[name]))
            else:
                changes += diff(before[name], after[name], sub)
        return changes
    if _keyed(before) and _keyed(after):
        old = {item["key"]: item for item in before}
        new = {item["key"]: item for item in after}
        changes = []
        for key in [*old, *(k for k in new if k not in old)]:
            sub = f"{path}[{key}]"
            if key not in new:
                changes.append(Change(op="remove", path=sub, before=old[key]))
            elif key not in old:
                changes.append(Change(op="add", path=sub, after=new[key]))
            else:
                changes += diff(old[key], new[key], sub)
        if [k for k in old if k in new] != [k for k in new if k in old]:
            changes.append(Change(op="change", path=f"{path}(order)", before=list(old), after=list(new)))
        return changes
    if before != after:
        return [Change(op="change", path=path, before=before, after=after)]
    return []


def _keyed(value: Any) -> bool:
    return (
        isinstance(value, list)
        and all(isinstance(i, dict) and isinstance(i.get("key"), str) for i in value)
        and len({i["key"] for i in value}) == len(value)
    )
