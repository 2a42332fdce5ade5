"""`make run`'s development mail server (aiosmtpd) and its page: what Guildhall sends over SMTP is kept under
the data folder and shown at /dev/mail (and /dev/mail.json); production has no such route."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from litestar.testing import AsyncTestClient

from api.app import create_app
from api.devmail import start_mail_server
from api.settings import Settings
from domain.db import Database
from domain.mail.sending import queue_mail
from domain.writes import Actor, write
from tests.conftest import BASE_URL
from tests.outbox_drain import drain


async def test_the_development_mail_server_keeps_what_it_gets_and_the_page_shows_it(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "mail"
    server = start_mail_server(folder)
    try:
        development = dataclasses.replace(
            settings,
            environment="development",
            smtp_url=f"smtp://127.0.0.1:{server.port}",
            dev_mail_dir=str(folder),
        )
        async with write(db, Actor(request_id="dev-mail")) as w:
            await queue_mail(
                w,
                to="ada@example.org",
                template="verify_email",
                language="da",
                values={"name": "Ada", "email": "ada@example.org", "expires": "i morgen", "link": f"{BASE_URL}/x/y"},
            )
        await drain(db, development)
    finally:
        server.stop()
    assert len(list(folder.glob("*.eml"))) == 1
    async with AsyncTestClient(app=create_app(development), base_url=BASE_URL) as client:
        listed = (await client.get("/dev/mail.json", params={"to": "ada@example.org"})).json()
        assert [m["subject"] for m in listed] == ["Bekræft din e-mailadresse til Guildhall"]
        assert listed[0]["links"] == [f"{BASE_URL}/x/y"] and listed[0]["language"] == "da"
        assert (await client.get("/dev/mail.json", params={"to": "nobody@example.org"})).json() == []
        page = await client.get("/dev/mail")
        assert page.status_code == 200 and "Bekræft din e-mailadresse" in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        document = (await client.get("/schema/openapi.json")).json()
        assert not [path for path in document["paths"] if path.startswith("/dev")]  # not part of the API

    production = dataclasses.replace(development, environment="production")
    async with AsyncTestClient(app=create_app(production), base_url=BASE_URL) as client:
        assert (await client.get("/dev/mail")).status_code == 404
        assert (await client.get("/dev/mail.json")).status_code == 404
