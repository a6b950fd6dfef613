"""Online checks over real loopback HTTP: current answers, a bounded failure, the fallback."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.identity import (
    GateVerifier,
    IdentityError,
    Issuer,
    KeySet,
    Reason,
    StatusAuthority,
    StatusServer,
    fetch_status_list,
    online_check,
)
from tests.identity.world import make_world, serving, standard_claims


def test_the_gate_asks_the_issuer_and_sees_a_revocation_at_once() -> None:
    w = make_world()
    claims = standard_claims(w)
    token = w.issuer.sign_compact(claims)
    with StatusServer(w.authority) as server:
        gate = GateVerifier(
            w.trust, w.cache, clock=w.clock, online=online_check(server.url, issuer="acme-id")
        )
        assert gate.verify(token).detail == "valid (online check)"
        w.authority.revoke(claims.status_index)
        verdict = gate.verify(token)
        assert verdict.reason is Reason.REVOKED and "online" in verdict.detail
        w.cache.update(fetch_status_list(server.url))  # and the cache refreshes over HTTP
    offline = GateVerifier(w.trust, w.cache, clock=w.clock)
    assert offline.verify(token).reason is Reason.REVOKED


def test_an_unreachable_issuer_fails_within_the_timeout_and_the_cache_decides() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    w = make_world()
    claims = standard_claims(w)
    token = w.issuer.sign_jws(claims)
    check = online_check(f"http://127.0.0.1:{port}", issuer="acme-id", timeout=0.5)
    with pytest.raises(OSError):
        check("acme-id", "acme/status/1", claims.status_index)
    gate = GateVerifier(w.trust, w.cache, max_age=3_600, clock=w.clock, online=check)
    assert gate.verify(token).detail == "valid"  # the cached list, within max_age
    w.clock.advance(3_600)
    assert gate.verify(token).reason is Reason.STALE_STATUS


def test_the_endpoint_refuses_unknown_lists_and_paths() -> None:
    w = make_world()
    with StatusServer(w.authority) as server:
        check = online_check(server.url, issuer="acme-id")
        with pytest.raises(IdentityError, match="HTTP 400"):  # an answer, but not one
            check("acme-id", "another/list", 0)
        with pytest.raises(IdentityError):
            check("acme-id", "acme/status/1", -1)


@pytest.mark.parametrize("url", ["", "ftp://x", "not a url", "http://", "é"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(IdentityError):
        online_check(url, issuer="acme-id")


def test_the_server_listens_on_loopback_only() -> None:
    w = make_world()
    with pytest.raises(IdentityError, match="loopback"):
        StatusServer(w.authority, host="0.0.0.0")
    server = StatusServer(w.authority)
    with pytest.raises(IdentityError, match="not running"):
        _ = server.url


# --- the status path: ASCII digits only, answered whatever the client sends ------------------

_PIECES = [b"0", b"3", b"9", b"x", b"-", b"+", b"_", b".", b"%B2", b"%D9%A3"]
_PIECES += [b"\xb2", b"\xb3", b"\xb9", "\u0663".encode(), "\uff13".encode(), "\u00bd".encode()]
SEGMENTS = st.one_of(
    st.lists(st.sampled_from(_PIECES), max_size=12).map(b"".join),
    st.integers(0, 2**40).map(lambda n: str(n).encode()),
    st.integers(11, 6_000).map(lambda n: b"9" * n),  # past int()'s 4,300-digit limit too
)


def _get(url: str, path: bytes) -> bytes:
    """One raw HTTP/1.0 request over a real loopback socket; the whole reply."""
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"GET " + path + b" HTTP/1.0\r\n\r\n")
        reply = b""
        while chunk := s.recv(65_536):
            reply += chunk
    return reply


def _expected_status(segment: bytes, size: int) -> int:
    """The oracle: 1 to 10 ASCII digits naming a bit of the list, 200; more digits or a bit
    past the list, 400; anything else is no resource, 404."""
    if not segment or any(not 0x30 <= b <= 0x39 for b in segment):
        return 404
    return 200 if len(segment) <= 10 and int(segment) < size else 400


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, StatusServer]]:
    w = make_world()
    for _ in range(4):
        w.authority.allocate()
    w.authority.revoke(3)
    with StatusServer(w.authority) as server:
        yield server.url, server


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(segment=SEGMENTS)
@example(segment=b"3")
@example(segment=b"\xb2")  # "²" to the server: str.isdigit() said yes, int() raised
@example(segment=b"1\xb3")
@example(segment="\u0663".encode())  # an Arabic-Indic three
@example(segment=b"9" * 5000)  # int() refuses more than 4,300 digits
@example(segment=b"9" * 11)
@example(segment=b"0000000003")
@example(segment=b"")
def test_every_status_path_gets_an_answer(served: tuple[str, StatusServer], segment: bytes) -> None:
    url, server = served
    size = server.authority.statuses.size
    reply = _get(url, b"/status/" + segment + b"?list=acme%2Fstatus%2F1&issuer=acme-id")
    assert reply, "the server closed the connection without answering"
    status = int(reply.split(b" ", 2)[1])
    assert status == _expected_status(segment, size), (segment, reply[:200])
    if status == 200:
        body = json.loads(reply.split(b"\r\n\r\n", 1)[1])
        assert body == {
            "issuer": "acme-id",
            "list": "acme/status/1",
            "index": int(segment),
            "revoked": int(segment) == 3,
        }


def test_the_list_endpoint_answers_503_when_the_issuer_clock_is_broken(
    served: tuple[str, StatusServer],
) -> None:
    url, server = served
    clock = server.authority.clock
    server.authority.clock = lambda: math.nan
    try:
        reply = _get(url, b"/list")
    finally:
        server.authority.clock = clock
    assert reply.startswith(b"HTTP/1.0 503") and b"clock" in reply
    assert _get(url, b"/list").startswith(b"HTTP/1.0 200")


def _two_issuers_sharing_a_list_name():  # type: ignore[no-untyped-def]
    """acme runs the site's endpoint; beta names its list like acme's and revokes a badge."""
    acme = make_world(seed=b"acme")
    beta_keys = KeySet("beta-id", seed=b"beta")
    beta = StatusAuthority(beta_keys, "acme/status/1", clock=acme.clock)
    beta_issuer = Issuer(beta_keys, beta, clock=acme.clock)
    claims = beta_issuer.issue("w2", "beta", "dock-3", "loader", valid_for=3_600)
    acme.trust.load(beta_keys.jwks(), issuer="beta-id")
    acme.authority.allocate()  # acme's bit at that index is clear
    beta.revoke(claims.status_index)
    return acme, beta, beta_issuer.sign_jws(claims)


def test_the_gate_never_takes_one_issuers_online_answer_for_anothers_credential() -> None:
    acme, _, beta_token = _two_issuers_sharing_a_list_name()
    with StatusServer(acme.authority) as server:
        check = online_check(server.url, issuer="acme-id", timeout=2)
        with pytest.raises(IdentityError, match="beta-id"):
            check("beta-id", "acme/status/1", 0)
        gate = GateVerifier(acme.trust, acme.cache, clock=acme.clock, online=check)
        verdict = gate.verify(beta_token)  # no beta list cached: no answer at all
        assert verdict.reason is Reason.STATUS_UNAVAILABLE, verdict.detail
        reply = _get(server.url, b"/status/0?list=acme%2Fstatus%2F1&issuer=beta-id")
        assert reply.startswith(b"HTTP/1.0 400") and b"beta-id" in reply


def test_a_gate_routes_each_issuer_to_its_own_endpoint() -> None:
    acme, beta, beta_token = _two_issuers_sharing_a_list_name()
    with StatusServer(acme.authority) as a, StatusServer(beta) as b:
        checks = {
            "acme-id": online_check(a.url, issuer="acme-id", timeout=2),
            "beta-id": online_check(b.url, issuer="beta-id", timeout=2),
        }
        gate = GateVerifier(
            acme.trust,
            acme.cache,
            clock=acme.clock,
            online=lambda issuer, list_id, index: checks[issuer](issuer, list_id, index),
        )
        assert gate.verify(beta_token).reason is Reason.REVOKED


class _Garbage(BaseHTTPRequestHandler):
    """What a gate may meet instead of its issuer: a captive portal, a broken proxy."""

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        kind = self.server.kind  # type: ignore[attr-defined]
        if kind == "html":
            body = b"<html>Please log in to the site Wi-Fi</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif kind == "not http":
            self.wfile.write(b"garbage\r\n\r\n")
        elif kind == "short":  # promises 100 bytes, sends 3 and hangs up
            self.wfile.write(b'HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n{"i')
        elif kind == "binary list":
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"\xff\xfe")


@pytest.mark.parametrize("kind", ["html", "not http", "short", "binary list"])
def test_a_garbled_answer_is_no_answer_and_the_cache_decides(kind: str) -> None:
    w = make_world()
    claims = standard_claims(w)
    token = w.issuer.sign_jws(claims)
    with serving(_Garbage, kind=kind) as url:
        check = online_check(url, issuer="acme-id", timeout=2)
        with pytest.raises((IdentityError, OSError)) as info:
            check("acme-id", "acme/status/1", claims.status_index)
        assert isinstance(info.value, (IdentityError, ConnectionError, TimeoutError))
        if kind != "html":  # an HTML page is text: StatusListCache.update refuses it
            with pytest.raises((IdentityError, OSError)):
                fetch_status_list(url, timeout=2)
        gate = GateVerifier(w.trust, w.cache, clock=w.clock, online=check)
        assert gate.verify(token).detail == "valid"  # the cached list, within max_age


def test_any_failure_of_the_online_callable_falls_back_to_the_cache() -> None:
    w = make_world()
    token = w.issuer.sign_jws(standard_claims(w))

    def broken(issuer: str, list_id: str, index: int) -> bool:
        raise KeyError(issuer)  # a gate routing issuers to endpoints, this one unknown

    gate = GateVerifier(w.trust, w.cache, clock=w.clock, online=broken)
    assert gate.verify(token).detail == "valid"


def test_the_timeout_bounds_the_whole_call_not_each_read() -> None:
    """A server that drips its answer one byte every 0.2 s (about 11 s for the whole head): a
    timeout of 1 s on each read would wait all of it; the whole call gives up after its one
    second (the bound below leaves a loaded machine five times that)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        stop = threading.Event()

        def drip() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(4_096)
                for byte in b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 40:
                    if stop.is_set():
                        return
                    try:
                        connection.send(bytes([byte]))
                    except OSError:
                        return
                    time.sleep(0.2)

        thread = threading.Thread(target=drip, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            online_check(url, issuer="acme-id", timeout=1.0)("acme-id", "L", 0)
        took = time.monotonic() - started
        stop.set()
        thread.join(timeout=5)
    assert 0.9 <= took < 6.0, took
