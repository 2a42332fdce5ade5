"""The authorization-code flow with PKCE: the page, sign-in, consent, code exchange and refresh rotation."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import RateLimit, Settings
from domain.db import Database
from tests.conftest import BASE_URL, Bootstrap
from tests.oauth_flow import hidden_fields, s256

REDIRECT_URI = "https://lms.example.org/oauth/callback"
EMAIL = "ada@example.org"
PASSWORD = "correct horse battery staple"


def query_of(response: httpx.Response) -> dict[str, str]:
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class Lms:
    """A learning platform registered for the authorization-code flow, and one of its users."""

    http: AsyncTestClient[Litestar]
    client_id: str
    secret: str | None
    person_id: UUID
    verifier: str = dataclasses.field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def auth(self) -> httpx.Auth:
        """HTTP Basic for a confidential client; none (the base Auth) for a public one."""
        return httpx.BasicAuth(self.client_id, self.secret) if self.secret else httpx.Auth()

    def request(self, **overrides: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "organisations:read programmes:read",
            "state": "xyz-123",
            "code_challenge": s256(self.verifier),
            "code_challenge_method": "S256",
            **overrides,
        }
        return {k: v for k, v in params.items() if v is not None}

    async def decide(
        self, decision: str = "allow", password: str = PASSWORD, request: dict[str, str] | None = None
    ) -> httpx.Response:
        page = await self.http.get("/oauth/authorize", params=request or self.request())
        assert page.status_code == 200, page.text
        form = {**hidden_fields(page.text), "email": EMAIL, "password": password, "decision": decision}
        return await self.http.post("/oauth/authorize", data=form, follow_redirects=False)

    async def code(self, **overrides: str | None) -> str:
        response = await self.decide(request=self.request(**overrides))
        assert response.status_code == 302, response.text
        return query_of(response)["code"]

    async def exchange(self, code: str, verifier: str | None = None) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier or self.verifier,
        }
        if self.secret is None:
            form["client_id"] = self.client_id
        return await self.http.post("/oauth/token", data=form, auth=self.auth)

    async def refresh(self, refresh_token: str) -> httpx.Response:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if self.secret is None:
            form["client_id"] = self.client_id
        return await self.http.post("/oauth/token", data=form, auth=self.auth)

    async def whoami(self, access_token: str) -> httpx.Response:
        return await self.http.get("/oauth/whoami", headers={"Authorization": f"Bearer {access_token}"})


async def register_lms(bootstrap: Bootstrap, http: AsyncTestClient[Litestar], **extra: Any) -> Lms:
    org = await bootstrap.organisation("AMU Nordjylland", kind="vet_provider")
    client_id, secret = await bootstrap.oauth_client(
        org.id,
        ["organisations:read", "programmes:read", "assessments:read"],
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[REDIRECT_URI, "https://lms.example.org/other"],
        **extra,
    )
    person_id = await bootstrap.member(org.id, EMAIL, ["viewer"], password=PASSWORD)
    return Lms(http, client_id, secret, person_id)


async def test_the_page_shows_who_asks_for_what_and_is_locked_down(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    lms = await register_lms(bootstrap, client)
    page = await client.get("/oauth/authorize", params=lms.request())
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "test client" in page.text and "AMU Nordjylland" in page.text
    assert "Read organisations, their members, clients and audit trail" in page.text
    assert "Read programmes, including drafts" in page.text
    assert "<code>assessments:read</code>" not in page.text  # not asked for, so not shown
    assert 'autocomplete="current-password"' in page.text and 'value="deny"' in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "form-action 'self' https://lms.example.org" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


async def test_the_full_flow_issues_a_person_token(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    lms = await register_lms(bootstrap, client)
    allowed = await lms.decide()
    assert allowed.status_code == 302, allowed.text
    assert allowed.headers["location"].startswith(REDIRECT_URI + "?")
    params = query_of(allowed)
    assert params["state"] == "xyz-123" and params["code"]

    exchanged = await lms.exchange(params["code"])
    assert exchanged.status_code == 200, exchanged.text
    body = exchanged.json()
    assert body["scope"] == "organisations:read programmes:read"
    assert body["refresh_token"] and body["token_type"] == "Bearer"
    whoami = await lms.whoami(body["access_token"])
    assert whoami.status_code == 200, whoami.text
    assert whoami.json()["personId"] == str(lms.person_id)
    assert whoami.json()["scopes"] == ["organisations:read", "programmes:read"]

    # Codes and refresh tokens are kept only as SHA-256 hashes.
    async with db.connection() as conn:
        for table, column, secret in (
            ("oauth_authorization_codes", "code_hash", params["code"]),
            ("oauth_tokens", "refresh_token_hash", body["refresh_token"]),
        ):
            hashed = hashlib.sha256(secret.encode()).hexdigest()
            assert await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", hashed) == 1
            assert await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", secret) == 0


async def test_a_public_client_exchanges_with_pkce_alone(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    lms = await register_lms(bootstrap, client, token_endpoint_auth_method="none")
    assert lms.secret is None
    exchanged = await lms.exchange(await lms.code())
    assert exchanged.status_code == 200, exchanged.text
    assert (await lms.whoami(exchanged.json()["access_token"])).status_code == 200


async def test_a_wrong_password_shows_the_form_again(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    lms = await register_lms(bootstrap, client)
    refused = await lms.decide(password="not my password at all")
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text and "password is wrong" in refused.text
    assert hidden_fields(refused.text)["signature"]  # a fresh form to try again with
    assert f'value="{EMAIL}"' in refused.text


async def test_deny_returns_access_denied_with_the_state(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    lms = await register_lms(bootstrap, client)
    denied = await lms.decide(decision="deny", password="")
    assert denied.status_code == 302
    params = query_of(denied)
    assert params["error"] == "access_denied" and params["state"] == "xyz-123"
    assert "code" not in params


async def test_the_verifier_must_match_and_the_code_works_once(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    lms = await register_lms(bootstrap, client)
    code = await lms.code()
    wrong = await lms.exchange(code, verifier=secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    missing = await client.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=lms.auth,
    )
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"

    first = await lms.exchange(code)
    assert first.status_code == 200, first.text
    again = await lms.exchange(code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # A replayed code revokes what it was exchanged for (RFC 6749 §4.1.2).
    assert (await lms.whoami(first.json()["access_token"])).status_code == 401
    assert (await lms.refresh(first.json()["refresh_token"])).status_code == 400


async def test_an_expired_code_or_another_redirect_uri_is_refused(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database
) -> None:
    lms = await register_lms(bootstrap, client)
    code = await lms.code()
    other_uri = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://lms.example.org/other",
            "code_verifier": lms.verifier,
        },
        auth=lms.auth,
    )
    assert other_uri.status_code == 400 and other_uri.json()["error"] == "invalid_grant"
    async with db.transaction() as conn:
        await conn.execute("UPDATE oauth_authorization_codes SET expires_at = now() - interval '1 second'")
    expired = await lms.exchange(code)
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


async def test_pkce_is_s256_and_required_at_the_authorization_endpoint(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    lms = await register_lms(bootstrap, client)
    for overrides in (
        {"code_challenge_method": "plain", "code_challenge": lms.verifier},
        {"code_challenge_method": None},
        {"code_challenge": None, "code_challenge_method": None},
        {"code_challenge": "too-short"},
    ):
        response = await client.get("/oauth/authorize", params=lms.request(**overrides), follow_redirects=False)
        assert response.status_code == 302, (overrides, response.text)
        assert response.headers["location"].startswith(REDIRECT_URI)
        assert query_of(response)["error"] == "invalid_request", overrides
        assert query_of(response)["state"] == "xyz-123"


async def test_a_redirect_uri_not_registered_gets_an_error_page_and_no_redirect(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    lms = await register_lms(bootstrap, client)
    for overrides in (
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": REDIRECT_URI + "/"},
        {"redirect_uri": None},
        {"client_id": "gh_unknown"},
    ):
        response = await client.get("/oauth/authorize", params=lms.request(**overrides), follow_redirects=False)
        assert response.status_code == 400, overrides
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
        assert 'role="alert"' in response.text
        assert "evil.example" not in response.headers["content-security-policy"]


async def test_scopes_are_checked_on_the_page(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    lms = await register_lms(bootstrap, client)
    # Scopes the client lacks are dropped; the token gets what both the request and the client name.
    page = await client.get("/oauth/authorize", params=lms.request(scope="programmes:read credentials:issue"))
    assert page.status_code == 200
    assert "<code>programmes:read</code>" in page.text and "<code>credentials:issue</code>" not in page.text
    exchanged = await lms.exchange(await lms.code(scope="programmes:read credentials:issue"))
    assert exchanged.json()["scope"] == "programmes:read"
    # Nothing left, or a scope nobody knows: invalid_scope back to the client.
    for scope in ("credentials:issue", "everything"):
        refused = await client.get("/oauth/authorize", params=lms.request(scope=scope), follow_redirects=False)
        assert refused.status_code == 302 and query_of(refused)["error"] == "invalid_scope"


async def test_a_changed_or_foreign_form_is_refused(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    lms = await register_lms(bootstrap, client)
    page = await client.get("/oauth/authorize", params=lms.request(scope="programmes:read"))
    fields = hidden_fields(page.text)
    credentials = {"email": EMAIL, "password": PASSWORD, "decision": "allow"}
    for tampered in (
        {**fields, "scope": "programmes:read organisations:read"},
        {**fields, "redirect_uri": "https://lms.example.org/other"},
        {**fields, "expires": str(int(fields["expires"]) + 3600)},
        {k: v for k, v in fields.items() if k != "signature"},
        lms.request(),  # a form we never rendered
    ):
        response = await client.post("/oauth/authorize", data={**tampered, **credentials}, follow_redirects=False)
        assert response.status_code == 400, tampered
        assert "location" not in response.headers
        assert "expired" in response.text


async def test_refresh_tokens_rotate_and_reuse_revokes_the_family(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap
) -> None:
    lms = await register_lms(bootstrap, client)
    first = (await lms.exchange(await lms.code())).json()

    second = await lms.refresh(first["refresh_token"])
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["access_token"] != first["access_token"]
    assert rotated["scope"] == first["scope"]
    assert (await lms.whoami(rotated["access_token"])).json()["personId"] == str(lms.person_id)

    narrowed = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"], "scope": "credentials:issue"},
        auth=lms.auth,
    )
    assert narrowed.status_code == 400 and narrowed.json()["error"] == "invalid_scope"

    # The first refresh token was used: presenting it again means it leaked.
    reused = await lms.refresh(first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert (await lms.whoami(rotated["access_token"])).status_code == 401
    assert (await lms.whoami(first["access_token"])).status_code == 401
    assert (await lms.refresh(rotated["refresh_token"])).status_code == 400


async def test_a_refresh_token_belongs_to_its_client(client: AsyncTestClient[Litestar], bootstrap: Bootstrap) -> None:
    lms = await register_lms(bootstrap, client)
    tokens = (await lms.exchange(await lms.code())).json()
    other = await register_lms(bootstrap, client)
    stolen = await other.refresh(tokens["refresh_token"])
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert (await lms.refresh(tokens["refresh_token"])).status_code == 200


async def test_sign_in_attempts_are_rate_limited(settings: Settings, bootstrap: Bootstrap) -> None:
    limited = create_app(dataclasses.replace(settings, login_rate_limit=RateLimit(2, 3600)))
    async with AsyncTestClient(app=limited, base_url=BASE_URL) as http:
        lms = await register_lms(bootstrap, http)
        statuses = [(await lms.decide(password="guess number one")).status_code for _ in range(2)]
        blocked = await lms.decide()  # even the right password waits now
    assert statuses == [400, 400]
    assert blocked.status_code == 429
    assert blocked.headers["content-type"].startswith("text/html")
    assert 1 <= int(blocked.headers["retry-after"]) <= 3600
    assert "too many requests" in blocked.text
