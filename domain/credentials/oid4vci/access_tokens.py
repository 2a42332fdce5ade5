"""The access token a redeemed pre-authorized code buys: an RFC 9068 JWT like every access token of ours
(ES256 with the authorization server's key, ``typ: at+jwt``), good only at the credential endpoint.

It is recorded on the offer (by ``jti``), not among the OAuth clients' tokens: it stands for no client and no
person, so the API's other endpoints, which look tokens up there, refuse it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from joserfc import jwt

from domain.keys import SigningKey

ANONYMOUS_WALLET = "urn:guildhall:oid4vci:wallet"
CREDENTIAL_SCOPE = "openid_credential"


@dataclass(frozen=True)
class MintedToken:
    token: str
    jti: str
    expires_at: int
    expires_in: int


def new_token_claims(issuer: str, ttl: int, client_id: str | None) -> tuple[str, int, dict[str, object]]:
    now = int(time.time())
    jti = secrets.token_urlsafe(24)
    claims: dict[str, object] = {
        "iss": issuer,
        "aud": issuer,
        "sub": client_id or ANONYMOUS_WALLET,
        "client_id": client_id or ANONYMOUS_WALLET,
        "iat": now,
        "exp": now + ttl,
        "jti": jti,
        "scope": CREDENTIAL_SCOPE,
    }
    return jti, now + ttl, claims


def sign_token(key: SigningKey, claims: dict[str, object]) -> str:
    header = {"alg": "ES256", "typ": "at+jwt", "kid": key.kid}
    return jwt.encode(header, claims, key.key, algorithms=["ES256"])
