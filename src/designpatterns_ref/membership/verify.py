"""One verification API, ``verify(member, organisation, benefit)``, cached and invalidated.

Case study: Design a Membership Benefits & Verification Platform (docs/case-studies/membership-benefits.md)

:class:`Verifier` answers from a cache keyed by (member, organisation, benefit). It subscribes
to the :class:`~designpatterns_ref.membership.directory.Directory`, and each change to a
membership drops that membership's cached answers *before* the change returns to its writer,
so an answer is never served stale after the change. Replacing an organisation's rules
(:meth:`Verifier.set_rules`) drops every answer for that organisation.

Thread-safe, and never stale under threads either: a miss reads the membership's *generation*
(bumped by every :meth:`Verifier.invalidate`) before it reads the record, and stores its answer
only if the generation is unchanged (and the rules are the ones it used), so an answer computed
from a record that changed meanwhile is returned to its caller but never cached. The cache, its
index and the generations are written under one lock; the directory is read outside it.

The directory holds the verifier weakly: a verifier that is no longer used is collected, and
its subscription goes with it; :meth:`Verifier.close` ends it at once (the verifier then
answers uncached).

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

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from designpatterns_ref.errors import shown
from designpatterns_ref.membership.base import Decision, MembershipError, check_name
from designpatterns_ref.membership.directory import Directory
from designpatterns_ref.membership.rules import RuleSet, _decide

__all__ = ["CacheStats", "Verifier"]


@dataclass
class CacheStats:
    """Hits, misses and dropped entries since the verifier was made.

    Misses and drops are counted under the verifier's lock; hits are not, to keep a hit one
    dict lookup, so with several threads a hit can go uncounted (never an answer wrong).
    """

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
        self._generation: dict[tuple[str, str], int] = {}  # invalidations per membership
        self._lock = threading.Lock()
        self._closed = False
        listener = _weak_listener(weakref.WeakMethod(self.invalidate))
        directory.subscribe(listener)
        self._unsubscribe = weakref.finalize(self, _unsubscribe, directory, listener)
        self._unsubscribe.atexit = False

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
            self.stats.hits += 1  # outside the lock: see CacheStats
            return hit
        check_name("member", member)
        ruleset = self.rules(organisation)
        ruleset.check_benefit(benefit)
        membership = (member, organisation)
        generation = self._generation.get(membership, 0)  # read before the record: see above
        # the directory's records are checked when written: no need to check them again
        decision = _decide(ruleset, benefit, self.directory._facts_view(member, organisation))
        with self._lock:
            self.stats.misses += 1
            if (
                self.cached
                and not self._closed
                and self._generation.get(membership, 0) == generation
                and self._rules.get(organisation) is ruleset
            ):
                self._store(key, decision)
        return decision

    def _store(self, key: tuple[str, str, str], decision: Decision) -> None:
        """Cache ``decision``, evicting the oldest entry when full; called under the lock."""
        if key not in self._cache and len(self._cache) >= self.max_entries:
            old = next(iter(self._cache))
            del self._cache[old]
            benefits = self._index[old[:2]]
            benefits.discard(old[2])
            if not benefits:  # else the index outgrows the bounded cache
                del self._index[old[:2]]
        self._cache[key] = decision
        self._index.setdefault(key[:2], set()).add(key[2])

    def invalidate(self, member: str, organisation: str) -> None:
        """Drop every cached answer about ``member`` in ``organisation``, and keep any answer
        being worked out from the old record from being cached."""
        check_name("member", member)
        check_name("organisation", organisation)
        with self._lock:
            self._drop((member, organisation))

    def _drop(self, membership: tuple[str, str]) -> None:
        """:meth:`invalidate`, under the lock."""
        self._generation[membership] = self._generation.get(membership, 0) + 1
        for benefit in self._index.pop(membership, ()):
            if self._cache.pop((*membership, benefit), None) is not None:
                self.stats.invalidated += 1

    def set_rules(self, ruleset: RuleSet) -> None:
        """Replace (or add) an organisation's rules and drop its cached answers."""
        if not isinstance(ruleset, RuleSet):
            raise MembershipError(f"ruleset={shown(ruleset, 80)} must be a RuleSet")
        with self._lock:
            self._rules[ruleset.organisation] = ruleset
            for membership in [k for k in self._index if k[1] == ruleset.organisation]:
                self._drop(membership)

    def clear(self) -> None:
        """Drop every cached answer."""
        with self._lock:
            self.stats.invalidated += len(self._cache)
            self._cache.clear()
            self._index.clear()

    def close(self) -> None:
        """Stop listening to the directory and drop every cached answer; the verifier then
        answers uncached (so never stale). Closing twice is harmless.

        >>> from designpatterns_ref.membership.data import sample_directory
        >>> d, rules = sample_directory()
        >>> v = Verifier(d, rules)
        >>> v.close()
        >>> v.verify("m0001", "northwind-union", "legal-advice").eligible, len(v)
        (True, 0)
        """
        self._unsubscribe()
        with self._lock:
            self._closed = True
        self.clear()

    def __len__(self) -> int:
        """The number of cached answers."""
        return len(self._cache)


def _unsubscribe(directory: Directory, listener: Callable[[str, str], None]) -> None:
    """Take ``listener`` off ``directory``, if it is still on."""
    with contextlib.suppress(MembershipError):
        directory.unsubscribe(listener)


def _weak_listener(
    invalidate: weakref.WeakMethod[Callable[[str, str], None]],
) -> Callable[[str, str], None]:
    """A directory listener that does not keep its verifier alive."""

    def listener(member: str, organisation: str) -> None:
        method = invalidate()
        if method is not None:
            method(member, organisation)

    return listener
