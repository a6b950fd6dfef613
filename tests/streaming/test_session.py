"""The player simulator: closed forms, a millisecond-tick oracle, and its invariants."""

from __future__ import annotations

import contextlib
import itertools
import math
import signal
from collections.abc import Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref import streaming as s
from designpatterns_ref.streaming import Fixed, Manifest, StreamingError, Trace, simulate
from tests.streaming.oracles import Replay, tick_session
from tests.streaming.strategies import as_trace, manifests, periods


def test_constant_bandwidth_closed_form() -> None:
    # 4 s segments of 4 Mbit at 2 Mbit/s with 100 ms latency: each download takes 2.1 s.
    movie = Manifest(4000, [500, 1000], [[2e6, 4e6]] * 5)
    r = simulate(movie, Trace.constant(2000, latency_ms=100), Fixed(1), buffer_cap_s=10)
    assert r.startup_s == pytest.approx(2.1)
    # 4.0 after the first; +4 - 2.1 per download; from the 4th the cap makes it wait to 6 s.
    assert r.buffer_s == pytest.approx([4.0, 5.9, 7.8, 7.9, 7.9])
    assert [b - a for a, b in zip(r.request_s, r.finish_s, strict=True)] == pytest.approx([2.1] * 5)
    assert r.request_s == pytest.approx([0.0, 2.1, 4.2, 8.1, 12.1])
    assert (r.rebuffer_s, r.rebuffer_count) == (0.0, 0)
    assert r.total_time_s == pytest.approx(2.1 + 20.0)
    assert r.played_s == pytest.approx(20.0)


def test_constant_bandwidth_stalls_closed_form() -> None:
    # 2 s segments of 4 Mbit at 1 Mbit/s: 4 s per download, so 2 s of stall per segment.
    movie = Manifest(2000, [2000], [[4e6]] * 4)
    r = simulate(movie, Trace.constant(1000), Fixed(0))
    assert r.startup_s == pytest.approx(4.0)
    assert r.rebuffer_s == pytest.approx(6.0)
    assert r.rebuffer_count == 3
    assert r.total_time_s == pytest.approx(4.0 + 8.0 + 6.0)
    assert r.rebuffer_ratio == pytest.approx(6.0 / 18.0)
    # Sabre's time-average bitrate divides by session time in segments (18 s / 2 s = 9).
    assert r.time_avg_bitrate_kbps == pytest.approx(4 * 2000 / 9)
    w = r.weights
    assert r.qoe == pytest.approx(4 * 2000 - w.rebuffer * 6.0 - w.startup * 4.0)


def test_latency_spanning_periods_counts_in_units() -> None:
    # Sabre: a latency is one "unit"; 50 ms of a 100 ms latency, then the rest at 300 ms.
    trace = Trace(
        [
            {"duration_ms": 50, "bandwidth_kbps": 1000, "latency_ms": 100},
            {"duration_ms": 10_000, "bandwidth_kbps": 1000, "latency_ms": 300},
        ]
    )
    net = s.Network(trace)
    assert net.latency() == pytest.approx(50 + 0.5 * 300)


def test_qoe_weights_and_switches() -> None:
    movie = Manifest(1000, [100, 200, 400], [[1e5, 2e5, 4e5]] * 4)
    r = simulate(movie, Trace.constant(10_000), Replay([0, 2, 2, 1]))
    assert r.switches == 2
    assert r.switch_kbps == 300 + 200
    qoe = 100 + 400 + 400 + 200 - 1.0 * 500 - 3000 * r.startup_s
    assert r.qoe == pytest.approx(qoe)
    log = simulate(
        movie,
        Trace.constant(10_000),
        Replay([0, 2, 2, 1]),
        weights=s.QoEWeights(switch=2.0, rebuffer=1.0, startup=0.0, quality="log"),
    )
    q = [0.0, math.log(4), math.log(4), math.log(2)]
    assert log.qoe == pytest.approx(sum(q) - 2.0 * (math.log(4) + math.log(2)))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_matches_millisecond_tick_replay(data: st.DataObject) -> None:
    movie = data.draw(manifests(max_segments=5))
    rows = data.draw(periods(min_bandwidth=200))
    rungs = [data.draw(st.integers(0, movie.rungs - 1)) for _ in range(movie.segment_count)]
    cap = int(movie.segment_duration_ms) * data.draw(st.integers(2, 5))
    r = simulate(movie, as_trace(rows), Replay(rungs), buffer_cap_s=cap / 1000)
    t = tick_session(movie, rows, rungs, cap)
    # Each download ends inside a tick, so the tick replay runs up to 1 ms late; starting a
    # download that much later can cost up to (fastest / slowest bandwidth) ms more at its end,
    # or a whole stretch of zero bandwidth when its last bits miss the period before one.
    positive = [bw for _, bw, _ in rows if bw > 0]
    gap = run = 0
    for d, bw, _ in rows + rows:  # twice round: a stretch may wrap past the end
        run = run + d if bw == 0 else 0
        gap = max(gap, run)
    tol = movie.segment_count * (2 + 2 * max(positive) / min(positive) + gap) + 2
    assert r.startup_s * 1000 == pytest.approx(t.startup_ms, abs=tol)
    assert r.rebuffer_s * 1000 == pytest.approx(t.rebuffer_ms, abs=tol)
    assert r.total_time_s * 1000 == pytest.approx(t.total_ms, abs=tol)
    assert r.played_s * 1000 == pytest.approx(t.played_ms, abs=1e-6)
    # Each download's stall, read off the session's timeline (the buffer before a request is
    # the one after the previous download less the wait at the cap), against the replay's.
    stalls = [0.0]
    for i in range(1, movie.segment_count):
        before = r.buffer_s[i - 1] - (r.request_s[i] - r.finish_s[i - 1])
        stalls.append(max(0.0, r.finish_s[i] - r.request_s[i] - before) * 1000)
    assert stalls == pytest.approx(t.stall_ms, abs=tol)
    # A stall counts where either side stalls by more than the tolerance; only downloads where
    # one side stalls by less may count on one side and not the other.
    assert r.rebuffer_count == sum(x > 1e-6 for x in stalls)
    unsure = sum(0 < x <= tol or 0 < y <= tol for x, y in zip(stalls, t.stall_ms, strict=True))
    assert abs(r.rebuffer_count - t.events) <= unsure


@settings(max_examples=40, deadline=None)
@given(movie=manifests(), rows=periods(), pick=st.integers(0, 5), cap_segments=st.integers(1, 6))
def test_invariants_for_every_algorithm(
    movie: Manifest, rows: list[tuple[int, int, int]], pick: int, cap_segments: int
) -> None:
    algo = s.algorithms()[pick]
    cap = movie.segment_duration_ms * cap_segments / 1000
    r = simulate(movie, as_trace(rows), algo, buffer_cap_s=cap)
    assert all(0 <= q < movie.rungs for q in r.rungs)
    assert len(r.rungs) == movie.segment_count
    assert all(0.0 <= b <= cap + 1e-9 for b in r.buffer_s)
    assert r.max_buffer_s <= cap + 1e-9
    assert r.played_s == pytest.approx(movie.duration_s)
    assert r.total_time_s == pytest.approx(r.startup_s + r.played_s + r.rebuffer_s)
    assert r.rebuffer_s >= 0 and r.rebuffer_count >= 0
    assert (r.rebuffer_s > 0) == (r.rebuffer_count > 0)
    # every stall is an interval ending as a segment arrives; they add up to the stalled time
    assert len(r.stalls_s) == r.rebuffer_count
    assert sum(b - a for a, b in r.stalls_s) == pytest.approx(r.rebuffer_s, abs=1e-9)
    assert all(0 < a < b for a, b in r.stalls_s)
    assert all(b <= c for (_, b), (c, _) in itertools.pairwise(r.stalls_s))
    assert all(b == pytest.approx(f) for (_, b), f in zip(r.stalls_s, _arrivals(r), strict=True))


def _arrivals(r: s.SessionResult) -> list[float]:
    """The arrival times of the downloads during which the buffer ran dry."""
    out = []
    for i in range(1, len(r.rungs)):
        before = r.buffer_s[i - 1] - (r.request_s[i] - r.finish_s[i - 1])
        if r.finish_s[i] - r.request_s[i] > before:
            out.append(r.finish_s[i])
    return out


@settings(max_examples=30, deadline=None)
@given(
    movie=manifests(cbr=True),
    bws=st.lists(st.integers(1, 4000), min_size=1, max_size=5),
    pick=st.integers(0, 5),
)
def test_no_stall_when_bandwidth_always_exceeds_the_top_rung(
    movie: Manifest, bws: list[int], pick: int
) -> None:
    top = movie.bitrates_kbps[-1]
    trace = Trace([{"duration_ms": 700, "bandwidth_kbps": top + b, "latency_ms": 0} for b in bws])
    r = simulate(movie, trace, s.algorithms()[pick])
    assert r.rebuffer_s == 0.0 and r.rebuffer_count == 0


@settings(max_examples=30, deadline=None)
@given(
    movie=manifests(),
    rows=periods(),
    where=st.integers(0, 4),
    cut=st.floats(0.05, 0.95),
    pick=st.integers(0, 5),
)
def test_splitting_a_network_period_changes_nothing(
    movie: Manifest, rows: list[tuple[int, int, int]], where: int, cut: float, pick: int
) -> None:
    i = where % len(rows)
    d, bw, lat = rows[i]
    first = max(1, min(d - 1, round(d * cut)))
    split = [*rows[:i], (first, bw, lat), (d - first, bw, lat), *rows[i + 1 :]]
    if d < 2:
        return
    a = simulate(movie, as_trace(rows), s.algorithms()[pick])
    b = simulate(movie, as_trace(split), s.algorithms()[pick])
    assert a.rungs == b.rungs
    for key, value in a.summary().items():
        assert b.summary()[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


def test_abandonment_cuts_a_stall_short() -> None:
    # A fast first period fools the estimate; then the link collapses mid-download.
    movie = Manifest(2000, [200, 4000], [[4e5, 8e6]] * 6)
    trace = Trace(
        [
            {"duration_ms": 1000, "bandwidth_kbps": 20_000, "latency_ms": 0},
            {"duration_ms": 60_000, "bandwidth_kbps": 300, "latency_ms": 0},
        ]
    )
    plain = simulate(movie, trace, Fixed(1))
    dropped = simulate(movie, trace, Fixed(1), abandonment=True)
    assert dropped.abandoned > 0 and dropped.wasted_bits > 0
    assert dropped.rebuffer_s < plain.rebuffer_s
    assert dropped.played_s == pytest.approx(movie.duration_s)


def test_a_huge_download_or_delay_skips_whole_passes_over_the_log() -> None:
    trace = Trace(
        [
            {"duration_ms": 1000, "bandwidth_kbps": 1000, "latency_ms": 0},
            {"duration_ms": 500, "bandwidth_kbps": 0, "latency_ms": 0},
        ]
    )
    net = s.Network(trace)
    got, took = net.download(3e9)  # 3,000 passes of 1,500 ms each, the last one ends early
    assert got == 3e9 and took == pytest.approx(3000 * 1500 - 500)
    net = s.Network(trace)
    net.delay(1500 * 5000 + 200)
    assert (net.index, net.left_ms) == (0, pytest.approx(800))


def _walk_latency(
    durations: list[float], latencies: list[float], index: int, left: float
) -> tuple[float, int, float]:
    """The reference: one request latency walked period by period (time, index, left)."""
    units, total = 1.0, 0.0
    while True:
        lat = latencies[index]
        if units * lat <= left:
            return total + units * lat, index, left - units * lat
        total += left
        units -= left / lat
        index = (index + 1) % len(durations)
        left = durations[index]


def _cycle_offset(durations: list[float], index: int, left: float) -> float:
    return sum(durations[:index]) + durations[index] - left


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.floats(0.5, 50.0),
            st.one_of(st.just(0.0), st.floats(0.5, 3000.0)),
        ),
        min_size=1,
        max_size=5,
    ),
    start=st.floats(0.0, 400.0),
    requests=st.integers(1, 3),
)
@example(rows=[(1.0, 300.0)], start=0.0, requests=1)  # a latency of 300 periods
@example(rows=[(1.0, 300.0), (2.0, 0.0)], start=0.5, requests=2)  # a free period ends it
@example(rows=[(3.0, 2000.0), (0.5, 1.0), (7.0, 40.0)], start=2.0, requests=3)
def test_latency_matches_the_period_by_period_walk(
    rows: list[tuple[float, float]], start: float, requests: int
) -> None:
    durations = [d for d, _ in rows]
    latencies = [la for _, la in rows]
    net = s.Network(
        Trace([{"duration_ms": d, "bandwidth_kbps": 100, "latency_ms": la} for d, la in rows])
    )
    net.delay(start)
    cycle = sum(durations)
    for _ in range(requests):
        before = net.now_ms
        took, index, left = _walk_latency(durations, latencies, net.index, net.left_ms)
        assert net.latency() == pytest.approx(took, rel=1e-9, abs=1e-9)
        assert net.now_ms == pytest.approx(before + took, rel=1e-9, abs=1e-9)
        # the same point of the log (a period's end is the next one's start)
        apart = abs(
            _cycle_offset(durations, net.index, net.left_ms) - _cycle_offset(durations, index, left)
        )
        assert min(apart, cycle - apart) == pytest.approx(0.0, abs=1e-6 * max(1.0, took))


@contextlib.contextmanager
def _watchdog(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: raise after ``seconds`` of CPU time (a busy machine's waits
    do not count)."""

    def stop(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} CPU s")

    old = signal.signal(signal.SIGPROF, stop)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


@pytest.mark.parametrize(
    ("duration", "latency"), [(1.0, 1e9), (1.0, 1e15), (1e-300, 1e15), (5e-324, 1.0)]
)
def test_a_latency_of_many_passes_over_the_log_finishes(duration: float, latency: float) -> None:
    trace = Trace(
        [
            {"duration_ms": duration, "bandwidth_kbps": 1000, "latency_ms": latency},
            {"duration_ms": duration, "bandwidth_kbps": 1000, "latency_ms": latency / 2},
        ]
    )
    with _watchdog(20):
        net = s.Network(trace)
        assert net.latency() == pytest.approx(latency * 2 / 3, rel=1e-6)
        assert net.latency() == pytest.approx(latency * 2 / 3, rel=1e-6)
        if duration >= 1.0:
            movie = Manifest(2000, [500, 1000], [[1e6, 2e6]] * 2)
            r = simulate(movie, trace, Fixed(0))
            # the first segment: one latency, then 1 Mbit at 1 Mbit/s
            assert r.startup_s == pytest.approx((latency * 2 / 3 + 1000) / 1000, rel=1e-9)


class _Recorder(Fixed):
    """Fixed(rung), keeping every Download it observes."""

    def __init__(self, rung: int) -> None:
        super().__init__(rung)
        self.seen: list[s.Download] = []

    def observe(self, download: s.Download) -> None:
        self.seen.append(download)


@settings(max_examples=150, deadline=None)
@given(
    manifests(max_segments=6),
    periods(max_periods=4),
    st.integers(0, 200),
    st.sampled_from([2.0, 4.0, 25.0]),
)
def test_an_abandoned_attempt_is_reported_apart_from_its_replacement(
    movie: Manifest, rows: list[tuple[int, int, int]], latency: int, cap_s: float
) -> None:
    # every period has one latency: every request then waits exactly that long, abandoned or not
    trace = as_trace([(d, bw, latency) for d, bw, _ in rows])
    cap_s = max(cap_s, movie.segment_duration_ms / 1000)
    abr = _Recorder(movie.rungs - 1)
    r = simulate(movie, trace, abr, buffer_cap_s=cap_s, abandonment=True)
    dropped = [d for d in abr.seen if d.abandoned]
    kept = [d for d in abr.seen if not d.abandoned]
    assert len(dropped) == r.abandoned
    assert sum(d.bits for d in dropped) == pytest.approx(r.wasted_bits)
    assert [d.rung for d in kept] == r.rungs
    assert [d.segment for d in kept] == list(range(movie.segment_count))
    for d in abr.seen:
        assert d.latency_ms == pytest.approx(latency)
    for d in kept:
        assert d.bits == movie.segment_sizes_bits[d.segment][d.rung]
    # the downloads of a segment, abandoned ones included, fill its request-to-arrival time
    spent = [0.0] * movie.segment_count
    for d in abr.seen:
        spent[d.segment] += d.time_ms
    elapsed = [(b - a) * 1000 for a, b in zip(r.request_s, r.finish_s, strict=True)]
    assert spent == pytest.approx(elapsed, rel=1e-9, abs=1e-6)


def test_an_abandoned_download_leaves_the_latency_estimate_alone() -> None:
    # the first download is fast, then the link collapses during the next: it is abandoned
    movie = Manifest(2000, [200, 1000, 4000], [[4e5, 2e6, 8e6]] * 6)
    trace = Trace(
        [
            {"duration_ms": 1000, "bandwidth_kbps": 20_000, "latency_ms": 50},
            {"duration_ms": 60_000, "bandwidth_kbps": 600, "latency_ms": 50},
        ]
    )
    rule = s.ThroughputRule(s.SlidingWindow())
    r = simulate(movie, trace, rule, abandonment=True)
    assert r.abandoned > 0
    assert rule.estimator.latency_ms == pytest.approx(50)


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.floats(1, 1e8), min_size=2, max_size=4, unique=True),
    bandwidth=st.one_of(st.just(1e15), st.floats(1e12, 1e15)),
    latency=st.one_of(st.just(0.0), st.floats(0, 100)),
    seg=st.one_of(st.just(1000.1), st.floats(1, 4000)),
    pick=st.integers(0, 5),
)
def test_an_accepted_extreme_trace_plays_through(
    sizes: list[float], bandwidth: float, latency: float, seg: float, pick: int
) -> None:
    """Values the session measures itself (a throughput a rounding above the link's 1e15 kbps,
    a download time a rounding below its latency) never stop it: every algorithm plays on."""
    rates = sorted(sizes)
    movie = Manifest(seg, [r / seg for r in rates], [rates] * 5)
    trace = Trace.constant(bandwidth, latency_ms=latency)
    abr = s.algorithms()[pick]
    r = simulate(movie, trace, abr, buffer_cap_s=seg / 1000 * 1.0001)
    assert len(r.rungs) == 5
    assert r.played_s == pytest.approx(movie.duration_s)


@pytest.mark.parametrize(
    ("periods", "error"),
    [
        ([(1e-3, 5e-324, 0)], "rounds to 0 bits"),
        ([(1000, 5e-324, 0)], "at most 1e15 ms"),
        ([(1000, 1e-9, 0)], "at most 1e15 ms"),
        ([(1000, 0, 0), (1, 1e-6, 0)], "at most 1e15 ms"),
    ],
)
def test_a_trace_that_cannot_deliver_a_segment_is_refused(
    periods: list[tuple[float, float, float]], error: str
) -> None:
    movie = Manifest(3000, [300, 750], [[1.5e6, 3e6]] * 4)
    trace = Trace(
        [{"duration_ms": d, "bandwidth_kbps": b, "latency_ms": la} for d, b, la in periods]
    )
    abr = s.ThroughputRule()
    with pytest.raises(StreamingError, match=error):
        simulate(movie, trace, abr)
    with pytest.raises(StreamingError, match="before choose"):
        abr.choose(s.SessionState(movie, 25_000.0))  # refused before the algorithm started


def test_the_metrics_of_a_session_of_no_segment_are_defined() -> None:
    movie = Manifest(3000, [300, 750], [[9e5, 2.25e6]] * 3)
    empty = s.SessionResult("a", "t", movie, s.QoEWeights(), 25.0)
    assert empty.summary() == {
        "qoe_per_segment": 0.0, "avg_bitrate_kbps": 0.0, "rebuffer_s": 0.0,
        "rebuffer_count": 0.0, "rebuffer_ratio": 0.0, "startup_s": 0.0, "switches": 0.0,
        "switch_kbps": 0.0,
    }  # fmt: skip
    assert empty.time_avg_bitrate_kbps == 0.0
