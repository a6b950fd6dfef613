"""Shared types of the collaborative-editing family: errors, the replica protocol, UTF-16 offsets.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

Every text replica, whether a CRDT (:mod:`designpatterns_ref.collab.crdt`) or an OT client
(:mod:`designpatterns_ref.collab.ot`), answers ``insert(pos, text)``, ``delete(pos, length)`` and
``text()``. Positions count Unicode code points, as Python strings do; JavaScript editors count
UTF-16 code units, so :func:`to_utf16` and :func:`from_utf16` convert between the two. A
character outside the Basic Multilingual Plane (an emoji) is one code point but two UTF-16 units.

Complexity: both conversions are O(n) in the offset (one encode of the prefix).

>>> to_utf16("A📊B", 2)
3
>>> from_utf16("A📊B", 3)
2
>>> try:
...     from_utf16("A📊B", 2)
... except CollabError as exc:
...     print(exc)
utf16 offset=2 falls inside the surrogate pair of '📊' at code point 1
"""  # noqa: E501

from __future__ import annotations

from typing import Protocol, runtime_checkable

from designpatterns_ref.errors import DesignPatternsError

__all__ = [
    "CRDTError",
    "CollabError",
    "OTError",
    "TextReplica",
    "from_utf16",
    "to_utf16",
]


class CollabError(DesignPatternsError, ValueError):
    """A collaborative-editing call got a value outside what is allowed; nothing changed."""


class OTError(CollabError):
    """An operation does not fit the document (or the server's history) it was given."""


class CRDTError(CollabError):
    """A CRDT replica was asked for an edit or given an operation it cannot accept."""


@runtime_checkable
class TextReplica(Protocol):
    """What every editable text replica offers: code-point positions, plain strings."""

    def insert(self, pos: int, text: str) -> None:
        """Insert ``text`` so that it starts at code point ``pos``."""

    def delete(self, pos: int, length: int) -> None:
        """Delete ``length`` code points starting at ``pos``."""

    def text(self) -> str:
        """The current document."""


def to_utf16(text: str, pos: int) -> int:
    """The UTF-16 offset of code point ``pos`` in ``text`` (for JavaScript peers).

    >>> to_utf16("héllo", 5)
    5
    """
    if not isinstance(pos, int) or isinstance(pos, bool) or not 0 <= pos <= len(text):
        raise CollabError(f"pos={pos!r} must be an int within [0, {len(text)}]")
    return len(text[:pos].encode("utf-16-le")) // 2


def from_utf16(text: str, offset: int) -> int:
    """The code-point position of UTF-16 ``offset`` in ``text``; an offset that splits a
    surrogate pair raises :class:`CollabError`."""
    encoded = text.encode("utf-16-le")
    units = len(encoded) // 2
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= units:
        raise CollabError(f"utf16 offset={offset!r} must be an int within [0, {units}]")
    if offset and 0xD800 <= int.from_bytes(encoded[2 * offset - 2 : 2 * offset], "little") < 0xDC00:
        pos = len(encoded[: 2 * offset - 2].decode("utf-16-le"))
        raise CollabError(
            f"utf16 offset={offset} falls inside the surrogate pair of {text[pos]!r} "
            f"at code point {pos}"
        )
    return len(encoded[: 2 * offset].decode("utf-16-le"))
