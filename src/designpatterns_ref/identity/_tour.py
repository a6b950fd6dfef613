"""``dpref tour identity``: issue a badge, check it at an offline gate, revoke it, audit it."""

from __future__ import annotations

from collections.abc import Callable

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.identity.audit import AuditLog, verify_chain
from designpatterns_ref.identity.compact import b45encode
from designpatterns_ref.identity.compliance import ComplianceBook
from designpatterns_ref.identity.issuer import Issuer
from designpatterns_ref.identity.keys import KeySet, TrustStore
from designpatterns_ref.identity.statuscache import StatusListCache
from designpatterns_ref.identity.statuslist import StatusAuthority
from designpatterns_ref.identity.verifier import GateVerifier

__all__ = ["tour"]

T0 = 1_800_000_000
DAY = 86_400


def tour(out: Callable[[str], None]) -> None:
    """Print the worker-identity story, deterministically, in well under a second."""
    clock = ManualClock(T0)
    keys = KeySet("acme-id", seed=b"tour")
    authority = StatusAuthority(keys, "acme/status/1", clock=clock)
    issuer = Issuer(keys, authority, clock=clock)
    claims = issuer.issue(
        "worker-0042",
        "Acme Logistics",
        "Rotterdam dock 3",
        "forklift operator",
        valid_for=90 * DAY,
        qualifications={"forklift": T0 + 20 * DAY, "site-induction": T0 + 90 * DAY},
    )
    jws, blob = issuer.sign_jws(claims), issuer.sign_compact(claims)
    out("An issuer signs worker-0042's credential with Ed25519 (key id " + keys.active_kid + ").")
    out(f"  As a compact JWS (any JOSE library verifies it): {len(jws)} characters.")
    out(f"  As the compact binary form: {len(blob)} bytes, {len(b45encode(blob))} Base45")
    out("  characters for a QR code. The forklift licence expires before the badge does.")

    trust = TrustStore.from_jwks(keys.jwks(), issuer=keys.issuer)
    cache = StatusListCache(trust, clock=clock)
    cache.update(authority.publish())
    audit = AuditLog(clock=clock)
    gate = GateVerifier(
        trust, cache, max_age=3_600, clock=clock, audit=audit, gate="dock-3 north gate"
    )
    out("\nThe gate has the key set and a status list, and no network from here on.")
    out(f"  08:00 badge scanned: {gate.verify(blob).reason.value}")
    clock.advance(600)
    authority.revoke(claims.status_index)
    out("  08:10 the employer revokes the credential (the gate does not know yet).")
    clock.advance(600)
    out(f"  08:20 badge scanned: {gate.verify(blob).reason.value}  <- inside the window")
    clock.advance(3_000)
    out(f"  09:10 badge scanned: {gate.verify(blob).reason.value}  <- the list is too old")
    cache.update(authority.publish())
    out(f"  09:11 the gate refreshes the list; scanned: {gate.verify(blob).reason.value}")
    out("  An offline gate accepts a revoked badge for less than max_age (1 h) after revocation.")

    forged = jws[:-4] + ("AAAA" if not jws.endswith("AAAA") else "BBBB")
    out(f"\nA token with its signature edited: {gate.verify(forged).reason.value}.")
    unsigned = "eyJhbGciOiJub25lIn0.e30."  # {"alg":"none"}.{}.
    out(f"A token whose header says alg 'none': {gate.verify(unsigned).reason.value}.")

    count, head = audit.head
    out(f"\nThe audit log holds {count} decisions, hash-chained; head {head[:16]}...")
    entries = [dict(e) for e in audit.entries]
    entries[2] = {**entries[2], "event": {**entries[2]["event"], "outcome": "ok"}}
    out(
        f"  Verify as written: {verify_chain(audit.entries).ok}; "
        f"with the stale refusal rewritten to 'ok': {verify_chain(entries).problem}."
    )

    book = ComplianceBook()
    book.require("Rotterdam dock 3", "forklift")
    book.require("Rotterdam dock 3", "site-induction")
    book.assign("worker-0042", "Rotterdam dock 3")
    book.assign("worker-0077", "Rotterdam dock 3")
    book.record(claims)
    clock.set(T0 + 25 * DAY)
    out("\nCompliance on day 25 at Rotterdam dock 3:")
    for gap in book.gaps(clock()):
        out(f"  {gap.worker} lacks {gap.qualification} ({gap.state})")
    report = book.sweep(T0 + 10 * DAY, horizon=14 * DAY)
    out(
        f"The day-10 sweep warns of {len(report.expiring)} expiry within 14 days: "
        + ", ".join(f"{e.worker} {e.what}" for e in report.expiring)
        + "."
    )
