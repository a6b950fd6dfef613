"""The example runs end to end as a notebook; the tour and quick bench run; the plots draw."""

from __future__ import annotations

from pathlib import Path

import pytest

from designpatterns_ref import streaming as s
from designpatterns_ref.streaming import Bola, Manifest, Trace, simulate
from tests.notebooks import run_example


def test_video_streaming_example_runs(tmp_path: Path) -> None:
    run = run_example("video_streaming", tmp_path)
    out = run.text
    assert "intact: True" in out
    assert "same file again: skipped = True" in out
    assert "critical path: 53 s" in out
    assert "TinyLFU" in out
    assert "video-streaming-cdn.png" in run.files


def test_tour_and_quick_bench_run(shared_data: object) -> None:
    from designpatterns_ref.streaming._bench import bench_steps
    from designpatterns_ref.streaming._tour import tour

    lines: list[str] = []
    tour(lines.append)
    text = "\n".join(lines)
    assert "robust-mpc" in text and "CDN TinyLFU" in text
    steps = bench_steps(True)
    assert [name for name, _ in steps] == ["ABR sessions", "CDN caches"]
    tables = steps[0][1]()
    assert len(tables[0].rows) == 12  # 6 algorithms x (3G, 4G)


def test_plots_have_labelled_axes_and_artists() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from designpatterns_ref.streaming.plot import plot_hit_ratio, plot_session, plot_sessions

    movie = Manifest(2000, [500, 1000, 2000], [[1e6, 2e6, 4e6]] * 15)
    trace = Trace.constant(1500, latency_ms=50)
    result = simulate(movie, trace, Bola())
    fig = plot_session(result, trace)
    ax, buf = fig.axes
    assert ax.get_xlabel() == "session time (s)" and ax.get_ylabel() == "kbps"
    assert buf.get_ylabel() == "buffer (s)"
    assert len(ax.lines) == 2 and len(buf.lines) == 1
    assert len(plot_sessions([result, result], trace).axes) == 4
    curves = {"LRU": [(1.0, 0.2), (10.0, 0.5)], "LFU": [(1.0, 0.3), (10.0, 0.55)]}
    hit = plot_hit_ratio(curves)
    assert hit.axes[0].get_ylabel() == "hit ratio"
    assert [ln.get_label() for ln in hit.axes[0].lines] == ["LRU", "LFU"]


def test_a_session_plot_shades_every_stall() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from designpatterns_ref.streaming.plot import plot_session

    # 2 s segments of 4 Mbit at 1 Mbit/s: every download after the first stalls for 2 s
    movie = Manifest(2000, [2000], [[4e6]] * 4)
    trace = Trace.constant(1000)
    result = simulate(movie, trace, s.Fixed(0))
    assert result.stalls_s == [(6.0, 8.0), (10.0, 12.0), (14.0, 16.0)]
    ax = plot_session(result, trace).axes[0]
    spans = [x for p in ax.patches for x in p.get_bbox().intervalx]
    assert spans == pytest.approx([x for stall in result.stalls_s for x in stall])
    assert "stall" in ax.get_legend_handles_labels()[1]
