"""Counting the codes that avoid words, against listing every code and asking the Blocklist;
tuple codes with a blocklist, against the same listing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.shortcode import Blocklist, ShortCodeError, TupleCodes
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
