"""The adaptive-bitrate rules: closed forms from the papers' formulas, and oracles."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref import streaming as s
from designpatterns_ref.streaming import (
    Bola,
    Dynamic,
    Ewma,
    Manifest,
    QoEWeights,
    RobustMPC,
    SlidingWindow,
    StreamingError,
    StreamingTypeError,
    ThroughputRule,
    Trace,
    bba_rung,
    bola_rung,
    plan,
    plan_brute_force,
    simulate,
)

from .strategies import manifests

ladders = st.lists(st.integers(50, 10_000), min_size=1, max_size=8, unique=True).map(
    lambda xs: tuple(float(x) for x in sorted(xs))
)


@settings(max_examples=100, deadline=None)
@given(rates=ladders, data=st.data(), reservoir=st.floats(0, 20_000), cushion=st.floats(1, 30_000))
def test_bba_is_monotone_in_the_buffer(
    rates: tuple[float, ...], data: st.DataObject, reservoir: float, cushion: float
) -> None:
    previous = data.draw(st.integers(0, len(rates) - 1))
    levels = sorted(data.draw(st.lists(st.floats(0, 60_000), min_size=2, max_size=20)))
    picks = [bba_rung(b, previous, rates, reservoir, cushion) for b in levels]
    assert picks == sorted(picks)
    assert all(0 <= p < len(rates) for p in picks)


def test_bba_rate_map_closed_form() -> None:
    rates = (300.0, 750.0, 1200.0, 2850.0)
    # f(B) = 300 + 2550 * (B - 5 s) / 10 s between the reservoir (5 s) and 15 s.
    assert bba_rung(4_999, 3, rates, 5000, 10_000) == 0  # inside the reservoir
    assert bba_rung(15_000, 0, rates, 5000, 10_000) == 3  # past the cushion
    assert bba_rung(9_000, 0, rates, 5000, 10_000) == 2  # f = 1320: highest rate below it
    # f(7 s) = 810: above R- = 750 and below R+ = 2850 from rung 2, so rung 2 stays.
    assert bba_rung(7_000, 2, rates, 5000, 10_000) == 2
    assert bba_rung(6_000, 2, rates, 5000, 10_000) == 1  # f = 555 <= 750: lowest rate above f


def test_bba_ends_of_the_ladder_never_step_the_wrong_way() -> None:
    # f(B) rounds onto R_min just above an empty reservoir: the paper's "step down to the
    # lowest rate above f(B)" would step up from the bottom rung (hypothesis found it).
    rates = (50.0, 51.0)
    assert bba_rung(4.6e-259, 0, rates, 0.0, 2.0) == 0
    assert bba_rung(1.0, 0, rates, 0.0, 2.0) == 0
    # and f(B) rounding onto R_max just below the cushion's top must not step down from the top
    assert bba_rung(2.0 - 1e-16, 1, rates, 0.0, 2.0) == 1


def test_bba_hysteresis_holds_between_neighbours() -> None:
    rates = (300.0, 750.0, 1200.0, 2850.0)
    # f(8 s) = 1065: between R- = 750 and R+ = 2850 from rung 2, so rung 2 stays.
    assert bba_rung(8_000, 2, rates, 5000, 10_000) == 2
    # from rung 0 the same level steps up to the highest rate below f: 750.
    assert bba_rung(8_000, 0, rates, 5000, 10_000) == 1


def test_bola_switch_level_closed_form() -> None:
    # Two rungs, u = (0, ln 2), gp = 5, V = (25 s - 3 s) / (ln 2 + 5). BOLA prefers rung 1 once
    # (V (ln 2 + 5) - Q) / 2000 > (5 V - Q) / 1000, i.e. above Q* = V (5 - ln 2).
    v = (25_000 - 3000) / (math.log(2) + 5)
    star = v * (5 - math.log(2))
    u, rates = (0.0, math.log(2)), (1000.0, 2000.0)
    assert bola_rung(star - 1, u, rates, v, 5.0) == 0
    assert bola_rung(star + 1, u, rates, v, 5.0) == 1
    bola = Bola(shrink_near_ends=False)
    bola.start(Manifest(3000, [1000, 2000], [[3e6, 6e6]] * 4), 25_000)
    assert bola.v(2) == pytest.approx(v)


def test_bola_shrinks_its_target_near_the_ends() -> None:
    bola = Bola()
    bola.start(Manifest(3000, [1000, 2000], [[3e6, 6e6]] * 100), 25_000)
    assert bola.v(0) == pytest.approx((9000 - 3000) / (math.log(2) + 5))  # at least 3 segments
    assert bola.v(50) == pytest.approx((25_000 - 3000) / (math.log(2) + 5))


def test_bola_basic_keeps_the_whole_target_unless_asked() -> None:
    """The paper's pure rule has no smaller target near the ends; either variant may ask."""
    full = (25_000 - 3000) / (math.log(2) + 5)
    near = (9000 - 3000) / (math.log(2) + 5)
    movie = Manifest(3000, [1000, 2000], [[3e6, 6e6]] * 100)
    for bola, at_ends in [
        (Bola(variant="basic"), full),
        (Bola(variant="basic", shrink_near_ends=True), near),
        (Bola(variant="u", shrink_near_ends=False), full),
        (Bola(variant="u"), near),
    ]:
        bola.start(movie, 25_000)
        assert [bola.v(0), bola.v(50), bola.v(99)] == pytest.approx([at_ends, full, at_ends])
    with pytest.raises(StreamingTypeError, match="shrink_near_ends"):
        Bola(shrink_near_ends=1)  # type: ignore[arg-type]


def test_throughput_rule_on_constant_bandwidth() -> None:
    # Measured throughput is exactly 2000 kbps (latency excluded); 0.9 * 2000 = 1800 sustains
    # 1500 (100 + 2000 * 1500 / 1800 = 1767 <= 2000 ms) but not 1800 (2100 > 2000).
    movie = Manifest(2000, [500, 1000, 1500, 1800], [[1e6, 2e6, 3e6, 3.6e6]] * 10)
    trace = Trace.constant(2000, latency_ms=100)
    for est in (SlidingWindow(), Ewma()):
        r = simulate(movie, trace, ThroughputRule(est, insufficient_buffer_rule=False))
        assert r.rungs == [0] + [2] * 9
    assert s.rung_for_throughput((500, 1000, 1500, 1800), 2000, 1800, 100) == 2


def test_insufficient_buffer_rule_caps_a_low_buffer() -> None:
    movie = Manifest(2000, [500, 1000, 1500], [[1e6, 2e6, 3e6]] * 3)
    rule = ThroughputRule(SlidingWindow(), insufficient_buffer_rule=True)
    rule.start(movie, 25_000)
    rule.estimator.push(500, 10_000, 0)
    state = s.SessionState(movie, 25_000, segment=1, buffer_ms=250, last_rung=0)
    # safe size 0.9 * 250 ms * 10,000 kbps = 2.25 Mbit: rung 1 (2 Mbit) fits, rung 2 does not.
    assert rule.choose(state) == 1


def test_estimators_closed_form() -> None:
    w = SlidingWindow(3)
    for t in (1000.0, 2000.0, 3000.0, 6000.0):
        w.push(1000, t, 20)
    assert w.throughput_kbps == pytest.approx((2000 + 3000 + 6000) / 3)
    e = Ewma((3.0,))
    e.reset(3000)
    e.push(3000, 1000, 10)  # one half-life: weight 1/2 each, bias corrected by 1/2
    e.push(3000, 3000, 10)
    assert e.throughput_kbps == pytest.approx((0.25 * 1000 + 0.5 * 3000) / 0.75)
    assert e.latency_ms == pytest.approx(10)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 4),
    h=st.integers(1, 4),
    data=st.data(),
    switch=st.sampled_from([0.0, 1.0, 3.0]),
    rebuffer=st.sampled_from([0.0, 3000.0, 6000.0]),
    log=st.booleans(),
)
def test_planned_look_ahead_equals_enumeration(
    n: int, h: int, data: st.DataObject, switch: float, rebuffer: float, log: bool
) -> None:
    rates = sorted(data.draw(st.sets(st.integers(100, 6000), min_size=n, max_size=n)))
    w = QoEWeights(switch=switch, rebuffer=rebuffer, quality="log" if log else "linear")
    u = w.utilities(rates)
    seg = data.draw(st.sampled_from([1000.0, 2000.0, 4000.0]))
    cap = seg * data.draw(st.integers(1, 6))
    dl = [[data.draw(st.floats(0.0, 4 * seg)) for _ in range(n)] for _ in range(h)]
    last = data.draw(st.integers(0, n - 1))
    buf = data.draw(st.floats(0.0, cap))
    fast = plan(dl, u, last, buf, seg, cap, w)
    slow = plan_brute_force(dl, u, last, buf, seg, cap, w)
    assert fast[0] == pytest.approx(slow[0], rel=1e-9, abs=1e-6)
    assert s.plan_value(fast[1], dl, u, last, buf, seg, cap, w) == pytest.approx(fast[0])


def test_robust_prediction_divides_by_the_worst_recent_error() -> None:
    movie = Manifest(2000, [500, 1000], [[1e6, 2e6]] * 10)
    mpc = RobustMPC()
    mpc.start(movie, 25_000)
    state = s.SessionState(
        movie, 25_000, segment=2, last_rung=0,
        throughputs_kbps=[1000.0, 4000.0], download_ms=[100.0] * 2, latencies_ms=[0.0] * 2,
    )  # fmt: skip
    harmonic = 2 / (1 / 1000 + 1 / 4000)
    assert mpc.predict(state) == pytest.approx(harmonic)  # no error measured yet
    mpc.choose(state)  # the prediction choose() acts on is the one the next download scores
    mpc.observe(s.Download(2, 0, 1e6, 1000, 0, harmonic * 2, 0))  # predicted half the actual
    assert mpc.predict(state) == pytest.approx(harmonic / 1.5)


def test_an_infinitely_wrong_prediction_bounds_the_throughput_by_zero() -> None:
    """A prediction of ``inf`` (downloads that took no measurable time) scored against a
    finite download is infinitely wrong: the robust bound is then 0, never ``inf / inf``."""
    movie = Manifest(1000, [100, 200], [[1e5, 2e5]] * 4)
    mpc = RobustMPC()
    mpc.start(movie, 25_000)
    state = s.SessionState(
        movie, 25_000, segment=1, last_rung=0,
        throughputs_kbps=[math.inf], download_ms=[10.0], latencies_ms=[10.0],
    )  # fmt: skip
    mpc.choose(state)  # predicts inf
    mpc.observe(s.Download(1, 0, 1e5, 1010.0, 10.0, 100.0, 0.0))  # 100 kbps: an infinite error
    assert mpc.predict(state) == 0.0
    assert mpc.choose(state) == 0
    assert RobustMPC(robust=False).predict(state) == math.inf  # the plain harmonic mean


measured = st.floats(1.0, 1e5) | st.just(math.inf)


@st.composite
def probes(draw: Any, movie: Manifest) -> s.SessionState:
    """Any state a caller might ask ``predict`` about, not only the session's own."""
    tputs = draw(st.lists(measured, max_size=7))
    return s.SessionState(
        movie, 25_000.0, segment=draw(st.integers(0, movie.segment_count - 1)),
        buffer_ms=draw(st.floats(0, 25_000)),
        last_rung=draw(st.none() | st.integers(0, movie.rungs - 1)),
        throughputs_kbps=tputs, download_ms=[100.0] * len(tputs), latencies_ms=[10.0] * len(tputs),
    )  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(
    movie=manifests(max_segments=8),
    window=st.integers(1, 4),
    horizon=st.integers(1, 3),
    robust=st.booleans(),
    data=st.data(),
)
def test_mpc_predict_is_a_pure_read(
    movie: Manifest, window: int, horizon: int, robust: bool, data: st.DataObject
) -> None:
    """One session played twice, once with ``predict`` calls on any state interleaved before
    ``choose``, between ``choose`` and ``observe`` and after: every ``predict`` leaves all of
    the object's state as it was, and both runs choose the same rungs (their state stays equal
    to the plain run's at every step)."""
    plain = RobustMPC(horizon, window=window, robust=robust)
    peeked = RobustMPC(horizon, window=window, robust=robust)
    for abr in (plain, peeked):
        abr.start(movie, 25_000.0)

    def peek(state: s.SessionState) -> None:
        for probe in data.draw(st.lists(st.just(state) | probes(movie), max_size=2)):
            before = copy.deepcopy(vars(peeked))
            prediction = peeked.predict(probe)
            assert vars(peeked) == before
            assert prediction == plain.predict(probe)
            assert prediction is None or prediction >= 0.0  # never nan
        assert vars(peeked) == vars(plain)

    state = s.SessionState(movie, 25_000.0)
    for segment in range(movie.segment_count):
        state.segment = segment
        state.buffer_ms = data.draw(st.floats(0, 25_000))
        peek(state)
        rungs = [plain.choose(state), peeked.choose(state)]
        assert rungs[0] == rungs[1]
        peek(state)
        tput, abandoned = data.draw(measured), data.draw(st.booleans())
        download = s.Download(segment, rungs[0], 1e6, 1000.0, 10.0, tput, 0.0, abandoned=abandoned)
        for abr in (plain, peeked):
            abr.observe(download)
        peek(state)
        if not abandoned:
            state.throughputs_kbps.append(tput)
            state.download_ms.append(1000.0)
            state.latencies_ms.append(10.0)
        state.last_rung = rungs[0]


def test_dynamic_hands_over_to_bola_once_the_buffer_is_built() -> None:
    movie = Manifest(2000, [500, 1000, 2000], [[1e6, 2e6, 4e6]] * 40)
    algo = Dynamic()
    r = simulate(movie, Trace.constant(8000), algo)
    assert algo.bola_segments > 0
    assert r.rungs[-1] == 2


def test_mpc_respects_the_weights() -> None:
    # With a huge switch penalty MPC keeps its first rung; with none it climbs.
    movie = Manifest(2000, [500, 1000, 2000], [[1e6, 2e6, 4e6]] * 20)
    trace = Trace.constant(6000)
    steady = simulate(movie, trace, RobustMPC(weights=QoEWeights(switch=1e6)))
    assert steady.switches == 0
    free = simulate(movie, trace, RobustMPC(weights=QoEWeights(switch=0.0)))
    assert free.rungs[-1] == 2


def test_every_algorithm_on_shared_traces(shared_data: object) -> None:
    from designpatterns_ref.streaming.data import bbb, shared_traces

    movie = bbb()
    assert (movie.segment_count, movie.rungs) == (199, 10)
    traces = shared_traces()
    assert len(traces) == 32
    for trace in (traces[0], traces[-1]):
        results = {a.name: simulate(movie, trace, a) for a in s.algorithms()}
        for r in results.values():
            assert r.played_s == pytest.approx(movie.duration_s)
            assert all(0 <= q < 10 for q in r.rungs)
        assert results["bba"].avg_bitrate_kbps > movie.bitrates_kbps[0]


@settings(max_examples=60, deadline=None)
@given(
    tput=st.floats(min_value=5e-324, max_value=1e-290) | st.sampled_from([5e-324, 1e-310]),
    last=st.sampled_from([0, 1]),
)
def test_a_vanishing_throughput_gives_the_lowest_rung_from_every_algorithm(
    tput: float, last: int
) -> None:
    """A throughput the state accepts (any value above 0) but whose inverse overflows, or whose
    downloads would never end, leaves every algorithm choosing a rung; none divides by zero.
    RobustMPC predicts no throughput at all there and picks the lowest rung."""
    movie = Manifest(2000.0, [300.0, 750.0], [[600_000.0, 1_500_000.0]] * 5)
    for abr in s.algorithms():
        abr.start(movie, 20_000.0)
        state = s.SessionState(
            movie, 20_000.0, segment=1, buffer_ms=2000.0, now_ms=100.0, last_rung=last,
            throughputs_kbps=[tput], download_ms=[50.0], latencies_ms=[10.0],
        )  # fmt: skip
        rung = abr.choose(state)
        assert 0 <= rung < 2, abr.name
        if isinstance(abr, RobustMPC):
            assert rung == 0


@pytest.mark.parametrize("make", [s.BBA, RobustMPC, Bola, Dynamic, ThroughputRule])
def test_an_abandoned_attempt_does_not_change_the_next_choice(make: type) -> None:
    movie = Manifest(2000, [200, 1000, 4000], [[4e5, 2e6, 8e6]] * 4)
    finished = s.Download(0, 1, 2e6, 1050.0, 50.0, 2000.0, 0.0)
    dropped = s.Download(1, 2, 1e6, 3050.0, 50.0, 333.0, 2000.0, abandoned=True)
    state = s.SessionState(
        movie, 25_000, segment=1, buffer_ms=12_000, last_rung=1,
        throughputs_kbps=[2000.0], download_ms=[1000.0], latencies_ms=[50.0],
    )  # fmt: skip
    plain, seen = make(), make()
    for abr in (plain, seen):
        abr.start(movie, 25_000)
        abr.choose(state)
        abr.observe(finished)
    seen.observe(dropped)
    choices = [abr.choose(state) for abr in (plain, seen)]
    assert choices[0] == choices[1]
    if isinstance(seen, RobustMPC):
        assert len(seen._errors) == len(plain._errors) == 1


@pytest.mark.parametrize(
    "make",
    [
        s.BBA,
        Bola,
        lambda: Bola(variant="basic"),
        Dynamic,
        RobustMPC,
        lambda: RobustMPC(robust=False),
        ThroughputRule,
        lambda: ThroughputRule(SlidingWindow()),
        s.Fixed,
    ],
)
def test_choose_before_start_is_refused_the_same_way(make: Any) -> None:
    movie = Manifest(3000, [300, 750, 1200], [[9e5, 2.25e6, 3.6e6]] * 10)
    fresh = s.SessionState(movie, 25_000.0)
    later = s.SessionState(
        movie, 25_000.0, segment=3, buffer_ms=5000.0, last_rung=1,
        throughputs_kbps=[1000.0], download_ms=[100.0], latencies_ms=[10.0],
    )  # fmt: skip
    for state in (fresh, later):
        with pytest.raises(StreamingError, match=r"call start\(manifest, buffer_cap_ms\) before"):
            make().choose(state)
    abr = make()
    abr.start(movie, 25_000.0)
    assert 0 <= abr.choose(later) < movie.rungs


def _ewma_oracle(
    half_ms: float, segment_ms: float, samples: list[tuple[float, float, float]]
) -> tuple[float, float]:
    """Sabre's bias-corrected EWMA written out: sum of w_k x_k over sum of w_k, the weight of a
    sample halving every half-life of download time (throughput) or of segments (latency)."""
    t_num = t_den = l_num = l_den = 0.0
    after_ms, after_segments = 0.0, 0
    for d, t, la in reversed(samples):  # newest first: its weight is not yet decayed
        w = 0.5 ** (after_ms / half_ms) * (1 - 0.5 ** (d / half_ms))
        t_num, t_den = t_num + w * t, t_den + w
        v = 0.5 ** (after_segments * segment_ms / half_ms) * (1 - 0.5 ** (segment_ms / half_ms))
        l_num, l_den = l_num + v * la, l_den + v
        after_ms, after_segments = after_ms + d, after_segments + 1
    return t_num / t_den, l_num / l_den


samples = st.lists(
    st.tuples(st.floats(1, 10_000), st.floats(1, 1e5), st.floats(0, 500)), min_size=1, max_size=8
)


@settings(max_examples=100, deadline=None)
@given(half_s=st.floats(0.5, 30), segment_ms=st.floats(500, 10_000), pushed=samples)
def test_ewma_matches_the_weighted_mean_written_out(
    half_s: float, segment_ms: float, pushed: list[tuple[float, float, float]]
) -> None:
    e = Ewma((half_s,))
    e.reset(segment_ms)
    for d, t, la in pushed:
        e.push(d, t, la)
    t, la = _ewma_oracle(half_s * 1000, segment_ms, pushed)
    assert e.throughput_kbps == pytest.approx(t, rel=1e-9)
    assert e.latency_ms == pytest.approx(la, rel=1e-9, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(
    half_s=st.one_of(st.just(5e-324), st.floats(5e-324, 1e9)),
    segment_ms=st.one_of(st.just(5e-324), st.just(1e-14), st.floats(5e-324, 1e15)),
    pushed=st.lists(
        st.tuples(st.floats(0, 1e15), st.floats(5e-324, 1e15), st.floats(0, 1e15)),
        min_size=1,
        max_size=6,
    ),
)
def test_ewma_stays_within_its_samples_at_the_extremes(
    half_s: float, segment_ms: float, pushed: list[tuple[float, float, float]]
) -> None:
    """Any accepted half-life and segment: a defined estimate between the lowest and highest
    sample (a weighted mean), equal to the sample when every sample is the same."""
    e = Ewma((half_s,))
    e.reset(segment_ms)
    for d, t, la in pushed:
        e.push(d, t, la)
    assert e.throughput_kbps is not None and e.latency_ms is not None
    assert min(t for _, t, _ in pushed) <= e.throughput_kbps <= max(t for _, t, _ in pushed)
    assert min(la for *_, la in pushed) <= e.latency_ms <= max(la for *_, la in pushed)
    same = Ewma((half_s,))
    same.reset(segment_ms)
    for d, _, _ in pushed:
        same.push(d, pushed[0][1], pushed[0][2])
    assert (same.throughput_kbps, same.latency_ms) == pushed[0][1:]


def test_a_session_of_tiny_segments_runs_with_ewma() -> None:
    movie = Manifest(1e-14, [300, 750], [[1, 2]] * 3)
    r = simulate(movie, Trace.constant(1000), ThroughputRule(Ewma()))
    assert len(r.rungs) == 3


def test_the_measured_3g_ranking_the_case_study_states(shared_data: object) -> None:
    """The case study's claims, measured: on the shared 3G logs with Sabre's 25 s buffer, BBA
    stalls the most of the buffer and throughput rules and the EWMA throughput rule the least,
    with the fewest switches and the lowest bitrate."""
    from designpatterns_ref.streaming.data import bbb, shared_traces

    movie, traces = bbb(), shared_traces("3g")
    rules = {
        "ewma": ThroughputRule(Ewma()),
        "window": ThroughputRule(SlidingWindow()),
        "bba": s.BBA(),
        "bola": Bola(),
    }
    runs = {name: [simulate(movie, t, abr) for t in traces] for name, abr in rules.items()}
    stalls = {name: sum(r.rebuffer_ratio for r in rs) / len(rs) for name, rs in runs.items()}
    switches = {name: sum(r.switches for r in rs) / len(rs) for name, rs in runs.items()}
    kbps = {name: sum(r.avg_bitrate_kbps for r in rs) / len(rs) for name, rs in runs.items()}
    assert max(stalls, key=stalls.__getitem__) == "bba"
    assert min(stalls, key=stalls.__getitem__) == "ewma"
    assert min(switches, key=switches.__getitem__) == "ewma"
    assert min(kbps, key=kbps.__getitem__) == "ewma"
