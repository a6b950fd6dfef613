# %% [markdown]
# # Netflix's Chaos Engineering: building resilience by breaking things
#
# How do you know a service survives an instance, a zone or a whole dependency failing? Netflix's
# answer: guard every call to a dependency (timeouts, retries with jitter, circuit breakers,
# bulkheads, fallbacks), then break the dependencies on purpose and measure what users see.
# This notebook does both with `designpatterns_ref.resilience`, on a manual clock, so the whole
# story runs in seconds and tells the same numbers every time.
#
# The method (principlesofchaos.org): define the **steady state** (the share of requests
# answered, the p99 latency), state a **hypothesis** ("killing instances does not move it"),
# keep the **blast radius** small (only part of the traffic meets the experiment), run, compare.

# %%
import contextlib
import socket
import time

import designpatterns_ref as dp
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.resilience import (
    CallNotPermitted,
    CircuitBreaker,
    Fallback,
    FullJitter,
    Retry,
    RetryBudget,
    StateChange,
    Timeout,
    compose,
    remaining,
)
from designpatterns_ref.resilience.chaos import (
    ChaosProxy,
    EchoServer,
    FaultSchedule,
    LoopThread,
    Phase,
    Toxic,
    availability_table,
    contention_study,
    policies,
    run_experiment,
)
from designpatterns_ref.resilience.plot import (
    plot_availability,
    plot_backoff,
    plot_breaker_states,
    plot_contention,
)

# %% [markdown]
# ## 1. A circuit breaker in front of a dependency that dies
#
# The dependency is killed from t=20 s to t=60 s (a seeded fault schedule on a plain Python
# function). The breaker, resilience4j-style, judges the last 10 calls: once half of them fail it
# opens, refuses calls at once for 10 s, then lets 3 trial calls through.

# %%
clock = ManualClock()
schedule = FaultSchedule([Phase(20, 60, killed=True)], seed=1, clock=clock)
recommendations = schedule.inject(lambda: ["Stranger Things", "The Crown"])
breaker = CircuitBreaker(
    window_size=10, minimum_calls=10, wait_in_open=10, half_open_calls=3, clock=clock
)
changes: list[StateChange] = []
breaker.add_listener(changes.append)
seen = {"answered": 0, "failed": 0, "refused": 0}
for _second in range(100):
    try:
        breaker.call(recommendations)
        seen["answered"] += 1
    except CallNotPermitted:
        seen["refused"] += 1
    except ConnectionError:
        seen["failed"] += 1
    clock.advance(1.0)
for change in changes:
    print(f"t={change.at:5.1f}s  {change.old.value:>9} -> {change.new.value}")
print(seen)

# %%
fig = plot_breaker_states(changes, end=100.0)
path = dp.show(fig, "breaker-states")
if path is not None:
    print(f"figure written to {path}")

# %% [markdown]
# ## 2. Retries with jitter, and a budget so they cannot amplify an outage
#
# The AWS backoff policies: each draws a wait before retry n; the jittered ones spread the
# clients that failed together.

# %%
fig = plot_backoff(policies(base=0.01, cap=5.0), retries=8, samples=100)
path = dp.show(fig, "backoff-policies")
if path is not None:
    print(f"figure written to {path}")

# %%
budget = RetryBudget(0.1, reserve=5)
retry = Retry(attempts=4, backoff=FullJitter(0.1, 2.0), budget=budget, seed=1, clock=clock)
calls = 0


def down() -> None:
    global calls
    calls += 1
    raise ConnectionError("dependency down")


for _ in range(200):
    with contextlib.suppress(ConnectionError):
        retry.call(down)
print(f"200 failing requests made {calls} calls: the budget allowed {budget.retries} retries")

# %% [markdown]
# ## 3. The AWS "Exponential Backoff And Jitter" result, reproduced
#
# N clients update one database row with optimistic concurrency; a conflict means back off and
# try again. Without jitter, clients that collided wait the same time and collide again.

# %%
study = contention_study((5, 10, 25, 50, 75), seeds=2)
for name, rows in study.items():
    print(f"{name:20s}", "  ".join(f"N={r.clients}: {r.calls} calls" for r in rows))

# %%
fig = plot_contention(study, metric="calls")
path = dp.show(fig, "contention-calls")
if path is not None:
    print(f"figure written to {path}")
fig = plot_contention(study, metric="completion")
path = dp.show(fig, "contention-time")
if path is not None:
    print(f"figure written to {path}")

# %% [markdown]
# ## 4. Chaos Monkey in miniature
#
# Ten instances behind a load balancer whose health check needs 30 s to notice a dead one; the
# monkey kills one a minute on average. Hypothesis: with a timeout and retries, the success rate
# of the experiment group stays within 0.5% of the control group's. Blast radius: half the traffic.

# %%
for guards in ("timeout", "timeout+retry"):
    result = run_experiment(guards, scenario="monkey", requests=3000, blast_radius=0.5, seed=0)
    e, c = result.experiment, result.control
    assert c is not None
    print(
        f"{guards:15s} experiment {100 * e.success_rate:6.2f}% vs control "
        f"{100 * c.success_rate:6.2f}%  ({result.kills} kills): hypothesis holds: "
        f"{result.hypothesis_holds()}"
    )

# %% [markdown]
# A whole-dependency outage is where the breaker and the fallback earn their keep: the breaker
# stops sending work to a dependency that is down, the fallback answers with something useful.

# %%
rows = availability_table("outage", requests=3000, seed=0)
for row in rows:
    e = row.experiment
    print(
        f"{row.guards:32s} answered {100 * e.ok / e.requests:6.2f}%  fallback "
        f"{100 * e.degraded / e.requests:6.2f}%  p50 {1000 * e.p50:6.0f} ms  "
        f"load on the fleet x{e.fleet_calls / e.requests:.2f}"
    )
fig = plot_availability(rows)
path = dp.show(fig, "availability-outage")
if path is not None:
    print(f"figure written to {path}")

# %% [markdown]
# ## 5. Breaking a real network: a fault-injecting TCP proxy
#
# toxiproxy's idea: a proxy on loopback in front of a real (tiny echo) server, whose toxics change
# while connections are open. A client with a timeout and a fallback keeps answering.

# %%
with LoopThread() as loop:
    echo = loop.run(EchoServer().start())
    proxy = loop.run(ChaosProxy(echo.address).start())

    def ask(payload: bytes = b"ping") -> bytes:
        # a cooperative client: its socket timeout is whatever its deadline leaves
        with socket.create_connection(proxy.address, timeout=remaining()) as sock:
            sock.sendall(payload)
            return sock.recv(64)

    guarded = compose(Fallback(lambda error: b"(cached answer)"), Timeout(1.0))
    for label, toxic in [
        ("clean", None),
        ("latency 200 ms", Toxic("lag", "latency", latency=0.2)),
        ("blackhole", Toxic("hole", "timeout", timeout=0.0)),
    ]:
        if toxic is not None:
            proxy.add_toxic(toxic)
        start = time.perf_counter()
        answer = guarded.call(ask)
        print(f"{label:15s} -> {answer!r} in {1000 * (time.perf_counter() - start):.0f} ms")
        if toxic is not None:
            proxy.remove_toxic(toxic.name)
    print("toxics removed:", guarded.call(ask))
    loop.run(proxy.stop())
    loop.run(echo.stop())
