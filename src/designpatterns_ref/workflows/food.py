"""The food-delivery order as a saga: the card, the restaurant and the drivers, simulated.

Case study: Design a Food Delivery App (docs/case-studies/food-delivery.md)

:class:`World` plays the three other parties in a SQLite database of their own: a payment
provider that honours idempotency keys (a repeated key gets the first answer and charges
nothing), a restaurant that answers a ticket after some delay (or never), a dispatch service
that finds a driver on some attempt (or never), and a notifier behind an
:class:`~designpatterns_ref.workflows.Inbox`. Every real side effect is appended to the world's
``ledger`` under the key ``kind:order`` with no uniqueness constraint, so a repeated effect is
visible rather than silently absorbed. What each party answers is fixed by an
:class:`OrderScenario`, so runs are reproducible; :func:`expected` is the plain-code oracle:
the final state and the set of effects each scenario must end with.

:func:`order_saga` builds the :class:`~designpatterns_ref.workflows.Orchestrator` of four steps:
charge the card (undo: refund), send the ticket and wait up to five minutes for the restaurant
(undo: cancel the ticket), find a driver with backoff (undo: release the driver), then prepare
and deliver (which may still fail if the kitchen gives up).

Complexity: one SQLite transaction per side effect.

>>> from designpatterns_ref.clock import ManualClock
>>> clock = ManualClock()
>>> s = OrderScenario("order-1", 2400, True, 90.0, True, 2, False)
>>> world = World(":memory:", [s], clock=clock)
>>> saga = order_saga(world, clock=clock)
>>> saga.run("order-1").state
'delivered'
>>> from designpatterns_ref.workflows.outbox import Relay
>>> Relay(saga.log, world.notify).drain()  # the outcome event reaches the notifier
1
>>> sorted(world.effects("order-1")) == sorted(expected(s)[1])
True
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from designpatterns_ref.clock import Clock
from designpatterns_ref.errors import shown
from designpatterns_ref.workflows.base import (
    Event,
    StepFailed,
    WorkflowError,
    WorkflowTypeError,
    check_count,
    check_name,
    check_seconds,
)
from designpatterns_ref.workflows.durable import StepLog, _commit
from designpatterns_ref.workflows.order import ACCEPT_DEADLINE, ORDER_SPEC
from designpatterns_ref.workflows.saga import Orchestrator, Step
from designpatterns_ref.workflows.timers import Backoff, Deadline, retry, wait_for

__all__ = [
    "DRIVER_BACKOFF",
    "OrderScenario",
    "World",
    "expected",
    "order_saga",
    "random_scenarios",
]

#: The driver search: 10 s, 20 s, 40 s, 80 s between five attempts.
DRIVER_BACKOFF = Backoff(base=10.0, factor=2.0, cap=120.0, attempts=5)
#: How often the orchestrator looks for the restaurant's answer.
POLL_EVERY = 30.0


@dataclass(frozen=True, slots=True)
class OrderScenario:
    """What the other parties will answer for one order.

    ``restaurant_delay`` is the seconds until the restaurant answers (past five minutes it is too
    late); ``driver_after`` the attempt on which a driver is found (``None``: never);
    ``kitchen_fails`` makes the kitchen give up after a driver was assigned.
    """

    order_id: str
    amount: int
    card_ok: bool
    restaurant_delay: float
    restaurant_accepts: bool
    driver_after: int | None
    kitchen_fails: bool

    def __post_init__(self) -> None:
        check_name("OrderScenario", "order_id", self.order_id)
        check_count("OrderScenario", "amount", self.amount, 1, 10**9)
        check_seconds("OrderScenario", "restaurant_delay", self.restaurant_delay)
        if self.driver_after is not None:
            check_count("OrderScenario", "driver_after", self.driver_after, 1, 1000)
        for field in ("card_ok", "restaurant_accepts", "kitchen_fails"):
            if not isinstance(getattr(self, field), bool):
                raise WorkflowTypeError(f"OrderScenario: {field} must be a bool")


def random_scenarios(n: int, seed: int = 0) -> list[OrderScenario]:
    """``n`` reproducible scenarios: most orders succeed, every failure path appears."""
    check_count("random_scenarios", "n", n, 0, 1_000_000)
    check_count("random_scenarios", "seed", seed, -(2**63), 2**63)
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append(
            OrderScenario(
                f"order-{i}",
                rng.randrange(800, 6000),
                rng.random() > 0.1,
                rng.choice((30.0, 90.0, 240.0, 300.0, 420.0)),
                rng.random() > 0.15,
                rng.choice((1, 1, 2, 3, 5, None)),
                rng.random() < 0.1,
            )
        )
    return out


def expected(s: OrderScenario) -> tuple[str, list[str]]:
    """The oracle: the final state and the effect keys, written out case by case."""
    if not isinstance(s, OrderScenario):
        raise WorkflowTypeError(f"expected: s={shown(s, 80)} must be an OrderScenario")
    o = s.order_id
    if not s.card_ok:
        return "cancelled", [f"notify:{o}"]
    if s.restaurant_delay > ACCEPT_DEADLINE:
        keys = ["charge", "ticket", "ticket.cancel", "refund", "notify"]
    elif not s.restaurant_accepts:
        keys = ["charge", "ticket", "refund", "notify"]
    elif s.driver_after is None or s.driver_after > DRIVER_BACKOFF.attempts:
        keys = ["charge", "ticket", "ticket.cancel", "refund", "notify"]
    elif s.kitchen_fails:
        keys = ["charge", "ticket", "driver.assign", "driver.release", "ticket.cancel"]
        keys += ["refund", "notify"]
    else:
        return "delivered", [f"{k}:{o}" for k in ("charge", "ticket", "driver.assign", "notify")]
    return "refunded", [f"{k}:{o}" for k in keys]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, kind TEXT NOT NULL,
    order_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency(key TEXT PRIMARY KEY, result TEXT NOT NULL);
"""


class World:
    """The payment provider, restaurant, dispatch and notifier, with their side-effect ledger.

    ``idempotent=False`` makes the providers ignore idempotency keys (to show what a crash
    between a side effect and its record then costs). The providers and the notifier share
    one connection behind one lock, so a relay thread may notify while a saga runs.
    :meth:`close` (or leaving a ``with World(...)`` block) closes it; the providers, the
    notifier and the ledger then refuse with :class:`WorkflowError`.
    """

    def __init__(
        self,
        path: str | Path,
        scenarios: Iterable[OrderScenario],
        *,
        clock: Clock,
        idempotent: bool = True,
    ) -> None:
        if not isinstance(path, str | Path) or not str(path):
            raise WorkflowTypeError(f"World: path={shown(path, 80)} must be a non-empty path")
        if not callable(clock):
            raise WorkflowTypeError(f"World: clock={shown(clock, 80)} must be callable")
        self.scenarios: dict[str, OrderScenario] = {}
        if isinstance(scenarios, str | bytes) or not isinstance(scenarios, Iterable):
            raise WorkflowTypeError(f"World: scenarios={shown(scenarios, 80)} must be a list")
        for s in scenarios:
            if not isinstance(s, OrderScenario):
                raise WorkflowTypeError(f"World: scenario {shown(s, 80)} must be an OrderScenario")
            self.scenarios[s.order_id] = s
        self.clock = clock
        self.idempotent = bool(idempotent)
        try:
            self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        except (sqlite3.Error, ValueError) as exc:
            raise WorkflowError(f"World: cannot open path={shown(path, 80)}: {exc}") from None
        try:  # the first statements read the file: one that is not a database fails here
            if str(path) != ":memory:":
                self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise WorkflowError(f"World: path={shown(path, 80)} is not a database: {exc}") from None
        self._lock = threading.Lock()
        self._closed = False
        from designpatterns_ref.workflows.outbox import Inbox

        self.inbox = Inbox(self.conn)
        #: Called with ``"effect:<kind>"`` after each side effect commits (a crash point).
        self.on_point: Callable[[str], object] | None = None

    def close(self) -> None:
        """Close the database connection. Closing twice does nothing."""
        with self._lock:
            self._closed = True
            self.conn.close()

    def __enter__(self) -> World:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _open(self, where: str) -> sqlite3.Connection:
        """The connection (the caller holds the lock), refused once the world is closed."""
        if self._closed:
            raise WorkflowError(f"{where}: the world is closed")
        return self.conn

    def scenario(self, order_id: str) -> OrderScenario:
        """The scenario of ``order_id``."""
        try:
            return self.scenarios[order_id]
        except (KeyError, TypeError):
            raise WorkflowError(f"World: order_id={shown(order_id, 80)} has no scenario") from None

    def _effect(self, kind: str, order_id: str, idem_key: str, result: str) -> str:
        """Perform one side effect: a ledger row, unless the idempotency key was seen."""
        check_name("World", "order_id", order_id)
        check_name("World", "key", idem_key)
        self.scenario(order_id)
        with self._lock:
            conn = self._open(f"World ({kind})")
            conn.execute("BEGIN IMMEDIATE")
            if self.idempotent:
                row = conn.execute(
                    "SELECT result FROM idempotency WHERE key = ?", (idem_key,)
                ).fetchone()
                if row is not None:
                    conn.execute("ROLLBACK")
                    return str(row[0])
                conn.execute(
                    "INSERT INTO idempotency(key, result) VALUES (?, ?)", (idem_key, result)
                )
            conn.execute(
                "INSERT INTO ledger(key, kind, order_id) VALUES (?, ?, ?)",
                (f"{kind}:{order_id}", kind, order_id),
            )
            _commit(conn)
        if self.on_point is not None:
            self.on_point(f"effect:{kind}")
        return result

    # the payment provider
    def charge(self, order_id: str, key: str) -> dict[str, Any]:
        s = self.scenario(order_id)
        if not s.card_ok:
            raise StepFailed("card declined", ("cancel",))
        self._effect("charge", order_id, key, str(s.amount))
        return {"amount": s.amount}

    def refund(self, order_id: str, key: str) -> dict[str, Any]:
        s = self.scenario(order_id)
        self._effect("refund", order_id, key, str(s.amount))
        return {"amount": s.amount}

    # the restaurant
    def send_ticket(self, order_id: str, key: str) -> None:
        self._effect("ticket", order_id, key, "sent")

    def cancel_ticket(self, order_id: str, key: str) -> None:
        self._effect("ticket.cancel", order_id, key, "cancelled")

    def restaurant_answer(self, order_id: str, waited: float) -> str | None:
        """``"accept"``/``"reject"`` once ``waited`` reaches the restaurant's delay."""
        s = self.scenario(order_id)
        if check_seconds("World.restaurant_answer", "waited", waited) < s.restaurant_delay:
            return None
        return "accept" if s.restaurant_accepts else "reject"

    # dispatch
    def find_driver(self, order_id: str, attempt: int) -> str | None:
        s = self.scenario(order_id)
        check_count("World.find_driver", "attempt", attempt, 1, 10**6)
        if s.driver_after is None or attempt < s.driver_after:
            return None
        return f"driver-{sum(map(ord, order_id)) % 97}"

    def assign_driver(self, order_id: str, driver: str, key: str) -> None:
        self._effect("driver.assign", order_id, key, check_name("World", "driver", driver))

    def release_driver(self, order_id: str, key: str) -> None:
        self._effect("driver.release", order_id, key, "released")

    # the notifier (an outbox consumer)
    def notify(self, event: Event) -> bool:
        """Tell the customer how the order ended, once per event id (False for a repeat)."""

        def send(conn: sqlite3.Connection, ev: Event) -> None:
            conn.execute(
                "INSERT INTO ledger(key, kind, order_id) VALUES (?, ?, ?)",
                (f"notify:{ev.order_id}", "notify", ev.order_id),
            )

        with self._lock:  # the inbox shares the connection with the providers' effects
            self._open("World.notify")
            return self.inbox.handle(event, send)

    # what happened
    def effects(self, order_id: str | None = None) -> list[str]:
        """Every ledger key, in order (of one order, when given)."""
        if order_id is not None:
            check_name("World.effects", "order_id", order_id)
        with self._lock:
            conn = self._open("World.effects")
            if order_id is None:
                rows = conn.execute("SELECT key FROM ledger ORDER BY seq").fetchall()
            else:
                rows = conn.execute(
                    "SELECT key FROM ledger WHERE order_id = ? ORDER BY seq", (order_id,)
                ).fetchall()
        return [r[0] for r in rows]

    def duplicates(self) -> dict[str, int]:
        """Ledger keys that happened more than once, with their counts."""
        with self._lock:
            rows = (
                self._open("World.duplicates")
                .execute("SELECT key, COUNT(*) FROM ledger GROUP BY key HAVING COUNT(*) > 1")
                .fetchall()
            )
        return {k: n for k, n in rows}


def _ask_restaurant(
    world: World, order_id: str, *, clock: Clock, sleep: Callable[[float], object]
) -> tuple[str | None, float]:
    """Send the ticket and wait up to :data:`ACCEPT_DEADLINE` for the restaurant's answer.

    Returns ``(answer, waited)``: ``"accept"`` or ``"reject"`` polled by the deadline with
    ``waited <= ACCEPT_DEADLINE``, or ``None`` (no answer in time: none came, the poll that saw
    it was past the deadline, or the clock read once more is past it) with ``waited >=
    ACCEPT_DEADLINE``. ``waited`` is measured from the deadline
    (:meth:`~designpatterns_ref.workflows.Deadline.elapsed`), so the order's guards
    (``within_deadline``, ``deadline_passed``) take the event it leads to, whatever the
    clock's readings.
    """
    world.send_ticket(order_id, f"{order_id}:ticket")
    deadline = Deadline(ACCEPT_DEADLINE, clock=clock)
    answer = wait_for(
        lambda waited: world.restaurant_answer(order_id, waited),
        deadline,
        interval=POLL_EVERY,
        sleep=sleep,
    )
    waited = deadline.elapsed()
    if answer is None or waited > ACCEPT_DEADLINE:
        return None, waited
    return answer, waited


def order_saga(
    world: World,
    *,
    clock: Clock,
    log: StepLog | None = None,
    sleep: Callable[[float], object] | None = None,
    on_point: Callable[[str], object] | None = None,
) -> Orchestrator:
    """The four-step order saga over ``world``; ``sleep`` defaults to ``clock.advance``."""
    if not isinstance(world, World):
        raise WorkflowTypeError(f"order_saga: world={shown(world, 80)} must be a World")
    if sleep is None:
        sleep = getattr(clock, "advance", None)
        if sleep is None:
            raise WorkflowTypeError("order_saga: give sleep= for a clock without advance()")
    pause: Callable[[float], object] = sleep

    def order(ctx: dict[str, Any]) -> str:
        return check_name("order_saga", "workflow_id", ctx["workflow_id"])

    def charge(ctx: dict[str, Any]) -> dict[str, Any]:
        return world.charge(order(ctx), f"{order(ctx)}:charge")

    def refund(ctx: dict[str, Any], _: Any) -> dict[str, Any]:
        return world.refund(order(ctx), f"{order(ctx)}:refund")

    def restaurant(ctx: dict[str, Any]) -> dict[str, Any]:
        o = order(ctx)
        answer, waited = _ask_restaurant(world, o, clock=clock, sleep=pause)
        if answer is None:
            world.cancel_ticket(o, f"{o}:ticket.cancel")
            raise StepFailed("no answer in 5 minutes", ("timeout",), {"waited": waited})
        if answer == "reject":
            raise StepFailed("restaurant rejected", ("reject",))
        return {"waited": waited}

    def cancel_ticket(ctx: dict[str, Any], _: Any) -> None:
        world.cancel_ticket(order(ctx), f"{order(ctx)}:ticket.cancel")

    def driver(ctx: dict[str, Any]) -> dict[str, Any]:
        o = order(ctx)
        attempts = iter(range(1, DRIVER_BACKOFF.attempts + 1))
        found, tries = retry(
            lambda: world.find_driver(o, next(attempts)), DRIVER_BACKOFF, clock=clock, sleep=pause
        )
        if found is None:
            raise StepFailed(f"no driver after {tries} attempts", ("cancel",))
        world.assign_driver(o, found, f"{o}:driver")
        return {"driver": found, "attempts": tries}

    def release(ctx: dict[str, Any], _: Any) -> None:
        world.release_driver(order(ctx), f"{order(ctx)}:driver.release")

    def deliver(ctx: dict[str, Any]) -> dict[str, Any]:
        if world.scenario(order(ctx)).kitchen_fails:
            raise StepFailed("the kitchen gave up", ("cancel",))
        pause(900.0)  # cooking and the ride
        return {"driver": ctx["driver"]["driver"]}

    steps = [
        Step("charge", charge, refund, (), ("refund",)),
        Step("restaurant", restaurant, cancel_ticket, ("accept",)),
        Step("driver", driver, release),
        Step("deliver", deliver, None, ("start_preparing", "mark_ready", "pick_up", "deliver")),
    ]
    return Orchestrator(
        steps,
        log=log,
        spec=ORDER_SPEC,
        topic="order",
        clock=clock,
        on_point=on_point,
        sleep=pause,
    )
