"""Online checks over real loopback HTTP: current answers, a bounded failure, the fallback."""

from __future__ import annotations

import socket

import pytest

from designpatterns_ref.identity import (
    GateVerifier,
    IdentityError,
    Reason,
    StatusServer,
    fetch_status_list,
    online_check,
)
from tests.identity.world import make_world, standard_claims


def test_the_gate_asks_the_issuer_and_sees_a_revocation_at_once() -> None:
    w = make_world()
    claims = standard_claims(w)
    token = w.issuer.sign_compact(claims)
    with StatusServer(w.authority) as server:
        gate = GateVerifier(w.trust, w.cache, clock=w.clock, online=online_check(server.url))
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
    check = online_check(f"http://127.0.0.1:{port}", timeout=0.5)
    with pytest.raises(OSError):
        check("acme/status/1", claims.status_index)
    gate = GateVerifier(w.trust, w.cache, max_age=3_600, clock=w.clock, online=check)
    assert gate.verify(token).detail == "valid"  # the cached list, within max_age
    w.clock.advance(3_600)
    assert gate.verify(token).reason is Reason.STALE_STATUS


def test_the_endpoint_refuses_unknown_lists_and_paths() -> None:
    w = make_world()
    with StatusServer(w.authority) as server:
        with pytest.raises(OSError):  # HTTP 400 surfaces as urllib's HTTPError, an OSError
            online_check(server.url)("another/list", 0)
        with pytest.raises(IdentityError):
            online_check(server.url)("acme/status/1", -1)


@pytest.mark.parametrize("url", ["", "ftp://x", "not a url", "http://", "é"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(IdentityError):
        online_check(url)


def test_the_server_listens_on_loopback_only() -> None:
    w = make_world()
    with pytest.raises(IdentityError, match="loopback"):
        StatusServer(w.authority, host="0.0.0.0")
    server = StatusServer(w.authority)
    with pytest.raises(IdentityError, match="not running"):
        _ = server.url
