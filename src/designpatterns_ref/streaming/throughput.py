"""Throughput-based bitrate choice, with sliding-window and EWMA estimates and a safety factor.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

Rule: measure every download's throughput ``bits / (time - latency)``; estimate the next one;
take the highest rung ``q`` with ``latency + T * R_q / (safety * estimate) <= T`` (``T`` the
segment duration), i.e. the highest bitrate that downloads in real time with a margin.

Estimators (Sabre's, Spiteri et al. MMSys 2018):

- :class:`SlidingWindow`: the mean of the last ``window`` samples (default 3);
- :class:`Ewma`: exponentially weighted means whose weight halves every ``half_life`` seconds
  of download time, bias-corrected for the first samples, the most conservative (lowest) of two
  half-lives, 3 s and 8 s, by default; the latency estimate is the highest of the matching EWMAs.

:class:`ThroughputRule` parameters and defaults (Sabre's and dash.js's): ``safety=0.9``; the
insufficient-buffer rule caps the segment size at ``f * (buffer - latency) * estimate`` bits,
with ``f`` starting at 0.9 and falling by a factor 0.9 per segment to 0.5, so a low buffer cannot
be spent on a big segment. It wins when throughput is stable and its history predicts it
(4G, wired). On the shared 3G logs it stalls and switches the least of this family's rules (the
EWMA estimate most so), since it steps down as soon as a download slows, and pays in bitrate:
it stays low after every dip (``dpref bench streaming``).

Complexity: O(window + rungs) per decision (O(half-lives + rungs) with EWMA).

>>> from designpatterns_ref.streaming.base import Manifest, Trace
>>> from designpatterns_ref.streaming.session import simulate
>>> movie = Manifest(2000, [500, 1000, 2000], [[1e6, 2e6, 4e6]] * 20)
>>> simulate(movie, Trace.constant(1500), ThroughputRule()).rungs[-1]
1
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import (
    Download,
    Manifest,
    SessionState,
    StreamingError,
    StreamingTypeError,
    check_download,
    check_int,
    check_list,
    check_measure,
    check_number,
    check_start,
    check_state,
    not_started,
)

__all__ = ["Ewma", "SlidingWindow", "ThroughputEstimator", "ThroughputRule", "rung_for_throughput"]


class ThroughputEstimator(Protocol):
    """Turns past downloads into a throughput (kbps) and a latency (ms) estimate."""

    throughput_kbps: float | None
    latency_ms: float | None

    def reset(self, segment_ms: float) -> None:
        """Forget every sample (a new session)."""

    def push(self, download_ms: float, throughput_kbps: float, latency_ms: float) -> None:
        """Add one download's measurement."""


def _check_sample(
    download_ms: object, throughput_kbps: object, latency_ms: object
) -> tuple[float, float, float]:
    """A sample is a measurement: finite, times ``>= 0``, rate ``> 0``, with no upper limit
    below a float's (a rate measured on a 1e15 kbps link may read 1e15 and a rounding more; a
    download's time less its latency may round to 0 when the transfer is far shorter)."""
    return (
        check_measure("download_ms", download_ms),
        check_measure("throughput_kbps", throughput_kbps, positive=True),
        check_measure("latency_ms", latency_ms),
    )


class SlidingWindow:
    """The mean of the last ``window`` throughput and latency samples.

    >>> w = SlidingWindow(2)
    >>> for t in (1000, 2000, 4000):
    ...     w.push(100, t, 10)
    >>> w.throughput_kbps
    3000.0
    """

    def __init__(self, window: int = 3) -> None:
        self.window = check_int("window", window, minimum=1, maximum=10_000)
        self.throughput_kbps: float | None = None
        self.latency_ms: float | None = None
        self._tputs: deque[float] = deque(maxlen=self.window)
        self._lats: deque[float] = deque(maxlen=self.window)

    def reset(self, segment_ms: float) -> None:
        check_number("segment_ms", segment_ms, strict=True)
        self._tputs.clear()
        self._lats.clear()
        self.throughput_kbps = self.latency_ms = None

    def push(self, download_ms: float, throughput_kbps: float, latency_ms: float) -> None:
        _check_sample(download_ms, throughput_kbps, latency_ms)
        self._tputs.append(throughput_kbps)
        self._lats.append(latency_ms)
        self.throughput_kbps = sum(self._tputs) / len(self._tputs)
        self.latency_ms = sum(self._lats) / len(self._lats)


_LN_HALF = math.log(0.5)


class Ewma:
    """Exponentially weighted means, bias-corrected, the lowest over ``half_lives_s``.

    >>> e = Ewma()
    >>> e.reset(3000)
    >>> e.push(1000, 2000, 50)
    >>> round(e.throughput_kbps, 6)
    2000.0
    """

    def __init__(self, half_lives_s: Sequence[float] = (3.0, 8.0)) -> None:
        if isinstance(half_lives_s, str | bytes) or not isinstance(half_lives_s, Sequence):
            raise StreamingTypeError(
                f"half_lives_s={shown(half_lives_s)} must be a list of seconds"
            )
        if not half_lives_s:
            raise StreamingError("half_lives_s=() must list at least one half-life")
        self.half_lives_ms = tuple(
            check_number(f"half_lives_s[{i}]", h, strict=True, limit=1e9) * 1000.0
            for i, h in enumerate(half_lives_s)
        )
        self.throughput_kbps: float | None = None
        self.latency_ms: float | None = None
        self.reset(1000.0)

    def reset(self, segment_ms: float) -> None:
        segment_ms = check_number("segment_ms", segment_ms, strict=True)
        n = len(self.half_lives_ms)
        # the latency EWMA's weight halves every half-life counted in segments: its decay per
        # segment is 0.5 ** x with x = segment / half-life (kept as x: half-life / segment may
        # round to 0 or inf at the extremes, x stays one division)
        self._lat_steps = [segment_ms / h for h in self.half_lives_ms]
        self._tput = [0.0] * n  # the bias-corrected estimates themselves
        self._lat = [0.0] * n
        self._weight_ms = 0.0
        self._count = 0
        self.throughput_kbps = self.latency_ms = None

    def push(self, download_ms: float, throughput_kbps: float, latency_ms: float) -> None:
        """Add a sample. Each bias-corrected mean moves towards it by the sample's share of
        the weight seen so far, ``(1 - 0.5 ** x) / (1 - 0.5 ** total)`` (``x`` the sample's
        weight in half-lives, ``total`` every sample's), which is the ratio of the paper's
        weighted sum to its correction. Both are ``-expm1(... ln 0.5)``, exact for tiny
        weights; the share is at most 1, so an estimate stays within its samples' range, and a
        sample when nothing was weighed yet is the estimate."""
        download_ms, throughput_kbps, latency_ms = _check_sample(
            download_ms, throughput_kbps, latency_ms
        )
        self._weight_ms += download_ms
        self._count += 1
        for i, half in enumerate(self.half_lives_ms):
            fresh = -math.expm1(download_ms / half * _LN_HALF)
            seen = -math.expm1(self._weight_ms / half * _LN_HALF)
            self._tput[i] = _toward(self._tput[i], throughput_kbps, fresh, seen)
            step = self._lat_steps[i]
            fresh = -math.expm1(step * _LN_HALF)
            seen = -math.expm1(self._count * step * _LN_HALF)
            self._lat[i] = _toward(self._lat[i], latency_ms, fresh, seen)
        self.throughput_kbps, self.latency_ms = min(self._tput), max(self._lat)


def _toward(estimate: float, sample: float, fresh: float, seen: float) -> float:
    """``estimate`` moved towards ``sample`` by its share ``fresh / seen`` of the weight seen
    (the whole way when nothing was weighed yet), never past either end by a rounding."""
    if seen <= 0.0 or fresh >= seen:
        return sample
    moved = estimate + fresh / seen * (sample - estimate)
    return min(max(moved, min(estimate, sample)), max(estimate, sample))


def rung_for_throughput(
    bitrates_kbps: Sequence[float], segment_ms: float, throughput_kbps: float, latency_ms: float
) -> int:
    """The highest rung whose segment downloads within its own duration (rung 0 at least)."""
    rates = [
        check_number(f"bitrates_kbps[{i}]", r, strict=True)
        for i, r in enumerate(check_list("bitrates_kbps", bitrates_kbps, min_len=1))
    ]
    return _rung_for_throughput(
        rates,
        check_number("segment_ms", segment_ms, strict=True),
        check_number("throughput_kbps", throughput_kbps, strict=True),
        check_number("latency_ms", latency_ms),
    )


def _rung_for_throughput(
    bitrates_kbps: Sequence[float], segment_ms: float, throughput_kbps: float, latency_ms: float
) -> int:
    q = 0
    while (
        q + 1 < len(bitrates_kbps)
        and latency_ms + segment_ms * bitrates_kbps[q + 1] / throughput_kbps <= segment_ms
    ):
        q += 1
    return q


def _estimator(value: object) -> ThroughputEstimator:
    if value is None:
        return Ewma()
    if not all(callable(getattr(value, m, None)) for m in ("reset", "push")):
        raise StreamingTypeError(f"estimator={shown(value)} must be a SlidingWindow, Ewma or None")
    return value  # type: ignore[return-value]


class ThroughputRule:
    """Pick the highest rung the (safety-scaled) throughput estimate sustains."""

    def __init__(
        self,
        estimator: ThroughputEstimator | None = None,
        *,
        safety: float = 0.9,
        insufficient_buffer_rule: bool = True,
    ) -> None:
        self.estimator = _estimator(estimator)
        self.safety = check_number("safety", safety, strict=True, limit=1.0)
        if not isinstance(insufficient_buffer_rule, bool):
            raise StreamingTypeError(
                f"insufficient_buffer_rule={shown(insufficient_buffer_rule)} must be a bool"
            )
        self.insufficient_buffer_rule = insufficient_buffer_rule
        kind = type(self.estimator).__name__.lower()
        self.name = f"throughput-{kind}"
        self._ibr = 0.9
        self._bitrates: tuple[float, ...] = ()
        self._seg = 1.0
        self._started = False

    def start(self, manifest: Manifest, buffer_cap_ms: float) -> None:
        check_start(manifest, buffer_cap_ms)
        self.estimator.reset(manifest.segment_duration_ms)
        self._bitrates, self._seg = manifest.bitrates_kbps, manifest.segment_duration_ms
        self._ibr = 0.9
        self._started = True

    def choose(self, state: SessionState) -> int:
        if state.__class__ is not SessionState:
            check_state(state)
        if not self._started:
            raise not_started(self.name)
        tput, lat = self.estimator.throughput_kbps, self.estimator.latency_ms
        if tput is None or lat is None:
            return 0
        rates, seg = self._bitrates, self._seg
        q = _rung_for_throughput(rates, seg, tput * self.safety, lat)
        if self.insufficient_buffer_rule:
            return self._cap_by_buffer(q, state.buffer_ms, tput, lat)
        return q

    def _cap_by_buffer(self, q: int, buffer_ms: float, tput: float, lat: float) -> int:
        safe_bits = self._ibr * (buffer_ms - lat) * tput
        self._ibr = max(self._ibr * 0.9, 0.5)
        rates, seg = self._bitrates, self._seg
        for lower in range(q):
            if rates[lower + 1] * seg > safe_bits:
                return lower
        return q

    def observe(self, download: Download) -> None:
        if download.__class__ is not Download:
            check_download(download)
        if not download.abandoned and math.isfinite(download.throughput_kbps):
            self.estimator.push(
                download.time_ms - download.latency_ms,
                download.throughput_kbps,
                download.latency_ms,
            )
