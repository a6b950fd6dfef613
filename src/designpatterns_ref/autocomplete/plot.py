"""Pictures of autocomplete: work per keystroke for each structure, and a small trie drawn.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

:func:`plot_keystrokes` types a word letter by letter into each completer and draws the median
time of ``complete(prefix, k)`` per keystroke, on a log scale: brute force pays for the whole
vocabulary on every key, the tries and the sorted index only for the answers. :func:`plot_trie`
draws the trie of a small vocabulary: one node per character, the heaviest weight below each
node beside it (the bound the best-first search follows), the path of a prefix and the top ``k``
completions it leads to.

Both return the matplotlib ``Figure`` (inline in a notebook; ``dp.show(fig, name)`` saves it
from a script), take ``ax=`` to draw into your own figure and never touch pyplot or the
backend. matplotlib (the ``plot`` extra) is imported only when called.

Complexity: :func:`plot_keystrokes` makes ``len(word) * repeat`` queries per completer;
:func:`plot_trie` is O(total characters) and refuses more than 120 nodes (unreadable).

>>> import importlib.util
>>> words = [("car", 5), ("cat", 9), ("cart", 2)]
>>> fig = plot_trie(words, prefix="ca", k=2) if importlib.util.find_spec("matplotlib") else None
>>> fig is None or fig.axes[0].get_title().startswith("trie of 3 terms")
True
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from designpatterns_ref.autocomplete.base import AutocompleteError, Completer
from designpatterns_ref.errors import shown

__all__ = ["plot_keystrokes", "plot_trie", "tour_figures"]

#: The most nodes :func:`plot_trie` draws; past it the picture is unreadable.
MAX_TRIE_NODES = 120


def _check_word(word: object) -> str:
    if not isinstance(word, str) or not word or len(word) > 40 or not word.isprintable():
        raise AutocompleteError(f"word must be 1 to 40 printable characters, got {shown(word)}")
    return word


def _check_count(name: str, value: object, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise AutocompleteError(f"{name} must be an int from 1 to {high}, got {shown(value)}")
    return value


def plot_keystrokes(
    completers: Mapping[str, Completer],
    word: str,
    *,
    k: int = 10,
    repeat: int = 5,
    ax: Any = None,
) -> Any:
    """Type ``word`` into each completer; draw the median µs of ``complete`` per keystroke.

    Timings are wall-clock on this machine, now (the shape matters, not the digits). Returns
    the Figure.
    """
    _check_word(word)
    _check_count("k", k, 1000)
    _check_count("repeat", repeat, 101)
    if not isinstance(completers, Mapping) or not completers:
        raise AutocompleteError(
            f"completers={shown(completers, 60)} must be a non-empty mapping of name to completer"
        )
    for name, completer in completers.items():
        if not isinstance(completer, Completer):
            raise AutocompleteError(
                f"completers[{shown(name, 40)}]={shown(completer, 60)} is not a completer"
            )
    series: dict[str, list[float]] = {}
    for name, completer in completers.items():
        series[name] = []
        for n in range(1, len(word) + 1):
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                completer.complete(word[:n], k)
                times.append(time.perf_counter() - start)
            series[name].append(sorted(times)[repeat // 2] * 1e6)
    from designpatterns_ref.figures import new_figure

    fig, ax = new_figure(ax, figsize=(7.0, 4.0))
    keys = range(1, len(word) + 1)
    for name, values in series.items():
        ax.plot(keys, values, marker="o", label=name)
    ax.set_yscale("log")
    ax.set_xticks(list(keys), [word[:n] for n in keys], rotation=30, fontsize=8)
    ax.set_xlabel(f"prefix typed (letters of {word!r})")
    ax.set_ylabel(f"complete(prefix, k={k}), µs (median of {repeat})")
    ax.set_title("Work per keystroke")
    ax.legend(fontsize="small")
    return fig


def _pairs(words: Iterable[tuple[str, int]] | Mapping[str, int]) -> dict[str, int]:
    if isinstance(words, str | bytes) or not isinstance(words, Iterable | Mapping):
        raise AutocompleteError(
            f"words={shown(words, 60)} must be (term, weight) pairs or a mapping of term to weight"
        )
    items = words.items() if isinstance(words, Mapping) else words
    out: dict[str, int] = {}
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise AutocompleteError(f"each word must be a (term, weight) pair, got {shown(item)}")
        term, weight = item
        _check_word(term)
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise AutocompleteError(
                f"weight of {shown(term)} must be an int >= 0, got {shown(weight)}"
            )
        out[term] = weight
    if not out:
        raise AutocompleteError("words is empty; give at least one (term, weight) pair")
    return out


def plot_trie(
    words: Iterable[tuple[str, int]] | Mapping[str, int],
    *,
    prefix: str = "",
    k: int = 3,
    ax: Any = None,
) -> Any:
    """Draw the character trie of a small vocabulary; highlight ``prefix`` and its top ``k``.

    Each node shows its character, with the heaviest weight in its subtree beside it; a term's
    last node is ringed and shows its own weight. Returns the Figure.
    """
    weights = _pairs(words)
    _check_count("k", k, 50)
    if not isinstance(prefix, str) or len(prefix) > 40:
        raise AutocompleteError(
            f"prefix must be a str of at most 40 characters, got {shown(prefix)}"
        )
    nodes = sorted({term[:i] for term in weights for i in range(len(term) + 1)})
    if len(nodes) > MAX_TRIE_NODES:
        raise AutocompleteError(
            f"words make {len(nodes)} trie nodes; plot_trie draws at most {MAX_TRIE_NODES}"
        )
    best = {node: max(w for t, w in weights.items() if t.startswith(node)) for node in nodes}
    children: dict[str, list[str]] = {node: [] for node in nodes}
    for node in nodes[1:]:
        children[node[:-1]].append(node)
    x: dict[str, float] = {}
    leaves = 0

    def place(node: str) -> None:  # leaves left to right, parents over their children
        nonlocal leaves
        for child in children[node]:
            place(child)
        if children[node]:
            x[node] = (x[children[node][0]] + x[children[node][-1]]) / 2
        else:
            x[node] = leaves
            leaves += 1

    place("")
    top = sorted(weights.items(), key=lambda tw: (-tw[1], len(tw[0]), tw[0]))
    chosen = {t for t, _ in [tw for tw in top if tw[0].startswith(prefix)][:k]}
    on_path = {prefix[:i] for i in range(len(prefix) + 1)} if prefix in best else set()
    from designpatterns_ref.figures import new_figure

    depth = max(len(n) for n in nodes)
    fig, ax = new_figure(ax, figsize=(min(max(6.0, 0.6 * leaves + 2), 16.0), 0.55 * depth + 2.2))
    for node in nodes[1:]:
        parent = node[:-1]
        hot = node in on_path or (parent in on_path and any(t.startswith(node) for t in chosen))
        ax.plot(
            [x[parent], x[node]],
            [-len(parent), -len(node)],
            zorder=1,
            color="tab:red" if hot else "0.6",
            linewidth=2 if hot else 1,
        )
    colours = [
        "tab:green" if n in chosen else "tab:red" if n in on_path else "white" for n in nodes
    ]
    ax.scatter(
        [x[n] for n in nodes],
        [-len(n) for n in nodes],
        s=260,
        c=colours,
        edgecolors="0.2",
        zorder=2,
    )
    ends = [n for n in nodes if n in weights]
    ax.scatter(
        [x[n] for n in ends],
        [-len(n) for n in ends],
        s=520,
        facecolors="none",
        edgecolors="0.2",
        zorder=2,
        label="end of a term (its weight below)",
    )
    for node in nodes:
        y = -len(node)
        if node in weights:
            ax.text(x[node], y - 0.32, str(weights[node]), ha="center", va="top", fontsize=7)
        label = "^" if not node else ("␣" if node[-1] == " " else node[-1])
        ax.text(x[node], y, label, ha="center", va="center", fontsize=8, zorder=3)
        ax.text(x[node] + 0.2, y + 0.12, f"≤{best[node]}", fontsize=6, color="tab:blue")
    ax.set_xlim(-0.7, leaves - 0.1)
    ax.set_ylim(-depth - 0.8, 0.5)
    ax.set_xticks([])
    ax.set_yticks([-d for d in range(depth + 1)], [str(d) for d in range(depth + 1)])
    ax.set_ylabel("depth (characters typed)")
    ax.set_xlabel(f"red: the path of {prefix!r}; green: its top {k}; blue: heaviest weight below")
    ax.set_title(f"trie of {len(weights)} terms, {len(nodes)} nodes")
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    from designpatterns_ref.autocomplete import BruteForceCompleter, TopKTrie, Trie

    words = [
        ("iphone 15", 900),
        ("iphone", 700),
        ("ipad", 500),
        ("iphone case", 300),
        ("ikea", 650),
        ("imdb", 400),
        ("instagram", 800),
    ]
    syllables = [a + b + c + d for a in "abcdefgh" for b in "aeiou" for c in "nrst" for d in "aeo"]
    many = [(term, (i * 7919) % 1000) for i, term in enumerate(syllables)]
    completers: dict[str, Any] = {
        "BruteForceCompleter": BruteForceCompleter(many),
        "Trie": Trie(many),
        "TopKTrie": TopKTrie(many),
    }
    return {
        "trie": plot_trie(words, prefix="iph", k=2),
        "keystrokes": plot_keystrokes(completers, "bare", k=10, repeat=3),
    }
