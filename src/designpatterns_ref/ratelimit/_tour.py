"""``dpref tour``: the rate limiter case study in a few deterministic seconds."""

from __future__ import annotations

from collections.abc import Callable

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit import (
    GCRA,
    ConcurrencyLimiter,
    FixedWindow,
    LeakyBucketQueue,
    RateLimitExceeded,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
    all_of,
    boundary_burst,
    simulate,
)

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Print the case study's story: which algorithm, and where does the counter live."""
    out("Design a Rate Limiter: which algorithm, and where does the counter live?")
    out("Every limiter answers allow(key, cost=1) -> Decision; time here is a ManualClock.")
    out("")

    clock = ManualClock()
    bucket = TokenBucket(rate=5, per=1.0, burst=10, clock=clock)
    admitted = sum(bool(bucket.allow("alice")) for _ in range(15))
    denied = bucket.allow("alice")
    out(f"1. TokenBucket(5/s, burst 10): a page load fires 15 requests; {admitted} pass.")
    out(f"   The next is refused: retry_after={denied.retry_after:g}s, headers {denied.headers()}")
    clock.advance(denied.retry_after)
    out(f"   After {denied.retry_after:g}s it passes: {bool(bucket.allow('alice'))}.")
    gcra = GCRA(rate=5, per=1.0, burst=10, clock=ManualClock())
    out(
        f"   GCRA is the same policy kept as one timestamp: "
        f"{sum(bool(gcra.allow('alice')) for _ in range(15))} of 15 pass."
    )
    out("")

    arrivals = boundary_burst(limit=10, per=1.0)
    out("2. The boundary burst: 10 requests at t=0.999s and 10 at t=1.000s, limit 10/s.")
    for name, limiter in (
        ("FixedWindow", FixedWindow(10, 1.0, clock=ManualClock())),
        ("SlidingWindowLog", SlidingWindowLog(10, 1.0, clock=ManualClock())),
        ("SlidingWindowCounter", SlidingWindowCounter(10, 1.0, clock=ManualClock())),
    ):
        result = simulate(limiter, arrivals)
        out(
            f"   {name:<21} admits {len(result.admitted):>2}; "
            f"most in any 1s window: {result.max_in_window(1.0)}"
        )
    out("   The fixed window lets twice its limit through in a millisecond.")
    out("")

    queue = LeakyBucketQueue(rate=2, per=1.0, burst=4, clock=ManualClock())
    delays = [queue.allow("job") for _ in range(5)]
    shown = ", ".join(f"{d.delay:g}s" if d else "refused" for d in delays)
    out(f"3. LeakyBucketQueue(2/s, queue 4) shapes instead of refusing: waits {shown}.")
    out("")

    clock = ManualClock()
    per_second = TokenBucket(10, 1.0, 10, clock=clock)
    per_hour = FixedWindow(3, 3600.0, clock=clock)
    both = all_of(per_second, per_hour)
    passed = [bool(both.allow("bob")) for _ in range(4)]
    out(f"4. all_of(10/s, 3/hour): {passed}; the refusal spent nothing from 10/s.")
    inflight = ConcurrencyLimiter(limit=1, clock=clock)
    with inflight.hold("export"):
        try:
            with inflight.hold("export"):
                pass
        except RateLimitExceeded:
            out("   ConcurrencyLimiter(1): a second export while one runs is refused.")
    out("")
    out("5. Where does the counter live? In memory, each server counts alone: N servers")
    out("   admit N times the limit. ratelimit.redis runs the same algorithms as one Lua")
    out("   script per decision on a shared Redis (server clock, hash-tagged keys that")
    out("   expire), and on_error='deny'|'allow'|'raise' decides what an outage means.")
    out("   See examples/rate_limiter.py and `dpref bench ratelimit --quick`.")
