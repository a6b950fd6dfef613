"""Time counted in units of work: what GCRA and the leaky bucket as a queue keep per key.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Both limiters keep one time per key: GCRA its theoretical arrival time, the queue the time its
backlog drains. Kept in seconds, a burst of unit requests at one instant adds the emission
interval again and again, and the sum can round above ``burst`` intervals, refusing the last
unit of a fresh key's burst. Kept in units of the interval, on the grid :func:`in_units`
rounds the clock to, the same requests add whole numbers and compare whole numbers with the
burst, exactly; the rounding moves the clock by a few ulps of itself. Trade-off: a multiply, an
ulp and a remainder per decision. :class:`UnitTimeLimiter` holds what the two share: the
constants, the idle test and the stored row (``{"units": time}``).
"""

from __future__ import annotations

import math

from designpatterns_ref.ratelimit.base import BucketLimiter

__all__ = ["UnitTimeLimiter", "in_units"]

_ulp = math.ulp


def in_units(now: float, speed: float, reach: float) -> float:
    """The time ``now`` (seconds) counted in units of work, ``speed`` units a second, rounded
    down to the grid on which every whole count up to ``reach`` adds to it exactly.

    GCRA and the leaky queue keep their one time per key in these units, so that requests at
    one instant add whole numbers to it and compare whole numbers with the burst: no rounding,
    so a fresh key always gets its whole burst. The grid is the ulp of ``|now| + reach``
    (a few ulps of the time itself), so the rounding down moves the clock by no more.

    >>> now = in_units(1.7e9 + 0.1, 3 / 0.7, 100.0)
    >>> all((now + k) - now == k for k in range(101))
    True
    """
    now *= speed
    return now - now % _ulp((now if now > 0.0 else -now) + reach)


class UnitTimeLimiter(BucketLimiter):
    """Base of the limiters whose one time per key is counted in units (:func:`in_units`):
    ``_speed`` units a second, ``_interval`` seconds a unit, ``_burst`` units of reach."""

    __slots__ = ("_burst", "_interval", "_speed")

    def _derive(self) -> None:
        self._interval = self.per / self.rate  # seconds one unit occupies
        self._speed = self.rate / self.per  # units a second
        self._burst = float(self.burst)  # how many units ahead the time may run
        self._span = self.burst * self._interval

    def _idle(self, state: float, now: float) -> bool:
        return state <= in_units(now, self._speed, self._burst)

    def _to_row(self, state: float) -> dict[str, float]:
        return {"units": state}

    def _from_row(self, value: object) -> float | None:
        """The key's time in units; None for a bare number: the time in seconds that rows held
        before it was counted in units (read as units it would be wrong, so it is dropped)."""
        if isinstance(value, dict) and isinstance(value.get("units"), float | int):
            return float(value["units"])
        return None
