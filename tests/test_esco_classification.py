"""The whole ESCO classification, in every language of the download: imported with COPY, incrementally."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from domain.db import Database
from domain.errors import InvalidInput
from domain.guidance import classification

FIXTURE = Path(__file__).parent / "fixtures" / "esco"
OCCUPATION = "http://data.europa.eu/esco/occupation/"
SKILL = "http://data.europa.eu/esco/skill/"
PIPE_FITTER = OCCUPATION + "3f2f7eea-cd7b-4e19-bf6a-8433c291ea4f"
WELDER = OCCUPATION + "77c60ebb-1151-476a-89c4-9a381bc7c32a"
CUT_PIPES = SKILL + "32a1a710-2665-410a-8b82-faad7d20c38f"
BEND_PIPES = SKILL + "789b9da2-b1cf-4563-a5d7-f0a7df939119"
WELDING_EQUIPMENT = SKILL + "abcbd3f1-52b6-4174-81b7-8c43679d9509"
NEW_SKILL = SKILL + "00000000-1111-4222-8333-444444444444"


def edit(path: Path, change: object) -> None:
    with path.open(newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    table = change(table)  # type: ignore[operator]
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(table)


async def test_every_language_of_the_download_is_imported_with_its_labels(db: Database) -> None:
    result = await classification.import_release(db, FIXTURE, "v1")
    assert result.languages == ["de", "en", "pl"] and not result.already_imported
    assert (result.occupations, result.skills, result.relations) == (3, 38, 46)
    assert result.changes["occupations"].added == 3 and result.changes["skills"].added == 38
    assert result.changes["relations"].added == 46
    async with db.connection() as conn:
        labels = await conn.fetchval("SELECT labels FROM esco_occupations WHERE uri = $1", PIPE_FITTER)
        assert labels == {"en": "pipe fitter", "de": "Rohrleitungsbauer/Rohrleitungsbauerin", "pl": "monter rurociągów"}
        row = await conn.fetchrow("SELECT * FROM esco_occupations WHERE uri = $1", PIPE_FITTER)
        assert row["isco_code"] == "7126" and len(row["essential_skills"]) == 10 and len(row["optional_skills"]) == 6
        assert CUT_PIPES in row["essential_skills"] and WELDING_EQUIPMENT in row["optional_skills"]
        skill = await conn.fetchrow("SELECT * FROM esco_skills WHERE uri = $1", CUT_PIPES)
        assert skill["labels"]["pl"] == "cięcie rur na wymiar" and skill["skill_type"] == "skill/competence"
        release = await conn.fetchrow("SELECT * FROM esco_releases WHERE version = 'v1'")
        assert release["relations"] == 46 and release["changes"]["skills"] == {"added": 38, "changed": 0, "removed": 0}


async def test_the_same_release_again_writes_nothing(db: Database) -> None:
    await classification.import_release(db, FIXTURE, "v1")
    again = await classification.import_release(db, FIXTURE, "v1")
    assert again.already_imported and again.changes["skills"].added == 0 and again.relations == 46
    async with db.connection() as conn:
        # A new release with the same content writes no row either: every row keeps the release that wrote it.
        unchanged = await classification.import_release(db, FIXTURE, "v1.0.1")
        assert all(c.added == c.changed == c.removed == 0 for c in unchanged.changes.values())
        assert await conn.fetchval("SELECT count(*) FROM esco_skills WHERE release <> 'v1'") == 0
        assert await conn.fetchval("SELECT count(*) FROM esco_occupations WHERE release <> 'v1'") == 0


async def test_a_new_release_writes_only_the_rows_it_changed(db: Database, tmp_path: Path) -> None:
    await classification.import_release(db, FIXTURE, "v1")
    folder = tmp_path / "esco-v2"
    shutil.copytree(FIXTURE, folder)
    # A Polish label changes; a skill is new and essential to the pipe fitter; "bend pipes" leaves it; the
    # welding equipment becomes essential for it.
    edit(
        folder / "skills_pl.csv",
        lambda t: [[c.replace("gięcie rur", "gięcie rur stalowych") for c in r] for r in t],
    )
    for lang in ("en", "de", "pl"):
        edit(
            folder / f"skills_{lang}.csv",
            lambda t: [
                *t,
                ["KnowledgeSkillCompetence", NEW_SKILL, "skill/competence", "sector-specific", "weld pipelines"]
                + [""] * (len(t[0]) - 5),
            ],
        )
    for lang in ("en", "de"):
        edit(
            folder / f"occupationSkillRelations_{lang}.csv",
            lambda t: [
                *[
                    [r[0], "essential" if r[3] == WELDING_EQUIPMENT and r[0] == PIPE_FITTER else r[1], r[2], r[3]]
                    for r in t
                    if not (r[0] == PIPE_FITTER and r[3] == BEND_PIPES)
                ],
                [PIPE_FITTER, "essential", "skill/competence", NEW_SKILL],
            ],
        )
    result = await classification.import_release(db, folder, "v2")
    assert (result.changes["skills"].added, result.changes["skills"].changed, result.changes["skills"].removed) == (
        1,
        1,
        0,
    )
    relations = result.changes["relations"]
    assert (relations.added, relations.changed, relations.removed) == (1, 1, 1)
    assert (result.changes["occupations"].added, result.changes["occupations"].changed) == (0, 1)
    async with db.connection() as conn:
        written = await conn.fetch("SELECT uri FROM esco_skills WHERE release = 'v2' ORDER BY uri")
        assert [r["uri"] for r in written] == sorted([NEW_SKILL, BEND_PIPES])
        pipe = await conn.fetchrow("SELECT * FROM esco_occupations WHERE uri = $1", PIPE_FITTER)
        assert NEW_SKILL in pipe["essential_skills"] and WELDING_EQUIPMENT in pipe["essential_skills"]
        assert BEND_PIPES not in pipe["essential_skills"] and pipe["release"] == "v2"
        assert await conn.fetchval("SELECT release FROM esco_occupations WHERE uri = $1", WELDER) == "v1"
        assert await conn.fetchval("SELECT count(*) FROM esco_releases") == 2


async def test_one_language_at_a_time_merges_its_labels(db: Database, tmp_path: Path) -> None:
    await classification.import_release(db, FIXTURE, "v1", languages=["en"])
    folder = tmp_path / "pl-only"
    folder.mkdir()
    for name in ("occupations", "skills", "occupationSkillRelations"):
        shutil.copy(FIXTURE / f"{name}_pl.csv", folder)
    result = await classification.import_release(db, folder, "v1-pl")
    assert result.languages == ["pl"] and result.changes["skills"].changed == 38
    async with db.connection() as conn:
        labels = await conn.fetchval("SELECT labels FROM esco_skills WHERE uri = $1", CUT_PIPES)
    assert labels == {"en": "cut pipes to length", "pl": "cięcie rur na wymiar"}


async def test_broken_rows_are_named_by_file_and_row(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(FIXTURE, folder)
    edit(folder / "occupationSkillRelations_en.csv", lambda t: [*t, [PIPE_FITTER, "essential", "x", NEW_SKILL]])
    edit(folder / "occupations_de.csv", lambda t: [t[0], [c if i != 2 else "72" for i, c in enumerate(t[1])], *t[2:]])
    with pytest.raises(InvalidInput) as raised:
        await classification.import_release(db, folder, "v1")
    problems = raised.value.extra["problems"]
    assert {
        "file": "occupations_de",
        "row": 2,
        "detail": "iscoGroup '72' is not an ISCO-08 unit group (4 digits)",
    } in problems
    assert {
        "file": "occupationSkillRelations_en",
        "row": 48,
        "detail": f"skill {NEW_SKILL} is in no skills file",
    } in problems
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM esco_skills") == 0


async def test_a_folder_without_the_files_or_a_bad_version_is_refused(db: Database, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no occupationSkillRelations"):
        shutil.copy(FIXTURE / "occupations_en.csv", tmp_path)
        shutil.copy(FIXTURE / "skills_en.csv", tmp_path)
        await classification.import_release(db, tmp_path, "v1")
    with pytest.raises(InvalidInput, match="ESCO version"):
        await classification.import_release(db, FIXTURE, "v 1; drop")
