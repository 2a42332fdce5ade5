"""Numbers and lists in words, for reasons and messages."""

from __future__ import annotations

from collections.abc import Iterable


def number(value: float) -> str:
    """``88.0`` → ``"88"``, ``0.91`` → ``"0.91"``, ``2/3`` → ``"0.666667"``: at most six decimals, no trailing zeros."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def quoted(items: Iterable[str]) -> str:
    """``["a", "b"]`` → ``"'a', 'b'"``."""
    return ", ".join(repr(item) for item in items)


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``count(1, "run")`` → ``"1 run"``, ``count(2, "run")`` → ``"2 runs"``."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
