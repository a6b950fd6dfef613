"""The hotel-booking example runs end to end as a script and tells its story."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hotel_booking.py"


def test_example_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("DPREF_PLOTS", str(tmp_path))
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
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
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "hotel-booking-race.png",
        "hotel-booking-throughput.png",
    ]
    assert out.count("figure saved to ") == 2
