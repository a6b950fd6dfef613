"""Sequences of requirements, assignments (some undone), recorded credentials (some recorded
late, some twice, some withdrawn), gap queries and sweeps against a plain model: every window a
qualification is held in, and the multiset of expiries not yet reported.

A gap is computed from the windows by brute force; a sweep reports every expiry at or before
``now`` that no earlier sweep reported (whenever it was recorded), soonest first, and every
expiry after ``now`` within the horizon.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from designpatterns_ref.identity import Claims, ComplianceBook, Expiring, Gap, IdentityError
from designpatterns_ref.identity.base import Qualification

WORKERS = ("w1", "w2")
SITES = ("dock", "yard")
QUALS = ("forklift", "crane")
ISSUERS = ("acme-id", "other-id")
times = st.integers(0, 60)


class ComplianceModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = ComplianceBook()
        self.required: set[tuple[str, str]] = set()
        self.assigned: set[tuple[str, str]] = set()
        self.recorded: dict[tuple[str, str], Claims] = {}
        self.unreported: list[Expiring] = []
        self.last_sweep: float | None = None

    @rule(site=st.sampled_from(SITES), qual=st.sampled_from(QUALS))
    def require(self, site: str, qual: str) -> None:
        self.book.require(site, qual)
        self.required.add((site, qual))

    @rule(worker=st.sampled_from(WORKERS), site=st.sampled_from(SITES))
    def assign(self, worker: str, site: str) -> None:
        self.book.assign(worker, site)
        self.assigned.add((worker, site))

    @rule(
        issuer=st.sampled_from(ISSUERS),
        number=st.integers(0, 4),
        worker=st.sampled_from(WORKERS),
        not_before=times,
        length=st.integers(1, 30),
        quals=st.dictionaries(st.sampled_from(QUALS), times, max_size=2),
    )
    def record(
        self,
        issuer: str,
        number: int,
        worker: str,
        not_before: int,
        length: int,
        quals: dict[str, int],
    ) -> None:
        claims = Claims(
            issuer,
            f"c{number}",
            worker,
            "acme",
            "dock",
            "loader",
            0,
            not_before,
            not_before + length,
            "L",
            number,
            tuple(Qualification(n, e) for n, e in quals.items()),
        )
        key = (issuer, claims.credential_id)
        if key in self.recorded:
            before = (dict(self.book.credentials), list(self.book.expiries))
            with pytest.raises(IdentityError, match="already recorded"):
                self.book.record(claims)
            assert (dict(self.book.credentials), list(self.book.expiries)) == before
            return
        self.book.record(claims)
        self.recorded[key] = claims
        cid = claims.credential_id
        self.unreported.append(Expiring(claims.expires, worker, "credential", cid, issuer))
        for q in claims.qualifications:
            until = min(q.expires, claims.expires)
            self.unreported.append(Expiring(until, worker, q.name, cid, issuer))

    @rule(issuer=st.sampled_from(ISSUERS), number=st.integers(0, 4))
    def withdraw(self, issuer: str, number: int) -> None:
        key = (issuer, f"c{number}")
        if key not in self.recorded:
            before = (dict(self.book.credentials), list(self.book.expiries))
            with pytest.raises(IdentityError, match="not recorded"):
                self.book.withdraw(*key)
            assert (dict(self.book.credentials), list(self.book.expiries)) == before
            return
        assert self.book.withdraw(*key) == self.recorded.pop(key)
        self.unreported = [e for e in self.unreported if (e.issuer, e.credential_id) != key]

    @rule(worker=st.sampled_from(WORKERS), site=st.sampled_from(SITES))
    def unassign(self, worker: str, site: str) -> None:
        if (worker, site) not in self.assigned:
            with pytest.raises(IdentityError, match="not assigned"):
                self.book.unassign(worker, site)
            return
        self.book.unassign(worker, site)
        self.assigned.discard((worker, site))

    def _windows(self, worker: str, qual: str) -> list[tuple[int, int]]:
        found = []
        for c in self.recorded.values():
            q = c.qualification(qual)
            if c.worker == worker and q is not None:
                found.append((c.not_before, min(q.expires, c.expires)))
        return found

    @rule(now=st.one_of(times, st.floats(0, 60)), only=st.sampled_from((None, *SITES)))
    def gaps(self, now: float, only: str | None) -> None:
        want = []
        for site in sorted({s for s, _ in self.required} if only is None else {only}):
            workers = sorted(w for w, s in self.assigned if s == site)
            quals = sorted(q for s, q in self.required if s == site)
            for worker in workers:
                for qual in quals:
                    windows = self._windows(worker, qual)
                    if any(a <= now < b for a, b in windows if a < b):
                        continue
                    ended = [b for a, b in windows if a < b <= now]
                    coming = [a for a, b in windows if a < b and a > now]
                    if ended:
                        state = "expired"
                    elif coming:
                        state = "not_yet_valid"
                    else:
                        state = "missing"
                    want.append(
                        Gap(
                            worker,
                            site,
                            qual,
                            state,
                            max(ended) if ended else None,
                            min(coming) if coming else None,
                        )
                    )
        assert self.book.gaps(now, site=only) == want

    @rule(now=st.one_of(times, st.floats(0, 60)), horizon=st.sampled_from([0, 1, 10, 100]))
    def sweep(self, now: float, horizon: int) -> None:
        if self.last_sweep is not None and now < self.last_sweep:
            with pytest.raises(IdentityError, match="before the last sweep"):
                self.book.sweep(now, horizon=horizon)
            return
        report = self.book.sweep(now, horizon=horizon)
        expired = sorted(e for e in self.unreported if e.expires <= now)
        expiring = sorted(e for e in self.unreported if now < e.expires <= now + horizon)
        assert report.expired == expired
        assert report.expiring == expiring
        self.unreported = [e for e in self.unreported if e.expires > now]
        self.last_sweep = now


ComplianceModel.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None
)
test_compliance_sequences_follow_the_model = ComplianceModel.TestCase
