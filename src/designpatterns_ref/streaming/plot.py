"""Figures: one session (bandwidth, chosen bitrate, buffer), sessions side by side, CDN curves.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

:func:`plot_session` draws a :class:`~designpatterns_ref.streaming.session.SessionResult` over
its network log: the trace's bandwidth and the bitrate of each segment as it downloads (kbps,
left axis), and the buffer level after each download (seconds, right axis), every stall
(:attr:`~designpatterns_ref.streaming.session.SessionResult.stalls_s`) shaded.
:func:`plot_sessions` stacks one such panel per algorithm; :func:`plot_hit_ratio` draws CDN hit
ratio against cache size, one line per policy. matplotlib is imported only inside the functions
(the ``plot`` extra); each takes an optional ``ax`` and returns the ``Figure``.

Complexity: O(segments + periods) to draw a session.

>>> callable(plot_session)
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.figures import new_figure
from designpatterns_ref.streaming.base import StreamingTypeError, Trace, check_list, check_number
from designpatterns_ref.streaming.session import SessionResult

__all__ = ["plot_hit_ratio", "plot_session", "plot_sessions"]


def _bandwidth_steps(trace: Trace, until_s: float) -> tuple[list[float], list[float]]:
    xs, ys, t = [0.0], [], 0.0
    periods = trace.periods
    i = 0
    while t < until_s:
        p = periods[i % len(periods)]
        ys.append(p.bandwidth_kbps)
        t += p.duration_ms / 1000.0
        xs.append(t)
        i += 1
    ys.append(ys[-1])
    return xs, ys


def _check_ax(ax: Any) -> None:
    if ax is not None and not callable(getattr(ax, "plot", None)):
        raise StreamingTypeError(f"ax={shown(ax, 60)} must be a matplotlib Axes or None")


def plot_session(result: SessionResult, trace: Trace, *, ax: Any = None) -> Any:
    """Bandwidth, chosen bitrate and buffer level of one session; returns the Figure."""
    _check_ax(ax)
    if not isinstance(result, SessionResult):
        raise StreamingTypeError(f"result={shown(result)} must be a SessionResult")
    if not isinstance(trace, Trace):
        raise StreamingTypeError(f"trace={shown(trace)} must be a Trace")
    fig, ax = new_figure(ax, figsize=(8.0, 3.5))
    end = result.finish_s[-1] if result.finish_s else 0.0
    xs, ys = _bandwidth_steps(trace, end)
    ax.step(xs, ys, where="post", color="0.6", linewidth=0.8, label="bandwidth")
    bx, by = [], []
    for start, finish, rate in zip(
        result.request_s, result.finish_s, result.bitrates_kbps, strict=True
    ):
        bx += [start, finish]
        by += [rate, rate]
    ax.plot(bx, by, color="tab:blue", linewidth=1.4, label="bitrate chosen")
    for i, (start, finish) in enumerate(result.stalls_s):
        ax.axvspan(
            start, finish, color="tab:red", alpha=0.2, lw=0, label="stall" if i == 0 else None
        )
    ax.set_xlabel("session time (s)")
    ax.set_ylabel("kbps")
    top = max([*result.manifest.bitrates_kbps, 1.0]) * 1.6
    ax.set_ylim(0, top)
    ax.set_xlim(0, end)
    buf = ax.twinx()
    buf.plot(result.finish_s, result.buffer_s, color="tab:orange", linewidth=1.0, label="buffer")
    buf.set_ylabel("buffer (s)")
    buf.set_ylim(0, result.buffer_cap_s * 1.05)
    ax.set_title(
        f"{result.algorithm} on {result.trace}: {result.avg_bitrate_kbps:,.0f} kbps, "
        f"{result.rebuffer_s:.1f} s stalled, QoE {result.qoe_per_segment:,.0f}/segment",
        fontsize="small",
    )
    handles = ax.get_legend_handles_labels()
    more = buf.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], loc="upper right", fontsize="x-small")
    return fig


def plot_sessions(results: Sequence[SessionResult], trace: Trace) -> Any:
    """One :func:`plot_session` panel per result, stacked, sharing the time axis."""
    from matplotlib.figure import Figure

    results = check_list("results", results, min_len=1, max_len=100)
    for i, r in enumerate(results):
        if not isinstance(r, SessionResult):
            raise StreamingTypeError(f"results[{i}]={shown(r, 60)} must be a SessionResult")
    if not isinstance(trace, Trace):
        raise StreamingTypeError(f"trace={shown(trace, 60)} must be a Trace")
    fig = Figure(figsize=(8.0, 2.4 * len(results)), layout="constrained")
    axes = fig.subplots(len(results), 1, sharex=True, squeeze=False)
    for result, row in zip(results, axes, strict=True):
        plot_session(result, trace, ax=row[0])
    return fig


def plot_hit_ratio(
    curves: Mapping[str, Sequence[tuple[float, float]]],
    *,
    ax: Any = None,
    xlabel: str = "cache size (% of catalogue bytes)",
) -> Any:
    """Hit ratio (y, 0..1) against cache size (x), one line per policy; returns the Figure."""
    _check_ax(ax)
    if not isinstance(curves, Mapping) or not curves:
        raise StreamingTypeError(f"curves={shown(curves, 60)} must be a non-empty mapping")
    if not isinstance(xlabel, str):
        raise StreamingTypeError(f"xlabel={shown(xlabel, 60)} must be a str")
    for name, points in curves.items():
        if not isinstance(name, str):
            raise StreamingTypeError(f"curves key {shown(name, 60)} must be a str")
        for i, point in enumerate(check_list(f"curves[{name!r}]", points)):
            pair = check_list(f"curves[{name!r}][{i}]", point, min_len=2, max_len=2)
            check_number(f"curves[{name!r}][{i}][0]", pair[0], minimum=-1e15)
            check_number(f"curves[{name!r}][{i}][1]", pair[1], minimum=-1e15)
    fig, ax = new_figure(ax)
    for name, points in curves.items():
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        ax.plot(xs, ys, marker="o", markersize=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("hit ratio")
    ax.set_ylim(0, 1)
    ax.set_title("CDN edge: hit ratio against cache size")
    ax.legend(fontsize="small")
    return fig
