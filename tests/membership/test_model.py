"""The directory, the cached verifier and the cap ledger driven by random operations against
short, obviously correct models.

The directory's model is a dict of records and a count of changes per membership; the
verifier's is "evaluate each rule of the organisation's current rule set against the current
record", spelled out with the operators, at the boundaries (months and ages one either side of
each threshold, overlapping rules of common and own); the ledger's is "count the sends of every
window of ``window`` days holding the day". Refused calls (a second join, an update or leave of
what is not there, a bad fact, a send over the cap) must leave everything as it was.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from designpatterns_ref.membership import (
    Directory,
    MembershipError,
    Rule,
    RuleSet,
    Verifier,
)
from designpatterns_ref.membership.engagement import CapLedger

MEMBERS = ("m1", "m2", "m3")
ORGS = ("acme", "guild")
BENEFITS = ("lounge", "legal")
THRESHOLDS = (0, 12, 18, 10**6)

FACTS = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["active", "lapsed"]),
        "tier": st.sampled_from(["standard", "silver", "gold"]),
        "months": st.sampled_from([0, 1, 11, 12, 13, 17, 18, 19, 10**6 - 1, 10**6]),
        "age": st.sampled_from([0, 17, 18, 19, 66, 67, 10**6]),
        "country": st.sampled_from(["GB", "FR"]),
        "dues_paid": st.booleans(),
    },
)
BAD_FACTS = st.sampled_from(
    [{"months": -1}, {"months": 10**6 + 1}, {"months": True}, {"age": "18"},
     {"tier": ""}, {"tier": " gold"}, {"colour": "red"}, {"dues_paid": 1}]
)  # fmt: skip
RULES = st.one_of(
    st.builds(
        Rule,
        st.sampled_from(["months", "age"]),
        st.sampled_from([">=", "<=", ">", "<", "==", "!="]),
        st.sampled_from(THRESHOLDS),
        st.sampled_from(["too new", "wrong age", "out of range"]),
    ),
    st.builds(Rule, st.just("status"), st.sampled_from(["==", "!="]), st.just("active"),
              st.just("not active")),
    st.builds(Rule, st.just("tier"), st.sampled_from(["in", "not in"]),
              st.sampled_from([("gold",), ("silver", "gold")]), st.just("wrong tier")),
    st.builds(Rule, st.just("dues_paid"), st.just("=="), st.booleans(), st.just("dues")),
)  # fmt: skip


@st.composite
def rulesets(draw: Any, organisation: str) -> RuleSet:
    return RuleSet(
        organisation,
        draw(st.integers(0, 2**31 - 1)),
        common=tuple(draw(st.lists(RULES, max_size=3))),
        benefits={b: tuple(draw(st.lists(RULES, max_size=3))) for b in BENEFITS},
    )


def holds(op: str, have: Any, want: Any) -> bool:
    """Each operator spelled out."""
    if op == "==":
        return bool(have == want)
    if op == "!=":
        return bool(have != want)
    if op == ">=":
        return bool(have >= want)
    if op == "<=":
        return bool(have <= want)
    if op == ">":
        return bool(have > want)
    if op == "<":
        return bool(have < want)
    if op == "in":
        return any(have == w for w in want)
    assert op == "not in"
    return all(have != w for w in want)


def oracle(rs: RuleSet, benefit: str, facts: dict[str, Any] | None) -> tuple[bool, list[str]]:
    if facts is None:
        return False, [f"not a member of {rs.organisation}"]
    reasons = []
    for r in [*rs.common, *rs.benefits[benefit]]:
        if r.fact not in facts:
            reasons.append(f"{r.fact} unknown")
        elif not holds(r.op, facts[r.fact], r.value):
            reasons.append(r.reason)
    return not reasons, reasons


class DirectoryAndVerifier(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.d = Directory()
        self.heard: list[tuple[str, str]] = []
        self.d.subscribe(lambda m, o: self.heard.append((m, o)))
        self.model: dict[tuple[str, str], dict[str, Any]] = {}
        self.versions: dict[tuple[str, str], int] = {}
        self.joined: list[str] = []  # members with a membership, in joining order
        self.rules = {o: RuleSet(o, 0, benefits={b: () for b in BENEFITS}) for o in ORGS}
        self.v = Verifier(self.d, dict(self.rules), max_entries=4)
        self.calls = 0

    def _changed(self, key: tuple[str, str]) -> None:
        self.versions[key] = self.versions.get(key, 0) + 1
        assert self.heard[-1] == key
        self.heard.clear()

    @rule(m=st.sampled_from(MEMBERS), o=st.sampled_from(ORGS), facts=FACTS)
    def join(self, m: str, o: str, facts: dict[str, Any]) -> None:
        if (m, o) in self.model:
            try:
                self.d.join(m, o, facts)
            except MembershipError as err:
                assert m in str(err)
            else:
                raise AssertionError("a second join was accepted")
            return
        self.d.join(m, o, facts)
        if m not in self.joined:
            self.joined.append(m)
        self.model[(m, o)] = dict(facts)
        self._changed((m, o))

    @rule(m=st.sampled_from(MEMBERS), o=st.sampled_from(ORGS), facts=FACTS)
    def update(self, m: str, o: str, facts: dict[str, Any]) -> None:
        if (m, o) not in self.model:
            try:
                self.d.update(m, o, facts)
            except MembershipError:
                return
            raise AssertionError("an update of no membership was accepted")
        self.d.update(m, o, facts)
        self.model[(m, o)].update(facts)
        self._changed((m, o))

    @rule(m=st.sampled_from(MEMBERS), o=st.sampled_from(ORGS), bad=BAD_FACTS,
          joining=st.booleans())  # fmt: skip
    def refused_facts(self, m: str, o: str, bad: dict[str, Any], joining: bool) -> None:
        try:
            (self.d.join if joining else self.d.update)(m, o, bad)
        except MembershipError:
            return
        raise AssertionError(f"facts {bad} were accepted")

    @rule(m=st.sampled_from(MEMBERS), o=st.sampled_from(ORGS))
    def leave(self, m: str, o: str) -> None:
        if (m, o) not in self.model:
            try:
                self.d.leave(m, o)
            except MembershipError:
                return
            raise AssertionError("leaving no membership was accepted")
        self.d.leave(m, o)
        del self.model[(m, o)]
        if not any(k[0] == m for k in self.model):
            self.joined.remove(m)
        self._changed((m, o))

    @rule(data=st.data(), o=st.sampled_from(ORGS))
    def set_rules(self, data: st.DataObject, o: str) -> None:
        rs = data.draw(rulesets(o))
        self.v.set_rules(rs)
        self.rules[o] = rs

    @rule(m=st.sampled_from(MEMBERS), o=st.sampled_from(ORGS), b=st.sampled_from(BENEFITS))
    def verify(self, m: str, o: str, b: str) -> None:
        decision = self.v.verify(m, o, b)
        self.calls += 1
        eligible, reasons = oracle(self.rules[o], b, self.model.get((m, o)))
        assert (decision.eligible, list(decision.reasons)) == (eligible, reasons)
        assert decision.rules_version == self.rules[o].version

    @rule(m=st.sampled_from(MEMBERS), o=st.sampled_from(ORGS),
          b=st.sampled_from(["", "spa", "lounge "]))  # fmt: skip
    def verify_refused(self, m: str, o: str, b: str) -> None:
        try:
            self.v.verify(m, o, b)
        except MembershipError as err:
            assert repr(b) in str(err)
        else:
            raise AssertionError(f"benefit {b!r} was accepted")

    @invariant()
    def agrees(self) -> None:
        assert self.heard == []  # refused calls told nobody
        assert len(self.d) == len(self.model)
        for m in MEMBERS:
            assert self.d.organisations_of(m) == tuple(sorted(o for k, o in self.model if k == m))
            for o in ORGS:
                assert self.d.facts(m, o) == self.model.get((m, o))
                assert self.d.version(m, o) == self.versions.get((m, o), 0)
        assert list(self.d.members()) == self.joined
        assert len(self.v) <= 4
        assert self.v.stats.hits + self.v.stats.misses == self.calls
        for (m, o, b), decision in self.v._cache.items():  # no cached answer is stale
            assert (decision.eligible, list(decision.reasons)) == oracle(
                self.rules[o], b, self.model.get((m, o))
            )


TestDirectoryAndVerifier = DirectoryAndVerifier.TestCase
TestDirectoryAndVerifier.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


class Ledger(RuleBasedStateMachine):
    """The cap ledger against a list of sends per member, counted window by window."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger: CapLedger | None = None
        self.sends: dict[str, list[int]] = {}

    @precondition(lambda self: self.ledger is None)
    @rule(cap=st.integers(1, 3), window=st.integers(1, 5))
    def make(self, cap: int, window: int) -> None:
        self.ledger = CapLedger(cap, window)
        self.cap, self.window = cap, window

    def _room(self, member: str, day: int) -> bool:
        days = [*self.sends.get(member, []), day]
        return all(
            sum(start <= d < start + self.window for d in days) <= self.cap
            for start in range(day - self.window + 1, day + 1)
        )

    @precondition(lambda self: self.ledger is not None)
    @rule(member=st.sampled_from(["a", "b"]), day=st.integers(0, 12) | st.just(10**9))
    def record(self, member: str, day: int) -> None:
        assert self.ledger is not None
        room = self._room(member, day)
        assert self.ledger.room(member, day) is room
        if room:
            self.ledger.record(member, day)
            self.sends.setdefault(member, []).append(day)
        else:
            try:
                self.ledger.record(member, day)
            except MembershipError as err:
                assert f"cap of {self.cap}" in str(err)
            else:
                raise AssertionError("a send over the cap was recorded")

    @precondition(lambda self: self.ledger is not None)
    @rule(member=st.sampled_from(["a", "b"]), day=st.integers(0, 14))
    def recent(self, member: str, day: int) -> None:
        assert self.ledger is not None
        want = sum(day - self.window < d <= day for d in self.sends.get(member, []))
        assert self.ledger.recent(member, day) == want

    @precondition(lambda self: self.ledger is not None)
    @rule(day=st.sampled_from([-1, 10**9 + 1, True, 1.0]))
    def refused_day(self, day: Any) -> None:
        assert self.ledger is not None
        for call in (self.ledger.room, self.ledger.record, self.ledger.recent):
            try:
                call("a", day)
            except MembershipError as err:
                assert "day=" in str(err)
            else:
                raise AssertionError(f"day={day!r} was accepted")

    @invariant()
    def never_over_the_cap(self) -> None:
        for days in self.sends.values():
            for start in {d - k for d in days for k in range(self.window)}:
                assert sum(start <= d < start + self.window for d in days) <= self.cap


TestLedger = Ledger.TestCase
TestLedger.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
