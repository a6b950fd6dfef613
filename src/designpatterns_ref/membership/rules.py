"""An organisation's eligibility rules as data, evaluated with every reason for a "no".

Case study: Design a Membership Benefits & Verification Platform (docs/case-studies/membership-benefits.md)

A :class:`RuleSet` belongs to one organisation and has a version: ``common`` rules every
benefit needs (an active, paid-up membership, say) and, per benefit, its own rules (gold tier,
twelve months of membership, aged 18 or over). :func:`evaluate` checks *all* of them and returns
a :class:`~designpatterns_ref.membership.base.Decision` whose reasons list every rule that
failed, in the order written, so a member told "no" learns everything to fix at once.

Trade-off: rules as data are limited to what the operators say (no arbitrary code), which is
exactly what makes them reviewable, versionable and safe to load from a partner's file.

Complexity: O(r + f) per evaluation for r rules (each a dict lookup and one comparison) and
f facts (each checked for its type, so a rule never compares mixed types); the rules are
checked once when the set is built, never while evaluating.

>>> rs = RuleSet("acme", 1, common=(Rule("status", "==", "active", "membership not active"),),
...              benefits={"lounge": (Rule("tier", "==", "gold", "gold tier only"),)})
>>> evaluate(rs, "lounge", {"status": "lapsed", "tier": "blue"}).reasons
('membership not active', 'gold tier only')
>>> evaluate(rs, "lounge", None).reasons
('not a member of acme',)
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from designpatterns_ref.errors import shown
from designpatterns_ref.membership.base import (
    OPERATORS,
    Decision,
    Fact,
    MembershipError,
    Rule,
    check_facts,
    check_name,
)

__all__ = ["RuleSet", "evaluate"]

_MAX_VERSION = 2**31 - 1  # a rule set's version fits a signed 32-bit column


class _Benefits(dict[str, tuple[Rule, ...]]):
    """A read-only dict: a rule set's benefits cannot change under the plans built from them.

    Still a dict, so a rule set copies, pickles and goes through ``dataclasses.asdict``.
    """

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        key = f" (key {shown(args[0], 60)})" if args and not isinstance(args[0], dict) else ""
        raise TypeError(
            f"a RuleSet's benefits are read-only{key}: build a new RuleSet with the benefits "
            "you want"
        )

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = __ior__ = _refuse

    def __reduce__(self) -> tuple[type[_Benefits], tuple[dict[str, tuple[Rule, ...]]]]:
        return type(self), (dict(self),)


@dataclass(frozen=True)
class RuleSet:
    """One organisation's rules: ``common`` to every benefit, then each benefit's own.

    Immutable: ``benefits`` is a read-only copy of the mapping given (changing it would leave
    :func:`evaluate` on the rules checked when the set was built). Hashable, consistently with
    equality, so a rule set can key a dict or a cache.
    """

    organisation: str
    version: int
    common: tuple[Rule, ...] = ()
    benefits: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    _plans: dict[str, tuple[tuple[str, Any, Any, str], ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        check_name("organisation", self.organisation)
        if (
            isinstance(self.version, bool)
            or not isinstance(self.version, int)
            or not 0 <= self.version <= _MAX_VERSION
        ):
            raise MembershipError(
                f"RuleSet: version={shown(self.version, 40)} must be an int >= 0 and "
                f"<= {_MAX_VERSION} (2**31 - 1)"
            )
        if not isinstance(self.common, tuple) or not all(isinstance(r, Rule) for r in self.common):
            raise MembershipError(
                f"RuleSet: common={shown(self.common, 80)} must be a tuple of Rules"
            )
        if not isinstance(self.benefits, Mapping) or not self.benefits:
            raise MembershipError(
                f"RuleSet: benefits={shown(self.benefits, 80)} must be a non-empty mapping of "
                "benefit names to tuples of Rules"
            )
        benefits = dict(self.benefits)
        for name, rules in benefits.items():
            check_name("benefit", name)
            if not isinstance(rules, tuple) or not all(isinstance(r, Rule) for r in rules):
                raise MembershipError(
                    f"RuleSet: benefits[{shown(name)}]={shown(rules, 80)} must be a tuple of Rules"
                )
        object.__setattr__(self, "benefits", _Benefits(benefits))  # frozen, like the rest
        for name, rules in benefits.items():  # precompute: (fact, test, value, reason)
            self._plans[name] = tuple(
                (r.fact, OPERATORS[r.op], r.value, r.reason) for r in (*self.common, *rules)
            )

    def __hash__(self) -> int:
        """Equal rule sets hash alike: the benefits count as their set of (name, rules) pairs,
        as dict equality ignores their order (the generated hash would hash the dict and fail)."""
        return hash(
            (self.organisation, self.version, self.common, frozenset(self.benefits.items()))
        )

    def rules_for(self, benefit: str) -> tuple[Rule, ...]:
        """Every rule ``benefit`` needs, common ones first."""
        return (*self.common, *self.benefits[self.check_benefit(benefit)])

    def check_benefit(self, benefit: object) -> str:
        """``benefit`` if this organisation offers it, else :class:`MembershipError`."""
        if not isinstance(benefit, str) or benefit not in self.benefits:
            raise MembershipError(
                f"benefit={shown(benefit, 80)} is not offered by {self.organisation}; "
                f"allowed: {sorted(self.benefits)}"
            )
        return benefit


def evaluate(ruleset: RuleSet, benefit: str, facts: Mapping[str, Fact] | None) -> Decision:
    """Whether a member with ``facts`` (``None``: not a member) may have ``benefit``.

    Every failing rule contributes its reason; a missing fact gives "<fact> unknown".
    ``facts`` is checked like a directory record (known fact names, each value of its fact's
    type, see :func:`~designpatterns_ref.membership.base.check_facts`): ``{"months": "12"}``
    or ``{"months": True}`` is a :class:`MembershipError`, never a comparison of mixed types.
    """
    if not isinstance(ruleset, RuleSet):
        raise MembershipError(f"ruleset={shown(ruleset, 80)} must be a RuleSet")
    if not isinstance(benefit, str) or benefit not in ruleset._plans:
        ruleset.check_benefit(benefit)
    if facts is None:
        return Decision(False, (f"not a member of {ruleset.organisation}",), ruleset.version)
    if not isinstance(facts, Mapping):
        raise MembershipError(f"facts={shown(facts, 80)} must be a mapping or None")
    return _decide(ruleset, benefit, check_facts(facts))


def _decide(ruleset: RuleSet, benefit: str, facts: Mapping[str, Fact] | None) -> Decision:
    """:func:`evaluate` for a known benefit and facts already checked (the verifier's records)."""
    if facts is None:
        return Decision(False, (f"not a member of {ruleset.organisation}",), ruleset.version)
    reasons = []
    for fact, test, value, reason in ruleset._plans[benefit]:
        if fact not in facts:
            reasons.append(f"{fact} unknown")
        elif not test(facts[fact], value):
            reasons.append(reason)
    return Decision(not reasons, tuple(reasons), ruleset.version)
