"""Backoff policies: how long to wait before retry number n, with and without jitter.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

Waiting longer after each failure gives a struggling dependency room to recover; waiting a
*random* time stops clients that failed together from retrying together. The jittered
policies are the three of Marc Brooker's AWS Architecture Blog post "Exponential Backoff And
Jitter" (2015), with ``attempt`` counting retries from 0 and
``ceiling = min(cap, base * 2**attempt)``:

- :class:`Constant`: always ``wait``;
- :class:`Exponential` (no jitter): ``ceiling``;
- :class:`FullJitter`: ``uniform(0, ceiling)``;
- :class:`EqualJitter`: ``ceiling / 2 + uniform(0, ceiling / 2)``;
- :class:`DecorrelatedJitter`: ``min(cap, uniform(base, previous * 3))``, starting from
  ``previous = base``: each wait depends on the last one, not on the attempt number.

Every policy also reports :meth:`bounds` (the interval its formula allows), which the property
tests hold every drawn wait to. The blog's simulation found full jitter does the least work,
decorrelated jitter finishes a little sooner, equal jitter is worse than both and no jitter is
worst by far; :mod:`.chaos.contention` reproduces it.

Complexity: O(1) per wait.

>>> import random
>>> policy = FullJitter(base=0.1, cap=2.0)
>>> policy.bounds(3, previous=0.0)
(0.0, 0.8)
>>> 0.0 <= policy.delay(3, 0.0, random.Random(1)) <= 0.8
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from designpatterns_ref.errors import shown
from designpatterns_ref.resilience.base import ResilienceError, check_seconds

__all__ = [
    "Backoff",
    "Constant",
    "DecorrelatedJitter",
    "EqualJitter",
    "Exponential",
    "FullJitter",
    "ceiling",
]


@runtime_checkable
class Backoff(Protocol):
    """A policy: the wait before retry ``attempt`` (0 for the first retry)."""

    def delay(self, attempt: int, previous: float, rng: random.Random) -> float:
        """Seconds to wait; ``previous`` is the last wait (the policy's base before any)."""
        ...

    def bounds(self, attempt: int, previous: float) -> tuple[float, float]:
        """The smallest and largest wait the formula allows for this retry."""
        ...

    @property
    def first(self) -> float:
        """The ``previous`` to pass before the first retry."""
        ...


def ceiling(base: float, cap: float, attempt: int, multiplier: float = 2.0) -> float:
    """``min(cap, base * multiplier**attempt)``, without overflowing for huge attempts.

    >>> ceiling(0.1, 5.0, 3), ceiling(0.1, 5.0, 10**6)
    (0.8, 5.0)
    """
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0:
        raise ResilienceError(f"backoff: attempt={shown(attempt, 60)} must be an int >= 0")
    try:
        return min(cap, base * multiplier**attempt)
    except OverflowError:
        return cap


def _check_previous(owner: str, previous: object) -> None:
    """Refuse a ``previous`` that is no wait, also where the formula does not read it: every
    policy takes the same arguments, and a bad one is the caller's mistake either way."""
    check_seconds(owner, "previous", previous)


def _base_cap(owner: str, base: object, cap: object) -> tuple[float, float]:
    b = check_seconds(owner, "base", base, positive=True)
    c = check_seconds(owner, "cap", cap, positive=True)
    if c < b:
        raise ResilienceError(f"{owner}: cap={shown(cap)} must be >= base={shown(base)}")
    return b, c


@dataclass(frozen=True)
class Constant:
    """The same wait before every retry."""

    wait: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "wait", check_seconds("Constant", "wait", self.wait))

    @property
    def first(self) -> float:
        return self.wait

    def delay(self, attempt: int, previous: float, rng: random.Random) -> float:
        ceiling(1.0, 1.0, attempt)  # checks attempt
        _check_previous("Constant", previous)
        return self.wait

    def bounds(self, attempt: int, previous: float) -> tuple[float, float]:
        ceiling(1.0, 1.0, attempt)
        _check_previous("Constant", previous)
        return (self.wait, self.wait)


@dataclass(frozen=True)
class Exponential:
    """``min(cap, base * multiplier**attempt)``: exponential backoff without jitter."""

    base: float = 0.1
    cap: float = 10.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        b, c = _base_cap("Exponential", self.base, self.cap)
        m = check_seconds("Exponential", "multiplier", self.multiplier, positive=True)
        if m < 1:
            raise ResilienceError(f"Exponential: multiplier={shown(self.multiplier)} must be >= 1")
        object.__setattr__(self, "base", b)
        object.__setattr__(self, "cap", c)
        object.__setattr__(self, "multiplier", m)

    @property
    def first(self) -> float:
        return self.base

    def delay(self, attempt: int, previous: float, rng: random.Random) -> float:
        _check_previous("Exponential", previous)
        return ceiling(self.base, self.cap, attempt, self.multiplier)

    def bounds(self, attempt: int, previous: float) -> tuple[float, float]:
        _check_previous("Exponential", previous)
        wait = ceiling(self.base, self.cap, attempt, self.multiplier)
        return (wait, wait)


@dataclass(frozen=True)
class FullJitter:
    """``uniform(0, min(cap, base * 2**attempt))``: the AWS blog's recommendation."""

    base: float = 0.1
    cap: float = 10.0

    def __post_init__(self) -> None:
        b, c = _base_cap("FullJitter", self.base, self.cap)
        object.__setattr__(self, "base", b)
        object.__setattr__(self, "cap", c)

    @property
    def first(self) -> float:
        return self.base

    def delay(self, attempt: int, previous: float, rng: random.Random) -> float:
        _check_previous("FullJitter", previous)
        return rng.uniform(0.0, ceiling(self.base, self.cap, attempt))

    def bounds(self, attempt: int, previous: float) -> tuple[float, float]:
        _check_previous("FullJitter", previous)
        return (0.0, ceiling(self.base, self.cap, attempt))


@dataclass(frozen=True)
class EqualJitter:
    """Half the exponential wait for sure, the other half at random."""

    base: float = 0.1
    cap: float = 10.0

    def __post_init__(self) -> None:
        b, c = _base_cap("EqualJitter", self.base, self.cap)
        object.__setattr__(self, "base", b)
        object.__setattr__(self, "cap", c)

    @property
    def first(self) -> float:
        return self.base

    def delay(self, attempt: int, previous: float, rng: random.Random) -> float:
        _check_previous("EqualJitter", previous)
        half = ceiling(self.base, self.cap, attempt) / 2
        return half + rng.uniform(0.0, half)

    def bounds(self, attempt: int, previous: float) -> tuple[float, float]:
        _check_previous("EqualJitter", previous)
        top = ceiling(self.base, self.cap, attempt)
        return (top / 2, top)


@dataclass(frozen=True)
class DecorrelatedJitter:
    """``min(cap, uniform(base, previous * 3))``: each wait grows from the last one."""

    base: float = 0.1
    cap: float = 10.0

    def __post_init__(self) -> None:
        b, c = _base_cap("DecorrelatedJitter", self.base, self.cap)
        object.__setattr__(self, "base", b)
        object.__setattr__(self, "cap", c)

    @property
    def first(self) -> float:
        return self.base

    def delay(self, attempt: int, previous: float, rng: random.Random) -> float:
        ceiling(self.base, self.cap, attempt)  # checks attempt
        last = check_seconds("DecorrelatedJitter", "previous", previous)
        return min(self.cap, rng.uniform(self.base, max(last, self.base) * 3))

    def bounds(self, attempt: int, previous: float) -> tuple[float, float]:
        last = check_seconds("DecorrelatedJitter", "previous", previous)
        return (self.base, min(self.cap, max(last, self.base) * 3))
