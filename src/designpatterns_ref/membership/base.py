"""Membership records, eligibility rules and decisions: the types every module shares.

Case study: Design a Membership Benefits & Verification Platform (docs/case-studies/membership-benefits.md)

A member belongs to one or more organisations; each membership is a small record of *facts*
(status, tier, months of membership, age, country, dues paid). An organisation's benefits are
guarded by :class:`Rule` objects: plain data (a fact, an operator, a value and the reason to
give when it fails), so that an organisation changes its rules without a code change and every
"no" can say *why*, with every reason, not just the first.

>>> Rule("tier", "in", ("gold", "silver"), "gold or silver tier only").holds({"tier": "gold"})
True
>>> Decision(False, ("dues not paid",), rules_version=3).as_dict()
{'eligible': False, 'reasons': ['dues not paid'], 'rules_version': 3}
"""  # noqa: E501

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "FACTS",
    "OPERATORS",
    "Decision",
    "Fact",
    "MembershipError",
    "Rule",
    "check_fact",
    "check_facts",
    "check_name",
]

#: A fact's value: a bool, an int, a finite float or a short string.
Fact = bool | int | float | str

#: The facts a membership record may carry, with their types (bool is checked before int).
FACTS: dict[str, type] = {
    "status": str,
    "tier": str,
    "months": int,
    "age": int,
    "country": str,
    "dues_paid": bool,
}

_MAX_NAME = 64


class MembershipError(DesignPatternsError, ValueError):
    """Bad input to the membership family; the message names the argument, value and rule."""


def _within(value: Any, allowed: Any) -> bool:
    return value in allowed


def _outside(value: Any, allowed: Any) -> bool:
    return value not in allowed


#: The comparison operators a rule may use.
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "in": _within,
    "not in": _outside,
}


def check_name(what: str, value: object) -> str:
    """``value`` if it is a non-empty printable identifier-like string of at most 64 chars."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= _MAX_NAME
        or not value.isprintable()
        or not value.isascii()
        or value.strip() != value
    ):
        raise MembershipError(
            f"{what}={shown(value, 80)} must be a non-empty printable ASCII string of at most "
            f"{_MAX_NAME} characters, without surrounding spaces"
        )
    return value


def check_fact(name: object, value: object) -> Fact:
    """``value`` if it is a valid value for the fact ``name`` (see :data:`FACTS`)."""
    if not isinstance(name, str) or name not in FACTS:
        raise MembershipError(f"fact name={shown(name, 80)} must be one of {sorted(FACTS)}")
    kind = FACTS[name]
    ok = (
        isinstance(value, bool)
        if kind is bool
        else isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10**6
        if kind is int
        else isinstance(value, str)
        and 0 < len(value) <= _MAX_NAME
        and value.isprintable()
        and value.isascii()
        and value.strip() == value
    )
    if not ok:
        allowed = {
            bool: "true or false",
            int: "an int from 0 to 1000000",
            str: "a printable ASCII string of 1 to 64 characters, no surrounding spaces",
        }[kind]
        raise MembershipError(f"fact {name}={shown(value, 80)} must be {allowed}")
    return value  # type: ignore[return-value]


def check_facts(facts: object) -> dict[str, Fact]:
    """A copy of ``facts`` if every key is a known fact with a valid value."""
    if not isinstance(facts, Mapping):
        raise MembershipError(f"facts={shown(facts, 80)} must be a mapping of fact names to values")
    clean: dict[str, Fact] = {}
    for key, value in list(facts.items()):
        if not isinstance(key, str):
            check_fact(key, value)  # refuses it, naming the key: str(key) may itself raise
        name = str.__str__(key)  # a plain str; a str subclass's own __str__ is never run
        clean[name] = check_fact(name, value)
    return clean


@dataclass(frozen=True, slots=True)
class Rule:
    """One condition of eligibility: ``facts[fact] <op> value``, or ``reason`` when it fails.

    A missing fact fails the rule too (never guess), with the reason "<fact> unknown".
    """

    fact: str
    op: str
    value: Fact | tuple[Fact, ...]
    reason: str

    def __post_init__(self) -> None:
        if not isinstance(self.fact, str) or self.fact not in FACTS:
            raise MembershipError(
                f"Rule: fact={shown(self.fact, 80)} must be one of {sorted(FACTS)}"
            )
        if not isinstance(self.op, str) or self.op not in OPERATORS:
            raise MembershipError(f"Rule: op={shown(self.op, 80)} must be one of {list(OPERATORS)}")
        if self.op in ("in", "not in"):
            if not isinstance(self.value, tuple) or not self.value:
                raise MembershipError(
                    f"Rule: value={shown(self.value, 80)} must be a non-empty tuple for op "
                    f"{shown(self.op)}"
                )
            for v in self.value:
                check_fact(self.fact, v)
        else:
            check_fact(self.fact, self.value)
            if FACTS[self.fact] in (str, bool) and self.op not in ("==", "!="):
                raise MembershipError(
                    f"Rule: op={shown(self.op)} compares order; fact {shown(self.fact)} allows "
                    "only "
                    "==, !=, in, not in"
                )
        if not isinstance(self.reason, str) or not self.reason or not self.reason.isprintable():
            raise MembershipError(f"Rule: reason={shown(self.reason, 80)} must be printable text")

    def holds(self, facts: Mapping[str, Fact]) -> bool:
        """Whether the rule is met by ``facts`` (a missing fact does not meet it).

        ``facts`` is checked like a directory record (:func:`check_facts`): a value of the
        wrong type is a :class:`MembershipError`, never a comparison of mixed types.
        """
        facts = check_facts(facts)
        if self.fact not in facts:
            return False
        return OPERATORS[self.op](facts[self.fact], self.value)

    def why_not(self, facts: Mapping[str, Fact]) -> str | None:
        """``None`` when the rule holds, else the reason it does not (``facts`` checked as
        in :meth:`holds`)."""
        facts = check_facts(facts)
        if self.fact not in facts:
            return f"{self.fact} unknown"
        return None if OPERATORS[self.op](facts[self.fact], self.value) else self.reason


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to a verification: eligible or not, with every reason for a "no", and the
    version of the organisation's rules that decided it (for an audit trail)."""

    eligible: bool
    reasons: tuple[str, ...] = ()
    rules_version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"eligible": self.eligible, "reasons": list(self.reasons),
                "rules_version": self.rules_version}  # fmt: skip
