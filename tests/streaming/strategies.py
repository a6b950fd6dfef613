"""Hypothesis strategies: small ladders and network logs."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from designpatterns_ref.streaming import Manifest, Trace


@st.composite
def manifests(draw: Any, max_segments: int = 8, cbr: bool = False) -> Manifest:
    rungs = draw(st.integers(1, 5))
    rates = sorted(draw(st.sets(st.integers(100, 6000), min_size=rungs, max_size=rungs)))
    seg = draw(st.sampled_from([1000, 2000, 3000, 4000]))
    count = draw(st.integers(1, max_segments))
    rows = []
    for _ in range(count):
        if cbr:
            rows.append([r * seg for r in rates])
        else:
            rows.append([max(1, int(r * seg * draw(st.floats(0.5, 1.5)))) for r in rates])
    return Manifest(seg, rates, rows)


@st.composite
def periods(draw: Any, max_periods: int = 5, min_bandwidth: int = 1) -> list[tuple[int, int, int]]:
    """Periods (duration ms, kbps, latency ms); bandwidth 0 or at least ``min_bandwidth``."""
    n = draw(st.integers(1, max_periods))
    bandwidth = st.one_of(st.just(0), st.integers(min_bandwidth, 8000))
    out = [
        (draw(st.integers(50, 4000)), draw(bandwidth), draw(st.integers(0, 200))) for _ in range(n)
    ]
    if all(bw == 0 for _, bw, _ in out):
        out[0] = (out[0][0], 500, out[0][2])
    return out


def as_trace(rows: list[tuple[int, int, int]]) -> Trace:
    return Trace([{"duration_ms": d, "bandwidth_kbps": b, "latency_ms": la} for d, b, la in rows])
