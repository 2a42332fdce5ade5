"""E-mail over real SMTP servers on loopback: the message in the person's language (plain text and HTML), the
transports (plain, STARTTLS with AUTH, implicit TLS), and the mail server down for a while while the worker
retries: every message arrives exactly once afterwards."""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.db import Database
from domain.mail.sending import SmtpServer
from domain.mail.templates import LANGUAGES, TEMPLATES, render
from domain.writes import Actor, write
from tests import smtp_server
from tests.conftest import Bootstrap
from tests.outbox_drain import drain
from tests.worker_harness import running_worker

OPERATOR = Actor(request_id="test-mail")


async def _queue(db: Database, to: str, language: str = "en") -> None:
    from domain.mail.sending import queue_mail

    async with write(db, OPERATOR) as w:
        await queue_mail(
            w,
            to=to,
            template="password_changed",
            language=language,
            values={"name": "Ana", "email": to, "when": "2026-12-07 10:00 UTC"},
        )


def test_every_template_exists_in_english_german_danish_and_polish_in_text_and_html() -> None:
    values = {k: "<x&y>" for k in ("name", "organisation", "roles", "expires", "link", "email", "new_email", "when")}
    for name, by_language in TEMPLATES.items():
        assert set(by_language) == set(LANGUAGES), name
        for language in LANGUAGES:
            rendered = render(name, language, values)
            assert rendered.language == language
            assert "<x&y>" in rendered.text and "&lt;x&amp;y&gt;" in rendered.html and "<x&y>" not in rendered.html
    assert render("invitation", "sv", values).language == "en"  # no Swedish: English rather than nothing


def test_smtp_urls_name_the_transport() -> None:
    starttls = SmtpServer.from_url("smtp://mailer:s%40cret@mail.example:587?starttls=1")
    assert (starttls.host, starttls.port, starttls.username, starttls.password) == (
        "mail.example",
        587,
        "mailer",
        "s@cret",
    )
    assert starttls.starttls and not starttls.implicit_tls
    implicit = SmtpServer.from_url("smtps://mail.example")
    assert implicit.implicit_tls and implicit.port == 465
    assert SmtpServer.from_url("smtp://relay").port == 25


async def test_a_message_goes_out_in_the_persons_language_as_text_and_html(
    db: Database, settings: Settings, inbox: smtp_server.Inbox
) -> None:
    await _queue(db, "ana.de@example.org", "de")
    await drain(db, settings)
    [message] = inbox.to("ana.de@example.org")
    assert message["Subject"] == "Ihr Guildhall-Passwort wurde geändert"
    assert message["Content-Language"] == "de"
    assert message.get_body(preferencelist=("html",)) is not None
    assert "wurde am 2026-12-07 10:00 UTC geändert" in inbox.text(message)
    async with db.connection() as conn:
        row = await conn.fetchrow("SELECT sent_at, attempts FROM mail_messages")
    assert row["sent_at"] is not None and row["attempts"] == 1
    await drain(db, settings)  # nothing left to do: not sent twice
    assert len(inbox.to("ana.de@example.org")) == 1


async def test_starttls_with_authentication_and_implicit_tls(db: Database, settings: Settings, tmp_path: Path) -> None:
    inbox = smtp_server.Inbox()
    server, ca, authenticator = smtp_server.start_tls(inbox, tmp_path, "guildhall", "mail password")
    try:
        url = f"smtp://guildhall:mail%20password@127.0.0.1:{server.port}?starttls=1&cafile={ca}"
        await _queue(db, "starttls@example.org")
        await drain(db, dataclasses.replace(settings, smtp_url=url))
        assert len(inbox.to("starttls@example.org")) == 1
        assert authenticator.logins == ["guildhall"]
    finally:
        server.stop()

    cert, key = smtp_server.self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    implicit = smtp_server.start(inbox, ssl_context=context)
    try:
        await _queue(db, "implicit@example.org")
        await drain(db, dataclasses.replace(settings, smtp_url=f"smtps://127.0.0.1:{implicit.port}?cafile={cert}"))
        assert len(inbox.to("implicit@example.org")) == 1
    finally:
        implicit.stop()


async def test_a_mail_server_that_refuses_our_password_delays_the_mail_and_loses_none(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    inbox = smtp_server.Inbox()
    server, ca, _ = smtp_server.start_tls(inbox, tmp_path, "guildhall", "right")
    try:
        await _queue(db, "waits@example.org")
        wrong = f"smtp://guildhall:wrong@127.0.0.1:{server.port}?starttls=1&cafile={ca}"
        try:
            await drain(db, dataclasses.replace(settings, smtp_url=wrong), rounds=1)
            raise AssertionError("a refused login must fail the handler")
        except Exception as refused:
            assert "auth" in str(refused).lower() or "535" in str(refused)
        assert inbox.messages == []
        right = f"smtp://guildhall:right@127.0.0.1:{server.port}?starttls=1&cafile={ca}"
        await drain(db, dataclasses.replace(settings, smtp_url=right))
        assert len(inbox.to("waits@example.org")) == 1
    finally:
        server.stop()


async def test_the_mail_server_down_for_a_while_then_every_mail_arrives_exactly_once(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    """Invitations made through the API while the mail server is down: the worker (arq, real Redis) fails,
    records the failure and retries with backoff; once the server is back every invitation arrives, once."""
    org = await bootstrap.integrator(["organisations:write", "organisations:read"], name="IHK", kind="chamber")
    port = smtp_server.free_port()
    down = dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{port}")
    people = [f"person{i}@ihk.example" for i in range(4)]
    inbox = smtp_server.Inbox()
    server: Controller | None = None
    try:
        async with running_worker(down, cron_jobs=[]):
            for email in people:
                invited = await client.post(
                    f"/organisations/{org.org_id}/invitations",
                    json={"email": email, "name": email.split("@")[0], "roles": ["signatory"]},
                    headers=org.headers,
                )
                assert invited.status_code == 201, invited.text
            await _until(lambda: _failed_attempts(db), lambda n: n >= len(people))  # each tried, and failed
            assert inbox.messages == []
            await asyncio.sleep(1.5)  # down a while longer
            server = smtp_server.start(inbox, port=port)
            await _until(lambda: _sent(db), lambda n: n == len(people), seconds=40)
        assert sorted(str(m["To"]) for m in inbox.messages) == sorted(people)  # each once
        assert len({m["Message-ID"] for m in inbox.messages}) == len(people)
        async with db.connection() as conn:
            tries = await conn.fetch("SELECT attempts FROM mail_messages")
        assert all(t["attempts"] > 1 for t in tries)  # sent on a retry, after failed attempts
        await drain(db, settings)  # and nothing is sent again afterwards
        assert len(inbox.messages) == len(people)
    finally:
        if server is not None:
            server.stop()


async def _failed_attempts(db: Database) -> int:
    async with db.connection() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE topic = 'mail.requested' AND attempts > 0 AND done_at IS NULL"
        )
        return count


async def _sent(db: Database) -> int:
    async with db.connection() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM mail_messages WHERE sent_at IS NOT NULL")
        return count


async def _until(probe: Any, good: Any, seconds: float = 20) -> None:
    async with asyncio.timeout(seconds):
        while True:  # polling PostgreSQL: there is no event to wait on
            if good(await probe()):
                return
            await asyncio.sleep(0.1)
