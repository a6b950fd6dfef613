"""The collab figures: a merge timeline that shows the converged text, items over a replay."""

from __future__ import annotations

import matplotlib
import pytest
from matplotlib.figure import Figure

from designpatterns_ref.collab import CollabError, FugueMaxReplica, RGAReplica
from designpatterns_ref.collab.plot import plot_items, plot_merge, tour_figures


@pytest.fixture(autouse=True)
def _agg() -> None:
    matplotlib.use("Agg")


def test_merge_timeline_lanes_texts_and_the_merged_text() -> None:
    edits = {"alice": [(0, 0, "Hi "), (3, 0, "all ")], "bob": [(5, 0, "!")]}
    fig = plot_merge("hello", edits)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    a, b = FugueMaxReplica("origin"), None
    a.insert(0, "hello")
    b = a.fork("bob")
    a2 = a.fork("alice")
    a2.insert(0, "Hi ")
    a2.insert(3, "all ")
    b.insert(5, "!")
    a2.merge(b)
    texts = [t.get_text() for t in ax.texts]
    assert repr(a2.text()) == texts[-1]  # the merged text, last
    assert "'Hi all hello'" in texts and "'hello!'" in texts
    assert [t.get_text() for t in ax.get_yticklabels()] == ["merged", "alice", "bob"]
    assert ax.get_xlabel() and ax.get_ylabel() == "replica"
    assert len(ax.lines) == 3  # two lanes and the merge point


def test_items_one_line_per_replica_plus_length() -> None:
    patches = [(i, 0, "x") for i in range(50)] + [(10, 5, "")]
    own = Figure().add_subplot()
    fig = plot_items(patches, replicas=(RGAReplica, FugueMaxReplica), points=5, ax=own)
    assert fig is own.figure
    length, *items = own.lines
    assert length.get_ydata()[-1] == 45
    assert len(items) == 2 and all(line.get_ydata()[-1] <= 50 for line in items)
    assert own.get_xlabel() == "edits replayed" and own.get_ylabel() == "count"


@pytest.mark.parametrize(
    "call",
    [
        lambda: plot_merge(None, {"a": []}),  # type: ignore[arg-type]
        lambda: plot_merge("x", {}),
        lambda: plot_merge("x", {"a": [(0, 0)]}),
        lambda: plot_merge("x", {"a": [(-1, 0, "y")]}),
        lambda: plot_items([]),
        lambda: plot_items([(0, 0, "a")], points=1),
        lambda: plot_items([(0, True, "a")]),
        lambda: plot_merge("x", {"a": []}, replica=lambda agent: object()),
        lambda: plot_merge("x", {"a": []}, replica="FugueMaxReplica"),  # type: ignore[arg-type]
        lambda: plot_items([(0, 0, "a")], replicas=[object]),
        lambda: plot_items([(0, 0, "a")], replicas=[len]),
    ],
)
def test_bad_arguments_raise_the_family_error(call: object) -> None:
    with pytest.raises(CollabError):
        call()  # type: ignore[operator]


def test_tour_figures_are_figures() -> None:
    assert all(isinstance(f, Figure) for f in tour_figures().values())
