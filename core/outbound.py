"""Addresses the server itself reaches: a segment's milestone feed, a webhook's target.

Such an address must not become a way into the network the server sits in: only http and
https, no user name or password in it, and no host that resolves to a private, loopback,
link-local, reserved or otherwise non-public address, unless the caller allows private ones
(a feed or a receiver inside the company's own network, or a test on this machine).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def is_public(address: str) -> bool:
    """Whether an IP address is one the public internet routes to."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def address_problem(
    url: str,
    *,
    allow_private: bool,
    resolve: bool = True,
    example: str = "https://example.com/",
    reaches: str = "only reaches public addresses",
) -> str:
    """Why the server may not reach `url`; "" when it may. With `resolve`, the host's
    addresses are looked up and each must be public (unless `allow_private`). `example`
    shows how to write an address; `reaches` ends the sentence refusing a private host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"The address cannot be read: write it like {example}."
    if parts.scheme not in ("http", "https"):
        return "The address must start with http:// or https://."
    if not parts.hostname:
        return f"The address has no host: write it like {example}."
    if parts.username or parts.password:
        return "Leave the user name and password out of the address."
    if not resolve or allow_private:
        return ""
    try:
        default_port = 443 if parts.scheme == "https" else 80
        infos = socket.getaddrinfo(parts.hostname, port or default_port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return f"The host {parts.hostname} cannot be found."
    if not infos or not all(is_public(info[4][0]) for info in infos):
        return f"The host {parts.hostname} is a private or local address; the server {reaches}."
    return ""
