"""Quiet hours against a minute-by-minute scan, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.notifications import NotificationError, QuietHours

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Chatham",
         "Asia/Kolkata", "UTC", "America/Santiago"]  # fmt: skip
# Days around the 2026 changes: US 8 Mar / 1 Nov, EU 29 Mar / 25 Oct, Lord Howe 5 Apr / 4 Oct.
CHANGES = [(3, 7), (3, 8), (3, 28), (3, 29), (4, 4), (4, 5), (10, 3), (10, 24), (10, 31), (11, 1)]
DAYS = [datetime(2026, m, d, tzinfo=UTC).timestamp() for m, d in CHANGES]


NY = "America/New_York"
SPRING = datetime(2026, 3, 8, tzinfo=UTC).timestamp()  # 02:00 EST -> 03:00 EDT at 07:00 UTC
FALL = datetime(2026, 11, 1, tzinfo=UTC).timestamp()  # 02:00 EDT -> 01:00 EST at 06:00 UTC


@settings(max_examples=300, deadline=None)
# Fall back: the end 01:30 repeats; t in the second pass (01:10 EST) must end at 01:30 EST.
@example(tz=NY, day=FALL, minute=24 * 60 + 6 * 60 + 10, start=22 * 60, end=90)
# ... and t in the first pass (01:10 EDT) ends at the first 01:30 (EDT).
@example(tz=NY, day=FALL, minute=24 * 60 + 5 * 60 + 10, start=22 * 60, end=90)
# Fall back through the start: a window 01:30-02:30 is left by the jump back to 01:00 EST.
@example(tz=NY, day=FALL, minute=24 * 60 + 5 * 60 + 45, start=90, end=150)
# Spring forward: the end 02:30 does not exist; the window ends at the jump (03:00 EDT).
@example(tz=NY, day=SPRING, minute=24 * 60 + 4 * 60, start=22 * 60, end=150)
# ... and a start inside the gap: 02:30-04:00 begins at the jump.
@example(tz=NY, day=SPRING, minute=24 * 60 + 7 * 60 + 30, start=150, end=240)
@example(tz="Europe/London", day=DAYS[7], minute=24 * 60 + 30, start=60, end=90)
@example(tz="Australia/Lord_Howe", day=DAYS[5], minute=24 * 60 - 16 * 60, start=22 * 60, end=105)
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


def test_end_in_the_repeated_hour_seen_from_the_second_pass() -> None:
    q = QuietHours("22:00", "01:30")
    t = datetime(2026, 11, 1, 6, 10, tzinfo=UTC).timestamp()  # 01:10 EST, the second 01:10
    assert q.is_quiet(t, NY)
    fast = q.next_allowed(t, NY)
    assert datetime.fromtimestamp(fast, UTC) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert fast == q.next_allowed_scan(t, NY)


def _oracle_hhmm(text: str) -> tuple[int, int] | None:
    """The brute force: every valid 'HH:MM' spelled out, looked up."""
    table = {f"{h:02d}:{m:02d}": (h, m) for h in range(24) for m in range(60)}
    return table.get(text)


@settings(max_examples=80, deadline=None)
@given(
    text=st.one_of(
        st.text(st.sampled_from("0123456789:+- \u0660\u0667\u06f7\u200b\uff10"), max_size=6),
        st.builds(
            "{}:{}".format,
            st.text(st.sampled_from("0127+ \u0660\u0667"), min_size=2, max_size=2),
            st.text(st.sampled_from("0135+ \u0660\u0665"), min_size=2, max_size=2),
        ),
    )
)
@example(text="+7:00")  # a zone offset, not a time
@example(text=" 7:00")
@example(text="07:+5")
@example(text="\u0660\u0667:\u0660\u0660")
@example(text="-0:00")
@example(text="07:05")
def test_quiet_hours_take_exactly_two_ascii_digits_each_side(text: str) -> None:
    want = _oracle_hhmm(text)
    if want is None:
        with pytest.raises(NotificationError, match="HH:MM"):
            QuietHours(text, "08:30")
        with pytest.raises(NotificationError, match="HH:MM"):
            QuietHours("08:30", text)
    else:
        q = QuietHours(text, "08:30" if text != "08:30" else "09:00")
        assert (q.start.hour, q.start.minute) == want


@settings(max_examples=150, deadline=None)
@example(tz="UTC", back=0, start=22 * 60, end=7 * 60)
@given(
    tz=st.sampled_from(ZONES),
    back=st.integers(0, 2 * 86400),
    start=st.integers(0, 24 * 60 - 1),
    end=st.integers(0, 24 * 60 - 1),
)
def test_next_allowed_near_the_last_time_it_takes(tz: str, back: int, start: int, end: int) -> None:
    """A ``t`` near 1e11 whose window ends past 1e11: the searches tried their candidates with
    the checked ``is_quiet`` and refused a ``t`` the caller never passed."""
    from zoneinfo import ZoneInfo

    if start == end:
        return
    q = QuietHours(f"{start // 60:02}:{start % 60:02}", f"{end // 60:02}:{end % 60:02}")
    t = 1e11 - back
    fast = q.next_allowed(t, tz)
    assert fast == q.next_allowed_scan(t, tz)
    wall = datetime.fromtimestamp(fast, ZoneInfo(tz)).time()
    assert not q._wall_quiet(wall) and fast >= t
