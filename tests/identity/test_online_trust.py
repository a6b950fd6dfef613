"""The online answer is unsigned: it may add a revocation, never undo one a signed list shows."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from designpatterns_ref.identity import (
    GateVerifier,
    IdentityError,
    Reason,
    StatusServer,
    fetch_status_list,
    online_check,
)
from tests.identity.world import make_world, serving, standard_claims

ANSWERS = ["revoked", "not revoked", "no answer"]


@pytest.mark.parametrize("answer", ANSWERS)
@pytest.mark.parametrize("bit_in_list", [True, False])
@pytest.mark.parametrize("list_state", ["fresh", "stale", "missing"])
def test_the_online_answer_only_adds_a_revocation(
    answer: str, bit_in_list: bool, list_state: str
) -> None:
    """Every combination against the rule: revoked if the held list (trusted, not from the
    future, however old) shows the bit or the online answer says so; else valid if the online
    answer says so; else whatever the cached list alone decides."""
    w = make_world(max_age=3_600)
    claims = standard_claims(w)
    token = w.issuer.sign_jws(claims)
    if bit_in_list:
        w.authority.revoke(claims.status_index)
    w.clock.advance(1)
    if list_state != "missing":
        w.cache.update(w.authority.publish())
    else:
        w.cache.lists.clear()
    if list_state == "stale":
        w.clock.advance(3_600)

    def online(issuer: str, list_id: str, index: int) -> bool:
        if answer == "no answer":
            raise OSError("no network")
        return answer == "revoked"

    verdict = GateVerifier(w.trust, w.cache, max_age=3_600, clock=w.clock, online=online).verify(
        token
    )
    offline = GateVerifier(w.trust, w.cache, max_age=3_600, clock=w.clock).verify(token)
    if (bit_in_list and list_state != "missing") or answer == "revoked":
        assert verdict.reason is Reason.REVOKED, verdict
    elif answer == "not revoked":
        assert verdict.reason is Reason.OK, verdict
    else:
        assert verdict.reason is offline.reason, (verdict, offline)


class _Liar(BaseHTTPRequestHandler):
    """Answers every status question "not revoked", as anyone on a plain-http path could."""

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        answer = {
            "issuer": query["issuer"][0],
            "list": query["list"][0],
            "index": int(url.path.split("/")[2]),
            "revoked": False,
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_a_lying_endpoint_cannot_unrevoke_a_badge_the_signed_list_shows_revoked() -> None:
    w = make_world()
    claims = standard_claims(w)
    badge = w.issuer.sign_compact(claims)
    w.authority.revoke(claims.status_index)
    w.clock.advance(1)
    w.cache.update(w.authority.publish())
    with serving(_Liar) as url:
        gate = GateVerifier(
            w.trust, w.cache, clock=w.clock, online=online_check(url, issuer="acme-id")
        )
        verdict = gate.verify(badge)
    assert verdict.reason is Reason.REVOKED and verdict.detail == "revoked (status list)"


@pytest.mark.parametrize(
    "url",
    [
        "http://status.acme.example",
        "http://10.0.0.1:8080",
        "http://[2001:db8::1]:80",
        "http://localhost.example:80",
        "http://[::ffff:10.0.0.1]:80",
    ],
)
def test_plain_http_is_refused_for_online_checks_beyond_loopback(url: str) -> None:
    with pytest.raises(IdentityError, match="https"):
        online_check(url, issuer="acme-id")


@pytest.mark.parametrize(
    "url",
    [
        "https://status.acme.example",
        "http://127.0.0.1:9",
        "http://127.8.9.10:9",
        "http://localhost:9",
        "http://LOCALHOST:9",
        "http://localhost.:9",
        "http://[::1]:9",
        "http://[::ffff:127.0.0.1]:9",
    ],
)
def test_https_or_loopback_is_accepted_for_online_checks(url: str) -> None:
    assert callable(online_check(url, issuer="acme-id"))


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:99999", "http://127.0.0.1:abc", "http://[::1", "http://:80"]
)
def test_a_malformed_url_is_refused_when_the_check_is_made(url: str) -> None:
    """Not a bare ValueError at every scan, which the gate would take as 'no answer' and so
    silently run offline."""
    with pytest.raises(IdentityError, match="base_url"):
        online_check(url, issuer="acme-id")
    with pytest.raises(IdentityError, match="base_url"):
        fetch_status_list(url)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_the_server_serves_on_every_loopback_host_it_accepts(host: str) -> None:
    """Each host the server accepts starts (IPv6 included) and gives a URL a client can use."""
    w = make_world()
    claims = standard_claims(w)
    with StatusServer(w.authority, host=host) as server:
        check = online_check(server.url, issuer="acme-id", timeout=5)
        assert check("acme-id", "acme/status/1", claims.status_index) is False
        assert fetch_status_list(server.url, timeout=5).count(".") == 2


def test_the_timeout_bounds_name_resolution_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resolver that takes 3 s to answer (a DNS server timing out) does not hold a check
    with a 1 s timeout: the whole request, resolution included, gives up after its second."""
    w = make_world()
    with StatusServer(w.authority) as server:
        port = server.url.rsplit(":", 1)[1]
        real = socket.getaddrinfo

        def slow(*args: Any, **kwargs: Any) -> Any:
            time.sleep(3)
            return real(*args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", slow)
        check = online_check(f"http://localhost:{port}", issuer="acme-id", timeout=1.0)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            check("acme-id", "acme/status/1", 0)
        took = time.monotonic() - started
    assert 0.9 <= took < 2.5, took
