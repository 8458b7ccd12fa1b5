"""Which endpoints may be called (SSRF): checked when set and again at
every send, and the send connects to the very address checked.

A deployed stage calls only ``https://`` URLs whose host resolves to global
addresses only: no private, loopback, link-local, shared (100.64/10),
reserved, multicast or unspecified address, no IPv4 hidden in IPv6 that is
one of those. The local and test stages also accept ``http://`` and
loopback, so a test can run its receiver on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
LOOPBACK_STAGES = frozenset({"local", "test"})

Resolver = Callable[[str, int], list[str]]


class NotAllowed(ValueError):
    """The endpoint may not be called; the message says why (no address)."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect, and what to tell the server."""

    scheme: str
    host: str  # as written: the Host header and the TLS server name
    port: int
    path: str  # with its query
    address: str  # the IP address checked, the one connected to


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise NotAllowed("its host does not resolve") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse(url: str, *, loopback_allowed: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL that may be set, else NotAllowed."""
    if len(url) > MAX_URL_LENGTH or not url.isascii() or any(c.isspace() for c in url):
        raise NotAllowed(f"an absolute URL of at most {MAX_URL_LENGTH} ASCII characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise NotAllowed("not a valid URL") from exc
    schemes = ("https", "http") if loopback_allowed else ("https",)
    if parts.scheme not in schemes:
        raise NotAllowed("an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise NotAllowed("a URL without user or password")
    if parts.fragment or not parts.hostname:
        raise NotAllowed("an absolute URL with a host and no fragment")
    default = 443 if parts.scheme == "https" else 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or default, path


def allowed(address: str, *, loopback_allowed: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return allowed(str(embedded), loopback_allowed=loopback_allowed)
    if loopback_allowed and ip.is_loopback:
        return True
    return ip.is_global and not ip.is_multicast


def check(url: str, *, loopback_allowed: bool, resolver: Resolver = resolve) -> Target:
    """The URL's target, every address of its host allowed; else NotAllowed."""
    scheme, host, port, path = parse(url, loopback_allowed=loopback_allowed)
    addresses = resolver(host, port)
    if not addresses:
        raise NotAllowed("its host does not resolve")
    if not all(allowed(a, loopback_allowed=loopback_allowed) for a in addresses):
        raise NotAllowed("its host resolves to a private, loopback or reserved address")
    return Target(scheme, host, port, path, addresses[0])
