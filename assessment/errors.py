"""The one error the assessment engine raises for data it refuses."""

from __future__ import annotations

from collections.abc import Iterable


class AssessmentError(ValueError):
    """Outside data (a specification, a submission, an xAPI statement, a stored decision) was refused.

    ``problems`` lists every problem found, each a sentence that starts with the path of the offending value
    in the document (no path for the document as a whole), e.g. ``"criteria[bead].minimum: 'excellent' is
    not one of the rubric's levels ('poor', 'fair', 'good', 'very_good')"``. Structural problems (a wrong
    type, a missing or unknown field) are reported one at a time, as the decoder meets them; the rules
    checked after decoding (unique keys, ascending levels, …) are all reported together.
    """

    problems: list[str]

    def __init__(self, problems: str | Iterable[str]) -> None:
        items = [problems] if isinstance(problems, str) else list(problems)
        self.problems = items or ["the data was refused"]
        super().__init__("; ".join(self.problems))


def at(path: str, message: str) -> str:
    """A problem message: ``"path: message"``, or just the message for the document as a whole."""
    return f"{path}: {message}" if path else message


def raise_if(problems: list[str]) -> None:
    """Raise an AssessmentError listing ``problems`` if there are any."""
    if problems:
        raise AssessmentError(problems)
