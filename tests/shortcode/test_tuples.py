"""TupleCodes: several numbers in one code, checked against itertools.product as the oracle."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.shortcode import (
    MAX_TUPLE_WIDTH,
    Obfuscator,
    ShortCodeError,
    TupleCodes,
    decode,
)

KEYS = [None, "k", b"\x00", 7]
DIGITS = "0123456789"


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("bounds", [(3, 5, 4), (1, 7), (10,), (2, 1, 3, 2)])
def test_exhaustive_small_spaces(key: str | bytes | int | None, bounds: tuple[int, ...]) -> None:
    codes = TupleCodes(bounds, key=key, alphabet=DIGITS)
    tuples = list(itertools.product(*(range(b) for b in bounds)))  # the oracle, in order
    assert codes.space == len(tuples)
    assert codes.width == max(1, math.ceil(math.log10(len(tuples)) - 1e-12))
    assert [codes.pack(t) for t in tuples] == list(range(len(tuples)))
    assert [codes.unpack(i) for i in range(len(tuples))] == tuples
    issued = {codes.encode(t): t for t in tuples}
    assert len(issued) == len(tuples)  # no two tuples share a code
    assert all(len(c) == codes.width for c in issued)
    # every code of the width either is a tuple's code or is refused
    for digits in itertools.product(DIGITS, repeat=codes.width):
        code = "".join(digits)
        if code in issued:
            assert codes.decode(code) == issued[code]
        else:
            with pytest.raises(ShortCodeError, match="no tuple's code"):
                codes.decode(code)


bounds_st = st.lists(st.integers(min_value=1, max_value=2**40), min_size=0, max_size=5)


@st.composite
def bounds_and_values(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    bounds = draw(bounds_st)
    values = [draw(st.integers(min_value=0, max_value=b - 1)) for b in bounds]
    return bounds, values


@given(bv=bounds_and_values(), key=st.one_of(st.none(), st.text(max_size=6)))
def test_round_trip_and_width(bv: tuple[list[int], list[int]], key: str | None) -> None:
    bounds, values = bv
    codes = TupleCodes(bounds, key=key)
    code = codes.encode(values)
    assert len(code) == codes.width
    assert codes.decode(code) == tuple(values)
    assert codes.width == 1 or 62 ** (codes.width - 1) < codes.space <= 62**codes.width
    n = codes.pack(values)
    if key is None:
        assert decode(code) == n
    else:
        assert Obfuscator(key, codes.width).decode(code) == n


@given(bv=bounds_and_values(), other=st.data())
def test_plain_codes_sort_like_their_tuples(
    bv: tuple[list[int], list[int]], other: st.DataObject
) -> None:
    bounds, a = bv
    b = [other.draw(st.integers(min_value=0, max_value=x - 1)) for x in bounds]
    codes = TupleCodes(bounds)
    assert (codes.encode(a) < codes.encode(b)) == (tuple(a) < tuple(b))


@given(
    key=st.one_of(st.none(), st.text(max_size=4)),
    code=st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                 min_size=4, max_size=4),
)  # fmt: skip
def test_arbitrary_codes_decode_to_their_tuple_or_are_refused(key: str | None, code: str) -> None:
    codes = TupleCodes((1000, 10_000), key=key)  # 10**7 of 62**4 = 14.8 million codes
    assert codes.width == 4
    try:
        values = codes.decode(code)
    except ShortCodeError as exc:
        assert "no tuple's code" in str(exc)
        unpacked = decode(code) if key is None else Obfuscator(key, 4).decode(code)
        assert unpacked >= codes.space
    else:
        assert codes.encode(values) == code


def test_empty_tuple() -> None:
    empty = TupleCodes(())
    assert (empty.arity, empty.space, empty.width) == (0, 1, 1)
    assert empty.encode(()) == "0" and empty.decode("0") == ()
    keyed = TupleCodes((), key="k")
    assert keyed.decode(keyed.encode([])) == ()
    with pytest.raises(ShortCodeError, match="no tuple's code"):
        empty.decode("1")
    with pytest.raises(ShortCodeError, match="exactly 0"):
        empty.encode((1,))
    with pytest.raises(ShortCodeError, match="exactly 2"):
        TupleCodes((5, 5)).encode(())


def test_bounds_edges() -> None:
    pair = TupleCodes((1024, 2**40), key="shards")
    assert pair.width == 9  # 50 bits: 62**8 < 2**50 <= 62**9
    top = (1023, 2**40 - 1)
    assert pair.decode(pair.encode(top)) == top
    assert pair.decode(pair.encode((0, 0))) == (0, 0)
    with pytest.raises(ShortCodeError, match=r"values\[0\]=1024 is outside \[0, 1024\)"):
        pair.encode((1024, 0))
    with pytest.raises(ShortCodeError, match=r"values\[1\]=-1"):
        pair.encode((0, -1))
    widest = TupleCodes((62**MAX_TUPLE_WIDTH,), key="w")
    assert widest.width == MAX_TUPLE_WIDTH
    assert widest.decode(widest.encode((62**64 - 1,))) == (62**64 - 1,)
    with pytest.raises(ShortCodeError, match="more than 64 characters"):
        TupleCodes((62**32, 62**32 + 1))
    ones = TupleCodes((1, 1, 1))
    assert ones.encode((0, 0, 0)) == "0"
    with pytest.raises(ShortCodeError, match=r"bounds\[1\]=0"):
        TupleCodes((3, 0))


def test_keyed_codes_hide_components() -> None:
    codes = TupleCodes((1024, 2**40), key="k")
    same_shard = [codes.encode((5, i)) for i in range(200)]
    # Codes of one shard share no fixed leading character: no position gives the shard away.
    assert all(len({c[i] for c in same_shard}) > 40 for i in range(codes.width))
    plain = TupleCodes((1024, 2**40))
    assert len({plain.encode((5, i))[:4] for i in range(200)}) == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: TupleCodes("12"), "bounds='12'"),
        (lambda: TupleCodes([2, True]), r"bounds\[1\]=True"),
        (lambda: TupleCodes([2.0]), r"bounds\[0\]=2.0"),
        (lambda: TupleCodes([2] * 65), "65 components"),
        (lambda: TupleCodes([2], key=1.5), "key=1.5"),
        (lambda: TupleCodes([2], rounds=2, key="k"), "rounds=2"),
        (lambda: TupleCodes([2, 3]).encode([1, None]), r"values\[1\]=None"),
        (lambda: TupleCodes([2, 3]).encode("01"), "values='01'"),
        (lambda: TupleCodes([2, 3]).decode("00"), "has 2 characters; these codes have exactly 1"),
        (lambda: TupleCodes([2, 3]).decode(b"0"), "must be a str"),
        (lambda: TupleCodes([2, 3]).decode("-"), "not in the alphabet"),
        (lambda: TupleCodes([2, 3]).unpack(6), r"outside \[0, 6\)"),
        (lambda: TupleCodes([2, 3]).pack([10**5000, 0]), r"values\[0\]=<int of about 5001 digits>"),
        (lambda: TupleCodes([2, 3]).encode([0, -(10**5000)]), r"values\[1\]=<negative int of"),
    ],
)
def test_bad_input(call: object, message: str) -> None:
    with pytest.raises(ShortCodeError, match=message):
        call()  # type: ignore[operator]


@given(bv=bounds_and_values())
def test_fast_and_checked_packing_agree(bv: tuple[list[int], list[int]]) -> None:
    bounds, values = bv
    codes = TupleCodes(bounds)
    oracle = 0
    for v, b in zip(values, bounds, strict=True):
        oracle = oracle * b + v
    assert codes.pack(values) == codes.pack(tuple(values)) == oracle
    assert codes._pack_checked(values) == oracle
    # other sequences and int subclasses take the checked path, with the same result
    assert codes.pack(_Seq(values)) == oracle


class _Seq(Sequence[int]):
    def __init__(self, items: list[int]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: Any) -> Any:
        return self.items[i]


def test_int_subclasses_and_out_of_range_take_the_checked_path() -> None:
    class Shard(int):
        pass

    codes = TupleCodes((4, 4))
    assert codes.pack((Shard(3), 1)) == 13
    with pytest.raises(ShortCodeError, match=r"values\[1\]=4 is outside"):
        codes.pack([1, 4])
