"""Independent oracles for the streaming tests: a millisecond-tick replay of a session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from designpatterns_ref.streaming import Download, Manifest, SessionState


class Replay:
    """An algorithm that plays back a given list of rungs (for oracle comparisons)."""

    def __init__(self, rungs: Sequence[int]) -> None:
        self.rungs = list(rungs)
        self.name = "replay"

    def start(self, manifest: Manifest, buffer_cap_ms: float) -> None:
        return None

    def choose(self, state: SessionState) -> int:
        return self.rungs[state.segment]

    def observe(self, download: Download) -> None:
        return None


@dataclass
class Ticked:
    startup_ms: int
    rebuffer_ms: int
    events: int
    played_ms: int
    total_ms: int
    buffer_after_ms: list[int]
    stall_ms: list[int]  # per download: the time stalled while it ran


def tick_session(
    manifest: Manifest, periods: Sequence[tuple[int, int, int]], rungs: Sequence[int], cap_ms: int
) -> Ticked:
    """Replay a session one millisecond at a time (integer periods: duration, kbps, latency).

    Bits arrive per millisecond at the period's bandwidth; a request first waits its latency
    (in latency units, as Sabre counts a latency that spans periods); the buffer plays one
    millisecond per tick once the first segment is in; an empty buffer stalls.
    """
    seg = int(manifest.segment_duration_ms)
    bounds, acc = [], 0
    for d, _, _ in periods:
        acc += d
        bounds.append(acc)
    cycle = acc

    def period_at(t: int) -> tuple[int, int, int]:
        x = t % cycle
        for i, b in enumerate(bounds):
            if x < b:
                return periods[i]
        raise AssertionError

    t = level = stall = events = played = 0
    started = stalled = False
    after: list[int] = []
    stalls: list[int] = []
    startup = 0

    def tick() -> None:
        nonlocal t, level, stall, events, played, stalled
        t += 1
        if not started:
            return
        if level > 0:
            level -= 1
            played += 1
            stalled = False
        else:
            if not stalled:
                events += 1
            stalled = True
            stall += 1

    for i, rung in enumerate(rungs):
        if i:
            while level + seg > cap_ms:
                tick()
        stall_before = stall
        units = 1.0
        while units > 1e-9:
            lat = period_at(t)[2]
            if lat == 0:
                break
            units -= 1.0 / lat
            tick()
        got, size = 0, manifest.segment_sizes_bits[i][rung]
        while got < size:
            got += period_at(t)[1]
            tick()
        if i == 0:
            startup, started = t, True
        level += seg
        stalled = False
        after.append(level)
        stalls.append(stall - stall_before)
    played += level
    return Ticked(startup, stall, events, played, startup + played + stall, after, stalls)
