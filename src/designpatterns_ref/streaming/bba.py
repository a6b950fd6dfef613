"""BBA: buffer-based adaptation, the rung read off the buffer level (Huang et al., SIGCOMM 2014).

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

Rule (BBA-0): a rate map ``f(B)`` is ``R_min`` up to the *reservoir* ``r``, rises linearly to
``R_max`` across the *cushion* ``cu`` and stays there. With ``R+`` and ``R-`` the rungs just
above and below the previous one: ``B <= r`` gives ``R_min``; ``B >= r + cu`` gives ``R_max``;
``f(B) >= R+`` steps up to the highest rung below ``f(B)``; ``f(B) <= R-`` steps down to the
lowest rung above ``f(B)``; otherwise the previous rung stays (hysteresis, so few switches).
The throughput estimate is never used: the buffer level already integrates it.

Parameters and defaults: the paper's BBA-0 uses ``r = 90 s`` and ``cu = 126 s`` for a 240 s
buffer. Our default scales those fractions (0.375 and 0.525) to the usable buffer, the cap minus
one segment (22 s with Sabre's 25 s cap and 3 s segments: ``r = 8.25 s``, ``cu = 11.55 s``;
the whole cap when it holds a single segment);
pass ``reservoir_s`` and ``cushion_s`` to set them. The paper's fewer stalls come with its
240 s buffer; with Sabre's 25 s cap the reservoir is 8.25 s, too little to ride out an outage at
a high rung, and on the shared 3G logs BBA stalls the most of this family's rules (``dpref bench
streaming``). It also loses bitrate at startup, since it must fill the reservoir at ``R_min``.

Complexity: O(rungs) per decision; no state beyond the previous rung.

>>> rates = (300.0, 750.0, 1200.0, 2850.0)
>>> tuple(bba_rung(b * 1000, 0, rates, 5000, 10000) for b in (2, 6, 9, 12, 16))
(0, 0, 2, 2, 3)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import (
    Download,
    Manifest,
    SessionState,
    StreamingError,
    check_download,
    check_int,
    check_list,
    check_number,
    check_start,
    check_state,
    not_started,
)

__all__ = ["BBA", "bba_rung"]

RESERVOIR_FRACTION = 90 / 240
CUSHION_FRACTION = 126 / 240


def bba_rung(
    buffer_ms: float,
    previous: int,
    bitrates_kbps: Sequence[float],
    reservoir_ms: float,
    cushion_ms: float,
) -> int:
    """BBA-0's choice for a buffer level, given the previous rung (pure function)."""
    rates = check_list("bitrates_kbps", bitrates_kbps, min_len=1)
    ladder = [check_number(f"bitrates_kbps[{i}]", r, strict=True) for i, r in enumerate(rates)]
    if any(b <= a for a, b in itertools.pairwise(ladder)):
        raise StreamingError("bitrates_kbps must be strictly increasing")
    return _bba_rung(
        check_number("buffer_ms", buffer_ms),
        check_int("previous", previous, maximum=len(ladder) - 1),
        ladder,
        check_number("reservoir_ms", reservoir_ms),
        check_number("cushion_ms", cushion_ms, strict=True),
    )


def _bba_rung(
    buffer_ms: float,
    previous: int,
    bitrates_kbps: Sequence[float],
    reservoir_ms: float,
    cushion_ms: float,
) -> int:
    top = len(bitrates_kbps) - 1
    if buffer_ms <= reservoir_ms:
        return 0
    if buffer_ms >= reservoir_ms + cushion_ms:
        return top
    lo, hi = bitrates_kbps[0], bitrates_kbps[top]
    f = lo + (hi - lo) * (buffer_ms - reservoir_ms) / cushion_ms
    up = bitrates_kbps[min(previous + 1, top)]
    down = bitrates_kbps[max(previous - 1, 0)]
    # (At the ends of the ladder R+ or R- is the previous rate itself; the paper's steps would
    # then move the wrong way when f(B) rounds onto it, so the ends only stay.)
    if f >= up and previous < top:
        q = 0
        while q + 1 <= top and bitrates_kbps[q + 1] < f:
            q += 1
        return q
    if f <= down and previous > 0:
        q = top
        while q - 1 >= 0 and bitrates_kbps[q - 1] > f:
            q -= 1
        return q
    return previous


class BBA:
    """Buffer-based adaptation (BBA-0) with a reservoir and a cushion."""

    def __init__(self, reservoir_s: float | None = None, cushion_s: float | None = None) -> None:
        self.reservoir_s = (
            None if reservoir_s is None else check_number("reservoir_s", reservoir_s, limit=1e6)
        )
        self.cushion_s = (
            None
            if cushion_s is None
            else check_number("cushion_s", cushion_s, strict=True, limit=1e6)
        )
        self.name = "bba"
        self._reservoir = self._cushion = 1.0
        self._rates: tuple[float, ...] = ()
        self._previous = 0
        self._started = False

    def start(self, manifest: Manifest, buffer_cap_ms: float) -> None:
        check_start(manifest, buffer_cap_ms)
        seg = manifest.segment_duration_ms
        usable = buffer_cap_ms - seg if buffer_cap_ms > seg else buffer_cap_ms
        reservoir = (
            RESERVOIR_FRACTION * usable if self.reservoir_s is None else self.reservoir_s * 1000
        )
        cushion = CUSHION_FRACTION * usable if self.cushion_s is None else self.cushion_s * 1000
        if cushion <= 0:
            raise StreamingError(
                f"buffer_cap_ms={shown(buffer_cap_ms)} leaves no cushion for BBA: "
                "the cap must exceed one segment, or pass cushion_s"
            )
        self._reservoir, self._cushion = reservoir, cushion
        self._rates = manifest.bitrates_kbps
        self._previous = 0
        self._started = True

    def choose(self, state: SessionState) -> int:
        if state.__class__ is not SessionState:
            check_state(state)
        if not self._started:
            raise not_started(self.name)
        q = _bba_rung(state.buffer_ms, self._previous, self._rates, self._reservoir, self._cushion)
        self._previous = q
        return q

    def observe(self, download: Download) -> None:
        if download.__class__ is not Download:
            check_download(download)
        if download.abandoned:  # an abandoned attempt's rung was not played
            return
        if self._started and download.rung >= len(self._rates):
            # kept as the previous rung, it would be read past the ladder by the next choice
            raise StreamingError(
                f"download.rung={download.rung} must be below the ladder's {len(self._rates)} rungs"
            )
        self._previous = download.rung
