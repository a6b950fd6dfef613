"""Placeholders in SQL text, swapped only where they are placeholders: outside quoted text.

The booking stores take ``?`` placeholders in :meth:`~.BookingStore.query` on both engines, and
psycopg wants ``%s``; SQLite's :meth:`~.BookingStore.statement` also reads psycopg's ``%s``. A
blind ``str.replace`` also rewrote a ``?`` or ``%s`` inside a string literal (``LIKE '%s%'``), so
:func:`translate` walks the text once and swaps a placeholder only outside string literals
(``'...'`` with ``''`` inside, ``E'...'`` with backslash escapes), quoted identifiers
(``"..."``), dollar-quoted text (``$tag$...$tag$``) and comments (``-- ...`` and ``/* ... */``).

psycopg reads ``%`` everywhere, quotes included, so for PostgreSQL every ``%`` that is not a
placeholder is doubled (``%%`` is psycopg's literal percent): the text PostgreSQL receives is
the text written.

Complexity: O(len(text)) the first time a text is seen; later calls hit a cache.

>>> translate("SELECT guest FROM bookings WHERE guest LIKE '?%' AND id = ?", "?", "%s", True)
"SELECT guest FROM bookings WHERE guest LIKE '?%%' AND id = %s"
>>> translate("SELECT 7 % 2, 'it''s %s', %s", "%s", "?", False)
"SELECT 7 % 2, 'it''s %s', ?"
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["translate"]

# what opens quoted text or a comment; what runs from there to its end (or the text's end)
_OPENERS = re.compile(r"""[eE]'|'|"|--|/\*|\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$""")
_BODIES = {
    "'": re.compile(r"(?:[^']|'')*(?:'|\Z)"),  # '' is a quote inside the literal
    "e'": re.compile(r"(?:[^'\\]|\\.?|'')*(?:'|\Z)", re.S),  # and \' in an E string
    '"': re.compile(r'(?:[^"]|"")*(?:"|\Z)'),
    "--": re.compile(r"[^\n]*\n?"),
    "/*": re.compile(r".*?(?:\*/|\Z)", re.S),
}
_WORD = re.compile(r"[A-Za-z0-9_$]")


@lru_cache(maxsize=1024)
def translate(text: str, mark: str, to: str, double_percent: bool) -> str:
    """``text`` with each ``mark`` outside quoted text and comments replaced by ``to``.

    With ``double_percent`` (for psycopg) every ``%`` the result holds, except in the ``to``
    placeholders, is doubled, inside quoted text too, since psycopg reads ``%`` everywhere.
    Unterminated quoted text runs to the end of the text (the database then refuses it).
    """
    out: list[str] = []

    def plain(chunk: str) -> None:  # text outside quotes: swap the marks
        parts = chunk.split(mark)
        if double_percent:
            parts = [p.replace("%", "%%") for p in parts]
        out.append(to.join(parts))

    def quoted(chunk: str) -> None:  # quoted text and comments: kept as written
        out.append(chunk.replace("%", "%%") if double_percent else chunk)

    pos = 0
    while pos < len(text):
        m = _OPENERS.search(text, pos)
        if m is None:
            break
        opener = m.group()
        start = m.start()
        if opener[0] in "eE" and start > 0 and _WORD.match(text[start - 1]):
            # the e ends a word (``type'...'`` is no E string): the quote opens a plain literal
            opener, start = "'", start + 1
        elif opener[0] == "$" and start > 0 and _WORD.match(text[start - 1]):
            plain(text[pos : m.end()])  # a $ inside a word ($1, a$b$): no dollar quote
            pos = m.end()
            continue
        plain(text[pos:start])
        body = start + len(opener)
        if opener[0] == "$":
            close = text.find(opener, body)
            end = len(text) if close < 0 else close + len(opener)
        else:
            key = "e'" if opener in ("e'", "E'") else opener
            found = _BODIES[key].match(text, body)
            assert found is not None  # every body pattern matches, at worst up to the end
            end = found.end()
        quoted(text[start:end])
        pos = end
    plain(text[pos:])
    return "".join(out)
