"""Listing an organisation's credentials stays flat as they grow: the plan reads pages, not the whole table.

On 100,000 credentials (the organisation's 10,000 among them, in all three of its roles) PostgreSQL's plan
for the listing, custom and generic alike, is index scans read backwards and merged, stopped at the page:
no sequential scan and no sort. The answers equal those of the plain OR over the three columns, page after
page, with and without filters.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.credentials.service import q
from domain.db import Connection, Database

TOTAL = 100_000
OURS_AWARDED = 6_000  # awarding body and provider
OURS_PROVIDED = 2_000  # provider only
OURS_COSIGNED = 2_000  # co-signer only
PAGE = 50

# The query before: an OR over the three columns (a scan and a sort of all of an organisation's credentials).
PLAIN_OR = """
SELECT id FROM credentials
WHERE (awarding_body_id = $1 OR provider_id = $1 OR cosigner_id = $1)
  AND ($2::text IS NULL OR state = $2)
  AND ($3::uuid IS NULL OR learner_id = $3)
  AND ($4::uuid IS NULL OR design_id = $4)
  AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6))
ORDER BY created_at DESC, id DESC
LIMIT $7
"""

ORG = UUID("00000000-0000-4000-8000-00000000000a")
LEARNER = UUID("00000000-0000-4000-8000-0000000000b0")


@pytest.fixture
async def many(db: Database) -> AsyncIterator[Connection]:
    """100,000 credentials in a transaction rolled back at the end (foreign keys are not checked for them:
    only the listing's columns matter here)."""
    async with db.connection() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute("SET LOCAL session_replication_role = replica")
            others = [uuid4() for _ in range(45)]
            await conn.execute(
                """
                INSERT INTO credentials (kind, issuance_key, learner_id, provider_id, awarding_body_id, cosigner_id,
                                         design_id, version_id, state, payload, created_at)
                SELECT 'unit', 'bench-' || n,
                       CASE WHEN n % 97 = 0 THEN $6::uuid ELSE gen_random_uuid() END,
                       CASE WHEN n <= $2::int + $3::int THEN $1
                            ELSE ($5::uuid[])[1 + n % 45] END,
                       CASE WHEN n <= $2::int THEN $1
                            ELSE ($5::uuid[])[1 + (n / 7) % 45] END,
                       CASE WHEN n > $2::int + $3::int AND n <= $2::int + $3::int + $4::int THEN $1
                            WHEN n % 3 = 0 THEN ($5::uuid[])[1 + (n / 11) % 45] END,
                       gen_random_uuid(), gen_random_uuid(),
                       CASE WHEN n % 5 = 0 THEN 'awaiting_cosignature' ELSE 'issued' END, '\\x00'::bytea,
                       now() - make_interval(secs => n * 37 % 86400000)
                FROM generate_series(1, $7::int) AS n
                """,
                ORG,
                OURS_AWARDED,
                OURS_PROVIDED,
                OURS_COSIGNED,
                others,
                LEARNER,
                TOTAL,
            )
            await conn.execute("ANALYZE credentials")
            yield conn
        finally:
            await transaction.rollback()


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += nodes(child)
    return found


async def explain(conn: Connection, generic: bool, *args: Any) -> dict[str, Any]:
    await conn.execute(f"SET LOCAL plan_cache_mode = {'force_generic_plan' if generic else 'force_custom_plan'}")
    await conn.execute(
        "PREPARE listing(uuid, text, uuid, uuid, timestamptz, uuid, integer) AS " + q.list_for_organisation
    )
    try:
        literal = ", ".join("NULL" if a is None else f"'{a}'" for a in args)
        raw = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE listing({literal})")
    finally:
        await conn.execute("DEALLOCATE listing")
    plan: dict[str, Any] = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    return plan


@pytest.mark.parametrize("generic", [False, True], ids=["custom-plan", "generic-plan"])
async def test_the_listing_reads_indexes_backwards_and_stops_at_the_page(many: Connection, generic: bool) -> None:
    for args in (
        (ORG, None, None, None, None, None, PAGE),
        (ORG, "issued", None, None, None, None, PAGE),
        (ORG, None, LEARNER, None, None, None, PAGE),
    ):
        plan = await explain(many, generic, *args)
        kinds = [n["Node Type"] for n in nodes(plan["Plan"])]
        assert "Seq Scan" not in kinds, kinds
        # No sort over the organisation's credentials: a sort only of the few a learner filter found by its index.
        sorted_rows = [
            sum(c["Actual Rows"] for c in n["Plans"]) for n in nodes(plan["Plan"]) if n["Node Type"] == "Sort"
        ]
        assert all(rows <= 500 for rows in sorted_rows), (sorted_rows, kinds)
        read = sum(n.get("Actual Rows", 0) for n in nodes(plan["Plan"]) if "Scan" in n["Node Type"])
        if args[2] is None:  # no learner: each branch reads its own index backwards, at most a page
            assert "Sort" not in kinds, kinds
            indexes = {n.get("Index Name") for n in nodes(plan["Plan"]) if n["Node Type"].startswith("Index")}
            assert {"credentials_awarding_idx", "credentials_provider_idx", "credentials_cosigner_idx"} <= indexes
            assert read <= 3 * PAGE + 3 * PAGE // 2, (read, kinds)
        print(f"\n{'generic' if generic else 'custom'} {args[1:4]}: {plan['Execution Time']:.2f} ms, {read} rows read")


async def test_the_listing_answers_as_the_plain_or_did_page_after_page(many: Connection) -> None:
    for filters in ((None, None, None), ("awaiting_cosignature", None, None), (None, LEARNER, None)):
        cursor: tuple[Any, Any] = (None, None)
        pages = 0
        while pages < 4:
            new = [r["id"] for r in await many.fetch(q.list_for_organisation, ORG, *filters, *cursor, PAGE)]
            old = [r["id"] for r in await many.fetch(PLAIN_OR, ORG, *filters, *cursor, PAGE)]
            assert new == old
            if len(new) < PAGE:
                break
            last = await many.fetchrow("SELECT created_at, id FROM credentials WHERE id = $1", new[-1])
            cursor = (last["created_at"], last["id"])
            pages += 1
    everything = await many.fetch(q.list_for_organisation, ORG, None, None, None, None, None, TOTAL)
    assert len(everything) == OURS_AWARDED + OURS_PROVIDED + OURS_COSIGNED


async def test_a_page_costs_the_same_for_2_000_or_10_000_credentials(many: Connection) -> None:
    """Timed in the same transaction: the first page of the organisation with all of them, and of one with a
    fifth (its newest 2,000 only: the older ones' provider changed)."""

    async def first_page_ms(org: UUID, query: str = q.list_for_organisation) -> float:
        for _ in range(3):  # warm: the plan cached, the pages read
            await many.fetch(query, org, None, None, None, None, None, PAGE)
        started = time.perf_counter()
        for _ in range(20):
            await many.fetch(query, org, None, None, None, None, None, PAGE)
        return (time.perf_counter() - started) / 20 * 1000

    big = await first_page_ms(ORG)
    print(f"\nthe plain OR at 10,000: {await first_page_ms(ORG, PLAIN_OR):.2f} ms")
    small_org = uuid4()
    await many.execute(
        """
        UPDATE credentials SET awarding_body_id = $2, provider_id = $2
        WHERE id IN (SELECT id FROM credentials WHERE awarding_body_id = $1 ORDER BY created_at DESC LIMIT 2000)
        """,
        ORG,
        small_org,
    )
    await many.execute("ANALYZE credentials")
    small = await first_page_ms(small_org)
    print(f"\nfirst page: {small:.2f} ms at 2,000 credentials, {big:.2f} ms at 10,000")
    assert big < max(3 * small, small + 5)
