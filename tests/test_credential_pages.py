"""The public credential page and its print view, as a person reads them (issue 12, item 10).

Found by the review: a revoked credential's print view still read "This certifies that … has achieved" with
only small grey text saying revoked, and neither page said when or why; the awarding body was "Festo Didactic
SE" in the page's verdict and "Festo Didactic" in its table and print view (its German name, its default
language, against its English one, the language the credential is written in).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.db import Database
from domain.organisations import service as organisations
from domain.organisations.models import OrganisationUpdate
from tests.conftest import OPERATOR, Bootstrap
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_credentials_festo import credentials_of, simulator_pass

REASON = "Assessment records were altered after the fact <see case 2026/117> & the result withdrawn"


async def bilingual_cosigned(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> tuple[Classroom, dict[str, Any]]:
    """The classroom's credential, co-signed, its awarding body named in German (its default language) and,
    shorter, in the language the programme is written in (Danish here; English in the demo)."""
    room = await classroom(client, bootstrap)
    async with db.pool.acquire() as conn:
        current = await organisations.fetch_organisation(conn, room.provider.org_id)
    await organisations.update_organisation(
        db,
        OPERATOR,
        room.provider.org_id,
        current.version,
        OrganisationUpdate(
            name={"de": "Festo Didactic SE", "da": "Festo Didactic", "en": "Festo Didactic"}, default_language="de"
        ),
    )
    await simulator_pass(client, room)
    await drain(db, settings)
    [credential] = await credentials_of(client, room)
    cosigned = await client.post(f"/credentials/{credential['id']}/cosignature", headers=room.chamber.headers)
    assert cosigned.status_code == 200, cosigned.text
    return room, cosigned.json()


def text_of(html: str) -> str:
    """The words as a reader sees them: inline elements run on, block elements break."""
    inline_removed = re.sub(r"</?(strong|q|code|a|span)\b[^>]*>", "", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", inline_removed))


async def test_the_awarding_body_has_one_name_on_the_page_and_the_print_view(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    _, credential = await bilingual_cosigned(client, bootstrap, db, settings)
    assert credential["credential"]["issuer"]["name"] == "Festo Didactic"  # as signed, in the credential's language
    for path in (f"/c/{credential['id']}", f"/c/{credential['id']}/print"):
        html = (await client.get(path)).text
        assert "Festo Didactic" in html and "Festo Didactic SE" not in html, path
    page = text_of((await client.get(f"/c/{credential['id']}")).text)
    assert "Awarded by Festo Didactic, co-signed by IHK Region Stuttgart" in page
    assert "Awarding body Festo Didactic" in page
    assert "the awarding body Festo Didactic signed first" in page


async def test_a_revoked_credential_says_so_unmistakably_with_the_date_and_reason_the_awarding_body_gave(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await bilingual_cosigned(client, bootstrap, db, settings)
    page_url = f"/c/{credential['id']}"
    assert 'class="watermark"' not in (await client.get(page_url)).text
    assert "This certifies that" in (await client.get(f"{page_url}/print")).text

    revoked = await client.post(
        f"/credentials/{credential['id']}/revocation", json={"reason": REASON}, headers=room.provider.headers
    )
    assert revoked.status_code == 200, revoked.text
    day = datetime.now(UTC).date().isoformat()
    escaped = REASON.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for path in (page_url, f"{page_url}/print"):
        response = await client.get(path)
        html = response.text
        assert '<div class="watermark" aria-hidden="true">Revoked</div>' in html, path
        assert '<section class="withdrawn" role="alert">' in html, path
        assert f'<q class="reason">{escaped}</q>' in html and REASON not in html, path  # verbatim, escaped
        words = text_of(html)
        assert f"This credential was revoked by Festo Didactic on {day}." in words, path
        assert "Festo Didactic SE" not in html, path
        assert "<script" not in html and "'unsafe-inline'" not in response.headers["content-security-policy"]
    printed = (await client.get(f"{page_url}/print")).text
    assert "This certifies that" not in printed and "This credential no longer certifies that" in printed
    assert 'class="certificate certificate-withdrawn"' in printed


async def test_a_suspended_credential_says_since_when_and_why(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await bilingual_cosigned(client, bootstrap, db, settings)
    suspended = await client.post(
        f"/credentials/{credential['id']}/suspension", json={"reason": "Under review"}, headers=room.provider.headers
    )
    assert suspended.status_code == 200, suspended.text
    words = text_of((await client.get(f"/c/{credential['id']}/print")).text)
    day = datetime.now(UTC).date().isoformat()
    assert f"This credential was suspended by Festo Didactic since {day}." in words
    assert "Reason given: Under review" in words
    assert "It certifies nothing until it is reinstated." in words
    assert "While it is suspended, this credential does not certify that" in words

    await client.delete(f"/credentials/{credential['id']}/suspension", headers=room.provider.headers)
    html = (await client.get(f"/c/{credential['id']}")).text
    assert 'class="withdrawn"' not in html and 'class="watermark"' not in html
