"""Clocks: the injected time source every time-dependent class takes as ``clock=``.

A :data:`Clock` is any zero-argument callable returning seconds as a float; the default in
the library is :func:`time.monotonic`. :class:`ManualClock` is the deterministic clock for
tests, notebooks and simulations: time moves only when you move it.

Going backwards is refused unless asked for explicitly (``allow_backwards=True``), because a
clock that jumps back is a fault some patterns must be shown handling (Snowflake IDs, leases),
never something that should happen by accident.

>>> clock = ManualClock()
>>> clock()
0.0
>>> clock.advance(1.5)
>>> clock()
1.5
>>> clock.set(1.0)
Traceback (most recent call last):
...
designpatterns_ref.clock.ClockError: ManualClock.set: t=1.0 is before the current time 1.5; ...
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "Clock",
    "ClockError",
    "ManualClock",
    "check_reading",
    "read_seconds",
    "system_clock",
]

#: A time source: a zero-argument callable returning seconds as a float.
Clock = Callable[[], float]


class ClockError(DesignPatternsError, ValueError):
    """A clock was given an invalid time or asked to move backwards without consent."""


#: The library's default clock: :func:`time.monotonic`, in seconds (never steps backwards).
system_clock: Clock = time.monotonic


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClockError(f"ManualClock: {name}={shown(value)} must be a number of seconds")
    try:
        seconds = float(value)
    except OverflowError:  # an int past a float's range
        raise ClockError(f"ManualClock: {name}={shown(value)} is too large for seconds") from None
    if not math.isfinite(seconds):
        raise ClockError(f"ManualClock: {name}={shown(value)} must be finite")
    return seconds


class ManualClock:
    """A clock that moves only when told to: deterministic time for tests and notebooks.

    Call the instance to read the time. It is safe to share between threads.

    >>> clock = ManualClock(start=10.0)
    >>> clock.advance(0.25); clock()
    10.25
    >>> clock.set(9.0, allow_backwards=True); clock()
    9.0
    """

    __slots__ = ("_lock", "_now")

    def __init__(self, start: float = 0.0) -> None:
        self._now = _check_seconds("start", start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    @property
    def now(self) -> float:
        """The current time in seconds."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (zero or more)."""
        step = _check_seconds("seconds", seconds)
        if step < 0:
            raise ClockError(
                f"ManualClock.advance: seconds={shown(seconds)} is negative; "
                "use set(t, allow_backwards=True) to move the clock back"
            )
        with self._lock:
            moved = self._now + step
            if not math.isfinite(moved):  # 1e308 + 1e308: past the largest float
                raise ClockError(
                    f"ManualClock.advance: seconds={shown(seconds)} would move the clock from "
                    f"{shown(self._now)} past the largest float"
                )
            self._now = moved

    def set(self, t: float, *, allow_backwards: bool = False) -> None:
        """Set the clock to ``t``; moving it back needs ``allow_backwards=True``."""
        target = _check_seconds("t", t)
        with self._lock:
            if target < self._now and not allow_backwards:
                raise ClockError(
                    f"ManualClock.set: t={shown(t)} is before the current time {shown(self._now)}; "
                    "pass allow_backwards=True to move the clock back"
                )
            self._now = target

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now!r})"


def read_seconds(clock: Callable[[], object], error: type[Exception], who: str) -> float:
    """One reading of ``clock`` as finite float seconds, or ``error`` naming ``who``.

    Every class that takes ``clock=`` reads it through this (or :func:`check_reading`) before
    the reading touches any state: a NaN makes every time comparison false (expired things
    never expire), an infinity expires everything at once, ``True`` would pass for second 1,
    a str or None fails later with a bare ``TypeError``, and an int past a float's range
    (``10**400``) raises ``OverflowError`` in the middle of an update.

    The common reading, a finite float, costs one type test and one subtraction.

    >>> read_seconds(ManualClock(2.5), ValueError, "Holds.hold")
    2.5
    >>> read_seconds(lambda: 7, ValueError, "Holds.hold")
    7.0
    >>> read_seconds(lambda: float("nan"), ValueError, "Holds.hold")
    Traceback (most recent call last):
    ...
    ValueError: Holds.hold: clock() returned nan; it must return a finite number of seconds
    """
    reading = clock()
    if type(reading) is float and reading - reading == 0.0:  # finite: inf - inf is NaN
        return reading
    return check_reading(reading, error, who)


def check_reading(reading: object, error: type[Exception], who: str) -> float:
    """A clock's ``reading`` as finite float seconds, or ``error`` naming ``who``.

    For a caller that has already called the clock (a hot path that tests ``type(now) is
    float`` itself and comes here only for anything else). An int or float, not a bool, is
    accepted when its float is finite; the result is that float.

    >>> check_reading(3, ValueError, "Lease.renew")
    3.0
    >>> check_reading(True, ValueError, "Lease.renew")
    Traceback (most recent call last):
    ...
    ValueError: Lease.renew: clock() returned True; it must return a finite number of seconds
    >>> check_reading(10**400, ValueError, "Lease.renew")
    Traceback (most recent call last):
    ...
    ValueError: Lease.renew: clock() returned 1000...000...; it must return a finite ...
    """
    if isinstance(reading, int | float) and not isinstance(reading, bool):
        try:
            seconds = float(reading)
        except (OverflowError, TypeError, ValueError):  # past a float's range, or a bad subclass
            pass
        else:
            if type(seconds) is float and math.isfinite(seconds):
                return seconds
    raise error(
        f"{who}: clock() returned {shown(reading, 60)}; it must return a finite number of seconds"
    )
