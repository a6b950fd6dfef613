"""The player simulator: one session of a title over a network log, at the level of Sabre.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

The model is Sabre's (Spiteri, Sitaraman and Sparacio, MMSys 2018). Segments download one at a
time; a download first waits one request latency, then receives its bits at the bandwidth of
each network period it spans (a period of zero bandwidth just passes). The playback buffer grows
by one segment duration per download and drains in real time; when it would pass its cap the
player waits before the next request. The first segment's arrival starts playback; afterwards
an empty buffer is a stall (rebuffering), counted once per episode. Optionally a download that is
about to stall is abandoned for a lower rung (our rule, see :func:`simulate`).

Where Sabre and this model agree by construction (no abandonment, no segment replacement, first
segment at rung 0 because no estimate exists yet) the reported figures are Sabre's: rebuffer time
and count, total play time, time-average played bitrate, total bitrate change. Differences on
purpose are listed in the case study page.

Complexity: O(segments x (rungs + periods spanned per download)) per session.

>>> from designpatterns_ref.streaming.base import Manifest, Trace
>>> movie = Manifest(4000, [1000, 2000], [[4_000_000, 8_000_000]] * 3)
>>> result = simulate(movie, Trace.constant(4000), Fixed(1))
>>> result.startup_s, result.rebuffer_s, result.total_time_s
(2.0, 0.0, 14.0)
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import (
    AbrAlgorithm,
    Download,
    Manifest,
    QoEWeights,
    SessionState,
    StreamingError,
    StreamingTypeError,
    Trace,
    check_download,
    check_int,
    check_number,
    check_start,
    check_state,
    not_started,
)

__all__ = ["Fixed", "Network", "SessionResult", "simulate"]

ABANDON_GRACE_MS = 500.0


class Network:
    """A cursor over a trace: time passes through its periods, wrapping at the end."""

    def __init__(self, trace: Trace) -> None:
        if not isinstance(trace, Trace):
            raise StreamingTypeError(f"trace={shown(trace, 60)} must be a Trace")
        self._durations = [p.duration_ms for p in trace.periods]
        self._bandwidths = [p.bandwidth_kbps for p in trace.periods]
        self._latencies = [p.latency_ms for p in trace.periods]
        self._n = len(self._durations)
        self._cycle_ms = sum(self._durations)
        self._cycle_bits = sum(
            d * b for d, b in zip(self._durations, self._bandwidths, strict=True)
        )
        if self._cycle_bits == 0.0:  # every period's bits round to 0: nothing ever arrives
            raise StreamingError(
                f"trace={shown(trace.name)}: every period's duration_ms x bandwidth_kbps rounds "
                "to 0 bits, so nothing can download"
            )
        # One request latency is one "unit"; a period of d ms at latency L ms serves d / L of
        # it. Over a whole pass the log serves cycle_units; a latency spans 1 / cycle_units
        # passes, each lasting a mean of cycle_ms / cycle_units ms per unit. Both are computed
        # with the durations scaled by the longest, so that no ratio underflows to zero.
        self._latency_passes = 0.0  # a period without latency ends every wait within one pass
        self._mean_latency_ms = 0.0
        if min(self._latencies) > 0.0:
            longest = max(self._durations)
            scaled = [d / longest for d in self._durations]
            units = sum(x / lat for x, lat in zip(scaled, self._latencies, strict=True))
            self._mean_latency_ms = sum(scaled) / units
            self._latency_passes = self._mean_latency_ms / self._cycle_ms  # may be inf
        self.index = 0
        self.left_ms = self._durations[0]
        self.now_ms = 0.0

    def _next(self) -> None:
        self.index = (self.index + 1) % self._n
        self.left_ms = self._durations[self.index]

    def latency(self) -> float:
        """Wait one request latency (measured in the periods it spans); return the time.

        A latency spanning more than two passes over the log skips whole passes first (each
        serves the same part of a latency and lasts the same time, wherever it starts), then
        walks period by period; beyond 2**52 passes the point of the log where it ends is below
        float precision, so it takes the mean and leaves the position as it was.
        """
        units, total = 1.0, 0.0
        passes = self._latency_passes
        if passes > 2.0:
            if passes >= 2.0**52:
                self.now_ms += self._mean_latency_ms
                return self._mean_latency_ms
            whole = math.floor(passes) - 1
            total = whole * self._cycle_ms
            units = (passes - whole) / passes  # exact: whole is within a factor 2 of passes
        while units > 0.0:
            lat = self._latencies[self.index]
            t = units * lat
            if t <= self.left_ms:
                self.left_ms -= t
                total += t
                break
            total += self.left_ms
            units -= self.left_ms / lat
            self._next()
        self.now_ms += total
        return total

    def download(self, bits: float, max_ms: float | None = None) -> tuple[float, float]:
        """Receive up to ``bits``, stopping after ``max_ms``; return (bits received, time)."""
        bits = check_number("bits", bits)
        limit = math.inf if max_ms is None else check_number("max_ms", max_ms)
        return self._download(bits, limit)

    def _download(self, bits: float, max_ms: float = math.inf) -> tuple[float, float]:
        got, total = 0.0, 0.0
        cycles = min(bits / self._cycle_bits, max_ms / self._cycle_ms)
        if cycles > 1000:  # absurdly long: skip whole passes over the log (position unchanged)
            whole = math.floor(cycles) - 1
            got, total = whole * self._cycle_bits, whole * self._cycle_ms
        bws, left, i = self._bandwidths, self.left_ms, self.index
        while got < bits:
            bw = bws[i]
            room = max_ms - total
            step = left if left < room else room
            need = bits - got
            if need <= step * bw:
                t = need / bw
                left -= t
                total += t
                got = bits
                break
            got += step * bw
            total += step
            if step < left:  # the deadline came first
                left -= step
                break
            i = (i + 1) % self._n
            left = self._durations[i]
        self.index, self.left_ms = i, left
        self.now_ms += total
        return got, total

    def delay(self, ms: float) -> None:
        """Let ``ms`` pass without downloading."""
        self._delay(check_number("ms", ms))

    def _delay(self, ms: float) -> None:
        self.now_ms += ms
        if ms > 1000 * self._cycle_ms:  # skip whole passes over the log
            ms -= (math.floor(ms / self._cycle_ms) - 1) * self._cycle_ms
        while ms > self.left_ms:
            ms -= self.left_ms
            self._next()
        self.left_ms -= ms


class Fixed:
    """Always the same rung: the baseline, and the oracle for closed-form tests.

    >>> Fixed(2).name
    'fixed-2'
    """

    def __init__(self, rung: int = 0) -> None:
        self.rung = check_int("rung", rung, maximum=10_000)
        self.name = f"fixed-{self.rung}"
        self._started = False

    def start(self, manifest: Manifest, buffer_cap_ms: float) -> None:
        check_start(manifest, buffer_cap_ms)
        if self.rung >= manifest.rungs:
            raise StreamingError(f"rung={self.rung} must be below the ladder's {manifest.rungs}")
        self._started = True

    def choose(self, state: SessionState) -> int:
        if state.__class__ is not SessionState:
            check_state(state)
        if not self._started:
            raise not_started(self.name)
        return self.rung

    def observe(self, download: Download) -> None:
        if download.__class__ is not Download:
            check_download(download)
        return None


@dataclass
class SessionResult:
    """Everything a session did, and its metrics (times in seconds, rates in kbps)."""

    algorithm: str
    trace: str
    manifest: Manifest
    weights: QoEWeights
    buffer_cap_s: float
    rungs: list[int] = field(default_factory=list)
    request_s: list[float] = field(default_factory=list)
    finish_s: list[float] = field(default_factory=list)
    buffer_s: list[float] = field(default_factory=list)
    startup_s: float = 0.0
    rebuffer_s: float = 0.0
    rebuffer_count: int = 0
    played_s: float = 0.0
    total_time_s: float = 0.0
    max_buffer_s: float = 0.0
    abandoned: int = 0
    wasted_bits: float = 0.0
    #: every stall as (start, end) in session seconds: from the moment the buffer ran dry to the
    #: arrival of the segment that refilled it (their lengths add up to ``rebuffer_s``)
    stalls_s: list[tuple[float, float]] = field(default_factory=list)

    @property
    def bitrates_kbps(self) -> list[float]:
        """The bitrate of every segment, in play order."""
        ladder = self.manifest.bitrates_kbps
        return [ladder[r] for r in self.rungs]

    @property
    def avg_bitrate_kbps(self) -> float:
        """Mean bitrate over the segments (each segment counts once); 0.0 before any segment."""
        rates = self.bitrates_kbps
        return sum(rates) / len(rates) if rates else 0.0

    @property
    def time_avg_bitrate_kbps(self) -> float:
        """Sabre's "time average played bitrate": summed bitrates over session time in segments
        (0.0 for a session of no time, as :attr:`rebuffer_ratio`)."""
        seg_s = self.manifest.segment_duration_ms / 1000.0
        if not self.total_time_s:
            return 0.0
        return sum(self.bitrates_kbps) / (self.total_time_s / seg_s)

    @property
    def switches(self) -> int:
        """How many times consecutive segments differ in rung."""
        r = self.rungs
        return sum(1 for a, b in itertools.pairwise(r) if a != b)

    @property
    def switch_kbps(self) -> float:
        """Total size of the switches: the sum of |bitrate change| (Sabre's bitrate change)."""
        b = self.bitrates_kbps
        return sum(abs(y - x) for x, y in itertools.pairwise(b))

    @property
    def rebuffer_ratio(self) -> float:
        """Stall time over session time (Sabre's rebuffer ratio)."""
        return self.rebuffer_s / self.total_time_s if self.total_time_s else 0.0

    @property
    def qoe(self) -> float:
        """Yin et al.'s QoE of the whole session with this result's weights."""
        w = self.weights
        q = w.utilities(self.manifest.bitrates_kbps)
        vals = [q[r] for r in self.rungs]
        smooth = sum(abs(y - x) for x, y in itertools.pairwise(vals))
        return (
            sum(vals)
            - w.switch * smooth
            - w.rebuffer * self.rebuffer_s
            - w.startup * self.startup_s
        )

    @property
    def qoe_per_segment(self) -> float:
        """:attr:`qoe` divided by the number of segments (comparable across titles); 0.0 before
        any segment."""
        return self.qoe / len(self.rungs) if self.rungs else 0.0

    def summary(self) -> dict[str, float]:
        """The headline metrics as a flat dict."""
        return {
            "qoe_per_segment": self.qoe_per_segment,
            "avg_bitrate_kbps": self.avg_bitrate_kbps,
            "rebuffer_s": self.rebuffer_s,
            "rebuffer_count": float(self.rebuffer_count),
            "rebuffer_ratio": self.rebuffer_ratio,
            "startup_s": self.startup_s,
            "switches": float(self.switches),
            "switch_kbps": self.switch_kbps,
        }


def _check_algorithm(abr: object) -> AbrAlgorithm:
    for attr in ("start", "choose", "observe"):
        if not callable(getattr(abr, attr, None)):
            raise StreamingTypeError(f"abr={shown(abr)} must have a {attr}() method (AbrAlgorithm)")
    if not isinstance(getattr(abr, "name", None), str):
        raise StreamingTypeError(f"abr={shown(abr)} must have a str attribute name")
    return abr  # type: ignore[return-value]


def simulate(
    manifest: Manifest,
    trace: Trace,
    abr: AbrAlgorithm,
    *,
    buffer_cap_s: float = 25.0,
    weights: QoEWeights | None = None,
    abandonment: bool = False,
) -> SessionResult:
    """Play ``manifest`` over ``trace`` choosing rungs with ``abr``; return the session.

    ``buffer_cap_s`` is the largest buffer the player keeps (Sabre's default 25 s; at least one
    segment). A trace that would take more than 1e15 ms to deliver the largest segment is refused
    before ``abr`` is started. With ``abandonment`` a download still running when the buffer runs
    dry (and at least 0.5 s old) is dropped for the highest lower rung whose whole segment would
    arrive before the rest of the current one at the throughput measured so far; its bits are
    wasted. The algorithm observes the abandoned attempt as a :class:`Download` of its own
    (``abandoned=True``: the bits that arrived, the time spent on them, their latency) and then the
    replacement with its own latency and transfer time; the session's measurements
    (``state.throughputs_kbps`` and the rest) hold the replacement only, while the buffer and the
    stall count pay for both.
    """
    if not isinstance(manifest, Manifest):
        raise StreamingTypeError(f"manifest={shown(manifest)} must be a Manifest")
    if not isinstance(trace, Trace):
        raise StreamingTypeError(f"trace={shown(trace)} must be a Trace")
    abr = _check_algorithm(abr)
    seg = manifest.segment_duration_ms
    cap = check_number("buffer_cap_s", buffer_cap_s, strict=True) * 1000.0
    if cap < seg:
        raise StreamingError(
            f"buffer_cap_s={shown(buffer_cap_s)} must hold one segment ({seg / 1000:g} s)"
        )
    if weights is None:
        weights = QoEWeights()
    elif not isinstance(weights, QoEWeights):
        raise StreamingTypeError(f"weights={shown(weights)} must be a QoEWeights")
    if not isinstance(abandonment, bool):
        raise StreamingTypeError(f"abandonment={shown(abandonment)} must be a bool")

    net = Network(trace)
    _check_reachable(manifest, net)
    abr.start(manifest, cap)
    state = SessionState(manifest=manifest, buffer_cap_ms=cap)
    res = SessionResult(abr.name, trace.name, manifest, weights, cap / 1000.0)
    sizes, top = manifest.segment_sizes_bits, manifest.rungs - 1
    level = rebuffer = played = max_level = 0.0
    events = 0
    for index in range(manifest.segment_count):
        if index:
            wait = level + seg - cap
            if wait > 0:  # full buffer: play until one segment fits
                level -= wait
                played += wait
                net._delay(wait)
        # the simulator's own values are valid by construction: set them without the checks
        fields = state.__dict__
        fields["segment"], fields["buffer_ms"], fields["now_ms"] = index, level, net.now_ms
        rung = abr.choose(state)
        if rung.__class__ is not int or not 0 <= rung <= top:
            raise StreamingError(f"{abr.name} chose rung={shown(rung)}; the ladder has 0..{top}")
        request = net.now_ms
        lat = net.latency()
        bits = sizes[index][rung]
        if abandonment and rung > 0:
            rung, bits, lat, took, spent = _maybe_abandon(net, res, abr, index, rung, lat, level)
        else:
            took, spent = net._download(bits)[1], 0.0
        # the abandoned attempt's time plus this download's latency and transfer
        elapsed = spent + lat + took
        if index == 0:
            res.startup_s = elapsed / 1000.0
        elif level >= elapsed:
            level -= elapsed
            played += elapsed
        else:  # the buffer runs dry during this download: one more stall
            events += 1
            rebuffer += elapsed - level
            res.stalls_s.append(((request + level) / 1000.0, (request + elapsed) / 1000.0))
            played += level
            level = 0.0
        level += seg
        if level > max_level:
            max_level = level
        tput = bits / took if took > 0 else math.inf
        state.throughputs_kbps.append(tput)
        state.download_ms.append(took)
        state.latencies_ms.append(lat)
        fields["last_rung"] = rung
        res.rungs.append(rung)
        res.request_s.append(request / 1000.0)
        res.finish_s.append(net.now_ms / 1000.0)
        res.buffer_s.append(level / 1000.0)
        before = max(state.buffer_ms - spent, 0.0)
        abr.observe(Download(index, rung, bits, lat + took, lat, tput, before))
    played += level  # play out what is left
    res.rebuffer_s, res.rebuffer_count = rebuffer / 1000.0, events
    res.played_s, res.max_buffer_s = played / 1000.0, max_level / 1000.0
    res.total_time_s = res.startup_s + (played + rebuffer) / 1000.0
    return res


def _check_reachable(manifest: Manifest, net: Network) -> None:
    """Refuse a title whose largest segment the trace could not deliver within 1e15 ms (some
    31,700 years), the family's limit on a time: every time and rate the session then measures
    is finite."""
    mean_kbps = net._cycle_bits / net._cycle_ms
    largest = max(max(row) for row in manifest.segment_sizes_bits)
    if largest / mean_kbps + net._cycle_ms > 1e15:
        raise StreamingError(
            f"trace mean bandwidth_kbps={mean_kbps:g} would take {largest / mean_kbps:g} ms for "
            f"the largest segment ({largest:g} bits); at most 1e15 ms is allowed"
        )


def _maybe_abandon(
    net: Network,
    res: SessionResult,
    abr: AbrAlgorithm,
    index: int,
    rung: int,
    lat: float,
    level: float,
) -> tuple[int, float, float, float, float]:
    """Download segment ``index`` at ``rung``, abandoning it for a lower rung if it is about to
    stall. Return the rung that arrived, its bits, its own latency and transfer time, and the
    time spent on an abandoned attempt before it (0 if none). An abandoned attempt is reported
    to ``abr`` as a :class:`Download` of its own with ``abandoned=True``."""
    sizes = res.manifest.segment_sizes_bits[index]
    bits = sizes[rung]
    check = max(level - lat, ABANDON_GRACE_MS - lat, 0.0)
    got, took = net._download(bits, check)
    if got >= bits or took <= 0:
        if got < bits:
            took += net._download(bits - got)[1]
        return rung, bits, lat, took, 0.0
    tput = got / took
    remaining = bits - got
    for lower in range(rung - 1, -1, -1):
        if sizes[lower] + lat * tput < remaining:
            res.abandoned += 1
            res.wasted_bits += got
            abr.observe(Download(index, rung, got, lat + took, lat, tput, level, abandoned=True))
            lat2 = net.latency()
            took2 = net._download(sizes[lower])[1]
            return lower, sizes[lower], lat2, took2, lat + took
    took += net._download(remaining)[1]
    return rung, bits, lat, took, 0.0
