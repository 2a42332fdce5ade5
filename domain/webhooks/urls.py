"""Where a webhook may go: checked when an endpoint is saved and again before every attempt (DNS changes).

A URL is refused unless its host resolves only to public addresses, or to networks the operator allows;
plain http only reaches loopback receivers, and never in production. The delivery then connects to the
address checked here, not to whatever a second lookup would say (see ``delivery``), so that a DNS answer
that changes between the check and the connection (rebinding) cannot reach an internal address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from domain.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

LOOPBACK_NETWORKS: tuple[IPNetwork, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class UrlPolicy:
    require_https: bool = True
    # Addresses in these networks are accepted whatever their kind (a loopback test receiver, an internal
    # relay). Everything else must be a public address.
    allowed_networks: tuple[IPNetwork, ...] = ()
    resolve_timeout: float = 5.0


@dataclass(frozen=True)
class Target:
    """A checked URL: its host and port, and the addresses it resolved to (the first is connected to)."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


class UrlRefused(InvalidInput):
    """A webhook URL that breaks the rules, or whose host resolves where webhooks may not go."""


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64), which it may reach."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _kind(address: IPAddress) -> str | None:
    """What makes an address unfit for a webhook, or None for a public one."""
    for kind, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not globally routable", not address.is_global),
    ):
        if flag:
            return kind
    return None


def refusal(address: IPAddress, policy: UrlPolicy) -> str | None:
    """Why this address may not receive webhooks under the policy, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    if any(address in network for network in policy.allowed_networks):
        return None
    kind = _kind(address)
    if kind is not None:
        return f"{address} is a {kind} address" if kind != "not globally routable" else f"{address} is {kind}"
    for inner in _embedded_ipv4(address):
        if (why := refusal(inner, policy)) is not None:
            return f"{address} leads to {inner}: {why}"
    return None


def _is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _parse(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"the webhook URL {url!r} cannot be read: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlRefused("a webhook URL must start with https:// (or http:// for a loopback test receiver)")
    if "@" in parts.netloc:
        raise UrlRefused("a webhook URL cannot carry a user name or password: the signature authenticates us")
    if parts.fragment or "#" in url:
        raise UrlRefused("a webhook URL cannot have a fragment (#...)")
    if not parts.hostname:
        raise UrlRefused(f"the webhook URL {url!r} names no host")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


async def check_url(url: str, policy: UrlPolicy, resolve: Resolver = resolve_host) -> Target:
    """The checked target of a webhook URL; raises ``UrlRefused`` (a 422) saying why it may not be used."""
    scheme, host, port = _parse(url)
    try:
        async with asyncio.timeout(policy.resolve_timeout):
            addresses = await resolve(host, port)
    except TimeoutError as exc:
        raise UrlRefused(
            f"the host {host} of the webhook URL did not resolve within {policy.resolve_timeout:g} s"
        ) from exc
    except (OSError, UnicodeError, ValueError) as exc:
        raise UrlRefused(f"the host {host} of the webhook URL does not resolve: {exc}") from exc
    if not addresses:
        raise UrlRefused(f"the host {host} of the webhook URL resolves to no address")
    refused = [why for address in addresses if (why := refusal(address, policy)) is not None]
    if refused:
        raise UrlRefused(
            f"the webhook URL's host {host} resolves to an address webhooks may not reach ({'; '.join(refused)}): "
            "use a public address, or ask the operator to allow that network"
        )
    if scheme == "http" and (policy.require_https or not all(_is_loopback(a) for a in addresses)):
        raise UrlRefused(
            "a webhook URL must use https; plain http is accepted only for a loopback receiver outside production"
        )
    return Target(url=url, scheme=scheme, host=host, port=port, addresses=tuple(addresses))
