"""Band tables: a chart's printed rows, checked contiguous when built, looked up by bisection.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

:class:`Band` and :class:`BandTable` are part of :mod:`designpatterns_ref.clinical.base` (import
them from there); they live in this module so the rule tables' vocabulary stays short. A table
is built from the rows as the chart prints them, ``(low, high, points)`` with text edges, and is
refused with :class:`~designpatterns_ref.clinical.base.RulesetError` unless every edge is a
multiple of the chart's resolution (judged exactly, in decimal) and the bands are contiguous
at that resolution. Building is O(b) for b bands, a lookup O(log b).

>>> BandTable.of("0.1", [(None, "35.0", 3), ("35.1", None, 0)]).label(Decimal("35.1"))
'≥35.1'
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, InvalidOperation, localcontext

from designpatterns_ref.clinical._errors import RulesetError
from designpatterns_ref.errors import shown

__all__ = ["Band", "BandTable"]


@dataclass(frozen=True, slots=True)
class Band:
    """One printed band of a chart: inclusive bounds (None is open) and its points."""

    low: Decimal | None
    high: Decimal | None
    points: int

    @property
    def label(self) -> str:
        """The band as the chart prints it: ``≤8``, ``9–11``, ``≥25``."""
        if self.low is None:
            return f"≤{self.high}"
        if self.high is None:
            return f"≥{self.low}"
        return f"{self.low}–{self.high}"

    def contains(self, value: Decimal) -> bool:
        """Whether ``value`` lies in the band (inclusive bounds)."""
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


def _printed(field: str, value: object) -> Decimal:
    """A number as a chart prints it: a str holding a finite decimal, else RulesetError."""
    if isinstance(value, str) and len(value) <= 40:
        try:
            number = Decimal(value)
        except ArithmeticError:  # decimal.InvalidOperation: not a number
            pass
        else:
            if number.is_finite():
                return number
    raise RulesetError(
        f"{field}={shown(value, 60)} must be a str holding a finite decimal, like '35.1'"
    )


def _band(i: int, row: object) -> Band:
    """One ``(low, high, points)`` row as a :class:`Band`, checked; the ends may be None."""
    if not isinstance(row, tuple | list) or len(row) != 3:
        raise RulesetError(f"rows[{i}]={shown(row, 60)} must be a (low, high, points) row")
    lo, hi, points = row
    if type(points) is not int or not 0 <= points <= 3:
        raise RulesetError(f"rows[{i}]: points={shown(points, 60)} must be an int from 0 to 3")
    return Band(
        None if lo is None else _printed(f"rows[{i}] low", lo),
        None if hi is None else _printed(f"rows[{i}] high", hi),
        points,
    )


#: Exact decimal arithmetic: a result that would need rounding raises instead.
_EXACT = Context(prec=80, traps=[InvalidOperation, Inexact])


def _on_grid(edge: Decimal, step: Decimal) -> None:
    """Refuse an edge that is not a whole number of steps: values are quantised to the
    resolution, so an edge between two grid points leaves them in no band (or the wrong one).
    Judged exactly; an edge too far from the step for exact arithmetic is refused too."""
    try:
        with localcontext(_EXACT):
            if edge % step == 0:
                return
    except ArithmeticError:  # DivisionImpossible: the quotient needs more than 80 digits
        raise RulesetError(
            f"band edge {edge} is too far from the resolution {step} to check exactly"
        ) from None
    raise RulesetError(
        f"band edge {edge} must be a multiple of the resolution {step}: values are quantised "
        "to it, so an edge between two steps puts them in no band or the wrong one"
    )


@dataclass(frozen=True, slots=True)
class BandTable:
    """A chart row: contiguous bands at one resolution, looked up by binary search."""

    resolution: Decimal
    bands: tuple[Band, ...]
    _uppers: tuple[Decimal, ...] = field(repr=False, compare=False)

    @classmethod
    def of(cls, resolution: str, rows: Sequence[tuple[str | None, str | None, int]]) -> BandTable:
        """Build a table from ``(low, high, points)`` rows as printed, checking contiguity.

        ``resolution`` and the edges are text (``"0.1"``, ``"35.0"``), as the chart prints them;
        ``points`` is an int from 0 to 3. Every edge must be a whole number of ``resolution``
        steps (``35.05`` at ``0.1`` is refused: the quantised 35.1 would fall between bands).
        Anything else raises :class:`RulesetError`.
        """
        step = _printed("resolution", resolution)
        if step <= 0:
            raise RulesetError(f"resolution={shown(resolution)} must be positive")
        if not isinstance(rows, list | tuple):
            raise RulesetError(f"rows={shown(rows, 60)} must be a list of (low, high, points) rows")
        bands = tuple(_band(i, row) for i, row in enumerate(rows))
        for edge in (e for b in bands for e in (b.low, b.high) if e is not None):
            _on_grid(edge, step)
        if not bands or bands[0].low is not None or bands[-1].high is not None:
            raise RulesetError("a band table must open with ≤x and close with ≥y")
        for prev, band in itertools.pairwise(bands):
            if prev.high is None or band.low is None:
                raise RulesetError(
                    f"band {band.label} is open inside the table (only the ends are)"
                )
            try:
                with localcontext(_EXACT):  # 1E+39 + 0.1 must not round back to 1E+39
                    start = prev.high + step
            except ArithmeticError:
                raise RulesetError(
                    f"band edge {prev.high} is too far from the resolution {step} to check exactly"
                ) from None
            if band.low != start:
                raise RulesetError(
                    f"band {band.low}–{band.high or '...'} must start at {start} "
                    f"(one step of {step} after the previous band ends at {prev.high}): "
                    "the bands leave a gap or overlap"
                )
            if band.high is not None and band.high < band.low:
                raise RulesetError(f"band {band.label} is empty")
        uppers = tuple(b.high for b in bands[:-1] if b.high is not None)
        return cls(step, bands, uppers)

    def band(self, value: Decimal) -> Band:
        """The one band holding a quantised ``value``."""
        return self.bands[bisect_left(self._uppers, value)]

    def points(self, value: Decimal) -> int:
        """The points of the band holding ``value``."""
        return self.bands[bisect_left(self._uppers, value)].points

    def label(self, value: Decimal) -> str:
        """The printed label of the band holding ``value``."""
        return self.band(value).label
