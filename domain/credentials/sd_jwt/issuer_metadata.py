"""Where a verifier finds an SD-JWT VC issuer's keys: JWT VC Issuer Metadata (draft-ietf-oauth-sd-jwt-vc §5).

Each awarding body is an issuer of its own, ``iss`` = ``{public_url}/organisations/{id}`` (an https URL, as
EU wallets expect; its did:web stays the issuer of the W3C forms). Its metadata is served at the URL the
specification derives from ``iss``: ``/.well-known/jwt-vc-issuer`` inserted between the host and the
path, i.e. ``{origin}/.well-known/jwt-vc-issuer{path of public_url}/organisations/{id}``, and holds its
JWKS inline (every published key, retired ones too, so that what they signed keeps verifying). SD-JWT VCs
and Status List Tokens name their key by ``kid``, the key's RFC 7638 thumbprint in that JWKS.

Guildhall serves the well-known path at its own root, so ``public_url`` should have no path (the usual
deployment); with a path, a proxy must route ``/.well-known/jwt-vc-issuer{path}/…`` to it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import msgspec

from domain.credentials import keys
from domain.db import Connection

WELL_KNOWN = "/.well-known/jwt-vc-issuer"


class JwtVcIssuerMetadata(msgspec.Struct):
    issuer: str
    jwks: dict[str, Any]


def issuer_url(public_url: str, organisation_id: UUID) -> str:
    """The ``iss`` of the organisation's SD-JWT VCs and Status List Tokens."""
    return f"{public_url.rstrip('/')}/organisations/{organisation_id}"


def metadata_url(issuer: str) -> str:
    """The JWT VC Issuer Metadata URL of ``issuer`` (the well-known segment between host and path)."""
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{parts.path.rstrip('/')}"


async def metadata(conn: Connection, public_url: str, organisation_id: UUID) -> JwtVcIssuerMetadata:
    """The organisation's metadata; ``NotFound`` if it has no keys (or does not exist)."""
    published = await keys.published_keys(conn, organisation_id)
    return JwtVcIssuerMetadata(issuer=issuer_url(public_url, organisation_id), jwks=published)
