"""Pictures of workflows: a saga's timeline with its compensations, and the state diagram.

Case study: Design a Food Delivery App (docs/case-studies/food-delivery.md)

:func:`plot_saga_timeline` draws each step of one or more runs as a bar on the clock: steps done
in green, the failed step in red, compensations in orange (a failed try of one in purple),
running backwards in time order from the failure. :func:`plot_state_diagram` lays the states of a
:class:`~designpatterns_ref.workflows.MachineSpec` out in columns by distance from the initial
state and draws every transition as an arrow. Both import matplotlib lazily (the ``plot`` extra),
take an optional ``ax`` and return the Figure.

Complexity: O(trace entries) and O(states + transitions) artists.

>>> layout = state_layout(__import__("designpatterns_ref").workflows.ORDER_SPEC)
>>> layout["placed"], layout["delivered"]
((0, 0), (5, 0))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.figures import new_figure
from designpatterns_ref.workflows.base import SagaResult, WorkflowTypeError
from designpatterns_ref.workflows.machine import MachineSpec

__all__ = ["plot_saga_timeline", "plot_state_diagram", "state_layout", "tour_figures"]

_COLOURS = {"do": "tab:green", "fail": "tab:red", "undo": "tab:orange", "undo-fail": "tab:purple"}


def plot_saga_timeline(results: Sequence[SagaResult], *, ax: Any = None) -> Any:
    """One row per run and step: when each step ran, failed or was compensated (seconds)."""
    if isinstance(results, SagaResult):
        results = [results]
    if not isinstance(results, Sequence) or not results:
        raise WorkflowTypeError(f"plot_saga_timeline: results={shown(results, 80)} must be a list")
    for r in results:
        if not isinstance(r, SagaResult):
            raise WorkflowTypeError(f"plot_saga_timeline: {shown(r, 80)} is not a SagaResult")
    fig, axis = new_figure(ax, figsize=(8.0, 0.6 + 0.45 * sum(len(r.trace) for r in results)))
    labels: list[str] = []
    row = 0
    for r in results:
        origin = min((e.start for e in r.trace), default=0.0)
        for e in r.trace:
            width = max(e.end - e.start, 4.0)  # instant steps stay visible
            axis.barh(row, width, left=e.start - origin, color=_COLOURS[e.kind], height=0.6)
            labels.append(f"{r.workflow_id} {e.kind} {e.step}")
            row += 1
    axis.set_yticks(range(len(labels)), labels, fontsize=8)
    axis.invert_yaxis()
    axis.set_xlabel("simulated seconds since the order was placed")
    axis.set_ylabel("step (do / fail / undo / undo-fail)")
    axis.set_title("Order sagas: steps, failures and compensations in reverse")
    from matplotlib.patches import Patch

    axis.legend(handles=[Patch(color=c, label=k) for k, c in _COLOURS.items()], loc="lower right")
    return fig


def state_layout(spec: MachineSpec) -> dict[str, tuple[int, int]]:
    """(column, row) of each state: the column is its distance from the initial state."""
    if not isinstance(spec, MachineSpec):
        raise WorkflowTypeError(f"state_layout: spec={shown(spec, 80)} must be a MachineSpec")
    depth = {spec.initial: 0}
    frontier = [spec.initial]
    while frontier:
        nxt = []
        for state in frontier:
            for target, _, _ in spec.table[state].values():
                if target not in depth:
                    depth[target] = depth[state] + 1
                    nxt.append(target)
        frontier = nxt
    for state in spec.states:  # unreachable states go in a last column
        depth.setdefault(state, max(depth.values()) + 1)
    rows: dict[int, int] = {}
    layout = {}
    for state in spec.states:
        col = depth[state]
        layout[state] = (col, rows.get(col, 0))
        rows[col] = rows.get(col, 0) + 1
    return layout


def plot_state_diagram(spec: MachineSpec, *, ax: Any = None) -> Any:
    """The machine's states as boxes and its transitions as labelled arrows."""
    layout = state_layout(spec)
    fig, axis = new_figure(ax, figsize=(11.0, 4.0))
    xy = {s: (c * 2.0, -r * 1.4) for s, (c, r) in layout.items()}
    for t in spec.transitions:
        for source in t.sources:
            (x0, y0), (x1, y1) = xy[source], xy[t.target]
            axis.annotate(
                "",
                xy=(x1, y1),
                xytext=(x0, y0),
                arrowprops={"arrowstyle": "->", "color": "0.5", "shrinkA": 14, "shrinkB": 14,
                            "connectionstyle": "arc3,rad=0.15"},
            )  # fmt: skip
            axis.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.12, t.event, fontsize=7, ha="center")
    for state, (x, y) in xy.items():
        final = state in spec.final
        axis.text(
            x, y, state, ha="center", va="center", fontsize=9,
            bbox={"boxstyle": "round", "fc": "honeydew" if final else "white",
                  "ec": "black", "lw": 2 if state == spec.initial else 1},
        )  # fmt: skip
    xs = [p[0] for p in xy.values()]
    ys = [p[1] for p in xy.values()]
    axis.set_xlim(min(xs) - 1, max(xs) + 1)
    axis.set_ylim(min(ys) - 1, max(ys) + 1)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_xlabel("distance from the initial state (transitions)")
    axis.set_ylabel(f"{spec.name} states")
    axis.set_title(f"The {spec.name} state machine, drawn from its declaration")
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    from designpatterns_ref.clock import ManualClock
    from designpatterns_ref.workflows.food import OrderScenario, World, order_saga
    from designpatterns_ref.workflows.order import ORDER_SPEC

    clock = ManualClock()
    scenarios = [
        OrderScenario("order-ok", 2400, True, 90.0, True, 2, False),
        OrderScenario("order-kitchen", 1800, True, 60.0, True, 3, True),
    ]
    saga = order_saga(World(":memory:", scenarios, clock=clock), clock=clock)
    results = [saga.run(s.order_id) for s in scenarios]
    return {"saga": plot_saga_timeline(results), "states": plot_state_diagram(ORDER_SPEC)}
