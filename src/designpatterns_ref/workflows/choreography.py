"""The choreographed saga: no coordinator, each party reacts to the others' events.

Case study: Design a Food Delivery App (docs/case-studies/food-delivery.md)

The same order as :func:`~designpatterns_ref.workflows.order_saga`, with nobody in charge. Each
party subscribes to the events it cares about and publishes what it did: payments hears
``order.placed`` and says ``payment.charged``; the restaurant hears that and answers
``restaurant.accepted`` or ``restaurant.rejected``; dispatch finds a driver or says
``driver.not_found``; and the compensations travel backwards the same way (``driver.not_found``
makes the restaurant cancel, ``restaurant.cancelled`` makes payments refund). The
:class:`EventBus` delivers events in publication order, one at a time.

The trade-off against the orchestrator: parties stay decoupled and no central component exists,
but the flow lives nowhere in particular: to know what happens after a rejection you read every
subscriber, and a cycle or a missing compensation is easy to introduce and hard to see. The
:attr:`Choreography.log` of events is the only place the whole story is written down.

Complexity: O(events) deliveries per order; each handler is one side effect.

>>> from designpatterns_ref.clock import ManualClock
>>> from designpatterns_ref.workflows.food import OrderScenario, World
>>> clock = ManualClock()
>>> s = OrderScenario("order-1", 2400, True, 60.0, False, 1, False)
>>> c = Choreography(World(":memory:", [s], clock=clock), clock=clock)
>>> c.place("order-1")
'refunded'
>>> [e.topic for e in c.log]  # doctest: +NORMALIZE_WHITESPACE
['order.placed', 'payment.charged', 'restaurant.rejected', 'payment.refunded',
 'order.refunded']
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable

from designpatterns_ref.clock import Clock
from designpatterns_ref.errors import shown
from designpatterns_ref.workflows.base import Event, WorkflowTypeError, check_name
from designpatterns_ref.workflows.food import DRIVER_BACKOFF, World, _ask_restaurant
from designpatterns_ref.workflows.machine import Machine
from designpatterns_ref.workflows.order import new_order
from designpatterns_ref.workflows.timers import retry

__all__ = ["Choreography", "EventBus"]

Handler = Callable[[Event], None]


class EventBus:
    """In-process publish/subscribe: FIFO delivery to every subscriber of a topic."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Handler]] = defaultdict(list)
        self._queue: deque[Event] = deque()
        self.log: list[Event] = []

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call ``handler(event)`` for every event on ``topic``."""
        check_name("EventBus.subscribe", "topic", topic)
        if not callable(handler):
            raise WorkflowTypeError(
                f"EventBus.subscribe: handler={shown(handler, 80)} not callable"
            )
        self._subscribers[topic].append(handler)

    def publish(self, event: Event) -> None:
        """Queue ``event`` for delivery."""
        if not isinstance(event, Event):
            raise WorkflowTypeError(f"EventBus.publish: event={shown(event, 80)} must be an Event")
        self._queue.append(event)

    def run(self) -> int:
        """Deliver until no event is queued; the number delivered."""
        n = 0
        while self._queue:
            event = self._queue.popleft()
            self.log.append(event)
            for handler in self._subscribers.get(event.topic, ()):
                handler(event)
            n += 1
        return n


class Choreography:
    """The order's parties wired to an :class:`EventBus`; :meth:`place` runs one order."""

    def __init__(self, world: World, *, clock: Clock) -> None:
        if not isinstance(world, World):
            raise WorkflowTypeError(f"Choreography: world={shown(world, 80)} must be a World")
        if not callable(clock):
            raise WorkflowTypeError(f"Choreography: clock={shown(clock, 80)} must be callable")
        self.world = world
        self.clock = clock
        sleep = getattr(clock, "advance", None)
        if sleep is None:
            raise WorkflowTypeError("Choreography: clock must have advance() (a ManualClock)")
        self.sleep: Callable[[float], object] = sleep
        self.bus = EventBus()
        self.orders: dict[str, Machine] = {}
        on = self.bus.subscribe
        on("order.placed", self._payments_charge)
        on("payment.charged", self._restaurant_ask)
        on("restaurant.accepted", self._dispatch_find)
        on("driver.assigned", self._kitchen_cook)
        on("kitchen.failed", self._dispatch_release)
        on("driver.released", self._restaurant_cancel)
        on("driver.not_found", self._restaurant_cancel)
        on("restaurant.rejected", self._payments_refund)
        on("restaurant.timed_out", self._payments_refund)
        on("restaurant.cancelled", self._payments_refund)
        for topic in ("payment.declined", "payment.refunded", "order.delivered"):
            on(topic, self._order_track)
        for topic in ("order.cancelled", "order.refunded", "order.delivered"):
            on(topic, self._notifier)

    @property
    def log(self) -> list[Event]:
        """Every event delivered, in order."""
        return self.bus.log

    def _say(self, topic: str, order_id: str, **data: object) -> None:
        self.bus.publish(Event(f"{order_id}:{topic}", topic, order_id, tuple(data.items())))

    def place(self, order_id: str) -> str:
        """Place ``order_id`` and let the parties talk until silence; its final state."""
        check_name("Choreography.place", "order_id", order_id)
        self.world.scenario(order_id)
        self.orders[order_id] = new_order()
        self._say("order.placed", order_id)
        self.bus.run()
        return self.orders[order_id].state

    # payments
    def _payments_charge(self, e: Event) -> None:
        if not self.world.scenario(e.order_id).card_ok:
            self._say("payment.declined", e.order_id)
            return
        self.world.charge(e.order_id, f"{e.order_id}:charge")
        self._say("payment.charged", e.order_id)

    def _payments_refund(self, e: Event) -> None:
        self.world.refund(e.order_id, f"{e.order_id}:refund")
        self._say("payment.refunded", e.order_id)

    # the restaurant
    def _restaurant_ask(self, e: Event) -> None:
        o = e.order_id
        answer, waited = _ask_restaurant(self.world, o, clock=self.clock, sleep=self.sleep)
        machine = self.orders[o]
        if answer is None:
            self.world.cancel_ticket(o, f"{o}:ticket.cancel")
            machine.fire("timeout", {"waited": waited})
            self._say("restaurant.timed_out", o)
        elif answer == "reject":
            machine.fire("reject")
            self._say("restaurant.rejected", o)
        else:
            machine.fire("accept", {"waited": waited})
            self._say("restaurant.accepted", o)

    def _restaurant_cancel(self, e: Event) -> None:
        self.world.cancel_ticket(e.order_id, f"{e.order_id}:ticket.cancel")
        if self.orders[e.order_id].state != "cancelled":
            self.orders[e.order_id].fire("cancel")
        self._say("restaurant.cancelled", e.order_id)

    # dispatch
    def _dispatch_find(self, e: Event) -> None:
        o = e.order_id
        attempts = iter(range(1, DRIVER_BACKOFF.attempts + 1))
        found, _ = retry(
            lambda: self.world.find_driver(o, next(attempts)),
            DRIVER_BACKOFF,
            clock=self.clock,
            sleep=self.sleep,
        )
        if found is None:
            self._say("driver.not_found", o)
            return
        self.world.assign_driver(o, found, f"{o}:driver")
        self._say("driver.assigned", o, driver=found)

    def _dispatch_release(self, e: Event) -> None:
        self.world.release_driver(e.order_id, f"{e.order_id}:driver.release")
        self._say("driver.released", e.order_id)

    # the kitchen and the courier
    def _kitchen_cook(self, e: Event) -> None:
        o = e.order_id
        if self.world.scenario(o).kitchen_fails:
            self.orders[o].fire("cancel")
            self._say("kitchen.failed", o)
            return
        self.sleep(900.0)
        machine = self.orders[o]
        for step in ("start_preparing", "mark_ready"):
            machine.fire(step)
        machine.fire("pick_up", dict(e.data))
        machine.fire("deliver")
        self._say("order.delivered", o)

    # the order service and the notifier
    def _order_track(self, e: Event) -> None:
        machine = self.orders[e.order_id]
        if e.topic == "payment.declined":
            machine.fire("cancel")
            self._say("order.cancelled", e.order_id)
        elif e.topic == "payment.refunded":
            machine.fire("refund", {"amount": self.world.scenario(e.order_id).amount})
            self._say("order.refunded", e.order_id)

    def _notifier(self, e: Event) -> None:
        self.world.notify(e)
