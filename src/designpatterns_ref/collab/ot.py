"""Operational transformation: text operations, their composition and transformation.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

An edit is a :class:`TextOperation`, a walk over the whole document made of three kinds of
component: *retain n* (skip n code points), *insert s* and *delete n*. Two users who edit the
same revision concurrently produce operations ``a`` and ``b``; ``transform(a, b)`` returns
``(a2, b2)`` such that applying ``a`` then ``b2`` gives the same text as ``b`` then ``a2``
(the transformation property TP1). When both insert at the same place, ``a``'s text goes first.
:func:`compose_all` folds consecutive operations into one. The central server and the client
state machine that use them (:class:`OTServer`, :class:`OTClient`, :class:`Message`,
:class:`Entry`) are in :mod:`~designpatterns_ref.collab.otserver` and stay importable from here.

Trade-off: simple and compact (an operation is a handful of components, the document a plain
string), but TP1 alone is only enough along one linear history, so every edit goes through one
server (:mod:`~designpatterns_ref.collab.otserver`). CRDTs
(:mod:`designpatterns_ref.collab.crdt`) drop the server at the price of metadata per character
run.

Complexity: ``apply``, ``compose``, ``transform`` and ``invert`` are O(components + edited
text) plus the string copy of ``apply``.

>>> a = TextOperation.from_patch(5, 5, 0, "!")      # "hello" -> "hello!"
>>> b = TextOperation.from_patch(5, 0, 1, "J")      # "hello" -> "Jello"
>>> a2, b2 = TextOperation.transform(a, b)
>>> b2.apply(a.apply("hello")), a2.apply(b.apply("hello"))
('Jello!', 'Jello!')
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Iterable, Sequence

from designpatterns_ref.collab.base import OTError
from designpatterns_ref.errors import shown

__all__ = ["Entry", "Message", "OTClient", "OTServer", "TextOperation", "compose_all"]

Component = int | str  # retain n > 0, delete n < 0 (stored negative), insert str


def _check_count(name: str, n: object) -> int:
    if type(n) is not int or n < 0:
        raise OTError(f"{name}={shown(n, 80)} must be a non-negative int")
    return n


def _check_text(name: str, text: object) -> str:
    if not isinstance(text, str):
        raise OTError(f"{name}={shown(text, 80)} must be a str")
    return text


def _exact_str(s: str) -> str:
    """``s`` as an exact ``str``: a subclass (markupsafe.Markup, numpy.str_) stored as a
    component would not be recognised as an insert by :meth:`TextOperation.transform`."""
    return s if type(s) is str else str.__str__(s)


def _check_op(name: str, op: object) -> TextOperation:
    if not isinstance(op, TextOperation):
        raise OTError(f"{name}={shown(op, 80)} must be a TextOperation")
    return op


def _check_client(client: object) -> str:
    if not isinstance(client, str) or not client:
        raise OTError(f"client={shown(client, 80)} must be a non-empty str")
    return client


def _retain(ops: list[Component], n: int) -> None:
    last = ops[-1] if ops else None
    if type(last) is int and last > 0:
        ops[-1] = last + n
    else:
        ops.append(n)


def _insert(ops: list[Component], s: str) -> None:
    if ops and type(ops[-1]) is str:
        ops[-1] += s
    elif ops and type(ops[-1]) is int and ops[-1] < 0:
        if len(ops) > 1 and type(ops[-2]) is str:
            ops[-2] += s
        else:
            ops.insert(len(ops) - 1, s)
    else:
        ops.append(s)


def _delete(ops: list[Component], n: int) -> None:
    last = ops[-1] if ops else None
    if type(last) is int and last < 0:
        ops[-1] = last - n
    else:
        ops.append(-n)


def _make(ops: list[Component]) -> TextOperation:
    """A TextOperation from already-normalised components (no checks)."""
    op = TextOperation()
    op.ops = ops
    for c in ops:
        if isinstance(c, str):
            op.target_length += len(c)
        elif c > 0:
            op.base_length += c
            op.target_length += c
        else:
            op.base_length -= c
    return op


class TextOperation:
    """A retain / insert / delete walk over a document of ``base_length`` code points.

    Build one with the chaining methods (empty components are dropped, neighbours merge, an
    insert next to a delete goes first) or with :meth:`from_patch`:

    >>> op = TextOperation().retain(2).delete(1).insert("y")
    >>> op.apply("abc")
    'aby'
    >>> op.apply("abcd")
    Traceback (most recent call last):
    ...
    designpatterns_ref.collab.base.OTError: operation spans 3 code points but the document has 4
    """

    __slots__ = ("base_length", "ops", "target_length")

    def __init__(self, components: Iterable[Component] = ()) -> None:
        self.ops: list[Component] = []
        self.base_length = 0
        self.target_length = 0
        if isinstance(components, str | bytes) or not isinstance(components, Iterable):
            raise OTError(
                f"components={shown(components, 80)} must be an iterable of non-zero ints and strs"
            )
        for c in components:
            if isinstance(c, str):
                self.insert(c)
            elif isinstance(c, int) and not isinstance(c, bool) and c != 0:
                if c > 0:
                    self.retain(c)
                else:
                    self.delete(-c)
            else:
                raise OTError(f"component={shown(c, 80)} must be a non-zero int or a str")

    # -- building -------------------------------------------------------------------------
    def retain(self, n: int) -> TextOperation:
        """Skip ``n`` code points."""
        if _check_count("retain", n) == 0:
            return self
        self.base_length += n
        self.target_length += n
        _retain(self.ops, n)
        return self

    def insert(self, s: str) -> TextOperation:
        """Insert ``s`` here (before any delete at the same place, a canonical form)."""
        if not isinstance(s, str):
            raise OTError(f"insert={shown(s, 80)} must be a str")
        if not s:
            return self
        self.target_length += len(s)
        _insert(self.ops, _exact_str(s))
        return self

    def delete(self, n: int) -> TextOperation:
        """Delete the next ``n`` code points."""
        if _check_count("delete", n) == 0:
            return self
        self.base_length += n
        _delete(self.ops, n)
        return self

    @classmethod
    def from_patch(cls, length: int, pos: int, n_deleted: int, inserted: str) -> TextOperation:
        """The operation that turns ``text`` (of ``length`` code points) into
        ``text[:pos] + inserted + text[pos + n_deleted:]``."""
        _check_count("length", length)
        _check_count("pos", pos)
        _check_count("n_deleted", n_deleted)
        if pos + n_deleted > length:
            raise OTError(
                f"patch pos={shown(pos)}, n_deleted={shown(n_deleted)} reaches past the document's "
                f"{shown(length)} code points"
            )
        if not isinstance(inserted, str):
            raise OTError(f"inserted={shown(inserted, 80)} must be a str")
        ops: list[Component] = [pos] if pos else []
        if inserted:
            ops.append(_exact_str(inserted))
        if n_deleted:
            ops.append(-n_deleted)
        rest = length - pos - n_deleted
        if rest:
            _retain(ops, rest)
        op = cls()
        op.ops, op.base_length, op.target_length = ops, length, length - n_deleted + len(inserted)
        return op

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextOperation) and self.ops == other.ops

    def __hash__(self) -> int:
        return hash(tuple(self.ops))

    def __repr__(self) -> str:
        return f"TextOperation({self.ops!r})"

    def is_noop(self) -> bool:
        """True when the operation changes nothing (only retains)."""
        return all(isinstance(c, int) and c > 0 for c in self.ops)

    # -- using ------------------------------------------------------------------------------
    def apply(self, text: str) -> str:
        """The document after this operation; a length mismatch raises :class:`OTError`."""
        if len(_check_text("text", text)) != self.base_length:
            raise OTError(
                f"operation spans {self.base_length} code points but the document has {len(text)}"
            )
        parts: list[str] = []
        i = 0
        for c in self.ops:
            if isinstance(c, str):
                parts.append(c)
            elif c > 0:
                parts.append(text[i : i + c])
                i += c
            else:
                i -= c
        return "".join(parts)

    def invert(self, text: str) -> TextOperation:
        """The operation that undoes this one, given the ``text`` it applied to.

        >>> op = TextOperation.from_patch(3, 1, 1, "XY")
        >>> op.invert("abc").apply(op.apply("abc"))
        'abc'
        """
        if len(_check_text("text", text)) != self.base_length:
            raise OTError(
                f"operation spans {self.base_length} code points but the document has {len(text)}"
            )
        inverse = TextOperation()
        i = 0
        for c in self.ops:
            if isinstance(c, str):
                inverse.delete(len(c))
            elif c > 0:
                inverse.retain(c)
                i += c
            else:
                inverse.insert(text[i : i - c])
                i -= c
        return inverse

    def compose(self, other: TextOperation) -> TextOperation:
        """One operation with the effect of ``self`` then ``other``.

        >>> a = TextOperation.from_patch(2, 2, 0, "c")
        >>> b = TextOperation.from_patch(3, 0, 1, "")
        >>> a.compose(b).apply("ab")
        'bc'
        """
        _check_op("other", other)
        if self.target_length != other.base_length:
            raise OTError(
                f"compose: the first operation leaves {self.target_length} code points but "
                f"the second spans {other.base_length}"
            )
        out = TextOperation()
        ia, ib = iter(self.ops), iter(other.ops)
        a, b = next(ia, None), next(ib, None)
        while a is not None or b is not None:
            if isinstance(a, int) and a < 0:  # delete in the first: passes through
                out.delete(-a)
                a = next(ia, None)
            elif isinstance(b, str):  # insert in the second: passes through
                out.insert(b)
                b = next(ib, None)
            elif a is None or b is None:  # pragma: no cover - lengths were checked
                raise OTError("compose: operations of mismatched length")
            elif isinstance(a, str):  # insert in the first meets retain/delete in the second
                assert isinstance(b, int)
                n = min(len(a), abs(b))
                if b > 0:
                    out.insert(a[:n])
                a = a[n:] or next(ia, None)
                b = (b - n if b > 0 else b + n) or next(ib, None)
            else:  # retain in the first meets retain/delete in the second
                assert isinstance(b, int)
                n = min(a, abs(b))
                if b > 0:
                    out.retain(n)
                else:
                    out.delete(n)
                a = (a - n) or next(ia, None)
                b = (b - n if b > 0 else b + n) or next(ib, None)
        return out

    @staticmethod
    def transform(a: TextOperation, b: TextOperation) -> tuple[TextOperation, TextOperation]:
        """``(a2, b2)`` with ``b2 after a == a2 after b`` (TP1); at the same place, ``a``'s
        insert goes before ``b``'s."""
        _check_op("a", a)
        _check_op("b", b)
        if a.base_length != b.base_length:
            raise OTError(
                f"transform: the operations span {shown(a.base_length)} and "
                f"{shown(b.base_length)} code "
                f"points; they must edit the same document"
            )
        a2: list[Component] = []
        b2: list[Component] = []
        ia, ib = iter(a.ops), iter(b.ops)
        x, y = next(ia, None), next(ib, None)
        while x is not None or y is not None:
            if type(x) is str:  # a inserts first on ties
                _insert(a2, x)
                _retain(b2, len(x))
                x = next(ia, None)
            elif type(y) is str:
                _retain(a2, len(y))
                _insert(b2, y)
                y = next(ib, None)
            elif x is None or y is None:  # pragma: no cover - lengths were checked
                raise OTError("transform: operations of mismatched length")
            else:
                assert isinstance(x, int) and isinstance(y, int)
                n = min(abs(x), abs(y))
                if x > 0 and y > 0:  # both keep
                    _retain(a2, n)
                    _retain(b2, n)
                elif x < 0 and y > 0:  # a deletes what b keeps
                    _delete(a2, n)
                elif x > 0:  # b deletes what a keeps
                    _delete(b2, n)
                # both delete: nothing left to do
                x = (x - n if x > 0 else x + n) or next(ia, None)
                y = (y - n if y > 0 else y + n) or next(ib, None)
        return _make(a2), _make(b2)

    def transform_position(self, pos: int, *, own: bool = False) -> int:
        """Where a cursor at ``pos`` lands after this operation; a cursor at an insert point
        stays before the inserted text unless ``own`` (the cursor's own edit).

        >>> TextOperation.from_patch(4, 1, 0, "xy").transform_position(3)
        5
        """
        if type(pos) is not int or not 0 <= pos <= self.base_length:
            raise OTError(f"pos={shown(pos, 80)} must be an int within [0, {self.base_length}]")
        old = new = 0
        for c in self.ops:
            if isinstance(c, str):  # text inserted before the cursor (or at it, for our own)
                if old < pos or own:
                    new += len(c)
                continue
            if old == pos:
                return new
            n = abs(c)
            if pos < old + n:  # inside this retain, or inside a deleted range
                return new + (pos - old if c > 0 else 0)
            old += n
            new += n if c > 0 else 0
        return new


def compose_all(ops: Sequence[TextOperation]) -> TextOperation:
    """Compose a non-empty sequence of consecutive operations into one."""
    if isinstance(ops, str | bytes) or not isinstance(ops, Sequence) or not ops:
        raise OTError(f"ops={shown(ops, 80)} must be a non-empty sequence of TextOperation")
    for op in ops:
        _check_op("ops[]", op)
    out = ops[0]
    for op in ops[1:]:
        out = out.compose(op)
    return out


# The client/server protocol moved to its own module; its names stay importable from here.
from designpatterns_ref.collab.otserver import Entry, Message, OTClient, OTServer  # noqa: E402
