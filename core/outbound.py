"""Addresses the server itself reaches: a segment's milestone feed, a webhook's target.

Such an address must not become a way into the network the server sits in: only http and
https, no user name or password in it, and no host that resolves to a private, loopback,
link-local, reserved or otherwise non-public address, unless the caller allows private ones
(a feed or a receiver inside the company's own network, or a test on this machine).

`address_problem` says why an address is refused before anything is sent. `session` is the
HTTP session to reach it with: it looks the host up again as it connects and connects only
to the public address it has just checked, so a name that answers with a public address at
the check and a private one a moment later (DNS rebinding) is refused at the connection,
before a byte is sent. `refusal` turns that refusal into the sentence to show.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection


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


# --- connecting only to the address just checked ---------------------------------------


class PrivateAddressError(NewConnectionError):
    """The host resolved, at the moment of connecting, to an address the server may not reach."""

    def __init__(self, conn, sentence: str) -> None:
        super().__init__(conn, sentence)
        self.sentence = sentence


def _public_connection(self) -> socket.socket:
    """urllib3's _new_conn, but to a public address of the host, looked up here and now."""
    try:
        infos = socket.getaddrinfo(self._dns_host, self.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NameResolutionError(self.host, self, exc) from exc
    if not infos or not all(is_public(info[4][0]) for info in infos):
        raise PrivateAddressError(self, f"The host {self.host} is a private or local address.")
    failure: OSError | None = None
    for *_, sockaddr in infos:
        try:
            return connection.create_connection(
                (sockaddr[0], self.port),
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from exc
        except OSError as exc:
            failure = exc
    raise NewConnectionError(self, f"Failed to establish a new connection: {failure}")


class _PublicHTTPConnection(HTTPConnection):
    _new_conn = _public_connection


class _PublicHTTPSConnection(HTTPSConnection):
    _new_conn = _public_connection  # TLS still checks the certificate against the host name


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class _PublicAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PublicHTTPPool,
            "https": _PublicHTTPSPool,
        }


def session(*, allow_private: bool) -> requests.Session:
    """A session for reaching addresses people gave: no proxy from the environment between
    the server and the check, and (unless `allow_private`) a connection only ever made to a
    public address, checked as it is made."""
    http = requests.Session()
    http.trust_env = False
    if not allow_private:
        adapter = _PublicAdapter()
        http.mount("http://", adapter)
        http.mount("https://", adapter)
    return http


def refusal(exc: BaseException) -> str:
    """The sentence for a request `session` refused because the host turned private; ""
    when `exc` is anything else."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, PrivateAddressError):
            return exc.sentence
        exc = getattr(exc, "reason", None) or (exc.args[0] if exc.args else None) or exc.__cause__
        if not isinstance(exc, BaseException):
            return ""
    return ""
