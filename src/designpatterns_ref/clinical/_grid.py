"""A chart's resolution as exact integers: values to whole steps and back, in any decimal context.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

A :class:`~designpatterns_ref.clinical.base.Measure` is read to a resolution (``1``, ``0.1``,
``0.5``, ``2``): a value is scored as the nearest multiple of it, a tie rounded half-up (away
from zero, as :data:`decimal.ROUND_HALF_UP` does). The engine works in whole *steps* of the
resolution: 38.4 °C read to 0.1 is 384 steps, 96 mmHg read to 2 is 48. :class:`Grid` does that
arithmetic on integers only, so no decimal context is read: the caller's (a precision of 2, a
trap on ``Inexact``) cannot change a score. And it rounds to multiples of the resolution
(38.3 read to 0.5 is 38.5), where ``Decimal.quantize`` rounds to a number of decimal places.

The idea: write the resolution as ``c × 10**e`` (0.5 is 5 × 10**-1). Every tie between two
steps, ``(n + ½) × c × 10**e``, is a whole number of ``10**(e - 1)``. So truncating ``|x|`` to
that finer grid, ``t`` units of it, keeps ``x`` on the same side of every tie, and the rounded
step count is ``(t + 5c) // 10c``. Only as many digits of ``x`` are read as its magnitude
needs: ``1E-999999999`` and ``0E+999999999`` are 0 units, without a number of a billion
digits.

Complexity: O(d) for a value of d digits.

>>> half = Grid.of(Decimal("0.5"))
>>> half.steps(Decimal("38.3")), half.steps(Decimal("38.25")), half.value(77), half.echo(77)
(77, 77, Decimal('38.5'), 38.5)
>>> two = Grid.of(Decimal("2"))
>>> two.steps(Decimal("95")), two.steps(Decimal("-95")), two.echo(48)
(48, -48, 96)
>>> two.ceil_steps(Decimal("21")), two.floor_steps(Decimal("349"))
(11, 174)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

__all__ = ["Grid", "grid_of", "is_resolution"]


def is_resolution(value: object) -> bool:
    """Whether ``value`` is a resolution a chart could print: a positive, finite Decimal with
    at most 40 digits and an exponent from -40 to 40. Both :class:`~.base.Measure` and
    :func:`~.engine.quantise` refuse any other, so :meth:`Grid.of` never raises ``10`` to a
    huge power.
    """
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        return False
    _, digits, exponent = value.as_tuple()
    return len(digits) <= 40 and isinstance(exponent, int) and -40 <= exponent <= 40


def _whole(digits: tuple[int, ...]) -> int:
    """The digits of a decimal coefficient as an int (no str conversion, so no digit limit)."""
    n = 0
    for d in digits:
        n = n * 10 + d
    return n


@dataclass(frozen=True, slots=True)
class Grid:
    """A positive resolution ``coefficient × 10**exponent``, also ``numerator / denominator``
    in lowest terms; build one with :meth:`of`."""

    coefficient: int
    exponent: int
    numerator: int
    denominator: int

    @classmethod
    def of(cls, resolution: Decimal) -> Grid:
        """The grid of a positive, finite ``resolution`` (the caller has checked it)."""
        _, digits, exponent = resolution.as_tuple()
        assert isinstance(exponent, int)
        c = _whole(digits)
        num, den = (c * 10**exponent, 1) if exponent >= 0 else (c, 10**-exponent)
        g = math.gcd(num, den)
        return cls(c, exponent, num // g, den // g)

    @property
    def per_unit(self) -> int | Fraction:
        """Steps per unit: an int for a resolution of 1/n (10 for 0.1), else a Fraction
        (``Fraction(1, 2)`` for 2, ``Fraction(10, 3)`` for 0.3)."""
        if self.numerator == 1:
            return self.denominator
        return Fraction(self.denominator, self.numerator)

    def _units(self, value: Decimal) -> tuple[bool, int, bool]:
        """``|value|`` truncated to ``10**(exponent - 1)``: (negative, units, whether any
        non-zero digit was dropped).

        Zero is 0 units whatever its exponent: ``0E+999999999999999999`` is no number of a
        quintillion digits. Any other value's shift is as large as the value itself, which
        every caller has bounded (a measure's possible range, :func:`~.engine.quantise`'s
        digit limit) before asking.
        """
        sign, digits, exp = value.as_tuple()
        assert isinstance(exp, int)
        if not any(digits):
            return bool(sign), 0, False
        shift = exp - (self.exponent - 1)
        if shift >= 0:
            return bool(sign), _whole(digits) * 10**shift, False
        keep = max(len(digits) + shift, 0)
        return bool(sign), _whole(digits[:keep]), any(digits[keep:])

    def steps(self, value: Decimal) -> int:
        """``value`` in whole steps, rounded half away from zero (a finite ``value``)."""
        negative, units, _ = self._units(value)
        n = (units + 5 * self.coefficient) // (10 * self.coefficient)
        return -n if negative else n

    def _floor_ceil(self, value: Decimal) -> tuple[int, int]:
        """``value / resolution`` rounded down and up."""
        negative, units, dropped = self._units(value)
        size = 10 * self.coefficient
        low = units // size
        high = low + 1 if dropped or units % size else low
        return (-high, -low) if negative else (low, high)

    def floor_steps(self, value: Decimal) -> int:
        """The most steps whose value is at most ``value``."""
        return self._floor_ceil(value)[0]

    def ceil_steps(self, value: Decimal) -> int:
        """The fewest steps whose value is at least ``value``."""
        return self._floor_ceil(value)[1]

    def value(self, steps: int) -> Decimal:
        """``steps`` as an exact Decimal, written to the resolution's own exponent."""
        return Decimal(f"{steps * self.coefficient}E{self.exponent}")

    def echo(self, steps: int) -> int | float:
        """``steps`` as a result echoes it: an int on a whole resolution, else the nearest
        float (384 steps of 0.1 is 38.4)."""
        n = steps * self.numerator
        return n if self.denominator == 1 else n / self.denominator


# Grids by the id of their resolution, each entry holding the resolution itself (so the id
# is not reused while the entry lives, and a lookup checks it is the same object). Equal
# Decimals may differ in exponent (0.1 and 0.10 write their values differently), so the cache
# goes by object, not by value. Cleared when full; a race only builds a grid twice.
_GRIDS: dict[int, tuple[Decimal, Grid]] = {}
_MAX_GRIDS = 256


def grid_of(resolution: Decimal) -> Grid:
    """:meth:`Grid.of`, kept for the same resolution object (a measure's): building one costs
    more than the rest of checking a number."""
    entry = _GRIDS.get(id(resolution))
    if entry is not None and entry[0] is resolution:
        return entry[1]
    grid = Grid.of(resolution)
    if len(_GRIDS) >= _MAX_GRIDS:
        _GRIDS.clear()
    _GRIDS[id(resolution)] = (resolution, grid)
    return grid
