"""Codes that avoid words, numbered: the i-th clean code of a width, and a clean code's number.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

:class:`~designpatterns_ref.shortcode.blocklist.CleanObfuscator` keeps blocked words out of
codes by walking a permutation's cycle, which needs its *inputs* to be clean numbers too: fine
for a counter, which can skip, but a tuple such as ``(shard, id)`` is given, not chosen.
:class:`AvoidingCodes` gives every number in ``[0, count)`` its own clean code instead, by
counting. Build the Aho-Corasick automaton of the words (a trie of them, each node knowing the
longest proper suffix that is also in the trie; a node is *dead* when a word ends there or on
its suffix chain), then count, for every node and every length ``k``, how many strings of ``k``
characters lead from that node without ever entering a dead node::

    count[0][s] = 1 for a live node s, and count[k][s] = sum over characters c of
    count[k - 1][next(s, c)]     (0 for a dead node)

``count[width][root]`` is the number of clean codes. The ``i``-th of them in alphabet order is
read off one character at a time: at each position take the first character whose subtree
still holds ``i`` (subtract the subtrees passed over); the number of a code adds up, position by
position, the subtrees of the characters before its own. Both are exact inverses, and since
they keep alphabet order, codes sort as their numbers do.

Words are compared ignoring case (the automaton reads ``c.lower()``). Under the ``"anywhere"``
rule of :class:`~designpatterns_ref.shortcode.blocklist.Blocklist` a word blocks a code that
contains it; under the ``"sqids"`` rule a short word (3 characters or fewer) blocks only the
code equal to it, and a word with a digit only a code that starts or ends with it. Both fit the
same automaton: the code is read between two marks, ``^`` before its first character and ``$``
after its last, and a word is entered as ``w``, as ``^w`` and ``w$``, or as ``^w$``. A mark
occurs once, at its end of the code, so an anchored word can only match there; a node is dead
if reading ``$`` from it completes a word, so ``count[0]`` counts only such live endings.

Trade-off: a table of ``width * states`` counts and a cached prefix-sum row per (length, node)
visited, against the cycle walk's zero memory; in exchange any number has a code, and the
numbering is dense (no number is lost to a blocked code). Complexity: O(width * states * base)
to build; O(width * log base) per code either way (a binary search in each prefix-sum row).

>>> codes = AvoidingCodes("abc", ["ab"], 2)
>>> codes.count, [codes.code(i) for i in range(codes.count)]
(8, ['aa', 'ac', 'ba', 'bb', 'bc', 'ca', 'cb', 'cc'])
>>> codes.number("bc")
4
>>> AvoidingCodes("abc", ["ab"], 2, rule="sqids").count  # a short word: only "ab" itself
8
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Iterable

from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.base import ShortCodeError, _surrogate_at
from designpatterns_ref.shortcode.blocklist import (
    RULES,
    Blocklist,
    _check_casing,
    _split_by_rule,
)
from designpatterns_ref.shortcode.obfuscate import KeyedPermutation

__all__ = ["AvoidingCodes"]

_START, _END = "^^", "$$"  # the marks before and after a code: two characters, so no
# character of an alphabet or a word is ever taken for one


class AvoidingCodes:
    """The fixed-width codes over ``chars`` that none of ``words`` blocks (ignoring case,
    under ``rule``: see the module docstring), numbered ``0 .. count - 1`` in alphabet order."""

    __slots__ = (
        "_count",
        "_cum",
        "_dead",
        "_index",
        "_next",
        "_start",
        "chars",
        "count",
        "rule",
        "width",
    )

    def __init__(
        self, chars: str, words: Iterable[str], width: int, *, rule: str = "anywhere"
    ) -> None:
        if not isinstance(chars, str) or len(chars) < 2 or len(set(chars)) != len(chars):
            raise ShortCodeError(
                f"AvoidingCodes: chars={shown(chars, 80)} must be 2+ distinct chars"
            )
        if (at := _surrogate_at(chars)) is not None:
            raise ShortCodeError(
                f"AvoidingCodes: chars={shown(chars, 80)} has a lone surrogate at position {at}; "
                "a code must be text UTF-8 can encode"
            )
        _check_casing(chars, "AvoidingCodes")
        if isinstance(words, str | bytes) or not isinstance(words, Iterable):
            raise ShortCodeError(
                f"AvoidingCodes: words={shown(words, 80)} must be an iterable of str"
            )
        words = list(words)
        for w in words:
            if type(w) is not str or not w:
                raise ShortCodeError(f"AvoidingCodes: word {shown(w, 80)} must be a non-empty str")
            if (pos := _surrogate_at(w)) is not None:
                raise ShortCodeError(
                    f"AvoidingCodes: word {shown(w, 80)} has a lone surrogate at position {pos}; "
                    "a word must be text UTF-8 can encode"
                )
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 64:
            raise ShortCodeError(
                f"AvoidingCodes: width={shown(width, 80)} must be an int in [1, 64]"
            )
        if not isinstance(rule, str) or rule not in RULES:
            raise ShortCodeError(f"AvoidingCodes: rule={shown(rule, 80)} must be one of {RULES}")
        self.chars, self.width, self.rule = chars, width, rule
        self._index = {c: i for i, c in enumerate(chars)}
        base = len(chars)
        symbols = [c.lower() for c in chars] + [_START, _END]  # columns base, base + 1: marks
        exact, ends, anywhere = _split_by_rule(words, rule)
        patterns = [list(w) for w in anywhere]
        patterns += [[_START, *w] for w in ends] + [[*w, _END] for w in ends]
        patterns += [[_START, *w, _END] for w in exact]
        # the trie of the patterns
        goto: list[dict[str, int]] = [{}]
        dead = [False]
        for pattern in patterns:
            s = 0
            for c in pattern:
                if c not in goto[s]:
                    goto.append({})
                    dead.append(False)
                    goto[s][c] = len(goto) - 1
                s = goto[s][c]
            dead[s] = True
        # suffix links in breadth-first order (a node's link is shallower, so it is done
        # first), and the full transition table by character index
        first: dict[str, int] = {}  # lower-cased symbol -> one index that reads it
        for i, c in enumerate(symbols):
            first.setdefault(c, i)
        n = len(goto)
        nxt = [[0] * len(symbols) for _ in range(n)]
        link = [0] * n
        nxt[0] = [goto[0].get(c, 0) for c in symbols]
        queue = deque(t for c, t in goto[0].items() if c in first)
        while queue:
            s = queue.popleft()
            dead[s] = dead[s] or dead[link[s]]
            for c, t in goto[s].items():
                if c in first:  # a symbol outside the alphabet is never read
                    link[t] = nxt[link[s]][first[c]]
                    queue.append(t)
            nxt[s] = [goto[s].get(c, nxt[link[s]][i]) for i, c in enumerate(symbols)]
        self._next, self._dead = [row[:base] for row in nxt], dead
        self._start = nxt[0][base]  # where a code begins: the start mark read
        # a live node is a clean end only if the end mark read there completes no word
        count = [[0 if dead[s] or dead[nxt[s][base + 1]] else 1 for s in range(n)]]
        for _ in range(width):
            prev = count[-1]
            count.append([0 if dead[s] else sum(prev[t] for t in nxt[s][:base]) for s in range(n)])
        self._count = count
        self._cum: dict[tuple[int, int], list[int]] = {}
        self.count: int = count[width][self._start]
        """How many codes of the width no word blocks."""

    @classmethod
    def for_blocklist(
        cls, chars: str, blocklist: object, width: int, *, where: str
    ) -> AvoidingCodes:
        """The codes ``blocklist`` (a :class:`Blocklist`, either rule, every word spellable
        in ``chars`` ignoring case) does not block; errors name ``where``."""
        if not isinstance(blocklist, Blocklist):
            raise ShortCodeError(f"{where}: blocklist={shown(blocklist, 80)} must be a Blocklist")
        blocklist.check_spellable(chars, where)
        return cls(chars, blocklist.words, width, rule=blocklist.rule)

    def __repr__(self) -> str:
        return (
            f"AvoidingCodes(base={len(self.chars)}, width={self.width}, rule={self.rule!r}, "
            f"count={self.count})"
        )

    def _row(self, k: int, s: int) -> list[int]:
        """Prefix sums, over the characters in order, of the clean strings of ``k`` more
        characters after each one from node ``s``."""
        row = self._cum.get((k, s))
        if row is None:
            counts, total, row = self._count[k - 1], 0, []
            for t in self._next[s]:
                total += counts[t]
                row.append(total)
            self._cum[(k, s)] = row
        return row

    def code(self, i: int) -> str:
        """The ``i``-th clean code, in alphabet order."""
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < self.count:
            raise ShortCodeError(
                f"AvoidingCodes.code: i={shown(i, 80)} is outside [0, {self.count})"
            )
        out, s = [], self._start
        for k in range(self.width, 0, -1):
            row = self._row(k, s)
            c = bisect_right(row, i)  # the first character whose subtree still holds i
            i -= row[c - 1] if c else 0
            out.append(self.chars[c])
            s = self._next[s][c]
        return "".join(out)

    def _keyed_code(self, n: int, permutation: KeyedPermutation | None) -> str:
        """The clean code of number ``n``: the ``n``-th, or with ``permutation`` (a keyed
        permutation of ``[0, count)``) the one it sends ``n`` to."""
        return self.code(n if permutation is None else permutation.permute(n))

    def _keyed_number(self, code: str, permutation: KeyedPermutation | None) -> int:
        """The inverse of ``_keyed_code``."""
        n = self.number(code)
        return n if permutation is None else permutation.unpermute(n)

    def number(self, code: str) -> int:
        """The number of a clean code (the inverse of :meth:`code`); a blocked code, or one
        of another width or with characters outside the alphabet, is refused."""
        if type(code) is not str or len(code) != self.width:
            raise ShortCodeError(
                f"AvoidingCodes.number: code={shown(code, 80)} must be a str of {self.width} "
                "characters"
            )
        i, s = 0, self._start
        for k, ch in zip(range(self.width, 0, -1), code, strict=True):
            c = self._index.get(ch)
            if c is None:
                raise ShortCodeError(f"AvoidingCodes.number: {shown(ch)} is not in the alphabet")
            i += self._row(k, s)[c - 1] if c else 0
            s = self._next[s][c]
            if self._dead[s]:
                raise ShortCodeError(f"AvoidingCodes.number: code={shown(code)} contains a word")
        if not self._count[0][s]:  # a word that blocks only at the end of a code
            raise ShortCodeError(f"AvoidingCodes.number: code={shown(code)} ends with a word")
        return i
