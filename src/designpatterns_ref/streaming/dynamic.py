"""DYNAMIC: throughput rule at low buffer, BOLA once the buffer is built (the DASH player's rule).

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

Rule (Spiteri, Sitaraman and Sparacio, MMSys 2018, shipped in dash.js as the "dynamic" ABR
strategy): run both :class:`~designpatterns_ref.streaming.throughput.ThroughputRule` and
:class:`~designpatterns_ref.streaming.bola.Bola` on every segment; use the throughput rule until
the buffer exceeds ``threshold_s`` and BOLA's choice is at least the throughput rule's, then use
BOLA until the buffer falls below the threshold while BOLA picks lower. Throughput rules react
fast when the buffer is small (startup, after a seek); BOLA is steadier when it is large.

Parameters and defaults (the paper's and Sabre's): ``threshold_s = 10``, BOLA with ``gp = 5``
(BOLA-U), the throughput rule with safety 0.9 and an EWMA of half-lives 3 s and 8 s.
It wins on average across networks: the fast start of throughput rules and the few stalls of
BOLA; it inherits BOLA's lag when throughput rises sharply.

Complexity: O(rungs) per decision (both rules run).

>>> from designpatterns_ref.streaming.base import Manifest, Trace
>>> from designpatterns_ref.streaming.session import simulate
>>> movie = Manifest(2000, [500, 1000, 2000], [[1e6, 2e6, 4e6]] * 30)
>>> simulate(movie, Trace.constant(5000), Dynamic()).rungs[-1]
2
"""

from __future__ import annotations

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import (
    Download,
    Manifest,
    SessionState,
    StreamingTypeError,
    check_download,
    check_number,
    check_start,
    check_state,
    not_started,
)
from designpatterns_ref.streaming.bola import Bola
from designpatterns_ref.streaming.throughput import ThroughputRule

__all__ = ["Dynamic"]


class Dynamic:
    """Switch between a throughput rule (low buffer) and BOLA (high buffer)."""

    def __init__(
        self,
        threshold_s: float = 10.0,
        *,
        bola: Bola | None = None,
        throughput: ThroughputRule | None = None,
    ) -> None:
        self.threshold_ms = check_number("threshold_s", threshold_s, limit=1e6) * 1000.0
        if bola is not None and not isinstance(bola, Bola):
            raise StreamingTypeError(f"bola={shown(bola)} must be a Bola or None")
        if throughput is not None and not isinstance(throughput, ThroughputRule):
            raise StreamingTypeError(
                f"throughput={shown(throughput)} must be a ThroughputRule or None"
            )
        self.bola = bola if bola is not None else Bola()
        self.throughput = throughput if throughput is not None else ThroughputRule()
        self.name = "dynamic"
        self.using_bola = False
        self.bola_segments = 0
        self._started = False

    def start(self, manifest: Manifest, buffer_cap_ms: float) -> None:
        check_start(manifest, buffer_cap_ms)
        self.bola.start(manifest, buffer_cap_ms)
        self.throughput.start(manifest, buffer_cap_ms)
        self.using_bola = False
        self.bola_segments = 0
        self._started = True

    def choose(self, state: SessionState) -> int:
        if state.__class__ is not SessionState:
            check_state(state)
        if not self._started:
            raise not_started(self.name)
        if state.last_rung is None:  # nothing measured yet: both rules say rung 0
            return 0
        b = self.bola.choose(state)
        t = self.throughput.choose(state)
        level = state.buffer_ms
        if self.using_bola:
            if level < self.threshold_ms and b < t:
                self.using_bola = False
        elif level > self.threshold_ms and b >= t:
            self.using_bola = True
        self.bola_segments += self.using_bola
        return b if self.using_bola else t

    def observe(self, download: Download) -> None:
        if download.__class__ is not Download:
            check_download(download)
        self.bola.observe(download)
        self.throughput.observe(download)
