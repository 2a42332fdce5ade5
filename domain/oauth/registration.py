"""OAuth 2.0 dynamic client registration (RFC 7591) for Open Badges 3.0 wallets and hosts.

The Open Badges 3.0 API (§6) has a wallet register itself before it sends a learner to the
authorization page: it says who it is (name, homepage, logo, terms, privacy policy, software id and
version), where it may be redirected and which Open Badges scopes it wants, and gets a client id (and a
secret, stored only as a hash, as for every client). Nobody vouches for such a client, so it may only:

* hold Open Badges scopes and the OpenID4VCI credential configuration scopes
  (``domain.scopes.SELF_REGISTERED_SCOPES``) — never one of the platform's own;
* act for a person who signs in and consents (authorization code with PKCE S256, and refresh tokens),
  never for itself (no ``client_credentials``);
* be redirected to an ``https`` address, or to ``http`` on a loopback address (a wallet on the person's
  own machine, RFC 8252 §7.3).

**Where it belongs.** Every OAuth client (and every token) names the organisation it acts for; that
invariant is used throughout (audit trail, token ``org`` claim, introspection, the clients an
organisation's admins list and disable). A self-registered client acts for no organisation, so they all
belong to one organisation of the platform itself, *Self-registered applications*
(``SELF_REGISTERED_ORGANISATION_ID``), created on first use. It has no members, so no person ever holds a
role in it; only the operator (scope ``admin``) sees its clients, through the ordinary
``/organisations/{id}/clients`` operations, and can disable a misbehaving wallet there. The alternative, a
nullable organisation, would have weakened the type of every principal and token for the sake of
clients that never act on their own.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from domain.db import Database
from domain.errors import InvalidInput
from domain.oauth import clients
from domain.scopes import SELF_REGISTERED_SCOPES
from domain.sql import load_queries
from domain.writes import Actor, write

q = load_queries(__file__, "registration.sql")

SELF_REGISTERED_ORGANISATION_ID = UUID("c47f4fe1-d7c0-5dbc-9307-2f3772800646")
SELF_REGISTERED_ORGANISATION_NAME = "Self-registered applications"
GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})
LOOPBACK_HOSTS = frozenset({"localhost"})
_CONTROL = re.compile(r"[\x00-\x20\x7f]")

Text = Annotated[str, Meta(min_length=1, max_length=200)]
Uri = Annotated[str, Meta(min_length=1, max_length=2000, pattern=r"^https?://[^\s#]+$")]
SCOPE_PATTERN = (
    r"^ *("
    + "|".join(re.escape(s) for s in SELF_REGISTERED_SCOPES)
    + r")( +("
    + "|".join(re.escape(s) for s in SELF_REGISTERED_SCOPES)
    + r"))* *$"
)
AuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]


def _described(text: str) -> Meta:
    return Meta(description=text)


class ClientRegistration(msgspec.Struct, kw_only=True):
    """RFC 7591 client metadata, with what the Open Badges 3.0 API requires of a registration request.
    Metadata this server does not know (``jwks_uri``, ``software_statement`` …) is ignored (RFC 7591 §2)."""

    client_name: Annotated[Text, _described("Shown to the person on the consent page")]
    client_uri: Annotated[Uri, _described("The application's homepage (https)")]
    logo_uri: Annotated[Uri, _described("The application's logo (https)")]
    tos_uri: Annotated[Uri, _described("The application's terms of service (https)")]
    policy_uri: Annotated[Uri, _described("The application's privacy policy (https)")]
    software_id: Annotated[Text, _described("Identifies the software, the same for every installation")]
    software_version: Annotated[Text, _described("The software's version")]
    redirect_uris: Annotated[
        list[Uri], Meta(min_length=1, max_length=10, description="https, or http on a loopback address; no fragment")
    ]
    scope: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=2000,
            pattern=SCOPE_PATTERN,
            description="Space-separated Open Badges 3.0 and OpenID4VCI scopes, and only those",
        ),
    ]
    token_endpoint_auth_method: AuthMethod = "client_secret_basic"
    grant_types: Annotated[
        list[Annotated[str, Meta(max_length=100)]],
        Meta(max_length=10, description="authorization_code, optionally refresh_token; nothing else"),
    ] = msgspec.field(default_factory=lambda: ["authorization_code"])
    response_types: Annotated[
        list[Annotated[str, Meta(max_length=100)]], Meta(max_length=10, description="code, and only code")
    ] = msgspec.field(default_factory=lambda: ["code"])
    contacts: Annotated[list[Annotated[str, Meta(max_length=320)]], Meta(max_length=10)] = msgspec.field(
        default_factory=list
    )


class ClientRegistered(msgspec.Struct, kw_only=True):
    """RFC 7591 §3.2.1: the client's credentials and its metadata as registered. The secret is shown once."""

    client_id: str
    client_secret: Annotated[str | UnsetType, _described("Absent for a public client (method none)")] = UNSET
    client_id_issued_at: Annotated[int, _described("Seconds since the epoch")]
    client_secret_expires_at: Annotated[int, _described("0: the secret does not expire")] = 0
    client_name: str
    client_uri: str
    logo_uri: str
    tos_uri: str
    policy_uri: str
    software_id: str
    software_version: str
    redirect_uris: list[str]
    token_endpoint_auth_method: str
    grant_types: list[str]
    response_types: list[str]
    scope: str
    contacts: list[str]


class InvalidClientMetadata(InvalidInput):
    """A registration refused with an RFC 7591 §3.2.2 error code."""

    def __init__(self, message: str, *, error: str = "invalid_client_metadata") -> None:
        super().__init__(message)
        self.error = error


def web_address_problem(uri: str) -> str | None:
    """Why ``uri`` is not an address a browser may be sent to or shown, else None: https, or http on
    a loopback address; no fragment, no user name or password, no spaces."""
    if _CONTROL.search(uri):
        return "contains spaces or control characters"
    try:
        parts = urlsplit(uri)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a malformed port)
    except ValueError:
        return "is not a URL"
    if not host:
        return "has no host"
    if parts.fragment or "#" in uri:
        return "must not have a fragment"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and _is_loopback(host):
        return None
    return "must use https (or http on a loopback address, for an application on the person's own machine)"


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(data: ClientRegistration) -> list[str]:
    """The scopes asked for, once the registration is found acceptable; InvalidClientMetadata otherwise."""
    for uri in data.redirect_uris:
        if problem := web_address_problem(uri):
            raise InvalidClientMetadata(f"redirect_uri {uri!r} {problem}", error="invalid_redirect_uri")
    for name in ("client_uri", "logo_uri", "tos_uri", "policy_uri"):
        uri = getattr(data, name)
        if problem := web_address_problem(uri):
            raise InvalidClientMetadata(f"{name} {uri!r} {problem}")
    grants = set(data.grant_types)
    if "client_credentials" in grants:
        raise InvalidClientMetadata(
            "grant_types: a self-registered client acts only for a person who signs in and consents "
            "(authorization_code); client_credentials is for an organisation's own clients"
        )
    if unknown := sorted(grants - GRANT_TYPES):
        raise InvalidClientMetadata(
            f"grant_types: {', '.join(unknown)} not supported; use authorization_code (and refresh_token)"
        )
    if "authorization_code" not in grants:
        raise InvalidClientMetadata("grant_types must include authorization_code")
    if set(data.response_types) != {"code"}:
        raise InvalidClientMetadata('response_types must be ["code"]: only the authorization-code flow is offered')
    scopes = list(dict.fromkeys(data.scope.split()))
    if not scopes:
        raise InvalidClientMetadata("scope names no scope")
    if foreign := [s for s in scopes if s not in SELF_REGISTERED_SCOPES]:
        raise InvalidClientMetadata(
            f"scope: {' '.join(foreign)} cannot be registered here; a self-registered client may hold only "
            f"the Open Badges 3.0 and OpenID4VCI scopes: {' '.join(SELF_REGISTERED_SCOPES)}"
        )
    return scopes


async def register_client(db: Database, data: ClientRegistration, *, request_id: str | None) -> ClientRegistered:
    scopes = check(data)
    grant_types = sorted(set(data.grant_types))
    actor = Actor(client_id=None, person_id=None, organisation_id=None, request_id=request_id)
    client_id = "gh_" + secrets.token_urlsafe(16)
    secret = None if data.token_endpoint_auth_method == "none" else secrets.token_urlsafe(32)
    async with write(db, actor) as w:
        await w.conn.execute(
            q.ensure_self_registered_organisation,
            SELF_REGISTERED_ORGANISATION_ID,
            {"en": SELF_REGISTERED_ORGANISATION_NAME},
        )
        row = await w.conn.fetchrow(
            clients.q.insert_client,
            client_id,
            SELF_REGISTERED_ORGANISATION_ID,
            data.client_name,
            secret and clients.hash_secret(secret),
            data.token_endpoint_auth_method,
            grant_types,
            data.redirect_uris,
            scopes,
        )
        issued_at: datetime = row["created_at"]
        registered = ClientRegistered(
            client_id=client_id,
            client_secret=secret if secret is not None else UNSET,
            client_id_issued_at=int(issued_at.astimezone(UTC).timestamp()),
            client_name=data.client_name,
            client_uri=data.client_uri,
            logo_uri=data.logo_uri,
            tos_uri=data.tos_uri,
            policy_uri=data.policy_uri,
            software_id=data.software_id,
            software_version=data.software_version,
            redirect_uris=data.redirect_uris,
            token_endpoint_auth_method=data.token_endpoint_auth_method,
            grant_types=grant_types,
            response_types=["code"],
            scope=" ".join(scopes),
            contacts=data.contacts,
        )
        metadata = msgspec.to_builtins(registered)
        metadata.pop("client_secret", None)  # the secret is kept only as its hash, in oauth_clients
        await w.conn.execute(
            q.insert_registration,
            client_id,
            data.client_uri,
            data.logo_uri,
            data.tos_uri,
            data.policy_uri,
            data.software_id,
            data.software_version,
            data.contacts,
            metadata,
        )
        await w.audit(
            "client.registered",
            "client",
            client_id,
            SELF_REGISTERED_ORGANISATION_ID,
            {"clientUri": data.client_uri, "softwareId": data.software_id, "scopes": scopes},
        )
    return registered
