"""The state machine against a plain scan of its declaration, and the Mermaid text."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.workflows import (
    ORDER_SPEC,
    ORDER_STATES,
    IllegalTransition,
    Machine,
    MachineSpec,
    Transition,
    WorkflowError,
    new_order,
)

EVENTS = [*sorted({t.event for t in ORDER_SPEC.transitions}), "teleport"]
CTX = st.fixed_dictionaries(
    {
        "waited": st.sampled_from([0.0, 299.0, 300.0, 301.0, 1e9]),
        "driver": st.sampled_from(["", "d1", None]),
        "amount": st.sampled_from([0, 1, 2400]),
    }
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(EVENTS), CTX), max_size=30))
def test_fire_matches_the_reference_scan(moves: list[tuple[str, dict[str, object]]]) -> None:
    machine = new_order()
    state = ORDER_SPEC.initial
    for event, ctx in moves:
        want = ORDER_SPEC.reference_next(state, event, ctx)
        if want is None:
            before = machine.state
            try:
                machine.fire(event, ctx)
            except IllegalTransition:
                assert machine.state == before  # refused: nothing changed
            else:
                raise AssertionError(f"{event} from {state} should be refused")
            assert not machine.can(event, ctx)
        else:
            assert machine.can(event, ctx)
            assert machine.fire(event, ctx) == want
            state = want
        assert machine.state == state


def test_every_state_is_reachable_and_final_states_end() -> None:
    assert set(ORDER_SPEC.states) == set(ORDER_STATES)
    assert ORDER_SPEC.allowed("delivered") == ()
    assert set(ORDER_SPEC.allowed("placed")) == {"accept", "reject", "timeout", "cancel"}


def test_guards_say_no_with_the_state_unchanged() -> None:
    m = new_order()
    try:
        m.fire("accept", {"waited": 301.0})
    except IllegalTransition as exc:
        assert "within_deadline" in str(exc)
    assert m.state == "placed"
    m.fire("reject")
    with pytest.raises(IllegalTransition):
        m.fire("refund", {"amount": 0})
    assert m.state == "rejected"
    assert m.fire("refund", {"amount": 100}) == "refunded" and m.done


def test_a_guard_missing_its_context_is_a_clear_error() -> None:
    m = new_order()
    try:
        m.fire("accept")
    except WorkflowError as exc:
        assert "ctx['waited']" in str(exc)
    assert m.state == "placed"


def test_mermaid_is_drawn_from_the_declaration_and_in_the_docs() -> None:
    text = ORDER_SPEC.mermaid()
    assert text.startswith("stateDiagram-v2\n    [*] --> placed")
    edges = sum(len(t.sources) for t in ORDER_SPEC.transitions)
    assert text.count(" --> ") == 1 + edges + len(ORDER_SPEC.final)
    page = Path(__file__).resolve().parents[2] / "docs" / "case-studies" / "food-delivery.md"
    assert textwrap.indent(text, "    ") in page.read_text(encoding="utf-8")


def test_an_instance_is_small() -> None:
    import sys

    m = Machine(ORDER_SPEC)
    assert not hasattr(m, "__dict__")
    assert sys.getsizeof(m) <= 64


@pytest.mark.parametrize("final", [[["a"]], [{}], [1], [None], [""], ["\ud800"]], ids=repr)
def test_a_final_state_that_is_not_a_name_is_refused(final: list[Any]) -> None:
    """``final=[['a']]`` failed with a bare TypeError (unhashable list) from the membership test."""
    with pytest.raises(WorkflowError, match=r"MachineSpec: final state="):
        MachineSpec("m", ["a"], "a", [], final=final)


CTXS: list[Any] = [None, {}, {"waited": 1.0}, {"waited": "x"}, 5, "ctx", [("waited", 1.0)]]
DOOR = MachineSpec(
    "door",
    ["closed", "open"],
    "closed",
    [Transition("open", ("closed",), "open"), Transition("close", ("open",), "closed",
                                                          guard="slow")],
    guards={"slow": lambda ctx: ctx.get("waited", 0) == 1.0},
)  # fmt: skip


def _outcome(call: Any) -> Any:
    try:
        return call()
    except IllegalTransition:
        return IllegalTransition
    except WorkflowError as exc:
        return type(exc)


@settings(max_examples=200, deadline=None)
@given(
    spec=st.sampled_from([ORDER_SPEC, DOOR]),
    state=st.data(),
    event=st.sampled_from([*EVENTS, "open", "close", 5]),
    ctx=st.sampled_from(CTXS),
)
def test_can_answers_what_fire_does(
    spec: MachineSpec, state: st.DataObject, event: Any, ctx: Any
) -> None:
    """The oracle is ``fire`` itself: ``can`` is True when fire moves, False when fire refuses
    the move (IllegalTransition), and raises what fire raises for bad input; ``can('open', 5)``
    said True for a context ``fire`` refuses."""
    now = state.draw(st.sampled_from(spec.states))
    fired = _outcome(lambda: Machine(spec, now).fire(event, ctx))
    asked = _outcome(lambda: Machine(spec, now).can(event, ctx))
    if isinstance(fired, str):
        assert asked is True
    elif fired is IllegalTransition:
        assert asked is False
    else:
        assert asked is fired
