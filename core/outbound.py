"""Addresses the server itself reaches: a segment's milestone feed, a webhook's target.

Such an address must not become a way into the network the server sits in: only http and
https, no user name or password in it, and no host that resolves to a private, loopback,
link-local, reserved or otherwise non-public address, unless the caller allows private ones
(a feed or a receiver inside the company's own network, or a test on this machine).

`address_problem` says why an address is refused before anything is sent. `session` is the
HTTP session to reach it with: it looks the host up again as it connects and connects only
to the public address it has just checked, so a name that answers with a public address at
the check and a private one a moment later (DNS rebinding) is refused at the connection,
before a byte is sent. `refusal` turns that refusal into the sentence to show. Given
`seconds`, the session cuts its connections when that time is over, whatever they wait for:
requests' timeouts bound each wait for bytes, not the whole, so a receiver sending a header
line every few seconds would otherwise hold the worker as long as it liked.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
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


class _Guard:
    """What every connection of one session obeys: a public address only (unless private ones
    are allowed), and an end. At `seconds` from the session's start each of its connections
    is cut, whatever it is waiting for (the answer's first line, a trickle of headers, a slow
    body): the timeouts of requests bound only each single wait, never the whole."""

    def __init__(self, *, allow_private: bool, seconds: float | None) -> None:
        self.allow_private = allow_private
        self.deadline = time.monotonic() + seconds if seconds else None
        self._cuts: list[tuple[threading.Timer, socket.socket]] = []
        self._lock = threading.Lock()

    @property
    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def open(self, conn: HTTPConnection, plain) -> socket.socket:
        if self.expired:
            raise ConnectTimeoutError(conn, f"No time was left to connect to {conn.host}.")
        sock = plain() if self.allow_private else _public_connection(conn)
        if self.deadline is not None:
            # A duplicate of the socket, kept for the cut: TLS takes the original over, and
            # shutting the shared connection down ends whichever read is waiting on it.
            spare = sock.dup()
            timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), _cut, (spare,))
            timer.daemon = True
            with self._lock:
                self._cuts.append((timer, spare))
            timer.start()
        return sock

    def close(self) -> None:
        with self._lock:
            cuts, self._cuts = self._cuts, []
        for timer, spare in cuts:
            timer.cancel()
            spare.close()


def _cut(spare: socket.socket) -> None:
    with contextlib.suppress(OSError):
        spare.shutdown(socket.SHUT_RDWR)


def _adapter(guard: _Guard) -> HTTPAdapter:
    """An adapter whose connections open through `guard`."""

    class Connection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return guard.open(self, lambda: HTTPConnection._new_conn(self))

    class TLSConnection(HTTPSConnection):
        # TLS still checks the certificate against the host name, not the address.
        def _new_conn(self) -> socket.socket:
            return guard.open(self, lambda: HTTPSConnection._new_conn(self))

    class Pool(HTTPConnectionPool):
        ConnectionCls = Connection

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = TLSConnection

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}

    return Adapter()


class OutboundSession(requests.Session):
    """requests' session with the guard above; `expired` tells whether its time ran out."""

    def __init__(self, guard: _Guard) -> None:
        super().__init__()
        self.guard = guard
        self.trust_env = False  # no proxy from the environment between us and the check
        adapter = _adapter(guard)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    @property
    def expired(self) -> bool:
        return self.guard.expired

    def close(self) -> None:
        super().close()
        self.guard.close()


def session(*, allow_private: bool, seconds: float | None = None) -> OutboundSession:
    """A session for reaching addresses people gave: no proxy from the environment between
    the server and the check, a connection only ever made to a public address, checked as it
    is made (unless `allow_private`), and with `seconds`, every connection cut when that time
    from now has passed, so no receiver holds the worker longer."""
    return OutboundSession(_Guard(allow_private=allow_private, seconds=seconds))


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
