"""Quiet hours in the user's own time zone, correct across daylight-saving changes.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

A user sets a window of local wall-clock time (say 22:00 to 07:00) when only high-priority
messages may wake them. :meth:`QuietHours.is_quiet` converts the instant to the user's zone with
:mod:`zoneinfo` and compares the wall clock; :meth:`QuietHours.next_allowed` finds the first
instant at or after ``t`` outside the window, so a deferred message is scheduled exactly once.

The awkward days: when clocks spring forward the window's end may not exist (02:30 on a day that
jumps from 02:00 to 03:00), so the first allowed instant is the jump itself; when clocks fall back
an hour repeats, and the first occurrence of the end time is the answer. The fast path converts
the end time with ``fold=0``; when that wall time does not exist it bisects the hour around the
jump. :meth:`QuietHours.next_allowed_scan` is the oracle: a plain minute-by-minute scan.

Complexity: O(1) per check (one zone conversion), O(log 3600) on a gap day.

>>> from datetime import datetime, timezone
>>> q = QuietHours("22:00", "07:00")
>>> t = datetime(2026, 3, 8, 5, 0, tzinfo=timezone.utc).timestamp()  # 00:00 in New York
>>> q.is_quiet(t, "America/New_York")
True
>>> datetime.fromtimestamp(q.next_allowed(t, "America/New_York"), timezone.utc).hour
11
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from designpatterns_ref.notifications.base import NotificationError

__all__ = ["QuietHours", "zone"]


def zone(name: str) -> ZoneInfo:
    """The :class:`~zoneinfo.ZoneInfo` called ``name``, or :class:`NotificationError`."""
    if not isinstance(name, str) or not name or len(name) > 100:
        raise NotificationError(f"zone: tz={name!r} must be an IANA time-zone name")
    return _zone(name)


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        raise NotificationError(f"zone: tz={name!r} is not a known IANA time zone") from None


def _parse(name: str, value: object) -> time:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise NotificationError(f"QuietHours: {name}={value!r} must be 'HH:MM'")
    try:
        return time(int(value[:2]), int(value[3:]))
    except ValueError:
        raise NotificationError(f"QuietHours: {name}={value!r} must be 'HH:MM'") from None


def _check_t(t: object) -> None:
    if isinstance(t, bool) or not isinstance(t, int | float) or not 0 <= t <= 1e11:
        raise NotificationError(f"QuietHours: t={t!r} must be epoch seconds in [0, 1e11]")


class QuietHours:
    """A daily window of local time [start, end) when normal-lane messages wait."""

    __slots__ = ("end", "start")

    def __init__(self, start: str = "22:00", end: str = "07:00") -> None:
        s, e = _parse("start", start), _parse("end", end)
        if s == e:
            raise NotificationError(f"QuietHours: start={start!r} equals end; window is empty")
        self.start, self.end = s, e

    def __repr__(self) -> str:
        return f"QuietHours({self.start:%H:%M}, {self.end:%H:%M})"

    def _wall_quiet(self, wall: time) -> bool:
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end

    def is_quiet(self, t: float, tz: str) -> bool:
        """Whether the instant ``t`` (epoch seconds) is inside the window in zone ``tz``."""
        _check_t(t)
        local = datetime.fromtimestamp(t, zone(tz))
        return self._wall_quiet(local.time())

    def next_allowed(self, t: float, tz: str) -> float:
        """The first instant at or after ``t`` outside the window, in epoch seconds."""
        _check_t(t)
        zi = zone(tz)
        if not self._wall_quiet(datetime.fromtimestamp(t, zi).time()):
            return t
        day = datetime.fromtimestamp(t, zi).date()
        for d in (day, day + timedelta(days=1), day + timedelta(days=2)):
            c = self._first_at(d, zi)
            if c > t and not self.is_quiet(c, tz):
                return c
        raise AssertionError("unreachable: a window shorter than a day always ends")

    def _first_at(self, d: date, zi: ZoneInfo) -> float:
        """The first instant whose wall clock on ``d`` reaches ``end`` (the jump, in a gap)."""
        wall = datetime.combine(d, self.end, tzinfo=zi)
        after = wall.timestamp()  # fold=0: the earlier offset (in a gap, past the jump)
        back = datetime.fromtimestamp(after, zi).replace(tzinfo=None)
        if back == wall.replace(tzinfo=None):
            return after
        lo = wall.replace(fold=1).timestamp()  # in a gap: before the jump
        hi = after
        while hi - lo > 1:  # bisect on whole seconds for the jump
            mid = (lo + hi) // 2
            local = datetime.fromtimestamp(mid, zi)
            if local.date() > d or (local.date() == d and local.time() >= self.end):
                hi = mid
            else:
                lo = mid
        return float(hi)

    def next_allowed_scan(self, t: float, tz: str) -> float:
        """The oracle: step a minute at a time (from a whole minute) until outside the window."""
        _check_t(t)
        zone(tz)
        u = t
        for _ in range(3 * 24 * 60):
            if not self.is_quiet(u, tz):
                return u
            u = (u // 60 + 1) * 60
        raise AssertionError("unreachable")
