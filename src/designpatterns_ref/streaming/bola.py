"""BOLA: the rung that maximises a Lyapunov drift-plus-penalty score (Spiteri et al., INFOCOM 2016).

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

Rule: with utilities ``u_q = ln(R_q / R_0)`` and buffer level ``Q`` (seconds of video), choose
``argmax_q (V * (u_q + gp) - Q) / R_q``: the utility bought per bit, penalised by how full the
buffer already is. ``V = (Q_max - T) / (u_max + gp)`` makes the top rung the choice just below
a full buffer and rung 0 the choice near ``gp * V``; between them each rung owns a band of buffer
levels. BOLA is provably within ``O(1/V)`` of the best time-average utility, with no throughput
estimate at all.

Parameters and defaults (Sabre's, MMSys 2018): ``gp = 5`` (gamma times p, where the paper's
gamma weighs rebuffering against utility); ``variant="u"`` is BOLA-U, which never switches up
past one rung above what the throughput estimate sustains (it damps the oscillation the pure
rule shows when throughput sits between two rungs); ``variant="basic"`` is the paper's pure
rule, with neither that guard nor a smaller target near the ends (Sabre's basic mode keeps the
guard and drops only the smaller target: ``Bola(variant="u", shrink_near_ends=False)``).
``shrink_near_ends`` (default: on for BOLA-U, off for basic) aims at a smaller buffer near the
start and end of the title (half the segments from either end, at least 3 segments), as
Sabre's non-basic BOLA does. It wins when
throughput is hard to predict; it starts slowly and, without the U guard, oscillates.

Complexity: O(rungs) per decision.

>>> from designpatterns_ref.streaming.base import Manifest, Trace
>>> from designpatterns_ref.streaming.session import simulate
>>> movie = Manifest(2000, [500, 1000, 2000], [[1e6, 2e6, 4e6]] * 30)
>>> simulate(movie, Trace.constant(5000), Bola()).rungs[-1]
2
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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
    check_number,
    check_start,
    check_state,
    not_started,
)
from designpatterns_ref.streaming.throughput import (
    Ewma,
    ThroughputEstimator,
    _estimator,
    _rung_for_throughput,
)

__all__ = ["Bola", "bola_rung"]


def bola_rung(
    buffer_ms: float, utilities: Sequence[float], bitrates: Sequence[float], v: float, gp: float
) -> int:
    """The pure BOLA choice: ``argmax (v * (u + gp) - buffer) / bitrate`` (lowest on ties)."""
    rates = check_list("bitrates", bitrates, min_len=1)
    us = check_list("utilities", utilities, min_len=len(rates), max_len=len(rates))
    return _bola_rung(
        check_number("buffer_ms", buffer_ms),
        [check_number(f"utilities[{i}]", u, minimum=-1e15) for i, u in enumerate(us)],
        [check_number(f"bitrates[{i}]", r, strict=True) for i, r in enumerate(rates)],
        check_number("v", v, strict=True),
        check_number("gp", gp, minimum=-1e15),
    )


def _bola_rung(
    buffer_ms: float, utilities: Sequence[float], bitrates: Sequence[float], v: float, gp: float
) -> int:
    best, score = 0, -math.inf
    for q, rate in enumerate(bitrates):
        s = (v * (utilities[q] + gp) - buffer_ms) / rate
        if s > score:
            best, score = q, s
    return best


class Bola:
    """BOLA (basic or BOLA-U) over the manifest's log utilities."""

    def __init__(
        self,
        gp: float = 5.0,
        *,
        variant: str = "u",
        shrink_near_ends: bool | None = None,
        estimator: ThroughputEstimator | None = None,
    ) -> None:
        self.gp = check_number("gp", gp, strict=True, limit=1e6)
        if variant not in ("u", "basic"):
            raise StreamingError(f"variant={shown(variant)} must be 'u' or 'basic'")
        if shrink_near_ends is None:
            shrink_near_ends = variant == "u"
        elif not isinstance(shrink_near_ends, bool):
            raise StreamingTypeError(
                f"shrink_near_ends={shown(shrink_near_ends)} must be a bool or None"
            )
        self.variant = variant
        self.shrink_near_ends = shrink_near_ends
        self.estimator = _estimator(estimator) if estimator is not None else Ewma()
        self.name = "bola" if variant == "u" else "bola-basic"
        self._u: tuple[float, ...] = ()
        self._rates: tuple[float, ...] = ()
        self._seg = self._cap = 1.0
        self._segments = 0
        self._last = 0
        self._started = False

    def start(self, manifest: Manifest, buffer_cap_ms: float) -> None:
        check_start(manifest, buffer_cap_ms)
        self.estimator.reset(manifest.segment_duration_ms)
        rates = manifest.bitrates_kbps
        self._u = tuple(math.log(r / rates[0]) for r in rates)
        self._rates, self._seg = rates, manifest.segment_duration_ms
        self._cap, self._segments = buffer_cap_ms, manifest.segment_count
        self._last = 0
        self._started = True

    def v(self, segment: int) -> float:
        """The control parameter ``V`` (ms per unit utility) used for ``segment``."""
        if not self._u:
            raise StreamingError("call start(manifest, buffer_cap_ms) before v()")
        return self._v(check_int("segment", segment, maximum=self._segments))

    def _v(self, segment: int) -> float:
        target = self._cap
        if self.shrink_near_ends:
            t = max(min(segment, self._segments - segment) / 2, 3) * self._seg
            target = min(target, t)
        return (target - self._seg) / (self._u[-1] + self.gp)

    def choose(self, state: SessionState) -> int:
        if state.__class__ is not SessionState:
            check_state(state)
        if not self._started:
            raise not_started(self.name)
        tput, lat = self.estimator.throughput_kbps, self.estimator.latency_ms
        if self.variant == "u" and (tput is None or lat is None):
            return 0
        q = _bola_rung(state.buffer_ms, self._u, self._rates, self._v(state.segment), self.gp)
        if self.variant == "u" and q > self._last and tput is not None and lat is not None:
            sustained = _rung_for_throughput(self._rates, self._seg, tput, lat)
            if q > sustained:
                q = self._last if self._last > sustained else sustained + 1
        self._last = q
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
