"""Placing remote operations: the integration core under every sequence-CRDT replica.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

A remote insert is a run typed between a left origin and a right origin. To place it, find the
left origin (splitting its item if the origin is inside a run), find the right origin, and
scan the items between them: an item typed concurrently at the same place is put in order by
the replica's *ordering rule* (:meth:`Integrator._order`, answering ``_BREAK``, ``_SKIP`` or
``_MAYBE``), the same at every replica, and the run goes where the scan stops. A remote delete
marks its target range as tombstones and logs itself. An operation whose left origin, right
origin or target has not arrived is not applied: :meth:`Integrator._apply_one` returns False and
the replica keeps it waiting. :class:`Integrator` holds only this; the replica
(:mod:`~designpatterns_ref.collab.sequence`) adds identities, local edits and the exchange of
operations, and the rules (:mod:`~designpatterns_ref.collab.rga`,
:mod:`~designpatterns_ref.collab.fugue`, :mod:`~designpatterns_ref.collab.fuguemax`) add
``_order``.

Trade-off: the scan is the price of placing without coordination; it is short unless many
runs were typed concurrently at one place. Complexity: O(log n) to find each origin, plus
O(k) for the k concurrent items the scan meets, plus O(chunk size) to split or place.

>>> from designpatterns_ref.collab.rga import RGAReplica
>>> from designpatterns_ref.collab.ops import Insert
>>> doc = RGAReplica("me")
>>> doc._apply_one(Insert("bob", 1, 1, "!", ("bob", 0), None))  # its origin has not arrived
False
>>> doc._apply_one(Insert("bob", 0, 0, "hi", None, None)), doc.text()
(True, 'hi')
"""  # noqa: E501

from __future__ import annotations

from bisect import bisect_right
from typing import ClassVar

from designpatterns_ref.collab.ids import Id, _add, _covers, _first_gap, _gaps
from designpatterns_ref.collab.items import MAX_CHUNK, ItemList, _Chunk, _Item, _origin
from designpatterns_ref.collab.ops import Insert, Op

__all__ = ["Integrator"]

_BREAK, _SKIP, _MAYBE = 0, 1, 2  # what the ordering rule says about one item while scanning


class Integrator(ItemList):
    """The items of a replica and the placement of remote operations in them; see the module
    docstring. Subclasses give the ordering rule."""

    uses_right: ClassVar[bool] = False  # does the rule compare right origins?
    _lamport: int  # the highest Lamport time seen (set by the replica)

    def _order(self, new: _Item, other: _Item, right_cmp: int) -> int:
        """The ordering rule, asked about ``other``, an item with the same left origin as
        ``new``: ``_BREAK`` (insert before it), ``_SKIP`` (insert after it) or ``_MAYBE``
        (after it only if nothing later says before). ``right_cmp`` compares ``other``'s right
        reference (:meth:`_right_ref`) with ``new``'s: -1 before, 0 same, 1 after (computed
        only when :attr:`uses_right`)."""
        raise NotImplementedError

    def _right_ref(self, item: _Item) -> Id | None:
        """The right origin the rule compares: the item's own, unless the rule says otherwise,
        or none when it was not after the item's left origin (see :meth:`_integrate`)."""
        no_right = self._no_right
        if no_right and _covers(no_right.get(item.agent, ()), item.seq):
            return None
        return item.right

    def _integrate(self, new: _Item, left: Id | None, right: Id | None) -> None:
        """Place the remote run ``new`` between its origins ``left`` and ``right`` (its own,
        passed in to save building them again), where the rule says.

        A consistent peer's right origin comes after its left origin, and the right origin's
        own left origin comes at or before the left origin (:meth:`_consistent`): the author
        saw nothing between the two; and the run's Lamport time is past the right origin's,
        which the author held. A right origin that breaks any of these (an inconsistent or
        hostile peer; these origins are in the operation's causal past, and every replica
        holds them in the same order, so every replica decides the same) is disregarded:
        the run is placed, and ordered against its siblings, as if it had no
        right origin, and remembered as such (``_no_right``). Scanning up to a right origin
        whose own left origin lies between the two would order the run by whether a
        concurrent sibling arrived before or after it, and replicas would disagree; so would
        RGA replicas, which put a run after every newer sibling, were the run to stop at a
        right origin that is one. The piece is still cut at it, as every operation cuts at
        its origins.

        The verdict belongs to the whole run as its author typed it, not to the piece that
        arrives: a run relayed in parts (a replica that held its head sends only the tail)
        must be placed as one that arrived whole. A piece that continues its agent's previous
        character (its left origin) takes that character's verdict when it was disregarded
        (:meth:`_continues_disregarded`); when it was honoured, the piece passes the checks
        too, as its head did (its origins lie in the same order, its Lamport time is later)."""
        lit: _Item | None = None
        if left is None:
            chunk, i = self._head, 0
        else:
            lit = self._find(left)
            assert lit is not None
            chunk = lit.chunk
            i = chunk.items.index(lit)
            if left[1] < lit.seq + len(lit.content) - 1:
                self._split(lit, left[1] - lit.seq + 1, i)
            i += 1
        stop: _Item | None = None
        cut: _Chunk | None = None  # the chunk cut at the right origin
        if right is not None:
            stop = self._find(right)
            assert stop is not None
            if right[1] > stop.seq:
                c, held = stop.chunk, stop
                stop = self._split(stop, right[1] - stop.seq, c.items.index(stop))
                cut = c
                if held is lit:  # the right origin was inside the left origin's piece: the
                    lit = stop  # left origin is in the tail now, and the right is not after it
                if c is chunk and lit is not None and c.items[i - 1] is not lit:
                    i = c.items.index(lit) + 1  # the cut was at or before the left origin
            if self._continues_disregarded(new, left) or not self._consistent(
                new, lit, stop, right, left, chunk, i
            ):
                stop = None
                _add(self._no_right.setdefault(new.agent, []), new.seq, new.seq + len(new.content))
        while i == len(chunk.items) and chunk.next is not None:
            chunk, i = chunk.next, 0
        if i < len(chunk.items) and chunk.items[i] is not stop:
            chunk, i = self._scan(new, chunk, i, stop)
        self._place(chunk, i, new)  # splits the chunk it places in when it is full
        if cut is not None and len(cut.items) > MAX_CHUNK:
            self._split_chunk(cut)

    def _continues_disregarded(self, new: _Item, left: Id | None) -> bool:
        """Does ``new`` continue its agent's previous character (its left origin), whose
        right origin was disregarded? Then so is its own: the two may be one run typed at
        once, which another replica received whole and judged by its first character."""
        if left is None or left[0] != new.agent or left[1] != new.seq - 1:
            return False
        return _covers(self._no_right.get(new.agent, ()), left[1])

    def _consistent(
        self,
        new: _Item,
        lit: _Item | None,
        stop: _Item,
        right: Id,
        left: Id | None,
        chunk: _Chunk,
        i: int,
    ) -> bool:
        """Could a peer have typed ``new`` between these origins? ``lit`` is the left
        origin's piece (None for the start), ending at the left origin; ``i`` its index + 1
        in ``chunk``; ``stop`` the right origin's piece, starting at ``right``.

        The author held the right origin, so its clock was past the right origin's Lamport
        time; it saw nothing between its two origins, so the right origin comes after the
        left one, and the right origin's own left origin (which the author held too) comes at
        or before the left one. Items only ever go in between existing ones, so every replica
        that holds the three answers the same."""
        if new.seq + new.dl <= stop.seq + stop.dl:  # a Lamport time not past the right origin's
            return False
        if lit is not None and not self._at_or_after(stop, chunk, i):
            return False
        rl = self._left_of(right)
        if rl is None or rl == left:
            return True
        if lit is None:  # typed at the start, before a character that has one before it
            return False
        held = self._find(rl)
        assert held is not None
        return held is lit or not self._at_or_after(held, chunk, i)

    @staticmethod
    def _at_or_after(item: _Item, chunk: _Chunk, i: int) -> bool:
        """Is ``item`` at index ``i`` of ``chunk`` or after it in document order? Walks the
        chunks both ways from ``chunk`` at once, so it costs the distance between them."""
        target = item.chunk
        if target is chunk:
            items = chunk.items
            if i < len(items) and items[i] is item:
                return True
            return item in items[i:]
        ahead, behind = chunk.next, chunk.prev
        while ahead is not None or behind is not None:
            if ahead is target:
                return True
            if behind is target:
                return False
            if ahead is not None:
                ahead = ahead.next
            if behind is not None:
                behind = behind.prev
        raise AssertionError("every item is in a chunk")

    def _scan(self, new: _Item, chunk: _Chunk, i: int, stop: _Item | None) -> tuple[_Chunk, int]:
        """Walk right from the left origin over concurrent items, asking the rule where ``new``
        goes; returns the (chunk, index) to insert at. Stops at the right origin ``stop``."""
        seen: list[tuple[_Item, _Chunk, int]] = []  # items explored so far, in order
        rank: dict[int, int] = {}
        at_chunk, at = chunk, i  # the next item to explore

        def explore() -> bool:  # add the next item to `seen`; False at `stop` or the end
            nonlocal at_chunk, at
            while at == len(at_chunk.items):
                if at_chunk.next is None:
                    return False
                at_chunk, at = at_chunk.next, 0
            item = at_chunk.items[at]
            if item is stop:
                return False
            rank[id(item)] = len(seen)
            seen.append((item, at_chunk, at))
            at += 1
            return True

        rn = self._right_ref(new) if self.uses_right else None

        def right_cmp(other: _Item) -> int:
            ro = self._right_ref(other)
            if ro == rn:
                return 0
            if ro is None:
                return 1
            if rn is None:
                return -1
            found = self._find(ro)
            if found is stop:
                return 1
            while id(found) not in rank:
                if not explore():
                    return 1
            return -1

        k, dest, scanning = 0, 0, False
        while True:
            if not scanning:
                dest = k
            if k == len(seen) and not explore():
                break
            other = seen[k][0]
            other_left = _origin(other)
            if other_left == new.left:
                verdict = self._order(new, other, right_cmp(other) if self.uses_right else 0)
                if verdict == _BREAK:
                    break
                scanning = verdict == _MAYBE
            elif other_left is None or rank.get(id(self._find(other_left)), k) >= k:
                break  # other's left origin is before ours: we are past our siblings
            k += 1
        if dest < len(seen):
            return seen[dest][1], seen[dest][2]
        return at_chunk, at

    # -- applying one remote operation --------------------------------------------------------
    def _apply_one(self, op: Op) -> bool:
        """Apply one checked operation; False when something it depends on has not arrived."""
        known_map = self._known
        agent, seq = op.agent, op.seq
        known = known_map.get(agent)
        is_insert = type(op) is Insert
        n = len(op.text) if is_insert else op.length  # type: ignore[union-attr]
        if not known or seq >= known[-1]:  # the usual case: all of it is new
            known, gaps = [], [(seq, seq + n)]
        elif _first_gap(known, seq, seq + n) is None:
            return True  # a duplicate
        else:  # a delete lists its gaps once its target is known: a retry costs O(log r)
            gaps = _gaps(known, seq, seq + n) if is_insert else []
        if is_insert:
            right = op.right  # type: ignore[union-attr]
            if right is not None and not _covers(known_map.get(right[0], ()), right[1]):
                return False
            pieces = []
            for s, e in gaps:
                k = s - seq
                left = op.left if k == 0 else (agent, s - 1)  # type: ignore[union-attr]
                if left is not None and not _covers(known_map.get(left[0], ()), left[1]):
                    return False
                pieces.append((s, k, e - seq, left))
            for s, k, end, left in pieces:
                text = op.text if k == 0 and end == n else op.text[k:end]  # type: ignore[union-attr]
                self._integrate(
                    self._new_item(agent, s, op.lamport + k, text, left, right), left, right
                )
        else:
            tagent, tseq = op.target  # type: ignore[union-attr]
            length = n
            tbounds = known_map.get(tagent)
            if tbounds is None:
                return False
            i = bisect_right(tbounds, tseq)  # the whole target inside one known range?
            if not (i & 1 and tbounds[i] >= tseq + length):
                return False
            self._delete_ids(tagent, tseq, length)
            if not gaps:
                gaps = _gaps(known, seq, seq + n)
            mine = known_map.get(agent)
            if mine is None:
                mine = known_map[agent] = []
            for s, e in gaps:
                _add(mine, s, e)
                k = s - seq
                back = op.backwards  # type: ignore[union-attr]
                lo = tseq + (seq + length - e if back else k)
                self._log_delete(agent, s, op.lamport + k, tagent, lo, e - s, back)
        if op.lamport + n - 1 > self._lamport:
            self._lamport = op.lamport + n - 1
        return True
