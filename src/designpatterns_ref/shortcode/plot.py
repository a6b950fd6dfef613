"""Pictures of short codes: the birthday curve measured, and Snowflake IDs sorting by time.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md), and the ID
half of Design a Photo Sharing App (Instagram-Style) (docs/case-studies/photo-sharing.md)

:func:`plot_birthday` hashes ``n`` distinct URLs into codes of a few base62 characters for a
range of ``n``, counts how many landed on a code already taken, and draws the mean over several
trials beside the formula (:func:`expected_collisions`) and the point of even odds
(:func:`codes_until_collision`): collisions start long before the space is full, near
``sqrt(62**length)``. :func:`plot_snowflake_ids` draws IDs minted by several workers against
the millisecond they were minted in: whatever the worker, a later millisecond means a larger ID,
which is why "newest first" is an index scan.

Both return the matplotlib ``Figure`` (inline in a notebook; ``dp.show(fig, name)`` saves it
from a script), take ``ax=`` to draw into your own figure, and never touch pyplot or the
backend. matplotlib (the ``plot`` extra) is imported only when called.

Complexity: :func:`plot_birthday` hashes ``trials * sum(ns)`` URLs; the other is O(len(ids)).

>>> import importlib.util
>>> has_matplotlib = importlib.util.find_spec("matplotlib") is not None
>>> fig = plot_birthday(2, ns=[10, 40], trials=3) if has_matplotlib else None
>>> fig is None or fig.axes[0].get_ylabel() == "colliding URLs"
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.base import ShortCodeError
from designpatterns_ref.shortcode.birthday import codes_until_collision, expected_collisions
from designpatterns_ref.shortcode.hashing import HashCodes
from designpatterns_ref.shortcode.snowflake import INSTAGRAM, INSTAGRAM_EPOCH_MS, Layout, decompose

__all__ = ["plot_birthday", "plot_snowflake_ids", "tour_figures"]


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ShortCodeError(f"{name} must be an int from {low} to {high}, got {shown(value)}")
    return value


def plot_birthday(
    length: int = 3,
    *,
    ns: Sequence[int] | None = None,
    trials: int = 20,
    hash: str = "mmh3",
    ax: Any = None,
) -> Any:
    """Measured collisions of ``length``-character hash codes against the birthday bound.

    For every ``n`` in ``ns`` (default: ten steps up to three times the even-odds point),
    ``trials`` sets of ``n`` distinct URLs are hashed; a dot is the mean number of URLs whose
    code was already taken, the line is :func:`expected_collisions`. Returns the Figure.
    """
    _check_int("length", length, 1, 4)
    _check_int("trials", trials, 1, 1000)
    space = 62**length
    half = codes_until_collision(0.5, space)
    if ns is None:
        ns = sorted({max(2, round(3 * half * i / 10)) for i in range(1, 11)})
    ns = [_check_int("each n", n, 1, 200_000) for n in ns]
    if not ns:
        raise ShortCodeError("ns is empty; give at least one number of URLs")
    codes = HashCodes(length=length, hash=hash)
    measured = []
    for n in ns:
        total = 0
        for t in range(trials):
            total += n - len({codes.code(f"https://example.com/{n}/{t}/{i}") for i in range(n)})
        measured.append(total / trials)
    from designpatterns_ref.figures import new_figure

    fig, ax = new_figure(ax, figsize=(6.5, 4.0))
    top = max(ns)
    xs = [top * i / 200 for i in range(201)]
    ax.plot(
        xs,
        [expected_collisions(round(x), space) for x in xs],
        color="tab:blue",
        label="birthday bound: n - N(1 - (1 - 1/N)^n)",
    )
    ax.plot(ns, measured, "o", color="tab:orange", label=f"measured ({hash}, mean of {trials})")
    ax.axvline(
        half,
        color="tab:gray",
        linestyle="--",
        linewidth=1,
        label=f"even odds of one collision: {half:,} URLs",
    )
    ax.set_xlabel(f"URLs hashed into {length}-character codes ({space:,} codes)")
    ax.set_ylabel("colliding URLs")
    ax.set_title(f"Collisions start near sqrt({space:,}) = {math.isqrt(space):,}, not at {space:,}")
    ax.legend(fontsize="small")
    return fig


def plot_snowflake_ids(
    ids: Iterable[int],
    *,
    layout: Layout = INSTAGRAM,
    epoch_ms: int = INSTAGRAM_EPOCH_MS,
    ax: Any = None,
) -> Any:
    """Snowflake IDs against the millisecond they were minted in, one colour per worker.

    Each ID is split with :func:`decompose`; the y axis is the ID's rank among all of them, so
    a staircase that only climbs shows IDs from every worker sorting by time. Returns the Figure.
    """
    ids = list(ids)
    if not ids:
        raise ShortCodeError("ids is empty; give at least one ID")
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, int) or i < 0:
            raise ShortCodeError(f"each ID must be a non-negative int, got {shown(i)}")
    parts = {i: decompose(i, layout=layout, epoch_ms=epoch_ms) for i in ids}
    rank = {i: r for r, i in enumerate(sorted(ids))}
    first = min(p.timestamp_ms for p in parts.values())
    from designpatterns_ref.figures import new_figure

    fig, ax = new_figure(ax, figsize=(6.5, 4.0))
    for worker in sorted({p.worker for p in parts.values()}):
        mine = [i for i in ids if parts[i].worker == worker]
        ax.plot(
            [parts[i].timestamp_ms - first for i in mine],
            [rank[i] for i in mine],
            "o",
            ms=4,
            label=f"worker {worker}",
        )
    ax.set_xlabel("milliseconds since the first ID")
    ax.set_ylabel("rank of the ID (sorted as integers)")
    ax.set_title(
        f"{len(ids)} IDs from {len({p.worker for p in parts.values()})} workers sort by time "
        f"({layout.time_bits}/{layout.worker_bits}/{layout.sequence_bits} bits)"
    )
    ax.legend(fontsize="small")
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    from designpatterns_ref.clock import ManualClock
    from designpatterns_ref.shortcode.snowflake import Snowflake

    clock = ManualClock(start=1_700_000_000.0)
    workers = [
        Snowflake(
            worker=w,
            layout=INSTAGRAM,
            epoch_ms=INSTAGRAM_EPOCH_MS,
            clock=clock,
            sleep=clock.advance,
        )
        for w in (5, 1341, 8000)
    ]
    ids = []
    for step in range(12):
        for w in workers[: 1 + step % 3]:
            ids.append(w.next_id())
        clock.advance(0.001)
    return {"birthday": plot_birthday(2, trials=40), "snowflake": plot_snowflake_ids(ids)}
