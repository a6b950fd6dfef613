"""Draw what several limiters admit and deny on the same traffic (matplotlib, optional).

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

:func:`plot_decisions` replays one arrival list against each limiter with
:func:`.simulate` and draws one row per limiter: admitted requests as dots, denied ones as
crosses, plus the admitted count in a sliding window of ``per`` seconds beside the limit. It
needs matplotlib (the ``plot`` extra), imported only when called, with the Agg backend
unless one is already chosen, and writes a PNG.

Examples:
    >>> from designpatterns_ref.clock import ManualClock
    >>> from designpatterns_ref.ratelimit import FixedWindow
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "fw.png")
    >>> plot_decisions({"fixed": FixedWindow(2, 1.0, clock=ManualClock())}, [0.1, 0.2, 0.3], out)
    ... # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit.base import (
    RateLimiter,
    RateLimitError,
    check_count,
    check_positive,
)
from designpatterns_ref.ratelimit.simulate import SimulationResult, check_arrivals, simulate

__all__ = ["plot_decisions"]


def plot_decisions(
    limiters: Mapping[str, RateLimiter],
    arrivals: Sequence[float],
    path: str | Path,
    *,
    per: float = 1.0,
    limit: int | None = None,
    title: str = "",
) -> dict[str, SimulationResult]:
    """Replay ``arrivals`` against each limiter, draw the decisions to ``path`` (PNG).

    Returns each limiter's :class:`.SimulationResult`, by name.
    """
    try:
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo"):
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is in the plot extra
        raise RateLimitError("plot_decisions needs matplotlib: pip install matplotlib") from exc
    if not isinstance(limiters, Mapping) or not limiters:
        raise RateLimitError(
            f"plot_decisions: limiters={limiters!r:.80} must be a non-empty mapping of names to "
            "limiters"
        )
    for name, limiter in limiters.items():
        if not isinstance(limiter, RateLimiter) or not isinstance(
            getattr(limiter, "clock", None), ManualClock
        ):
            raise RateLimitError(
                f"plot_decisions: limiters[{name!r:.40}]={limiter!r:.60} must be a limiter "
                "on a ManualClock"
            )
    times = check_arrivals("plot_decisions", arrivals)
    target = _check_path(path)
    per = check_positive("plot_decisions", "per", per)
    if limit is not None:
        limit = check_count("plot_decisions", "limit", limit)
    if not isinstance(title, str) or len(title) > 200 or not _encodable(title):
        raise RateLimitError(
            f"plot_decisions: title={title!r:.80} must be valid text of at most 200 characters"
        )
    results = {name: simulate(limiter, times) for name, limiter in limiters.items()}
    fig, axes = plt.subplots(len(results), 1, figsize=(10, 1.9 * len(results) + 0.6), sharex=True)
    axes = [axes] if len(results) == 1 else list(axes)
    counts = {name: _sliding_counts(r.admitted, per) for name, r in results.items()}
    top = max([c for steps in counts.values() for _, c in steps] + [limit or 0, 1]) * 1.1
    for ax, (name, result) in zip(axes, results.items(), strict=True):
        ax.plot(result.admitted, [1] * len(result.admitted), "o", ms=3, color="tab:green")
        ax.plot(result.denied, [0] * len(result.denied), "x", ms=3, color="tab:red")
        ax.set_yticks([0, 1], ["denied", "admitted"])
        ax.set_ylim(-0.5, 1.5)
        twin = ax.twinx()
        window = counts[name]
        twin.step([t for t, _ in window], [c for _, c in window], where="post", color="tab:blue")
        twin.set_ylim(0, top)  # one scale for every row, so the rows compare at a glance
        if limit is not None:
            twin.axhline(limit, color="tab:gray", linestyle="--", linewidth=1)
        twin.set_ylabel(f"in last {per:g}s", fontsize=8)
        admitted, total = len(result.admitted), result.total
        ax.set_title(f"{name}: {admitted}/{total} admitted", fontsize=9, loc="left")
    axes[-1].set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return results


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_path(path: object) -> Path:
    """``path`` as a Path, or RateLimitError unless it names a ``.png`` file in an existing
    folder (nothing is written on refusal)."""
    if not isinstance(path, str | os.PathLike) or isinstance(path, bytes):
        raise RateLimitError(f"plot_decisions: path={path!r:.80} must be a str or a Path")
    target = Path(path)
    text = str(target)
    if (
        "\x00" in text
        or len(text) > 4000
        or not _encodable(text)
        or target.suffix.lower() != ".png"
        or len(target.name) > 255
        or not target.parent.is_dir()
    ):
        raise RateLimitError(
            f"plot_decisions: path={path!r:.80} must name a .png file in an existing folder"
        )
    return target


def _sliding_counts(times: Sequence[float], per: float) -> list[tuple[float, int]]:
    """The count of ``times`` in ``(t - per, t]`` at each change, as (t, count) steps."""
    events = sorted([(t, 1) for t in times] + [(t + per, -1) for t in times])
    out, count = [], 0
    for t, step in events:
        count += step
        out.append((t, count))
    return out
