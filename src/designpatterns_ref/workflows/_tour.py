"""``dpref tour workflows``: an order's lifecycle, a saga that compensates, a crash and a
resume, the outbox, and the same saga choreographed."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.workflows.base import IllegalTransition
from designpatterns_ref.workflows.choreography import Choreography
from designpatterns_ref.workflows.durable import SQLiteLog
from designpatterns_ref.workflows.food import OrderScenario, World, order_saga
from designpatterns_ref.workflows.order import new_order
from designpatterns_ref.workflows.outbox import Relay

__all__ = ["tour"]


class _Crash(Exception):
    pass


def tour(out: Callable[[str], None]) -> None:
    """Print the workflows story, deterministically, in a second."""
    order = new_order()
    out("An order is a state machine declared as data. It starts 'placed'.")
    try:
        order.fire("deliver")
    except IllegalTransition as exc:
        out(f"  deliver now? refused: {exc}")
    order.fire("accept", {"waited": 90.0})
    out(f"  the restaurant accepts after 90 s: state {order.state!r}")

    clock = ManualClock()
    kitchen = OrderScenario("order-7", 2400, True, 60.0, True, 3, True)
    world = World(":memory:", [kitchen], clock=clock)
    result = order_saga(world, clock=clock).run("order-7")
    out("\nA saga: charge, restaurant, driver, deliver. The kitchen gives up at the end:")
    out(f"  done {list(result.done)}, failed at {result.failed_step!r} ({result.reason})")
    out(f"  compensated in reverse: {list(result.compensated)}; order {result.state!r}")
    out(f"  side effects: {world.effects()}")

    with tempfile.TemporaryDirectory() as d:
        ok = OrderScenario("order-8", 1500, True, 120.0, True, 2, False)
        clock = ManualClock()
        world = World(Path(d) / "world.db", [ok], clock=clock)
        log = SQLiteLog(Path(d) / "wf.db")

        def die_after_charge(point: str) -> None:
            if point == "do:restaurant.start":
                raise _Crash

        try:
            order_saga(world, clock=clock, log=log, on_point=die_after_charge).run("order-8")
        except _Crash:
            out("\nDurable execution: the worker dies right after charging order-8.")
        again = order_saga(world, clock=clock, log=log).run("order-8")
        out(f"  a new worker resumes from the log: order {again.state!r}")
        sent = Relay(log, world.notify).drain()
        Relay(log, world.notify).drain()
        out(f"  the outbox relays {sent} event; a second relay sends nothing new")
        out(f"  ledger: {world.effects()} (one charge, one notification)")
        log.close()

    clock = ManualClock()
    late = OrderScenario("order-9", 900, True, 420.0, True, 1, False)
    chor = Choreography(World(":memory:", [late], clock=clock), clock=clock)
    state = chor.place("order-9")
    out("\nChoreography: the restaurant never answers in its five minutes.")
    out(f"  events: {[e.topic for e in chor.log]}")
    out(f"  order {state!r} after {clock():.0f} simulated seconds")
