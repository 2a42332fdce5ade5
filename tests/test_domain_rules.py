"""Unit rules of the foundation: scopes, roles, cursors, place codes, the SQL loader."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import iso3166
from domain.errors import Forbidden, InvalidInput
from domain.oauth.principals import Principal
from domain.pagination import decode_cursor, encode_cursor
from domain.scopes import SCOPES, satisfies
from domain.sql import load_queries


def test_write_scope_includes_read_and_admin_includes_everything() -> None:
    assert satisfies(frozenset({"organisations:write"}), "organisations:read")
    assert not satisfies(frozenset({"organisations:read"}), "organisations:write")
    assert not satisfies(frozenset({"programmes:write"}), "organisations:read")
    assert all(satisfies(frozenset({"admin"}), scope) for scope in SCOPES)


def test_a_client_holds_every_role_in_its_own_organisation_only() -> None:
    own, other = uuid.uuid4(), uuid.uuid4()
    principal = Principal(
        token_id="t", client_id="c", client_organisation_id=own, scopes=frozenset({"organisations:read"})
    )
    assert "admin" in principal.roles_in(own)
    assert principal.roles_in(other) == frozenset()
    with pytest.raises(Forbidden, match="not a member"):
        principal.require_role(other)


def test_a_person_holds_the_roles_of_their_memberships() -> None:
    org = uuid.uuid4()
    person = Principal(
        token_id="t",
        client_id="c",
        client_organisation_id=uuid.uuid4(),
        scopes=frozenset({"organisations:write"}),
        person_id=uuid.uuid4(),
        memberships={org: frozenset({"viewer"})},
    )
    person.require_role(org)
    with pytest.raises(Forbidden, match="one of the roles admin"):
        person.require_role(org, frozenset({"admin"}))


@given(st.datetimes(timezones=st.just(UTC)), st.uuids())
def test_cursors_round_trip(created_at: datetime, row_id: uuid.UUID) -> None:
    assert decode_cursor(encode_cursor(created_at, row_id)) == (created_at, str(row_id))


@given(st.text(max_size=60))
def test_any_cursor_text_is_either_valid_or_refused_cleanly(text: str) -> None:
    with contextlib.suppress(InvalidInput):
        decode_cursor(text)


def test_place_codes() -> None:
    assert iso3166.country_problem("DK") is None
    assert iso3166.country_problem("XX")
    assert iso3166.region_problem("DE-BW", "DE") is None
    assert "not in country" in (iso3166.region_problem("DE-BW", "DK") or "")


def test_sql_loader_reads_named_sections(tmp_path: Path) -> None:
    (tmp_path / "queries.sql").write_text("-- name: one\nSELECT 1;\n\n-- name: two\nSELECT 2\n")
    queries = load_queries(str(tmp_path / "module.py"))
    assert queries.one == "SELECT 1" and queries["two"] == "SELECT 2"
    (tmp_path / "queries.sql").write_text("-- name: one\nSELECT 1;\n-- name: one\nSELECT 2\n")
    with pytest.raises(ValueError, match="twice"):
        load_queries(str(tmp_path / "module.py"))
