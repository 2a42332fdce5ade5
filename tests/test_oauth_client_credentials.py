"""POST /oauth/token with client_credentials: client authentication, scopes, expiry, rate limits."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any
from uuid import UUID

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import RateLimit, Settings
from domain.db import Database
from tests.conftest import BASE_URL, Bootstrap

SCOPES = ["organisations:read", "programmes:read"]


async def confidential_client(bootstrap: Bootstrap, **extra: Any) -> tuple[UUID, str, str]:
    """An organisation and a client of it with SCOPES: (organisation id, client id, secret)."""
    org = await bootstrap.organisation()
    client_id, secret = await bootstrap.oauth_client(org.id, SCOPES, **extra)
    assert secret is not None
    return org.id, client_id, secret


async def test_a_confidential_client_gets_a_token_with_http_basic(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    org_id, client_id, secret = await confidential_client(bootstrap)
    response = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == "organisations:read programmes:read"  # no scope asked: all it holds
    assert "refresh_token" not in body

    whoami = await client.get("/oauth/whoami", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert whoami.status_code == 200, whoami.text
    assert whoami.json() == {
        "clientId": client_id,
        "personId": None,
        "organisationId": str(org_id),
        "scopes": SCOPES,
    }


async def test_a_client_registered_for_post_authenticates_in_the_form(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    _, client_id, secret = await confidential_client(bootstrap, token_endpoint_auth_method="client_secret_post")
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    response = await client.post("/oauth/token", data=form)
    assert response.status_code == 200, response.text

    # The registered method is the only one it may use.
    basic = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert basic.status_code == 401
    assert basic.json()["error"] == "invalid_client"


async def test_wrong_or_missing_credentials_are_invalid_client(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    _, client_id, _ = await confidential_client(bootstrap)
    wrong = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "nope"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    assert wrong.headers["content-type"].startswith("application/json")

    unknown = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("gh_nobody", "x"))
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"

    anonymous = await client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"


async def test_a_disabled_client_is_refused(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    _, client_id, secret = await confidential_client(bootstrap)
    token = await bootstrap.token(client_id, secret)
    async with db.transaction() as conn:
        await conn.execute("UPDATE oauth_clients SET disabled_at = now() WHERE client_id = $1", client_id)
    refused = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    whoami = await client.get("/oauth/whoami", headers={"Authorization": f"Bearer {token}"})
    assert whoami.status_code == 401


async def test_scopes_narrow_but_never_widen(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    _, client_id, secret = await confidential_client(bootstrap)
    narrowed = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": "programmes:read"}, auth=(client_id, secret)
    )
    assert narrowed.status_code == 200 and narrowed.json()["scope"] == "programmes:read"
    whoami = await client.get("/oauth/whoami", headers={"Authorization": f"Bearer {narrowed.json()['access_token']}"})
    assert whoami.json()["scopes"] == ["programmes:read"]

    for scope in ("credentials:issue", "programmes:read credentials:issue", "everything"):
        wider = await client.post(
            "/oauth/token", data={"grant_type": "client_credentials", "scope": scope}, auth=(client_id, secret)
        )
        assert wider.status_code == 400, scope
        assert wider.json()["error"] == "invalid_scope"


async def test_grants_the_client_is_not_registered_for_are_refused(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    _, client_id, secret = await confidential_client(bootstrap)
    code = await client.post(
        "/oauth/token", data={"grant_type": "authorization_code", "code": "x"}, auth=(client_id, secret)
    )
    assert code.status_code == 400 and code.json()["error"] == "unauthorized_client"
    password = await client.post(
        "/oauth/token", data={"grant_type": "password", "username": "a", "password": "b"}, auth=(client_id, secret)
    )
    assert password.status_code == 400 and password.json()["error"] == "unsupported_grant_type"


async def test_an_expired_access_token_is_refused(settings: Settings, bootstrap: Bootstrap) -> None:
    _, client_id, secret = await confidential_client(bootstrap)
    # Three seconds, not one: `exp` is whole seconds from a truncated `iat`, so a one-second token could
    # expire before the first check on a loaded CI machine.
    short_lived = create_app(dataclasses.replace(settings, access_token_ttl=3))
    async with AsyncTestClient(app=short_lived, base_url=BASE_URL) as http:
        issued = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
        expired_by = int(time.time()) + 3  # the token's iat is at most now, so its exp at most this
        assert issued.status_code == 200 and issued.json()["expires_in"] == 3
        headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        assert (await http.get("/oauth/whoami", headers=headers)).status_code == 200
        await asyncio.sleep(max(0.0, expired_by - time.time()) + 0.1)
        expired = await http.get("/oauth/whoami", headers=headers)
    assert expired.status_code == 401
    assert expired.headers["content-type"].startswith("application/problem+json")
    assert "expired" in expired.json()["detail"]


async def test_the_token_endpoint_is_rate_limited(settings: Settings, bootstrap: Bootstrap) -> None:
    _, client_id, secret = await confidential_client(bootstrap)
    limited = create_app(dataclasses.replace(settings, token_rate_limit=RateLimit(3, 3600)))
    async with AsyncTestClient(app=limited, base_url=BASE_URL) as http:
        statuses = []
        for _ in range(4):
            response = await http.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            )
            statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429]
    assert 1 <= int(response.headers["retry-after"]) <= 3600
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 429
