"""The cached verifier never serves a stale answer after a change, against an uncached one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.membership import Directory, Verifier, default_rules, sample_directory
from designpatterns_ref.membership.data import ORGANISATIONS

MEMBERS = ["m1", "m2", "m3"]
ORGS = list(ORGANISATIONS[:3])
RULES = default_rules()
FACT_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["active", "lapsed"]),
        "tier": st.sampled_from(["standard", "gold"]),
        "months": st.integers(0, 20),
        "age": st.integers(15, 70),
        "country": st.sampled_from(["GB", "US"]),
        "dues_paid": st.booleans(),
    },
)
OPS = st.one_of(
    st.tuples(st.just("join"), st.sampled_from(MEMBERS), st.sampled_from(ORGS), FACT_CHANGES),
    st.tuples(st.just("update"), st.sampled_from(MEMBERS), st.sampled_from(ORGS), FACT_CHANGES),
    st.tuples(st.just("leave"), st.sampled_from(MEMBERS), st.sampled_from(ORGS)),
    st.tuples(st.just("verify"), st.sampled_from(MEMBERS), st.sampled_from(ORGS),
              st.sampled_from(["legal-advice", "lounge-access", "travel-discount"])),
)  # fmt: skip


def _apply(d: Directory, op: tuple[Any, ...]) -> None:
    kind, member, org = op[:3]
    present = d.facts(member, org) is not None
    if kind == "join" and not present:
        d.join(member, org, op[3])
    elif kind == "update" and present:
        d.update(member, org, op[3])
    elif kind == "leave" and present:
        d.leave(member, org)


@settings(max_examples=100)
@given(st.lists(OPS, max_size=60))
def test_cached_matches_uncached_over_random_changes(ops: list[tuple[Any, ...]]) -> None:
    d = Directory()
    cached, plain = Verifier(d, RULES), Verifier(d, RULES, cache=False)
    for op in ops:
        if op[0] == "verify":
            assert cached.verify(*op[1:]) == plain.verify(*op[1:])
        else:
            _apply(d, op)
        # after every step, every cached answer equals a fresh evaluation
        for (m, o, b), decision in list(cached._cache.items()):
            assert decision == plain.verify(m, o, b)
    assert len(plain) == 0


def test_a_change_is_never_served_stale() -> None:
    d, rules = sample_directory()
    v = Verifier(d, rules)
    args = ("m0001", "northwind-union", "lounge-access")
    assert v.verify(*args).eligible and v.verify(*args).eligible
    assert v.stats.hits == 1
    d.update("m0001", "northwind-union", {"tier": "silver"})
    assert v.verify(*args).reasons == ("gold tier only",)
    d.leave("m0001", "northwind-union")
    assert v.verify(*args).reasons == ("not a member of northwind-union",)
    d.join("m0001", "northwind-union", {"status": "active", "dues_paid": True, "tier": "gold",
                                        "months": 12})  # fmt: skip
    assert v.verify(*args).eligible
    assert v.stats.invalidated == 3


def test_without_invalidation_the_cache_would_be_stale() -> None:
    """The check above can fail: a verifier that missed the change serves the old answer."""
    d, rules = sample_directory()
    v = Verifier(d, rules)
    args = ("m0001", "northwind-union", "lounge-access")
    assert v.verify(*args).eligible
    d._listeners.clear()  # what a writer bypassing the directory's events would do
    d.update("m0001", "northwind-union", {"tier": "silver"})
    assert v.verify(*args).eligible  # stale
    v.invalidate("m0001", "northwind-union")
    assert not v.verify(*args).eligible


def test_new_rules_drop_that_organisations_answers() -> None:
    from designpatterns_ref.membership import Rule, RuleSet

    d, rules = sample_directory()
    v = Verifier(d, rules)
    assert v.verify("m0001", "northwind-union", "legal-advice").eligible
    assert v.verify("m0001", "motor-club", "legal-advice").eligible is False
    strict = RuleSet("northwind-union", 2, common=(Rule("months", ">=", 60, "60 months"),),
                     benefits={"legal-advice": ()})  # fmt: skip
    v.set_rules(strict)
    assert v.verify("m0001", "northwind-union", "legal-advice").reasons == ("60 months",)
    assert v.verify("m0001", "northwind-union", "legal-advice").rules_version == 2
    assert ("m0001", "motor-club", "legal-advice") in v._cache


def test_bounded_cache_evicts_oldest() -> None:
    d, rules = sample_directory()
    v = Verifier(d, rules, max_entries=2)
    for b in ("legal-advice", "lounge-access", "travel-discount"):
        v.verify("m0001", "northwind-union", b)
    assert len(v) == 2 and ("m0001", "northwind-union", "legal-advice") not in v._cache
    d.update("m0001", "northwind-union", {"tier": "silver"})
    assert len(v) == 0


def test_a_failing_listener_does_not_leave_the_cache_stale() -> None:
    """A subscriber that raises (an audit log that is down) used to stop the listeners after
    it, so the verifier kept serving the answer from before the change."""
    d, rules = sample_directory()
    calls: list[tuple[str, str]] = []

    def audit(member: str, organisation: str) -> None:
        calls.append((member, organisation))
        raise RuntimeError("audit log down")

    d.subscribe(audit)
    v = Verifier(d, rules)
    args = ("m0001", "northwind-union", "legal-advice")
    assert v.verify(*args).eligible
    with pytest.raises(RuntimeError, match="audit log down"):
        d.update("m0001", "northwind-union", {"dues_paid": False})
    assert calls == [("m0001", "northwind-union")]
    assert d.facts("m0001", "northwind-union")["dues_paid"] is False  # type: ignore[index]
    assert v.verify(*args).reasons == ("dues not paid",)


def test_the_bounded_cache_keeps_no_index_for_evicted_answers() -> None:
    """``max_entries`` bounds the memory: evicting an answer also drops its membership from
    the invalidation index once no answer of it is left (a client asking about 100,000
    made-up members used to leave 100,000 index entries behind a 10-answer cache)."""
    d, rules = sample_directory()
    v = Verifier(d, rules, max_entries=10)
    for i in range(1_000):
        v.verify(f"x{i}", "motor-club", "legal-advice")
        v.verify(f"x{i}", "motor-club", "lounge-access")
    assert len(v) == 10
    assert sum(len(b) for b in v._index.values()) == len(v) and len(v._index) == 5
    assert all(v._index.values())


@settings(max_examples=100)
@given(st.integers(1, 4), st.lists(OPS, max_size=60))
def test_a_small_cache_stays_exact_and_its_index_matches_it(size: int, ops: list[Any]) -> None:
    d = Directory()
    cached, plain = Verifier(d, RULES, max_entries=size), Verifier(d, RULES, cache=False)
    for op in ops:
        if op[0] == "verify":
            assert cached.verify(*op[1:]) == plain.verify(*op[1:])
        else:
            _apply(d, op)
        indexed = {(m, o, b) for (m, o), bs in cached._index.items() for b in bs}
        assert indexed == set(cached._cache) and all(cached._index.values())
        assert len(cached) <= size
