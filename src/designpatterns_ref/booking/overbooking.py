"""Overbooking as a policy: how many rooms to sell past capacity, and what a walk costs.

Case study: Design a Hotel Booking System (docs/case-studies/hotel-booking.md)

Some guests never show. Selling ``total * (1 + x)`` rooms fills the hotel more often, at the risk
of *walking* a guest (paying for a room elsewhere) when more show up than there are rooms. With
each booked guest showing independently with probability ``1 - no_show``, the number who show
is binomial, and the expected walks are ``E[max(0, shows - total)]``. :func:`expected_walks`
computes it exactly; :func:`best_overbooking` picks the number of rooms to sell that maximises
the expected revenue minus the expected walk cost.
``PessimisticBooking(store, overbooking=Fraction(sold, total) - 1)`` sells exactly that many on a
night of ``total`` rooms (a float ``sold / total - 1`` may round below it and sell one fewer).

Complexity: O(sold) per evaluation (a binomial sum).

>>> round(expected_walks(sold=105, total=100, no_show=0.1), 3)
0.023
>>> best_overbooking(total=100, no_show=0.1, room_revenue=120, walk_cost=300)[0] > 100
True
>>> sold, _ = best_overbooking(total=5, no_show=0.2, room_revenue=120, walk_cost=100)
>>> sold, Fraction(sold, 5) - 1   # the allowance that sells exactly ``sold`` of 5
(6, Fraction(1, 5))
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from designpatterns_ref.booking.base import BookingError, check_number, check_ratio
from designpatterns_ref.errors import shown

__all__ = ["best_overbooking", "expected_walks"]


def _check(total: object, sold: object, no_show: object) -> None:
    for name, v in (("total", total), ("sold", sold)):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 100_000:
            raise BookingError(f"{name}={shown(v)} must be an int in [0, 100,000]")
    check_number(no_show, "no_show", 0, 1)


def expected_walks(*, sold: int, total: int, no_show: float) -> float:
    """Expected guests turned away when ``sold`` bookings meet ``total`` rooms."""
    _check(total, sold, no_show)
    p = 1.0 - no_show
    return sum((shows - total) * _pmf(sold, shows, p) for shows in range(total + 1, sold + 1))


def _pmf(n: int, k: int, p: float) -> float:
    """P(Binomial(n, p) = k), in log space so large ``n`` neither overflows nor underflows."""
    if p in (0.0, 1.0):
        return 1.0 if k == (n if p == 1.0 else 0) else 0.0
    log = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    return math.exp(log + k * math.log(p) + (n - k) * math.log1p(-p))


def best_overbooking(
    *,
    total: int,
    no_show: float,
    room_revenue: float,
    walk_cost: float,
    limit: float | Fraction | Decimal = 0.5,
) -> tuple[int, float]:
    """``(rooms to sell, expected profit)`` maximising revenue minus walk cost, up to ``limit``.

    The candidates run to ``floor(total * (1 + limit))``, computed exactly (``limit`` is read as
    ``PessimisticBooking``'s ``overbooking`` is: a float as the decimal it is written as, a
    ``Fraction`` or ``Decimal`` as it is): the most ``PessimisticBooking(store,
    overbooking=limit)`` sells. To sell the chosen count, pass ``overbooking=Fraction(sold,
    total) - 1`` (with ``total > 0``)."""
    _check(total, total, no_show)
    check_number(room_revenue, "room_revenue", 0, 1e12)
    check_number(walk_cost, "walk_cost", 0, 1e12)
    most = math.floor(total * (1 + check_ratio(limit, "limit", 0, 1)))
    best = (total, -math.inf)
    for sold in range(total, most + 1):
        walks = expected_walks(sold=sold, total=total, no_show=no_show)
        shows = sold * (1 - no_show)
        profit = room_revenue * (shows - walks) - walk_cost * walks
        if profit > best[1]:
            best = (sold, profit)
    return best
