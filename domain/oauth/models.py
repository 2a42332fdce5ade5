"""OAuth client records and the bodies that create them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.structs import Input, Model, Page

GrantType = Literal["client_credentials", "authorization_code", "refresh_token"]
AuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]
RedirectUri = Annotated[str, Meta(pattern=r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s#]+$", max_length=2000)]
Scope = Annotated[str, Meta(pattern=r"^[a-z]+(:[a-z]+)?$")]


class Client(Model):
    client_id: str
    organisation_id: UUID
    name: str
    token_endpoint_auth_method: AuthMethod
    grant_types: list[GrantType]
    redirect_uris: list[str]
    scopes: list[str]
    version: int
    created_at: datetime
    disabled_at: datetime | None


class ClientWithSecret(Client):
    """Returned once, at creation: the secret is stored only as a hash and cannot be shown again."""

    client_secret: str | None


class ClientPage(Page):
    items: list[Client]


class ClientCreate(Input):
    """A confidential client (``client_secret_basic``, the default) for server-to-server use, or a
    public one (``none``) for apps that cannot keep a secret (authorization code with PKCE only)."""

    name: Annotated[str, Meta(min_length=1, max_length=200)]
    scopes: Annotated[list[Scope], Meta(min_length=1)]
    grant_types: Annotated[list[GrantType], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["client_credentials"]
    )
    redirect_uris: list[RedirectUri] = msgspec.field(default_factory=list)
    token_endpoint_auth_method: AuthMethod = "client_secret_basic"
