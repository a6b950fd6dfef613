"""The case study's example, the tour and the bench steps run end to end; the plots draw."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

from designpatterns_ref.notifications import NotificationError
from designpatterns_ref.notifications._tour import tour
from designpatterns_ref.notifications.plot import plot_fates, plot_local_hours
from designpatterns_ref.notifications.simulate import campaign_pipeline, send_campaign
from tests.notebooks import run_example


def test_push_notifications_example_runs(tmp_path: Path) -> None:
    run = run_example("push_notifications", tmp_path)
    assert "delivered twice to one device: 0" in run.text
    assert "promotions delivered inside someone's quiet hours: 0" in run.text
    assert "queued: 0" in run.text
    assert "push-notification-fates.png" in run.files


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
