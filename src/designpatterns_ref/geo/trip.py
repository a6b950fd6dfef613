"""Trip state machine: requested, matched, arriving, in progress, completed; or cancelled, no-show.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)

A trip is a small state machine, and writing its transitions down as a table is what stops the
bugs a ride-sharing backend is famous for: charging a cancelled trip, completing one that never
started, matching a second driver to a trip already under way. Every state lists the states it
may move to; anything else raises :class:`TripStateError` and changes nothing. Only
:meth:`~TripStateMachine.match` enters MATCHED (recording the driver) and only
:meth:`~TripStateMachine.unmatch` goes back to REQUESTED (letting the driver go), so a trip has
a driver exactly in the states that need one (a cancelled trip keeps the one it had, for the
record). Every transition is kept, with its time on the injected clock and an optional note, so
a trip's history can be replayed, audited or billed (time spent waiting, time in progress). A
clock that steps back counts as no time: a transition is never dated before the one it follows,
so no state is ever spent a negative time in.

::

    REQUESTED --> MATCHED --> DRIVER_ARRIVING --> IN_PROGRESS --> COMPLETED
        |            |  \\            |   \\
        +------------+---+--> CANCELLED    +--> NO_SHOW
                     +--> REQUESTED (the driver backed out: match again)

Complexity: O(1) per transition; history O(transitions).

>>> from designpatterns_ref.clock import ManualClock
>>> clock = ManualClock()
>>> trip = TripStateMachine("trip-1", clock=clock)
>>> trip.match("driver-7"); clock.advance(240); trip.arrive(); trip.start()
>>> trip.state.value, trip.driver_id
('in_progress', 'driver-7')
>>> trip.cancel()
Traceback (most recent call last):
...
designpatterns_ref.geo.trip.TripStateError: trip 'trip-1': cannot go from in_progress to ...
>>> trip.complete(); print(" -> ".join(t.to.value for t in trip.history))
requested -> matched -> driver_arriving -> in_progress -> completed
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass

from designpatterns_ref.clock import read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.geo._live import check_clock
from designpatterns_ref.geo.base import GeoError, GeoTypeError

__all__ = ["TRANSITIONS", "Transition", "TripState", "TripStateError", "TripStateMachine"]


class TripStateError(GeoError):
    """A transition the trip's state does not allow."""


class TripState(enum.Enum):
    """Where a trip is in its life."""

    REQUESTED = "requested"
    MATCHED = "matched"
    DRIVER_ARRIVING = "driver_arriving"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"

    @property
    def terminal(self) -> bool:
        """True for the states a trip never leaves."""
        return not TRANSITIONS[self]


S = TripState
#: Every allowed move: state -> the states it may go to.
TRANSITIONS: dict[TripState, frozenset[TripState]] = {
    S.REQUESTED: frozenset({S.MATCHED, S.CANCELLED}),
    S.MATCHED: frozenset({S.DRIVER_ARRIVING, S.CANCELLED, S.REQUESTED}),
    S.DRIVER_ARRIVING: frozenset({S.IN_PROGRESS, S.CANCELLED, S.NO_SHOW, S.REQUESTED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_SHOW: frozenset(),
}


#: The moves that change the driver, and the method that makes each (``advance`` refuses them).
_DRIVER_MOVES = {S.MATCHED: "match(driver_id)", S.REQUESTED: "unmatch(reason)"}


@dataclass(frozen=True, slots=True)
class Transition:
    """One move of a trip: from (None for the creation), to, when, and a note."""

    frm: TripState | None
    to: TripState
    at: float
    note: str = ""


def _check_text(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise GeoTypeError(f"{name}={shown(value)} must be a str")


class TripStateMachine:
    """One trip's state, with every transition kept; safe to share between threads."""

    def __init__(self, trip_id: str, *, clock: Callable[[], float] | None = None) -> None:
        if not isinstance(trip_id, str) or not trip_id:
            raise GeoTypeError(f"trip_id={shown(trip_id)} must be a non-empty str")
        self.trip_id = trip_id
        self._clock: Callable[[], float] = check_clock(clock)
        self._lock = threading.Lock()
        self.state = TripState.REQUESTED
        self.driver_id: str | None = None
        now = read_seconds(self._clock, GeoError, "TripStateMachine")
        self.history: list[Transition] = [Transition(None, self.state, now)]

    def advance(self, to: TripState, note: str = "") -> None:
        """Move to ``to`` if the current state allows it, else raise :class:`TripStateError`.

        The moves that change the driver are not taken here: ``MATCHED`` only through
        :meth:`match` (which records the driver) and ``REQUESTED`` only through :meth:`unmatch`
        (which lets the driver go), so a trip has a driver exactly in the states that need one.
        """
        if not isinstance(to, TripState):
            raise GeoTypeError(f"to={shown(to)} must be a TripState")
        _check_text("note", note)
        if to in _DRIVER_MOVES:
            raise TripStateError(
                f"trip {shown(self.trip_id)}: to={to.value} changes the driver; "
                f"call {_DRIVER_MOVES[to]} instead of advance"
            )
        with self._lock:
            self._move(to, note)

    def _move(self, to: TripState, note: str) -> None:
        allowed = TRANSITIONS[self.state]
        if to not in allowed:
            names = ", ".join(sorted(s.value for s in allowed)) or "none: the trip is over"
            raise TripStateError(
                f"trip {shown(self.trip_id)}: cannot go from {self.state.value} to {to.value} "
                f"(allowed: {names})"
            )
        now = read_seconds(self._clock, GeoError, f"trip {self.trip_id!r}")  # before any change
        last = self.history[-1]
        self.state = to
        # A clock that steps back counts as no time: a move is never dated before the last one.
        self.history.append(Transition(last.to, to, max(now, last.at), note))

    def match(self, driver_id: str) -> None:
        """A driver accepted the trip."""
        if not isinstance(driver_id, str) or not driver_id:
            raise GeoTypeError(f"driver_id={shown(driver_id)} must be a non-empty str")
        with self._lock:
            self._move(TripState.MATCHED, f"driver {driver_id}")
            self.driver_id = driver_id

    def arrive(self) -> None:
        """The driver is on the way to (or waiting at) the pickup point."""
        self.advance(TripState.DRIVER_ARRIVING)

    def start(self) -> None:
        """The rider is on board."""
        self.advance(TripState.IN_PROGRESS)

    def complete(self) -> None:
        """The rider was dropped off."""
        self.advance(TripState.COMPLETED)

    def cancel(self, by: str = "rider") -> None:
        """The rider (or the driver, ``by="driver"``, before pickup) cancelled the trip."""
        _check_text("by", by)
        self.advance(TripState.CANCELLED, f"by {by}")

    def no_show(self) -> None:
        """The driver waited at the pickup point and the rider never came."""
        self.advance(TripState.NO_SHOW)

    def unmatch(self, reason: str = "driver backed out") -> None:
        """The driver withdrew before pickup: the trip needs a new driver."""
        _check_text("reason", reason)
        with self._lock:
            self._move(TripState.REQUESTED, reason)
            self.driver_id = None

    def time_in(self, state: TripState) -> float:
        """Seconds the trip has spent in ``state`` so far (all visits, up to now)."""
        if not isinstance(state, TripState):
            raise GeoTypeError(f"state={shown(state)} must be a TripState")
        total = 0.0
        now = read_seconds(self._clock, GeoError, "TripStateMachine.time_in")
        with self._lock:  # one copy, taken while no transition is being added
            history = list(self.history)
        now = max(now, history[-1].at)  # a clock stepped back: the current visit counts none
        for here, after in zip(history, [*history[1:], None], strict=True):
            if here.to is state:
                total += (after.at if after is not None else now) - here.at
        return total

    def __repr__(self) -> str:
        return f"TripStateMachine({self.trip_id!r}, state={self.state.value})"
