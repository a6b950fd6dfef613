"""Time counted in units of work: what GCRA and the leaky bucket as a queue keep per key.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Both limiters keep one time per key: GCRA its theoretical arrival time, the queue the time its
backlog drains. Kept in seconds, a burst of unit requests at one instant adds the emission
interval again and again, and the sum can round above ``burst`` intervals, refusing the last
unit of a fresh key's burst. Kept in units of the interval since time zero, the count grows
with the clock: at ``time.time()`` and five million units a second it passes 2^53, where a
double no longer holds every whole number, and a request of one unit adds nothing.

So the time is kept as ``[stamp, lead]``: the clock reading (seconds) of the key's last
admission, and how many units the time runs ahead of it. The units that passed since the
stamp are counted on a fixed grid, the *quantum*: the ulp of ``2 * burst``, a power of two on
which every whole count up to twice the burst is exact (:func:`since`). Every lead is a
multiple of the quantum no larger than the burst, so requests at one instant add whole
numbers to it and compare whole numbers with the burst, exactly, at any clock and any rate.
A clock that reads earlier than the stamp (a wall clock stepped back) is time standing still
for the key, as in the token bucket: the lead is neither earned back nor grown, and the stamp
never moves back. Trade-off: two numbers per key instead of one, and a subtraction, a
multiply and a remainder per decision. :class:`UnitTimeLimiter` holds what the two share:
the constants, the idle test and the stored row (``{"stamp": seconds, "lead": units}``).
"""

from __future__ import annotations

import math

from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit.base import RateLimitError, bad_time
from designpatterns_ref.ratelimit.memory import BucketLimiter

__all__ = ["UnitTimeLimiter", "quantum", "since"]


def quantum(burst: float) -> float:
    """The grid the units are counted on: the ulp of ``2 * burst``, a power of two, so every
    whole number up to twice the burst is a multiple of it, held exactly.

    >>> quantum(1000.0) == 2.0**-42
    True
    """
    _check_finite("quantum", burst=burst)
    if not 0 < burst <= MAX_BURST:
        raise RateLimitError(
            f"quantum: burst={shown(burst)} must be a number above 0 and at most {MAX_BURST}"
        )
    return math.ulp(2.0 * burst)


#: The largest burst :func:`quantum` takes: twice it must stay a finite float.
MAX_BURST = 2.0**1022


def _check_finite(where: str, **values: object) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RateLimitError(f"{where}: {name}={shown(value, 60)} must be a number")
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int past the doubles
            finite = False
        if not finite:
            raise RateLimitError(f"{where}: {name}={shown(value, 60)} must be finite")


def since(t: float, stamp: float, speed: float, grid: float) -> float:
    """The units of work (``speed`` a second) that passed from ``stamp`` to ``t`` (seconds),
    rounded down to a multiple of ``grid`` (negative when the clock stepped back).

    ``grid`` is a power of two, so the rounding is exact, and the same in Lua (whose ``%`` is
    ``a - floor(a / b) * b``) as in Python.

    >>> grid = quantum(100.0)
    >>> lead = 100.0 - since(1.7e9 + 0.1, 1.7e9, 3 / 0.7, grid)
    >>> all((lead + k) - lead == k for k in range(101))
    True
    """
    _check_finite("since", t=t, stamp=stamp, speed=speed, grid=grid)
    if not grid > 0:
        raise RateLimitError(f"since: grid={shown(grid)} must be above 0 (a quantum)")
    passed = (t - stamp) * speed
    if passed - passed:  # NaN or an infinity: a time too far to count in units
        raise RateLimitError(
            f"since: {shown(t)} - {shown(stamp)} s at {shown(speed)} units a second is too "
            "many units to count"
        )
    return passed - passed % grid


class UnitTimeLimiter(BucketLimiter):
    """Base of the limiters whose one time per key is ``[stamp, lead]``: the clock reading of
    the last admission and the units the time runs ahead of it (:func:`since`); ``_speed``
    units a second, ``_interval`` seconds a unit, ``_burst`` units of reach, ``_quantum``
    the grid."""

    __slots__ = ("_burst", "_interval", "_quantum", "_speed")

    def _derive(self) -> None:
        self._interval = self.per / self.rate  # seconds one unit occupies
        self._speed = self.rate / self.per  # units a second
        self._burst = float(self.burst)  # how many units ahead the time may run
        self._quantum = quantum(self._burst)
        self._span = self.burst * self._interval

    def _lead_at(self, state: list[float], t: float) -> float:
        """How many units the key's time runs ahead of ``t`` (0.0 once it is behind)."""
        stamp, lead = state
        if t < stamp:  # a clock that steps back: time stands still for the key
            return lead
        passed = (t - stamp) * self._speed  # since(), inlined
        passed -= passed % self._quantum
        return lead - passed if lead > passed else 0.0

    def _lead_now(self, state: list[float] | None, t: float, who: str) -> float:
        """:meth:`_lead_at` for a decision at ``t``: 0.0 for a key never seen, and a time it
        cannot count (NaN, an infinity, a time too far to count in units) refused as ``who``'s
        error before anything is stored."""
        if state is None:
            if t - t:  # NaN or an infinity
                raise bad_time(who, t)
            return 0.0
        stamp, lead = state
        if t < stamp:  # a clock that steps back: time stands still for the key
            if t - t:  # -inf
                raise bad_time(who, t)
            return lead
        passed = (t - stamp) * self._speed  # since(), inlined
        passed -= passed % self._quantum
        if lead > passed:
            return lead - passed
        if passed - passed:  # NaN, an infinity, or a time too far to count in units
            raise bad_time(who, t)
        return 0.0

    def _admits(self, state: list[float], cost: int, t: float) -> bool:
        """Whether the arithmetic of a decision, replayed at time ``t`` on ``state``, admits."""
        return self._lead_at(state, t) + cost <= self._burst

    def _idle(self, state: list[float], now: float) -> bool:
        return self._lead_at(state, now) == 0.0

    def _to_row(self, state: list[float]) -> dict[str, float]:
        return {"stamp": state[0], "lead": state[1]}

    def _from_row(self, value: object) -> list[float] | None:
        """The key's ``[stamp, lead]``; None for a row of an older form (``{"units": ...}``,
        the time in units since time zero, or a bare number, the time in seconds), which the
        decision meets as a key never seen."""
        if isinstance(value, dict):
            stamp, lead = value.get("stamp"), value.get("lead")
            if isinstance(stamp, float | int) and isinstance(lead, float | int):
                return [float(stamp), float(lead)]
        return None
