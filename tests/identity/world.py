"""A small deterministic identity world for the tests: issuer, keys, status list, gate."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.identity import (
    AuditLog,
    GateVerifier,
    Issuer,
    KeySet,
    StatusAuthority,
    StatusListCache,
    TrustStore,
)

T0 = 1_800_000_000  # January 2027
DAY = 86_400


@dataclass
class World:
    clock: ManualClock
    keys: KeySet
    authority: StatusAuthority
    issuer: Issuer
    trust: TrustStore
    cache: StatusListCache
    gate: GateVerifier
    audit: AuditLog


def make_world(
    *, max_age: float = 3_600.0, start: float = T0, seed: bytes = b"tests", ttl: float = DAY
) -> World:
    clock = ManualClock(start=start)
    keys = KeySet("acme-id", seed=seed)
    authority = StatusAuthority(keys, "acme/status/1", ttl=ttl, clock=clock)
    issuer = Issuer(keys, authority, clock=clock)
    trust = TrustStore.from_jwks(keys.jwks(), issuer=keys.issuer)
    cache = StatusListCache(trust, clock=clock)
    cache.update(authority.publish())
    audit = AuditLog(clock=clock)
    gate = GateVerifier(trust, cache, max_age=max_age, clock=clock, audit=audit, gate="north")
    return World(clock, keys, authority, issuer, trust, cache, gate, audit)


def standard_claims(world: World, worker: str = "w1", **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "valid_for": 30 * DAY,
        "qualifications": {"forklift": int(world.clock()) + 10 * DAY},
    }
    args.update(kw)
    return world.issuer.issue(worker, "acme", "dock-3", "loader", **args)  # type: ignore[arg-type]


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler], **attrs: object) -> Iterator[str]:
    """A real HTTP server on a loopback port answering with ``handler`` (``attrs`` set on the
    server, where the handler reads them); yields its base URL, shuts it down after."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for name, value in attrs.items():
        setattr(server, name, value)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
