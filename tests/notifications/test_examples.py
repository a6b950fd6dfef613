"""The case study's example, the tour and the bench steps run end to end; the plots draw."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

from designpatterns_ref.notifications import NotificationError
from designpatterns_ref.notifications._tour import tour
from designpatterns_ref.notifications.plot import plot_fates, plot_local_hours
from designpatterns_ref.notifications.simulate import campaign_pipeline, send_campaign

ROOT = Path(__file__).resolve().parents[2]


def test_push_notifications_example_runs(tmp_path: Path) -> None:
    env = {**os.environ, "DPREF_PLOTS": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "push_notifications.py")],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "delivered twice to one device: 0" in done.stdout
    assert "promotions delivered inside someone's quiet hours: 0" in done.stdout
    assert "queued: 0" in done.stdout
    assert (tmp_path / "push-notification-fates.png").read_bytes().startswith(b"\x89PNG")


def test_tour_tells_the_story() -> None:
    lines: list[str] = []
    tour(lines.append)
    text = "\n".join(lines)
    assert "never twice" in text and "accept again -> False" in text
    assert "ship-o2 delivered 1 time(s)" in text


def test_plots_have_labelled_axes() -> None:
    matplotlib.use("Agg")
    p = send_campaign(campaign_pipeline(users=50, seed=3), campaigns=2)
    for fig in (plot_fates(p), plot_local_hours(p)):
        ax = fig.axes[0]
        assert ax.get_xlabel() and ax.get_ylabel() and ax.patches
    with pytest.raises(NotificationError):
        plot_fates(None)  # type: ignore[arg-type]
