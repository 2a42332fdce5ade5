"""Getting a person's access token the way an app does: the authorization-code flow with PKCE."""

from __future__ import annotations

import base64
import hashlib
import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient

APP_REDIRECT_URI = "https://app.example.org/callback"


class _HiddenFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden" and attributes.get("name"):
            self.fields[str(attributes["name"])] = attributes.get("value") or ""


def hidden_fields(html: str) -> dict[str, str]:
    parser = _HiddenFields()
    parser.feed(html)
    return parser.fields


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def person_token(
    http: AsyncTestClient[Litestar], client_id: str, client_secret: str, email: str, password: str, scope: str
) -> str:
    """Signs the person in on the consent page, allows, and exchanges the code for a token."""
    verifier = secrets.token_urlsafe(48)
    request = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": APP_REDIRECT_URI,
        "scope": scope,
        "state": "s",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    page = await http.get("/oauth/authorize", params=request)
    assert page.status_code == 200, page.text
    form = {**hidden_fields(page.text), "email": email, "password": password, "decision": "allow"}
    allowed = await http.post("/oauth/authorize", data=form, follow_redirects=False)
    assert allowed.status_code == 302, allowed.text
    code = parse_qs(urlsplit(allowed.headers["location"]).query)["code"][0]
    exchanged = await http.post(
        "/oauth/token",
        auth=(client_id, client_secret),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": APP_REDIRECT_URI,
            "code_verifier": verifier,
        },
    )
    assert exchanged.status_code == 200, exchanged.text
    token: str = exchanged.json()["access_token"]
    return token
