"""Regression tests for the hostile inputs of issue 17: each a clear error that changes nothing.

The whole public API also meets hostile values in ``tests/fuzz`` (``families/geo.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.geo import (
    BruteForceIndex,
    Dispatcher,
    GeoError,
    GeohashIndex,
    GeoTypeError,
    H3Index,
    HexSurgePricer,
    QuadTreeIndex,
    SurgePricer,
    TripState,
    TripStateMachine,
    encode,
    equirectangular_m,
    haversine_m,
)

HUGE = 10**400


# -- defect 7: haversine_m (and equirectangular_m) validate ----------------------------------


@pytest.mark.parametrize("fn", [haversine_m, equirectangular_m])
@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((math.nan, 0.0, 0.0, 0.0), "lat1"),
        ((0.0, 0.0, 91.0, 0.0), "lat2"),
        ((-90.5, 0.0, 0.0, 0.0), "lat1"),
        ((0.0, 181.0, 0.0, 0.0), "lon1"),
        ((0.0, 0.0, 0.0, math.inf), "lon2"),
        ((0.0, HUGE, 0.0, 0.0), "lon1"),
    ],
)
def test_distance_functions_refuse_impossible_coordinates(
    fn: Callable[..., float], args: tuple[float, ...], field: str
) -> None:
    with pytest.raises(GeoError, match=f"{field}="):
        fn(*args)


@pytest.mark.parametrize("fn", [haversine_m, equirectangular_m])
@pytest.mark.parametrize("bad", [None, "1.0", [1.0], True])
def test_distance_functions_refuse_non_numbers(fn: Callable[..., float], bad: object) -> None:
    with pytest.raises(GeoTypeError):
        fn(0.0, 0.0, bad, 0.0)


def test_haversine_still_measures_the_edges() -> None:
    assert haversine_m(90.0, 0.0, -90.0, 0.0) == pytest.approx(math.pi * 6_371_008.8)
    assert haversine_m(0.0, 180.0, 0.0, -180.0) == pytest.approx(0.0, abs=1e-6)


# -- defect 8: huge ints become GeoError, never OverflowError --------------------------------


INDEXES: list[Callable[[], Any]] = [
    lambda: BruteForceIndex(clock=ManualClock()),
    lambda: GeohashIndex(clock=ManualClock()),
    lambda: QuadTreeIndex(clock=ManualClock()),
    lambda: H3Index(clock=ManualClock()),
]


@pytest.mark.parametrize("make", INDEXES)
@pytest.mark.parametrize("value", [HUGE, -HUGE])
def test_indexes_refuse_huge_ints(make: Callable[[], Any], value: int) -> None:
    index = make()
    index.upsert("a", 1.0, 1.0)
    for call in (
        lambda: index.upsert("b", value, 0.0),
        lambda: index.upsert("b", 0.0, value),
        lambda: index.upsert("b", 0.0, 0.0, at=value),
        lambda: index.nearest(value, 0.0),
        lambda: index.within(0.0, 0.0, value),
        lambda: index.nearest(0.0, 0.0, max_radius_m=value),
    ):
        with pytest.raises(GeoError):
            call()
    for call in (
        (
            lambda: index.bulk_load([("b", value, 0.0)]),
            lambda: index.bulk_load([("b", 0.0, value)]),
            lambda: index.bulk_load([("b", 0.0, 0.0)], at=value),
        )
        if hasattr(index, "bulk_load")
        else ()
    ):
        with pytest.raises(GeoError):
            call()
    assert len(index) == 1 and "b" not in index


@pytest.mark.parametrize("value", [HUGE, math.nan, math.inf])
def test_ttl_and_surge_settings_refuse_huge_and_non_finite(value: float) -> None:
    for make in (
        lambda: GeohashIndex(ttl=value),
        lambda: SurgePricer(half_life=value),
        lambda: SurgePricer(cap=value),
    ):
        with pytest.raises(GeoError):
            make()
    with pytest.raises(GeoError):
        encode(value, 0.0)


def test_surge_refuses_counts_no_float_can_divide() -> None:
    pricer = SurgePricer(clock=ManualClock())
    with pytest.raises(GeoError, match="demand="):
        pricer.update("u10", demand=HUGE, supply=1)
    assert pricer.pressure("u10") == 1.0


# -- defect 8 and 9: clocks, indexes and other collaborators are checked at the boundary ------


@pytest.mark.parametrize("clock", [1, "now", 1.5, object()])
def test_non_callable_clocks_are_refused(clock: object) -> None:
    for make in (
        lambda: TripStateMachine("t1", clock=clock),  # type: ignore[arg-type]
        lambda: SurgePricer(clock=clock),  # type: ignore[arg-type]
        lambda: GeohashIndex(clock=clock),  # type: ignore[arg-type]
        lambda: QuadTreeIndex(clock=clock),  # type: ignore[arg-type]
        lambda: BruteForceIndex(clock=clock),  # type: ignore[arg-type]
        lambda: H3Index(clock=clock),  # type: ignore[arg-type]
        lambda: HexSurgePricer(clock=clock),  # type: ignore[arg-type]
    ):
        with pytest.raises(GeoTypeError, match="clock="):
            make()


@pytest.mark.parametrize("index", [None, "index", object(), {}, [1, 2]])
def test_a_dispatcher_needs_a_driver_index(index: object) -> None:
    with pytest.raises(GeoTypeError, match="index="):
        Dispatcher(index)  # type: ignore[arg-type]


def test_release_refuses_a_driver_id_that_is_not_a_str() -> None:
    dispatcher = Dispatcher(GeohashIndex(clock=ManualClock()))
    for bad in ([], None, 3):
        with pytest.raises(GeoTypeError, match="driver_id="):
            dispatcher.release(bad)  # type: ignore[arg-type]


def test_trip_refuses_text_that_is_not_text() -> None:
    trip = TripStateMachine("t1", clock=ManualClock())
    with pytest.raises(GeoTypeError, match="by="):
        trip.cancel(by=None)  # type: ignore[arg-type]
    with pytest.raises(GeoTypeError, match="state="):
        trip.time_in("requested")  # type: ignore[arg-type]
    assert trip.state is TripState.REQUESTED and len(trip.history) == 1


@pytest.mark.parametrize("make", INDEXES)
def test_max_radius_errors_name_max_radius(make: Callable[[], Any]) -> None:
    index = make()
    with pytest.raises(GeoError, match="max_radius_m=-1"):
        index.nearest(0.0, 0.0, max_radius_m=-1)
    with pytest.raises(GeoError, match="radius_m=-1") as info:
        index.within(0.0, 0.0, -1)
    assert "max_radius_m" not in str(info.value)


# -- a step outside the documented range is refused when the pricer is built -------------------


@pytest.mark.parametrize(
    ("cap", "step", "field"),
    [
        (3.0, 1e-310, "step="),  # multiplier / step overflows to infinity
        (3.0, 5e-324, "step="),
        (3.0, 1e-7, "step="),  # finer than the prices are rounded to
        (3.0, 3.5, "step="),  # coarser than the cap
        (2.0, 2.0000001, "step="),
        (1e308, 0.1, "cap="),  # cap / step overflows to infinity
        (2e6, 1.0, "cap="),
    ],
)
def test_surge_refuses_a_step_or_cap_outside_the_documented_range(
    cap: float, step: float, field: str
) -> None:
    for make in (
        lambda: SurgePricer(cap=cap, step=step),
        lambda: HexSurgePricer(cap=cap, step=step),
    ):
        with pytest.raises(GeoError, match=field):
            make()


def test_a_surge_update_that_cannot_be_priced_stores_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pricer = SurgePricer(clock=ManualClock())
    pricer.update("u10", demand=3, supply=1)
    before = dict(pricer._cells)

    def refuse(pressure: float) -> float:
        raise GeoError("cannot price")

    monkeypatch.setattr(pricer, "_price", refuse)
    for cell in ("u10", "u11"):
        with pytest.raises(GeoError, match="cannot price"):
            pricer.update(cell, demand=9, supply=1)
    assert pricer._cells == before
