"""Retry budget: retries may add at most a fixed fraction of extra load, so they cannot
amplify an outage.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

Three retries per call turn a dependency that fails everything into one that receives four
times its normal load, just when it can least take it. A budget (Finagle's ``RetryBudget``, the
"retry throttling" of gRPC) caps retries as a share of requests: every request deposits
``ratio`` of a retry, every retry withdraws one whole retry. The balance starts at ``reserve``
(so a quiet client can still retry a few times) and never exceeds ``reserve``, or one whole
retry when the reserve is smaller: deposits must be able to buy a retry even with no reserve
(Finagle's ``minRetriesPerSec=0``, where ``percentCanRetry`` alone allows retries), and the cap
stops a long quiet spell from saving up a burst that an outage would spend at once (gRPC caps
its tokens the same way). Over any run, ``retries <= reserve + ratio * requests``: at most
``ratio`` extra load, plus a small constant.

The arithmetic is exact: in floats ten deposits of 0.1 add up to 0.9999999999999999 and the
retry they earned would be refused (90 retries for 1,000 requests instead of 100). The ratio
and the reserve are read as the fractions they stand for (0.1 is 1/10, 0.3 is 3/10, ``1 / 3``
is 1/3), and the balance is an integer count of units of 1/``denominator``, so a deposit adds
a whole number of units and a retry takes another.

The balance is settled lazily: :meth:`RetryBudget.deposit` only bumps an atomic counter (no
lock, so a successful call pays almost nothing), and :meth:`RetryBudget.withdraw` adds up the
deposits made since the last withdrawal, under a lock. Capping the balance at each deposit or
once for the whole run of deposits gives the same result, because deposits only add.

Trade-off: a budget makes retries useless exactly when they would be most dangerous (a
widespread outage), and changes nothing while failures are rare.

Complexity: O(1) per deposit and per withdrawal.

>>> budget = RetryBudget(ratio=0.5, reserve=1)
>>> budget.withdraw(), budget.withdraw()
(True, False)
>>> deposits = [budget.deposit() for _ in range(2)]  # two requests
>>> budget.withdraw(), budget.withdraw()
(True, False)
>>> no_reserve = RetryBudget(ratio=0.1, reserve=0)  # one retry per ten requests, no more
>>> deposits = [no_reserve.deposit() for _ in range(100)]
>>> no_reserve.withdraw(), no_reserve.withdraw()
(True, False)
>>> deposits = [no_reserve.deposit() for _ in range(10)]  # exactly one retry's worth
>>> no_reserve.withdraw()
True
"""

from __future__ import annotations

import itertools
import math
import threading
from fractions import Fraction

from designpatterns_ref.errors import shown
from designpatterns_ref.resilience.base import ResilienceError, ResilienceTypeError, count_value

__all__ = ["RetryBudget"]


def _as_fraction(x: float) -> Fraction:
    """The fraction ``x`` stands for: the closest one with a denominator up to 1, 10, 100, ...
    (the first bound that gives one converting back to ``x``), else ``x``'s exact binary value.

    >>> _as_fraction(0.1), _as_fraction(1 / 3), _as_fraction(0.25)
    (Fraction(1, 10), Fraction(1, 3), Fraction(1, 4))
    """
    exact = Fraction(x)
    bound = 1
    while bound < exact.denominator:
        near = exact.limit_denominator(bound)
        if float(near) == x:
            return near
        bound *= 10
    return exact


class RetryBudget:
    """At most ``reserve + ratio * requests`` retries; thread-safe, and may be shared."""

    def __init__(self, ratio: float = 0.1, *, reserve: float = 10.0) -> None:
        for name, value in (("ratio", ratio), ("reserve", reserve)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ResilienceTypeError(
                    f"RetryBudget: {name}={shown(value, 60)} must be a number"
                )
        if not (isinstance(ratio, int | float) and 0 <= ratio <= 1000 and math.isfinite(ratio)):
            raise ResilienceError(f"RetryBudget: ratio={shown(ratio, 60)} must be within [0, 1000]")
        if not (0 <= reserve <= 10**9 and math.isfinite(reserve)):
            raise ResilienceError(
                f"RetryBudget: reserve={shown(reserve, 60)} must be within [0, 1e9]"
            )
        self.ratio = float(ratio)
        self.reserve = float(reserve)
        self.cap = max(self.reserve, 1.0)
        """The most the balance holds: ``reserve``, at least one retry."""
        exact_ratio, exact_reserve = _as_fraction(self.ratio), _as_fraction(self.reserve)
        # the balance in integer units of 1/unit retry: exact, whatever the ratio
        self._unit = math.lcm(exact_ratio.denominator, exact_reserve.denominator)
        self._step = int(exact_ratio * self._unit)  # units a deposit adds
        self._cap = int(max(exact_reserve, Fraction(1)) * self._unit)
        self._lock = threading.Lock()
        self._requests = itertools.count()
        self._settled = 0  # requests already added to the balance
        self._balance = int(exact_reserve * self._unit)
        self._retries = 0
        self._refused = 0
        #: Call once per request (a first attempt): ``next`` on an atomic counter.
        self.deposit = self._requests.__next__

    def withdraw(self) -> bool:
        """Take one retry from the budget: True if the balance allowed it."""
        with self._lock:
            total = count_value(self._requests)
            balance = min(self._cap, self._balance + self._step * (total - self._settled))
            self._settled = total
            if balance >= self._unit:
                self._balance = balance - self._unit
                self._retries += 1
                return True
            self._balance = balance
            self._refused += 1
            return False

    @property
    def requests(self) -> int:
        """Requests deposited so far."""
        return count_value(self._requests)

    @property
    def retries(self) -> int:
        """Retries the budget allowed so far."""
        return self._retries

    @property
    def refused(self) -> int:
        """Retries the budget refused so far."""
        return self._refused

    @property
    def balance(self) -> float:
        """Retries available right now."""
        with self._lock:
            unsettled = count_value(self._requests) - self._settled
            return min(self._cap, self._balance + self._step * unsettled) / self._unit

    def __repr__(self) -> str:
        return f"RetryBudget(ratio={self.ratio}, reserve={self.reserve}, balance={self.balance:g})"
