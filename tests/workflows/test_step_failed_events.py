"""A step failure's events: checked when the failure is made, and never able to block a saga.

``StepFailed("no driver", "cancel")`` used to be read as the six events c, a, n, c, e, l; the
failure was recorded, then the machine refused ``'c'`` on this run and on every resume, so no
compensation ran and no outcome was written. The same happened with a tuple naming an event the
order's state does not allow. Now a malformed failure is refused when it is made, and an event
group the machine refuses does not fire (the state stays) while the saga compensates and records
its outcome as for any failure. A step whose own events the machine refuses (the restaurant's
``accept`` after five minutes) fails the saga at that step: the saga used to go on and could end
``completed`` with the order where it was.

The oracle for the property test is the machine's own declaration scan,
:meth:`MachineSpec.reference_next`, applied group by group (all or none) to the events the saga's
steps, failure and compensations name, and it is checked after a crash at every crash point in
turn, resumed: the same outcome, state, refusals and side effects, each side effect once.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.workflows import (
    ORDER_SPEC,
    MemoryLog,
    Orchestrator,
    SQLiteLog,
    Step,
    StepFailed,
    WorkflowError,
)
from designpatterns_ref.workflows.durable import MISSING, StepLog


class Kill(BaseException):
    """The worker dies at a crash point."""


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("no driver", "cancel"), "transitions"),
        (("no driver", b"cancel"), "transitions"),
        (("no driver", None), "transitions"),
        (("no driver", {"cancel": 1}), "transitions"),
        (("no driver", ("cancel", 1)), "transition"),
        (("no driver", ("",)), "transition"),
        (("no driver", ("\ud800",)), "transition"),
        (("no driver", ("x" * 201,)), "transition"),
        (("no driver", (), ["amount"]), "data"),
        (("no driver", (), {1: "a"}), "data"),
        (("no driver", (), {"amount": math.nan}), "data"),
        (("no driver", (), {"amount": object()}), "data"),
        ((None,), "reason"),
        ((b"no driver",), "reason"),
    ],
)
def test_a_malformed_failure_is_refused_when_it_is_made(args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(WorkflowError, match=f"StepFailed: {field}"):
        StepFailed(*args)


def test_a_well_formed_failure_keeps_its_events_and_data() -> None:
    failed = StepFailed("late", ["timeout"], {"waited": 301.0})
    assert (failed.reason, failed.transitions, failed.data) == (
        "late",
        ("timeout",),
        {"waited": 301.0},
    )
    assert StepFailed("no").transitions == () and StepFailed("no").data == {}


@pytest.mark.parametrize(
    ("step", "match"),
    [
        (Step("charge", lambda c: 1, transitions="accept"), "tuple of event names"),  # type: ignore[arg-type]
        (Step("charge", lambda c: 1, None, (), "refund"), "tuple of event names"),  # type: ignore[arg-type]
        (Step("charge", lambda c: 1, transitions=("teleport",)), "does not know"),
    ],
)
def test_the_orchestrator_refuses_step_events_the_machine_cannot_know(
    step: Step, match: str
) -> None:
    with pytest.raises(WorkflowError, match=match):
        Orchestrator([step], spec=ORDER_SPEC)


EVENTS = ["accept", "reject", "timeout", "cancel", "refund", "deliver"]
groups = st.lists(st.sampled_from(EVENTS), max_size=3).map(tuple)


def _group(state: str, events: tuple[str, ...], data: object) -> tuple[str, bool]:
    """The oracle: the state after ``events`` in order, or ``state`` and False if one is refused."""
    ctx = data if isinstance(data, dict) else {}
    now = state
    for event in events:
        try:
            after = ORDER_SPEC.reference_next(now, event, ctx)
        except WorkflowError:  # a guard that cannot read its context
            return state, False
        if after is None:
            return state, False
        now = after
    return now, True


def _saga(case: dict[str, Any], effects: list[str], on_point: Any, log: StepLog) -> Orchestrator:
    amount, waited = case["amount"], case["waited"]

    def charge(ctx: dict[str, Any]) -> dict[str, Any]:
        effects.append("charge")
        return {"amount": amount}

    def refund(ctx: dict[str, Any], result: dict[str, Any]) -> dict[str, Any] | None:
        effects.append("refund")
        return {"amount": result["amount"]} if case["refund_says_amount"] else None

    def restaurant(ctx: dict[str, Any]) -> dict[str, Any]:
        effects.append("ticket")
        return {"waited": waited}

    def cancel_ticket(ctx: dict[str, Any], result: dict[str, Any]) -> None:
        effects.append("cancel ticket")

    def driver(ctx: dict[str, Any]) -> None:
        effects.append("search")
        raise StepFailed("no driver", case["fail_events"], case["fail_data"])

    steps = [
        Step("charge", charge, refund, (), case["charge_undo"]),
        Step("restaurant", restaurant, cancel_ticket, case["accept"], case["ticket_undo"]),
        Step("driver", driver),
    ]
    return Orchestrator(steps, log=log, spec=ORDER_SPEC, on_point=on_point)


def _expected(case: dict[str, Any]) -> tuple[str, list[str], str]:
    """State, the labels of refused groups in order, and the step the saga failed at: the
    restaurant when its own ``accept`` is refused (the driver then never runs), else the driver.
    """
    state, refused = "placed", []
    state, ok = _group(state, case["accept"], {"waited": case["waited"]})
    failed_at = "restaurant" if not ok else "driver"
    groups = [
        ("driver", case["fail_events"], case["fail_data"]),
        ("undo:restaurant", case["ticket_undo"], None),
        ("undo:charge", case["charge_undo"],
         {"amount": case["amount"]} if case["refund_says_amount"] else None),
    ]  # fmt: skip
    if not ok:
        refused.append("restaurant")
        del groups[0]
    for label, events, data in groups:
        state, ok = _group(state, events, data)
        if not ok:
            refused.append(label)
    return state, refused, failed_at


def _killer(crash: int) -> Any:
    """An ``on_point`` that kills the worker at the ``crash``-th point it reaches (0-based)."""
    seen = [0]

    def on_point(name: str) -> None:
        seen[0] += 1
        if seen[0] - 1 == crash:
            raise Kill(name)

    return on_point


cases = st.fixed_dictionaries(
    {
        "amount": st.sampled_from([0, 1250]),
        "waited": st.sampled_from([60.0, 300.0, 301.0]),
        "accept": st.sampled_from([(), ("accept",)]),
        "fail_events": groups,
        "fail_data": st.sampled_from([None, {}, {"amount": 1250}, {"waited": 400.0}]),
        "ticket_undo": st.sampled_from([(), ("cancel",), ("reject",)]),
        "charge_undo": st.sampled_from([(), ("refund",)]),
        "refund_says_amount": st.booleans(),
        "durable": st.booleans(),
    }
)

REFUND_WHILE_PLACED = {  # a failure naming 'refund' while the order is 'placed'
    "amount": 1250, "waited": 60.0, "accept": (), "fail_events": ("refund",), "fail_data": None,
    "ticket_undo": (), "charge_undo": ("refund",), "refund_says_amount": True, "durable": False,
}  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(case=cases)
@example(case=REFUND_WHILE_PLACED)
@example(case={**REFUND_WHILE_PLACED, "accept": ("accept",), "fail_events": ("cancel", "refund"),
               "fail_data": {"amount": 1250}, "durable": True})  # fmt: skip  # all fire
@example(case={**REFUND_WHILE_PLACED, "fail_events": ("cancel", "refund"), "fail_data": None})
@example(case={**REFUND_WHILE_PLACED, "fail_events": ("reject",), "ticket_undo": ("cancel",)})
def test_refused_events_never_block_a_saga_killed_anywhere(
    case: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    state, refused, failed_at = _expected(case)
    points: list[str] = []
    baseline: list[str] = []
    first = _saga(case, baseline, points.append, MemoryLog()).run("o-1")
    assert first.outcome == "compensated" and first.compensated == ("restaurant", "charge")
    assert first.state == state and first.failed_step == failed_at
    assert [r.split(": ", 1)[0] for r in first.refused] == refused
    assert ("its events did not fire" in first.reason) == (failed_at in refused)
    assert first.reason.startswith("no driver" if failed_at == "driver" else "its events")
    assert ("search" in baseline) == (failed_at == "driver")
    for crash in range(len(points)):  # killed at every crash point in turn, then resumed
        log: StepLog = (
            SQLiteLog(tmp_path_factory.mktemp("wf") / "wf.db", synchronous="OFF")
            if case["durable"]
            else MemoryLog()
        )
        effects: list[str] = []
        on_point = _killer(crash)
        with pytest.raises(Kill):
            _saga(case, effects, on_point, log).run("o-1")
        result = _saga(case, effects, on_point, log).run("o-1")
        fields = ("outcome", "state", "compensated", "refused", "reason")
        assert [getattr(result, f) for f in fields] == [getattr(first, f) for f in fields]
        assert log.get("o-1", "outcome") == {"outcome": "compensated", "state": state}
        # each side effect once, except the one whose record the crash lost: done again
        assert sorted(set(effects)) == sorted(set(baseline))
        assert len(effects) - len(baseline) in (0, 1), (points[crash], effects)
        if len(effects) > len(baseline):
            assert points[crash].endswith(".done")
        again = _saga(case, effects, None, log).run("o-1")  # replayed: nothing runs again
        assert again.refused == first.refused and again.state == state
        assert (log.get("o-1", "do:driver") is MISSING) == (failed_at == "restaurant")


def test_the_review_case_compensates_and_records_the_outcome() -> None:
    """``StepFailed("no driver", ("refund",))`` in state 'placed': the refund still happens once
    and the outcome is written; the failure's record says why its event did not fire."""
    log = MemoryLog()
    effects: list[str] = []
    for _ in range(3):  # resumes replay; none raises
        result = _saga(REFUND_WHILE_PLACED, effects, None, log).run("o-1")
        assert result.outcome == "compensated" and result.state == "placed"
    assert effects == ["charge", "ticket", "search", "cancel ticket", "refund"]
    assert log.get("o-1", "outcome") == {"outcome": "compensated", "state": "placed"}
    assert "refund" in log.get("o-1", "do:driver")[1]
    assert [r.split(": ", 1)[0] for r in result.refused] == ["driver", "undo:charge"]


def test_a_step_whose_own_events_are_refused_fails_the_saga() -> None:
    """The restaurant's answer came after five minutes, so its ``accept`` is refused: the saga
    used to carry on and end ``completed`` (``ok``) with the order still ``placed``. The step's
    action happened but the order cannot be where it says: the step fails, and every step done,
    this one first, is compensated; the next step never runs."""
    effects: list[str] = []

    def step(name: str, value: Any = None) -> Any:
        return lambda ctx, *result: effects.append(name) or value

    steps = [
        Step("charge", step("charge", {"amount": 1250}), step("refund", {"amount": 1250}),
             (), ("refund",)),
        Step("restaurant", step("ticket", {"waited": 301.0}), step("cancel ticket"),
             ("accept",), ("cancel",)),
        Step("deliver", step("deliver"), None, ("start_preparing",)),
    ]  # fmt: skip
    log = MemoryLog()
    for _ in range(2):  # the first run, then a replay that decides the same
        result = Orchestrator(steps, log=log, spec=ORDER_SPEC).run("o-1")
        assert (result.outcome, result.ok, result.failed_step) == (
            "compensated",
            False,
            "restaurant",
        )
        assert result.done == ("charge", "restaurant")
        assert result.compensated == ("restaurant", "charge")
        assert result.reason.startswith("its events did not fire: order: event 'accept'")
        assert [r.split(": ", 1)[0] for r in result.refused] == ["restaurant"]
        assert result.state == "refunded"  # cancelled, then refunded: the compensations' events
    assert effects == ["charge", "ticket", "cancel ticket", "refund"]
    assert log.get("o-1", "outcome") == {"outcome": "compensated", "state": "refunded"}
