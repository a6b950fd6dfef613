"""The clinical figures: sub-scores, total and risk bands over time; a ward histogram."""

from __future__ import annotations

import matplotlib
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from designpatterns_ref.clinical import NEWS2, NEWS_2012, ClinicalError, Risk, assess, news2
from designpatterns_ref.clinical.base import Ruleset
from designpatterns_ref.clinical.plot import plot_observations, plot_ward, tour_figures

BASE = dict(respiration_rate=16, spo2=97, systolic_bp=120, pulse=70, consciousness="A",
            temperature=37.0)  # fmt: skip


@pytest.fixture(autouse=True)
def _agg() -> None:
    matplotlib.use("Agg")


def test_observations_total_line_bars_and_bands() -> None:
    obs = [BASE, {**BASE, "respiration_rate": 26}, {**BASE, "respiration_rate": 26, "pulse": 135}]
    fig = plot_observations([0, 2, 4], obs)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    total = next(line for line in ax.lines if line.get_label() == "total")
    assert list(total.get_ydata()) == [news2.score(**o).total for o in obs]  # type: ignore[arg-type]
    bands = [p for p in ax.patches if "risk" in p.get_label()]
    assert [p.get_label() for p in bands] == ["low risk (0+)", "medium risk (5+)", "high risk (7+)"]
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p not in bands]
    assert sum(b.get_height() for b in bars) == sum(total.get_ydata())
    red = ax.collections  # the ringed red scores: t=2 (a single 3, total 3) and t=4 (total 6)
    assert len(red) == 1 and [list(p) for p in red[0].get_offsets()] == [[2, 3], [4, 6]]
    assert ax.get_xlabel() == "hours since admission" and ax.get_ylabel() == "NEWS2 score"


_RED = [  # (respiration rate, pulse, consciousness): totals from 0 to 9, some with a single 3
    (16, 70, "A"), (26, 70, "A"), (26, 115, "A"), (26, 135, "A"), (22, 115, "A"),
    (16, 70, "V"), (24, 125, "A"), (26, 115, "V"),
]  # fmt: skip


@pytest.mark.parametrize("ruleset", [NEWS2, NEWS_2012], ids=["news2", "news2012"])
def test_every_red_score_is_ringed_whatever_its_band(ruleset: Ruleset) -> None:
    # A single 3 lifts a low total to low-medium (NEWS2); it was ringed only then, not in a
    # medium or high total, nor in any NEWS (2012) score, whose single 3 is "medium".
    obs = [{**BASE, "respiration_rate": rr, "pulse": p, "consciousness": c} for rr, p, c in _RED]
    times = list(range(len(obs)))
    scored = [assess(ruleset, o) for o in obs]
    want = [[t, r.total] for t, r in zip(times, scored, strict=True) if r.red_score]
    assert len(want) >= 4 and {r.risk for r in scored if r.red_score} >= {Risk.MEDIUM, Risk.HIGH}
    ax = plot_observations(times, obs, ruleset=ruleset).axes[0]
    (rings,) = ax.collections
    assert [list(p) for p in rings.get_offsets()] == want


def test_ward_histogram_counts_every_result() -> None:
    results = [news2.score(**BASE), news2.score(**{**BASE, "pulse": 135})]  # type: ignore[arg-type]
    own = Figure().add_subplot()
    assert plot_ward(results, ax=own) is own.figure
    assert sum(p.get_height() for p in own.patches) == 2
    assert own.get_xlabel() == "NEWS2 total" and own.get_ylabel() == "observations"


@pytest.mark.parametrize(
    "call",
    [
        lambda: plot_observations([], []),
        lambda: plot_observations([0, 1], [BASE]),
        lambda: plot_observations([float("nan")], [BASE]),
        lambda: plot_observations([True], [BASE]),
        lambda: plot_observations([0], [None]),
        lambda: plot_observations([0], [{**BASE, "pulse": -3}]),
        lambda: plot_ward([]),
        lambda: plot_ward([None]),
        lambda: plot_ward([news2.score(**BASE)], ruleset=None),  # type: ignore[arg-type]
        lambda: plot_ward([news2.score(**BASE)], ruleset="news2"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_raise_the_family_error(call: object) -> None:
    with pytest.raises(ClinicalError):
        call()  # type: ignore[operator]


def test_tour_figures_are_figures() -> None:
    assert all(isinstance(f, Figure) for f in tour_figures().values())
