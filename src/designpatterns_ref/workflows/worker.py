"""The order worker as a process: run a batch of order sagas durably, die anywhere, resume.

Case study: Design a Food Delivery App (docs/case-studies/food-delivery.md)

``python -m designpatterns_ref.workflows.worker WORKFLOW_DB WORLD_DB --orders 6 --seed 1``
runs :func:`~designpatterns_ref.workflows.order_saga` for each order of
:func:`~designpatterns_ref.workflows.random_scenarios` with a
:class:`~designpatterns_ref.workflows.SQLiteLog`, then drains the outbox to the notifier.
``--crash-at N`` sends the process SIGKILL at the ``N``-th crash point (before and after every
step, after every side effect, between publishing an event and marking it), ``--crash-on NAME``
at the first point of that name: a real kill, no clean-up, no ``finally``. Running the same
command again resumes from the log. The tests kill it at random points and check that every
order ends delivered or fully compensated and that the world's ledger holds no side effect twice.

Complexity: one run is O(orders * steps) transactions; a resumed run replays the log first.

>>> import tempfile, os
>>> d = tempfile.mkdtemp()
>>> states = run_worker(os.path.join(d, "wf.db"), os.path.join(d, "world.db"), orders=3, seed=1)
>>> set(states.values()) <= {"cancelled", "delivered", "refunded"}
True
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.workflows.base import check_count
from designpatterns_ref.workflows.durable import SQLiteLog
from designpatterns_ref.workflows.food import World, order_saga, random_scenarios
from designpatterns_ref.workflows.outbox import Relay

__all__ = ["main", "run_worker"]


def run_worker(
    workflow_db: str,
    world_db: str,
    *,
    orders: int,
    seed: int,
    crash_at: int | None = None,
    crash_on: str | None = None,
    idempotent: bool = True,
) -> dict[str, str]:
    """Run (or resume) every order; the final state of each. May SIGKILL its own process."""
    check_count("run_worker", "orders", orders, 0, 100_000)
    points = 0

    def on_point(name: str) -> None:
        nonlocal points
        points += 1
        if points == crash_at or name == crash_on:
            os.kill(os.getpid(), signal.SIGKILL)

    clock = ManualClock()
    scenarios = random_scenarios(orders, seed)
    world = World(world_db, scenarios, clock=clock, idempotent=idempotent)
    world.on_point = on_point
    log = SQLiteLog(workflow_db)
    saga = order_saga(world, clock=clock, log=log, on_point=on_point)
    states = {s.order_id: saga.run(s.order_id).state for s in scenarios}
    Relay(log, world.notify, on_point=on_point).drain()
    log.close()
    return states


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: prints the final states as JSON."""
    parser = argparse.ArgumentParser(prog="python -m designpatterns_ref.workflows.worker")
    parser.add_argument("workflow_db")
    parser.add_argument("world_db")
    parser.add_argument("--orders", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--crash-at", type=int, default=None)
    parser.add_argument("--crash-on", default=None)
    parser.add_argument("--no-idempotency", action="store_true")
    args = parser.parse_args(argv)
    states = run_worker(
        args.workflow_db,
        args.world_db,
        orders=args.orders,
        seed=args.seed,
        crash_at=args.crash_at,
        crash_on=args.crash_on,
        idempotent=not args.no_idempotency,
    )
    print(json.dumps(states, sort_keys=True))
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a process by the tests
    sys.exit(main())
