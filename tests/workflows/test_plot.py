"""The workflows figures: a saga timeline and the state diagram, with their artists and labels."""

from __future__ import annotations

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.workflows import ORDER_SPEC, OrderScenario, WorkflowError, World, order_saga
from designpatterns_ref.workflows.plot import (
    plot_saga_timeline,
    plot_state_diagram,
    state_layout,
    tour_figures,
)


def test_timeline_has_a_bar_per_step_and_compensation() -> None:
    import matplotlib

    matplotlib.use("Agg")
    clock = ManualClock()
    s = OrderScenario("o1", 100, True, 60.0, True, 1, True)
    result = order_saga(World(":memory:", [s], clock=clock), clock=clock).run("o1")
    fig = plot_saga_timeline([result])
    ax = fig.axes[0]
    assert len(ax.patches) == len(result.trace) == 3 + 1 + 3  # done, failed, undone
    assert ax.get_xlabel().startswith("simulated seconds") and ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-3:] == ["o1 undo driver", "o1 undo restaurant", "o1 undo charge"]


def test_state_diagram_draws_every_state_and_edge() -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_state_diagram(ORDER_SPEC)
    ax = fig.axes[0]
    edges = sum(len(t.sources) for t in ORDER_SPEC.transitions)
    texts = [t.get_text() for t in ax.texts]
    assert set(ORDER_SPEC.states) <= set(texts)
    assert len(ax.texts) == len(ORDER_SPEC.states) + 2 * edges  # a box, an arrow, a label
    assert ax.get_xlabel() and ax.get_ylabel()
    assert len(set(state_layout(ORDER_SPEC).values())) == len(ORDER_SPEC.states)


def test_tour_figures_and_bad_arguments() -> None:
    import matplotlib

    matplotlib.use("Agg")
    assert set(tour_figures()) == {"saga", "states"}
    for bad in ([], None, [1]):
        with pytest.raises(WorkflowError):
            plot_saga_timeline(bad)  # type: ignore[arg-type]
    with pytest.raises(WorkflowError):
        plot_state_diagram("order")  # type: ignore[arg-type]
