"""Quiet hours in the user's own time zone, correct across daylight-saving changes.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

A user sets a window of local wall-clock time (say 22:00 to 07:00) when only high-priority
messages may wake them. :meth:`QuietHours.is_quiet` converts the instant to the user's zone with
:mod:`zoneinfo` and compares the wall clock; :meth:`QuietHours.next_allowed` finds the first
instant at or after ``t`` outside the window, so a deferred message is scheduled exactly once.

The awkward days: when clocks spring forward the window's end may not exist (02:30 on a day that
jumps from 02:00 to 03:00), so the first allowed instant is the jump itself; when clocks fall back
an hour repeats, so the end time happens twice (``fold=0`` and ``fold=1``) and the answer is the
first occurrence after ``t`` (the second one when ``t`` is already in the repeated hour), and the
jump back itself can leave a window that starts inside the repeated hour. The wall clock leaves
the window only where it reads ``end`` or where the offset jumps, so the fast path lists those
instants (each day's ``end`` at both folds, and the offset changes found by bisection) and takes
the earliest one after ``t`` that is outside the window. :meth:`QuietHours.next_allowed_scan` is
the oracle: a plain minute-by-minute scan.

Complexity: O(1) per check (a few zone conversions), O(log 86400) on a day the offset changes.

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

from designpatterns_ref.errors import shown
from designpatterns_ref.notifications.base import NotificationError

__all__ = ["QuietHours", "zone"]


def zone(name: str) -> ZoneInfo:
    """The :class:`~zoneinfo.ZoneInfo` called ``name``, or :class:`NotificationError`."""
    if not isinstance(name, str) or not name or len(name) > 100:
        raise NotificationError(f"zone: tz={shown(name)} must be an IANA time-zone name")
    return _zone(name)


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        raise NotificationError(f"zone: tz={shown(name)} is not a known IANA time zone") from None


_DIGITS = frozenset("0123456789")


def _parse(name: str, value: object) -> time:
    """``'HH:MM'``: exactly two ASCII digits each side of the colon (``int`` alone would also
    take a sign, a space or other scripts' digits: ``'+7:00'``, ``' 7:00'``, ``'٠٧:٠٠'``)."""
    if (
        not isinstance(value, str)
        or len(value) != 5
        or value[2] != ":"
        or not _DIGITS.issuperset(value[:2] + value[3:])
    ):
        raise NotificationError(f"QuietHours: {name}={shown(value)} must be 'HH:MM'")
    try:
        return time(int(value[:2]), int(value[3:]))
    except ValueError:
        raise NotificationError(f"QuietHours: {name}={shown(value)} must be 'HH:MM'") from None


def _jumps(t: float, zi: ZoneInfo) -> list[float]:
    """The instants in the three days after ``t`` where the zone's offset changes (one a day
    at most: no zone changes twice within 24 hours), each found by bisection on whole seconds."""
    out = []
    for k in range(3):
        lo, hi = t + k * 86400, t + (k + 1) * 86400
        if datetime.fromtimestamp(lo, zi).utcoffset() == datetime.fromtimestamp(hi, zi).utcoffset():
            continue
        before = datetime.fromtimestamp(lo, zi).utcoffset()
        lo = float(int(lo))
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if datetime.fromtimestamp(mid, zi).utcoffset() == before:
                lo = mid
            else:
                hi = mid
        out.append(float(hi))
    return out


def _check_t(t: object) -> None:
    if isinstance(t, bool) or not isinstance(t, int | float) or not 0 <= t <= 1e11:
        raise NotificationError(f"QuietHours: t={shown(t)} must be epoch seconds in [0, 1e11]")


class QuietHours:
    """A daily window of local time [start, end) when normal-lane messages wait.

    ``start`` and ``end`` are ``'HH:MM'``: exactly two ASCII digits each side of the colon.
    """

    __slots__ = ("end", "start")

    def __init__(self, start: str = "22:00", end: str = "07:00") -> None:
        s, e = _parse("start", start), _parse("end", end)
        if s == e:
            raise NotificationError(f"QuietHours: start={shown(start)} equals end; window is empty")
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
        return self._quiet_at(t, zone(tz))

    def _quiet_at(self, t: float, zi: ZoneInfo) -> bool:
        """:meth:`is_quiet` unchecked: the searches below try instants past the caller's ``t``
        (past 1e11 too, when ``t`` is near it), which are no argument to refuse."""
        return self._wall_quiet(datetime.fromtimestamp(t, zi).time())

    def next_allowed(self, t: float, tz: str) -> float:
        """The first instant at or after ``t`` outside the window, in epoch seconds."""
        _check_t(t)
        zi = zone(tz)
        local = datetime.fromtimestamp(t, zi)
        if not self._wall_quiet(local.time()):
            return t
        day = local.date()
        candidates = [
            c for d in range(-1, 3) for c in self._ends_on(day + timedelta(days=d), zi) if c > t
        ]
        candidates += [c for c in _jumps(t, zi) if c > t]
        for c in sorted(candidates):
            if not self._quiet_at(c, zi):
                return c
        raise AssertionError("unreachable: a window shorter than a day always ends")

    def _ends_on(self, d: date, zi: ZoneInfo) -> list[float]:
        """Every instant whose wall clock reads ``end`` on ``d``: none in a gap, two in a fold."""
        wall = datetime.combine(d, self.end)
        out = []
        for fold in (0, 1):
            ts = wall.replace(tzinfo=zi, fold=fold).timestamp()
            if datetime.fromtimestamp(ts, zi).replace(tzinfo=None) == wall:
                out.append(ts)
        return out

    def next_allowed_scan(self, t: float, tz: str) -> float:
        """The oracle: step a minute at a time (from a whole minute) until outside the window."""
        _check_t(t)
        zi = zone(tz)
        u = t
        for _ in range(3 * 24 * 60):
            if not self._quiet_at(u, zi):
                return u
            u = (u // 60 + 1) * 60
        raise AssertionError("unreachable")
