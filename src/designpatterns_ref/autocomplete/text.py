"""Text rules of the autocomplete family: normalisation, prefix ranges and typo distance.

Case study: Design a Search Autocomplete System (docs/case-studies/search-autocomplete.md)

**Normalisation happens here and nowhere else.** Every completer passes each term and each
prefix through :func:`normalize`: Unicode NFC (so ``"e\\u0301"`` and ``"é"`` are one term) and,
when the completer was built with ``casefold=True``, :meth:`str.casefold` (so ``"iPhone"`` and
``"IPHONE"`` are one term, stored and returned as ``"iphone"``). Completions return the
normalised form.

**Prefix ranges.** In code-point order the strings that start with ``p`` are exactly those in
``[p, successor(p))``; sorted structures find a prefix's matches with two binary searches.

**Typo distance.** A fuzzy completion accepts a term when its first character equals the
prefix's first character (users rarely mistype it, and it keeps the search small) and the rest
of the prefix is within ``e`` edits of some prefix of the rest of the term. Edits are insertions,
deletions, substitutions and swaps of two adjacent characters: the Damerau-Levenshtein distance
in its usual "optimal string alignment" form, where no substring is edited twice. Short prefixes
stay exact, as search engines do (:func:`allowed_edits`): 0 typos under 3 characters, at most 1
under 6, at most 2 after that.

Complexity: :func:`prefix_distance` is O(len(query) x len(term)) time and O(len(query))
memory, without recursion (O((len(query) + limit) x limit) time and O(limit) memory with a
``limit``); the tries run the same recurrence one row per trie edge, each row only within
``max_edits`` of its diagonal (O(max_edits) a row).

```pycon
>>> normalize("Cafe\\u0301", casefold=True)
'café'
>>> successor("az")
'a{'
>>> prefix_distance("iphnoe", "iphone")
1
>>> prefix_distance("iphnoe", "apple") is None
True

```
"""

from __future__ import annotations

import unicodedata

from designpatterns_ref.autocomplete.base import AutocompleteTypeError
from designpatterns_ref.errors import shown

__all__ = ["allowed_edits", "normalize", "osa_distance", "prefix_distance", "successor"]

_MAX_CHAR = 0x10FFFF


def normalize(text: str, *, casefold: bool = False) -> str:
    """Unicode NFC, then :meth:`str.casefold` and NFC again when ``casefold`` is true
    (folding can undo NFC: "ǰ" folds to "j" and a combining caron). A ``str`` subclass (an
    ``enum.StrEnum`` member, numpy's ``str_``) counts as the text it holds, and a plain ``str``
    comes back.

    ```pycon
    >>> normalize("IPhone", casefold=True)
    'iphone'

    ```
    """
    if not isinstance(text, str):
        raise AutocompleteTypeError(f"normalize: text={shown(text, 60)} must be a str")
    if type(text) is not str:
        text = str.__str__(text)  # the characters it holds, whatever its own __str__ says
    if casefold is not True and casefold is not False:
        raise AutocompleteTypeError(
            f"normalize: casefold={shown(casefold, 60)} must be True or False"
        )
    text = unicodedata.normalize("NFC", text)
    return unicodedata.normalize("NFC", text.casefold()) if casefold else text


def successor(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix``.

    ``None`` means there is none (the prefix is empty or all U+10FFFF): the range is open.

    ```pycon
    >>> successor("iph")
    'ipi'
    >>> successor("") is None
    True

    ```
    """
    chars = prefix
    while chars and ord(chars[-1]) == _MAX_CHAR:
        chars = chars[:-1]
    if not chars:
        return None
    return chars[:-1] + chr(ord(chars[-1]) + 1)


def allowed_edits(prefix_length: int, max_edits: int) -> int:
    """How many typos a prefix of ``prefix_length`` characters may carry, at most ``max_edits``.

    ```pycon
    >>> [allowed_edits(n, 2) for n in range(8)]
    [0, 0, 0, 1, 1, 1, 2, 2]

    ```
    """
    if prefix_length < 3:
        return 0
    if prefix_length < 6:
        return min(1, max_edits)
    return max_edits


def _next_row(
    query: str, row: list[int], before: list[int] | None, char: str, last: str, depth: int
) -> list[int]:
    """One row of the optimal-string-alignment table: ``query`` against one more character."""
    new = [depth]
    for i in range(1, len(query) + 1):
        qc = query[i - 1]
        best = min(row[i] + 1, new[i - 1] + 1, row[i - 1] + (qc != char))
        if before is not None and i > 1 and qc == last and query[i - 2] == char:
            best = min(best, before[i - 2] + 1)
        new.append(best)
    return new


def osa_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap adjacent) turning ``a`` into ``b``.

    ```pycon
    >>> osa_distance("ca", "abc"), osa_distance("teh", "the")
    (3, 1)

    ```
    """
    row = list(range(len(a) + 1))
    before: list[int] | None = None
    last = ""
    for depth, char in enumerate(b, start=1):
        row, before = _next_row(a, row, before, char, last, depth), row
        last = char
    return row[-1]


def prefix_distance(query: str, term: str, *, limit: int | None = None) -> int | None:
    """The fuzzy-match distance of ``term`` to the typed ``query``, or ``None`` for no match.

    ``None`` when the first characters differ (or either is empty); otherwise the fewest edits
    turning ``query[1:]`` into some prefix of ``term[1:]``. This is the brute-force definition
    the tries' fuzzy search is tested against. With ``limit``, a distance above ``limit`` is
    ``None`` too, and only the cells within ``limit`` of the table's diagonal are computed,
    stopping at the first row whose cells all exceed it: O((len(query) + limit) x limit)
    cells rather than O(len(query) x len(term)), each row a list of its ``2 x limit + 1`` band
    cells (the full table, without ``limit``, is what the banded one is tested against).

    ```pycon
    >>> prefix_distance("aple", "apple"), prefix_distance("app", "apple")
    (1, 0)
    >>> prefix_distance("axxle", "apple", limit=1) is None
    True

    ```
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise AutocompleteTypeError(
            f"prefix_distance: limit={shown(limit, 60)} must be None or an int >= 0"
        )
    if not query or not term or query[0] != term[0]:
        return None
    rest, body = query[1:], term[1:]
    if limit is not None:
        return _banded_prefix_distance(rest, body, limit)
    row = list(range(len(rest) + 1))
    before: list[int] | None = None
    best = row[-1]
    last = ""
    for depth, char in enumerate(body, start=1):
        row, before = _next_row(rest, row, before, char, last, depth), row
        last = char
        best = min(best, row[-1])
    return best


def _banded_prefix_distance(rest: str, body: str, limit: int) -> int | None:
    """:func:`prefix_distance` of ``rest`` and ``body`` (their first characters taken off) when
    at most ``limit``, else ``None``.

    The table's cell (i, j) is the distance between ``rest[:i]`` and ``body[:j]``, at least
    ``|i - j|``; so the cells farther than ``limit`` from the diagonal all exceed it and are
    left at ``over`` (``limit + 1``). A cell computed from ``over`` neighbours is above
    ``limit`` too, and one at most ``limit`` is exact. A row's smallest cell is never below
    the row before's (a cell comes from that row's cells, from its left neighbour plus one,
    or, for a swap, from a cell two rows up plus one, which is at least the row before's
    cell on the same diagonal), so once all exceed ``limit`` no later row can bring the
    distance back within it.
    """
    n, over, width = len(rest), limit + 1, 2 * limit + 1
    # row[k] is the cell (j + k - limit, j) of row j: its 2 * limit + 1 band cells, then one
    # ``over`` so that row[k + 1] (the cell above) is defined at the band's edge
    row = [k - limit if limit <= k <= limit + n else over for k in range(width)] + [over]
    before: list[int] | None = None
    best, last = row[n + limit] if n <= limit else over, ""
    for j, char in enumerate(body, start=1):
        if j > n + limit:  # every later rest-long prefix is more than limit away
            break
        new = [over] * (width + 1)
        for k in range(max(0, limit - j), min(width, n + limit - j + 1)):
            i = j + k - limit  # 0 <= i <= n
            if i == 0:
                new[k] = min(j, over)
                continue
            qc = rest[i - 1]
            # above (i, j - 1), left (i - 1, j), diagonal (i - 1, j - 1)
            cell = min(row[k + 1] + 1, new[k - 1] + 1 if k else over, row[k] + (qc != char))
            if before is not None and i > 1 and qc == last and rest[i - 2] == char:
                cell = min(cell, before[k] + 1)  # a swap: (i - 2, j - 2)
            new[k] = cell
        if 0 <= n + limit - j < width:
            best = min(best, new[n + limit - j])
        if min(new) > limit:
            break
        row, before, last = new, row, char
    return best if best <= limit else None
