"""Rule evaluation against a brute-force reference: every failing rule's reason, in order."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from designpatterns_ref.membership import FACTS, MembershipError, Rule, RuleSet, evaluate
from designpatterns_ref.membership.data import ORGANISATIONS, default_rules

_VALUES: dict[str, Any] = {
    "status": st.sampled_from(["active", "lapsed", "suspended"]),
    "tier": st.sampled_from(["standard", "silver", "gold"]),
    "months": st.integers(0, 30),
    "age": st.integers(0, 30),
    "country": st.sampled_from(["GB", "IE", "FR"]),
    "dues_paid": st.booleans(),
}


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    fact = draw(st.sampled_from(sorted(FACTS)))
    ordered = FACTS[fact] is int
    op = draw(st.sampled_from(["==", "!=", "in", "not in", *([">=", "<=", ">", "<"] * ordered)]))
    if op in ("in", "not in"):
        value: Any = tuple(draw(st.lists(_VALUES[fact], min_size=1, max_size=3)))
    else:
        value = draw(_VALUES[fact])
    return Rule(fact, op, value, draw(st.sampled_from(["r1", "r2", "same reason"])))


facts_st = st.fixed_dictionaries({}, optional=dict(_VALUES.items()))


def _holds(op: str, v: Any, x: Any) -> bool:
    if op == "==":
        return bool(v == x)
    if op == "!=":
        return v != x
    if op == ">=":
        return not v < x
    if op == "<=":
        return not v > x
    if op == ">":
        return bool(v > x)
    if op == "<":
        return bool(v < x)
    if op == "in":
        return any(v == y for y in x)
    return all(v != y for y in x)


def reference(common: list[Rule], own: list[Rule], facts: dict[str, Any] | None) -> list[str]:
    """Brute force: each rule by its own spelled-out comparison."""
    if facts is None:
        return ["not a member of org"]
    reasons = []
    for r in [*common, *own]:
        if r.fact not in facts:
            reasons.append(f"{r.fact} unknown")
            continue
        ok = _holds(r.op, facts[r.fact], r.value)
        if not ok:
            reasons.append(r.reason)
    return reasons


@given(
    st.lists(rules(), max_size=4),
    st.lists(rules(), max_size=5),
    st.none() | facts_st,
)
def test_evaluate_matches_brute_force(common: list[Rule], own: list[Rule], facts: Any) -> None:
    rs = RuleSet("org", 1, common=tuple(common), benefits={"b": tuple(own), "other": ()})
    decision = evaluate(rs, "b", facts)
    expected = reference(common, own, facts)
    assert list(decision.reasons) == expected
    assert decision.eligible is (not expected)
    assert decision.rules_version == 1
    assert rs.rules_for("b") == (*common, *own)


def test_every_reason_is_listed_in_order() -> None:
    rs = default_rules()["northwind-union"]
    facts = {"status": "lapsed", "dues_paid": False, "tier": "standard", "age": 70}
    d = evaluate(rs, "training-credit", facts)
    assert d.reasons == ("membership not active", "dues not paid", "silver or gold only",
                         "under 67 only")  # fmt: skip
    d = evaluate(rs, "lounge-access", {"status": "active", "dues_paid": True})
    assert d.reasons == ("tier unknown", "months unknown")


def test_nine_organisations_with_rules() -> None:
    rules = default_rules()
    assert sorted(rules) == sorted(ORGANISATIONS) and len(rules) == 9
    assert all(rs.common and rs.benefits for rs in rules.values())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fact": "colour", "op": "==", "value": "red"},
        {"fact": "tier", "op": ">=", "value": "gold"},
        {"fact": "age", "op": "in", "value": 3},
        {"fact": "age", "op": "in", "value": ()},
        {"fact": "age", "op": "~", "value": 3},
        {"fact": "age", "op": ">=", "value": True},
        {"fact": "dues_paid", "op": "==", "value": 1},
    ],
)
def test_bad_rules_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(MembershipError):
        Rule(reason="r", **kwargs)


def test_unknown_benefit_is_refused() -> None:
    rs = default_rules()["motor-club"]
    with pytest.raises(MembershipError, match="allowed"):
        evaluate(rs, "spaceship", {})


_ORDERED = Rule("months", ">=", 12, "too new")
_BAD_VALUES = st.one_of(
    st.text(max_size=5),
    st.booleans(),
    st.floats(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.integers().filter(lambda n: not 0 <= n <= 10**6),
)


@given(st.sampled_from(sorted(FACTS)), _BAD_VALUES, facts_st)
@example("months", "12", {})  # was a bare TypeError: '>=' between str and int
@example("months", True, {})  # was compared as 1
@example("months", float("nan"), {})  # was a silent "too new"
def test_evaluate_refuses_facts_of_the_wrong_type(
    fact: str, bad: Any, good: dict[str, Any]
) -> None:
    kind = FACTS[fact]
    if (kind is bool and isinstance(bad, bool)) or (
        kind is str and isinstance(bad, str) and bad and bad.isprintable() and bad.isascii()
        and bad.strip() == bad
    ):  # fmt: skip
        return  # a valid value after all
    rs = RuleSet(
        "org", 1, common=(_ORDERED,), benefits={"b": (Rule(fact, "!=", _VALUES_OK[fact], "r"),)}
    )
    facts = {**good, fact: bad}
    before = dict(facts)
    with pytest.raises(MembershipError, match=fact):
        evaluate(rs, "b", facts)
    assert facts == before


_VALUES_OK: dict[str, Any] = {"status": "active", "tier": "gold", "months": 3, "age": 30,
                              "country": "GB", "dues_paid": True}  # fmt: skip


def test_evaluate_refuses_an_unknown_fact_name() -> None:
    rs = RuleSet("org", 1, benefits={"b": (_ORDERED,)})
    with pytest.raises(MembershipError, match="colour"):
        evaluate(rs, "b", {"months": 12, "colour": "red"})


def test_a_rule_set_cannot_drift_from_what_it_evaluates() -> None:
    """A RuleSet is frozen, but its benefits were a plain dict: changing it changed
    ``rules_for`` and not ``evaluate``. The benefits are read-only now, and a rule set still
    copies, pickles and converts with ``dataclasses.asdict``."""
    import copy
    import dataclasses
    import pickle

    rs = default_rules()["motor-club"]
    for change in (
        lambda b: b.__setitem__("lounge-access", ()),
        lambda b: b.__delitem__("lounge-access"),
        lambda b: b.update({"lounge-access": ()}),
        lambda b: b.pop("lounge-access"),
        lambda b: b.popitem(),
        lambda b: b.setdefault("spa", ()),
        lambda b: b.clear(),
    ):
        with pytest.raises(TypeError, match="read-only"):
            change(rs.benefits)
    assert len(rs.rules_for("lounge-access")) == 4
    facts = {"status": "active", "dues_paid": True}
    for same in (copy.deepcopy(rs), pickle.loads(pickle.dumps(rs))):
        assert same == rs and evaluate(same, "lounge-access", facts) == evaluate(
            rs, "lounge-access", facts
        )
    assert sorted(dataclasses.asdict(rs)["benefits"]) == sorted(rs.benefits)


@given(
    st.lists(rules(), max_size=3),
    st.dictionaries(st.sampled_from(["lounge", "spa", "parking"]), st.lists(rules(), max_size=3)),
    st.integers(0, 2),
    st.randoms(use_true_random=False),
)
def test_a_rule_set_hashes_consistently_with_equality(
    common: list[Rule], own: dict[str, list[Rule]], version: int, rnd: Any
) -> None:
    """A frozen RuleSet is hashable: equal sets (benefits given in any order) hash alike, and
    a set of rule sets holds each distinct one once (the oracle: pairwise equality)."""
    benefits = {name: tuple(rs) for name, rs in own.items()} or {"lounge": ()}
    names = list(benefits)
    rnd.shuffle(names)
    a = RuleSet("org", version, tuple(common), benefits)
    b = RuleSet("org", version, tuple(common), {n: benefits[n] for n in names})
    c = RuleSet("org", version + 1, tuple(common), benefits)
    assert a == b and hash(a) == hash(b)
    distinct = [x for i, x in enumerate([a, b, c]) if all(x != y for y in [a, b, c][:i])]
    assert len({a, b, c}) == len(distinct) == 2
    assert {a: 1}[b] == 1


@pytest.mark.parametrize("version", [-1, 2**31, 10**40, True, 1.0])
def test_a_bad_version_is_refused_naming_the_whole_range(version: Any) -> None:
    with pytest.raises(MembershipError, match=r"version=.* must be an int >= 0 and <= 2147483647"):
        RuleSet("org", version, (), {"lounge": ()})
    assert RuleSet("org", 2**31 - 1, (), {"lounge": ()}).version == 2**31 - 1
