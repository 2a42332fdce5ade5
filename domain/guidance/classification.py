"""The whole ESCO classification from its CSV download, in every language it holds, imported incrementally.

ESCO's CSV download is one set of files per language (``occupations_<lang>.csv``, ``skills_<lang>.csv``,
``occupationSkillRelations_<lang>.csv``, ...): the same concepts and relations, labelled in that language.
Guidance needs all of it (about 3,000 occupations, 14,000 skills and 130,000 relations) and every label,
so the import reads each language's occupations and skills for their labels and one relations file
(relations do not depend on the language), then writes through temporary tables filled with COPY: one
statement per table merges what changed, so a new ESCO release writes only the rows it changed and a
release already imported writes nothing. Labels merge by language, so a release can come one language at
a time. Parsing reuses the profile importer's reader (columns by header name, problems by file and row).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from domain.db import Connection, Database
from domain.errors import InvalidInput
from domain.profiles.esco import _Problems, _records
from domain.profiles.models import ESCO_OCCUPATION_PATTERN, ESCO_SKILL_PATTERN, ISCO_PATTERN
from domain.sql import load_queries
from domain.structs import Model

q = load_queries(__file__, "classification.sql")

_FILE = re.compile(r"^(occupations|skills|occupationSkillRelations)_([a-z]{2,3})\.csv$")
_OCCUPATION_URI = re.compile(ESCO_OCCUPATION_PATTERN)
_SKILL_URI = re.compile(ESCO_SKILL_PATTERN)
_ISCO = re.compile(ISCO_PATTERN)
_RELEASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Changes(Model):
    added: int = 0
    changed: int = 0
    removed: int = 0


class ReleaseImport(Model):
    """What importing a release did: each table's added, changed and removed rows (all zero for a release
    already imported), the totals after it, and how long it took."""

    version: str
    already_imported: bool
    languages: list[str]
    occupations: int
    skills: int
    relations: int
    changes: dict[str, Changes]
    seconds: float


@dataclass
class Classification:
    """The parsed download: labels by language, and each occupation's relations."""

    skills: dict[str, dict[str, Any]] = field(default_factory=dict)  # uri -> type, reuse, labels
    occupations: dict[str, dict[str, Any]] = field(default_factory=dict)  # uri -> isco, code, labels
    relations: dict[tuple[str, str], str] = field(default_factory=dict)  # (occupation, skill) -> relation
    languages: list[str] = field(default_factory=list)


def esco_files(folder: Path) -> dict[str, dict[str, Path]]:
    """The ESCO CSV files of a download folder by language: {"en": {"occupations": path, ...}}."""
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        match = _FILE.match(path.name)
        if match and path.is_file():
            found.setdefault(match.group(2), {})[match.group(1)] = path
    return found


def _read_skills(source: Iterable[str], language: str, into: Classification, problems: _Problems) -> None:
    file = f"skills_{language}"
    for row, cells in _records(source, file, ("conceptUri", "preferredLabel"), problems):
        uri = cells["conceptUri"]
        if not _SKILL_URI.match(uri):
            problems.add(file, row, f"conceptUri {uri!r} is not an ESCO skill URI")
            continue
        skill = into.skills.setdefault(uri, {"type": None, "reuse": None, "labels": {}})
        skill["type"] = skill["type"] or cells.get("skillType") or None
        skill["reuse"] = skill["reuse"] or cells.get("reuseLevel") or None
        if cells["preferredLabel"]:
            skill["labels"][language] = cells["preferredLabel"]


def _read_occupations(source: Iterable[str], language: str, into: Classification, problems: _Problems) -> None:
    file = f"occupations_{language}"
    for row, cells in _records(source, file, ("conceptUri", "preferredLabel", "iscoGroup"), problems):
        uri, isco = cells["conceptUri"], cells["iscoGroup"]
        if not _OCCUPATION_URI.match(uri):
            problems.add(file, row, f"conceptUri {uri!r} is not an ESCO occupation URI")
            continue
        if isco and not _ISCO.match(isco):
            problems.add(file, row, f"iscoGroup {isco!r} is not an ISCO-08 unit group (4 digits)")
            continue
        occupation = into.occupations.setdefault(uri, {"isco": None, "code": None, "labels": {}})
        occupation["isco"] = occupation["isco"] or isco or None
        occupation["code"] = occupation["code"] or cells.get("code") or None
        if cells["preferredLabel"]:
            occupation["labels"][language] = cells["preferredLabel"]


def _read_relations(source: Iterable[str], language: str, into: Classification, problems: _Problems) -> None:
    file = f"occupationSkillRelations_{language}"
    for row, cells in _records(source, file, ("occupationUri", "relationType", "skillUri"), problems):
        occupation, skill, relation = cells["occupationUri"], cells["skillUri"], cells["relationType"].lower()
        if relation not in ("essential", "optional"):
            problems.add(file, row, f"relationType {cells['relationType']!r} is not 'essential' or 'optional'")
        elif occupation not in into.occupations:
            problems.add(file, row, f"occupation {occupation} is in no occupations file")
        elif skill not in into.skills:
            problems.add(file, row, f"skill {skill} is in no skills file")
        elif into.relations.get((occupation, skill), relation) != relation:
            problems.add(file, row, f"skill {skill} is related to occupation {occupation} twice, differently")
        else:
            into.relations[occupation, skill] = relation


def read_classification(folder: Path, languages: Iterable[str] | None = None) -> Classification:
    """Parses a download folder (every language in it, or only ``languages``); raises InvalidInput listing
    every problem by file and row."""
    if not folder.is_dir():
        raise InvalidInput(f"{folder} is not a folder")
    files = esco_files(folder)
    wanted = sorted(set(languages) if languages else files)
    problems = _Problems()
    if not wanted:
        problems.add(
            None,
            None,
            f"{folder} has no ESCO CSV files: occupations_<lang>.csv, skills_<lang>.csv and "
            "occupationSkillRelations_<lang>.csv, as ESCO's download names them",
        )
    complete = [lang for lang in wanted if {"occupations", "skills"} <= set(files.get(lang, {}))]
    for lang in wanted:
        if lang not in complete:
            problems.add(None, None, f"{folder} has no occupations_{lang}.csv and skills_{lang}.csv")
    with_relations = [lang for lang in complete if "occupationSkillRelations" in files[lang]]
    if not with_relations:
        problems.add(None, None, f"{folder} has no occupationSkillRelations_<lang>.csv")
    problems.raise_if_any()
    found = Classification(languages=complete)
    with ExitStack() as stack:

        def open_csv(path: Path) -> Iterable[str]:
            return stack.enter_context(path.open(encoding="utf-8-sig", newline=""))

        for lang in complete:
            _read_skills(open_csv(files[lang]["skills"]), lang, found, problems)
            _read_occupations(open_csv(files[lang]["occupations"]), lang, found, problems)
        # Relations are the same in every language's file: English's if there, else the first.
        lang = "en" if "en" in with_relations else with_relations[0]
        _read_relations(open_csv(files[lang]["occupationSkillRelations"]), lang, found, problems)
    problems.raise_if_any()
    return found


def _skill_rows(found: Classification) -> list[tuple[Any, ...]]:
    return [(uri, s["type"], s["reuse"], msgspec.json.encode(s["labels"]).decode()) for uri, s in found.skills.items()]


def _occupation_rows(found: Classification) -> list[tuple[Any, ...]]:
    essential: dict[str, list[str]] = {}
    optional: dict[str, list[str]] = {}
    for (occupation, skill), relation in found.relations.items():
        (essential if relation == "essential" else optional).setdefault(occupation, []).append(skill)
    return [
        (
            uri,
            o["isco"],
            o["code"],
            msgspec.json.encode(o["labels"]).decode(),
            sorted(essential.get(uri, [])),
            sorted(optional.get(uri, [])),
            len(essential.get(uri, [])),
        )
        for uri, o in found.occupations.items()
    ]


async def _merge(conn: Connection, table: str, rows: list[tuple[Any, ...]], columns: list[str]) -> None:
    await conn.execute(getattr(q, f"create_new_{table}"))
    await conn.copy_records_to_table(f"new_{table}", records=rows, columns=columns)
    await conn.execute(f"ANALYZE new_{table}")  # the planner needs the counts


def _changes(row: Any) -> Changes:
    return Changes(added=row["added"], changed=row["changed"], removed=row["removed"])


async def store_classification(db: Database, version: str, found: Classification) -> ReleaseImport:
    """Writes a parsed release: only what differs from what is stored, in one transaction."""
    if not _RELEASE.match(version):
        raise InvalidInput(f"the ESCO version {version!r} must be 1–64 letters, digits, '.', '_' or '-' (e.g. v1.2.0)")
    started = time.perf_counter()
    async with db.transaction() as conn:
        await conn.execute(q.lock_import)
        known = await conn.fetchrow(q.select_release, version)
        if known is not None:
            return ReleaseImport(
                version=version,
                already_imported=True,
                languages=known["languages"],
                occupations=known["occupations"],
                skills=known["skills"],
                relations=known["relations"],
                changes={k: Changes() for k in ("occupations", "skills", "relations")},
                seconds=round(time.perf_counter() - started, 3),
            )
        await _merge(conn, "skills", _skill_rows(found), ["uri", "skill_type", "reuse_level", "labels"])
        await _merge(
            conn,
            "occupations",
            _occupation_rows(found),
            ["uri", "isco_code", "code", "labels", "essential_skills", "optional_skills", "essential_count"],
        )
        await _merge(
            conn,
            "relations",
            [(o, s, r) for (o, s), r in found.relations.items()],
            ["occupation_uri", "skill_uri", "relation"],
        )
        skills = _changes(await conn.fetchrow(q.merge_skills, version))
        occupations = _changes(await conn.fetchrow(q.merge_occupations, version))
        relations = _changes(await conn.fetchrow(q.merge_relations))
        removed_occupations = await conn.fetchval(q.remove_occupations)
        removed_skills = await conn.fetchval(q.remove_skills)
        occupations.removed, skills.removed = removed_occupations, removed_skills
        changes = {"occupations": occupations, "skills": skills, "relations": relations}
        totals = await conn.fetchrow(q.totals)
        await conn.execute(
            q.insert_release,
            version,
            found.languages,
            totals["occupations"],
            totals["skills"],
            totals["relations"],
            msgspec.to_builtins(changes),
        )
    return ReleaseImport(
        version=version,
        already_imported=False,
        languages=found.languages,
        occupations=totals["occupations"],
        skills=totals["skills"],
        relations=totals["relations"],
        changes=changes,
        seconds=round(time.perf_counter() - started, 3),
    )


async def import_release(
    db: Database, folder: Path, version: str, languages: Iterable[str] | None = None
) -> ReleaseImport:
    """Imports ESCO's CSV download in ``folder`` as release ``version`` (the CLI's ``esco import``)."""
    started = time.perf_counter()
    if not _RELEASE.match(version):
        raise InvalidInput(f"the ESCO version {version!r} must be 1–64 letters, digits, '.', '_' or '-' (e.g. v1.2.0)")
    async with db.connection() as conn:
        known = await conn.fetchval(q.select_release, version)
    # A release already imported is not even read; otherwise parsing takes seconds: off the event loop.
    found = Classification() if known else await asyncio.to_thread(read_classification, folder, languages)
    result = await store_classification(db, version, found)
    result.seconds = round(time.perf_counter() - started, 3)
    return result
