"""Draw what several limiters admit and deny on the same traffic (matplotlib, optional).

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

:func:`plot_decisions` replays one arrival list against each limiter with :func:`simulate` and
draws one row per limiter: admitted requests as green dots, denied ones as red crosses, and on
a second scale the number admitted in the last ``per`` seconds beside the limit, one scale for
every row so the rows compare at a glance. The fixed window's double burst at a boundary, the
bucket's burst plus refill and the exact log's flat ceiling are visible at once.

It returns the matplotlib ``Figure`` (shown inline in a notebook; ``dp.show(fig, name)`` saves
it from a script) and never touches pyplot or the backend. Pass ``ax=`` (one Axes per limiter)
to draw into your own figure. matplotlib (the ``plot`` extra) is imported only when called.

Complexity: O(n log n) for n arrivals per limiter (the replay plus a sort for the window count).

>>> import importlib.util
>>> from designpatterns_ref.clock import ManualClock
>>> from designpatterns_ref.ratelimit import FixedWindow
>>> if importlib.util.find_spec("matplotlib"):
...     fig = plot_decisions({"fixed": FixedWindow(2, 1.0, clock=ManualClock())}, [0.1, 0.2, 0.3])
...     print(fig.axes[0].get_title(loc="left"))
... else:
...     print("fixed: 2/3 admitted")
fixed: 2/3 admitted
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from designpatterns_ref.errors import shown

if TYPE_CHECKING:  # pragma: no cover
    from designpatterns_ref.ratelimit import RateLimiter

__all__ = ["plot_decisions", "tour_figures"]


def plot_decisions(
    limiters: Mapping[str, RateLimiter],
    arrivals: Sequence[float],
    *,
    per: float = 1.0,
    limit: int | None = None,
    title: str = "",
    ax: Any = None,
) -> Any:
    """Replay ``arrivals`` against each limiter and draw the decisions; return the Figure.

    ``ax`` is None (a new figure, one row per limiter), or one matplotlib Axes per limiter (a
    single Axes when there is one limiter). Raises :class:`RateLimitError` when ``limiters`` is
    empty or ``ax`` does not give one Axes per limiter.
    """
    from designpatterns_ref.clock import ManualClock
    from designpatterns_ref.figures import new_figure
    from designpatterns_ref.ratelimit import RateLimiter, RateLimitError, simulate
    from designpatterns_ref.ratelimit.base import check_count, check_positive
    from designpatterns_ref.ratelimit.simulate import check_arrivals

    if not isinstance(limiters, Mapping) or not limiters:
        raise RateLimitError(
            f"plot_decisions: limiters={shown(limiters, 80)} must be a non-empty mapping of names "
            "to limiters; give at least one"
        )
    for name, limiter in limiters.items():
        if not isinstance(limiter, RateLimiter) or not isinstance(
            getattr(limiter, "clock", None), ManualClock
        ):
            raise RateLimitError(
                f"plot_decisions: limiters[{shown(name, 40)}]={shown(limiter, 60)} must be a "
                "limiter on a ManualClock"
            )
    arrivals = check_arrivals("plot_decisions", arrivals)  # all checked before any replay
    per = check_positive("plot_decisions", "per", per)
    if limit is not None:
        limit = check_count("plot_decisions", "limit", limit)
    if not isinstance(title, str) or len(title) > 200 or not _encodable(title):
        raise RateLimitError(
            f"plot_decisions: title={shown(title, 80)} must be valid text of at most 200 characters"
        )
    n = len(limiters)
    if ax is not None:
        given = _as_list(ax)
        if not all(hasattr(one, "figure") and hasattr(one, "twinx") for one in given):
            raise RateLimitError(f"plot_decisions: ax={shown(ax, 80)} must be matplotlib Axes")
        if len(given) != n:
            raise RateLimitError(
                f"plot_decisions: ax gives {len(given)} Axes for {n} limiters; give one each"
            )
        ax = given if n > 1 else given[0]
    fig, axes = new_figure(ax, figsize=(9, 1.7 * n + 0.7), rows=n, sharex=True)
    axes = axes if isinstance(axes, list) else [axes]
    results = {name: simulate(limiter, arrivals) for name, limiter in limiters.items()}
    counts = {name: _sliding_counts(r.admitted, per) for name, r in results.items()}
    top = max([c for steps in counts.values() for _, c in steps] + [limit or 0, 1]) * 1.15
    for axis, (name, result) in zip(axes, results.items(), strict=True):
        axis.plot(result.admitted, [1] * len(result.admitted), "o", ms=3, color="tab:green")
        axis.plot(result.denied, [0] * len(result.denied), "x", ms=3, color="tab:red")
        axis.set_yticks([0, 1], ["denied", "admitted"])
        axis.set_ylim(-0.5, 1.5)
        axis.set_ylabel("decision", fontsize=8)
        twin = axis.twinx()
        window = counts[name]
        twin.step(
            [t for t, _ in window], [c for _, c in window], where="post", color="tab:blue", lw=1
        )
        twin.set_ylim(0, top)
        if limit is not None:
            twin.axhline(limit, color="tab:gray", linestyle="--", linewidth=1)
        twin.set_ylabel(f"admitted in last {per:g} s", fontsize=8)
        axis.set_title(f"{name}: {len(result.admitted)}/{result.total} admitted", loc="left")
    axes[-1].set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    return fig


def _as_list(ax: Any) -> list[Any]:
    if hasattr(ax, "flat"):
        return list(ax.flat)
    return list(ax) if isinstance(ax, Sequence) else [ax]


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _sliding_counts(times: Sequence[float], per: float) -> list[tuple[float, int]]:
    """The count of ``times`` in ``(t - per, t]`` at each change, as (t, count) steps."""
    events = sorted([(t, 1) for t in times] + [(t + per, -1) for t in times])
    out, count = [], 0
    for t, step in events:
        count += step
        out.append((t, count))
    return out


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    from designpatterns_ref.clock import ManualClock
    from designpatterns_ref.ratelimit import (
        FixedWindow,
        SlidingWindowLog,
        TokenBucket,
        boundary_burst,
        poisson,
    )

    arrivals = sorted(poisson(6, 6.0, seed=1) + boundary_burst(10, 1.0, window=3))
    limiters: dict[str, Any] = {
        "TokenBucket": TokenBucket(10, 1.0, 10, clock=ManualClock()),
        "FixedWindow": FixedWindow(10, 1.0, clock=ManualClock()),
        "SlidingWindowLog": SlidingWindowLog(10, 1.0, clock=ManualClock()),
    }
    fig = plot_decisions(limiters, arrivals, limit=10, title="10 per second, the same traffic")
    return {"decisions": fig}
