"""Quiet hours against a minute-by-minute scan, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.notifications import NotificationError, QuietHours

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Chatham",
         "Asia/Kolkata", "UTC", "America/Santiago"]  # fmt: skip
# Days around the 2026 changes: US 8 Mar / 1 Nov, EU 29 Mar / 25 Oct, Lord Howe 5 Apr / 4 Oct.
CHANGES = [(3, 7), (3, 8), (3, 28), (3, 29), (4, 4), (4, 5), (10, 3), (10, 24), (10, 31), (11, 1)]
DAYS = [datetime(2026, m, d, tzinfo=UTC).timestamp() for m, d in CHANGES]


@settings(max_examples=300, deadline=None)
@given(
    tz=st.sampled_from(ZONES),
    day=st.sampled_from(DAYS),
    minute=st.integers(0, 3 * 24 * 60),
    start=st.integers(0, 24 * 60 - 1),
    end=st.integers(0, 24 * 60 - 1),
)
def test_next_allowed_matches_the_scan(
    tz: str, day: float, minute: int, start: int, end: int
) -> None:
    if start == end:
        return
    q = QuietHours(f"{start // 60:02}:{start % 60:02}", f"{end // 60:02}:{end % 60:02}")
    t = day - 86400 + minute * 60
    fast = q.next_allowed(t, tz)
    assert fast == q.next_allowed_scan(t, tz)
    assert not q.is_quiet(fast, tz)


def test_end_in_the_spring_forward_gap_is_the_jump() -> None:
    q = QuietHours("22:00", "02:30")  # 02:30 does not exist in New York on 8 March 2026
    t = datetime(2026, 3, 8, 4, 0, tzinfo=UTC).timestamp()  # 23:00 EST
    assert datetime.fromtimestamp(q.next_allowed(t, "America/New_York"), UTC).hour == 7  # 03:00 EDT


def test_end_in_the_repeated_hour_is_its_first_occurrence() -> None:
    q = QuietHours("22:00", "01:30")  # 01:30 happens twice in New York on 1 November 2026
    t = datetime(2026, 11, 1, 3, 0, tzinfo=UTC).timestamp()  # 23:00 EDT
    first = q.next_allowed(t, "America/New_York")
    assert datetime.fromtimestamp(first, UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize("bad", [None, "7:00", "25:00", "aa:bb", "", 7, "07:00:00", "\ud800"])
def test_bad_times_are_refused(bad: object) -> None:
    with pytest.raises(NotificationError):
        QuietHours(bad, "07:00")  # type: ignore[arg-type]
    with pytest.raises(NotificationError):
        QuietHours("22:00", "22:00")
    with pytest.raises(NotificationError):
        QuietHours().is_quiet(0.0, "Mars/Olympus")
