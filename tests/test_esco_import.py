"""The ESCO CSV importer: pure parsing (exact problems, never a stray exception) and storing (idempotent)."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.db import Database
from domain.errors import InvalidInput, NotFound
from domain.profiles import esco, service
from domain.profiles.models import ProfileCreate
from tests.conftest import OPERATOR

SAMPLE = {
    "occupations": (esco.SAMPLE_DIR / "occupations_en.csv").read_text(encoding="utf-8"),
    "skills": (esco.SAMPLE_DIR / "skills_en.csv").read_text(encoding="utf-8"),
    "relations": (esco.SAMPLE_DIR / "occupationSkillRelations_en.csv").read_text(encoding="utf-8"),
}
WELDER = esco.SAMPLE_OCCUPATIONS["welder"]
PIPE_FITTER = esco.SAMPLE_OCCUPATIONS["pipe fitter"]
AUTOMATION = esco.SAMPLE_OCCUPATIONS["industrial automation technician"]
UNKNOWN_OCCUPATION = "http://data.europa.eu/esco/occupation/00000000-0000-4000-8000-000000000000"
UNKNOWN_SKILL = "http://data.europa.eu/esco/skill/00000000-0000-4000-8000-000000000000"


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def to_csv(table: list[list[str]], line_end: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=line_end).writerows(table)
    return out.getvalue()


def read(occupation_uris: list[str], language: str = "en", **files: str) -> list[ProfileCreate]:
    sources = {**SAMPLE, **files}
    return esco.read_profiles(
        occupations=sources["occupations"],
        skills=sources["skills"],
        relations=sources["relations"],
        occupation_uris=occupation_uris,
        language=language,
    )


def problems_of(occupation_uris: list[str], **files: str) -> list[dict[str, Any]]:
    with pytest.raises(InvalidInput) as raised:
        read(occupation_uris, **files)
    found: list[dict[str, Any]] = raised.value.extra["problems"]
    assert found, raised.value.message
    return found


def test_the_sample_welder_has_its_isco_code_description_and_essential_then_optional_competences() -> None:
    (welder,) = read([WELDER])
    assert welder.title == {"en": "welder"} and welder.default_language == "en"
    assert welder.esco_occupation_uri == WELDER and welder.isco_code == "7212"
    assert welder.description is not None and welder.description["en"].startswith("Welders join metal parts")
    relations = [c.relation for c in welder.competences]
    assert relations == ["essential"] * 10 + ["optional"] * 5
    titles = [c.title["en"] for c in welder.competences]
    assert "carry out metal active gas welding" in titles[:10]
    assert "carry out tungsten inert gas welding" in titles[10:]
    assert titles[:10] == sorted(titles[:10], key=str.casefold)
    assert all(
        c.esco_skill_uri and c.esco_skill_uri.startswith("http://data.europa.eu/esco/skill/")
        for c in welder.competences
    )
    assert all(c.key is None for c in welder.competences)  # the key defaults to the skill URI when stored
    assert service.competences_of(welder)[0].key == welder.competences[0].esco_skill_uri


def test_all_three_sample_occupations_come_out_in_the_order_asked() -> None:
    profiles = read([AUTOMATION, WELDER, PIPE_FITTER, WELDER])
    assert [p.title["en"] for p in profiles] == ["industrial automation technician", "welder", "pipe fitter"]
    assert [p.isco_code for p in profiles] == ["3113", "7212", "7126"]
    assert all(8 <= len(p.competences) <= 16 for p in profiles)


def test_the_order_of_the_relations_file_does_not_change_the_profile() -> None:
    header, *body = rows(SAMPLE["relations"])
    random.Random(7).shuffle(body)
    assert read([WELDER], relations=to_csv([header, *body])) == read([WELDER])


def test_newer_esco_layouts_with_extra_columns_a_bom_and_crlf_line_ends_are_read() -> None:
    body = rows(SAMPLE["relations"])[1:]
    # ESCO 1.1 and later add label columns to the relations file and reorder it.
    newer = [["occupationUri", "occupationLabel", "relationType", "skillType", "skillUri", "skillLabel"]]
    newer += [[r[0], "a label", r[1], r[2], r[3], "a skill label"] for r in body]
    skills = "\ufeff" + to_csv(rows(SAMPLE["skills"]), line_end="\r\n")
    assert read([WELDER], relations=to_csv(newer), skills=skills) == read([WELDER])


def test_the_language_of_the_files_becomes_the_title_language() -> None:
    (welder,) = read([WELDER], language="da")
    assert welder.title == {"da": "welder"} and welder.default_language == "da"
    assert all(set(c.title) == {"da"} for c in welder.competences)


def test_each_broken_relations_row_is_named_with_its_row_number() -> None:
    table = rows(SAMPLE["relations"])
    table[2][1] = "mandatory"
    table[3][3] = UNKNOWN_SKILL
    table[4][3] = "http://data.europa.eu/esco/skill/not-a-uuid"
    table.append(list(table[5]))  # the same skill twice
    problems = problems_of([WELDER], relations=to_csv(table))
    assert problems == [
        {"file": "relations", "row": 3, "detail": "relationType 'mandatory' is not 'essential' or 'optional'"},
        {
            "file": "relations",
            "row": 5,
            "detail": "skillUri 'http://data.europa.eu/esco/skill/not-a-uuid' is not an ESCO skill URI",
        },
        {
            "file": "relations",
            "row": len(table),
            "detail": f"skill {table[5][3]} is already related to this occupation in row 6",
        },
        {"file": "relations", "row": 4, "detail": f"skill {UNKNOWN_SKILL} is not in the skills file"},
    ]


def test_the_message_lists_the_problems_and_rows_outside_the_named_occupations_do_not_count() -> None:
    table = rows(SAMPLE["relations"])
    pipe_fitter_row = next(i for i, r in enumerate(table) if r[0] == PIPE_FITTER)
    table[pipe_fitter_row][1] = "mandatory"
    assert read([WELDER], relations=to_csv(table)) == read([WELDER])
    with pytest.raises(InvalidInput) as raised:
        read([PIPE_FITTER], relations=to_csv(table))
    assert raised.value.message == (
        f"the ESCO files have 1 problem: relations row {pipe_fitter_row + 1}: "
        "relationType 'mandatory' is not 'essential' or 'optional'"
    )


def test_missing_occupations_and_malformed_uris_are_problems() -> None:
    problems = problems_of([WELDER, UNKNOWN_OCCUPATION, "welder"])
    assert problems == [
        {
            "file": None,
            "row": None,
            "detail": "occupation 'welder' is not an ESCO occupation URI "
            "(http://data.europa.eu/esco/occupation/<uuid>)",
        },
        {"file": "occupations", "row": None, "detail": f"there is no row for occupation {UNKNOWN_OCCUPATION}"},
    ]
    assert problems_of([]) == [
        {"file": None, "row": None, "detail": "name at least one occupation (an ESCO occupation URI) to import"}
    ]


def test_bad_occupation_and_skill_rows_are_named() -> None:
    occupations = rows(SAMPLE["occupations"])
    occupations[1][2] = "721"  # iscoGroup
    occupations[1][3] = ""  # preferredLabel
    skills = rows(SAMPLE["skills"])
    welder_skills = {r[3] for r in rows(SAMPLE["relations"]) if r[0] == WELDER}
    skill_row = next(i for i, r in enumerate(skills) if r[1] in welder_skills)
    skills[skill_row][4] = ""
    problems = problems_of([WELDER], occupations=to_csv(occupations), skills=to_csv(skills))
    assert problems == [
        {"file": "occupations", "row": 2, "detail": f"occupation {WELDER} has an empty preferredLabel"},
        {"file": "occupations", "row": 2, "detail": "iscoGroup '721' is not an ISCO-08 unit group (4 digits)"},
        {"file": "skills", "row": skill_row + 1, "detail": f"skill {skills[skill_row][1]} has an empty preferredLabel"},
    ]


def test_a_file_without_the_needed_columns_is_one_problem_not_many() -> None:
    problems = problems_of([WELDER, PIPE_FITTER], relations="occupation,type,skill\nx,y,z\n")
    assert problems == [
        {
            "file": "relations",
            "row": 1,
            "detail": "the header has no column occupationUri, relationType, skillUri "
            "(it has: occupation, type, skill)",
        }
    ]
    assert problems_of([WELDER], skills="") == [
        {
            "file": "skills",
            "row": None,
            "detail": "the file is empty; it needs a header with the columns conceptUri, preferredLabel",
        }
    ]


def test_an_occupation_without_relations_cannot_be_a_profile() -> None:
    header, *body = rows(SAMPLE["relations"])
    without_welder = to_csv([header, *[r for r in body if r[0] != WELDER]])
    assert problems_of([WELDER], relations=without_welder) == [
        {"file": "relations", "row": None, "detail": f"occupation {WELDER} has no skills in the relations file"}
    ]


def test_too_long_text_is_a_problem_of_its_row() -> None:
    occupations = rows(SAMPLE["occupations"])
    occupations[1][12] = "x" * 5001  # description
    (problem,) = problems_of([WELDER], occupations=to_csv(occupations))
    assert problem["file"] == "occupations" and problem["row"] == 2
    assert "length <= 5000" in problem["detail"] and "$.description" in problem["detail"]


def test_a_very_broken_file_reports_the_first_hundred_problems_and_counts_the_rest() -> None:
    header = rows(SAMPLE["relations"])[0]
    broken = [header] + [[WELDER, "sometimes", "knowledge", UNKNOWN_SKILL]] * 250
    with pytest.raises(InvalidInput) as raised:
        read([WELDER], relations=to_csv(broken))
    assert len(raised.value.extra["problems"]) == 100
    assert raised.value.message.startswith("the ESCO files have 250 problems: relations row 2: relationType")
    assert raised.value.message.endswith("; and 240 more (see problems)")


def test_the_language_must_be_a_language_code() -> None:
    assert problems_of([WELDER], language="English") == [
        {"file": None, "row": None, "detail": "language 'English' is not an ISO 639 code such as 'en'"}
    ]


def test_uploads_must_be_utf8() -> None:
    assert esco.decode_csv("\ufeffa,b\n".encode(), "skills") == "a,b\n"
    with pytest.raises(InvalidInput, match="the skills file is not UTF-8 text"):
        esco.decode_csv("conceptUri,preferredLabel\nx,Schwei\xdfen\n".encode("latin-1"), "skills")


# Anything a person might upload by mistake must end as our own InvalidInput, never a crash.
any_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=400)
cells = st.one_of(
    st.sampled_from([WELDER, PIPE_FITTER, UNKNOWN_SKILL, "essential", "optional", "knowledge", "7212", "", '"']),
    st.text(max_size=20),
)


def table_with_header(header: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.lists(cells, min_size=0, max_size=len(header) + 2), max_size=8).map(
        lambda body: to_csv([header, *body])
    )


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    occupations=st.one_of(any_text, table_with_header(rows(SAMPLE["occupations"])[0])),
    skills=st.one_of(any_text, table_with_header(rows(SAMPLE["skills"])[0])),
    relations=st.one_of(any_text, table_with_header(rows(SAMPLE["relations"])[0])),
    occupation_uris=st.lists(st.one_of(st.sampled_from([WELDER, PIPE_FITTER]), st.text(max_size=60)), max_size=3),
    language=st.one_of(st.just("en"), st.text(max_size=4)),
)
def test_parsing_arbitrary_text_raises_nothing_but_invalid_input(
    occupations: str, skills: str, relations: str, occupation_uris: list[str], language: str
) -> None:
    try:
        profiles = esco.read_profiles(
            occupations=occupations,
            skills=skills,
            relations=relations,
            occupation_uris=occupation_uris,
            language=language,
        )
    except InvalidInput as problem:
        assert problem.extra["problems"] and problem.message.startswith("the ESCO files have")
    else:
        assert all(isinstance(p, ProfileCreate) for p in profiles)


@settings(max_examples=100, deadline=None)
@given(content=st.binary(max_size=200))
def test_decoding_arbitrary_bytes_raises_nothing_but_invalid_input(content: bytes) -> None:
    try:
        assert isinstance(esco.decode_csv(content, "occupations"), str)
    except InvalidInput as problem:
        assert "not UTF-8" in problem.message


async def test_importing_the_sample_twice_stores_each_profile_once(db: Database) -> None:
    first = await esco.import_esco_sample(db, OPERATOR)
    assert [v.title["en"] for v in first] == ["welder", "pipe fitter", "industrial automation technician"]
    assert all(v.number == 1 for v in first)
    again = await esco.import_esco_sample(db, OPERATOR)
    assert again == first
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM occupational_profile_versions") == 3
        actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY id")]
        stored = await service.fetch_profile_version(conn, first[0].id)
    assert actions == ["occupational_profile.created"] * 3
    assert stored == first[0]
    assert stored.competences[0].key == stored.competences[0].esco_skill_uri


async def test_an_import_with_changed_content_adds_a_version_to_the_same_profile(db: Database, tmp_path: Path) -> None:
    (before,) = await esco.import_esco_folder(db, OPERATOR, esco.SAMPLE_DIR, [WELDER])
    header, *body = rows(SAMPLE["relations"])
    optional_uri = next(r[3] for r in body if r[0] == WELDER and r[1] == "optional")
    kept = [r for r in body if not (r[0] == WELDER and r[3] == optional_uri)]
    for name in ("occupations_en.csv", "skills_en.csv"):
        (tmp_path / name).write_text((esco.SAMPLE_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "occupationSkillRelations_en.csv").write_text(to_csv([header, *kept]), encoding="utf-8")

    (after,) = await esco.import_esco_folder(db, OPERATOR, tmp_path, [WELDER])
    assert before.outcome == "created" and after.outcome == "new_version"
    assert after.profile.profile_id == before.profile.profile_id and after.profile.number == 2
    assert len(after.profile.competences) == len(before.profile.competences) - 1
    assert optional_uri not in {c.key for c in after.profile.competences}
    (unchanged,) = await esco.import_esco_folder(db, OPERATOR, tmp_path, [WELDER])
    assert unchanged.outcome == "unchanged" and unchanged.profile == after.profile


async def test_a_folder_without_the_esco_files_is_refused(db: Database, tmp_path: Path) -> None:
    with pytest.raises(
        InvalidInput, match=r"there is no occupations_da\.csv in .* \(the name ESCO's CSV download gives it\)"
    ):
        await esco.import_esco_folder(db, OPERATOR, esco.SAMPLE_DIR, [WELDER], language="da")
    with pytest.raises(InvalidInput, match=r"no occupations_en\.csv"):
        await esco.import_esco_folder(db, OPERATOR, tmp_path, [WELDER])


async def test_a_broken_import_stores_nothing(db: Database) -> None:
    with pytest.raises(InvalidInput):
        await esco.import_esco(
            db,
            OPERATOR,
            **{**SAMPLE, "relations": SAMPLE["relations"] + f"{WELDER},essential,knowledge,{UNKNOWN_SKILL}\n"},
            occupation_uris=[PIPE_FITTER, WELDER],
        )
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM occupational_profiles") == 0


async def test_fetching_an_unknown_version_says_which(db: Database) -> None:
    missing = "6b0f1c9e-2d7a-4f57-9a41-8c3e0b2f5d11"
    async with db.connection() as conn:
        with pytest.raises(NotFound, match=f"there is no occupational profile version {missing}"):
            await service.fetch_profile_version(conn, __import__("uuid").UUID(missing))
