"""Random sequences of calls against short, obviously correct models.

The adaptive-bitrate rules are driven through ``start``, ``choose`` and ``observe`` (refused
calls, restarts, abandoned attempts and rungs the ladder lacks included) and every answer is
compared with the paper's formula written out plainly; the session simulator is compared, on
the shared Big Buck Bunny ladder and the real 3G/4G logs (bandwidths scaled, zeroed or made huge),
with a plain walk over the log's periods.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from designpatterns_ref.streaming import (
    BBA,
    Bola,
    Download,
    Dynamic,
    Manifest,
    SessionState,
    SlidingWindow,
    StreamingError,
    ThroughputRule,
    Trace,
    simulate,
)
from designpatterns_ref.streaming.data import find_abr_data
from tests.streaming.oracles import Replay

from .strategies import manifests

# --- the rules, written out from the papers --------------------------------------------------


def bba_model(buffer: float, prev: int, rates: tuple[float, ...], r: float, cu: float) -> int:
    """BBA-0 (Huang et al. 2014, Algorithm 1) with the ends of the ladder staying put."""
    top = len(rates) - 1
    if buffer <= r:
        return 0
    if buffer >= r + cu:
        return top
    f = rates[0] + (rates[top] - rates[0]) * (buffer - r) / cu
    if prev < top and f >= rates[prev + 1]:
        return max(i for i in range(top + 1) if rates[i] < f)
    if prev > 0 and f <= rates[prev - 1]:
        return min(i for i in range(top + 1) if rates[i] > f)
    return prev


def sustained(rates: tuple[float, ...], seg: float, tput: float, lat: float) -> int:
    """The highest rung whose segment downloads within its own duration (rung 0 at least)."""
    fits = [q for q in range(len(rates)) if lat + seg * rates[q] / tput <= seg]
    return max(fits, default=0)


class RuleModel:
    """One rule's expected state: the rung BBA holds, the samples, BOLA-U's last choice."""

    def __init__(self, kind: str, params: dict[str, Any]) -> None:
        self.kind, self.params = kind, params
        self.started = False
        self.prev = 0
        self.samples: list[tuple[float, float]] = []
        self.ibr = 0.9
        self.last = 0

    def start(self, m: Manifest, cap: float) -> None:
        self.m, self.cap = m, cap
        self.rates, self.seg = m.bitrates_kbps, m.segment_duration_ms
        usable = cap - self.seg if cap > self.seg else cap
        self.r = 90 / 240 * usable
        self.cu = 126 / 240 * usable
        self.started, self.prev, self.samples, self.ibr, self.last = True, 0, [], 0.9, 0

    def estimate(self) -> tuple[float, float] | None:
        recent = self.samples[-self.params["window"] :]
        if not recent:
            return None
        return sum(t for t, _ in recent) / len(recent), sum(la for _, la in recent) / len(recent)

    def choose(self, buffer: float, segment: int) -> int:
        if self.kind == "bba":
            self.prev = bba_model(buffer, self.prev, self.rates, self.r, self.cu)
            return self.prev
        est = self.estimate()
        if self.kind == "throughput":
            if est is None:
                return 0
            tput, lat = est
            q = sustained(self.rates, self.seg, tput * self.params["safety"], lat)
            safe = self.ibr * (buffer - lat) * tput
            self.ibr = max(self.ibr * 0.9, 0.5)
            fitting = [lo for lo in range(q) if self.rates[lo + 1] * self.seg > safe]
            return min(fitting, default=q)
        # BOLA (Spiteri et al. 2016); BOLA-U adds Sabre's smaller target near the ends and the
        # up-switch guard, the basic rule neither
        if self.params["variant"] == "u" and est is None:
            return 0
        gp = self.params["gp"]
        u = [math.log(r / self.rates[0]) for r in self.rates]
        target = self.cap
        if self.params["variant"] == "u":
            near = max(min(segment, self.m.segment_count - segment) / 2, 3) * self.seg
            target = min(target, near)
        v = (target - self.seg) / (u[-1] + gp)
        scores = [(v * (u[q] + gp) - buffer) / self.rates[q] for q in range(len(u))]
        q = scores.index(max(scores))
        if self.params["variant"] == "u" and q > self.last and est is not None:
            t = sustained(self.rates, self.seg, *est)
            if q > t:
                q = self.last if self.last > t else t + 1
        self.last = q
        return q

    def observe(self, d: Download) -> None:
        if d.abandoned:
            return
        if self.kind == "bba":
            self.prev = d.rung
        elif math.isfinite(d.throughput_kbps):
            self.samples.append((d.throughput_kbps, d.latency_ms))


class DynamicModel:
    """DYNAMIC (Spiteri et al. 2018): both rules every segment, BOLA's answer once the buffer
    passes the threshold and BOLA asks at least as much, the throughput rule's again once the
    buffer falls below it and BOLA asks less; rung 0 before anything was downloaded."""

    kind = "dynamic"

    def __init__(self, params: dict[str, Any]) -> None:
        self.bola, self.tput = RuleModel("bola", params), RuleModel("throughput", params)
        self.threshold = params["threshold_s"] * 1000
        self.started = self.using_bola = False

    def start(self, m: Manifest, cap: float) -> None:
        self.bola.start(m, cap)
        self.tput.start(m, cap)
        self.m, self.cap, self.started, self.using_bola = m, cap, True, False

    def estimate(self) -> tuple[float, float] | None:
        return self.tput.estimate()

    def choose(self, buffer: float, segment: int, last_rung: int | None) -> int:
        if last_rung is None:
            return 0
        b, t = self.bola.choose(buffer, segment), self.tput.choose(buffer, segment)
        if self.using_bola and buffer < self.threshold and b < t:
            self.using_bola = False
        elif not self.using_bola and buffer > self.threshold and b >= t:
            self.using_bola = True
        return b if self.using_bola else t

    def observe(self, d: Download) -> None:
        self.bola.observe(d)
        self.tput.observe(d)


def make_model(kind: str, params: dict[str, Any]) -> Any:
    return DynamicModel(params) if kind == "dynamic" else RuleModel(kind, params)


def make_rule(kind: str, params: dict[str, Any]) -> Any:
    if kind == "bba":
        return BBA()
    if kind == "dynamic":
        return Dynamic(
            params["threshold_s"],
            bola=make_rule("bola", params),
            throughput=make_rule("throughput", params),
        )
    window = SlidingWindow(params["window"])
    if kind == "throughput":
        return ThroughputRule(window, safety=params["safety"])
    return Bola(params["gp"], variant=params["variant"], estimator=window)


rule_params = st.fixed_dictionaries(
    {
        "window": st.integers(1, 4),
        "safety": st.sampled_from([0.5, 0.9, 1.0]),
        "gp": st.sampled_from([1.0, 5.0]),
        "variant": st.sampled_from(["u", "basic"]),
        "threshold_s": st.sampled_from([0.0, 3.0, 10.0]),
    }
)


class RuleMachine(RuleBasedStateMachine):
    """One rule against its model, over a random sequence of calls."""

    @initialize(kind=st.sampled_from(["bba", "throughput", "bola", "dynamic"]), params=rule_params)
    def setup(self, kind: str, params: dict[str, Any]) -> None:
        self.rule, self.model = make_rule(kind, params), make_model(kind, params)

    @rule(m=manifests(max_segments=12), cap_segments=st.integers(1, 8))
    def start(self, m: Manifest, cap_segments: int) -> None:
        cap = cap_segments * m.segment_duration_ms
        self.rule.start(m, cap)
        self.model.start(m, cap)

    @rule(buffer=st.floats(0, 1), data=st.data())
    def choose(self, buffer: float, data: st.DataObject) -> None:
        if not self.model.started:
            with pytest.raises(StreamingError, match="start"):
                self.rule.choose(SessionState(manifest=Manifest(1000, [1], [[1]]), buffer_cap_ms=1))
            return
        m = self.model.m
        segment = data.draw(st.integers(0, m.segment_count - 1))
        level = buffer * self.model.cap  # the boundaries: 0 and the cap itself
        last = data.draw(st.one_of(st.none(), st.integers(0, m.rungs - 1)))
        state = SessionState(manifest=m, buffer_cap_ms=self.model.cap, segment=segment)
        state.buffer_ms, state.last_rung = level, last
        if self.model.kind == "dynamic":
            assert self.rule.choose(state) == self.model.choose(level, segment, last)
            assert self.rule.using_bola == self.model.using_bola
        else:  # the other rules read neither the state's last rung nor its measurements
            assert self.rule.choose(state) == self.model.choose(level, segment)

    @precondition(lambda self: self.model.started)
    @rule(
        data=st.data(),
        kbps=st.floats(1, 20_000),
        latency=st.floats(0, 500),
        abandoned=st.booleans(),
    )
    def observe(self, data: st.DataObject, kbps: float, latency: float, abandoned: bool) -> None:
        top = self.model.m.rungs - 1
        rung = data.draw(st.integers(0, top + 3 if abandoned else top))
        took = 1e6 / kbps
        d = Download(0, rung, 1e6, latency + took, latency, kbps, 0.0, abandoned)
        self.rule.observe(d)  # an abandoned attempt's rung is never played: no rule reads it
        self.model.observe(d)

    @precondition(lambda self: self.model.started)
    @rule(past=st.integers(1, 3), kbps=st.floats(1, 20_000))
    def observe_past_the_top(self, past: int, kbps: float) -> None:
        """A finished download of a rung the ladder lacks: refused with nothing changed, or
        (a throughput rule, which reads no rung) taken as a throughput sample."""
        rung = self.model.m.rungs - 1 + past
        d = Download(0, rung, 1e6, 1e6 / kbps, 0.0, kbps, 0.0)
        try:
            self.rule.observe(d)
        except StreamingError as exc:
            assert f"rung={rung}" in str(exc)
            return
        assert self.model.kind != "bba", "BBA took a rung its ladder lacks"
        self.model.observe(d)

    @rule(value=st.sampled_from([None, 3, "state", object()]))
    def refused_choose(self, value: object) -> None:
        with pytest.raises(StreamingError):
            self.rule.choose(value)
        with pytest.raises(StreamingError):
            self.rule.observe(value)

    @invariant()
    def estimates_agree(self) -> None:
        if self.model.started and self.model.kind != "bba":
            est = self.model.estimate()
            rule = self.rule.throughput if self.model.kind == "dynamic" else self.rule
            got = rule.estimator.throughput_kbps, rule.estimator.latency_ms
            assert got == ((None, None) if est is None else est)


RuleMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_rules_against_their_formulas = RuleMachine.TestCase


def test_bba_refuses_a_download_of_a_rung_its_ladder_lacks() -> None:
    """Observing rung ``rungs + 1`` used to be kept as the previous rung, and the next choice
    in the hysteresis band then read past the ladder (an IndexError)."""
    m = Manifest(3000, [300, 750, 1200, 2850], [[9e5, 2.25e6, 3.6e6, 8.55e6]] * 10)
    bba = BBA()
    bba.start(m, 25_000.0)
    bba.choose(SessionState(manifest=m, buffer_cap_ms=25_000.0, buffer_ms=12_000.0))
    before = dict(vars(bba))
    with pytest.raises(StreamingError, match=r"rung=5 .*4 rungs"):
        bba.observe(Download(0, m.rungs + 1, 1e6, 1000.0, 100.0, 1100.0, 3000.0))
    assert vars(bba) == before
    state = SessionState(manifest=m, buffer_cap_ms=25_000.0, buffer_ms=12_000.0)
    assert 0 <= bba.choose(state) < m.rungs


# --- the session, against a plain walk over the log -------------------------------------------


def plain_session(
    m: Manifest, periods: list[tuple[float, float, float]], rungs: list[int], cap: float
) -> dict[str, Any]:
    """Sabre's player, walked period by period with no shortcut: a request waits one latency
    (counted in latency units across periods), receives its bits at each period's bandwidth,
    and the buffer drains in real time, waits at its cap and stalls when empty."""
    durations = [p[0] for p in periods]
    i, left = 0, durations[0]

    def advance() -> None:
        nonlocal i, left
        i = (i + 1) % len(periods)
        left = durations[i]

    def wait(ms: float) -> None:
        nonlocal left
        while ms > left:
            ms -= left
            advance()
        left -= ms

    def latency() -> float:
        nonlocal left
        units, total = 1.0, 0.0
        while units > 0.0:
            lat = periods[i][2]
            if units * lat <= left:
                left -= units * lat
                return total + units * lat
            total += left
            units -= left / lat
            advance()
        return total

    def transfer(bits: float) -> float:
        nonlocal left
        total = 0.0
        while True:
            bw = periods[i][1]
            if bits <= left * bw:
                left -= bits / bw
                return total + bits / bw
            bits -= left * bw
            total += left
            advance()

    seg = m.segment_duration_ms
    level, stalls, after = 0.0, [], []
    startup = played = 0.0
    for n, rung in enumerate(rungs):
        if n and level + seg > cap:
            played += level + seg - cap
            wait(level + seg - cap)
            level = cap - seg
        elapsed = latency()
        elapsed += transfer(m.segment_sizes_bits[n][rung])
        if n == 0:
            startup = elapsed
        else:
            stalled = max(elapsed - level, 0.0)
            stalls.append(stalled)
            played += elapsed - stalled
            level -= elapsed - stalled
        level += seg
        after.append(level)
    played += level
    return {
        "startup": startup,
        "stalls": stalls,
        "buffer_after": after,
        "played": played,
        "total": startup + played + sum(stalls),
    }


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


_DATA = find_abr_data()


def _logs() -> list[Path]:
    if _DATA is None:
        return []
    return sorted((_DATA / "3g").glob("*.json")) + sorted((_DATA / "4g").glob("*.json"))


def _check_against_plain(
    m: Manifest, periods: list[tuple[float, float, float]], rungs: list[int], cap: float
) -> None:
    trace = Trace(
        [{"duration_ms": d, "bandwidth_kbps": b, "latency_ms": la} for d, b, la in periods]
    )
    got = simulate(m, trace, Replay(rungs), buffer_cap_s=cap / 1000)
    want = plain_session(m, periods, rungs, cap)
    assert got.rungs == rungs
    assert _close(got.startup_s * 1000, want["startup"])
    for level, expected in zip(got.buffer_s, want["buffer_after"], strict=True):
        assert 0 < level * 1000 <= cap + 1e-6 and _close(level * 1000, expected)
    real = [s for s in want["stalls"] if s > 0]
    assert got.rebuffer_count == len(real)
    assert _close(got.rebuffer_s * 1000, sum(want["stalls"]))
    assert all(_close((e - b) * 1000, w) for (b, e), w in zip(got.stalls_s, real, strict=True))
    assert _close(got.played_s, m.duration_s)
    assert _close(want["played"], m.duration_s * 1000)
    assert _close(got.total_time_s * 1000, want["total"])


@pytest.mark.skipif(_DATA is None, reason="the shared abr data folder was not found")
@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    start=st.integers(0, 150),
    count=st.integers(1, 30),
    cap_segments=st.integers(1, 9),
    scale=st.sampled_from([1e-3, 0.05, 1.0, 1.0, 20.0, 1e6]),
)
def test_the_session_matches_a_plain_walk_over_real_logs(
    data: st.DataObject, start: int, count: int, cap_segments: int, scale: float
) -> None:
    """A slice of Big Buck Bunny over a real log, its bandwidth scaled (a hundredth of a
    kbit/s to a million times the measurement) and some periods cut to nothing, each rung the
    lowest, the highest or any: every figure the session reports is the plain walk's."""
    assert _DATA is not None
    full = json.loads((_DATA / "bbb.json").read_text(encoding="utf-8"))
    rows = full["segment_sizes_bits"][start : start + count]
    m = Manifest(full["segment_duration_ms"], full["bitrates_kbps"], rows)
    path = data.draw(st.sampled_from(_logs()))
    log = json.loads(path.read_text(encoding="utf-8"))[:40]
    zeroed = data.draw(st.sets(st.integers(0, len(log) - 1), max_size=len(log) // 2))
    periods = [
        (float(p["duration_ms"]), 0.0 if k in zeroed else p["bandwidth_kbps"] * scale,
         float(p["latency_ms"]))
        for k, p in enumerate(log)
    ]  # fmt: skip
    if not any(b > 0 for _, b, _ in periods):
        periods[0] = (periods[0][0], 1000.0, periods[0][2])
    top = m.rungs - 1
    rung = st.one_of(st.just(0), st.just(top), st.integers(0, top))
    rungs = data.draw(st.lists(rung, min_size=count, max_size=count))
    _check_against_plain(m, periods, rungs, cap_segments * m.segment_duration_ms)


@pytest.mark.skipif(_DATA is None, reason="the shared abr data folder was not found")
@pytest.mark.parametrize("net", ["3g", "4g"])
def test_every_rule_on_every_real_log_is_the_plain_walk(net: str) -> None:
    """Whatever a rule chose on a real log, the session's figures are those of the plain walk
    over the same choices (60 segments, the default 25 s buffer)."""
    from designpatterns_ref.streaming import algorithms

    assert _DATA is not None
    full = json.loads((_DATA / "bbb.json").read_text(encoding="utf-8"))
    m = Manifest(
        full["segment_duration_ms"], full["bitrates_kbps"], full["segment_sizes_bits"][:60]
    )
    for path in sorted((_DATA / net).glob("*.json")):
        log = json.loads(path.read_text(encoding="utf-8"))
        periods = [(p["duration_ms"], p["bandwidth_kbps"], p["latency_ms"]) for p in log]
        for algo in algorithms():
            trace = Trace(log, name=path.stem)
            rungs = simulate(m, trace, algo).rungs
            _check_against_plain(m, periods, rungs, 25_000.0)
