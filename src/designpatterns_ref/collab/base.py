"""Shared types of the collaborative-editing family: errors, the replica protocol, UTF-16 offsets.

Case study: Design a Collaborative Document Editor (Google Docs) (docs/case-studies/collaborative-editor.md)

Every text replica, whether a CRDT (:mod:`designpatterns_ref.collab.crdt`) or an OT client
(:mod:`designpatterns_ref.collab.otserver`), answers ``insert(pos, text)``, ``delete(pos, length)`` and
``text()``. Positions count Unicode code points, as Python strings do; JavaScript editors count
UTF-16 code units, so :func:`to_utf16` and :func:`from_utf16` convert between the two. A
character outside the Basic Multilingual Plane (an emoji) is one code point but two UTF-16 units.

A lone high surrogate followed by a lone low one (two code points in a Python string, which
UTF-16 reads as one pair) counts as two units, as a UTF-16 peer counts it.

Complexity: O(n) for a text of n code points (one encode; ``from_utf16`` also scans the prefix
for astral characters).

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

import re
from typing import Protocol, runtime_checkable

from designpatterns_ref.errors import DesignPatternsError, shown

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
        raise CollabError(f"text={shown(text, 80)} must be a str")
    return text.encode("utf-16-le", "surrogatepass")


def to_utf16(text: str, pos: int) -> int:
    """The UTF-16 offset of code point ``pos`` in ``text`` (for JavaScript peers).

    >>> to_utf16("héllo", 5)
    5
    """
    _units(text)
    if type(pos) is not int or not 0 <= pos <= len(text):
        raise CollabError(f"pos={shown(pos, 80)} must be an int within [0, {len(text)}]")
    return len(_units(text[:pos])) // 2


def from_utf16(text: str, offset: int) -> int:
    """The code-point position of UTF-16 ``offset`` in ``text``: the position whose prefix is
    ``offset`` code units long, so ``from_utf16(text, to_utf16(text, pos)) == pos``. An offset
    inside an astral character (between the two units of its surrogate pair) raises
    :class:`CollabError`.

    Units are counted as a UTF-16 peer counts them, lone surrogates one each. A lone high
    surrogate followed by a lone low one (two code points here) is one pair to the peer and
    still two units, with a code point boundary between them: the offset between the two is
    that boundary, as the peer that typed the second half after the first used it.

    >>> from_utf16("\\ud83d\\ude00!", 2)    # two lone surrogates: two units, two code points
    2
    """
    encoded = _units(text)
    units = len(encoded) // 2
    if type(offset) is not int or not 0 <= offset <= units:
        raise CollabError(f"utf16 offset={shown(offset, 80)} must be an int within [0, {units}]")
    # every unit before an astral character's is one code point; each astral one is two units
    astral = 0
    for match in _ASTRAL.finditer(text, 0, offset):
        start = match.start() + astral  # the astral character's first unit
        if offset <= start:
            break
        if offset == start + 1:
            raise CollabError(
                f"utf16 offset={offset} falls inside the surrogate pair of {shown(match.group())} "
                f"at code point {match.start()}"
            )
        astral += 1
    return offset - astral


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
