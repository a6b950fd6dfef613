"""Identities and versions: who made a character or an operation, and what a replica has seen.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

Every character and every delete in a sequence CRDT has an identity ``(agent, seq)``: the agent
that made it and that agent's sequence number, which only grows. A :class:`Version` is the set of
identities a replica has applied, kept per agent as sorted half-open ranges of ``seq`` (a flat
list of boundaries ``[start0, end0, start1, end1, ...]``), so a replica that has seen a million
keystrokes from three agents holds a handful of integers. Two versions compare by inclusion
(``<=``) and merge by union (``|``); :meth:`SequenceReplica.ops_since` uses one to send exactly
what the other side lacks.

Complexity: membership O(log r) for r ranges of that agent; union O(r) (one merge);
inclusion O(r log r); marking one range covered O(log r) plus the splice.

>>> v = Version({"alice": [(0, 5)]})
>>> ("alice", 4) in v, ("alice", 5) in v, ("bob", 0) in v
(True, False, False)
>>> (v | Version({"alice": [(5, 7)]})).ranges()
{'alice': [(0, 7)]}
"""  # noqa: E501

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping

from designpatterns_ref.collab.base import CRDTError
from designpatterns_ref.collab.dellog import MAX_ID
from designpatterns_ref.errors import shown

__all__ = ["Id", "Version"]

Id = tuple[str, int]
"""A character's (or an operation's) identity: the agent that made it and its sequence number."""


# -- known ranges: a flat sorted list of boundaries [start0, end0, start1, end1, ...] -----------
def _gaps(bounds: list[int] | tuple[int, ...], start: int, end: int) -> list[tuple[int, int]]:
    """The parts of ``[start, end)`` not covered by ``bounds``."""
    out = []
    i = bisect_right(bounds, start)
    pos = start
    if i % 2:  # start is inside a covered range
        pos = bounds[i]
        i += 1
    while pos < end:
        stop = bounds[i] if i < len(bounds) else end
        if stop > pos:
            out.append((pos, min(stop, end)))
        if i + 1 >= len(bounds):
            break
        pos = bounds[i + 1]
        i += 2
    return out


def _first_gap(bounds: list[int] | tuple[int, ...], start: int, end: int) -> int | None:
    """The first id of ``[start, end)`` not covered by ``bounds`` (None: all of it is): what
    ``_gaps(bounds, start, end)[0][0]`` is, by one binary search instead of listing every gap
    (ranges that touch are kept as one, so the end of the range holding ``start`` is not
    covered)."""
    if start >= end:
        return None
    i = bisect_right(bounds, start)
    if i % 2 == 0:  # start is not inside a covered range
        return start
    return bounds[i] if bounds[i] < end else None


def _add(bounds: list[int], start: int, end: int) -> None:
    """Mark ``[start, end)`` covered: the ranges it overlaps or touches become one, spliced
    in place of them. Only the boundaries next to the new range are looked at (two binary
    searches), so a range that arrives out of order costs O(log r) plus the splice."""
    if bounds and bounds[-1] == start:
        bounds[-1] = end
        return
    if not bounds or bounds[-1] < start:
        bounds += [start, end]
        return
    lo = bisect_left(bounds, start)  # an end (odd): start is inside or touches that range
    if lo % 2:
        lo -= 1
        start = bounds[lo]
    hi = bisect_right(bounds, end)  # an end (odd): end is inside or touches that range
    if hi % 2:
        end = bounds[hi]
        hi += 1
    bounds[lo:hi] = (start, end)


def _union(a: list[int] | tuple[int, ...], b: list[int] | tuple[int, ...]) -> list[int]:
    """The boundaries covering what ``a`` or ``b`` covers: one merge of the two sorted lists
    of ranges, by start, joining ranges that overlap or touch. O(len(a) + len(b))."""
    out: list[int] = []
    i = j = 0
    na, nb = len(a), len(b)
    while i < na or j < nb:
        if j == nb or (i < na and a[i] <= b[j]):
            start, end = a[i], a[i + 1]
            i += 2
        else:
            start, end = b[j], b[j + 1]
            j += 2
        if out and start <= out[-1]:
            if end > out[-1]:
                out[-1] = end
        else:
            out += (start, end)
    return out


def _overlaps(bounds: list[int] | tuple[int, ...], start: int, end: int) -> bool:
    """Does ``bounds`` cover any of ``[start, end)``?"""
    i = bisect_right(bounds, start)
    return i % 2 == 1 or (i < len(bounds) and bounds[i] < end)


def _covers(bounds: list[int] | tuple[int, ...], seq: int) -> bool:
    return bisect_right(bounds, seq) % 2 == 1


def _is_seq(value: object) -> bool:
    """A sequence number: an int in ``[0, MAX_ID)``, as every operation's ids are."""
    return type(value) is int and 0 <= value < MAX_ID


def _is_range(start: object, end: object) -> bool:
    """Sequence numbers ``start`` .. ``end - 1`` (empty when equal): ``0 <= start <= end <=
    MAX_ID``, ints."""
    return _is_seq(start) and type(end) is int and start <= end <= MAX_ID  # type: ignore[operator]


def check_id(ident: object, name: str = "ident") -> Id:
    """``ident`` if it is an ``(agent, seq)`` pair, else :class:`CRDTError` naming ``name``.

    >>> check_id(("alice", 3))
    ('alice', 3)
    """
    if (
        type(ident) is tuple
        and len(ident) == 2
        and type(ident[0]) is str
        and ident[0] != ""
        and _is_seq(ident[1])
    ):
        return ident
    raise CRDTError(
        f"{name}={shown(ident, 80)} must be an (agent, seq) pair: a non-empty str and an int "
        "0 <= seq < 2**62"
    )


class Version:
    """The set of operation identities a replica has seen: per agent, ranges of ``seq``.

    ``Version({agent: [(start, end), ...]})`` with half-open ranges ``0 <= start < end``.

    >>> Version({"bob": [(3, 4), (0, 2)]}).ranges()
    {'bob': [(0, 2), (3, 4)]}
    """

    __slots__ = ("_bounds",)

    def __init__(self, ranges: Mapping[str, Iterable[tuple[int, int]]] | None = None) -> None:
        if ranges is not None and not isinstance(ranges, Mapping):
            raise CRDTError(
                f"ranges={shown(ranges, 80)} must be a mapping of agent to (start, end) pairs"
            )
        bounds: dict[str, tuple[int, ...]] = {}
        for agent, pairs in (ranges or {}).items():
            if type(agent) is not str or not agent:
                raise CRDTError(f"version agent={shown(agent, 80)} must be a non-empty str")
            try:
                items = list(pairs)
            except TypeError:
                raise CRDTError(
                    f"version ranges of {shown(agent)} ({shown(pairs, 80)}) must be (start, end) "
                    "pairs"
                ) from None
            for pair in items:
                fine = type(pair) in (tuple, list) and len(pair) == 2
                if not (fine and _is_range(pair[0], pair[1]) and pair[0] != pair[1]):
                    raise CRDTError(
                        f"version range {shown(pair, 80)} of {shown(agent)} must be a pair of ints "
                        f"0 <= start < end <= 2**62"
                    )
            flat: list[int] = []
            for start, end in sorted((p[0], p[1]) for p in items):
                _add(flat, start, end)
            if flat:
                bounds[agent] = tuple(flat)
        self._bounds = bounds

    @classmethod
    def _from_bounds(cls, bounds: Mapping[str, list[int]]) -> Version:
        v = cls()
        v._bounds = {a: tuple(b) for a, b in bounds.items() if b}
        return v

    def __contains__(self, ident: object) -> bool:
        if not (type(ident) is tuple and len(ident) == 2 and type(ident[1]) is int):
            return False
        bounds = self._bounds.get(ident[0]) if type(ident[0]) is str else None
        return bounds is not None and _covers(bounds, ident[1])

    def ranges(self) -> dict[str, list[tuple[int, int]]]:
        """``{agent: [(start, end), ...]}``, half-open ranges of ``seq``."""
        return {a: list(zip(b[::2], b[1::2], strict=True)) for a, b in self._bounds.items()}

    def __le__(self, other: Version) -> bool:
        """True when every identity in this version is in ``other``."""
        _check_version(other, "other")
        for agent, mine in self._bounds.items():
            theirs = other._bounds.get(agent, ())
            if any(_gaps(theirs, mine[k], mine[k + 1]) for k in range(0, len(mine), 2)):
                return False
        return True

    def __or__(self, other: Version) -> Version:
        """The union of two versions (what a replica has after merging both)."""
        _check_version(other, "other")
        merged = dict(self._bounds)
        for agent, bounds in other._bounds.items():
            mine = merged.get(agent)
            merged[agent] = bounds if mine is None else tuple(_union(mine, bounds))
        out = Version()
        out._bounds = merged
        return out

    def with_range(self, agent: str, start: int, end: int) -> Version:
        """This version plus ``agent``'s sequence numbers ``start`` .. ``end - 1``.

        >>> Version().with_range("a", 2, 4).ranges()
        {'a': [(2, 4)]}
        """
        if type(agent) is not str or not agent:
            raise CRDTError(f"agent={shown(agent, 80)} must be a non-empty str")
        if not _is_range(start, end):
            raise CRDTError(
                f"start={shown(start, 40)}, end={shown(end, 40)} must be ints 0 <= start <= end <= "
                "2**62"
            )
        bounds = list(self._bounds.get(agent, ()))
        if start < end:
            _add(bounds, start, end)
        out = Version()
        out._bounds = dict(self._bounds)
        if bounds:
            out._bounds[agent] = tuple(bounds)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._bounds == other._bounds

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._bounds.items())))

    def __repr__(self) -> str:
        return f"Version({self.ranges()!r})"


def _check_version(version: object, name: str) -> None:
    if not isinstance(version, Version):
        raise CRDTError(f"{name}={shown(version, 80)} must be a Version")
