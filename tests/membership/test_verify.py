"""The cached verifier never serves a stale answer after a change, against an uncached one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.membership import (
    Decision,
    Directory,
    MembershipError,
    Verifier,
    default_rules,
    sample_directory,
)
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


class _WriterInTheGap(Directory):
    """A directory whose next read runs ``gap`` just after the reader has the record: where a
    thread switch can let a writer in on another thread."""

    gap: Any = None

    def _facts_view(self, member: str, organisation: str) -> Any:
        record = super()._facts_view(member, organisation)
        seen = None if record is None else dict(record)  # what the reader goes on to use
        if self.gap is not None:
            gap, self.gap = self.gap, None
            gap()  # its invalidation finds nothing cached yet
        return seen


def test_an_answer_read_before_a_change_is_not_cached_after_it() -> None:
    """The reader's answer is from the old record (or rules); caching it would serve it until
    the next change."""
    from designpatterns_ref.membership import RuleSet

    d = _WriterInTheGap()
    facts = {"status": "active", "tier": "gold", "months": 30, "age": 40, "country": "GB"}
    d.join("m1", "northwind-union", {**facts, "dues_paid": True})
    v = Verifier(d, RULES)
    args = ("m1", "northwind-union", "legal-advice")
    d.gap = lambda: d.update("m1", "northwind-union", {"dues_paid": False})
    assert v.verify(*args).eligible  # from the record as it was
    assert len(v) == 0
    assert v.verify(*args).reasons == ("dues not paid",) and len(v) == 1
    strict = RuleSet("northwind-union", 2, common=(), benefits={"legal-advice": ()})
    v.invalidate("m1", "northwind-union")
    d.gap = lambda: v.set_rules(strict)
    assert v.verify(*args).rules_version == 1  # from the rules as they were
    assert len(v) == 0
    assert v.verify(*args) == Decision(True, (), 2) and len(v) == 1


@pytest.mark.usefixtures("busy_switching")
def test_threads_never_crash_it_nor_leave_a_stale_answer() -> None:
    """Readers, a writer and a rule-replacer at once, with a small cache that keeps evicting:
    no exception, the index matches the cache, and every answer left cached is the truth."""
    import random
    import threading

    from designpatterns_ref.membership import generate

    d, rules = generate(200, seed=1)
    v, plain = Verifier(d, rules, max_entries=40), Verifier(d, rules, cache=False)
    pairs = [(m, o) for m in d.members() for o in d.organisations_of(m)]
    errors: list[BaseException] = []
    done = threading.Event()

    def guarded(work: Any) -> Any:
        def run() -> None:
            try:
                work()
            except BaseException as err:  # reported by the test, not lost in the thread
                errors.append(err)

        return run

    def write() -> None:
        rng = random.Random(2)
        while not done.is_set():
            m, o = rng.choice(pairs)
            d.update(m, o, {"months": rng.randint(0, 40), "dues_paid": rng.random() < 0.5})

    def replace_rules() -> None:
        while not done.is_set():
            for rs in rules.values():
                v.set_rules(rs)

    def read(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(15_000):
            v.verify(*rng.choice(pairs), "legal-advice")

    background = [threading.Thread(target=guarded(f)) for f in (write, replace_rules)]
    readers = [threading.Thread(target=guarded(lambda s=s: read(s))) for s in (3, 4)]
    for t in background + readers:
        t.start()
    for t in readers:
        t.join()
    done.set()
    for t in background:
        t.join()
    assert errors == []
    assert {(m, o, b) for (m, o), bs in v._index.items() for b in bs} == set(v._cache)
    for (m, o, b), decision in v._cache.items():
        assert decision == plain.verify(m, o, b)


def test_a_verifier_no_longer_used_is_collected_and_stops_listening() -> None:
    import gc
    import weakref

    d, rules = sample_directory()
    keep = Verifier(d, rules)
    args = ("m0001", "northwind-union", "lounge-access")
    rebuilt = [Verifier(d, rules) for _ in range(50)]  # say one per rules reload
    for verifier in rebuilt:
        assert verifier.verify(*args).eligible
    gone = [weakref.ref(verifier) for verifier in rebuilt]
    del rebuilt, verifier
    gc.collect()
    assert all(ref() is None for ref in gone) and len(d._listeners) == 1
    assert keep.verify(*args).eligible
    d.update("m0001", "northwind-union", {"tier": "silver"})  # the one left still hears
    assert not keep.verify(*args).eligible
    keep.close()
    keep.close()  # harmless
    assert d._listeners == [] and len(keep) == 0
    d.update("m0001", "northwind-union", {"tier": "gold"})
    assert keep.verify(*args).eligible and keep.verify(*args).eligible and len(keep) == 0


def test_unsubscribe_takes_one_subscription_and_refuses_a_stranger() -> None:
    d, seen = Directory(), []

    def listener(member: str, organisation: str) -> None:
        seen.append((member, organisation))

    d.subscribe(listener)
    d.subscribe(listener)
    d.unsubscribe(listener)
    d.join("m1", "acme", {})
    assert seen == [("m1", "acme")]
    with pytest.raises(MembershipError, match="not subscribed"):
        d.unsubscribe(print)
    assert d._listeners == [listener]
