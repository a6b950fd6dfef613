"""Pictures of the booking race: rooms sold on the busiest night per strategy, against the
inventory, and bookings per second under contention.

Case study: Design a Hotel Booking System (docs/case-studies/hotel-booking.md)

:func:`plot_race` draws one bar per strategy for the most rooms sold on any night, with the
inventory as a line: every bar at or under it except the naive strategy's, which goes through it.
:func:`plot_throughput` draws bookings per second per strategy and engine. Both take a
non-empty list of :class:`~designpatterns_ref.booking.race.RaceResult` (each with ``seconds`` >
0), return a matplotlib Figure (imported lazily, the ``plot`` extra) and take an optional ``ax``;
anything else raises :class:`~designpatterns_ref.booking.base.BookingError`.

Complexity: O(results) to draw.

>>> from designpatterns_ref.booking.plot import plot_race
>>> callable(plot_race)
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from designpatterns_ref.booking.base import BookingError
from designpatterns_ref.booking.race import RaceResult
from designpatterns_ref.errors import shown
from designpatterns_ref.figures import new_figure

__all__ = ["plot_race", "plot_throughput", "tour_figures"]

#: The longest race time a figure takes, in seconds (a year).
MAX_SECONDS = 365 * 86_400


def _check(results: object, ax: object) -> list[RaceResult]:
    """The races as a list, each with a positive finite time; the ``ax`` an Axes or ``None``."""
    if isinstance(results, str | bytes | RaceResult) or not isinstance(results, Iterable):
        raise BookingError(
            f"results={shown(results, 80)} must be a non-empty list of RaceResult (from race())"
        )
    out = list(results)
    if not out or not all(isinstance(r, RaceResult) for r in out):
        raise BookingError(
            f"results={shown(out, 80)} must be a non-empty list of RaceResult (from race())"
        )
    for r in out:
        s = r.seconds
        # an int is compared exactly (no float overflow); NaN fails every comparison
        if type(s) not in (int, float) or not 0 < s <= MAX_SECONDS:
            raise BookingError(
                f"results: {shown(r.strategy, 40)} has seconds={shown(s, 40)}; "
                f"it must be a number > 0 and at most {MAX_SECONDS:,} (a year)"
            )
    if ax is not None:
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            raise BookingError(f"ax={shown(ax, 80)} must be a matplotlib Axes or None")
    return out


def plot_race(results: Sequence[RaceResult], *, ax: Any = None) -> Any:
    """Most rooms sold on one night, per strategy, beside the inventory."""
    results = _check(results, ax)
    fig, ax = new_figure(ax)
    labels = [f"{r.strategy}\n{r.engine}" for r in results]
    colours = ["tab:red" if r.oversold else "tab:blue" for r in results]
    ax.bar(labels, [r.max_sold for r in results], color=colours)
    ax.axhline(
        results[0].total, color="k", linestyle="--", label=f"inventory: {results[0].total} rooms"
    )
    ax.set_ylabel("rooms sold on the busiest night")
    ax.set_xlabel("strategy")
    ax.set_title(f"{results[0].accepted + results[0].refused} bookers at once")
    ax.legend(fontsize="small")
    return fig


def plot_throughput(results: Sequence[RaceResult], *, ax: Any = None) -> Any:
    """Bookers served per second (accepted or refused), per strategy and engine."""
    results = _check(results, ax)
    fig, ax = new_figure(ax)
    labels = [f"{r.strategy}\n{r.engine}" for r in results]
    ax.bar(labels, [(r.accepted + r.refused) / r.seconds for r in results], color="tab:green")
    ax.set_ylabel("requests answered per second")
    ax.set_xlabel("strategy")
    ax.set_title("The same race: how fast each strategy answers")
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    from designpatterns_ref.booking._tour import race_all

    return {"race": plot_race(race_all(40))}
