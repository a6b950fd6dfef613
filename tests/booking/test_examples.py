"""The hotel-booking example runs end to end as a notebook and tells its story."""

from __future__ import annotations

import re
from pathlib import Path

from tests.notebooks import run_example


def test_example_runs(tmp_path: Path) -> None:
    run = run_example("hotel_booking", tmp_path)
    out = run.text
    races = re.findall(r"^(\w+)\s+booked\s+(\d+), refused\s+(\d+), busiest night sold (\d+) of 5",
                       out, flags=re.M)  # fmt: skip
    assert [r[0] for r in races] == ["pessimistic", "optimistic", "constraint", "naive"]
    for name, booked, refused, sold in races:
        assert int(booked) + int(refused) == 100
        if name != "naive":  # who wins varies; that no locking strategy oversells does not
            assert int(sold) <= 5
    assert "free while held: 0" in out
    assert "expired holds: 1 | free again: 1" in out
    assert re.search(r"booking (\d+), retried payment gives booking \1; charges: 1", out)
    assert "walk cost   100: sell" in out and "walk cost  2000: sell" in out
    assert run.files == ["hotel-booking-race.png", "hotel-booking-throughput.png"]
