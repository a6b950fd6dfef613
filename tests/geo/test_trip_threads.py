"""A trip read from one thread while another moves it: ``time_in`` never fails and never
counts a moment twice."""

from __future__ import annotations

import sys
import threading

from designpatterns_ref.geo import TripState, TripStateMachine


def test_time_in_while_another_thread_moves_the_trip() -> None:
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as possible: a race shows at once
    errors: list[BaseException] = []
    try:
        for _ in range(40):
            now = [0.0]
            trip = TripStateMachine("t", clock=lambda now=now: now[0])  # type: ignore[misc]

            def rematch(trip: TripStateMachine = trip, now: list[float] = now) -> None:
                for _ in range(200):
                    trip.match("d")
                    now[0] += 1.0
                    trip.unmatch()

            def read(trip: TripStateMachine = trip, now: list[float] = now) -> None:
                try:
                    for _ in range(200):
                        spent = trip.time_in(TripState.MATCHED)
                        assert 0.0 <= spent <= now[0]
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=f) for f in (rematch, read)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert trip.time_in(TripState.MATCHED) == 200.0
            if errors:
                break
    finally:
        sys.setswitchinterval(before)
    assert errors == []
