"""``dpref bench clinical``: scores per second from Python, requests per second over HTTP.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

Python: every call scores the same seeded set of realistic observations (mostly well
patients, a tail of sick ones, temperatures as floats), timed as the median of five runs;
the compiled fast path and the interpreted engine are shown side by side;
beside it, a hand-written ``if`` chain with no validation shows what the checks and the
data-driven tables cost. HTTP: the API runs in its own process (``dpref serve news2``) on a
free loopback port and a small asyncio load generator keeps ``concurrency`` keep-alive
connections busy, bounded in both request count and time, and records each request's latency.

Full run: 20,000 observations, 20,000 requests at each concurrency. Quick run: 2,000 and 600.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from designpatterns_ref.benchkit import Table, latencies, percentile, time_per_call
from designpatterns_ref.clinical import news2, news2012
from designpatterns_ref.clinical.base import VitalsError
from designpatterns_ref.clinical.engine import assess
from designpatterns_ref.clinical.rules import NEWS2
from designpatterns_ref.testing import free_port

__all__ = ["LoadReport", "api_server", "bench_steps", "hand_coded_news2", "load", "observations"]


def observations(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` plausible sets of NEWS2 inputs: 80% well, 20% unwell, deterministic."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sick = rng.random() < 0.2
        scale2 = rng.random() < 0.05
        out.append({
            "respiration_rate": rng.randint(18, 32) if sick else rng.randint(12, 20),
            "spo2": rng.randint(85, 95) if sick else rng.randint(94, 100),
            "spo2_scale": 2 if scale2 else 1,
            "on_oxygen": sick and rng.random() < 0.5,
            "systolic_bp": rng.randint(80, 110) if sick else rng.randint(105, 150),
            "pulse": rng.randint(95, 140) if sick else rng.randint(55, 95),
            "consciousness": rng.choice("ACVP") if sick and rng.random() < 0.3 else "A",
            "temperature": round(rng.uniform(35.0, 40.0) if sick else rng.uniform(36.0, 37.9), 1),
        })  # fmt: skip
    return out


def hand_coded_news2(
    respiration_rate: int, spo2: int, spo2_scale: int, on_oxygen: bool, systolic_bp: int,
    pulse: int, consciousness: str, temperature: float,
) -> int:  # fmt: skip
    """NEWS2's total as an ``if`` chain, with no validation and no rounding: the baseline."""
    rr = respiration_rate
    total = 3 if rr <= 8 else 1 if rr <= 11 else 0 if rr <= 20 else 2 if rr <= 24 else 3
    if spo2_scale == 2 and on_oxygen and spo2 >= 93:
        total += 1 if spo2 <= 94 else 2 if spo2 <= 96 else 3
    elif spo2_scale == 2:
        total += 3 if spo2 <= 83 else 2 if spo2 <= 85 else 1 if spo2 <= 87 else 0
    else:
        total += 3 if spo2 <= 91 else 2 if spo2 <= 93 else 1 if spo2 <= 95 else 0
    total += 2 if on_oxygen else 0
    sbp = systolic_bp
    total += 3 if sbp <= 90 else 2 if sbp <= 100 else 1 if sbp <= 110 else 0 if sbp <= 219 else 3
    p = pulse
    total += (
        3
        if p <= 40
        else 1
        if p <= 50
        else 0
        if p <= 90
        else 1
        if p <= 110
        else 2
        if p <= 130
        else 3
    )
    total += 0 if consciousness == "A" else 3
    t = temperature
    total += 3 if t <= 35.0 else 1 if t <= 36.0 else 0 if t <= 38.0 else 1 if t <= 39.0 else 2
    return total


def _ignore_arg(fn: Callable[[], object]) -> Callable[[int], object]:
    return lambda _: fn()


def _python_table(n: int) -> Table:
    obs = observations(n)
    cycle = itertools.cycle(obs)
    invalid = [{**o, "temperature": 98.6, "pulse": True} for o in obs[:100]]
    bad = itertools.cycle(invalid)
    old = [{k: v for k, v in o.items() if k != "spo2_scale"} for o in obs]
    for o in old:
        o["consciousness"] = "V" if o["consciousness"] == "C" else o["consciousness"]
    old_cycle = itertools.cycle(old)

    def refused() -> None:
        with contextlib.suppress(VitalsError):
            assess(NEWS2, next(bad))

    calls: list[tuple[str, Callable[[], object]]] = [
        ("news2.score(**kw)", lambda: news2.score(**next(cycle))),
        ("assess(NEWS2, dict)", lambda: assess(NEWS2, next(cycle))),
        (
            "assess, interpreted (no fast path)",
            lambda: assess(NEWS2, next(cycle), use_fast_path=False),
        ),
        ("news2012.score(**kw)", lambda: news2012.score(**next(old_cycle))),
        ("invalid input, refused", refused),
        ("hand-coded if chain (no checks)", lambda: hand_coded_news2(**next(cycle))),
    ]
    table = Table(
        f"NEWS2 scoring from Python ({n:,} observations a run, median of 5 runs)",
        ["call", "µs/score", "CPU µs/score", "scores/s", "p99 µs"],
        note="target: at most 5 µs per validated score (news2.score); CPU µs is process time, "
        "which other processes on a shared machine do not inflate",
    )
    for name, fn in calls:
        per_call = time_per_call(fn, number=n, repeat=5)
        cpu = _cpu_per_call(fn, n)
        samples = latencies(_ignore_arg(fn), range(n))
        table.add(
            name, per_call * 1e6, cpu * 1e6, round(1 / per_call), percentile(samples, 99) * 1e6
        )
    return table


def _cpu_per_call(fn: Callable[[], object], number: int, repeat: int = 5) -> float:
    """Median process (CPU) seconds per call: robust to other processes taking the CPU."""
    runs = []
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(number):
            fn()
        runs.append((time.process_time() - start) / number)
    return statistics.median(runs)


# -- HTTP ------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    """What the load generator saw: per-request latencies (s), statuses, wall time (s)."""

    latencies: list[float]
    statuses: Counter[int]
    seconds: float

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def _client(
    port: int, path: str, bodies: list[bytes], count: itertools.count[int], total: int,
    stop_at: float, report: LoadReport,
) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    try:
        while (i := next(count)) < total and time.perf_counter() < stop_at:
            body = bodies[i % len(bodies)]
            start = time.perf_counter()
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()
            header = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in header.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            report.latencies.append(time.perf_counter() - start)
            report.statuses[int(header.split(b" ", 2)[1])] += 1
    finally:
        writer.close()


def load(
    port: int, bodies: list[bytes], *, concurrency: int, requests: int, seconds: float,
    path: str = "/v1/news2",
) -> LoadReport:  # fmt: skip
    """Send up to ``requests`` POSTs to 127.0.0.1:``port`` over ``concurrency`` keep-alive
    connections, stopping after ``seconds`` whatever the count."""
    report = LoadReport([], Counter(), 0.0)
    count = itertools.count()

    async def run() -> None:
        stop_at = time.perf_counter() + seconds
        clients = [
            _client(port, path, bodies, count, requests, stop_at, report)
            for _ in range(concurrency)
        ]
        await asyncio.gather(*clients)

    start = time.perf_counter()
    asyncio.run(run())
    report.seconds = time.perf_counter() - start
    return report


class api_server:
    """``dpref serve news2`` in a subprocess on a free loopback port, for the ``with`` block."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.port = free_port()
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> api_server:
        cmd = [sys.executable, "-m", "designpatterns_ref", "serve", "news2",
               "--port", str(self.port), "--log-level", "warning"]  # fmt: skip
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError("the NEWS2 API did not start") from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()


def _http_table(requests: int, levels: tuple[int, ...], seconds: float) -> Table:
    bodies = [json.dumps(o).encode() for o in observations(1000)]
    table = Table(
        f"NEWS2 HTTP API on loopback (uvicorn, 1 worker; up to {requests:,} requests a level)",
        ["concurrency", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "non-200"],
    )
    with api_server() as server:
        load(server.port, bodies, concurrency=2, requests=50, seconds=5)  # warm up
        for c in levels:
            r = load(server.port, bodies, concurrency=c, requests=requests, seconds=seconds)
            ms = [x * 1000 for x in r.latencies]
            non200 = sum(n for s, n in r.statuses.items() if s != 200)
            table.add(c, len(ms), round(r.rps), percentile(ms, 50), percentile(ms, 90),
                      percentile(ms, 99), non200)  # fmt: skip
    return table


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps of ``dpref bench clinical``."""
    n = 2_000 if quick else 20_000
    requests = 600 if quick else 20_000
    levels = (1, 8) if quick else (1, 4, 16)
    seconds = 10.0 if quick else 60.0
    return [
        ("score from Python", lambda: [_python_table(n)]),
        ("HTTP on loopback", lambda: [_http_table(requests, levels, seconds)]),
    ]
