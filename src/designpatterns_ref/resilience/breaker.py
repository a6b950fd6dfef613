"""Circuit breaker: stop calling a dependency that is failing, then probe it carefully.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

The state machine is resilience4j's. **Closed**: calls pass and their outcomes fill a sliding
window (the last N calls, or the last N seconds: :mod:`.window`). Once the window holds at
least ``minimum_calls`` outcomes, the breaker computes the failure rate and the slow-call rate
(percentages); when either reaches its threshold it **opens**: every call fails at once with
:class:`CallNotPermitted` and the dependency gets ``wait_in_open`` seconds of rest. The first
call after the wait moves it to **half-open**: exactly ``half_open_calls`` trial calls pass (the
rest are refused); when all of them have finished, their own rates decide: back to open, or
closed with a fresh window. A trial call that never finishes (it hangs with no timeout; in the
shared Redis breaker, the process holding the permit died) would keep the breaker half-open for
ever, so after ``max_wait_in_half_open`` seconds in half-open the breaker opens again, as if a
timer had fired then (resilience4j's ``maxWaitDurationInHalfOpenState``; the transition is
applied by the next call or outcome, and outcomes of the expired trial calls are dropped). The
only transitions are closed -> open -> half-open -> closed or open, and
:meth:`CircuitBreaker.reset` (manual, to closed).

Which exceptions count as failures is configurable: ``record`` (default: every ``Exception``)
are failures, ``ignore`` count as neither (and give a half-open permit back), any other
exception counts as a success (the dependency answered; the caller made a mistake). A call
that takes more than ``slow_call_duration`` seconds is slow whatever its outcome (strictly more,
as resilience4j counts it: a call of exactly the threshold is not slow). Outcomes of
calls that began before a state change are dropped (they describe the old state).

Trade-off: the breaker turns a slow, failing dependency into a fast failure, which protects
both sides and frees threads, at the price of refusing some calls that would have worked. The
thresholds and the window decide how fast it reacts and how easily it trips on noise.

Thread-safe: one lock guards the window and the state; a closed breaker reads no lock before
the call. Works for sync calls (``call``, ``@breaker``, ``with breaker:``) and coroutines
(``acall``, ``@breaker`` on an ``async def``). State changes go to listeners and counters.

Complexity: O(1) per call (amortised for the time window); memory O(window_size).

>>> from designpatterns_ref.clock import ManualClock
>>> clock = ManualClock()
>>> breaker = CircuitBreaker(window_size=4, minimum_calls=4, wait_in_open=30, clock=clock)
>>> def flaky():
...     raise ConnectionError("down")
>>> for _ in range(4):
...     try:
...         breaker.call(flaky)
...     except ConnectionError:
...         pass
>>> breaker.state.value
'open'
>>> clock.advance(30)
>>> breaker.call(lambda: "ok"), breaker.state.value
('ok', 'half_open')
"""

from __future__ import annotations

import enum
import itertools
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Literal, TypeVar

from designpatterns_ref.clock import Clock, check_reading, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.resilience.base import (
    CallNotPermitted,
    ResilienceError,
    ResilienceTypeError,
    awaitable_of,
    check_callable,
    check_exceptions,
    check_int,
    check_percent,
    check_seconds,
    count_value,
    decorate,
    discard,
    not_callable,
)
from designpatterns_ref.resilience.window import FAILED, SLOW, CountWindow, TimeWindow

__all__ = ["BreakerMetrics", "BreakerState", "CircuitBreaker", "StateChange"]

T = TypeVar("T")


class BreakerState(enum.Enum):
    """The three states of a circuit breaker."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


@dataclass(frozen=True, slots=True)
class StateChange:
    """One transition, as listeners receive it."""

    breaker: str
    old: BreakerState
    new: BreakerState
    at: float
    failure_rate: float | None
    slow_call_rate: float | None


@dataclass(frozen=True, slots=True)
class BreakerMetrics:
    """A snapshot of the window and the lifetime counters."""

    state: BreakerState
    window_calls: int
    window_failures: int
    window_slow: int
    failure_rate: float | None  # percent; None below minimum_calls
    slow_call_rate: float | None
    successes: int
    failures: int
    slow: int
    ignored: int
    not_permitted: int
    transitions: dict[tuple[str, str], int]


def _rate(part: int, calls: int) -> float:
    return part * 100.0 / calls


class CircuitBreaker:
    """A resilience4j-style circuit breaker over a count- or time-based sliding window.

    ``window_type`` is ``"count"`` (the last ``window_size`` calls) or ``"time"`` (the calls
    of the last ``window_size`` seconds). Thresholds are percentages in (0, 100]; ``100``
    for the slow-call rate means "only when every call is slow".

    ``max_wait_in_half_open`` (seconds, ``> 0``) bounds the time in half-open: once it has
    passed, the breaker opens again (at the moment it ran out) whatever trial calls are still
    out. Make it longer than a trial call may take (its timeout); ``math.inf`` waits for every
    trial call for ever, as resilience4j does by default (its ``0``).
    """

    kind: ClassVar[str] = "breaker"

    def __init__(
        self,
        *,
        failure_rate_threshold: float = 50.0,
        slow_call_rate_threshold: float = 100.0,
        slow_call_duration: float = 60.0,
        window_type: Literal["count", "time"] = "count",
        window_size: int = 100,
        minimum_calls: int = 100,
        wait_in_open: float = 60.0,
        half_open_calls: int = 10,
        max_wait_in_half_open: float = 60.0,
        record: type[BaseException] | tuple[type[BaseException], ...] = Exception,
        ignore: type[BaseException] | tuple[type[BaseException], ...] = (),
        name: str = "breaker",
        clock: Clock = time.monotonic,
    ) -> None:
        owner = "CircuitBreaker"
        self.failure_rate_threshold = check_percent(
            owner, "failure_rate_threshold", failure_rate_threshold
        )
        self.slow_call_rate_threshold = check_percent(
            owner, "slow_call_rate_threshold", slow_call_rate_threshold
        )
        self.slow_call_duration = check_seconds(
            owner, "slow_call_duration", slow_call_duration, positive=True, allow_inf=True
        )
        if window_type not in ("count", "time"):
            raise ResilienceError(
                f"{owner}: window_type={shown(window_type, 60)} must be 'count' or 'time'"
            )
        self.window_type = window_type
        self.window_size = check_int(owner, "window_size", window_size, minimum=1, maximum=10**6)
        self.minimum_calls = check_int(
            owner, "minimum_calls", minimum_calls, minimum=1, maximum=10**9
        )
        if window_type == "count" and self.minimum_calls > self.window_size:
            raise ResilienceError(
                f"{owner}: minimum_calls={minimum_calls} must be <= window_size={window_size} "
                "for a count window (a larger minimum could never be reached)"
            )
        self.wait_in_open = check_seconds(owner, "wait_in_open", wait_in_open)
        self.half_open_calls = check_int(
            owner, "half_open_calls", half_open_calls, minimum=1, maximum=10**6
        )
        self.max_wait_in_half_open = check_seconds(
            owner, "max_wait_in_half_open", max_wait_in_half_open, positive=True, allow_inf=True
        )
        self.record = check_exceptions(owner, "record", record)
        self.ignore = check_exceptions(owner, "ignore", ignore)
        if not isinstance(name, str):
            raise ResilienceTypeError(f"{owner}: name={shown(name, 60)} must be a str")
        self.name = name
        self._clock: Clock = check_callable(owner, "clock", clock)
        self._lock = threading.Lock()
        self._window: CountWindow | TimeWindow = (
            CountWindow(self.window_size)
            if window_type == "count"
            else TimeWindow(self.window_size)
        )
        self._state = CLOSED
        self._count_window = window_type == "count"
        # the generation while the state is closed and the count window is full of fast
        # successes (then one more fast success changes nothing but a counter); else -1
        self._quiet = -1
        self._fast_successes = itertools.count()
        self._generation = 0
        self._opened_at = 0.0
        self._half_opened_at = 0.0
        self._permits = 0  # half-open trial calls not yet handed out
        self._trial = [0, 0, 0]  # half-open finished calls, failures, slow
        self._listeners: list[Callable[[StateChange], object]] = []
        self._counts = [0, 0, 0, 0, 0]  # successes, failures, slow, ignored, not permitted
        self._transitions: Counter[tuple[str, str]] = Counter()
        self._local = threading.local()

    # ----------------------------------------------------------------- observing
    @property
    def state(self) -> BreakerState:
        """The current state (open stays open until a call arrives after the wait)."""
        return self._state

    def add_listener(self, listener: Callable[[StateChange], object]) -> None:
        """Call ``listener(change)`` after every state change (outside the breaker's lock)."""
        check_callable("CircuitBreaker.add_listener", "listener", listener)
        with self._lock:
            self._listeners.append(listener)

    def metrics(self) -> BreakerMetrics:
        """The window's totals and rates, and the lifetime counters."""
        with self._lock:
            w = self._window
            w.refresh(read_seconds(self._clock, ResilienceError, "CircuitBreaker.metrics"))
            judged = w.calls >= self.minimum_calls
            successes, failures, slow, ignored, refused = self._counts
            return BreakerMetrics(
                self._state,
                w.calls,
                w.failures,
                w.slow,
                _rate(w.failures, w.calls) if judged else None,
                _rate(w.slow, w.calls) if judged else None,
                successes + count_value(self._fast_successes),
                failures,
                slow,
                ignored,
                refused,
                transitions={k: v for k, v in self._transitions.items()},
            )

    def reset(self) -> None:
        """Back to closed with an empty window (a manual override).

        Outcomes of calls begun before the reset are dropped. Listeners hear of it, and the
        transitions count it, only when the state changes: a closed breaker stays closed, as in
        resilience4j (and :class:`~.redis.RedisCircuitBreaker`).
        """
        with self._lock:
            now = read_seconds(self._clock, ResilienceError, "CircuitBreaker.reset")
            if self._state is CLOSED:
                self._generation += 1
                self._window.reset()
                self._quiet = -1
                change = None
            else:
                change = self._move(CLOSED, now, None, None)
        self._notify(change)

    # ----------------------------------------------------------------- state machine
    def _move(
        self, new: BreakerState, now: float, fr: float | None, sr: float | None
    ) -> StateChange:
        """Change state under the lock; the caller notifies listeners after releasing it."""
        old = self._state
        self._state = new
        self._generation += 1
        self._window.reset()
        self._quiet = -1
        self._trial = [0, 0, 0]
        if new is OPEN:
            self._opened_at = now
        elif new is HALF_OPEN:
            self._permits = self.half_open_calls
            self._half_opened_at = now
        self._transitions[(old.value, new.value)] += 1
        return StateChange(self.name, old, new, now, fr, sr)

    def _notify(self, *changes: StateChange | None) -> None:
        for change in changes:
            if change is not None:
                for listener in list(self._listeners):
                    listener(change)

    def _expire(self, now: float) -> StateChange | None:
        """Under the lock: half-open for ``max_wait_in_half_open`` or more -> open, as of then."""
        if self._state is HALF_OPEN and now - self._half_opened_at >= self.max_wait_in_half_open:
            return self._move(OPEN, self._half_opened_at + self.max_wait_in_half_open, None, None)
        return None

    def _acquire(self) -> int:
        """Permission for one call outside the closed state: its generation, or refuse."""
        expired = change = None
        with self._lock:
            state = self._state
            if state is not CLOSED:
                now = read_seconds(self._clock, ResilienceError, "CircuitBreaker")
                expired = self._expire(now)
                state = self._state
                if state is OPEN and now - self._opened_at >= self.wait_in_open:
                    change = self._move(HALF_OPEN, now, None, None)
                    state = HALF_OPEN
            if state is HALF_OPEN and self._permits > 0:
                self._permits -= 1
                generation = self._generation
            elif state is CLOSED:
                generation = self._generation
            else:
                self._counts[4] += 1
                generation = -1
        self._notify(expired, change)
        if generation < 0:
            raise CallNotPermitted(
                f"circuit breaker {shown(self.name)} is {state.value}: call not permitted"
            )
        return generation

    def _permit(self) -> int:
        generation = self._generation
        if self._state is not CLOSED:
            return self._acquire()
        return generation

    def _give_back(self, generation: int) -> None:
        """Undo a permission that was never used (a half-open permit goes back)."""
        with self._lock:
            if generation == self._generation and self._state is HALF_OPEN:
                self._permits += 1

    def _checked(self, reading: object, generation: int) -> float:
        """A clock reading that is not a finite float, checked: an int becomes its float; else
        the call's permission is given back (nothing is recorded) and ResilienceError raised."""
        try:
            return check_reading(reading, ResilienceError, "CircuitBreaker")
        except ResilienceError:
            self._give_back(generation)
            raise

    def _outcome(self, exc: BaseException | None, start: float, generation: int) -> None:
        """Classify one finished call that began at ``start`` in ``generation``; record it."""
        now = self._clock()
        if type(now) is not float or now - now:
            now = self._checked(now, generation)
        slow = SLOW if now - start > self.slow_call_duration else 0
        if exc is None:
            self._record(slow, now, generation)
        elif isinstance(exc, self.ignore) or not isinstance(exc, Exception):
            with self._lock:
                self._counts[3] += 1
                if generation == self._generation and self._state is HALF_OPEN:
                    self._permits += 1
        else:
            self._record((FAILED if isinstance(exc, self.record) else 0) | slow, now, generation)

    def _record(self, outcome: int, now: float, generation: int) -> None:
        """Count one outcome and, if it belongs to the current state, judge the window."""
        expired = change = None
        with self._lock:
            counts = self._counts
            counts[outcome & FAILED] += 1
            if outcome & SLOW:
                counts[2] += 1
            if self._state is HALF_OPEN:
                expired = self._expire(now)  # then the outcome is of an older generation
            if generation != self._generation:
                pass
            elif self._state is CLOSED:
                w = self._window
                w.record(outcome, now)
                clean = not (w.failures or w.slow)
                quiet = clean and self._count_window and w.calls == w.size
                self._quiet = self._generation if quiet else -1
                if not clean and w.calls >= self.minimum_calls:
                    fr, sr = _rate(w.failures, w.calls), _rate(w.slow, w.calls)
                    if fr >= self.failure_rate_threshold or sr >= self.slow_call_rate_threshold:
                        change = self._move(OPEN, now, fr, sr)
            elif self._state is HALF_OPEN:
                trial = self._trial
                trial[0] += 1
                trial[1] += outcome & FAILED
                trial[2] += outcome >> 1
                if trial[0] >= self.half_open_calls:
                    fr, sr = _rate(trial[1], trial[0]), _rate(trial[2], trial[0])
                    bad = fr >= self.failure_rate_threshold or sr >= self.slow_call_rate_threshold
                    change = self._move(OPEN if bad else CLOSED, now, fr, sr)
        self._notify(expired, change)

    # ----------------------------------------------------------------- calling
    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` through the breaker (raises CallNotPermitted if open)."""
        generation = self._quiet
        if generation < 0:  # not the steady closed state: the general path
            if not callable(fn):  # refused before the permit, which may move the state
                raise not_callable("CircuitBreaker.call", fn)
            generation = self._permit()
        clock = self._clock
        start = clock()
        if type(start) is not float or start - start:  # NaN, an infinity, or not a float
            start = self._checked(start, generation)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            if isinstance(exc, TypeError) and not callable(fn):
                self._give_back(generation)
                raise not_callable("CircuitBreaker.call", fn) from None
            self._outcome(exc, start, generation)
            raise
        now = clock()
        if type(now) is not float or now - now:
            now = self._checked(now, generation)
        if now - start <= self.slow_call_duration:
            if self._quiet == generation:
                # A full count window of fast successes in the closed state: one more success
                # changes no total and no decision, so it is only counted (no lock needed:
                # next() on itertools.count is atomic).
                next(self._fast_successes)
                return result
            self._record(0, now, generation)
        else:
            self._record(SLOW, now, generation)
        return result

    async def acall(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)`` through the breaker.

        ``fn`` is called (and what it returns checked) before the breaker is asked: a plain
        function is refused and changes nothing; a coroutine runs only when permitted.
        """
        awaitable = awaitable_of("CircuitBreaker.acall", fn, args, kwargs)
        try:
            generation = self._permit()
            start = self._clock()
            if type(start) is not float or start - start:
                start = self._checked(start, generation)
        except BaseException:
            discard(awaitable)
            raise
        try:
            result = await awaitable
        except BaseException as exc:
            self._outcome(exc, start, generation)
            raise
        self._outcome(None, start, generation)
        return result

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate a function or a coroutine function."""
        return decorate(self, "CircuitBreaker", fn)

    def __enter__(self) -> CircuitBreaker:
        generation = self._permit()
        stack = self._local.__dict__.setdefault("stack", [])
        start = self._clock()
        if type(start) is not float or start - start:
            start = self._checked(start, generation)
        stack.append((generation, start))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        generation, start = self._local.stack.pop()
        self._outcome(exc, start, generation)
        return False

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(name={self.name!r}, state={self._state.value}, "
            f"window={self.window_type}:{self.window_size})"
        )
