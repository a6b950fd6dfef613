"""Counting the codes that avoid words, against listing every code and asking the Blocklist;
tuple codes with a blocklist, against the same listing."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.shortcode import (
    Blocklist,
    KeyedPermutation,
    Obfuscator,
    ShortCodeError,
    TupleCodes,
)
from designpatterns_ref.shortcode.avoiding import AvoidingCodes

ALPHABETS = ["ab", "aAb", "01a", "xyzX"]


def clean_codes(chars: str, words: list[str], width: int, rule: str = "anywhere") -> list[str]:
    """Every code of the width in alphabet order, minus those the Blocklist blocks."""
    blocks = Blocklist(words, rule=rule).blocks if words else (lambda _: False)
    codes = ("".join(p) for p in itertools.product(chars, repeat=width))
    return [c for c in codes if not blocks(c)]


@st.composite
def setups(draw: st.DrawFn) -> tuple[str, list[str], int, str]:
    chars = draw(st.sampled_from(ALPHABETS))
    # upper-case letters too; up to 5 characters, so that under the sqids rule there are
    # whole-code words (3 or fewer), start-or-end words (with a digit) and anywhere words
    word = st.text(alphabet=chars, min_size=1, max_size=5)
    words = draw(st.lists(word, max_size=4))
    return chars, words, draw(st.integers(1, 5)), draw(st.sampled_from(["anywhere", "sqids"]))


@given(setups())
def test_numbering_lists_exactly_the_clean_codes_in_order(
    setup: tuple[str, list[str], int, str],
) -> None:
    chars, words, width, rule = setup
    expected = clean_codes(chars, words, width, rule)
    codes = AvoidingCodes(chars, words, width, rule=rule)
    assert codes.count == len(expected)
    assert [codes.code(i) for i in range(codes.count)] == expected
    assert [codes.number(c) for c in expected] == list(range(len(expected)))
    blocked = sorted(set(map("".join, itertools.product(chars, repeat=width))) - set(expected))
    for code in blocked[:20]:
        with pytest.raises(ShortCodeError):
            codes.number(code)


@pytest.mark.parametrize(
    ("words", "width", "blocked", "clean"),
    [
        (["ab"], 2, ["ab", "AB", "aB"], ["ba", "a1"]),  # a short word: only the whole code
        (["ab"], 3, [], ["abb", "bab", "1ab"]),  # ... so none of width 3
        (["a1bb"], 5, ["a1bba", "A1BB1", "ba1bb", "1a1bb"], ["bbbbb"]),  # a digit: at an end
        (["a1bb"], 6, ["a1bbab", "aba1bb"], ["ba1bbb", "1a1bbA"]),  # ... not in the middle
        (["abba"], 5, ["abbaa", "babba", "aABBA"], ["abab1"]),  # otherwise anywhere
    ],
)
def test_the_sqids_rule_blocks_whole_start_and_end_matches(
    words: list[str], width: int, blocked: list[str], clean: list[str]
) -> None:
    codes = AvoidingCodes("abAB1", words, width, rule="sqids")
    expected = clean_codes("abAB1", words, width, "sqids")
    assert codes.count == len(expected)
    for code in blocked:
        assert code not in expected
        with pytest.raises(ShortCodeError):
            codes.number(code)
    for code in clean:
        assert codes.code(codes.number(code)) == code


def test_overlapping_words_and_suffix_links() -> None:
    # "aab" hides "ab" as a suffix: the automaton must see "ab" inside "aab..." too
    assert AvoidingCodes("ab", ["aab", "ba"], 6).count == len(clean_codes("ab", ["aab", "ba"], 6))
    assert AvoidingCodes("ab", ["a", "b"], 3).count == 0


@pytest.mark.parametrize("rule", ["anywhere", "sqids"])
@pytest.mark.parametrize("key", [None, "k"])
@pytest.mark.parametrize(
    ("bounds", "chars", "words"),
    [
        ((7, 9), "0123456789", ["1", "23"]),
        ((5, 5, 4), "abcdef", ["ab", "Fa", "c1"]),
        ((30,), "ab", ["aa"]),
        ((9, 9, 9), "ab1", ["a1", "1b1b"]),  # sqids: a whole code, and a word with a digit
    ],
)
def test_tuple_codes_avoid_the_words_and_round_trip(
    bounds: tuple[int, ...], chars: str, words: list[str], key: str | None, rule: str
) -> None:
    blocklist = Blocklist([w for w in words if set(w.lower()) <= set(chars.lower())], rule=rule)
    codes = TupleCodes(bounds, key=key, alphabet=chars, blocklist=blocklist)
    tuples = list(itertools.product(*(range(b) for b in bounds)))
    encoded = [codes.encode(t) for t in tuples]
    assert len(set(encoded)) == len(tuples)  # one code per tuple
    assert not any(blocklist.blocks(c) for c in encoded)
    assert all(len(c) == codes.width for c in encoded)
    assert [codes.decode(c) for c in encoded] == tuples
    if key is None:
        assert encoded == sorted(encoded, key=lambda c: [chars.index(x) for x in c])
    for code in map("".join, itertools.product(chars, repeat=codes.width)):
        if code not in set(encoded):  # every other code of the width is refused
            with pytest.raises(ShortCodeError):
                codes.decode(code)


def test_the_width_grows_only_when_the_clean_codes_run_short() -> None:
    assert TupleCodes((62**2,)).width == 2
    assert TupleCodes((62**2,), blocklist=Blocklist(["zz"])).width == 3  # 3,843 clean < 3,844
    assert TupleCodes((3000,), blocklist=Blocklist(["zz"])).width == 2


@pytest.mark.parametrize(
    "blocklist",
    [["ab"], "ab", Blocklist(["a-b"]), Blocklist(["a-b"], rule="sqids"), 3],
    ids=repr,
)
def test_unusable_blocklists_are_refused(blocklist: object) -> None:
    with pytest.raises(ShortCodeError):
        TupleCodes((10, 10), blocklist=blocklist)  # type: ignore[arg-type]


@pytest.mark.parametrize("rule", ["anywhere", "sqids"])
@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize("kind", ["counter", "range"])
def test_allocators_issue_every_clean_code_once_then_stop(
    kind: str, keyed: bool, rule: str
) -> None:
    from designpatterns_ref.shortcode import (
        CounterAllocator,
        MemoryCounter,
        Obfuscator,
        RangeAllocator,
        SpaceExhausted,
    )

    words = ["ab", "Ca", "bad"]  # sqids: "bad" only as a whole code of 3
    shape: dict[str, object] = (
        {"obfuscator": Obfuscator("k", 3, alphabet="abcd")}
        if keyed
        else {"width": 3, "alphabet": "abcd"}
    )
    blocklist = Blocklist(words, rule=rule)
    alloc = (
        CounterAllocator(blocklist=blocklist, **shape)  # type: ignore[arg-type]
        if kind == "counter"
        else RangeAllocator(MemoryCounter(), 5, blocklist=blocklist, **shape)  # type: ignore[arg-type]
    )
    issued = []
    with pytest.raises(SpaceExhausted):
        for _ in range(100):
            issued.append(alloc.allocate())
    expected = clean_codes("abcd", words, 3, rule)
    assert sorted(issued) == sorted(expected) and len(issued) == len(expected)
    if not keyed:
        assert issued == expected  # in order: the n-th number gets the n-th clean code


def test_a_blocklist_without_a_fixed_width_is_refused() -> None:
    from designpatterns_ref.shortcode import CounterAllocator

    with pytest.raises(ShortCodeError, match="width"):
        CounterAllocator(blocklist=Blocklist(["ab"]))


# Characters whose lower case is context-dependent ("Σ": "ς" after a letter, at a word's end)
# or longer than one character ("İ": "i" and a combining dot), beside plain ones.
_CASED = "aAiIİΣσςΑkK"


@given(
    chars=st.lists(st.sampled_from(_CASED), min_size=2, max_size=5, unique=True).map("".join),
    words=st.lists(st.text(_CASED.lower(), min_size=1, max_size=2), min_size=1, max_size=3),
    width=st.integers(1, 3),
)
def test_both_engines_block_the_same_codes_or_the_alphabet_is_refused(
    chars: str, words: list[str], width: int
) -> None:
    # The oracle: every code of the width, checked by the Blocklist (the code lowered whole).
    try:
        blocklist = Blocklist(words)
        codes = AvoidingCodes.for_blocklist(chars, blocklist, width, where="test")
    except ShortCodeError as exc:
        if "lower to one character" in str(exc):
            assert any(len(c.lower()) != 1 or ("a" + c).lower()[1:] != c.lower() for c in chars)
        return  # (or a word the alphabet cannot spell)
    clean = ["".join(p) for p in itertools.product(chars, repeat=width)]
    clean = [code for code in clean if not blocklist.blocks(code)]
    assert [codes.code(i) for i in range(codes.count)] == clean


@pytest.mark.parametrize("chars", ["ΑΣσ", "iİx"])
def test_an_alphabet_whose_case_depends_on_context_is_refused(chars: str) -> None:
    with pytest.raises(ShortCodeError, match="lower to one character"):
        AvoidingCodes(chars, [chars[0].lower()], 2)
    with pytest.raises(ShortCodeError, match="lower to one character"):
        TupleCodes((3,), alphabet=chars, blocklist=Blocklist([chars[0].lower()]))


# With a key, the numbers of the clean codes are permuted by the key's permutation of exactly
# [0, clean count): every number in range gets its own clean code, whatever share the words take.


@given(setups(), st.text(max_size=4), st.integers(3, 5))
def test_keyed_codes_are_a_bijection_onto_the_clean_codes(
    setup: tuple[str, list[str], int, str], key: str, rounds: int
) -> None:
    from designpatterns_ref.shortcode import NumberCodes, Obfuscator

    chars, words, width, rule = setup
    expected = clean_codes(chars, words, width, rule)  # the brute-force oracle
    blocklist = Blocklist(words, rule=rule)
    codes = NumberCodes(
        obfuscator=Obfuscator(key, width, alphabet=chars, rounds=rounds), blocklist=blocklist
    )
    assert codes.limit == len(expected)
    issued = [codes.code(n) for n in range(len(expected))]
    assert sorted(issued, key=expected.index) == expected  # each clean code exactly once
    assert codes.avoid is not None
    assert [codes.avoid._keyed_number(c, codes.permutation) for c in issued] == list(
        range(len(expected))
    )


@given(
    words=st.lists(st.text("abcdefgh", min_size=1, max_size=2), min_size=1, max_size=6),
    key=st.binary(max_size=4),
    rule=st.sampled_from(["anywhere", "sqids"]),
)
def test_keyed_tuple_codes_with_a_blocklist_are_clean_and_one_to_one(
    words: list[str], key: bytes, rule: str
) -> None:
    blocklist = Blocklist(words, rule=rule)
    codes = TupleCodes((6, 7), key=key, alphabet="abcdefgh", blocklist=blocklist)
    tuples = list(itertools.product(range(6), range(7)))
    encoded = [codes.encode(t) for t in tuples]
    clean = set(clean_codes("abcdefgh", words, codes.width, rule))
    assert len(set(encoded)) == len(tuples) and set(encoded) <= clean
    assert [codes.decode(c) for c in encoded] == tuples
    for code in sorted(clean - set(encoded))[:30]:  # clean, but numbered past the tuples
        with pytest.raises(ShortCodeError, match="no tuple's code"):
            codes.decode(code)


@given(
    values=st.tuples(st.integers(0, 2**20), st.integers(0, 2**20)),
    key=st.text(max_size=4),
    letters=st.integers(1, 22),
)
def test_keyed_tuple_codes_with_a_blocklist_round_trip_at_the_largest_values(
    values: tuple[int, int], key: str, letters: int
) -> None:
    blocklist = Blocklist(list("abcdefghijklmnopqrstuvwxyz"[:letters]))
    bounds = (1024, 2**40)
    codes = TupleCodes(bounds, key=key, blocklist=blocklist)
    for t in [(1023 - values[0] % 1024, 2**40 - 1 - values[1]), (1023, 2**40 - 1)]:
        code = codes.encode(t)
        assert len(code) == codes.width and not blocklist.blocks(code)
        assert codes.decode(code) == t


def test_a_keyed_allocator_issues_its_last_clean_codes_then_stops() -> None:
    from designpatterns_ref.shortcode import CounterAllocator, Obfuscator, SpaceExhausted

    blocklist = Blocklist(list("abcdefghijklmnopqrstuv"))  # 22 of 26 letters
    probe = AvoidingCodes.for_blocklist(ALPHABET62, blocklist, 10, where="test")
    alloc = CounterAllocator(probe.count - 3, obfuscator=Obfuscator("k", 10), blocklist=blocklist)
    last = [alloc.allocate() for _ in range(3)]
    assert len(set(last)) == 3 and not any(map(blocklist.blocks, last))
    with pytest.raises(SpaceExhausted):
        alloc.allocate()


ALPHABET62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class PassBudgetExceeded(Exception):
    """More permutation passes than the budget: the walk is not bounded per code."""


@contextlib.contextmanager
def counted_passes(budget: int) -> Iterator[list[int]]:
    """Count every pass of a keyed permutation (a Feistel network run once, forward or back,
    by an Obfuscator or a KeyedPermutation), raising once ``budget`` is passed."""
    count = [0]
    patched = [
        (Obfuscator, "permute"),
        (Obfuscator, "unpermute"),
        (KeyedPermutation, "_forward"),
        (KeyedPermutation, "_backward"),
    ]
    originals = [(cls, name, getattr(cls, name)) for cls, name in patched]

    def counting(function: Callable[..., int]) -> Callable[..., int]:
        def step(self: object, x: int) -> int:
            count[0] += 1
            if count[0] > budget:
                raise PassBudgetExceeded(f"more than {budget} passes")
            return function(self, x)

        return step

    try:
        for cls, name, function in originals:
            setattr(cls, name, counting(function))
        yield count
    finally:
        for cls, name, function in originals:
            setattr(cls, name, function)


def old_walked_code(avoid: AvoidingCodes, n: int, obfuscator: Obfuscator) -> str:
    """The walk keyed codes took before: the obfuscator's permutation of the whole width,
    ``[0, base**width)``, applied until it falls among the clean numbers ``[0, count)``, so
    ``base**width / count`` passes per code on average, without bound as the words take more
    of the space. Kept as the reference the bounded walk is measured against."""
    n = obfuscator.permute(n)
    while n >= avoid.count:
        n = obfuscator.permute(n)
    return avoid.code(n)


HEAVY = Blocklist(list("abcdefghijklmnopqrstuv"))  # 22 of 26 letters: 1 code in ~235,000 clean
CODES = 200


def test_a_heavy_blocklist_costs_a_bounded_number_of_passes_per_code() -> None:
    from designpatterns_ref.shortcode import CounterAllocator

    codes = TupleCodes((2**40,), key="k", blocklist=HEAVY)
    assert codes.width == 10
    alloc = CounterAllocator(obfuscator=Obfuscator("k", 10), blocklist=HEAVY)
    budget = 4 * CODES  # fewer than 2 on average: twice that leaves no room for chance
    with counted_passes(budget) as passes:
        encoded = [codes.encode((n * 5_497_558_139,)) for n in range(CODES)]
    with counted_passes(budget):
        assert [codes.decode(c) for c in encoded] == [(n * 5_497_558_139,) for n in range(CODES)]
    with counted_passes(budget):
        issued = [alloc.allocate() for _ in range(CODES)]
    assert passes[0] >= CODES  # the counter saw the passes: it measures what it should
    assert not any(map(HEAVY.blocks, encoded + issued)) and len(set(issued)) == CODES


def test_the_old_walk_over_the_whole_width_blows_the_same_budget() -> None:
    avoid = AvoidingCodes.for_blocklist(ALPHABET62, HEAVY, 10, where="test")
    obfuscator = Obfuscator("k", 10)
    with pytest.raises(PassBudgetExceeded), counted_passes(4 * CODES):
        for n in range(CODES):
            old_walked_code(avoid, n, obfuscator)
