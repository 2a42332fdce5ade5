"""The pages people open, in a real headless Chromium (Debian's ``chromium``, driven by playwright-core from
``tests/node``) against a real server (uvicorn on a loopback port), with every request beyond this machine
blocked (issue 12, items 6 and 10):

* ``/schema`` renders every operation of the OpenAPI document with nothing from the internet, under its CSP;
* ``/c/{id}`` and its print view, valid and revoked, and the consent page fit a desktop (1280 px) and a phone
  (375 px): nothing is wider than the window.
"""

from __future__ import annotations

import asyncio
import filecmp
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api import schema_viewer
from api.app import create_app
from api.settings import Settings
from domain.db import Database
from domain.scopes import OB_CREDENTIAL_READONLY, OB_CREDENTIAL_UPSERT, OB_PROFILE_READONLY, OB_PROFILE_UPDATE
from tests.conftest import Bootstrap
from tests.live_server import LoopbackServer
from tests.node_checkers import NODE_DIR, node_binary
from tests.oauth_flow import s256
from tests.test_credential_pages import REASON, bilingual_cosigned
from tests.test_openapi_tools import _fetch, _operation_ids

CHROMIUM = os.environ.get("GUILDHALL_CHROMIUM", "/usr/bin/chromium")
BROWSER_SECONDS = 240  # a browser start and Swagger UI laying out 140 operations twice, on a busy 2-core machine
DESKTOP, PHONE = 1280, 375


async def browse(*visits: dict[str, Any]) -> dict[str, Any]:
    """``tests/node/browser_pages.mjs``: what Chromium shows of each visit."""
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    process = await asyncio.create_subprocess_exec(
        node_binary(),
        str(NODE_DIR / "browser_pages.mjs"),
        cwd=NODE_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    payload = json.dumps({"executablePath": CHROMIUM, "visits": list(visits)}).encode()
    try:
        async with asyncio.timeout(BROWSER_SECONDS):
            stdout, stderr = await process.communicate(payload)
    except TimeoutError:
        process.kill()
        await process.communicate()
        raise
    assert process.returncode == 0, stderr.decode()[-4000:]
    result: dict[str, Any] = json.loads(stdout)
    return result


def at_both_widths(name: str, url: str, **extra: Any) -> list[dict[str, Any]]:
    visits = [{"name": f"{name} at {width}", "url": url, "width": width, **extra} for width in (DESKTOP, PHONE)]
    if folder := os.environ.get("GUILDHALL_SCREENSHOTS"):  # to look at what the test saw
        for visit in visits:
            visit["screenshot"] = str(Path(folder) / (visit["name"].replace(" ", "-").replace("/", "") + ".png"))
    return visits


def assert_offline_and_clean(result: dict[str, Any], origin: str) -> None:
    assert result["blocked"] == [], f"the pages tried to reach other hosts: {result['blocked']}"
    assert all(url.startswith(origin) or url.startswith("data:") for url in result["loaded"]), result["loaded"]
    for visit in result["visits"]:
        assert visit["status"] == 200, visit["name"]
        assert visit["pageErrors"] == [], (visit["name"], visit["pageErrors"])
        # A Content-Security-Policy refusal is logged as a console error: there must be none.
        assert visit["consoleErrors"] == [], (visit["name"], visit["consoleErrors"])


def assert_fits(visit: dict[str, Any]) -> None:
    assert visit["scrollWidth"] <= visit["innerWidth"], (
        f"{visit['name']}: the page is {visit['scrollWidth']} px wide in a {visit['innerWidth']} px window"
    )


def test_the_vendored_viewer_is_the_pinned_npm_package_byte_for_byte() -> None:
    package = NODE_DIR / "node_modules" / "swagger-ui-dist"
    assert json.loads((package / "package.json").read_text())["version"] == schema_viewer.VERSION
    pinned = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["swagger-ui-dist"]
    assert pinned == schema_viewer.VERSION
    ours = Path(schema_viewer.__file__).parent
    vendored = [name for name in schema_viewer.ASSETS if not name.startswith("guildhall-")]
    for name in vendored:
        assert filecmp.cmp(ours / name, package / name, shallow=False), name
    assert "Apache License" in (ours / "LICENSE").read_text()


async def test_the_schema_page_names_only_its_own_assets_and_runs_no_inline_script(
    client: AsyncTestClient[Litestar],
) -> None:
    """Found by the review: /schema loaded its viewer from a CDN, so it was a blank page without the internet."""
    page = await client.get("/schema")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "http://" not in html and "https://" not in html and "cdn" not in html.lower()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert scripts and all('src="/schema/assets/' in attributes and not body.strip() for attributes, body in scripts)
    assert "style=" not in html and "<style" not in html
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp and page.headers["x-frame-options"] == "DENY"
    for asset in re.findall(r'(?:src|href)="(/schema/assets/[^"]+)"', html):
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert served.headers["content-type"].split(";")[0] in ("text/javascript", "text/css"), asset
    assert (await client.get("/schema/assets/__init__.py")).status_code == 404
    assert (await client.get("/schema/assets/LICENSE")).status_code == 200


async def test_the_schema_page_renders_every_operation_without_the_internet(settings: Settings) -> None:
    async with LoopbackServer(create_app(settings)) as server:
        origin = server.url
        document = await asyncio.to_thread(_fetch, f"{origin}/schema/openapi.json")
        operation_ids = _operation_ids(document)
        result = await browse(
            *at_both_widths("/schema", f"{server.url}/schema", waitForSelector=".opblock", scrollThrough=True)
        )
    assert_offline_and_clean(result, origin)
    for visit in result["visits"]:
        assert sorted(visit["operationIds"]) == sorted(operation_ids), visit["name"]
        assert "Guildhall API" in visit["text"] and "/organisations/{org_id}/members" in visit["text"]
        assert "Create an organisation" in visit["text"] or "createOrganisation" in visit["text"]
    for visit in result["visits"]:
        assert_fits(visit)


async def test_credential_pages_and_the_consent_page_fit_a_desktop_and_a_phone(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await bilingual_cosigned(client, bootstrap, db, settings)
    consent = await consent_query(bootstrap)
    exchange = await client.post(f"/credentials/{credential['id']}/wallet-exchanges", headers=room.provider.headers)
    assert exchange.status_code == 201, exchange.text
    learners_page = exchange.json()["pageUrl"].removeprefix(settings.issuer)
    async with LoopbackServer(create_app(settings)) as server:
        origin = server.url
        page, printed = f"{server.url}/c/{credential['id']}", f"{server.url}/c/{credential['id']}/print"
        valid = await browse(
            *at_both_widths("valid page", page),
            *at_both_widths("valid print view", printed),
            *at_both_widths("learner's page", f"{server.url}{learners_page}"),
            *at_both_widths("consent page", f"{server.url}/oauth/authorize?{consent}"),
        )
        revoked = await client.post(
            f"/credentials/{credential['id']}/revocation", json={"reason": REASON}, headers=room.provider.headers
        )
        assert revoked.status_code == 200, revoked.text
        withdrawn = await browse(*at_both_widths("revoked page", page), *at_both_widths("revoked print view", printed))

    for result in (valid, withdrawn):
        assert_offline_and_clean(result, origin)
        for visit in result["visits"]:
            assert_fits(visit)
    shown = {visit["name"]: visit["text"] for result in (valid, withdrawn) for visit in result["visits"]}
    assert "Valid" in shown["valid page at 375"] and "Revoked" not in shown["valid page at 375"]
    assert "This certifies that" in shown["valid print view at 375"]
    for name in ("revoked page at 375", "revoked print view at 1280"):
        assert "REVOKED" in shown[name].upper() and REASON in shown[name], name
        assert "This credential was revoked by Festo Didactic on" in shown[name], name
        assert "Festo Didactic SE" not in shown[name], name
    assert OB_CREDENTIAL_UPSERT in shown["consent page at 375"]
    assert "Add to Learner Credential Wallet" in shown["learner's page at 375"]
    assert "Add to Learner Credential Wallet" not in shown["valid page at 375"]


async def consent_query(bootstrap: Bootstrap) -> str:
    """An authorization request of a wallet asking for every Open Badges scope (long URLs) and one of ours."""
    organisation = await bootstrap.organisation("Learner Wallet Cooperative", kind="vet_provider")
    redirect_uri = "https://wallet.example.org/oauth/callback/with/a/rather/long/path/for/the/phone"
    scopes = [OB_CREDENTIAL_READONLY, OB_CREDENTIAL_UPSERT, OB_PROFILE_READONLY, OB_PROFILE_UPDATE, "credentials:read"]
    client_id, _ = await bootstrap.oauth_client(
        organisation.id, scopes, grant_types=["authorization_code", "refresh_token"], redirect_uris=[redirect_uri]
    )
    assert urlsplit(redirect_uri).scheme == "https"
    return urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": "s",
            "code_challenge": s256(secrets.token_urlsafe(48)),
            "code_challenge_method": "S256",
        }
    )
