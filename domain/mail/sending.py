"""Queuing and sending e-mail: a message is a row in ``mail_messages`` plus an outbox event, both written in
the transaction of the change that asks for it; the worker sends it over SMTP (aiosmtplib).

Exactly once: the handler locks the message row, sends, and marks it sent in the same transaction, so a job
run twice or two workers find it sent or locked. A mail server that is down fails the handler; the outbox
records the failure and the job is retried with backoff (then the sweep), so the mail waits and is not lost.
The one window left is SMTP's own: should the commit fail after the server accepted the message, it is sent
again on retry, with the same ``Message-ID`` (receivers may drop the duplicate).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID

import aiosmtplib

from domain.db import Connection
from domain.mail.templates import render
from domain.outbox import OutboxEvent, handler_context, register
from domain.writes import Write

TOPIC = "mail.requested"
SEND_TIMEOUT = 20.0  # seconds for one conversation with the mail server


class MailNotConfigured(RuntimeError):
    """No SMTP server is configured: messages wait in PostgreSQL until one is."""


@dataclass(frozen=True)
class SmtpServer:
    """Where to send, from an ``SMTP_URL``: ``smtp://user:pass@host:587?starttls=1`` (STARTTLS),
    ``smtps://user:pass@host:465`` (implicit TLS), ``smtp://host:25`` (plain, for a local relay).
    ``cafile=/path`` trusts that CA besides the system's."""

    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool
    cafile: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587?starttls=1 or smtps://host:465")
        query = parse_qs(parts.query)
        implicit = parts.scheme == "smtps"
        starttls = not implicit and query.get("starttls", ["0"])[0] in ("1", "true", "yes")
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 587 if starttls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            starttls=starttls,
            cafile=query.get("cafile", [None])[0],
        )

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.cafile:
            context.load_verify_locations(cafile=self.cafile)
        return context


async def send_message(server: SmtpServer, message: EmailMessage) -> None:
    tls = server.implicit_tls or server.starttls
    await aiosmtplib.send(
        message,
        hostname=server.host,
        port=server.port,
        username=server.username,
        password=server.password,
        use_tls=server.implicit_tls,
        start_tls=server.starttls if server.starttls else False,
        tls_context=server.tls_context() if tls else None,
        timeout=SEND_TIMEOUT,
    )


async def queue_mail(
    w: Write,
    *,
    to: str,
    template: str,
    language: str,
    values: dict[str, str],
    person_id: UUID | None = None,
    organisation_id: UUID | None = None,
) -> UUID:
    """Builds the message in ``language`` and queues it; it is sent once this transaction commits."""
    rendered = render(template, language, values)
    message_id: UUID = await w.conn.fetchval(
        "INSERT INTO mail_messages (person_id, to_address, template, language, subject, text_body, html_body) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        person_id,
        to,
        template,
        rendered.language,
        rendered.subject,
        rendered.text,
        rendered.html,
    )
    await w.emit(TOPIC, str(message_id), organisation_id, {"messageId": str(message_id)})
    return message_id


def build_message(row: Any, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = row["to_address"]
    message["Subject"] = row["subject"]
    message["Date"] = format_datetime(row["created_at"])
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "guildhall.invalid"
    message["Message-ID"] = f"<{row['id']}@{domain}>"  # the same on every attempt
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row["text_body"])
    message.add_alternative(row["html_body"], subtype="html")
    message["Content-Language"] = row["language"]  # after the body: setting content drops Content-* headers
    return message


@register(TOPIC)
async def send_requested_mail(conn: Connection, event: OutboxEvent) -> None:
    context = handler_context()
    row = await conn.fetchrow("SELECT * FROM mail_messages WHERE id = $1 FOR UPDATE", UUID(event.payload["messageId"]))
    if row is None or row["sent_at"] is not None:
        return
    if not context.smtp_url:
        raise MailNotConfigured("no SMTP server is configured (SMTP_URL); the message waits")
    await send_message(SmtpServer.from_url(context.smtp_url), build_message(row, context.mail_from))
    await conn.execute(
        "UPDATE mail_messages SET sent_at = $2, attempts = $3 WHERE id = $1",
        row["id"],
        datetime.now(UTC),
        event.attempts + 1,
    )


def default_sender(public_url: str) -> str:
    host = urlsplit(public_url).hostname or "localhost"
    return formataddr(("Guildhall", f"noreply@{host if '.' in host else host + '.localdomain'}"))
