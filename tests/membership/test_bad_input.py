"""Hostile values at the public entry points: only MembershipError, and nothing changes."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import pytest

from designpatterns_ref.errors import DesignPatternsError
from designpatterns_ref.membership import MembershipError, Rule, Verifier, sample_directory
from designpatterns_ref.membership.engagement import CapLedger, ThompsonSampling, simulate

HOSTILE: tuple[Any, ...] = (
    None, True, False, math.nan, math.inf, -math.inf, 10**400, -1, "", " x", "x" * 100_000,
    "\ud800", "a\x00b", "é", b"bytes", [], {}, ("t",), object(), 1.5,
)  # fmt: skip


def _state(d: Any, v: Any) -> Any:
    return copy.deepcopy((d._records, d._version, v._cache, v._index, v.stats))


CALLS: dict[str, Callable[[Any, Any, Any], object]] = {
    "verify member": lambda d, v, x: v.verify(x, "northwind-union", "legal-advice"),
    "verify organisation": lambda d, v, x: v.verify("m0001", x, "legal-advice"),
    "verify benefit": lambda d, v, x: v.verify("m0001", "northwind-union", x),
    "join member": lambda d, v, x: d.join(x, "motor-club", {"tier": "gold"}),
    "join organisation": lambda d, v, x: d.join("m0009", x, {"tier": "gold"}),
    "join facts": lambda d, v, x: d.join("m0009", "motor-club", x),
    "join fact value": lambda d, v, x: d.join("m0009", "motor-club", {"months": x}),
    "update fact value": lambda d, v, x: d.update("m0001", "motor-club", {"tier": x}),
    "update fact name": lambda d, v, x: d.update(
        "m0001", "motor-club", {x: 1} if isinstance(x, str) else x
    ),
    "leave member": lambda d, v, x: d.leave(x, "motor-club"),
    "invalidate member": lambda d, v, x: v.invalidate(x, "motor-club"),
    "set_rules": lambda d, v, x: v.set_rules(x),
}


#: Values that are valid for a call (no facts at all is a valid record).
VALID = {("join facts", "{}"), ("update fact name", "{}")}
CASES = [(c, v) for c in CALLS for v in HOSTILE if (c, repr(v)) not in VALID]


@pytest.mark.parametrize(("call", "value"), CASES, ids=[f"{c}-{v!r:.20}" for c, v in CASES])
def test_refused_without_change(call: str, value: Any) -> None:
    d, rules = sample_directory()
    v = Verifier(d, rules)
    v.verify("m0001", "northwind-union", "legal-advice")  # something cached to keep
    before = _state(d, v)
    with pytest.raises(MembershipError) as err:
        CALLS[call](d, v, value)
    assert isinstance(err.value, DesignPatternsError) and isinstance(err.value, ValueError)
    assert str(err.value)
    assert _state(d, v) == before


def test_a_refused_update_keeps_every_fact() -> None:
    d, _ = sample_directory()
    before = d.facts("m0001", "motor-club")
    with pytest.raises(MembershipError, match="months"):
        d.update("m0001", "motor-club", {"tier": "gold", "months": -1})
    assert d.facts("m0001", "motor-club") == before


@pytest.mark.parametrize("value", [None, 0, -1, 1.5, True, "3", 10**400, math.nan])
def test_ledger_and_simulate_refuse(value: Any) -> None:
    ledger = CapLedger(2, 7)
    ledger.record("m", 1)
    with pytest.raises(MembershipError):
        ledger.record("m", "x" if value is None or value == 0 else value)
    assert ledger.recent("m", 1) == 1
    with pytest.raises(MembershipError):
        CapLedger(value, 7)
    with pytest.raises(MembershipError):
        simulate(ThompsonSampling(1), members=10, days=2, window=value)


_SEND = ("m", 1, "x")


@pytest.mark.parametrize(
    ("log", "window"),
    [
        ([_SEND], 0),  # was IndexError
        ([_SEND], -3),  # was IndexError
        ([_SEND], True),
        ([_SEND], 10**400),
        ([_SEND], 2.0),
        ([("m", "1", "x"), ("m", 2, "x")], 7),  # was TypeError: str < int
        ([("m", True, "x")], 7),
        ([("m", -1, "x")], 7),
        ([("m", 10**400, "x")], 7),
        ([("m", 1)], 7),
        ([("m", 1, "x", "y")], 7),
        ([None], 7),
        ([(None, 1, "x")], 7),
        ([("m", 1, None)], 7),
        ("abc", 7),
        (None, 7),  # was TypeError: not iterable
        ({("m", 1, "x")}, 7),
    ],
)
def test_max_sends_in_window_refuses(log: Any, window: Any) -> None:
    from designpatterns_ref.membership.engagement import max_sends_in_window

    before = copy.deepcopy(log)
    with pytest.raises(MembershipError):
        max_sends_in_window(log, window)
    assert log == before


@pytest.mark.parametrize("rng", [None, 0, "seed", math.nan, object()])
def test_random_facts_refuses_what_is_not_a_random_generator(rng: Any) -> None:
    from designpatterns_ref.membership.data import random_facts

    with pytest.raises(MembershipError, match="rng="):
        random_facts(rng)


@pytest.mark.parametrize("method", ["holds", "why_not"])
@pytest.mark.parametrize("value", HOSTILE)
def test_a_rule_checks_the_facts_it_is_given(method: str, value: Any) -> None:
    """``Rule.holds`` and ``Rule.why_not`` compared whatever they got (a TypeError for
    ``{"months": "12"}``, or for facts that are not a mapping); now they check the facts as
    ``evaluate`` does."""
    rule = Rule("months", ">=", 12, "too new")
    for facts in (value, {"months": value}):
        try:
            getattr(rule, method)(facts)
        except MembershipError as exc:
            assert str(exc)
    assert rule.holds({"months": 12}) and rule.why_not({"months": 3}) == "too new"
    with pytest.raises(MembershipError, match="months"):
        getattr(rule, method)({"months": "12"})


def test_rules_that_disagree_about_an_organisation_are_refused() -> None:
    """Two rule sets for one organisation, or a mapping key naming another organisation than
    its rule set, were silently resolved (the last one won; the key was ignored)."""
    from designpatterns_ref.membership import RuleSet

    d, rules = sample_directory()
    old = rules["northwind-union"]
    new = RuleSet("northwind-union", 2, common=(Rule("months", ">=", 600, "50 years"),),
                  benefits={"legal-advice": ()})  # fmt: skip
    with pytest.raises(MembershipError, match="two rule sets for organisation 'northwind-union'"):
        Verifier(d, [old, new])
    with pytest.raises(MembershipError, match=r"rules\['motor-club'\] is the rule set of 'north"):
        Verifier(d, {"motor-club": old})
    assert Verifier(d, rules).organisations == tuple(sorted(rules))


class _LoudName(str):
    """A fact name whose ``str()`` raises (or, another time, could say something else)."""

    def __str__(self) -> str:
        raise RuntimeError("str() called on a fact name")


@pytest.mark.parametrize(
    "key", [10**5000, _LoudName("no-such-fact"), object()], ids=["huge-int", "loud-str", "object"]
)
def test_a_fact_name_is_checked_before_anything_turns_it_into_text(key: Any) -> None:
    """``str(10**5000)`` raises ValueError (Python's integer-to-text digit limit): it used to
    escape every call that takes facts, before the name was checked."""
    from designpatterns_ref.membership import evaluate
    from designpatterns_ref.membership.base import check_facts

    d, rules = sample_directory()
    v = Verifier(d, rules)
    before = _state(d, v)
    rule = Rule("months", ">=", 12, "too new")
    for call in (
        lambda: check_facts({key: 1}),
        lambda: d.join("m0009", "motor-club", {key: 1}),
        lambda: d.update("m0001", "motor-club", {key: 1}),
        lambda: evaluate(rules["motor-club"], "legal-advice", {key: 1}),
        lambda: rule.holds({key: 1}),
        lambda: rule.why_not({key: 1}),
    ):
        with pytest.raises(MembershipError, match="fact name"):
            call()
    assert _state(d, v) == before


def test_a_str_subclass_fact_name_is_stored_as_plain_text() -> None:
    from designpatterns_ref.membership.base import check_facts

    clean = check_facts({_LoudName("months"): 12})
    assert clean == {"months": 12} and all(type(k) is str for k in clean)
