"""The 9 am simulation: conservation of calls, double bookings, and where the design breaks."""

from __future__ import annotations

from typing import Any

import pytest

from designpatterns_ref.serverless import INPROGRESS, Idempotency, loadlevel
from designpatterns_ref.serverless.loadlevel import Scenario, simulate

SMALL = {"calls": 1500, "burst_seconds": 20.0, "concurrency": 10, "seed": 4}


def test_every_call_is_booked_dead_lettered_or_lost() -> None:
    for kw in ({}, {"slow_ehrs": 5}, {"use_queue": False}, {"hot_clinic_share": 0.6}):
        r = simulate(Scenario(**{**SMALL, "partition_writes_per_s": 5.0, **kw}))
        # a call books twice only after an invocation timed out once its EHR had booked
        assert r.double_bookings <= r.timed_out_bookings
        if not r.timeouts:
            assert r.double_bookings == 0
        assert r.booked + r.dead_lettered + r.lost == r.scenario.calls
        if r.scenario.use_queue:
            assert r.lost == 0  # at least once: a queued call is booked or dead-lettered


def test_the_same_scenario_gives_the_same_report() -> None:
    a = simulate(Scenario(**SMALL, slow_ehrs=3))
    b = simulate(Scenario(**SMALL, slow_ehrs=3))
    assert a == b and a.samples == b.samples


def test_the_queue_levels_the_burst_that_direct_calls_drop() -> None:
    queued = simulate(Scenario(**SMALL))
    direct = simulate(Scenario(**SMALL, use_queue=False))
    assert queued.booked == SMALL["calls"] and queued.lost == 0 and queued.max_queue_age > 0
    assert direct.throttles > 0 and direct.lost > 0
    assert direct.fails_at is not None and "lost" in direct.failure


def test_duplicated_calls_book_once() -> None:
    r = simulate(Scenario(**SMALL, duplicate_share=1.0))
    assert r.booked == SMALL["calls"] and r.double_bookings == 0 and r.timeouts == 0
    # the second copy arrives while the first one's EHR call is under way: it meets the
    # first one's in-progress record (the hazard the layer is there for) and comes back later
    assert r.in_progress_refusals > 0


def test_a_dead_lettered_duplicate_of_a_booked_call_is_no_failure() -> None:
    """A duplicate that meets its twin's in-progress record can reach the dead-letter queue
    while the call itself is booked: no patient waits for a call back, so the promise held."""
    sc = Scenario(calls=300, burst_seconds=5.0, concurrency=2, duplicate_share=1.0,
                  max_receives=1, seed=3)  # fmt: skip
    r = simulate(sc)
    assert r.samples[-1].dead_lettered > 0  # duplicates did reach the dead-letter queue
    assert r.booked == sc.calls and r.dead_lettered == 0 and r.lost == 0
    assert r.max_queue_age <= sc.queue_age_slo
    assert r.fails_at is None and r.failure == ""
    # a call dead-lettered and never booked is still the failure it was
    worse = simulate(Scenario(**{**sc.__dict__, "ehr_cap": 1, "slow_ehrs": 5}))
    assert worse.dead_lettered > 0 and worse.fails_at is not None
    assert "dead-lettered" in worse.failure


def test_a_timed_out_invocation_whose_ehr_booked_is_booked_again() -> None:
    """The layer's known limit: an invocation that times out after the EHR booked never
    completes its record; the redelivery, after the in-progress timeout, books again."""
    r = simulate(Scenario(**SMALL, slow_ehrs=5, use_gates=False))
    assert r.timeouts > 0 and r.timed_out_bookings > 0
    assert 0 < r.double_bookings <= r.timed_out_bookings


class _IgnoresInProgress(Idempotency):
    """A broken layer: an in-progress record does not stop a second invocation."""

    def _begin(self, key: str) -> Any:
        item = self.table.get(self.namespace, key)
        if item is not None and item["status"] == INPROGRESS:
            self.table.delete(self.namespace, key)
        return super()._begin(key)


class _Off(Idempotency):
    """No layer: every delivery runs the side effect."""

    def _begin(self, key: str) -> Any:
        self.table.delete(self.namespace, key)
        return super()._begin(key)


@pytest.mark.parametrize("layer", [_IgnoresInProgress, _Off])
def test_the_double_booking_count_catches_a_broken_layer(
    monkeypatch: pytest.MonkeyPatch, layer: type[Idempotency]
) -> None:
    monkeypatch.setattr(loadlevel, "Idempotency", layer)
    r = simulate(Scenario(**SMALL, duplicate_share=1.0))
    assert r.timed_out_bookings == 0
    assert r.double_bookings > 0


def test_a_slow_ehr_without_caps_breaks_the_queue_age_promise() -> None:
    kw = {**SMALL, "slow_ehrs": 3, "ehrs": 20, "queue_age_slo": 120.0}
    open_ = simulate(Scenario(**kw, use_gates=False))
    gated = simulate(Scenario(**kw))
    assert open_.fails_at is not None and "slow EHR" in open_.failure
    assert open_.timeouts > gated.timeouts
    assert gated.short_circuited > 0 and gated.wait_p99 < open_.wait_p99


def test_a_hot_partition_is_named_as_the_cause() -> None:
    r = simulate(Scenario(**SMALL, hot_clinic_share=0.8, partition_writes_per_s=5.0))
    assert r.partition_throttles > 0 and "hot partition" in r.failure


def test_samples_track_the_queue() -> None:
    r = simulate(Scenario(**SMALL), sample_every=1.0)
    assert r.samples[0].t == 0.0
    assert max(x.queue_depth for x in r.samples) > 0 and r.samples[-1].queue_depth == 0
    assert r.samples[-1].booked == r.booked


@pytest.mark.parametrize(
    ("field", "value"),
    [("calls", 0), ("ehrs", -1), ("slow_ehrs", 99), ("hot_clinic_share", 1.5), ("timeout", 0.0)],
)
def test_bad_scenarios_are_refused(field: str, value: object) -> None:
    from designpatterns_ref.serverless import ServerlessError

    with pytest.raises(ServerlessError, match=field):
        Scenario(**{field: value})  # type: ignore[arg-type]
