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
    "WireError",
    "from_utf16",
    "to_utf16",
]


class CollabError(DesignPatternsError, ValueError):
    """A collaborative-editing call got a value outside what is allowed; nothing changed."""


class OTError(CollabError):
    """An operation does not fit the document (or the server's history) it was given."""


class CRDTError(CollabError):
    """A CRDT replica was asked for an edit or given an operation it cannot accept."""


class WireError(CRDTError):
    """Bytes that are not a whole, valid message of the collab wire format (truncated, corrupt,
    another format or version); or a peer that broke the sync protocol."""


@runtime_checkable
class TextReplica(Protocol):
    """What every editable text replica offers: code-point positions, plain strings."""

    def insert(self, pos: int, text: str) -> None:
        """Insert ``text`` so that it starts at code point ``pos``."""

    def delete(self, pos: int, length: int) -> None:
        """Delete ``length`` code points starting at ``pos``."""

    def text(self) -> str:
        """The current document."""


def _units(text: object) -> bytes:
    """``text`` as UTF-16-LE code units (a lone surrogate counts as one unit, as in JavaScript)."""
    if not isinstance(text, str):
        raise CollabError(f"text={text!r:.80} must be a str")
    return text.encode("utf-16-le", "surrogatepass")


def to_utf16(text: str, pos: int) -> int:
    """The UTF-16 offset of code point ``pos`` in ``text`` (for JavaScript peers).

    >>> to_utf16("héllo", 5)
    5
    """
    _units(text)
    if type(pos) is not int or not 0 <= pos <= len(text):
        raise CollabError(f"pos={pos!r:.80} must be an int within [0, {len(text)}]")
    return len(_units(text[:pos])) // 2


def from_utf16(text: str, offset: int) -> int:
    """The code-point position of UTF-16 ``offset`` in ``text``; an offset that splits a
    surrogate pair raises :class:`CollabError`."""
    encoded = _units(text)
    units = len(encoded) // 2
    if type(offset) is not int or not 0 <= offset <= units:
        raise CollabError(f"utf16 offset={offset!r:.80} must be an int within [0, {units}]")

    def unit(k: int) -> int:
        return int.from_bytes(encoded[2 * k : 2 * k + 2], "little")

    if 0 < offset < units and 0xD800 <= unit(offset - 1) < 0xDC00 <= unit(offset) < 0xE000:
        pos = len(encoded[: 2 * offset - 2].decode("utf-16-le", "surrogatepass"))
        raise CollabError(
            f"utf16 offset={offset} falls inside the surrogate pair of {text[pos]!r} "
            f"at code point {pos}"
        )
    return len(encoded[: 2 * offset].decode("utf-16-le", "surrogatepass"))
