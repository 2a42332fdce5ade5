"""Words as every language's search can match them: lower case, without accents, ligatures spelt out.

The register searches the text of each programme in the language asked for. PostgreSQL stems about
fifteen languages; for the others (Polish, Czech, Greek, the Baltic languages ...) a word matches only
as written, so "rurociąg" would never find "rurociągów". Folding both the stored text and the search
words (ą→a, ł→l, ß→ss, ø→o, Greek tonos removed ...) and matching each search word as a prefix of a
stored word makes "rurociąg" and "rurociagow" find "Spawanie rurociągów". Folding is done here, not by
PostgreSQL's ``unaccent`` extension, because the embedded PostgreSQL (pgserver) ships without it.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that are not a base letter plus combining marks, so NFKD leaves them whole.
_SPELT_OUT = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ħ": "h",
        "ı": "i",
        "ŀ": "l",
        "ŧ": "t",
        "ς": "σ",  # Greek final sigma is the same letter
    }
)
_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """``text`` in lower case without diacritics: "Spawanie RUROCIĄGÓW" → "spawanie rurociagow"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_SPELT_OUT))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_SPELT_OUT)


def prefix_query(text: str) -> str | None:
    """A PostgreSQL ``tsquery`` (configuration 'simple') in which every folded word of ``text`` must
    begin a word of the folded text; None when ``text`` has no word."""
    words = _WORD.findall(fold(text).replace("_", " "))
    if not words:
        return None
    return " & ".join(f"'{w}':*" for w in words[:32])
