"""Development only: the mail server `guildhall dev` starts (aiosmtpd), which keeps every message it receives
as a file under ``.data/mail``, and the page ``/dev/mail`` (and ``/dev/mail.json``) that shows them.

The page is registered only when ``GUILDHALL_ENV=development`` and a mail folder is set, so production has
no such route. With ``SMTP_URL`` set, `guildhall dev` starts no mail server and mail goes there instead.
"""

from __future__ import annotations

import re
import time
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html import escape
from pathlib import Path
from typing import Any

import msgspec
from aiosmtpd.controller import Controller as SmtpController
from aiosmtpd.smtp import Envelope, Session
from litestar import Controller, Request, Response
from litestar.enums import MediaType
from litestar.params import FromQuery

from api.routing import get

_LINK = re.compile(r"https?://[^\s<>\"']+")
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


class MailFolder:
    """An aiosmtpd handler that writes each message it accepts to ``folder`` (one ``.eml`` file each)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self.folder / f".{name}"
        temporary.write_bytes(content)
        temporary.rename(self.folder / name)  # whole or not at all
        return "250 Message accepted for delivery"


def start_mail_server(folder: Path, host: str = "127.0.0.1", port: int = 0) -> SmtpController:
    """A running SMTP server on ``host`` (a free port when 0); ``controller.port`` says which."""
    controller = SmtpController(MailFolder(folder), hostname=host, port=port or _free_port(host))
    controller.start()
    return controller


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class ReceivedMail(msgspec.Struct, rename="camel"):
    id: str
    received_at: float
    sender: str
    to: str
    subject: str
    language: str | None
    text: str
    links: list[str]


def _body(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    return part.get_content() if part is not None else ""


def read_folder(folder: Path, to: str | None = None, limit: int = 50) -> list[ReceivedMail]:
    """The messages in ``folder``, newest first (only those to ``to`` when given)."""
    if not folder.is_dir():
        return []
    found: list[ReceivedMail] = []
    for path in sorted(folder.glob("*.eml"), reverse=True):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        recipient = str(message.get("To", ""))
        if to and to.lower() not in recipient.lower():
            continue
        text = _body(message, "plain")
        found.append(
            ReceivedMail(
                id=path.stem,
                received_at=int(path.stem.split("-")[0]) / 1e9,
                sender=str(message.get("From", "")),
                to=recipient,
                subject=str(message.get("Subject", "")),
                language=message.get("Content-Language"),
                text=text,
                links=list(dict.fromkeys(_LINK.findall(text))),
            )
        )
        if len(found) >= limit:
            break
    return found


class DevMailController(Controller):
    """What the development mail server received."""

    path = "/dev"
    include_in_schema = False

    @get("/mail.json", operation_id="listDevelopmentMail", security=[{}])
    async def as_json(self, request: Request[Any, Any, Any], to: FromQuery[str | None] = None) -> list[ReceivedMail]:
        return read_folder(Path(request.app.state.settings.dev_mail_dir), to)

    @get("/mail", operation_id="showDevelopmentMail", security=[{}])
    async def page(self, request: Request[Any, Any, Any], to: FromQuery[str | None] = None) -> Response[str]:
        items = read_folder(Path(request.app.state.settings.dev_mail_dir), to)
        articles = "".join(
            f"<article><h2>{escape(m.subject)}</h2><p><strong>To</strong> {escape(m.to)} · "
            f"<strong>From</strong> {escape(m.sender)} · "
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(m.received_at))} UTC"
            f"</p><pre>{escape(m.text)}</pre>"
            + "".join(f'<p><a href="{escape(link)}">{escape(link)}</a></p>' for link in m.links)
            + "</article>"
            for m in items
        )
        html = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Development mail</title>'
            "<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:1rem auto;padding:0 1rem}"
            "pre{white-space:pre-wrap;overflow-wrap:anywhere}article{border-bottom:1px solid #ccc}"
            "a{overflow-wrap:anywhere}</style></head><body><main><h1>Development mail</h1>"
            "<p>What Guildhall sent to the development mail server (newest first). Absent in production.</p>"
            + (articles or "<p>Nothing yet.</p>")
            + "</main></body></html>"
        )
        return Response(html, media_type=MediaType.HTML, headers=PAGE_HEADERS)
