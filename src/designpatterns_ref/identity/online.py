"""Online revocation checks over HTTP: the issuer's status endpoint, and the gate's client.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

When a gate has a connection it need not trust a cached list: :func:`online_check` asks the
issuer's :class:`StatusServer` about one credential
(``GET /status/<index>?list=<id>&issuer=<issuer>``) and the answer is current, so the
revocation window is zero. A check is bound to one issuer: two issuers may give their lists
the same name, so the gate says whose credential it asks about, the server answers only for its
own issuer and says so in its answer, and the client refuses a question about another issuer
(the gate then falls back to its cached list). It is bounded in time: the whole request, not
each read, gives up after ``timeout`` seconds (a timer cuts the connection, so a server that
drips one byte a second cannot hold the gate; the name is resolved, and each of its addresses
tried, within the time left, so a slow resolver cannot either) and raises ``OSError``; an answer that is not one
raises :class:`IdentityError`. On either,
:class:`~designpatterns_ref.identity.verifier.GateVerifier` falls back to its cached list under
the ``max_age`` policy. The same server hands out the signed status list (``GET /list``) for
:func:`fetch_status_list`, which is how a gate refreshes its cache while online.

The trade-off: an online check tells the issuer which badge was scanned, where and when (the
privacy cost the status list avoids), and makes every scan wait on the network.

The server is the standard library's threaded HTTP server on loopback, for teaching and tests,
not for production traffic; the client is ``http.client``. Neither needs an extra package.

Complexity: one HTTP round trip per check.

>>> from designpatterns_ref.identity.keys import KeySet
>>> from designpatterns_ref.identity.statuslist import StatusAuthority
>>> authority = StatusAuthority(KeySet("acme-id", seed=b"doc"), "acme/status/1")
>>> index = authority.allocate()
>>> with StatusServer(authority) as server:
...     check = online_check(server.url, issuer="acme-id", timeout=2.0)
...     before = check("acme-id", "acme/status/1", index)
...     authority.revoke(index)
...     after = check("acme-id", "acme/status/1", index)
>>> before, after
(False, True)
"""  # noqa: E501

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import math
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.identity.base import (
    IdentityError,
    IdentityTypeError,
    check_index,
    check_name,
)
from designpatterns_ref.identity.statuslist import StatusAuthority

__all__ = ["StatusServer", "fetch_status_list", "online_check"]

# A status path's index: ASCII digits only (str.isdigit() also takes "²" and "٣", which int()
# refuses or reads as another number). More than 10 digits names no index of a status list:
# indexes are below 2**32, a 10-digit number.
_DIGITS = re.compile(r"[0-9]+")
_MAX_INDEX_DIGITS = 10


def _check_timeout(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise IdentityTypeError(f"timeout={shown(timeout, 60)} must be a number of seconds")
    seconds = float(timeout) if abs(timeout) < 1e9 else math.inf
    if not 0 < seconds <= 60:
        raise IdentityError(f"timeout={shown(timeout, 60)} must be in (0, 60] seconds")
    return seconds


def _is_loopback(host: str) -> bool:
    """``localhost`` (``localhost.`` too: the same name, fully qualified), an address in
    127.0.0.0/8, ``::1``, or an IPv4 loopback written as IPv6 (``::ffff:127.0.0.1``, which
    Python 3.11 does not count as loopback by itself)."""
    if host in ("localhost", "localhost."):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name, not an address
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def _check_url(base_url: object, *, signed: bool) -> str:
    """``base_url`` without its trailing slashes, once it is an http(s) URL with a host and a
    valid port. An answer that is not ``signed`` (an online check) travels over plain ``http``
    only to a loopback host: anywhere else anyone on the path could rewrite it, so ``https``
    is required."""
    if not isinstance(base_url, str):
        raise IdentityTypeError(f"base_url={shown(base_url, 60)} must be a str")
    problem = "must be an http(s) URL"
    try:
        parsed = urllib.parse.urlsplit(base_url) if base_url.isascii() else None
        if parsed is not None:
            problem = "must name a port in [0, 65535], as digits"
            parsed.port  # noqa: B018 (reading it checks it: it raises ValueError)
    except ValueError:
        raise IdentityError(f"base_url={shown(base_url, 60)} {problem}") from None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise IdentityError(f"base_url={shown(base_url, 60)} must be an http(s) URL")
    if not signed and parsed.scheme == "http" and not _is_loopback(parsed.hostname):
        raise IdentityError(
            f"base_url={shown(base_url, 60)} must be https: an online answer is not signed, so"
            " plain http is allowed only to a loopback host (localhost, 127.0.0.0/8, ::1)"
        )
    return base_url.rstrip("/")


class _IPv6Server(ThreadingHTTPServer):
    """The threaded HTTP server on an IPv6 address (the standard one is IPv4 only)."""

    address_family = socket.AF_INET6


class StatusServer:
    """The issuer's status endpoint on loopback: ``/status/<index>?list=<id>&issuer=<issuer>``
    and ``/list``.

    Every request gets an answer: ``/status/<index>`` with ``<index>`` 1 to 10 ASCII digits
    naming a bit of the list answers 200 with ``{"issuer", "list", "index", "revoked"}``;
    another issuer, an unknown list, more digits or an index past the list answers 400; any
    other path (another kind of digit such as ``²`` or ``٣`` included) answers 404. ``/list``
    answers 200 with the signed list, or 503 when the authority cannot publish one (its clock
    reads no usable time).
    """

    def __init__(self, authority: StatusAuthority, *, host: str = "127.0.0.1", port: int = 0):
        if not isinstance(authority, StatusAuthority):
            raise IdentityTypeError(f"authority={shown(authority, 60)} must be a StatusAuthority")
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise IdentityError(f"host={shown(host, 60)} must be a loopback address")
        check_index("port", port, 65_536)
        self.authority = authority
        self._address = (host, port)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The server's base URL (once started)."""
        if self._server is None:
            raise IdentityError("the status server is not running")
        host, port = self._server.server_address[:2]
        return f"http://[{host!s}]:{port}" if ":" in str(host) else f"http://{host!s}:{port}"

    def start(self) -> StatusServer:
        """Listen and serve in a background thread."""
        authority = self.authority

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

            def _send(self, code: int, body: str, kind: str = "application/json") -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # the name http.server calls
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/list":
                    try:
                        signed = authority.publish()
                    except IdentityError as bad:
                        self._send(503, json.dumps({"error": str(bad)}))
                        return
                    self._send(200, signed, "application/jwt")
                    return
                parts = url.path.split("/")
                query = urllib.parse.parse_qs(url.query)
                list_id = query.get("list", [""])[0]
                issuer = query.get("issuer", [""])[0]
                if len(parts) != 3 or parts[1] != "status" or not _DIGITS.fullmatch(parts[2]):
                    self._send(404, '{"error": "no such resource"}')
                    return
                if len(parts[2]) > _MAX_INDEX_DIGITS:
                    error = f"index {parts[2][:20]}... has more than {_MAX_INDEX_DIGITS} digits"
                    self._send(400, json.dumps({"error": error}))
                    return
                index = int(parts[2])
                try:
                    revoked = authority.check(issuer, list_id, index)
                except IdentityError as bad:
                    self._send(400, json.dumps({"error": str(bad)}))
                    return
                answer = {"issuer": issuer, "list": list_id, "index": index, "revoked": revoked}
                self._send(200, json.dumps(answer))

        kind = _IPv6Server if self._address[0] == "::1" else ThreadingHTTPServer
        self._server = kind(self._address, Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StatusServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _resolve(host: str, port: int, deadline: float) -> list[tuple[Any, ...]]:
    """``getaddrinfo`` for ``host``, given up at ``deadline``: a resolver that does not answer
    (a DNS server timing out) would otherwise hold the call for as long as it likes. The
    lookup goes on in a daemon thread, so its answer, if late, is simply dropped."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:  # an address: nothing to look up, no thread
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    answer: list[Any] = []
    done = threading.Event()

    def look_up() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as bad:
            answer.append(bad)
        finally:
            done.set()

    threading.Thread(target=look_up, daemon=True).start()
    if not done.wait(max(0.0, deadline - time.monotonic())):
        raise TimeoutError(f"{host}: no address within the timeout")
    if isinstance(answer[0], OSError):
        raise answer[0]
    return list(answer[0])


def _connect_by(deadline: float, opened: list[socket.socket]) -> Callable[..., socket.socket]:
    """A ``create_connection`` for ``http.client`` that resolves and tries each address within
    what is left of the time until ``deadline`` (not the whole timeout for each address), and
    puts each socket it opens in ``opened``, so the timer can cut it mid-connect."""

    def create_connection(address: tuple[str, int], *_: object) -> socket.socket:
        host, port = address
        failure: OSError = OSError(f"{host}: no address to connect to")
        for family, kind, proto, _name, where in _resolve(host, port, deadline):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock = socket.socket(family, kind, proto)
            opened.append(sock)
            try:
                sock.settimeout(left)
                sock.connect(where)
            except OSError as bad:
                failure = bad
                sock.close()
                continue
            return sock
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{host}: not connected within the timeout")
        raise failure

    return create_connection


def _get(url: str, path: str, seconds: float, limit: int) -> bytes:
    """The body of ``GET url + path``, the whole exchange within ``seconds``.

    A socket timeout bounds each read, not the call: a server that sends one byte a second
    would hold the gate for as long as it liked. So a timer cuts the connection when the time
    is up, whatever is being done; the name is resolved and each address tried within the
    time left (see :func:`_connect_by`). Raises ``TimeoutError`` (an ``OSError``) when time ran
    out, ``OSError`` when the server cannot be reached, and :class:`IdentityError` on an
    answer that is not HTTP, not a whole body of at most ``limit`` bytes, or not status 200.
    """
    parts = urllib.parse.urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    deadline = time.monotonic() + seconds
    connection = kind(parts.hostname or "", parts.port, timeout=seconds)
    opened: list[socket.socket] = []
    connection._create_connection = _connect_by(deadline, opened)  # type: ignore[attr-defined]
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        for sock in [connection.sock, *opened]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked connect, handshake or read

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()
    try:
        connection.connect()
        connection.request("GET", parts.path + path)
        reply = connection.getresponse()
        body = reply.read(limit + 1)
        whole = reply.length is None or reply.length == 0
        status = reply.status
    except (OSError, http.client.HTTPException) as bad:
        if expired.is_set() or time.monotonic() >= deadline:
            raise TimeoutError(f"{url}: no whole answer within {seconds:g} s") from None
        if isinstance(bad, OSError):
            raise
        raise IdentityError(
            f"{url}: the answer is not HTTP ({type(bad).__name__}: {shown(bad, 60)})"
        ) from None
    finally:
        timer.cancel()
        connection.close()
        for sock in opened:
            sock.close()
    if expired.is_set():
        raise TimeoutError(f"{url}: no whole answer within {seconds:g} s")
    if not whole or len(body) > limit:
        raise IdentityError(f"{url}: the answer is cut short or longer than {limit} bytes")
    if status != 200:
        raise IdentityError(f"{url}: the endpoint answered HTTP {status}: {shown(body, 80)}")
    return body


def online_check(
    base_url: str, *, issuer: str, timeout: float = 1.0
) -> Callable[[str, str, int], bool]:
    """An ``(issuer, list_id, index) -> revoked`` function asking ``issuer``'s endpoint at
    ``base_url``, for :class:`~designpatterns_ref.identity.verifier.GateVerifier`'s ``online``.

    It answers only about ``issuer``'s credentials: asked about another issuer's it raises
    :class:`IdentityError` without asking (the gate then falls back to its cached list; a gate
    trusting several issuers routes each to its own check). It raises ``OSError`` when the
    issuer cannot be reached within ``timeout`` seconds and :class:`IdentityError` on an answer
    that is not one, or not about that issuer's list and index. ``timeout`` bounds the whole
    request, not each read. It connects to ``base_url`` directly: proxy settings
    (``HTTP_PROXY``, ``HTTPS_PROXY``) are not read, so a gate behind a proxy points
    ``base_url`` at a forwarder it can reach.

    The answer is not signed, so ``base_url`` must be ``https`` unless its host is loopback
    (``localhost``, ``127.0.0.0/8``, ``::1``): over plain http anyone on the path could answer
    "not revoked". Even so, the gate lets the answer only add a revocation or stand in for a
    missing or stale list, never clear a bit its signed list shows set. A malformed URL (no
    host, a port that is not digits in [0, 65535]) raises :class:`IdentityError` here, not at
    the first scan.
    """
    base = _check_url(base_url, signed=False)
    seconds = _check_timeout(timeout)
    bound = check_name("issuer", issuer)

    def check(issuer: str, list_id: str, index: int) -> bool:
        check_name("issuer", issuer)
        check_name("list_id", list_id)
        check_index("index", index, 2**32)
        if issuer != bound:
            raise IdentityError(
                f"issuer={shown(issuer, 80)} is not {shown(bound, 80)}, whose endpoint this is"
            )
        query = urllib.parse.urlencode({"list": list_id, "issuer": issuer})
        body = _get(base, f"/status/{index}?{query}", seconds, 4_096)
        try:
            answer = json.loads(body)
        except ValueError as bad:  # not JSON: a captive portal's page, say
            raise IdentityError(
                f"the status endpoint's answer is not one ({type(bad).__name__}: {shown(bad, 60)})"
            ) from None
        if (
            not isinstance(answer, dict)
            or answer.get("issuer") != issuer
            or answer.get("list") != list_id
            or answer.get("index") != index
            or not isinstance(answer.get("revoked"), bool)
        ):
            raise IdentityError(
                f"the status endpoint gave no answer for {issuer}'s {list_id}/{index}"
            )
        return bool(answer["revoked"])

    return check


def fetch_status_list(base_url: str, *, timeout: float = 5.0) -> str:
    """The issuer's current signed status list (a compact JWS), for ``StatusListCache.update``.

    Raises ``OSError`` when the issuer cannot be reached within ``timeout`` seconds and
    :class:`IdentityError` on an answer that is not HTTP or not ASCII. Plain http to any host
    is allowed: the list is signed, and :meth:`StatusListCache.update
    <designpatterns_ref.identity.statuslist.StatusListCache.update>` verifies it.
    """
    base = _check_url(base_url, signed=True)
    seconds = _check_timeout(timeout)
    body = _get(base, "/list", seconds, 64 * 1024 * 1024)
    try:
        return body.decode("ascii")
    except ValueError as bad:
        raise IdentityError(
            f"the status endpoint's list is not one ({type(bad).__name__}: {shown(bad, 60)})"
        ) from None
