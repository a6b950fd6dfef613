"""``dpref bench membership``: verifications per second cached and uncached, rule cost, HTTP.

Case study: Design a Membership Benefits & Verification Platform (docs/case-studies/membership-benefits.md)

Verification: a generated directory (nine organisations), a seeded stream of queries drawn
from real memberships (and 10% from organisations the member is not in), answered by the
cached :class:`~designpatterns_ref.membership.verify.Verifier` (warm, after one pass) and the
uncached one, each timed as the median of five runs. Rule cost: :func:`evaluate` on rule sets
of 2 to 32 rules, all passing (the full scan every eligible answer pays) and all failing
(every reason collected). HTTP: the API in its own process (uvicorn, one worker) on a free
loopback port, and a small asyncio load generator holding ``concurrency`` keep-alive
connections, bounded in requests and time.

Full run: 20,000 members, 20,000 queries, 10,000 requests a level. Quick: 2,000, 2,000, 400.
"""  # noqa: E501

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable

from designpatterns_ref.benchkit import Table, percentile, time_per_call
from designpatterns_ref.membership.base import Fact, Rule
from designpatterns_ref.membership.data import generate
from designpatterns_ref.membership.directory import Directory
from designpatterns_ref.membership.rules import RuleSet, evaluate
from designpatterns_ref.membership.verify import Verifier
from designpatterns_ref.testing import free_port

__all__ = ["bench_steps", "queries"]

_KEY = "bench-client-key"


def queries(directory: Directory, n: int, seed: int = 5) -> list[tuple[str, str, str]]:
    """``n`` (member, organisation, benefit) queries: 90% of real memberships, 10% not."""
    from designpatterns_ref.membership.data import ORGANISATIONS, default_rules

    rules = default_rules()
    rng = random.Random(seed)
    members = list(directory.members())
    out = []
    for _ in range(n):
        member = members[rng.randrange(len(members))]
        orgs = directory.organisations_of(member)
        org = orgs[rng.randrange(len(orgs))] if rng.random() < 0.9 else rng.choice(ORGANISATIONS)
        out.append((member, org, rng.choice(sorted(rules[org].benefits))))
    return out


def _verify_table(members: int, n: int) -> Table:
    directory, rules = generate(members, seed=11)
    qs = queries(directory, n)
    cached, plain = Verifier(directory, rules), Verifier(directory, rules, cache=False)
    for q in qs:
        cached.verify(*q)  # warm
    table = Table(
        f"verify(member, organisation, benefit): {members:,} members in 9 organisations, "
        f"{n:,} queries a run, median of 5 runs",
        ["path", "µs/verify", "verifications/s"],
    )
    cycle_a, cycle_b = itertools.cycle(qs), itertools.cycle(qs)
    for name, fn in (
        ("cached (warm)", lambda: cached.verify(*next(cycle_a))),
        ("uncached (rules every time)", lambda: plain.verify(*next(cycle_b))),
    ):
        per = time_per_call(fn, number=n, repeat=5)
        table.add(name, per * 1e6, round(1 / per))
    churn = itertools.cycle(qs)
    rng = random.Random(3)

    def change_then_verify() -> None:
        m, o, b = next(churn)
        if directory.facts(m, o) is not None:
            directory.update(m, o, {"months": rng.randint(0, 120)})
        cached.verify(m, o, b)

    per = time_per_call(change_then_verify, number=n, repeat=5)
    table.add("cached, a change before each verify", per * 1e6, round(1 / per))
    return table


def _rules_table(n: int) -> Table:
    table = Table(
        f"evaluate(): cost per decision by rule count ({n:,} calls a run, median of 5)",
        ["rules", "all pass µs", "all fail µs (every reason)"],
    )
    facts: dict[str, Fact] = {"status": "active", "tier": "gold", "months": 40, "age": 30,
                              "country": "GB", "dues_paid": True}  # fmt: skip
    failing: dict[str, Fact] = {"status": "lapsed", "tier": "standard", "months": 1, "age": 15,
                                "country": "US", "dues_paid": False}  # fmt: skip
    pool = [
        Rule("status", "==", "active", "not active"),
        Rule("dues_paid", "==", True, "dues not paid"),
        Rule("tier", "in", ("silver", "gold"), "tier"),
        Rule("months", ">=", 12, "months"),
        Rule("age", ">=", 18, "age"),
        Rule("country", "in", ("GB", "IE"), "country"),
        Rule("tier", "!=", "standard", "tier"),
        Rule("months", "<", 1000, "months"),
    ]
    for count in (2, 8, 32):
        rs = RuleSet("o", 1, benefits={"b": tuple(itertools.islice(itertools.cycle(pool), count))})
        ok = time_per_call(functools.partial(evaluate, rs, "b", facts), number=n, repeat=5)
        bad = time_per_call(functools.partial(evaluate, rs, "b", failing), number=n, repeat=5)
        table.add(count, ok * 1e6, bad * 1e6)
    return table


_SERVER = """
import sys, uvicorn
from designpatterns_ref.membership import Verifier, generate
from designpatterns_ref.membership.api import create_app
app = create_app(Verifier(*generate({members}, seed=11)), {{{key!r}: (1e9, 10**9)}})
uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning", access_log=False)
"""


class _Server:
    """The membership API in a subprocess on a free loopback port, for a ``with`` block."""

    def __init__(self, members: int) -> None:
        self.port = free_port()
        code = _SERVER.format(members=members, key=_KEY, port=self.port)
        self.process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)  # fmt: skip

    def __enter__(self) -> _Server:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError("the membership API did not start") from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def _connection(port: int, bodies: list[bytes], count: itertools.count[int], total: int,
                      stop_at: float, lat: list[float], codes: Counter[int]) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (f"POST /v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {_KEY}\r\n"
            "Content-Type: application/json\r\n")  # fmt: skip
    try:
        while (i := next(count)) < total and time.perf_counter() < stop_at:
            body = bodies[i % len(bodies)]
            start = time.perf_counter()
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()
            header = await reader.readuntil(b"\r\n\r\n")
            size = next(int(line.split(b":")[1]) for line in header.split(b"\r\n")
                        if line.lower().startswith(b"content-length:"))  # fmt: skip
            await reader.readexactly(size)
            lat.append(time.perf_counter() - start)
            codes[int(header.split(b" ", 2)[1])] += 1
    finally:
        writer.close()


def _http_table(members: int, requests: int, levels: tuple[int, ...], seconds: float) -> Table:
    directory, _ = generate(members, seed=11)
    bodies = [json.dumps({"member": m, "organisation": o, "benefit": b}).encode()
              for m, o, b in queries(directory, 1000)]  # fmt: skip
    table = Table(
        f"POST /v1/verify on loopback (uvicorn, 1 worker, cache warm after the first pass; "
        f"up to {requests:,} requests a level)",
        ["concurrency", "requests", "req/s", "p50 ms", "p99 ms", "non-200"],
    )
    with _Server(members) as server:

        def run(c: int, n: int) -> tuple[list[float], Counter[int], float]:
            lat: list[float] = []
            codes: Counter[int] = Counter()
            count = itertools.count()
            stop_at = time.perf_counter() + seconds

            async def go() -> None:
                await asyncio.gather(*(_connection(server.port, bodies, count, n, stop_at, lat,
                                                   codes) for _ in range(c)))  # fmt: skip

            start = time.perf_counter()
            asyncio.run(go())
            return lat, codes, time.perf_counter() - start

        run(2, len(bodies))  # warm-up: fills the cache, not reported
        for c in levels:
            lat, codes, wall = run(c, requests)
            ms = [x * 1000 for x in lat]
            table.add(c, len(ms), round(len(ms) / wall), percentile(ms, 50), percentile(ms, 99),
                      sum(k for s, k in codes.items() if s != 200))  # fmt: skip
    return table


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps of ``dpref bench membership``."""
    members = 2_000 if quick else 20_000
    n = 2_000 if quick else 20_000
    requests = 400 if quick else 10_000
    levels = (1, 8) if quick else (1, 4, 16)
    seconds = 10.0 if quick else 60.0
    return [
        ("verify, cached vs uncached", lambda: [_verify_table(members, n)]),
        ("rule evaluation cost", lambda: [_rules_table(n)]),
        ("HTTP on loopback", lambda: [_http_table(members, requests, levels, seconds)]),
    ]
