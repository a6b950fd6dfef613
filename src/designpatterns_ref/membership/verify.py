"""One verification API, ``verify(member, organisation, benefit)``, cached and invalidated.

Case study: Design a Membership Benefits & Verification Platform (docs/case-studies/membership-benefits.md)

:class:`Verifier` answers from a cache keyed by (member, organisation, benefit). It subscribes
to the :class:`~designpatterns_ref.membership.directory.Directory`, and each change to a
membership drops that membership's cached answers *before* the change returns to its writer,
so an answer is never served stale after the change. Replacing an organisation's rules
(:meth:`Verifier.set_rules`) drops every answer for that organisation.

Trade-off: explicit invalidation is exact, but needs an index from a membership to its cached
benefits (more memory) and every writer to go through the directory. ``cache=False`` gives the
plain uncached path, which the tests use as the reference.

Complexity: a hit is one dict lookup; a miss evaluates the rules (O(r)); an invalidation is
O(benefits cached for that membership).

>>> from designpatterns_ref.membership.data import sample_directory
>>> d, rules = sample_directory()
>>> v = Verifier(d, rules)
>>> v.verify("m0001", "northwind-union", "legal-advice").eligible
True
>>> d.update("m0001", "northwind-union", {"dues_paid": False})
>>> v.verify("m0001", "northwind-union", "legal-advice").reasons
('dues not paid',)
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from designpatterns_ref.errors import shown
from designpatterns_ref.membership.base import Decision, MembershipError, check_name
from designpatterns_ref.membership.directory import Directory
from designpatterns_ref.membership.rules import RuleSet, _decide

__all__ = ["CacheStats", "Verifier"]


@dataclass
class CacheStats:
    """Hits, misses and dropped entries since the verifier was made."""

    hits: int = 0
    misses: int = 0
    invalidated: int = 0


class Verifier:
    """``verify(member, organisation, benefit)`` over a directory and per-organisation rules.

    ``rules`` holds one :class:`RuleSet` per organisation: an iterable of them, or a mapping
    from each organisation's name to its rule set. Two for one organisation, or a key naming
    another organisation than its rule set, is a :class:`MembershipError`.
    """

    def __init__(
        self,
        directory: Directory,
        rules: Mapping[str, RuleSet] | Iterable[RuleSet],
        *,
        cache: bool = True,
        max_entries: int = 1_000_000,
    ) -> None:
        if not isinstance(directory, Directory):
            raise MembershipError(f"directory={shown(directory, 80)} must be a Directory")
        if isinstance(rules, Mapping):
            for key, rs in rules.items():
                if isinstance(rs, RuleSet) and key != rs.organisation:
                    raise MembershipError(
                        f"rules[{shown(key, 80)}] is the rule set of "
                        f"{shown(rs.organisation, 80)}: a key must name its rule set's organisation"
                    )
            rules = list(rules.values())
        if isinstance(rules, str | bytes) or not isinstance(rules, Iterable):
            raise MembershipError(f"rules={shown(rules, 80)} must be RuleSets")
        found = list(rules)
        if not found or not all(isinstance(r, RuleSet) for r in found):
            raise MembershipError(f"rules={shown(found, 80)} must be a non-empty list of RuleSets")
        by_organisation: dict[str, RuleSet] = {}
        for rs in found:
            if rs.organisation in by_organisation:
                raise MembershipError(
                    f"rules hold two rule sets for organisation {shown(rs.organisation, 80)}; "
                    "give one each (replace one later with set_rules)"
                )
            by_organisation[rs.organisation] = rs
        if not isinstance(cache, bool):
            raise MembershipError(f"cache={shown(cache, 40)} must be True or False")
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise MembershipError(f"max_entries={shown(max_entries, 40)} must be an int >= 1")
        self.directory = directory
        self._rules = by_organisation
        self.cached = cache
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._cache: dict[tuple[str, str, str], Decision] = {}
        self._index: dict[tuple[str, str], set[str]] = {}
        directory.subscribe(self.invalidate)

    @property
    def organisations(self) -> tuple[str, ...]:
        """The organisations with rules, sorted."""
        return tuple(sorted(self._rules))

    def rules(self, organisation: str) -> RuleSet:
        """``organisation``'s rule set."""
        rs = self._rules.get(organisation) if isinstance(organisation, str) else None
        if rs is None:
            raise MembershipError(
                f"organisation={shown(organisation, 80)} is unknown; allowed: {sorted(self._rules)}"
            )
        return rs

    def verify(self, member: str, organisation: str, benefit: str) -> Decision:
        """Whether ``member`` may have ``organisation``'s ``benefit``, with every reason if not."""
        key = (member, organisation, benefit)
        try:
            hit = self._cache.get(key) if self.cached else None
        except TypeError:  # an unhashable argument: refused by the checks below
            hit = None
        if hit is not None:
            self.stats.hits += 1
            return hit
        check_name("member", member)
        ruleset = self.rules(organisation)
        ruleset.check_benefit(benefit)
        # the directory's records are checked when written: no need to check them again
        decision = _decide(ruleset, benefit, self.directory._facts_view(member, organisation))
        self.stats.misses += 1
        if self.cached:
            if len(self._cache) >= self.max_entries:  # evict the oldest entry
                old = next(iter(self._cache))
                del self._cache[old]
                benefits = self._index[old[:2]]
                benefits.discard(old[2])
                if not benefits:  # else the index outgrows the bounded cache
                    del self._index[old[:2]]
            self._cache[key] = decision
            self._index.setdefault((member, organisation), set()).add(benefit)
        return decision

    def invalidate(self, member: str, organisation: str) -> None:
        """Drop every cached answer about ``member`` in ``organisation``."""
        check_name("member", member)
        check_name("organisation", organisation)
        for benefit in self._index.pop((member, organisation), ()):
            if self._cache.pop((member, organisation, benefit), None) is not None:
                self.stats.invalidated += 1

    def set_rules(self, ruleset: RuleSet) -> None:
        """Replace (or add) an organisation's rules and drop its cached answers."""
        if not isinstance(ruleset, RuleSet):
            raise MembershipError(f"ruleset={shown(ruleset, 80)} must be a RuleSet")
        self._rules[ruleset.organisation] = ruleset
        for key in [k for k in self._index if k[1] == ruleset.organisation]:
            self.invalidate(*key)

    def clear(self) -> None:
        """Drop every cached answer."""
        self.stats.invalidated += len(self._cache)
        self._cache.clear()
        self._index.clear()

    def __len__(self) -> int:
        """The number of cached answers."""
        return len(self._cache)
