"""The shared types of every rate limiter: Decision, the RateLimiter protocol, RateLimitError.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

Every limiter, whatever its algorithm and wherever its counter lives, answers
``allow(key, cost=1) -> Decision``, ``peek(key, cost=1) -> Decision`` (which consumes nothing)
and ``reset(key)``. A :class:`Decision` is truthy when the request is admitted and carries what
an HTTP server puts in its ``RateLimit-*`` headers.

The in-memory limiters' shared base class, :class:`~.memory.MemoryLimiter`, lives in
:mod:`.memory`; this module holds the types and the checks every backend shares.

Examples:
    >>> d = Decision(False, limit=10, remaining=0, retry_after=0.25, reset_after=1.0)
    >>> bool(d), d.headers()["Retry-After"]
    (False, '1')
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple, Protocol, runtime_checkable

from designpatterns_ref.clock import check_reading
from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "MAX_LOG_COST",
    "Decision",
    "RateLimitError",
    "RateLimitExceeded",
    "RateLimiter",
    "honest_wait",
]

#: The default cost. The hot paths test ``cost is UNIT_COST`` first: that identity holds only
#: for the int 1 itself, so the default skips the type and range checks, and any other cost
#: (``True`` and ``1.0`` included) still meets them.
UNIT_COST = 1


class RateLimitError(DesignPatternsError, ValueError):
    """A bad limit, cost or option (the message names it, its value and what is allowed)."""


class RateLimitExceeded(DesignPatternsError, RuntimeError):
    """Raised by context managers that refuse to enter when the limit is reached.

    ``decision`` holds the refusing :class:`Decision` (its ``retry_after`` says when to retry).
    """

    def __init__(self, decision: Decision) -> None:
        if not isinstance(decision, Decision):
            raise RateLimitError(
                f"RateLimitExceeded: decision={shown(decision, 80)} must be a Decision"
            )
        super().__init__(f"rate limit exceeded; retry after {decision.retry_after:.6g}s")
        self.decision = decision

    def __reduce__(self) -> tuple[type[RateLimitExceeded], tuple[Decision]]:
        """Pickle as the call that built it (the default would pass the message as the
        decision), so that it crosses processes, a ProcessPoolExecutor's results included."""
        return (type(self), (self.decision,))


class Decision(NamedTuple):
    """The answer to one request: admitted or not, and what to tell the client.

    A named tuple, so it is immutable and cheap to build on the hot path; it is truthy exactly
    when the request is admitted.

    - ``allowed``: the request may proceed.
    - ``limit``: the most the limiter admits at once (its burst or its per-window count).
    - ``remaining``: how many more requests of cost 1 would be admitted right now.
    - ``retry_after``: seconds until this same request would be admitted if nothing else
      happened meanwhile (0 when admitted). Rounded up, never down: a client retrying exactly
      then is admitted.
    - ``reset_after``: seconds until the key is back to its full allowance.
    - ``delay``: seconds an admitted request waits before it runs; only the queue
      (:class:`~designpatterns_ref.ratelimit.leaky_queue.LeakyBucketQueue`) delays.
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after: float = 0.0
    reset_after: float = 0.0
    delay: float = 0.0

    def __bool__(self) -> bool:
        return self.allowed

    def headers(self) -> dict[str, str]:
        """The standard response headers, in whole seconds rounded up.

        ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` always (the IETF
        ``RateLimit`` header fields draft), and ``Retry-After`` (RFC 9110) when denied. A time
        that is infinite (a concurrency hold with no lease) is left out.

        >>> Decision(True, 5, 4, 0.0, 0.2).headers()
        {'RateLimit-Limit': '5', 'RateLimit-Remaining': '4', 'RateLimit-Reset': '1'}
        """
        out = {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining)}
        if math.isfinite(self.reset_after):
            out["RateLimit-Reset"] = str(math.ceil(self.reset_after))
        if not self.allowed and math.isfinite(self.retry_after):
            out["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return out


#: Build a Decision without the named tuple's Python-level ``__new__`` (the hot path uses it).
new_decision: Callable[[Any, tuple[Any, ...]], Decision] = tuple.__new__


@runtime_checkable
class RateLimiter(Protocol):
    """What every limiter offers, in memory or on Redis."""

    def allow(self, key: Hashable, cost: int = 1) -> Decision:
        """Admit or deny a request of ``cost`` units for ``key``, consuming on admission."""
        ...

    def peek(self, key: Hashable, cost: int = 1) -> Decision:
        """What :meth:`allow` would answer now, consuming nothing."""
        ...

    def reset(self, key: Hashable) -> None:
        """Forget ``key``: its next request meets a full allowance."""
        ...


#: The size of the one correction a closed-form retry time may need, relative to the
#: magnitudes involved: 2**-48 is 16 to 32 ulps of a time (and of the algorithm's own length
#: of time, ``_span``), more than the few roundings between the closed form and the
#: decision's own arithmetic can add up to.
CORRECTION = 2.0**-48

_next_up = math.nextafter
_INF = math.inf


def correct(at: float, span: float) -> float:
    """``at`` moved later by a few ulps of itself and of ``span`` (what the limiters inline).

    >>> correct(1.0, 0.0) > 1.0
    True
    """
    return at + ((at if at > 0.0 else -at) + span) * CORRECTION


def wait_until(now: float, at: float) -> float:
    """The wait ``w`` from ``now`` such that ``now + w``, computed in floating point, is at least
    ``at``: the difference, moved up one ulp when the subtraction rounded it down.

    >>> now, at = 0.2, 0.9
    >>> 0.2 + (0.9 - 0.2) >= 0.9  # the difference alone falls an ulp short
    False
    >>> now + wait_until(now, at) >= at
    True
    """
    wait = at - now
    if now + wait < at:
        wait = _next_up(wait, _INF)
    return wait


def honest_wait(admits_at: Callable[[float], bool], now: float, wait: float) -> float:
    """The smallest ``w >= wait`` (up to a few ulps) with ``admits_at(now + w)`` true, by search.

    The reference the closed forms are tested against (and their last resort, should a
    closed form plus its one correction ever still be refused): it nudges the wait up, one
    representable step at a time, until the same arithmetic that decides admits it. Its cost
    grows with the clock's magnitude, which is why no decision relies on it.

    >>> 0.2 + (0.9 - 0.2) >= 0.9  # the closed form falls an ulp short
    False
    >>> wait = honest_wait(lambda t: t >= 0.9, 0.2, 0.9 - 0.2)
    >>> 0.2 + wait >= 0.9
    True
    """
    if wait < 0.0:
        wait = 0.0
    step = 0
    while not admits_at(now + wait):
        step += 1
        if step > 1000 or not math.isfinite(wait):  # a clock gave NaN or infinity
            return math.inf
        wait = math.nextafter(wait, math.inf) if step < 16 else wait + math.ulp(wait) * 2**step
    return wait


def settle(admits_at: Callable[[float], bool], at: float) -> float:
    """The retry time when even the corrected closed form ``at`` was refused by the decision's
    own arithmetic (no test has found such a case): the search, from there, so that
    ``retry_after`` stays honest whatever happens; infinite when a broken clock leaves
    nothing to find.
    """
    if not math.isfinite(at):
        return math.inf
    return at + honest_wait(admits_at, at, 0.0)


def bad_time(owner: str, now: object) -> RateLimitError:
    """The error for a clock that gave a float that is not finite (NaN or an infinity)."""
    return RateLimitError(
        f"{owner}: clock() returned {shown(now, 60)}; it must return a finite number of seconds"
    )


def clock_time(owner: str, now: object) -> float:
    """A reading that is not a float, checked: an int becomes its float, and anything else (a
    bool, a str, None, an int past a float's range) is refused with RateLimitError.

    The limiters test ``type(now) is not float`` themselves and come here only then, so the
    common reading costs one C-level check; a float's NaN or infinity is caught by each
    decision's own ``now - now`` test, on the branch where it would do harm.
    """
    return check_reading(now, RateLimitError, owner)


def bad_key(owner: str, key: object, exc: TypeError) -> BaseException:
    """RateLimitError when ``key`` is unhashable (the TypeError came from it), else ``exc``."""
    try:
        hash(key)
    except TypeError:
        return RateLimitError(
            f"{owner}: key={shown(key, 80)} is unhashable; use a str, an int or a tuple of them"
        )
    return exc


def plain_key(key: object) -> object:
    """``key`` as the plain ``str`` or ``int`` it equals, when it is of a subclass of them (an
    ``enum.StrEnum`` or ``IntEnum`` member, say); any other key (a bool included) as it is.

    In memory such a key and its plain value are one dict key (equal, with one hash); the
    stores (SQLite, Redis) keep the plain value, so a key means the same on every backend.
    ``str.__str__`` and ``int.__index__`` give the value itself, whatever ``__str__`` the
    subclass defines (``class Plan(str, Enum)`` prints as ``Plan.FREE``).

    >>> import enum
    >>> class Plan(enum.StrEnum):
    ...     FREE = "free"
    >>> type(plain_key(Plan.FREE)), plain_key(Plan.FREE)
    (<class 'str'>, 'free')
    >>> plain_key(True)
    True
    """
    cls = key.__class__
    if cls is str or cls is int or cls is bool:
        return key
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, int):
        return int.__index__(key)
    return key


def exact(number: float) -> str:
    """``number`` as text that reads back as exactly it: a whole number below 2^53 as an int,
    any other as its ``repr`` (the shortest text that does). What limiters' default names are
    made of, so that two different limits never share a name (``:g`` wrote both ``1e+06``
    and ``1000001.0`` as ``1e+06``).

    >>> exact(60.0), exact(1_000_001.0), exact(100 / 3), exact(0.1)
    ('60', '1000001', '33.333333333333336', '0.1')
    """
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(float(number))


# --------------------------------------------------------------------------- validation


def check_positive(owner: str, name: str, value: object) -> float:
    """``value`` as a float, or RateLimitError unless it is a finite number above zero."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RateLimitError(f"{owner}: {name}={shown(value, 80)} must be a positive number")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the doubles
        number = math.inf
    if not (math.isfinite(number) and number > 0):
        raise RateLimitError(f"{owner}: {name}={shown(value, 80)} must be a positive finite number")
    return number


#: The largest cost one call may ask of a sliding log, which stores one entry per unit (on
#: Redis, one list element per unit, pushed by the script while the server serves no one else).
MAX_LOG_COST = 10_000

#: The largest count a limit may have: every integer up to 2**53 is exact as a double, which
#: is how the Redis scripts (and the in-memory estimates) carry it.
MAX_COUNT = 2**53


def check_count(owner: str, name: str, value: object, maximum: int | None = MAX_COUNT) -> int:
    """``value`` as an int, or RateLimitError unless it is an integer from 1 to ``maximum``
    (None: no upper bound)."""
    allowed = (
        "must be a positive integer"
        if maximum is None
        else (f"must be an integer from 1 to {maximum}")
    )
    if isinstance(value, bool):
        raise RateLimitError(f"{owner}: {name}={shown(value)} {allowed}")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise RateLimitError(f"{owner}: {name}={shown(value, 80)} {allowed}") from None
    if number < 1 or (maximum is not None and number > maximum):
        raise RateLimitError(f"{owner}: {name}={shown(number)} {allowed}")
    return int(number)


def check_cost(owner: str, cost: object, max_cost: int) -> int:
    """``cost`` as an int, or RateLimitError if it is not a positive integer up to ``max_cost``."""
    number = check_count(owner, "cost", cost, None)
    if number > max_cost:
        raise RateLimitError(
            f"{owner}: cost={shown(number)} can never be admitted; the limit allows at most "
            f"{max_cost}"
            + (
                ""
                if max_cost != MAX_LOG_COST
                else " a call (a sliding log stores one entry per unit: for larger costs use "
                "SlidingWindowCounter)"
            )
        )
    return number


def check_burst(owner: str, burst: object, rate: float) -> int:
    """The burst as an int: the given one, or ``rate`` rounded down (at least 1) when None."""
    if burst is None:
        return max(1, math.floor(rate))
    return check_count(owner, "burst", burst)


def check_rate_per_burst(
    owner: str, rate: object, per: object, burst: object
) -> tuple[float, float, int]:
    """The checked ``(rate, per, burst)`` of a bucket-shaped limiter (burst defaults to rate)."""
    checked_rate = check_positive(owner, "rate", rate)
    checked_per = check_positive(owner, "per", per)
    return checked_rate, checked_per, check_burst(owner, burst, checked_rate)
