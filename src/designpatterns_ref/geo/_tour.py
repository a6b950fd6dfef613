"""``dpref tour geo``: geohash cells, an exact nearest-driver search, dispatch, surge and a trip."""

from __future__ import annotations

from collections.abc import Callable

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import geohash as gh
from designpatterns_ref.geo.brute import BruteForceIndex
from designpatterns_ref.geo.dispatch import Dispatcher
from designpatterns_ref.geo.geohash_index import GeohashIndex
from designpatterns_ref.geo.surge import SurgePricer
from designpatterns_ref.geo.trip import TripStateError, TripStateMachine

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Print the ride-sharing story, deterministically, in well under a second."""
    lat, lon = 40.7580, -73.9855  # Times Square
    code = gh.encode(lat, lon, 7)
    out(f"Times Square is geohash {code!r}: a cell {gh.cell_size_m(7, lat)[0]:.0f} m tall.")
    out(f"  Its prefix {code[:5]!r} is the 4.9 km cell around it, whose neighbours are")
    out(f"  {gh.neighbors(code[:5])}.")
    out(f"  Across the date line, the cell east of 'zzzzz' is {gh.neighbor('zzzzz', 'e')!r}.")
    cover = gh.cover_circle(lat, lon, 500.0)
    out(f"  A 500 m circle is covered by {len(cover)} cells of precision {len(cover[0])}: {cover}")

    clock = ManualClock()
    index, oracle = GeohashIndex(clock=clock), BruteForceIndex(clock=clock)
    for i in range(200):
        d_lat, d_lon = lat + ((i * 37) % 101 - 50) * 1e-4, lon + ((i * 53) % 97 - 48) * 1e-4
        index.upsert(f"driver{i:03d}", d_lat, d_lon)
        oracle.upsert(f"driver{i:03d}", d_lat, d_lon)
    trace = index.trace(lat, lon, 3)
    out(f"\n200 drivers nearby. The 3 nearest, searched in {trace.rings + 1} rings of cells:")
    for m in trace.matches:
        out(f"  {m.driver_id} at {m.distance_m:.1f} m")
    same = trace.matches == oracle.nearest(lat, lon, 3)
    out(f"  {len(trace.cells)} cells scanned; equal to brute force over all 200: {same}.")

    dispatcher = Dispatcher(index)
    first = dispatcher.request("rider-a", lat, lon)
    second = dispatcher.request("rider-b", lat, lon)
    assert first is not None and second is not None
    out(f"\nDispatch: rider-a gets {first.driver_id}; rider-b, asking from the same spot,")
    out(f"  gets {second.driver_id}, because {first.driver_id} is busy now.")

    pricer = SurgePricer(half_life=60.0, cap=3.0, clock=clock)
    cell = code[:6]
    out(f"\nSurge in cell {cell!r}, demand over supply smoothed with a 60 s half-life:")
    for demand, supply in [(10, 10), (30, 10), (30, 10), (30, 10), (12, 12)]:
        clock.advance(60.0)
        price = pricer.update(cell, demand=demand, supply=supply)
        out(f"  {demand} riders, {supply} drivers -> x{price:.1f}")

    trip = TripStateMachine("trip-1", clock=clock)
    trip.match(first.driver_id)
    clock.advance(180.0)
    trip.arrive()
    clock.advance(60.0)
    trip.start()
    try:
        trip.cancel()
    except TripStateError as exc:
        out(f"\nTrip: cancelling a ride in progress is refused: {exc}")
    clock.advance(900.0)
    trip.complete()
    dispatcher.release(first.driver_id)
    steps = " -> ".join(f"{t.to.value}@{t.at - trip.history[0].at:.0f}s" for t in trip.history)
    out(f"  {steps}; {first.driver_id} is free again.")
