"""Blocklist: obfuscated codes that never spell a listed word, still a bijection.

Case study: Design a URL Shortener (bit.ly) (docs/case-studies/url-shortener.md)

Random-looking codes sometimes spell words nobody wants in a link. :class:`Blocklist` says
which codes are unwanted (case-insensitively), and :class:`CleanObfuscator` keeps them from
ever being issued without giving up the one-to-one map, by *cycle walking* (Black and Rogaway,
the same trick :class:`~designpatterns_ref.shortcode.obfuscate.Obfuscator` uses to fit its
Feistel network to ``62**k``):

* the *clean* numbers are those whose own plain code of the width contains no blocked word;
* ``encode(n)`` applies the keyed permutation ``P`` to ``n``, and while the result's code is
  blocked, applies ``P`` again (the next value on ``n``'s cycle), until a clean code appears;
* ``decode(code)`` refuses a blocked code, then applies ``P``'s inverse, and again while the
  result is not clean: it walks the same cycle back.

Restricted to the clean set, this is a permutation of the clean set: the walk from a clean
value must meet a clean value (at worst it returns to itself, being on its own cycle), and two
clean inputs cannot reach the same output because walking back from it stops at the first
clean value, which is unique. So the input numbers must be clean too:
:meth:`CleanObfuscator.encode` refuses a number whose plain code is blocked, and a counter
skips to :meth:`~CleanObfuscator.next_clean`, which passes a whole run of blocked numbers (all
those sharing a blocked word in their leading characters) in one jump.
The numbers lost are exactly as many as the codes lost, and few: a listed word is rare at any
one place (a four-letter word, about ``4 * (2/62)**4`` of 7-character codes), so measured over a
million random 7-character codes :data:`DEFAULT_WORDS` blocks 0.044 % and sqids' 560-word list
0.11 % (the case study's table has more widths and both rules). The time cost is the checks:
an encode checks its input and its result, about 2.4 times an uncleaned encode when measured.

Rules. ``rule="anywhere"`` (the default) blocks a code that contains any word, ignoring case
(both sides compared after ``str.lower``). ``rule="sqids"`` follows the matching of the sqids
blocklist: a word of 3 characters or fewer blocks only a code equal to it, a word containing a
digit blocks only a code that starts or ends with it, any other word blocks a code containing
it. The differences from sqids itself: sqids re-encodes with a shifted alphabet and gives up
after as many attempts as its alphabet has characters, while the walk here always ends; sqids
silently drops words with characters outside the alphabet (and, in its Python port, words
shorter than 3), while :class:`CleanObfuscator` refuses them; sqids' ``decode`` accepts a
blocked code, this one refuses it.

The list is yours to pass. :data:`DEFAULT_WORDS` is a deliberately small English starter (a
dozen common profanities and slurs, plus their ``i -> 1`` / ``o -> 0`` look-alikes); a
service should pass its own list, for its languages.

Matching uses one regular expression shaped like a trie of the words, so its cost grows with
the code's length and the words' shared prefixes, far slower than with the number of words.

Immutable once built; share between threads. Complexity: each step is one permutation and one
match; the expected number of steps is ``1 / (1 - f)`` for a blocked fraction ``f``.

>>> clean = CleanObfuscator(Obfuscator("key", width=4), Blocklist(["abc"]))
>>> code = clean.encode(1234)
>>> "abc" in code.lower(), clean.decode(code)
(False, 1234)
>>> Blocklist(["Cat", "42"], rule="sqids").blocks("cat"), Blocklist(["cat"]).blocks("xCATy")
(True, True)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.base import ShortCodeError, SpaceExhausted, _surrogate_at
from designpatterns_ref.shortcode.obfuscate import Obfuscator

__all__ = ["DEFAULT_WORDS", "RULES", "Blocklist", "CleanObfuscator"]

RULES = ("anywhere", "sqids")
"""The matching rules :class:`Blocklist` knows."""

_STARTER = "anal anus arse cock cunt dick fag fuck jizz nazi nigg piss porn rape sex shit slut"
_STARTER += " tits twat wank"

DEFAULT_WORDS: tuple[str, ...] = tuple(
    sorted(
        {w.replace(a, b) for w in _STARTER.split() for a, b in (("i", "1"), ("o", "0"), ("", ""))}
    )
)
"""A small starter list (20 words and their ``i -> 1``, ``o -> 0`` variants); pass your own."""

_MAX_WORDS = 10_000
_MAX_WORD = 64


def _trie_pattern(words: Iterable[str]) -> str:
    """A regular expression matching any of ``words``, factored by common prefixes."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for c in word:
            node = node.setdefault(c, {})
        node[""] = {}  # a word ends here: anything longer through this node is redundant

    def emit(node: dict[str, Any]) -> str:
        alts = [
            re.escape(c) if "" in child else re.escape(c) + emit(child)
            for c, child in sorted(node.items())
            if c
        ]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(root)


def _split_by_rule(words: Iterable[str], rule: str) -> tuple[set[str], set[str], set[str]]:
    """The lower-cased ``words`` as (those that block only a code equal to them, those that
    block a code starting or ending with them, those that block a code containing them)."""
    exact: set[str] = set()
    ends: set[str] = set()
    anywhere: set[str] = set()
    for w in words:
        w = w.lower()
        if rule == "sqids" and len(w) <= 3:
            exact.add(w)
        elif rule == "sqids" and any(c.isdigit() for c in w):
            ends.add(w)
        else:
            anywhere.add(w)
    return exact, ends, anywhere


def _check_casing(chars: str, where: str) -> None:
    """Refuse (naming ``where``) an alphabet with a character that does not lower-case to one
    character, the same one wherever it stands.

    Blocked words are matched ignoring case, a code lowered whole by one engine and one
    character at a time by the other; the two agree only for such alphabets. Python's
    ``str.lower`` gives "İ" two characters, and "Σ" the final form "ς" at the end of a word.
    """
    for c in chars:
        low = c.lower()
        if len(low) != 1 or (f"a{c}").lower()[1:] != low or (f"a{c}a").lower()[1:-1] != low:
            raise ShortCodeError(
                f"{where}: the alphabet {shown(chars, 80)} has {shown(c)}, which does not "
                f"lower to one character the same everywhere (alone: {shown(low)}); blocked "
                "words are matched ignoring case one character at a time, so every character "
                "of an alphabet used with a blocklist must"
            )


class Blocklist:
    """Words a code must not contain, compared ignoring case, under one of :data:`RULES`.

    ``words`` is an iterable (not a str) of at most 10,000 words, each a str of 1 to 64
    characters that UTF-8 can encode; anything else (an empty word, a non-str such as a bool or
    bytes, a lone surrogate) raises :class:`~designpatterns_ref.shortcode.base.ShortCodeError`
    naming its position.

    >>> Blocklist(["dog"]).blocks("HotDOG7")
    True
    """

    __slots__ = ("_anywhere", "_ends", "_exact", "_search", "rule", "words")

    def __init__(self, words: Iterable[str] = DEFAULT_WORDS, *, rule: str = "anywhere") -> None:
        if isinstance(words, str | bytes) or not isinstance(words, Iterable):
            raise ShortCodeError(f"Blocklist: words={shown(words)} must be an iterable of str")
        if not isinstance(rule, str) or rule not in RULES:
            raise ShortCodeError(f"Blocklist: rule={shown(rule)} must be one of {RULES}")
        seen: set[str] = set()
        for i, w in enumerate(words):
            if i >= _MAX_WORDS:
                raise ShortCodeError(f"Blocklist: more than {_MAX_WORDS} words")
            if type(w) is not str or not 1 <= len(w) <= _MAX_WORD:
                raise ShortCodeError(
                    f"Blocklist: words[{i}]={shown(w)} must be a str of 1 to {_MAX_WORD} characters"
                )
            if (pos := _surrogate_at(w)) is not None:
                raise ShortCodeError(
                    f"Blocklist: words[{i}]={shown(w)} has a lone surrogate at position {pos}; "
                    "a word must be text UTF-8 can encode"
                )
            seen.add(w.lower())
        self.words: frozenset[str] = frozenset(seen)
        """The words, lower-cased."""
        self.rule = rule
        """How a word matches: ``"anywhere"`` or ``"sqids"``."""
        exact, ends, anywhere = _split_by_rule(self.words, rule)
        self._exact = frozenset(exact)
        self._ends = tuple(sorted(ends))
        self._anywhere = frozenset(anywhere)
        # One regular expression shaped like a trie of the words ("ab|ac" as "a(?:b|c)"): the
        # engine then tries each position once per shared prefix, not once per word.
        self._search = re.compile(_trie_pattern(anywhere)).search if anywhere else None

    def __repr__(self) -> str:
        return f"Blocklist({len(self.words)} words, rule={self.rule!r})"

    def __len__(self) -> int:
        return len(self.words)

    def blocks(self, code: str) -> bool:
        """Whether ``code`` contains (under :attr:`rule`) one of the words, ignoring case."""
        if type(code) is not str:
            raise ShortCodeError(f"Blocklist.blocks: code={shown(code)} must be a str")
        return self._blocks(code.lower())

    def _blocks(self, low: str) -> bool:
        if low in self._exact or (
            self._ends and (low.startswith(self._ends) or low.endswith(self._ends))
        ):
            return True
        return self._search is not None and self._search(low) is not None

    def _match_end(self, low: str) -> int | None:
        """Where (an index just past it) some blocked word ends in ``low``, or ``None``."""
        ends = [len(low)] if low in self._exact else []
        ends += [len(w) for w in self._ends if low.startswith(w)]
        ends += [len(low) for w in self._ends if low.endswith(w)]
        match = self._search(low) if self._search is not None else None
        if match is not None:
            ends.append(match.end())
        return min(ends) if ends else None

    def check_spellable(self, chars: str, where: str) -> None:
        """Refuse (naming ``where``) a word that could never appear in codes over ``chars``
        (ignoring case): a list that silently kept it would hide a typo in the list."""
        if not isinstance(chars, str) or not isinstance(where, str):
            raise ShortCodeError(
                f"Blocklist.check_spellable: chars={shown(chars, 80)} and "
                f"where={shown(where, 80)} must "
                "be str"
            )
        _check_casing(chars, where)
        letters = {c.lower() for c in chars}
        for w in sorted(self.words):
            missing = sorted(set(w) - letters)
            if missing:
                raise ShortCodeError(
                    f"{where}: word {shown(w)} has {shown(''.join(missing))}, not in the alphabet "
                    f"{shown(chars, 80)}, so it could never appear; remove it"
                )

    def found(self, code: str) -> list[str]:
        """The words that make ``code`` blocked (empty if it is not), for error messages."""
        if type(code) is not str:
            raise ShortCodeError(f"Blocklist.found: code={shown(code)} must be a str")
        low = code.lower()
        hits = [w for w in self._exact if low == w]
        hits += [w for w in self._ends if low.startswith(w) or low.endswith(w)]
        hits += [w for w in self._anywhere if w in low]
        return sorted(hits)


class CleanObfuscator:
    """An :class:`Obfuscator` whose codes never contain a word of ``blocklist``.

    A bijection of the clean numbers (those whose plain code is clean) onto the clean codes.
    Every word must be spellable in the obfuscator's alphabet (ignoring case); a word that
    could never appear is refused rather than silently kept.
    """

    __slots__ = ("_chars", "_pad", "alphabet", "blocklist", "obfuscator", "size", "width")

    def __init__(self, obfuscator: Obfuscator, blocklist: Blocklist) -> None:
        if not isinstance(obfuscator, Obfuscator):
            raise ShortCodeError(
                f"CleanObfuscator: obfuscator={shown(obfuscator)} must be an Obfuscator"
            )
        if not isinstance(blocklist, Blocklist):
            raise ShortCodeError(
                f"CleanObfuscator: blocklist={shown(blocklist)} must be a Blocklist"
            )
        blocklist.check_spellable(obfuscator.alphabet.chars, "CleanObfuscator")
        self.obfuscator = obfuscator
        """The keyed permutation the walk follows."""
        self.blocklist = blocklist
        """The words no code may contain."""
        self.width = obfuscator.width
        """The code length."""
        self.size = obfuscator.size
        """How many numbers (clean or not) the width holds: ``base ** width``."""
        self.alphabet = obfuscator.alphabet
        """The obfuscator's codec."""
        self._chars = obfuscator.alphabet
        self._pad = obfuscator.alphabet.chars[0]

    def __repr__(self) -> str:
        return f"CleanObfuscator({self.obfuscator!r}, {self.blocklist!r})"

    def _code(self, x: int) -> str:
        code = self._chars._digits(x)
        return code if len(code) == self.width else self._pad * (self.width - len(code)) + code

    def _clean(self, x: int) -> bool:
        return not self.blocklist._blocks(self._code(x).lower())

    def _check(self, where: str, n: object) -> int:
        if isinstance(n, bool) or not isinstance(n, int):
            raise ShortCodeError(f"CleanObfuscator.{where}: n={shown(n)} must be an int")
        if not 0 <= n < self.size:
            raise ShortCodeError(
                f"CleanObfuscator.{where}: n={shown(n)} is outside [0, {self.size})"
            )
        return int(n)

    def is_clean(self, n: int) -> bool:
        """Whether ``n`` may be encoded: its own plain code contains no blocked word."""
        return self._clean(self._check("is_clean", n))

    def next_clean(self, n: int) -> int:
        """The smallest clean number ``>= n`` (what a counter hands out next).

        Skips whole runs at once: when the code has a blocked word ending at character ``e``,
        every number with the same first ``e`` characters is blocked too.
        """
        x = self._check("next_clean", n)
        base, width = self.alphabet.base, self.width
        while True:
            code = self._code(x)
            low = code.lower()
            end = self.blocklist._match_end(low)
            if end is None:
                return x
            if len(low) == width:
                # Every number that shares the code's first ``end`` characters contains the
                # same word: jump past them all (a word in the leading characters would
                # otherwise mean billions of single steps).
                step = base ** (width - end)
                x = (x // step + 1) * step
            else:  # lower-casing changed the length: positions do not line up, step by one
                x += 1
            if x >= self.size:
                raise SpaceExhausted(
                    f"CleanObfuscator.next_clean: no clean number in [{n}, {self.size})"
                )

    def encode(self, n: int) -> str:
        """The clean code of the clean number ``n``: permute, and walk on while blocked."""
        x = self._check("encode", n)
        if not self._clean(x):
            raise ShortCodeError(
                f"CleanObfuscator.encode: n={n} is not clean: its plain code "
                f"{shown(self._code(x))} "
                f"contains {self.blocklist.found(self._code(x))}; next_clean(n) gives the next "
                "number that is"
            )
        permute = self.obfuscator.permute
        while True:
            x = permute(x)
            code = self._code(x)
            if not self.blocklist._blocks(code.lower()):
                return code

    def decode(self, code: str) -> int:
        """The clean number whose code is ``code``; a blocked code is refused."""
        x = self._chars.decode(code, self.width)
        if self.blocklist._blocks(code.lower()):
            raise ShortCodeError(
                f"CleanObfuscator.decode: code={shown(code)} contains "
                f"{self.blocklist.found(code)}; "
                "no number has a blocked code"
            )
        unpermute = self.obfuscator.unpermute
        while True:
            x = unpermute(x)
            if self._clean(x):
                return x
