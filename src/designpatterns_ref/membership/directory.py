"""The membership directory: who belongs to which organisation, with what facts.

Case study: Design a Membership Benefits & Verification Platform (docs/case-studies/membership-benefits.md)

The source of truth the verifier caches. Every change (:meth:`Directory.join`,
:meth:`Directory.update`, :meth:`Directory.leave`) bumps the record's version and tells each
subscriber which (member, organisation) changed, *after* the change is made, so that a cache
that drops that entry on the call can never serve the old answer again. A subscriber that
raises does not stop the others: every one is called, then the first error reaches the writer
(the change is kept: it was made before the subscribers heard of it).

Thread-safe: the writes (and the version they bump) are made under one lock, and a record is
replaced, never changed in place, so a reader on another thread sees the whole record before
or the whole record after a change. Subscribers are called outside the lock, after the change.
:meth:`Directory.unsubscribe` removes one (a :class:`~.verify.Verifier` removes its own when it
is closed or collected).

Trade-off: push invalidation is exact and immediate but needs every writer to go through the
directory; a TTL alone would be simpler and stale for up to the TTL.

Complexity: O(1) per read or change, plus one call per subscriber on a change.

>>> d = Directory()
>>> seen = []
>>> d.subscribe(lambda m, o: seen.append((m, o)))
>>> d.join("m1", "acme", {"status": "active"})
>>> d.update("m1", "acme", {"tier": "gold"})
>>> d.facts("m1", "acme"), seen
({'status': 'active', 'tier': 'gold'}, [('m1', 'acme'), ('m1', 'acme')])
"""  # noqa: E501

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping

from designpatterns_ref.errors import shown
from designpatterns_ref.membership.base import Fact, MembershipError, check_facts, check_name

__all__ = ["Directory"]

Listener = Callable[[str, str], None]


class Directory:
    """Members' records per organisation, with change notification for caches."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], dict[str, Fact]] = {}
        self._orgs_of: dict[str, set[str]] = {}
        self._version: dict[tuple[str, str], int] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(member, organisation)`` after every change to that record.

        An exception from one listener is raised to the writer only after every other
        listener has been called, so one failing subscriber cannot leave a cache stale.
        """
        if not callable(listener):
            raise MembershipError(f"listener={shown(listener, 80)} must be callable")
        with self._lock:
            self._listeners = [*self._listeners, listener]

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener`` (subscribed twice: one subscription goes).

        A listener that is not subscribed is a :class:`MembershipError`.

        >>> d, seen = Directory(), []
        >>> def listener(member, organisation):
        ...     seen.append(member)
        >>> d.subscribe(listener)
        >>> d.unsubscribe(listener)
        >>> d.join("m1", "acme", {}); seen
        []
        """
        with self._lock:
            if listener not in self._listeners:
                raise MembershipError(f"listener={shown(listener, 80)} is not subscribed")
            kept = list(self._listeners)
            kept.remove(listener)
            self._listeners = kept

    def _changed(self, key: tuple[str, str]) -> None:
        """Call every subscriber; made after the change, outside the lock."""
        failed: BaseException | None = None
        for listener in self._listeners:  # replaced, never changed in place
            try:
                listener(*key)
            except Exception as err:  # the other listeners (a cache) must still hear of it
                failed = failed or err
        if failed is not None:
            raise failed

    def join(self, member: str, organisation: str, facts: Mapping[str, Fact]) -> None:
        """Add ``member`` to ``organisation`` with ``facts`` (refused if already a member)."""
        key = (check_name("member", member), check_name("organisation", organisation))
        clean = check_facts(facts)
        with self._lock:
            if key in self._records:
                raise MembershipError(f"member={shown(member)} is already in {shown(organisation)}")
            self._records[key] = clean
            self._orgs_of.setdefault(member, set()).add(organisation)
            self._bump(key)
        self._changed(key)

    def update(self, member: str, organisation: str, facts: Mapping[str, Fact]) -> None:
        """Set the given facts of an existing membership (others are kept)."""
        key = (check_name("member", member), check_name("organisation", organisation))
        with self._lock:
            self._existing(key)  # a non-member is named before any bad fact
        clean = check_facts(facts)
        with self._lock:
            self._records[key] = {**self._existing(key), **clean}  # a new record: see above
            self._bump(key)
        self._changed(key)

    def leave(self, member: str, organisation: str) -> None:
        """End ``member``'s membership of ``organisation``."""
        key = (check_name("member", member), check_name("organisation", organisation))
        with self._lock:
            self._existing(key)
            del self._records[key]
            self._orgs_of[member].discard(organisation)
            if not self._orgs_of[member]:
                del self._orgs_of[member]
            self._bump(key)
        self._changed(key)

    def _existing(self, key: tuple[str, str]) -> dict[str, Fact]:
        """The record at ``key``, which must exist; called under the lock."""
        record = self._records.get(key)
        if record is None:
            raise MembershipError(f"member={shown(key[0])} is not in organisation={shown(key[1])}")
        return record

    def _bump(self, key: tuple[str, str]) -> None:
        self._version[key] = self._version.get(key, 0) + 1

    def facts(self, member: str, organisation: str) -> dict[str, Fact] | None:
        """A copy of the record's facts, or ``None`` when not a member."""
        key = (check_name("member", member), check_name("organisation", organisation))
        record = self._records.get(key)
        return None if record is None else dict(record)

    def _facts_view(self, member: str, organisation: str) -> Mapping[str, Fact] | None:
        """The record itself (no copy), for the verifier's hot path; do not mutate. A change
        replaces the record, so this one stays whole while a writer works."""
        return self._records.get((member, organisation))

    def version(self, member: str, organisation: str) -> int:
        """How many times the record has changed (0: never existed)."""
        key = (check_name("member", member), check_name("organisation", organisation))
        return self._version.get(key, 0)

    def organisations_of(self, member: str) -> tuple[str, ...]:
        """The organisations ``member`` belongs to, sorted."""
        check_name("member", member)
        with self._lock:
            return tuple(sorted(self._orgs_of.get(member, ())))

    def members(self) -> Iterator[str]:
        """Every member with at least one membership, in joining order."""
        with self._lock:
            return iter(list(self._orgs_of))

    def __len__(self) -> int:
        """The number of memberships (member, organisation pairs)."""
        return len(self._records)
