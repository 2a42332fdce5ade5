"""Decoding outside data into Structs, with msgspec's errors turned into AssessmentError messages."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from assessment.errors import AssessmentError, at

_AT = re.compile(r"^(?P<message>.*?) - at `(?P<path>[^`]*)`(?: in `(?P<outer>[^`]*)`)?$", re.DOTALL)
KEY_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
_TYPES = {
    f"`str` matching regex '{KEY_PATTERN}'": "a key: 1 to 64 lowercase letters, digits, '_', '.' or '-', "
    "starting with a letter or a digit",
    "`float`": "a number",
    "`int`": "an integer",
    "`str`": "a string",
    "`bool`": "true or false",
    "`object`": "an object",
    "`array`": "an array",
    "`null`": "null",
    "`datetime`": "a date-time",
}


def decode(
    data: object, type_: Any, *, hints: Mapping[str, Sequence[str]] | None = None, where: str = "", note: str = ""
) -> Any:
    """``data`` decoded as ``type_``: raw JSON (``bytes``, ``bytearray``, ``memoryview`` or ``str``), or values
    already decoded from JSON (dicts, lists, strings, numbers, booleans, None).

    ``hints`` maps a field name to its allowed values, named in the message when a value is not one of them;
    ``where`` is the path of ``data`` in a larger document, and ``note`` is added to every message.
    Raises AssessmentError, and nothing else, for anything it cannot decode.
    """
    try:
        if isinstance(data, bytes | bytearray | memoryview | str):
            return _decoder(type_).decode(data)
        try:
            return msgspec.convert({"value": data}, _holder(type_)).value
        except msgspec.ValidationError:
            return msgspec.convert(data, type_)  # the same refusal, its path that of ``data`` itself
    except msgspec.ValidationError as error:
        message = _message(str(error), hints or {}, where)
    except msgspec.DecodeError as error:
        message = at(where, f"not valid JSON ({error})")
    except UnicodeError:
        message = at(where, "not valid JSON (the text is not valid Unicode)")
    except RecursionError:
        message = at(where, "the document is nested too deeply")
    raise AssessmentError(message + note)


# msgspec keeps what it worked out about a Struct type on the type, but works a union (Submission, Specification)
# out again on every call: 6 µs of a recording's 7 for its submission. As a Struct's field, it is worked out once.
@functools.cache
def _holder(type_: Any) -> Any:
    return msgspec.defstruct("Holder", [("value", type_)])


@functools.cache
def _decoder(type_: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(type_)


def _message(text: str, hints: Mapping[str, Sequence[str]], where: str) -> str:
    """``"Expected `int` >= 1 - at `$.maxAttempts`"`` → ``"maxAttempts: expected an integer >= 1"``."""
    match = _AT.match(text)
    message, path = (match["message"], _path(match["path"])) if match else (text, "")
    if match and match["outer"] is not None:
        message, path = f"a key: {_readable(message)}", _path(match["outer"])
    path = _join(where, path) if path else where
    missing = re.fullmatch(r"Object missing required field `(.+)`", message)
    unknown = re.fullmatch(r"Object contains unknown field `(.+)`", message)
    if missing:
        return at(_join(path, missing[1]), "required, but missing")
    if unknown:
        return at(_join(path, unknown[1]), "unknown field")
    invalid = re.fullmatch(r"Invalid (?:enum )?value (.+)", message)
    if invalid:
        allowed = hints.get(path.rsplit(".", 1)[-1])
        extra = f"; one of {', '.join(repr(a) for a in allowed)}" if allowed else ""
        return at(path, f"{invalid[1]} is not an allowed value{extra}")
    return at(path, _readable(message))


def _readable(message: str) -> str:
    for code, words in _TYPES.items():
        message = message.replace(code, words)
    return message[:1].lower() + message[1:]


def _path(path: str) -> str:
    return path.removeprefix("$").removeprefix(".")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path and not name.startswith("[") else path + name
