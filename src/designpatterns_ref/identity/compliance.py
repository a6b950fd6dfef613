"""Compliance: which workers on which sites lack which qualification, and a daily expiry sweep.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

Sites require qualifications (the loading dock needs a forklift licence), workers are assigned to
sites, and every credential issued records what each worker holds and until when. :meth:`gaps`
answers the compliance question at any time: every (worker, site, qualification) where the
qualification is missing, expired or not valid yet. A worker's qualification counts while *some*
recorded credential of theirs carries it unexpired, and that credential itself is valid: from
its ``not_before`` (inclusive, as the gate checks it) to its expiry (exclusive).

:meth:`sweep` is the daily job: everything that expired since the last sweep (and anything
recorded since then that had already expired: a late import is reported, not lost), and
everything that will expire within ``horizon`` seconds, soonest first, so a compliance officer renews a
licence before the gate starts refusing. Expiries sit in a sorted list, so a sweep costs
O(log² n + k) for the k items it reports (a binary search by position, each probe an
O(log n) index into the list), not a scan of every credential.

A revoked credential still counts until it is withdrawn (:meth:`withdraw`), and a worker who
left a site is dropped from it with :meth:`unassign`.

Complexity: :meth:`record` and :meth:`withdraw` O(q log n) for q qualifications; :meth:`gaps` O(assignments x
requirements); :meth:`sweep` O(log² n + k).

>>> book = ComplianceBook()
>>> book.require("dock-3", "forklift")
>>> book.assign("w1", "dock-3")
>>> book.gaps(now=0)
[Gap(worker='w1', site='dock-3', qualification='forklift', state='missing', expired_at=None, valid_from=None)]
"""  # noqa: E501

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sortedcontainers import SortedList

from designpatterns_ref.errors import shown
from designpatterns_ref.identity.base import (
    Claims,
    IdentityError,
    IdentityTypeError,
    check_name,
    check_seconds,
)

__all__ = ["ComplianceBook", "Expiring", "Gap", "SweepReport"]


def _check_now(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IdentityTypeError(f"now={shown(value, 40)} must be a number of seconds")
    try:
        now = float(value)
    except OverflowError:
        raise IdentityError(f"now={shown(value, 40)} is too large") from None
    if now != now or now in (float("inf"), float("-inf")):
        raise IdentityError(f"now={shown(value, 40)} must be finite")
    return now


@dataclass(frozen=True, slots=True)
class Gap:
    """A worker assigned to a site without one of its required qualifications."""

    worker: str
    site: str
    qualification: str
    state: str  # "missing" (never held), "expired", or "not_yet_valid" (only from later on)
    expired_at: int | None = None  # when the last window that has passed ended
    valid_from: int | None = None  # when the next window that has not begun begins


@dataclass(frozen=True, slots=True, order=True)
class Expiring:
    """One thing that expires: a qualification, or a whole credential (``what="credential"``)
    of the credential ``credential_id`` of ``issuer`` (an id is unique only within its issuer).
    """

    expires: int
    worker: str
    what: str
    credential_id: str
    issuer: str


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What a sweep found: expired since the last sweep, and expiring within the horizon."""

    expired: list[Expiring]
    expiring: list[Expiring]


def _gap(
    worker: str, site: str, qual: str, windows: list[tuple[int, int]], now: float
) -> Gap | None:
    """The gap at ``now`` for a qualification held in ``windows``, or None if one covers it."""
    if any(start <= now < until for start, until in windows):
        return None
    ended = [until for _, until in windows if until <= now]
    coming = [start for start, _ in windows if start > now]
    later = min(coming) if coming else None
    if ended:
        return Gap(worker, site, qual, "expired", max(ended), later)
    if later is not None:
        return Gap(worker, site, qual, "not_yet_valid", None, later)
    return Gap(worker, site, qual, "missing")


class ComplianceBook:
    """Site requirements, assignments and recorded credentials (not thread-safe)."""

    def __init__(self) -> None:
        self.requirements: dict[str, set[str]] = defaultdict(set)
        self.assignments: dict[str, set[str]] = defaultdict(set)  # site -> workers
        # worker -> qualification -> the windows [not_before, until) it is held in
        self.holdings: dict[str, dict[str, list[tuple[int, int]]]] = defaultdict(dict)
        #: (issuer, credential id) -> claims: an id is unique only within its issuer.
        self.credentials: dict[tuple[str, str], Claims] = {}
        self.expiries: SortedList = SortedList()
        self.last_sweep: float | None = None
        # Expiries recorded after the last sweep but already past it: the next sweep's.
        self._late: list[Expiring] = []

    def require(self, site: str, qualification: str) -> None:
        """Site ``site`` requires ``qualification`` of everyone assigned to it."""
        check_name("site", site)
        check_name("qualification", qualification)
        self.requirements[site].add(qualification)

    def assign(self, worker: str, site: str) -> None:
        """Worker ``worker`` works at ``site``."""
        check_name("worker", worker)
        check_name("site", site)
        self.assignments[site].add(worker)

    def record(self, claims: Claims) -> None:
        """Record an issued credential; each qualification counts from the credential's
        ``not_before`` until the earlier of the two expiries."""
        if not isinstance(claims, Claims):
            raise IdentityTypeError(f"claims={shown(claims, 80)} must be Claims")
        key = (claims.issuer, claims.credential_id)
        if key in self.credentials:
            raise IdentityError(
                f"credential {shown(claims.credential_id, 80)} of issuer"
                f" {shown(claims.issuer, 80)} is already recorded"
            )
        self.credentials[key] = claims
        held = self.holdings[claims.worker]
        cid, issuer = claims.credential_id, claims.issuer
        found = [Expiring(claims.expires, claims.worker, "credential", cid, issuer)]
        for q in claims.qualifications:
            until = min(q.expires, claims.expires)
            if until > claims.not_before:  # else it expires before it starts: never held
                held.setdefault(q.name, []).append((claims.not_before, until))
            found.append(Expiring(until, claims.worker, q.name, cid, issuer))
        for e in found:
            self.expiries.add(e)
            if self.last_sweep is not None and e.expires <= self.last_sweep:
                self._late.append(e)  # past the last sweep's reach: report it next time

    def unassign(self, worker: str, site: str) -> None:
        """Worker ``worker`` no longer works at ``site``; raises :class:`IdentityError` if they
        were not assigned there."""
        check_name("worker", worker)
        check_name("site", site)
        if worker not in self.assignments.get(site, ()):
            raise IdentityError(f"worker={shown(worker, 80)} is not assigned to {shown(site, 80)}")
        self.assignments[site].discard(worker)

    def withdraw(self, issuer: str, credential_id: str) -> Claims:
        """Forget the recorded credential ``credential_id`` of ``issuer`` (revoked, say): its
        qualifications stop counting in :meth:`gaps` and its expiries leave :meth:`sweep`.
        Returns its claims; raises :class:`IdentityError` if it is not recorded.

        The book does not watch status lists: when a credential is revoked, withdraw it here
        too, so the compliance office sees what the gate sees.
        """
        check_name("issuer", issuer)
        check_name("credential_id", credential_id)
        claims = self.credentials.pop((issuer, credential_id), None)
        if claims is None:
            raise IdentityError(
                f"credential {shown(credential_id, 80)} of issuer {shown(issuer, 80)} is not"
                " recorded"
            )
        held = self.holdings[claims.worker]
        found = [Expiring(claims.expires, claims.worker, "credential", credential_id, issuer)]
        for q in claims.qualifications:  # undo exactly what record added
            until = min(q.expires, claims.expires)
            if until > claims.not_before:
                windows = held[q.name]
                windows.remove((claims.not_before, until))  # one copy: another may hold one too
                if not windows:
                    del held[q.name]
            found.append(Expiring(until, claims.worker, q.name, credential_id, issuer))
        if not held:
            del self.holdings[claims.worker]
        for e in found:
            self.expiries.remove(e)
        gone = set(found)
        self._late = [e for e in self._late if e not in gone]
        return claims

    def gaps(self, now: float, *, site: str | None = None) -> list[Gap]:
        """Every (worker, site, qualification) not covered at ``now``, sorted."""
        moment = _check_now(now)
        if site is not None:
            check_name("site", site)
        sites = [site] if site is not None else sorted(self.requirements)
        found = []
        for s in sites:
            for worker in sorted(self.assignments.get(s, ())):
                held = self.holdings.get(worker, {})
                for qual in sorted(self.requirements.get(s, ())):
                    gap = _gap(worker, s, qual, held.get(qual, []), moment)
                    if gap is not None:
                        found.append(gap)
        return found

    def sweep(self, now: float, *, horizon: float = 30 * 86_400.0) -> SweepReport:
        """What expired since the last sweep (or ever, on the first), what was recorded since the
        last sweep already expired, and what expires soon. Each expiry is reported as expired
        once."""
        moment = _check_now(now)
        ahead = check_seconds("horizon", horizon)
        if self.last_sweep is not None and moment < self.last_sweep:
            raise IdentityError(f"now={shown(now)} is before the last sweep at {self.last_sweep}")
        lo = -1 if self.last_sweep is None else self.last_sweep
        # Expiries e with lo < e <= now have happened since the last sweep.
        start = self._after(lo)
        stop = self._after(moment)
        expired = sorted([*self._late, *self.expiries.islice(start, stop)])
        expiring = list(self.expiries.islice(stop, self._after(moment + ahead)))
        self.last_sweep = moment
        self._late = []
        return SweepReport(expired, expiring)

    def _after(self, t: float) -> int:
        """The position of the first expiry strictly after ``t``."""
        lo, hi = 0, len(self.expiries)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.expiries[mid].expires <= t:
                lo = mid + 1
            else:
                hi = mid
        return lo
