"""Pictures of collaborative editing: two replicas merging, and run-length items over a trace.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

:func:`plot_merge` forks replicas of one document, applies each agent's edits offline (one box
per edit on that agent's lane, showing its text) and then merges them all: the last lane shows
the one text every replica converged to, whatever order they merged in. :func:`plot_items`
replays a list of patches (a recorded editing trace) into sequence CRDTs and draws the document
length beside the number of items each keeps: consecutive typing collapses into runs, so the
items stay far below the characters typed.

Both return the matplotlib ``Figure`` (inline in a notebook; ``dp.show(fig, name)`` saves it
from a script), take ``ax=`` to draw into your own figure, and never touch pyplot or the
backend. They use only the family's public names. matplotlib (the ``plot`` extra) is imported
only when called.

Complexity: the edits' own cost, plus O(edits) artists; :func:`plot_items` samples
``stats()`` at most ``points`` times per replica.

>>> import importlib.util
>>> edits = {"alice": [(0, 0, "Hi ")], "bob": [(5, 0, "!")]}
>>> fig = plot_merge("hello", edits) if importlib.util.find_spec("matplotlib") else None
>>> fig is None or fig.axes[0].get_xlabel() == "edits made offline, then the merge"
True
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from designpatterns_ref.errors import shown

__all__ = ["plot_items", "plot_merge", "tour_figures"]

Patch = tuple[int, int, str]


def _check_patch(patch: object) -> Patch:
    from designpatterns_ref.collab import CollabError

    if isinstance(patch, tuple) and len(patch) == 3:
        pos, n, text = patch
        if type(pos) is int and type(n) is int and pos >= 0 and n >= 0 and type(text) is str:
            return pos, n, text
    raise CollabError(f"each edit must be (pos, n_deleted, inserted), got {shown(patch)}")


def _make(factory: object, agent: str, name: str) -> Any:
    """``factory(agent)``, checked: a replica class, or a callable that returns a replica."""
    from designpatterns_ref.collab import CollabError, SequenceReplica

    fine = (
        issubclass(factory, SequenceReplica) and factory.rule != ""
        if isinstance(factory, type)
        else callable(factory)
    )
    if not fine:
        raise CollabError(
            f"{name}={shown(factory, 80)} must be a replica class (RGAReplica, FugueReplica, "
            "FugueMaxReplica) or a callable that makes a replica from an agent name"
        )
    made = factory(agent)  # type: ignore[operator]
    if not isinstance(made, SequenceReplica):
        raise CollabError(f"{name}({shown(agent)}) returned {shown(made, 80)}, not a replica")
    return made


def _apply(replica: Any, patch: Patch) -> None:
    pos, n, text = patch
    if n:
        replica.delete(pos, n)
    if text:
        replica.insert(pos, text)


def plot_merge(
    base: str,
    edits: Mapping[str, Sequence[Patch]],
    *,
    replica: Callable[[str], Any] | None = None,
    ax: Any = None,
) -> Any:
    """Fork ``base`` per agent, apply each agent's edits, merge all; draw it as a timeline.

    ``edits`` maps an agent to its patches ``(pos, n_deleted, inserted)``, applied in order to
    that agent's copy. ``replica`` makes a replica from an agent name (default
    :class:`FugueMaxReplica`). Returns the Figure.
    """
    from designpatterns_ref.collab import CollabError, FugueMaxReplica

    if not isinstance(base, str):
        raise CollabError(f"base must be a str, got {shown(base)}")
    if not edits or not all(isinstance(a, str) and a for a in edits):
        raise CollabError(f"edits must map agent names to their edits, got {shown(edits)}")
    origin = _make(FugueMaxReplica if replica is None else replica, "origin", "replica")
    if base:
        origin.insert(0, base)
    copies = {agent: origin.fork(agent) for agent in edits}
    lanes: dict[str, list[str]] = {}
    for agent, patches in edits.items():
        lanes[agent] = [base]
        for patch in patches:
            _apply(copies[agent], _check_patch(patch))
            lanes[agent].append(copies[agent].text())
    merged = list(copies.values())
    for a in merged:
        for b in merged:
            if a is not b:
                a.merge(b)
    final = {c.text() for c in merged}
    from designpatterns_ref.figures import new_figure

    steps = max(len(v) for v in lanes.values())
    fig, ax = new_figure(ax, figsize=(2.2 * (steps + 1) + 1, 1.1 * (len(lanes) + 1) + 1))
    box = {"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "0.4"}
    for y, texts in enumerate(lanes.values(), start=1):
        ax.plot(range(len(texts)), [y] * len(texts), "-o", color=f"C{y - 1}", zorder=1)
        for x, text in enumerate(texts):
            ax.annotate(
                repr(text),
                (x, y),
                xytext=(0, 9),
                textcoords="offset points",
                ha="center",
                fontsize=8,
                bbox=box,
            )
        ax.annotate(
            "",
            xy=(steps, 0),
            xytext=(len(texts) - 1, y),
            arrowprops={"arrowstyle": "->", "color": f"C{y - 1}"},
        )
    converged = final.pop() if len(final) == 1 else f"DIVERGED: {sorted(final)}"
    ax.plot([steps], [0], "s", color="tab:green")
    ax.annotate(
        repr(converged),
        (steps, 0),
        xytext=(0, -16),
        textcoords="offset points",
        ha="center",
        fontsize=9,
        bbox={**box, "facecolor": "honeydew"},
    )
    ax.set_yticks(range(len(lanes) + 1), ["merged", *lanes])
    ax.set_ylim(-0.8, len(lanes) + 0.7)
    ax.set_xticks(range(steps + 1), [*(str(i) for i in range(steps)), "merge"])
    ax.set_xlim(-0.6, steps + 0.6)
    ax.set_xlabel("edits made offline, then the merge")
    ax.set_ylabel("replica")
    ax.set_title(f"{type(merged[0]).__name__}: every replica ends with the same text")
    return fig


def plot_items(
    patches: Iterable[Patch],
    *,
    replicas: Sequence[Callable[[str], Any]] | None = None,
    points: int = 60,
    ax: Any = None,
) -> Any:
    """Replay ``patches`` into each replica; draw document length and items kept; the Figure.

    ``replicas`` are replica classes (default :class:`RGAReplica` and :class:`FugueMaxReplica`);
    each is sampled ``points`` times with its ``stats()``.
    """
    from designpatterns_ref.collab import CollabError, FugueMaxReplica, RGAReplica

    edits = [_check_patch(p) for p in patches]
    if not edits:
        raise CollabError("patches is empty; give at least one (pos, n_deleted, inserted)")
    if isinstance(points, bool) or not isinstance(points, int) or not 2 <= points <= 10_000:
        raise CollabError(f"points must be an int from 2 to 10000, got {shown(points)}")
    kinds = list(replicas or (RGAReplica, FugueMaxReplica))
    every = max(1, len(edits) // points)
    series: dict[str, list[tuple[int, int, int]]] = {}
    for kind in kinds:
        doc = _make(kind, "trace", "replicas[]")
        name = getattr(kind, "__name__", str(kind))
        samples = series[name] = [(0, 0, 0)]
        for i, patch in enumerate(edits, start=1):
            _apply(doc, patch)
            if i % every == 0 or i == len(edits):
                stats = doc.stats()
                samples.append((i, stats["length"], stats["items"]))
    from designpatterns_ref.figures import new_figure

    fig, ax = new_figure(ax, figsize=(7.0, 4.0))
    first = next(iter(series.values()))
    ax.plot(
        [i for i, _, _ in first],
        [n for _, n, _ in first],
        color="black",
        label="document length (characters)",
    )
    for name, samples in series.items():
        ax.plot(
            [i for i, _, _ in samples],
            [m for _, _, m in samples],
            label=f"{name}: items kept ({samples[-1][2]:,} at the end)",
        )
    ax.set_xlabel("edits replayed")
    ax.set_ylabel("count")
    ax.set_title(f"{len(edits):,} edits make {first[-1][1]:,} characters; runs make fewer items")
    ax.legend(fontsize="small")
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    import random

    edits = {
        "alice": [(8, 4, "one"), (0, 0, "Hi! ")],
        "bob": [(12, 0, ", bring cake"), (0, 4, "Let's meet")],
    }
    rng = random.Random(5)
    typing: list[Patch] = []
    length = 0
    for _ in range(600):  # mostly typing forward, some jumps and deletions
        if length and rng.random() < 0.04:
            pos = rng.randrange(length)
            n = min(length - pos, rng.randint(1, 3))
            typing.append((pos, n, ""))
            length -= n
        else:
            pos = length if rng.random() < 0.97 else rng.randint(0, length)
            typing.append((pos, 0, rng.choice("etaoin sh")))
            length += 1
    return {
        "merge": plot_merge("Meet at noon.", edits),
        "items": plot_items(typing),
    }
