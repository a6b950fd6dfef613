"""``dpref bench identity``: issuing and verifying beside a bare Ed25519 and PyJWT; list sizes.

The workload: realistic worker credentials (four text claims, two qualifications, a status list
URL) signed by one key. Each operation is timed in rounds that interleave all candidates, in
CPU time of this process (``time.process_time``), so other processes on a shared machine do
not inflate one row more than another, and the median round is reported. "Bare" rows are the
floor: one ``cryptography`` Ed25519 sign or verify of the very bytes the JWS signs. Our
verification is measured twice: the same badge again (a gate sees each worker several times a
day; the parse is reused, the signature is still verified) and a different badge on every call
(5,000 distinct credentials, more than the gate's parse cache holds). PyJWT's EdDSA decode of
the same token (signature, ``exp``/``nbf``/``iat``) is measured in the same run when PyJWT is
installed (the ``bench`` extra). Quick mode shrinks every count.
"""

from __future__ import annotations

import importlib
import itertools
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from designpatterns_ref.benchkit import Table, installed
from designpatterns_ref.identity.audit import AuditLog, verify_chain
from designpatterns_ref.identity.base import Claims
from designpatterns_ref.identity.bitstring import BitstringStatusList
from designpatterns_ref.identity.compact import b45encode
from designpatterns_ref.identity.issuer import Issuer
from designpatterns_ref.identity.keys import KeySet, TrustStore
from designpatterns_ref.identity.statuscache import StatusListCache
from designpatterns_ref.identity.statuslist import StatusAuthority
from designpatterns_ref.identity.verifier import GateVerifier

__all__ = ["bench_audit", "bench_signatures", "bench_status_list", "bench_steps", "world"]

DAY = 86_400


def world() -> tuple[Issuer, Claims, GateVerifier, KeySet]:
    """An issuer at the wall clock, one realistic credential and a gate with a fresh list."""
    keys = KeySet("acme-workforce-id", seed=b"bench")
    authority = StatusAuthority(keys, "https://id.acme.example/status/1", size=1_048_576)
    issuer = Issuer(keys, authority)
    now = int(time.time())
    claims = issuer.issue(
        "worker-00012345",
        "Acme Logistics Ltd",
        "Rotterdam DC North",
        "forklift operator",
        valid_for=365 * DAY,
        qualifications={"forklift-counterbalance": now + 180 * DAY, "site-induction": now + DAY},
    )
    trust = TrustStore.from_jwks(keys.jwks(), issuer=keys.issuer)
    cache = StatusListCache(trust)
    cache.update(authority.publish())
    return issuer, claims, GateVerifier(trust, cache, max_age=3_600), keys


def interleaved(
    candidates: dict[str, Callable[[], object]], *, number: int, rounds: int
) -> dict[str, float]:
    """Median CPU seconds per call of each candidate, timed in interleaved rounds."""
    runs: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            start = time.process_time()
            for _ in range(number):
                fn()
            runs[name].append((time.process_time() - start) / number)
    return {name: statistics.median(r) for name, r in runs.items()}


def bench_signatures(quick: bool) -> list[Table]:
    """Issue and verify per call: bare Ed25519, ours (JWS and compact), PyJWT's decode."""
    number, rounds = (200, 3) if quick else (2_000, 15)
    issuer, claims, gate, keys = world()
    jws, blob = issuer.sign_jws(claims), issuer.sign_compact(claims)
    assert gate.verify(jws).ok and gate.verify(blob).ok
    private = keys.private_key(keys.active_kid)
    public = private.public_key()
    now = int(time.time())
    others = [
        issuer.issue(
            f"worker-{i:08d}",
            "Acme Logistics Ltd",
            "Rotterdam DC North",
            "loader",
            valid_for=365 * DAY,
            qualifications={"site-induction": now + DAY},
        )
        for i in range(5_000)
    ]
    jws_pool = itertools.cycle([issuer.sign_jws(c) for c in others])
    blob_pool = itertools.cycle([issuer.sign_compact(c) for c in others])
    cache = gate.statuses
    cache.update(issuer.statuses.publish())
    signing_input = jws.rsplit(".", 1)[0].encode("ascii")
    signature = private.sign(signing_input)
    candidates: dict[str, Callable[[], object]] = {
        "bare Ed25519 sign": lambda: private.sign(signing_input),
        "issue: compact JWS": lambda: issuer.sign_jws(claims),
        "issue: compact binary": lambda: issuer.sign_compact(claims),
        "bare Ed25519 verify": lambda: public.verify(signature, signing_input),
        "verify offline: compact JWS": lambda: gate.verify(jws),
        "verify offline: compact binary": lambda: gate.verify(blob),
        "verify offline: JWS, a new badge each call": lambda: gate.verify(next(jws_pool)),
        "verify offline: binary, a new badge each call": lambda: gate.verify(next(blob_pool)),
    }
    if installed("jwt"):
        jwt: Any = importlib.import_module("jwt")
        candidates["PyJWT EdDSA decode (peer)"] = lambda: jwt.decode(
            jws, public, algorithms=["EdDSA"]
        )
    times = interleaved(candidates, number=number, rounds=rounds)
    assert gate.verify(next(jws_pool)).ok and gate.verify(next(blob_pool)).ok
    table = Table(
        f"issue and verify, CPU µs: median of {rounds} interleaved rounds of {number:,} calls; "
        f"JWS {len(jws)} chars (payload {len(signing_input)} bytes signed), "
        f"compact {len(blob)} bytes",
        ["operation", "µs per call", "calls per s", "x bare", "note"],
    )
    for name, seconds in times.items():
        bare = times[
            "bare Ed25519 sign" if "sign" in name or "issue" in name else "bare Ed25519 verify"
        ]
        note = {
            "issue: compact JWS": "target: within 1.2x of a bare sign",
            "verify offline: compact JWS": "same badge again; target: within 1.2x of bare",
            "verify offline: JWS, a new badge each call": "the parse included every time",
            "verify offline: binary, a new badge each call": "the parse included every time",
            "verify offline: compact binary": "the QR form, the same checks",
            "PyJWT EdDSA decode (peer)": "signature and exp/nbf/iat only",
        }.get(name, "")
        table.add(name, seconds * 1e6, 1 / seconds, seconds / bare, note)
    if not installed("jwt"):
        table.note = "PyJWT not installed: pip install 'designpatterns-ref[bench]'"
    return [table]


def bench_status_list(quick: bool) -> list[Table]:
    """Status-list sizes at 1% revoked, and the time to encode and decode them."""
    sizes = [131_072] if quick else [131_072, 1_000_000, 10_000_000]
    table = Table(
        "Bitstring Status List at 1% revoked (random indexes, seeded; GZIP level 9; CPU ms)",
        ["credentials", "raw KB", "GZIP KB", "encodedList chars", "encode ms", "decode ms"],
    )
    rng = random.Random(26)
    for n in sizes:
        size = n + (-n % 8)
        sl = BitstringStatusList(size)
        for i in rng.sample(range(n), n // 100):
            sl.set(i)
        start = time.process_time()
        encoded = sl.encode()
        encode_ms = (time.process_time() - start) * 1e3
        start = time.process_time()
        BitstringStatusList.decode(encoded)
        decode_ms = (time.process_time() - start) * 1e3
        gz_kb = (len(encoded) - 1) * 3 / 4 / 1024
        table.add(f"{n:,}", size / 8 / 1024, gz_kb, len(encoded), encode_ms, decode_ms)
    return [table]


def bench_audit(quick: bool) -> list[Table]:
    """Appending to and verifying the hash-chained audit log, and the QR text size."""
    n = 2_000 if quick else 50_000
    log = AuditLog(clock=lambda: 1_800_000_000.0)
    event = {"gate": "north", "outcome": "ok", "credential": "list/1/123", "worker": "w-1"}
    start = time.process_time()
    for _ in range(n):
        log.append(event)
    append_us = (time.process_time() - start) / n * 1e6
    start = time.process_time()
    assert verify_chain(log.entries).ok
    verify_us = (time.process_time() - start) / n * 1e6
    issuer, claims, _, _ = world()
    qr = b45encode(issuer.sign_compact(claims))
    table = Table(
        f"audit log over {n:,} entries (CPU time); QR text of the benchmark credential",
        ["measure", "value"],
    )
    table.add("append, µs per entry (SHA-256 + canonical JSON)", append_us)
    table.add("verify, µs per entry", verify_us)
    table.add("QR text (Base45 of the compact form), characters", len(qr))
    return [table]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench identity`` runs, each returning its tables."""
    return [
        ("issue and verify", lambda: bench_signatures(quick)),
        ("status list size", lambda: bench_status_list(quick)),
        ("audit log", lambda: bench_audit(quick)),
    ]
