# %% [markdown]
# # Design a Rate Limiter: which algorithm, and where does the counter live?
#
# An API must refuse the client that sends too much, without refusing the others and without
# becoming the bottleneck itself. Two decisions shape the design. **Which algorithm**: a token
# bucket lets bursts through and caps the long-run rate; a fixed window is the cheapest and
# lets twice its limit through at a window boundary; a sliding window log is exact and costs
# memory; a sliding window counter estimates. **Where the counter lives**: in each server's
# memory (fast, but N servers admit N times the limit) or in a shared store such as Redis
# (one limit for everyone, one round trip per decision).
#
# This script replays the same traffic against every algorithm of
# `designpatterns_ref.ratelimit` on a `ManualClock` (so a minute of traffic replays in
# milliseconds, the same way every time), draws what each admits, then moves the counter
# into a real Redis, when `redis-server` is installed, and pulls the plug on it.

# %%
from __future__ import annotations

import designpatterns_ref as dp
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit import (
    GCRA,
    FixedWindow,
    LeakyBucketQueue,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
    all_of,
    boundary_burst,
    bursts,
    plot_decisions,
    poisson,
    simulate,
)

# %% [markdown]
# ## The same traffic for everyone
#
# Poisson background traffic at 6 requests per second, a burst of 25 every 5 seconds (a page
# load, a retry storm), and two boundary bursts: 10 requests a millisecond before a window
# boundary and 10 right on it. The limit is 10 per second everywhere (burst 10 for the
# buckets).

# %%
arrivals = sorted(
    poisson(6, 20.0, seed=1)
    + bursts(25, every=5.0, duration=20.0, spread=0.2, seed=2, start=2.5)
    + boundary_burst(10, 1.0, window=7)
    + boundary_burst(10, 1.0, window=14)
)


def limiters() -> dict[str, object]:
    return {
        "TokenBucket (GCRA is identical)": TokenBucket(10, 1.0, 10, clock=ManualClock()),
        "FixedWindow": FixedWindow(10, 1.0, clock=ManualClock()),
        "SlidingWindowLog": SlidingWindowLog(10, 1.0, clock=ManualClock()),
        "SlidingWindowCounter": SlidingWindowCounter(10, 1.0, clock=ManualClock()),
    }


print(f"{len(arrivals)} requests over 20 s, limit 10 per second\n")
print(f"{'algorithm':<34}{'admitted':>9}{'max in any 1 s':>16}{'max in any 10 ms':>18}")
for name, limiter in limiters().items():
    result = simulate(limiter, arrivals)  # type: ignore[arg-type]
    print(
        f"{name:<34}{len(result.admitted):>9}{result.max_in_window(1.0):>16}"
        f"{result.max_in_window(0.01):>18}"
    )

# %% [markdown]
# The exact log never has more than 10 in any second. The fixed window lets up to twice its
# limit through around a boundary, most of it within milliseconds. The bucket admits the
# most: its promise is "burst 10, then 10 per second", so one second can hold its burst plus
# a second's refill (up to 20). The counter's estimate admits a little more than the exact
# log in its worst second (it assumes the previous window's requests were evenly spread),
# for three numbers of state per key instead of one timestamp per request.
#
# GCRA is the token bucket kept as one timestamp per key; they agree decision for decision
# (a property test checks it on arbitrary traffic):

# %%
bucket = simulate(TokenBucket(10, 1.0, 10, clock=ManualClock()), arrivals)
gcra = simulate(GCRA(10, 1.0, 10, clock=ManualClock()), arrivals)
print("TokenBucket and GCRA admit the same requests:", bucket.admitted == gcra.admitted)

# %% [markdown]
# ## See it
#
# One row per algorithm: green dots admitted, red crosses refused, the blue line the count in
# the last second, the dashed line the limit. `plot_decisions` returns a matplotlib figure:
# `dp.show` displays it inline in a notebook, and saves it as a PNG when this runs as a script
# (in `$DPREF_PLOTS` when set, else a temporary folder), returning the path.

# %%
window = [t for t in arrivals if 4.0 <= t < 16.0]
fig = plot_decisions(
    limiters(),  # type: ignore[arg-type]
    window,
    limit=10,
    title="10 per second, same traffic (Poisson + bursts + boundary bursts)",
)
if path := dp.show(fig, "rate-limiter-algorithms"):
    print("figure saved to", path)

# %% [markdown]
# ## Shaping instead of refusing
#
# A leaky bucket used as a queue admits the burst and tells each request how long to wait, so
# the downstream sees one request every 100 ms:

# %%
queue = LeakyBucketQueue(10, 1.0, burst=5, clock=ManualClock())
print([(bool(d), round(d.delay, 2)) for d in (queue.allow("pay") for _ in range(7))])

# %% [markdown]
# ## Two limits at once
#
# "10 per second and 50 per minute": `all_of` admits only when both admit, and a refusal by
# one spends nothing from the other.

# %%
clock = ManualClock()
policy = all_of(TokenBucket(10, 1.0, 10, clock=clock), SlidingWindowLog(50, 60.0, clock=clock))
result = simulate(policy, arrivals)
print(f"10/s and 50/min: {len(result.admitted)} of {len(arrivals)} admitted")

# %% [markdown]
# ## Where does the counter live?
#
# Three application servers each keep their own in-memory limiter: a client spraying requests
# across them gets three times the limit. Put the counter in Redis and the same three servers
# share one limit. Each decision is one Lua script call (atomic, one round trip); the time
# comes from the Redis server, so the servers' clock skew does not matter.

# %%
from designpatterns_ref.testing import ServerUnavailable, redis_server

try:
    import redis
except ImportError:
    redis = None  # type: ignore[assignment]

servers = [FixedWindow(10, 60.0) for _ in range(3)]
spread = sum(bool(servers[i % 3].allow("mallory")) for i in range(100))
print(f"in memory, 3 servers, limit 10/min: {spread} of 100 admitted")

running = None
if redis is None:
    print("redis-py is not installed: skipping the shared counter")
else:
    from designpatterns_ref.ratelimit import redis as shared

    try:
        running = redis_server()
        server = running.__enter__()
    except ServerUnavailable as exc:
        running = None
        print(f"no redis-server here ({exc}): skipping the shared counter")

if running is not None:
    clients = [redis.Redis.from_url(server.url, socket_timeout=0.5) for _ in range(3)]
    apps = [shared.FixedWindow(c, 10, 60.0, on_error="deny") for c in clients]
    together = sum(bool(apps[i % 3].allow("mallory")) for i in range(100))
    key = apps[0].key_for("mallory")
    print(f"on Redis, 3 servers, limit 10/min: {together} of 100 admitted")
    print(f"the key {key} expires in {clients[0].pttl(key)} ms")

# %% [markdown]
# ## Fail open or fail closed?
#
# Kill the server. A limiter that protects a fragile backend fails closed
# (`on_error="deny"`): better to refuse everyone for a minute than to let a flood through.
# A limiter whose job is fairness on a healthy service may fail open (`"allow"`): an outage
# of the limiter should not become an outage of the API. `"raise"` hands the choice to the
# caller. Either way the client's `socket_timeout` turns a dead server into an error at once
# instead of a hang.

# %%
if running is not None:
    server.kill()
    for mode in ("deny", "allow"):
        limiter = shared.FixedWindow(clients[0], 10, 60.0, on_error=mode)
        print(f"Redis down, on_error={mode!r}: allowed={limiter.allow('mallory').allowed}")
    try:
        shared.FixedWindow(clients[0], 10, 60.0, on_error="raise").allow("mallory")
    except shared.BackendUnavailable as exc:
        print(f"Redis down, on_error='raise': {type(exc).__name__}")
    running.__exit__(None, None, None)

# %% [markdown]
# ## Limits as people write them, and waiting instead of being refused
#
# Configuration says `"2/second; 5 per minute"`. `limiter_from_text` reads the notation of
# the `limits` package into one all-or-nothing limiter with the algorithm you choose, and a
# typo is refused with the position it was found at. A client that would rather wait than be
# refused calls `acquire`: on a `ManualClock` the waits advance the clock, so the schedule is
# exact; a wait longer than `timeout` is refused at once, having consumed nothing.

# %%
from designpatterns_ref.ratelimit import LimitSyntaxError, limiter_from_text

clock = ManualClock()
polite = limiter_from_text("2/second; 5 per minute", "sliding_log", clock=clock)
admitted_at = []
while polite.acquire("crawler", timeout=5.0):
    admitted_at.append(round(clock(), 3))
print(f"admitted at {admitted_at}; the sixth would wait until the minute is over")
try:
    limiter_from_text("2/second; 5 per minite", "sliding_log")
except LimitSyntaxError as exc:
    print(f"refused at position {exc.position}: expected {exc.expected}")

# %% [markdown]
# ## Several processes on one machine, no Redis: a SQLite file
#
# Each decision is one `BEGIN IMMEDIATE` transaction on a WAL-mode file, so worker processes
# (here two limiter objects, as two processes would build them) share one limit.

# %%
import tempfile
from pathlib import Path

from designpatterns_ref.ratelimit import sqlite as local

folder = Path(tempfile.mkdtemp())
workers = [local.FixedWindow(folder / "limits.db", 10, 60.0, clock=ManualClock()) for _ in range(2)]
together = sum(bool(workers[i % 2].allow("mallory")) for i in range(100))
print(f"on one SQLite file, 2 workers, limit 10/min: {together} of 100 admitted")
