"""Draw the component graph, with the imports that break a rule in red (matplotlib).

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

:func:`plot_components` places the components on a circle, draws an arrow for every pair of
components with imports between them (thicker for more import statements), and colours red the
arrows that carry a violation (an undeclared dependency, a private import or a cycle), labelled
with the count. matplotlib is imported only inside the function; pass ``ax`` to draw into your
own figure, else a new pyplot-free one is made (:func:`designpatterns_ref.figures.new_figure`).

Complexity: O(components + component edges + violations) to draw.

>>> import importlib.util
>>> importlib.util.find_spec("matplotlib") is not None or True
True
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from designpatterns_ref.boundaries.base import BoundariesError, Violation
from designpatterns_ref.boundaries.config import Config
from designpatterns_ref.boundaries.graph import ImportGraph
from designpatterns_ref.boundaries.rules import bind, find_violations
from designpatterns_ref.figures import new_figure

__all__ = ["plot_components"]


def _short(name: str, prefix: str) -> str:
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


def plot_components(
    graph: ImportGraph,
    config: Config,
    violations: list[Violation] | None = None,
    *,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """The component graph of ``graph`` under ``config``; returns the matplotlib Figure."""
    if not isinstance(graph, ImportGraph) or not isinstance(config, Config):
        raise BoundariesError("plot_components(graph, config): need an ImportGraph and a Config")
    bound = bind(config, graph)
    found = find_violations(graph, config, bound) if violations is None else violations
    names = sorted(bound.components)
    if not names:
        raise BoundariesError("plot_components: the configuration declares no component")
    counts: Counter[tuple[str, str]] = Counter()
    for imp in graph.imports:
        a, b = bound.owner.get(imp.importer), bound.owner.get(imp.imported)
        if a is not None and b is not None and a != b and imp.kind in config.include:
            counts[(a, b)] += 1
    bad: Counter[tuple[str, str]] = Counter()
    for v in found:
        if v.rule == "cycle":
            for a, b in zip(v.chain, v.chain[1:], strict=False):
                bad[(a, b)] += 1
            continue
        a, b = bound.owner.get(v.importer), bound.owner.get(v.imported.rpartition(".")[0])
        b = bound.owner.get(v.imported, b)
        if a is not None and b is not None and a != b:
            bad[(a, b)] += 1
    from matplotlib.patches import FancyArrowPatch

    fig, ax = new_figure(ax, figsize=(7.0, 7.0))
    prefix = ""
    if len(names) > 1:
        common = names[0].rsplit(".", 1)[0] + "."
        prefix = common if all(n.startswith(common) for n in names) else ""
    where = {
        n: (math.cos(2 * math.pi * i / len(names)), math.sin(2 * math.pi * i / len(names)))
        for i, n in enumerate(names)
    }
    top = max(counts.values(), default=1)
    for (a, b), count in sorted(counts.items()):
        broken = bad.get((a, b), 0)
        arrow = FancyArrowPatch(
            where[a], where[b], arrowstyle="-|>", mutation_scale=12,
            connectionstyle="arc3,rad=0.12", shrinkA=14, shrinkB=14,
            color="tab:red" if broken else "0.6", linewidth=0.6 + 2.4 * count / top, zorder=1,
        )  # fmt: skip
        ax.add_patch(arrow)
        if broken:
            (ax_, ay), (bx, by) = where[a], where[b]
            length = math.hypot(bx - ax_, by - ay) or 1.0
            # beside the arc, on its side, so the two directions of a cycle do not overlap
            mx = (ax_ + bx) / 2 + 0.1 * (by - ay) / length
            my = (ay + by) / 2 - 0.1 * (bx - ax_) / length
            ax.annotate(str(broken), (mx, my), color="tab:red", fontsize=8, ha="center")
    xs, ys = zip(*(where[n] for n in names), strict=True)
    ax.scatter(xs, ys, s=260, color="tab:blue", zorder=2, label="component")
    for n in names:
        x, y = where[n]
        ax.annotate(_short(n, prefix), (x * 1.13, y * 1.13), ha="center", va="center", fontsize=8)
    ax.plot([], [], color="0.6", label="allowed imports")
    ax.plot([], [], color="tab:red", label="imports breaking a rule (count)")
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.45, 1.45)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{len(names)} components, {sum(counts.values())} cross-component imports")
    ax.set_ylabel(f"{len(found)} violations")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"components of {', '.join(config.packages)}")
    ax.legend(loc="lower right", fontsize=7)
    return fig
