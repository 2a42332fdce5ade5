"""The authorization page: consent and sign-in in plain, accessible HTML (no JavaScript), and the
signature that binds its POST to the form we rendered.

Nothing is kept between the GET and the POST: the authorization request travels in hidden fields
with an expiry and an HMAC under a key derived from the master key, so any replica can take the
POST, and parameters changed in the browser (a wider scope, another redirect) are refused. Each
POST also needs the person's password, so there is no session for a forged request to ride on.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

import msgspec
from litestar import Response
from litestar.enums import MediaType

from api.pages import design

# The authorization request parameters that the form carries and the signature covers.
AUTHORIZATION_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "issuer_state",  # OpenID4VCI: the credential offer this authorization redeems
)
FORM_LIFETIME = 600  # seconds to read the page and type a password
_HERE = Path(__file__).parent
_AUTHORIZE = Template((_HERE / "authorize.html").read_text(encoding="utf-8"))
_ERROR = Template((_HERE / "error.html").read_text(encoding="utf-8"))
_SAFE_ORIGIN = re.compile(r"^[a-z][a-z0-9+.-]*:(//[A-Za-z0-9.:\[\]-]+)?$")


def _form_key(master_key: bytes) -> bytes:
    # A key of its own, so that this MAC can never be confused with another use of the master key.
    return hmac.new(master_key, b"guildhall oauth authorize form v1", hashlib.sha256).digest()


def _mac(master_key: bytes, parameters: Mapping[str, str | None], expires: int) -> str:
    message = msgspec.json.encode([expires, [parameters.get(name) for name in AUTHORIZATION_PARAMETERS]])
    return hmac.new(_form_key(master_key), message, hashlib.sha256).hexdigest()


def sign_form(master_key: bytes, parameters: Mapping[str, str | None]) -> dict[str, str]:
    """The hidden fields of the form: the request parameters, ``expires`` and ``signature``."""
    expires = int(time.time()) + FORM_LIFETIME
    fields = {name: value for name in AUTHORIZATION_PARAMETERS if (value := parameters.get(name)) is not None}
    return {**fields, "expires": str(expires), "signature": _mac(master_key, parameters, expires)}


def form_is_genuine(
    master_key: bytes, parameters: Mapping[str, str | None], expires: str | None, signature: str | None
) -> bool:
    if not expires or not expires.isdigit() or not signature or int(expires) < time.time():
        return False
    return hmac.compare_digest(_mac(master_key, parameters, int(expires)), signature)


def origin(uri: str) -> str | None:
    """The origin of a redirect URI as a CSP source, or None if it is not safe to put in a header."""
    parts = urlsplit(uri)
    candidate = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
    return candidate if _SAFE_ORIGIN.match(candidate) else None


def _headers(redirect_uri: str | None) -> dict[str, str]:
    # form-action must admit the redirect that follows the POST; nothing else may load or frame.
    return design.headers(redirect_uri and origin(redirect_uri))


def consent_page(
    *,
    client_name: str,
    organisation_name: str,
    scopes: Sequence[tuple[str, str]],
    hidden_fields: Mapping[str, str],
    redirect_uri: str,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    language: str = "en",
) -> Response[str]:
    """The consent and sign-in form in ``language``; ``error`` (a failed sign-in) is announced to screen
    readers."""
    t = design.text
    names = {"client": client_name, "organisation": organisation_name}
    html = _AUTHORIZE.substitute(
        style=design.STYLE,
        lang=escape(language),
        t_title=t(language, "consent_title", client=client_name),
        t_intro=t(language, "consent_intro", **names),
        t_legend=t(language, "consent_legend"),
        t_email=t(language, "email"),
        t_password=t(language, "password"),
        t_code=t(language, "code"),
        t_code_hint=t(language, "consent_code_hint"),
        t_allow=t(language, "allow"),
        t_deny=t(language, "deny"),
        t_return=t(language, "consent_return", origin=origin(redirect_uri) or redirect_uri),
        t_forgot=t(language, "forgot"),
        scope_items="\n".join(
            f"<li><strong>{escape(text)}</strong> <code>{escape(name)}</code></li>" for name, text in scopes
        ),
        error=f'<p id="form-error" class="error" role="alert">{escape(error)}</p>' if error else "",
        described_by=' aria-describedby="form-error"' if error else "",
        hidden_fields="\n".join(
            f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
            for name, value in hidden_fields.items()
        ),
        email=escape(email),
    )
    return Response(
        html,
        status_code=status_code,
        media_type=MediaType.HTML,
        headers={**_headers(redirect_uri), **(headers or {})},
    )


def error_page(title: str, message: str, status_code: int = 400) -> Response[str]:
    """An error shown to the person instead of a redirect, when the redirect cannot be trusted."""
    html = _ERROR.substitute(style=design.STYLE, title=escape(title), message=escape(message))
    return Response(html, status_code=status_code, media_type=MediaType.HTML, headers=_headers(None))
