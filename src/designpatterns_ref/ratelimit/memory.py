"""The base class of the in-memory rate limiters: locking, cost checks, per-key state, sweeps.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

The in-memory limiters share :class:`MemoryLimiter`: one lock per limiter (so an instance may be
shared between threads), a dictionary of per-key state, and a lazy sweep that forgets idle keys
when the dictionary has doubled since the last sweep (amortised O(1) per new key, no background
thread). A key is *idle* when its state is indistinguishable from a key never seen, so
forgetting it never changes a decision, as long as the clock does not later read earlier
than the sweep did: a sweep reads the clock, and a key it found idle then is met as new by a
clock stepped back past it, where a key kept would stand still at its last decision (the
algorithms treat a clock that steps back as time standing still, per key). No rule of
forgetting can avoid that without keeping the key; a clock that steps back by more than the
time between sweeps may therefore admit a forgotten key's whole allowance again.

:class:`BucketLimiter` and :class:`WindowLimiter` add the two shapes of limit (a rate with a
burst, a count per window); each algorithm module subclasses one of them.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Hashable
from typing import Any

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.ratelimit.base import (
    UNIT_COST,
    Decision,
    RateLimitError,
    bad_key,
    check_cost,
    check_count,
    check_positive,
    check_rate_per_burst,
    clock_time,
    exact,
    settle,
)

__all__ = ["Acquiring", "BucketLimiter", "MemoryLimiter", "WindowLimiter"]

#: Keys tracked before the first sweep for idle keys; later sweeps run when the count doubles.
MIN_SWEEP = 1024


class Acquiring:
    """Gives a limiter with ``allow`` the blocking :meth:`acquire` and :meth:`acquire_async`
    (:mod:`.blocking`: wait out ``retry_after`` rather than be refused)."""

    __slots__ = ()

    def acquire(self, key: Hashable, cost: int = 1, *, timeout: float | None = None) -> Decision:
        """Wait out refusals for at most ``timeout`` seconds (None: as long as needed); the
        admitting decision, or the last refusal, having consumed nothing
        (:func:`~designpatterns_ref.ratelimit.blocking.acquire`)."""
        from designpatterns_ref.ratelimit.blocking import acquire

        return acquire(self, key, cost, timeout=timeout)

    async def acquire_async(
        self, key: Hashable, cost: int = 1, *, timeout: float | None = None
    ) -> Decision:
        """:meth:`acquire` for asyncio, waiting with ``asyncio.sleep``."""
        from designpatterns_ref.ratelimit.blocking import acquire_async

        return await acquire_async(self, key, cost, timeout=timeout)


class MemoryLimiter(Acquiring):
    """Base of the in-memory limiters: locking, cost checks, per-key state, idle sweeps.

    A subclass implements ``_decide(key, cost, now, commit)`` (the algorithm, called with the
    lock held; it must not change anything when ``commit`` is false or when it denies) and
    ``_idle(state, now)`` (true when ``state`` behaves exactly like a key never seen).
    """

    __slots__ = ("_lock", "_max_cost", "_span", "_states", "_sweep_at", "clock", "limit")

    def __init__(self, limit: int, clock: Clock | None) -> None:
        limit = check_count(type(self).__name__, "limit", limit)
        if clock is not None and not callable(clock):
            raise RateLimitError(f"{type(self).__name__}: clock={shown(clock)} must be callable")
        self.clock: Clock = clock if clock is not None else time.monotonic
        self.limit = limit
        self._max_cost = limit
        self._lock = threading.Lock()
        self._states: dict[Hashable, Any] = {}
        self._sweep_at = MIN_SWEEP
        self._span = 1.0  # the algorithm's own length of time, which sizes a correction

    # The algorithm -----------------------------------------------------------------------
    def _decide(self, key: Hashable, cost: int, now: float, commit: bool) -> Decision:
        raise NotImplementedError

    def _idle(self, state: Any, now: float) -> bool:
        raise NotImplementedError

    def _to_row(self, state: Any) -> Any:
        """A key's state as a SQLite row holds it (JSON): the state itself, by default."""
        return state

    def _from_row(self, value: Any) -> Any:
        """The state in a SQLite row's JSON value; None for a row of an older form, which the
        decision then meets as a key never seen."""
        return value

    def _admits(self, state: Any, cost: int, t: float) -> bool:
        """Whether the decision's arithmetic, replayed at time ``t`` on the stored ``state``,
        admits ``cost`` (what a refused request's retry time is checked with)."""
        raise NotImplementedError

    def _settle(self, state: Any, cost: int, at: float) -> float:
        """A refused request's retry time when even the corrected closed form ``at`` did not
        pass the replay of the decision: the search (:func:`settle`). A method of its own, so
        that the hot paths hold no closure."""
        return settle(lambda t: self._admits(state, cost, t), at)

    # The interface -----------------------------------------------------------------------
    def allow(self, key: Hashable, cost: int = 1) -> Decision:
        """Admit or deny a request of ``cost`` units for ``key``, consuming on admission."""
        if cost is not UNIT_COST and (
            cost.__class__ is not int or cost < 1 or cost > self._max_cost
        ):
            cost = check_cost(type(self).__name__, cost, self._max_cost)
        lock = self._lock
        lock.acquire()
        try:
            now = self.clock()
            if type(now) is not float:
                now = clock_time(type(self).__name__, now)
            return self._decide(key, cost, now, True)
        except TypeError as exc:
            raise bad_key(type(self).__name__, key, exc) from None
        finally:
            lock.release()

    def peek(self, key: Hashable, cost: int = 1) -> Decision:
        """What :meth:`allow` would answer now, consuming nothing."""
        if cost is not UNIT_COST and (
            cost.__class__ is not int or cost < 1 or cost > self._max_cost
        ):
            cost = check_cost(type(self).__name__, cost, self._max_cost)
        with self._lock:
            try:
                now = self.clock()
                if type(now) is not float:
                    now = clock_time(type(self).__name__, now)
                return self._decide(key, cost, now, False)
            except TypeError as exc:
                raise bad_key(type(self).__name__, key, exc) from None

    def reset(self, key: Hashable) -> None:
        """Forget ``key``: its next request meets a full allowance."""
        with self._lock:
            try:
                self._states.pop(key, None)
            except TypeError as exc:
                raise bad_key(type(self).__name__, key, exc) from None

    def tracked_keys(self) -> int:
        """How many keys hold state right now (idle ones are forgotten lazily)."""
        return len(self._states)

    def forget_idle(self) -> int:
        """Forget every idle key now; return how many were forgotten (no decision changes,
        unless the clock later reads earlier than now: see the module's docstring)."""
        with self._lock:
            # NaN or an infinity would forget, or keep, the wrong keys
            return self._sweep(read_seconds(self.clock, RateLimitError, type(self).__name__))

    def _remember(self, key: Hashable, state: object, now: float) -> None:
        """Store the state of a new key, sweeping idle keys first when the table has doubled."""
        states = self._states
        if len(states) >= self._sweep_at:
            self._sweep(now)
        states[key] = state

    def _sweep(self, now: float) -> int:
        states, idle = self._states, self._idle
        gone = [key for key, state in states.items() if idle(state, now)]
        for key in gone:
            del states[key]
        self._sweep_at = max(MIN_SWEEP, 2 * len(states))
        return len(gone)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} limit={self.limit} keys={len(self._states)}>"


class BucketLimiter(MemoryLimiter):
    """Base of the limiters set by ``rate`` units per ``per`` seconds with bursts up to
    ``burst`` (the token bucket, GCRA, and the leaky bucket as meter and as queue).

    It checks the three numbers (``burst`` defaults to ``rate`` rounded down) and then calls
    ``_derive()``, where each algorithm computes the constants its hot path reads.
    """

    __slots__ = ("burst", "per", "rate")

    def __init__(
        self,
        rate: float,
        per: float = 1.0,
        burst: int | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        owner = type(self).__name__
        self.rate, self.per, self.burst = check_rate_per_burst(owner, rate, per, burst)
        speed, interval = self.rate / self.per, self.per / self.rate
        if not (0.0 < speed < math.inf and 0.0 < self.burst * interval < math.inf):
            raise RateLimitError(
                f"{owner}: rate={shown(rate)} per {shown(per)} seconds with burst={self.burst} is "
                "out of "
                "range: units per second, and seconds to fill a burst, must be positive and "
                "finite as doubles"
            )
        super().__init__(self.burst, clock)
        self._derive()

    def _derive(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(rate={exact(self.rate)}, per={exact(self.per)}, burst={self.burst})"


class WindowLimiter(MemoryLimiter):
    """Base of the limiters set by at most ``rate`` units per window of ``per`` seconds (the
    fixed window, the sliding log and the sliding counter)."""

    __slots__ = ("per", "rate")

    def __init__(self, rate: int, per: float = 1.0, *, clock: Clock | None = None) -> None:
        self.rate = check_count(type(self).__name__, "rate", rate)
        self.per = check_positive(type(self).__name__, "per", per)
        super().__init__(self.rate, clock)
        self._span = self.per

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rate={self.rate}, per={exact(self.per)})"
