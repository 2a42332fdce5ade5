"""Fetching other issuers' DID documents, key sets and status lists without becoming an SSRF proxy.

The URL is checked as a webhook's is (``domain.webhooks.urls``): https only, a host that resolves only to
public addresses (or to networks the operator allows explicitly, e.g. loopback for a test), and the
connection made to the address that was checked (no DNS rebinding). No redirects, a size cap and a time
limit. A CA bundle can replace the system's trust store (a test's own TLS server).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from domain.errors import InvalidInput
from domain.webhooks.delivery import PinnedTransport
from domain.webhooks.urls import IPNetwork, Resolver, UrlPolicy, UrlRefused, check_url, resolve_host

MAX_BYTES = 512 * 1024
_USER_AGENT = "Guildhall-Verifier/1"


class FetchFailed(InvalidInput):
    """A document of another issuer that could not be fetched (refused address, timeout, error, too large)."""


@dataclass(frozen=True)
class FetchOptions:
    allowed_networks: tuple[IPNetwork, ...] = ()
    ca_bundle: str | None = None
    timeout: float = 5.0
    resolve: Resolver = resolve_host

    @classmethod
    def of(cls, networks: tuple[str, ...], ca_bundle: str | None, timeout: float = 5.0) -> FetchOptions:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks), ca_bundle, timeout)


@functools.cache
def _ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    if ca_bundle is None:
        return httpx.create_ssl_context(trust_env=False)
    return ssl.create_default_context(cafile=ca_bundle)


async def fetch(url: str, options: FetchOptions, accept: str = "application/json") -> tuple[str, bytes]:
    """The media type and body at ``url``; ``FetchFailed`` saying why not."""
    policy = UrlPolicy(require_https=True, allowed_networks=options.allowed_networks)
    try:
        async with asyncio.timeout(options.timeout):
            if not url.startswith("https://"):
                raise FetchFailed(f"{url} is not an https URL")
            target = await check_url(url, policy, options.resolve)
            transport = PinnedTransport(str(target.addresses[0]), _ssl_context(options.ca_bundle))
            async with (
                httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False) as client,
                client.stream(
                    "GET", url, headers={"accept": accept, "user-agent": _USER_AGENT, "accept-encoding": "identity"}
                ) as response,
            ):
                if response.status_code != 200:
                    raise FetchFailed(f"{url} answered {response.status_code}")
                body = b""
                async for chunk in response.aiter_raw():
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise FetchFailed(f"{url} sent more than {MAX_BYTES} bytes")
                return response.headers.get("content-type", "").split(";")[0].strip(), body
    except UrlRefused as exc:
        raise FetchFailed(f"{url} may not be fetched: {exc.message}") from exc
    except TimeoutError as exc:
        raise FetchFailed(f"{url} did not answer within {options.timeout:g} s") from exc
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError, ValueError) as exc:
        raise FetchFailed(f"{url} could not be fetched: {type(exc).__name__}") from exc


async def fetch_json(url: str, options: FetchOptions) -> Any:
    _, body = await fetch(url, options)
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise FetchFailed(f"{url} did not send JSON") from exc
