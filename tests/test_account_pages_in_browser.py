"""The pages a person signs in, accepts an invitation, resets a password, confirms an address and sets up a
second factor on, in a real headless Chromium (Debian's ``chromium``, driven by playwright-core from
``tests/node``) against a real server: at a phone's width (360 px) nothing is wider than the window (checked on
the document's scrollWidth and on the saved full-page screenshot's PNG width), every field has a label, Tab
moves through the fields in order with a visible outline, the language is the person's, and the forms work
when filled in and sent by the browser."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from domain.db import Database
from tests.conftest import Bootstrap
from tests.live_server import LoopbackServer
from tests.outbox_drain import drain
from tests.smtp_server import Inbox
from tests.test_pages_in_browser import assert_offline_and_clean, browse, consent_query
from tests.test_people_onboarding import PASSWORD, only_link

PHONE = 360


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def phone_visit(name: str, url: str, folder: Path, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "url": url,
        "width": PHONE,
        "height": 740,
        "screenshot": str(folder / f"{name.replace(' ', '-')}.png"),
        "fullPage": True,
        **extra,
    }


def assert_accessible_on_a_phone(visit: dict[str, Any], folder: Path) -> None:
    assert visit["scrollWidth"] <= visit["innerWidth"] == PHONE, (visit["name"], visit["scrollWidth"])
    assert visit["unlabelled"] == [], (visit["name"], visit["unlabelled"])
    width, height = png_size(folder / f"{visit['name'].replace(' ', '-')}.png")
    assert width == PHONE and height >= 200, (visit["name"], width, height)  # nothing ran off to the right
    for focused in visit["focusOrder"]:
        assert focused["outline"], (visit["name"], focused)


async def test_the_account_pages_work_and_fit_a_phone_in_the_persons_language(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    settings: Settings,
    inbox: Inbox,
    tmp_path: Path,
) -> None:
    if folder := os.environ.get("GUILDHALL_SCREENSHOTS"):  # to look at what the test saw
        tmp_path = Path(folder)
        tmp_path.mkdir(parents=True, exist_ok=True)
    ihk = await bootstrap.integrator(["organisations:write"], name="IHK Region Stuttgart", kind="chamber", country="DE")
    invited = await client.post(
        f"/organisations/{ihk.org_id}/invitations",
        json={"email": "piotr@ihk.example", "name": "Piotr Nowak", "roles": ["signatory"], "language": "pl"},
        headers=ihk.headers,
    )
    assert invited.status_code == 201, invited.text
    org = await bootstrap.organisation("TEKNIQ")
    await bootstrap.member(org.id, "mette@tekniq.example", ["author"])
    assert (await client.post("/password-resets", json={"email": "mette@tekniq.example"})).status_code == 202
    await drain(db, settings)
    invitation = only_link(inbox, "piotr@ihk.example", "/invitations/")
    reset = only_link(inbox, "mette@tekniq.example", "/account/password-reset/")
    consent = await consent_query(bootstrap)

    async with LoopbackServer(create_app(settings)) as server:
        origin = server.url
        result = await browse(
            phone_visit("consent page", f"{origin}/oauth/authorize?{consent}", tmp_path, tabs=3),
            phone_visit("invitation page", f"{origin}{invitation}", tmp_path, tabs=1),
            phone_visit(
                "invitation accepted",
                f"{origin}{invitation}",
                tmp_path,
                fill={"#password": PASSWORD},
                submit="button[type=submit]",
            ),
            phone_visit("reset request page", f"{origin}/account/password-reset", tmp_path, tabs=2),
            phone_visit(
                "reset requested",
                f"{origin}/account/password-reset",
                tmp_path,
                fill={"#email": "nobody@tekniq.example"},
                submit="button[type=submit]",
            ),
            phone_visit("new password page", f"{origin}{reset}", tmp_path, tabs=1),
            phone_visit(
                "new password set",
                f"{origin}{reset}",
                tmp_path,
                fill={"#password": "a brand new password"},
                submit="button[type=submit]",
            ),
            phone_visit("second factor page", f"{origin}/account/second-factor?lang=de", tmp_path, tabs=3),
            phone_visit(
                "second factor key",
                f"{origin}/account/second-factor?lang=de",
                tmp_path,
                fill={"#email": "piotr@ihk.example", "#password": PASSWORD},
                submit="button[type=submit]",
            ),
        )
    assert_offline_and_clean(result, origin)
    visits = {visit["name"]: visit for visit in result["visits"]}
    for visit in visits.values():
        assert_accessible_on_a_phone(visit, tmp_path)

    assert [f["id"] for f in visits["consent page"]["focusOrder"]] == ["email", "password", "one_time_code"]
    assert [f["id"] for f in visits["second factor page"]["focusOrder"]] == ["email", "password", "button"]
    # The username for password managers is hidden, and out of the way of the keyboard.
    assert [f["id"] for f in visits["invitation page"]["focusOrder"]] == ["password"]
    assert [f["id"] for f in visits["new password page"]["focusOrder"]] == ["password"]
    assert "piotr@ihk.example" not in visits["invitation page"]["text"].split("\n")[-3:]
    assert visits["invitation page"]["lang"] == "pl" and "Przyjmij zaproszenie" in visits["invitation page"]["text"]
    assert "Jesteś teraz członkiem IHK Region Stuttgart" in visits["invitation accepted"]["text"]
    assert "on its way" in visits["reset requested"]["text"]
    assert "Your password is changed" in visits["new password set"]["text"]
    key_page = visits["second factor key"]
    assert key_page["lang"] == "de" and "Schlüssel" in key_page["text"] and "Einmalcode" in key_page["text"]
