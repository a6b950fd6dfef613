"""The autocomplete figures: work per keystroke, and the trie with a prefix's path and top k."""

from __future__ import annotations

import matplotlib
import pytest
from matplotlib.figure import Figure

from designpatterns_ref.autocomplete import AutocompleteError, BruteForceCompleter, Trie
from designpatterns_ref.autocomplete.plot import plot_keystrokes, plot_trie, tour_figures

WORDS = [("car", 5), ("cat", 9), ("cart", 2), ("dog", 4)]


@pytest.fixture(autouse=True)
def _agg() -> None:
    matplotlib.use("Agg")


def test_keystrokes_one_line_per_completer_one_point_per_letter() -> None:
    fig = plot_keystrokes({"brute": BruteForceCompleter(WORDS), "trie": Trie(WORDS)}, "cart")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["brute", "trie"]
    assert all(len(line.get_xdata()) == 4 for line in ax.lines)
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel().startswith("complete(prefix, k=10)")


def test_trie_nodes_edges_and_highlights() -> None:
    own = Figure().add_subplot()
    fig = plot_trie(WORDS, prefix="ca", k=2, ax=own)
    assert fig is own.figure
    nodes = {"", "c", "ca", "car", "cat", "cart", "d", "do", "dog"}
    assert len(own.lines) == len(nodes) - 1  # one edge per node but the root
    all_nodes, ends = own.collections
    assert len(all_nodes.get_offsets()) == len(nodes)
    assert len(ends.get_offsets()) == len(WORDS)
    colours = [tuple(c) for c in all_nodes.get_facecolors()]
    green = matplotlib.colors.to_rgba("tab:green")
    assert colours.count(green) == 2  # "cat" and "car", the top 2 under "ca"
    assert own.get_title() == "trie of 4 terms, 9 nodes"
    assert own.get_ylabel() == "depth (characters typed)"


@pytest.mark.parametrize(
    "call",
    [
        lambda: plot_trie([]),
        lambda: plot_trie([("a", -1)]),
        lambda: plot_trie([("", 1)]),
        lambda: plot_trie([(f"word{i}", i) for i in range(200)]),
        lambda: plot_trie(WORDS, k=0),
        lambda: plot_keystrokes({}, "a"),
        lambda: plot_keystrokes({"t": Trie(WORDS)}, ""),
        lambda: plot_keystrokes({"t": Trie(WORDS)}, "a", repeat=True),
        lambda: plot_keystrokes([Trie(WORDS)], "a"),  # a list, not a mapping of names
        lambda: plot_keystrokes({"t": "not a completer"}, "a"),
        lambda: plot_trie(5),
        lambda: plot_trie("cat"),
    ],
)
def test_bad_arguments_raise_the_family_error(call: object) -> None:
    with pytest.raises(AutocompleteError):
        call()  # type: ignore[operator]


def test_tour_figures_are_figures() -> None:
    assert all(isinstance(f, Figure) for f in tour_figures().values())
