"""RFC 8414 metadata, the JWKS, and access tokens verified with `cryptography` alone (as a stranger would)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.scopes import SCOPES
from tests.conftest import BASE_URL, Bootstrap


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_es256(token: str, jwk: dict[str, Any]) -> dict[str, Any]:
    """Verifies a compact JWS signed ES256 against a P-256 JWK; returns its claims."""
    header, payload, signature = token.split(".")
    public_key = ec.EllipticCurvePublicNumbers(
        x=int.from_bytes(b64url(jwk["x"]), "big"), y=int.from_bytes(b64url(jwk["y"]), "big"), curve=ec.SECP256R1()
    ).public_key()
    raw = b64url(signature)
    assert len(raw) == 64  # JWS carries r and s, 32 bytes each, not DER
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public_key.verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    claims: dict[str, Any] = json.loads(b64url(payload))
    return claims


async def test_metadata_describes_the_server(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer"] == BASE_URL
    for name, path in (
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("jwks_uri", "/oauth/jwks"),
        ("introspection_endpoint", "/oauth/introspect"),
        ("revocation_endpoint", "/oauth/revoke"),
    ):
        assert metadata[name] == BASE_URL + path
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert set(metadata["grant_types_supported"]) == {
        "authorization_code",
        "client_credentials",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:pre-authorized_code",  # OpenID4VCI, for wallets
    }
    assert set(metadata["scopes_supported"]) == set(SCOPES)
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }
    assert set(metadata["introspection_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    assert "none" in metadata["revocation_endpoint_auth_methods_supported"]


async def test_jwks_publishes_public_keys_only(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/oauth/jwks")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ES256" and key["use"] == "sig"
    assert key["kid"] and key["x"] and key["y"]
    assert "d" not in key  # the private part


async def test_an_access_token_verifies_against_the_jwks(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    integrator = await bootstrap.integrator(["organisations:read"])
    header = json.loads(b64url(integrator.token.split(".")[0]))
    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": header["kid"]}
    jwks = {k["kid"]: k for k in (await client.get("/oauth/jwks")).json()["keys"]}

    claims = verify_es256(integrator.token, jwks[header["kid"]])
    assert claims["iss"] == BASE_URL and claims["aud"] == BASE_URL
    assert claims["sub"] == integrator.client_id and claims["client_id"] == integrator.client_id
    assert claims["scope"] == "organisations:read"
    assert claims["org"] == str(integrator.org_id)
    assert claims["exp"] - claims["iat"] == 600 and claims["jti"]

    head, _, signature = integrator.token.split(".")
    forged_claims = base64.urlsafe_b64encode(json.dumps({**claims, "scope": "admin"}).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidSignature):
        verify_es256(f"{head}.{forged_claims}.{signature}", jwks[header["kid"]])


async def test_oauth_operations_are_documented(client: AsyncTestClient[Litestar]) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    token = paths["/oauth/token"]["post"]
    assert token["operationId"] == "requestToken"
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert {"200", "400", "401", "429"} <= set(token["responses"])
    assert "application/problem+json" in token["responses"]["429"]["content"]
    assert paths["/oauth/whoami"]["get"]["operationId"] == "getTokenInfo"
    assert {"401", "403"} <= set(paths["/oauth/whoami"]["get"]["responses"])
    for path in ("/oauth/jwks", "/.well-known/oauth-authorization-server"):
        operations = paths[path]
        assert all(op["operationId"] and op["summary"] and op["security"] == [{}] for op in operations.values())
    # The client authenticates itself: required to introspect, optional (public clients) to get or revoke a token.
    assert paths["/oauth/introspect"]["post"]["security"] == [{"clientSecretBasic": []}]
    assert paths["/oauth/revoke"]["post"]["security"] == [{"clientSecretBasic": []}, {}]
