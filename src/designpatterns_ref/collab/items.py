"""The chunked, run-length-encoded list of items under every sequence-CRDT replica.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

A run of characters typed left to right is one *item* (run-length encoding) until an edit
splits it; a deleted run stays as a tombstone item. Items live in a doubly linked list of
*chunks* of at most ``MAX_CHUNK`` items, each chunk caching how many visible characters it
holds, with a cursor (a chunk and the position it starts at) and an item hint at the last local
edit, so finding a position costs O(distance in chunks + chunk size) and typing at the cursor
O(1): a keystroke that continues the last run extends its item, which copies the item's text,
so local typing starts a new item rather than grow one past ``MAX_RUN`` code points. An index
from ``(agent, seq)`` to items (per agent, the sorted runs and the pieces each was split into)
finds any character in O(log n). Memory is kept per run, not per character, and small per
run: an item keeps its origins as plain slots rather than pairs, its
Lamport time as an offset shared by its pieces, a run that was never split needs no list of
pieces, and each agent's deletes are columns of machine integers
(:mod:`~designpatterns_ref.collab.dellog`). :class:`ItemList` holds this
structure and nothing about ordering rules or operations; :mod:`~designpatterns_ref.collab.sequence`
builds the replica on top of it.

Complexity: find a character O(log n); seek a visible position O(chunks crossed + chunk size);
split or merge an item O(chunk size); memory O(items), not O(characters).

>>> items = ItemList()
>>> first = items._new_item("a", 0, 0, "hello", None, None)
>>> items._place(items._head, 0, first)
>>> items._find(("a", 3)) is first, items.text()
(True, 'hello')
"""  # noqa: E501

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from operator import attrgetter

from designpatterns_ref.collab.dellog import DeleteLog
from designpatterns_ref.collab.ids import Id, _add

__all__ = ["MAX_CHUNK", "MAX_RUN", "ItemList"]

MAX_CHUNK = 64  # items per chunk before it splits in two
MAX_RUN = 4096  # code points local typing adds to one item before it starts a new one


class _Item:
    """A run of characters typed left to right: ``(agent, seq)`` .. ``seq + len(content) - 1``."""

    # The origins are kept as four plain slots, not two pairs: a pair costs 56 bytes more per run.
    __slots__ = ("agent", "chunk", "content", "deleted", "dl", "la", "ls", "ra", "rs", "run", "seq")

    agent: str
    seq: int
    dl: int  # Lamport time minus seq: the same for every piece of a run (often a shared 0)
    content: str
    deleted: bool
    la: str | None  # left origin: agent ("" for _CHAINED, None for the start) and seq
    ls: int
    ra: str | None  # right origin: agent (None for the end) and seq
    rs: int
    run: list[_Item] | None  # every piece the original insert was split into (None: just this)
    chunk: _Chunk

    @property
    def lamport(self) -> int:
        """The Lamport time of the first character."""
        return self.seq + self.dl

    @property
    def left(self) -> Id | None:
        """The left origin of the first character (_CHAINED: the character before it in the
        run)."""
        la = self.la
        if la is None:
            return None
        return (la, self.ls) if la else _CHAINED

    @left.setter
    def left(self, value: Id | None) -> None:
        if value is None:
            self.la, self.ls = None, -1
        else:
            self.la, self.ls = value

    @property
    def right(self) -> Id | None:
        """The right origin, shared by every character of the run."""
        ra = self.ra
        return None if ra is None else (ra, self.rs)

    @right.setter
    def right(self, value: Id | None) -> None:
        if value is None:
            self.ra, self.rs = None, -1
        else:
            self.ra, self.rs = value


class _Chunk:
    """Up to ``MAX_CHUNK`` consecutive items and how many visible characters they hold."""

    __slots__ = ("items", "next", "prev", "visible")

    def __init__(self) -> None:
        self.items: list[_Item] = []
        self.visible = 0
        self.next: _Chunk | None = None
        self.prev: _Chunk | None = None


# The left origin of a piece cut from a run: the character just before it, of the same agent.
# Stored as this one shared pair instead of a new pair per piece (agents are never empty).
_CHAINED: Id = ("", -1)


def _origin(item: _Item) -> Id | None:
    """The left origin of ``item``'s first character."""
    left = item.left
    return (item.agent, item.seq - 1) if left is _CHAINED else left


_seq_of = attrgetter("seq")


class ItemList:
    """The items of one replica in document order (tombstones included), chunked, with the
    index from identities to items and each agent's log of deletes."""

    def __init__(self) -> None:
        self._head = _Chunk()
        self._tail = self._head
        self._len = 0  # visible characters
        # per agent, the start of every run and the run: its one item, or its pieces once split
        self._runs: dict[str, tuple[list[int], list[_Item | list[_Item]]]] = {}
        self._dels: dict[str, DeleteLog] = {}  # per agent, its deletes
        self._known: dict[str, list[int]] = {}  # per agent, the seq ranges applied
        # per agent, the ids of runs whose right origin was not after their left origin when
        # they arrived (an inconsistent peer): placed and ordered as if they had none
        self._no_right: dict[str, list[int]] = {}
        # a chunk and the visible position it starts at (None: unknown since a remote edit)
        self._cursor: tuple[_Chunk, int] | None = (self._head, 0)
        self._hint: tuple[_Chunk, int, int, int] | None = None  # + an item index and its start
        self._last: _Item | None = None  # the item local typing may extend

    def text(self) -> str:
        """The visible document."""
        return "".join(it.content for c in self._chunks() for it in c.items if not it.deleted)

    def stats(self) -> dict[str, int]:
        """Sizes of the internal structure: characters, items, chunks."""
        chunks = list(self._chunks())
        return {
            "length": self._len,
            "items": sum(len(c.items) for c in chunks),
            "chunks": len(chunks),
        }

    def _record_delete(self, tagent: str, tseq: int, n: int) -> None:
        """Log a local delete of ``n`` characters from ``(tagent, tseq)`` (the replica knows
        its agent and clocks)."""
        raise NotImplementedError

    def _place(self, chunk: _Chunk, i: int, item: _Item) -> None:
        """Put the new visible ``item`` at index ``i`` of ``chunk``."""
        chunk.items.insert(i, item)
        item.chunk = chunk
        chunk.visible += len(item.content)
        self._len += len(item.content)
        if len(chunk.items) > MAX_CHUNK:
            self._split_chunk(chunk)

    def _copy_into(self, twin: ItemList) -> None:
        """Make the empty ``twin`` hold a copy of these items, index and logs."""
        copies: dict[int, _Item] = {}
        prev: _Chunk | None = None
        for chunk in self._chunks():
            c = _Chunk() if prev is not None else twin._head
            c.visible, c.prev = chunk.visible, prev
            if prev is not None:
                prev.next = c
            for it in chunk.items:
                new = _Item()
                new.agent, new.seq, new.dl, new.content = (
                    it.agent,
                    it.seq,
                    it.dl,
                    it.content,
                )
                new.deleted, new.la, new.ls, new.ra, new.rs = it.deleted, it.la, it.ls, it.ra, it.rs
                new.chunk = c
                copies[id(it)] = new
                c.items.append(new)
            prev = c
        twin._tail = prev if prev is not None else twin._head
        for agent_, (starts, runs) in self._runs.items():
            new_runs: list[_Item | list[_Item]] = []
            for run in runs:
                if isinstance(run, list):
                    new_run = [copies[id(it)] for it in run]
                    for it in new_run:
                        it.run = new_run
                    new_runs.append(new_run)
                else:
                    single = copies[id(run)]
                    single.run = None
                    new_runs.append(single)
            twin._runs[agent_] = (list(starts), new_runs)
        twin._dels = {a: log.copy() for a, log in self._dels.items()}
        twin._known = {a: list(b) for a, b in self._known.items()}
        twin._no_right = {a: list(b) for a, b in self._no_right.items()}
        twin._len = self._len

    def _chunks(self) -> Iterator[_Chunk]:
        c: _Chunk | None = self._head
        while c is not None:
            yield c
            c = c.next

    def _seek(self, pos: int) -> tuple[_Chunk, int]:
        """The chunk holding visible position ``pos`` (the last chunk for the end), and the
        visible position it starts at, walking from the cursor."""
        if self._cursor is None:  # start from whichever end is nearer
            if pos < self._len // 2:
                self._cursor = (self._head, 0)
            else:
                self._cursor = (self._tail, self._len - self._tail.visible)
        chunk, start = self._cursor
        while pos < start:
            chunk = chunk.prev  # type: ignore[assignment]
            start -= chunk.visible
        while pos >= start + chunk.visible and chunk.next is not None:
            start += chunk.visible
            chunk = chunk.next
        return chunk, start

    def _locate(self, pos: int) -> tuple[_Chunk, int, int, int]:
        """``(chunk, chunk start, index, item start)`` of the visible item holding ``pos``
        (past any tombstones before it; the index is ``len(items)`` at the end), scanning from
        the hint left by the last local edit when it is near."""
        hint = self._hint
        if hint is not None:
            chunk, start, i, p = hint
            items = chunk.items
            while pos < p and i > 0:
                i -= 1
                item = items[i]
                if not item.deleted:
                    p -= len(item.content)
            if p <= pos:
                count = len(items)
                while i < count:
                    item = items[i]
                    if not item.deleted:
                        n = len(item.content)
                        if pos < p + n:
                            return chunk, start, i, p
                        p += n
                    i += 1
                if chunk.next is None:
                    return chunk, start, i, p
            self._cursor = (chunk, start)
        chunk, start = self._seek(pos)
        i, p = self._index_in(chunk, start, pos)
        return chunk, start, i, p

    @staticmethod
    def _index_in(chunk: _Chunk, start: int, pos: int) -> tuple[int, int]:
        """Index of the visible item holding ``pos`` in ``chunk`` (past any tombstones before
        it) and that item's visible start; ``len(items)`` at the end of the document."""
        items = chunk.items
        p = start
        for i, item in enumerate(items):
            if not item.deleted:
                n = len(item.content)
                if pos < p + n:
                    return i, p
                p += n
        return len(items), p

    def _prev_item(self, chunk: _Chunk) -> _Item | None:
        c = chunk.prev
        while c is not None and not c.items:
            c = c.prev
        return c.items[-1] if c is not None else None

    def _next_item(self, chunk: _Chunk) -> _Item | None:
        c = chunk.next
        while c is not None and not c.items:
            c = c.next
        return c.items[0] if c is not None else None

    def _new_item(
        self, agent: str, seq: int, lamport: int, text: str, left: Id | None, right: Id | None
    ) -> _Item:
        item = _Item()
        item.agent, item.seq, item.dl, item.content = agent, seq, lamport - seq, text
        item.deleted = False
        item.la, item.ls = left if left is not None else (None, -1)
        item.ra, item.rs = right if right is not None else (None, -1)
        item.run = None  # a run of one item needs no list of pieces until it is split
        starts, runs = self._runs.setdefault(agent, ([], []))
        if not starts or starts[-1] < seq:
            starts.append(seq)
            runs.append(item)
        else:
            at = bisect_right(starts, seq)
            starts.insert(at, seq)
            runs.insert(at, item)
        _add(self._known.setdefault(agent, []), seq, seq + len(text))
        return item

    def _find(self, ident: Id) -> _Item | None:
        """The item holding character ``ident``, or None."""
        entry = self._runs.get(ident[0])
        if entry is None:
            return None
        starts, runs = entry
        at = bisect_right(starts, ident[1]) - 1
        if at < 0:
            return None
        run = runs[at]
        if isinstance(run, list):
            item = run[bisect_right(run, ident[1], key=_seq_of) - 1] if len(run) > 1 else run[0]
        else:
            item = run
        return item if ident[1] < item.seq + len(item.content) else None

    def _left_of(self, ident: Id) -> Id | None:
        """The left origin of character ``ident`` (the one before it in its run, or the run's)."""
        item = self._find(ident)
        assert item is not None
        if ident[1] == item.seq and item.left is not _CHAINED:
            return item.left
        return (ident[0], ident[1] - 1)

    def _split(self, item: _Item, k: int, index: int) -> _Item:
        """Cut ``item`` (at ``index`` in its chunk) after ``k`` characters; returns the tail."""
        tail = _Item()
        tail.agent, tail.seq, tail.dl = item.agent, item.seq + k, item.dl
        tail.content, item.content = item.content[k:], item.content[:k]
        tail.deleted, tail.la, tail.ls, tail.ra, tail.rs = item.deleted, "", -1, item.ra, item.rs
        run = item.run
        if run is None:  # the first split of a run: it gets its list of pieces
            run = item.run = [item]
            starts, runs = self._runs[item.agent]
            runs[bisect_right(starts, item.seq) - 1] = run
        tail.run, tail.chunk = run, item.chunk
        run.insert(bisect_right(run, item.seq, key=_seq_of), tail)
        item.chunk.items.insert(index + 1, tail)
        if self._last is item:
            self._last = None
        return tail

    def _merge_left(self, chunk: _Chunk, i: int) -> int:
        """Merge item ``i`` into item ``i - 1`` when they are adjacent pieces of one run in the
        same state; returns the index of the resulting item."""
        if i == 0:
            return i
        a, b = chunk.items[i - 1], chunk.items[i]
        run = b.run
        if (
            run is not None
            and a.run is run
            and a.deleted == b.deleted
            and a.seq + len(a.content) == b.seq
        ):
            a.content += b.content
            del chunk.items[i]
            run.remove(b)
            return i - 1
        return i

    def _split_chunk(self, chunk: _Chunk) -> None:
        self._hint = None
        half = len(chunk.items) // 2
        new = _Chunk()
        new.items = chunk.items[half:]
        del chunk.items[half:]
        for it in new.items:
            it.chunk = new
        new.visible = sum(len(it.content) for it in new.items if not it.deleted)
        chunk.visible -= new.visible
        new.prev, new.next = chunk, chunk.next
        if chunk.next is not None:
            chunk.next.prev = new
        else:
            self._tail = new
        chunk.next = new

    def _log_delete(
        self,
        agent: str,
        seq: int,
        lamport: int,
        tagent: str,
        tseq: int,
        n: int,
        backwards: bool = False,
    ) -> None:
        """Append a delete to ``agent``'s log (:class:`DeleteLog`), extending the last entry
        when it continues it (forward delete, or backspace one character at a time)."""
        log = self._dels.get(agent)
        if log is None:
            log = self._dels[agent] = DeleteLog()
        log.add(seq, lamport, tagent, tseq, n, backwards)

    def _shift_tail(self, chunk: _Chunk, i: int, keep: int) -> bool:
        """Delete all but ``keep`` characters of visible item ``i`` by moving its tail into the
        tombstone after it, when that is the next piece of the same run (a backspace)."""
        items = chunk.items
        if i + 1 == len(items):
            return False
        item, nxt = items[i], items[i + 1]
        n = len(item.content)
        same_run = nxt.run is not None and nxt.run is item.run
        if not (nxt.deleted and same_run and item.seq + n == nxt.seq):
            return False
        k = n - keep
        nxt.content = item.content[keep:] + nxt.content
        item.content = item.content[:keep]
        nxt.seq -= k
        nxt.left = _CHAINED
        chunk.visible -= k
        self._len -= k
        self._record_delete(item.agent, nxt.seq, k)
        return True

    def _shift_head(self, chunk: _Chunk, i: int, k: int) -> bool:
        """Delete the first ``k`` characters of visible item ``i`` by moving them into the
        tombstone before it, when that is the previous piece of the same run."""
        if i == 0:
            return False
        prev, item = chunk.items[i - 1], chunk.items[i]
        same_run = prev.run is not None and prev.run is item.run
        if not (prev.deleted and same_run and prev.seq + len(prev.content) == item.seq):
            return False
        prev.content += item.content[:k]
        item.content = item.content[k:]
        tseq = item.seq
        item.seq += k
        item.left = _CHAINED
        chunk.visible -= k
        self._len -= k
        self._record_delete(item.agent, tseq, k)
        return True

    def _delete_ids(self, agent: str, seq: int, length: int) -> None:
        """Mark characters ``seq`` .. ``seq + length - 1`` of ``agent`` deleted (a remote
        delete; each is known to be a character). The cuts at both ends add items to their
        chunks: a chunk grown past ``MAX_CHUNK`` is split, as a local delete does."""
        end = seq + length
        cut: list[_Chunk] = []
        while seq < end:
            item = self._find((agent, seq))
            assert item is not None, "apply_ops checked that every target is a character"
            chunk = item.chunk
            if seq > item.seq:
                item = self._split(item, seq - item.seq, chunk.items.index(item))
                cut.append(chunk)
            if item.seq + len(item.content) > end:
                self._split(item, end - item.seq, chunk.items.index(item))
                cut.append(chunk)
            if not item.deleted:
                item.deleted = True
                chunk.visible -= len(item.content)
                self._len -= len(item.content)
            seq = item.seq + len(item.content)
        for chunk in cut:
            if len(chunk.items) > MAX_CHUNK:
                self._split_chunk(chunk)
