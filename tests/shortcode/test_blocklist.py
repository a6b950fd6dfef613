"""Blocklist and CleanObfuscator, against a plain substring oracle and a replayed permutation."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.shortcode import (
    ALPHABET,
    DEFAULT_WORDS,
    Blocklist,
    CleanObfuscator,
    Obfuscator,
    ShortCodeError,
    SpaceExhausted,
    decode,
    encode,
)

HEX = "0123456789abcdef"


def blocked_oracle(words: list[str], rule: str, code: str) -> bool:
    """The rules as written in the docs, one word at a time."""
    low = code.lower()
    for word in (w.lower() for w in words):
        if rule == "sqids" and len(word) <= 3:
            hit = low == word
        elif rule == "sqids" and any(c.isdigit() for c in word):
            hit = low.startswith(word) or low.endswith(word)
        else:
            hit = word in low
        if hit:
            return True
    return False


small_text = st.text(alphabet="abAB1", min_size=0, max_size=7)


@given(
    words=st.lists(st.text(alphabet="abAB1", min_size=1, max_size=5), max_size=6),
    code=small_text,
    rule=st.sampled_from(["anywhere", "sqids"]),
)
def test_blocks_matches_the_oracle(words: list[str], code: str, rule: str) -> None:
    blocklist = Blocklist(words, rule=rule)
    assert blocklist.blocks(code) == blocked_oracle(words, rule, code)
    assert bool(blocklist.found(code)) == blocklist.blocks(code)
    for word in blocklist.found(code):
        assert blocked_oracle([word], rule, code)


def test_rules_differ_as_documented() -> None:
    anywhere, sqids = (
        Blocklist(["sex", "b00b", "fuck"]),
        Blocklist(["sex", "b00b", "fuck"], rule="sqids"),
    )
    assert anywhere.blocks("xSEXy") and not sqids.blocks("xSEXy")  # short words: exact only
    assert sqids.blocks("SEX")
    assert anywhere.blocks("xb00bx") and not sqids.blocks("xb00bx")  # digits: ends only
    assert sqids.blocks("B00Bxy") and sqids.blocks("xyb00b")
    assert anywhere.blocks("aFuCkz") and sqids.blocks("aFuCkz")  # others: anywhere


def test_words_are_literal_text_not_patterns() -> None:
    blocklist = Blocklist(["a.b", "c*", "(", "\\d"])
    assert blocklist.blocks("xa.bx") and not blocklist.blocks("xaxbx")
    assert blocklist.blocks("c*") and not blocklist.blocks("cc")
    assert blocklist.blocks("((") and blocklist.blocks("\\D") and not blocklist.blocks("7")


def test_default_words() -> None:
    assert len(DEFAULT_WORDS) == len(set(DEFAULT_WORDS)) == 29
    assert all(w == w.lower() and w.isalnum() for w in DEFAULT_WORDS)
    assert "sh1t" in DEFAULT_WORDS and "p0rn" in DEFAULT_WORDS
    assert Blocklist().words == frozenset(DEFAULT_WORDS)


def walk_reference(ob: Obfuscator, words: list[str]) -> dict[int, int]:
    """The expected map, by replaying the permutation from a table: clean n -> clean image."""
    size = ob.size
    table = [ob.permute(x) for x in range(size)]
    clean = [
        not blocked_oracle(words, "anywhere", encode(x, ob.width, ob.alphabet)) for x in range(size)
    ]
    out = {}
    for n in range(size):
        if clean[n]:
            x = table[n]
            while not clean[x]:
                x = table[x]
            out[n] = x
    return out


CASES = [
    (HEX, 3, ["ab", "F0", "7"]),  # 4,096 codes, a third of them blocked
    (HEX, 2, ["a", "b", "c", "d", "e", "f"]),  # only digit-only codes are clean
    (ALPHABET, 2, ["X", "q1", "zz"]),
]


@pytest.mark.parametrize(("chars", "width", "words"), CASES)
@pytest.mark.parametrize("key", ["k", "other"])
def test_exhaustive_bijection_on_clean_codes(
    chars: str, width: int, words: list[str], key: str
) -> None:
    ob = Obfuscator(key, width, alphabet=chars)
    clean = CleanObfuscator(ob, Blocklist(words))
    expected = walk_reference(ob, [w.lower() for w in words])
    issued = {}
    for n in range(ob.size):
        if n in expected:
            assert clean.is_clean(n)
            code = clean.encode(n)
            assert not blocked_oracle(words, "anywhere", code)
            assert ob.alphabet.decode(code) == expected[n]
            assert clean.decode(code) == n
            issued[code] = n
        else:
            assert not clean.is_clean(n)
            with pytest.raises(ShortCodeError, match="not clean"):
                clean.encode(n)
    assert len(issued) == len(expected)  # no two numbers share a code
    assert any(expected[n] != ob.permute(n) for n in expected)  # the walk did run
    # the clean codes are exactly the codes of the clean numbers: a bijection of the clean set
    assert {ob.alphabet.decode(c) for c in issued} == set(expected)
    for digits in itertools.product(chars, repeat=width):
        code = "".join(digits)
        if code not in issued:
            with pytest.raises(ShortCodeError, match="no number has a blocked code"):
                clean.decode(code)


@given(n=st.integers(min_value=0, max_value=62**7 - 1), key=st.text(max_size=5))
def test_round_trip_width_7(n: int, key: str) -> None:
    words = ["ab", "x", "9Q", *DEFAULT_WORDS]  # "x" alone blocks about 2 codes in 9
    clean = CleanObfuscator(Obfuscator(key, 7), Blocklist(words))
    n = clean.next_clean(n)
    code = clean.encode(n)
    assert len(code) == 7
    assert not blocked_oracle(words, "anywhere", code)
    assert clean.decode(code) == n


@given(n=st.integers(min_value=0, max_value=16**3 - 1))
def test_next_clean_is_the_first_clean_number(n: int) -> None:
    words = ["ab", "f0", "7"]
    clean = CleanObfuscator(Obfuscator("k", 3, alphabet=HEX), Blocklist(words))
    oracle = [m for m in range(n, 16**3) if not blocked_oracle(words, "anywhere", f"{m:03x}")]
    if oracle:
        assert clean.next_clean(n) == oracle[0]
    else:
        with pytest.raises(SpaceExhausted):
            clean.next_clean(n)


def test_sqids_rule_and_an_empty_list() -> None:
    ob = Obfuscator("k", 2, alphabet=HEX)
    plain = CleanObfuscator(ob, Blocklist([]))
    assert [plain.encode(n) for n in range(256)] == [ob.encode(n) for n in range(256)]
    exact = CleanObfuscator(ob, Blocklist(["ab"], rule="sqids"))
    codes = {exact.encode(n) for n in range(256) if exact.is_clean(n)}
    assert len(codes) == 255 and "ab" not in codes


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Blocklist("word"), "words='word'"),
        (lambda: Blocklist(["ok", ""]), r"words\[1\]=''"),
        (lambda: Blocklist(["ok", 3]), r"words\[1\]=3"),
        (lambda: Blocklist(["x" * 65]), "1 to 64 characters"),
        (lambda: Blocklist(["ok"], rule="prefix"), "rule='prefix'"),
        (lambda: Blocklist().blocks(None), "code=None"),
        (
            lambda: CleanObfuscator(Obfuscator("k", 3, alphabet=HEX), Blocklist(["g"])),
            "'g', not in the alphabet",
        ),
        (lambda: CleanObfuscator(Obfuscator("k", 3), ["ab"]), "must be a Blocklist"),
        (lambda: CleanObfuscator("k", Blocklist()), "must be an Obfuscator"),
        (lambda: CleanObfuscator(Obfuscator("k", 2), Blocklist()).encode(62**2), "outside"),
        (lambda: CleanObfuscator(Obfuscator("k", 2), Blocklist()).encode(True), "must be an int"),
        (lambda: CleanObfuscator(Obfuscator("k", 3), Blocklist(["ab"])).decode("xAB"), r"\['ab'\]"),
        (lambda: CleanObfuscator(Obfuscator("k", 3), Blocklist(["ab"])).decode("xy"), "too short"),
    ],
)
def test_bad_input(call: object, message: str) -> None:
    with pytest.raises(ShortCodeError, match=message):
        call()  # type: ignore[operator]


def test_next_clean_exhaustively_against_a_backward_scan() -> None:
    words = ["ab", "f0", "7", "c"]
    clean = CleanObfuscator(Obfuscator("k", 3, alphabet=HEX), Blocklist(words))
    expected: list[int | None] = [None] * 4096
    following = None
    for m in range(4095, -1, -1):  # the oracle: scan down, remembering the last clean number
        if not blocked_oracle(words, "anywhere", f"{m:03x}"):
            following = m
        expected[m] = following
    for n in range(4096):
        if expected[n] is None:
            with pytest.raises(SpaceExhausted):
                clean.next_clean(n)
        else:
            assert clean.next_clean(n) == expected[n]


@pytest.mark.parametrize("rule", ["anywhere", "sqids"])
def test_next_clean_jumps_a_run_blocked_by_the_leading_characters(rule: str) -> None:
    clean = CleanObfuscator(Obfuscator("k", 7), Blocklist(["sex", "b00b"], rule=rule))
    start = decode("sex0000") if rule == "anywhere" else decode("b00b000")
    # 62**4 numbers in a row share the blocked prefix; one jump passes them all
    after = "sey0000" if rule == "anywhere" else "b00c000"
    assert clean.next_clean(start) == decode(after)
    assert clean.next_clean(decode("0000000")) == 0
