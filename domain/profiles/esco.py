"""Occupational profiles from the ESCO classification's CSV download.

ESCO publishes, per language, ``occupations_<lang>.csv``, ``skills_<lang>.csv`` and
``occupationSkillRelations_<lang>.csv``. Parsing is pure (text in, Structs out) and reports every
problem it finds at once, with the file and the row (counted as a spreadsheet does: the header is
row 1). Columns are found by their header names, so extra columns of newer ESCO releases are fine.
Nothing is ever downloaded: the files come from the caller.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from domain.db import Database
from domain.errors import InvalidInput
from domain.profiles import service
from domain.profiles.models import (
    ESCO_OCCUPATION_PATTERN,
    ESCO_SKILL_PATTERN,
    ISCO_PATTERN,
    ImportedProfile,
    ProfileCreate,
    ProfileVersion,
    Relation,
)
from domain.writes import Actor

SAMPLE_DIR = Path(__file__).parent / "sample"
# The occupations of the hand-made sample (their UUIDs are ours, not ESCO's: see sample/README.md).
SAMPLE_OCCUPATIONS = {
    "welder": "http://data.europa.eu/esco/occupation/77c60ebb-1151-476a-89c4-9a381bc7c32a",
    "pipe fitter": "http://data.europa.eu/esco/occupation/3f2f7eea-cd7b-4e19-bf6a-8433c291ea4f",
    "industrial automation technician": "http://data.europa.eu/esco/occupation/e3cdb267-313c-49b5-b27f-546959da86d5",
}

FILES = ("occupations", "skills", "relations")
_FILE_NAMES = {"occupations": "occupations", "skills": "skills", "relations": "occupationSkillRelations"}
_OCCUPATION_URI = re.compile(ESCO_OCCUPATION_PATTERN)
_SKILL_URI = re.compile(ESCO_SKILL_PATTERN)
_ISCO = re.compile(ISCO_PATTERN)
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_OCCUPATION_FORM = "http://data.europa.eu/esco/occupation/<uuid>"
_MAX_PROBLEMS = 100
_SHOWN_IN_DETAIL = 10

# A file's text: a string, or an iterable of lines such as an open text file (opened with newline="").
TextSource = str | Iterable[str]


class EscoProblem(msgspec.Struct):
    file: str | None  # occupations, skills, relations; None for the request itself
    row: int | None
    detail: str

    def __str__(self) -> str:
        where = [self.file or "", f"row {self.row}" if self.row is not None else ""]
        prefix = " ".join(w for w in where if w)
        return f"{prefix}: {self.detail}" if prefix else self.detail


class EscoOccupation(msgspec.Struct, frozen=True):
    uri: str
    row: int
    preferred_label: str
    isco_group: str | None
    description: str | None


class EscoSkill(msgspec.Struct, frozen=True):
    uri: str
    preferred_label: str


class EscoRelation(msgspec.Struct, frozen=True):
    row: int
    occupation_uri: str
    relation: Relation
    skill_uri: str


@dataclass
class _Problems:
    found: list[EscoProblem] = field(default_factory=list)
    more: int = 0
    unreadable: set[str] = field(default_factory=set)  # files not read to the end: absences prove nothing

    def add(self, file: str | None, row: int | None, detail: str) -> None:
        if len(self.found) < _MAX_PROBLEMS:
            self.found.append(EscoProblem(file, row, detail))
        else:
            self.more += 1

    def raise_if_any(self) -> None:
        if not self.found:
            return
        total = len(self.found) + self.more
        shown = "; ".join(str(p) for p in self.found[:_SHOWN_IN_DETAIL])
        rest = f"; and {total - _SHOWN_IN_DETAIL} more (see problems)" if total > _SHOWN_IN_DETAIL else ""
        raise InvalidInput(
            f"the ESCO files have {total} problem{'s' if total != 1 else ''}: {shown}{rest}",
            problems=msgspec.to_builtins(self.found),
        )


def decode_csv(content: bytes, file: str) -> str:
    """The text of an uploaded CSV file: UTF-8, with or without a byte-order mark."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the {file} file is not UTF-8 text (byte {exc.start} cannot be decoded); ESCO's CSV files are UTF-8",
            problems=[{"file": file, "row": None, "detail": "not UTF-8 text"}],
        ) from exc


def _lines(source: TextSource) -> Iterable[str]:
    # As a file opened with newline="" would: csv itself handles \r, \n and line breaks in quotes.
    return io.StringIO(source, newline="") if isinstance(source, str) else source


def _records(
    source: TextSource, file: str, required: Sequence[str], problems: _Problems
) -> Iterator[tuple[int, dict[str, str]]]:
    """(row, cells by column name) for each data row; problems with the header or the CSV syntax
    end the file early, after being recorded."""
    reader = csv.reader(_lines(source))
    columns: dict[str, int] = {}
    row = 0
    try:
        for row, cells in enumerate(reader, start=1):
            if row == 1:
                names = [c.strip().lstrip("\ufeff") for c in cells]
                columns = {name: i for i, name in reversed(list(enumerate(names)))}
                missing = [name for name in required if name not in columns]
                if missing:
                    problems.add(file, 1, f"the header has no column {', '.join(missing)} (it has: {', '.join(names)})")
                    problems.unreadable.add(file)
                    return
                continue
            if cells:
                yield row, {name: cells[i].strip() if i < len(cells) else "" for name, i in columns.items()}
    except (csv.Error, UnicodeDecodeError) as exc:
        problems.add(file, row + 1, f"the file cannot be read as CSV here: {exc}")
        problems.unreadable.add(file)
        return
    if row == 0:
        problems.add(file, None, f"the file is empty; it needs a header with the columns {', '.join(required)}")
        problems.unreadable.add(file)


def _relations(source: TextSource, wanted: set[str], problems: _Problems) -> tuple[list[EscoRelation], set[str]]:
    """The valid relations of the wanted occupations, and the occupations that have any row."""
    relations: list[EscoRelation] = []
    first_row: dict[tuple[str, str], int] = {}
    seen: set[str] = set()
    for row, cells in _records(source, "relations", ("occupationUri", "relationType", "skillUri"), problems):
        occupation, skill = cells["occupationUri"], cells["skillUri"]
        if occupation not in wanted:
            continue
        seen.add(occupation)
        relation = cells["relationType"].lower()
        if relation not in ("essential", "optional"):
            problems.add("relations", row, f"relationType {cells['relationType']!r} is not 'essential' or 'optional'")
        elif not _SKILL_URI.match(skill):
            problems.add("relations", row, f"skillUri {skill!r} is not an ESCO skill URI")
        elif (occupation, skill) in first_row:
            problems.add(
                "relations",
                row,
                f"skill {skill} is already related to this occupation in row {first_row[occupation, skill]}",
            )
        else:
            first_row[occupation, skill] = row
            relations.append(
                EscoRelation(row, occupation, "essential" if relation == "essential" else "optional", skill)
            )
    return relations, seen


def _occupations(source: TextSource, wanted: set[str], problems: _Problems) -> dict[str, EscoOccupation]:
    found: dict[str, EscoOccupation] = {}
    for row, cells in _records(source, "occupations", ("conceptUri", "preferredLabel", "iscoGroup"), problems):
        uri = cells["conceptUri"]
        if uri not in wanted or uri in found:
            continue
        label, isco = cells["preferredLabel"], cells["iscoGroup"]
        if not label:
            problems.add("occupations", row, f"occupation {uri} has an empty preferredLabel")
        if isco and not _ISCO.match(isco):
            problems.add("occupations", row, f"iscoGroup {isco!r} is not an ISCO-08 unit group (4 digits)")
        description = cells.get("description") or cells.get("definition") or None
        found[uri] = EscoOccupation(uri, row, label, isco or None, description)
    return found


def _skills(source: TextSource, needed: set[str], problems: _Problems) -> dict[str, EscoSkill]:
    found: dict[str, EscoSkill] = {}
    for row, cells in _records(source, "skills", ("conceptUri", "preferredLabel"), problems):
        uri = cells["conceptUri"]
        if uri not in needed or uri in found:
            continue
        if not cells["preferredLabel"]:
            problems.add("skills", row, f"skill {uri} has an empty preferredLabel")
        found[uri] = EscoSkill(uri, cells["preferredLabel"])
    return found


def _wanted(occupation_uris: Sequence[str], language: str, problems: _Problems) -> list[str]:
    """The well-formed occupation URIs asked for, once each, in order."""
    if not _LANGUAGE.match(language):
        problems.add(None, None, f"language {language!r} is not an ISO 639 code such as 'en'")
    if not occupation_uris:
        problems.add(None, None, "name at least one occupation (an ESCO occupation URI) to import")
    wanted = []
    for uri in dict.fromkeys(occupation_uris):
        if _OCCUPATION_URI.match(uri):
            wanted.append(uri)
        else:
            problems.add(None, None, f"occupation {uri!r} is not an ESCO occupation URI ({_OCCUPATION_FORM})")
    return wanted


def _profile(
    occupation: EscoOccupation, relations: list[EscoRelation], skills: dict[str, EscoSkill], language: str
) -> dict[str, Any]:
    # A stable order (essential first, then by title), so that the same ESCO content always makes
    # the same version, however the relations file is ordered.
    ordered = sorted(
        relations,
        key=lambda r: (r.relation != "essential", skills[r.skill_uri].preferred_label.casefold(), r.skill_uri),
    )
    competences = [
        {"escoSkillUri": r.skill_uri, "title": {language: skills[r.skill_uri].preferred_label}, "relation": r.relation}
        for r in ordered
    ]
    return {
        "title": {language: occupation.preferred_label},
        "defaultLanguage": language,
        "escoOccupationUri": occupation.uri,
        "iscoCode": occupation.isco_group,
        "description": {language: occupation.description} if occupation.description else None,
        "competences": competences,
    }


def read_profiles(
    *,
    occupations: TextSource,
    skills: TextSource,
    relations: TextSource,
    occupation_uris: Sequence[str],
    language: str = "en",
) -> list[ProfileCreate]:
    """The profile content of each named occupation, titled in ``language``.

    Raises InvalidInput listing every problem (``problems``: file, row, detail).
    """
    problems = _Problems()
    wanted = _wanted(occupation_uris, language, problems)
    # Relations first: they say which skills are needed, so the skills file is read only for those.
    related, with_relations = _relations(relations, set(wanted), problems)
    found = _occupations(occupations, set(wanted), problems)
    known_skills = _skills(skills, {r.skill_uri for r in related}, problems)
    for r in related:
        if r.skill_uri not in known_skills and "skills" not in problems.unreadable:
            problems.add("relations", r.row, f"skill {r.skill_uri} is not in the skills file")
    profiles = []
    for uri in wanted:
        occupation = found.get(uri)
        own = [r for r in related if r.occupation_uri == uri and r.skill_uri in known_skills]
        if occupation is None:
            if "occupations" not in problems.unreadable:
                problems.add("occupations", None, f"there is no row for occupation {uri}")
        elif uri not in with_relations:
            if "relations" not in problems.unreadable:
                problems.add("relations", None, f"occupation {uri} has no skills in the relations file")
        elif not problems.found:  # otherwise the import fails anyway, and this would only echo a problem
            try:
                profiles.append(msgspec.convert(_profile(occupation, own, known_skills, language), ProfileCreate))
            except msgspec.ValidationError as exc:
                problems.add("occupations", occupation.row, f"occupation {uri} cannot be a profile: {exc}")
    problems.raise_if_any()
    return profiles


async def import_esco(
    db: Database,
    actor: Actor,
    *,
    occupations: TextSource,
    skills: TextSource,
    relations: TextSource,
    occupation_uris: Sequence[str],
    language: str = "en",
) -> list[ImportedProfile]:
    """Imports the named occupations: new profiles, new versions where ESCO's content changed,
    nothing where it did not."""
    profiles = read_profiles(
        occupations=occupations,
        skills=skills,
        relations=relations,
        occupation_uris=occupation_uris,
        language=language,
    )
    return await service.store_imported(db, actor, profiles)


def esco_file(folder: Path, file: str, language: str) -> Path:
    """Where ESCO's download keeps ``file`` (occupations, skills, relations) for ``language``."""
    if file not in _FILE_NAMES:
        raise ValueError(f"unknown ESCO file {file!r}; one of {', '.join(FILES)}")
    path = folder / f"{_FILE_NAMES[file]}_{language}.csv"
    if not path.is_file():
        raise InvalidInput(f"there is no {path.name} in {folder} (the name ESCO's CSV download gives it)")
    return path


async def import_esco_folder(
    db: Database, actor: Actor, folder: Path, occupation_uris: Sequence[str], language: str = "en"
) -> list[ImportedProfile]:
    """Imports from a folder holding ESCO's CSV files for ``language`` (the CLI's ``profiles import``)."""
    if not _LANGUAGE.match(language):
        raise InvalidInput(f"language {language!r} is not an ISO 639 code such as 'en'")
    paths = {file: esco_file(folder, file, language) for file in FILES}
    with ExitStack() as files:
        opened = {f: files.enter_context(p.open(encoding="utf-8-sig", newline="")) for f, p in paths.items()}
        profiles = read_profiles(
            occupations=opened["occupations"],
            skills=opened["skills"],
            relations=opened["relations"],
            occupation_uris=occupation_uris,
            language=language,
        )
    return await service.store_imported(db, actor, profiles)


async def import_esco_sample(db: Database, actor: Actor) -> list[ProfileVersion]:
    """Imports the shipped hand-made sample (welder, pipe fitter, automation technician);
    returns the latest version of each profile. Running it again changes nothing."""
    imported = await import_esco_folder(db, actor, SAMPLE_DIR, list(SAMPLE_OCCUPATIONS.values()))
    return [item.profile for item in imported]
