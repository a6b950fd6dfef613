"""The keyed permutation: a bijection of [0, 62**k) with an inverse, deterministic per key."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.shortcode import KeyedPermutation, Obfuscator, ShortCodeError, decode


@pytest.mark.parametrize("width", [1, 2])
@pytest.mark.parametrize("key", ["a", b"\x00", 7, -3])
def test_exhaustive_bijection_small_widths(width: int, key: str | bytes | int) -> None:
    ob = Obfuscator(key, width=width)
    images = [ob.permute(n) for n in range(62**width)]
    assert sorted(images) == list(range(62**width))
    assert [ob.unpermute(m) for m in images] == list(range(62**width))


def test_exhaustive_bijection_width_3() -> None:
    ob = Obfuscator("three", width=3)
    images = [ob.permute(n) for n in range(62**3)]
    assert len(set(images)) == 62**3
    assert min(images) == 0 and max(images) == 62**3 - 1


@pytest.mark.parametrize(("base", "width"), [(2, 1), (2, 13), (3, 9), (10, 4), (16, 4)])
def test_exhaustive_bijection_other_bases(base: int, width: int) -> None:
    ob = Obfuscator("k", width=width, alphabet="0123456789abcdef"[:base])
    images = {ob.permute(n) for n in range(base**width)}
    assert images == set(range(base**width))


@pytest.mark.parametrize("width", [6, 7])
@given(key=st.text(max_size=8), n=st.integers(min_value=0, max_value=62**7 - 1))
def test_inverse_property_large_widths(width: int, key: str, n: int) -> None:
    ob = Obfuscator(key, width=width)
    n %= ob.size
    m = ob.permute(n)
    assert 0 <= m < 62**width
    assert ob.unpermute(m) == n
    code = ob.encode(n)
    assert len(code) == width
    assert ob.decode(code) == n
    assert decode(code, width=width) == m


@pytest.mark.parametrize("width", [6, 7])
@given(key=st.binary(max_size=8), a=st.integers(min_value=0), b=st.integers(min_value=0))
def test_injective_large_widths(width: int, key: bytes, a: int, b: int) -> None:
    ob = Obfuscator(key, width=width)
    a, b = a % ob.size, b % ob.size
    assert (ob.permute(a) == ob.permute(b)) == (a == b)


def test_same_key_same_map_other_key_other_map() -> None:
    a, b, c = Obfuscator("k"), Obfuscator("k"), Obfuscator("other")
    firsts = [a.encode(n) for n in range(100)]
    assert firsts == [b.encode(n) for n in range(100)]
    assert firsts != [c.encode(n) for n in range(100)]


def test_consecutive_values_look_unrelated() -> None:
    ob = Obfuscator("order", width=7)
    codes = [ob.encode(n) for n in range(1000)]
    assert codes != sorted(codes)
    # Neighbours rarely share a leading character (1/62 each if unrelated).
    same_first = sum(x[0] == y[0] for x, y in itertools.pairwise(codes))
    assert same_first < 60


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Obfuscator(1.5), "key=1.5"),
        (lambda: Obfuscator("k", width=0), "width=0"),
        (lambda: Obfuscator("k", rounds=2), "rounds=2"),
        (lambda: Obfuscator("k", width=2).permute(62**2), r"outside \[0, 3844\)"),
        (lambda: Obfuscator("k", width=2).unpermute(-1), "outside"),
        (lambda: Obfuscator("k", width=2).permute("1"), "must be an int"),
        (lambda: Obfuscator("k", width=2).decode("abc"), "over-long"),
    ],
)
def test_bad_input(call: object, message: str) -> None:
    with pytest.raises(ShortCodeError, match=message):
        call()  # type: ignore[operator]


def test_a_key_is_its_bytes_as_documented() -> None:
    maps = {Obfuscator(key, width=4).encode(1) for key in ("A", b"A", 65)}
    assert len(maps) == 1
    assert Obfuscator("B", width=4).encode(1) not in maps


# KeyedPermutation: the same key's bijection of [0, size) for any size.

KEYS = st.one_of(st.text(max_size=6), st.binary(max_size=6), st.integers(-(2**70), 2**70))


@given(key=KEYS, size=st.integers(1, 1200), rounds=st.integers(3, 6))
def test_keyed_permutation_is_a_bijection_of_small_domains(
    key: str | bytes | int, size: int, rounds: int
) -> None:
    perm = KeyedPermutation(key, size, rounds=rounds)  # odd rounds end with the halves swapped
    images = [perm.permute(n) for n in range(size)]
    assert sorted(images) == list(range(size))
    assert [perm.unpermute(m) for m in images] == list(range(size))


@given(
    key=KEYS,
    size=st.integers(1, 62**64),
    offset=st.integers(0, 2**20),
    rounds=st.integers(3, 6),
)
def test_keyed_permutation_round_trips_at_the_largest_values(
    key: str | bytes | int, size: int, offset: int, rounds: int
) -> None:
    perm = KeyedPermutation(key, size, rounds=rounds)
    for n in {max(0, size - 1 - offset), size - 1, offset % size}:
        m = perm.permute(n)
        assert 0 <= m < size
        assert perm.unpermute(m) == n
        assert perm.permute(perm.unpermute(n)) == n


def test_keyed_permutation_keys_are_their_bytes_and_obfuscator_within_agrees() -> None:
    maps = {tuple(map(KeyedPermutation(key, 1000).permute, range(50))) for key in ("A", b"A", 65)}
    assert len(maps) == 1
    assert tuple(map(KeyedPermutation("B", 1000).permute, range(50))) not in maps
    within = Obfuscator("A", width=3, rounds=5).within(1000)
    assert (within.size, within.rounds) == (1000, 5)
    assert [within.permute(n) for n in range(50)] == [
        KeyedPermutation("A", 1000, rounds=5).permute(n) for n in range(50)
    ]


def test_keyed_permutation_takes_fewer_than_two_passes_on_average() -> None:
    # The domain is the next power of two, so at worst (size one past a power of two) it is
    # just under twice the size: every start in [0, size) counted, with its passes.
    for size in (2**12 + 1, 3 * 2**10, 2**12):
        perm = KeyedPermutation("k", size)
        passes = 0
        for n in range(size):
            x = perm._forward(n)
            passes += 1
            while x >= size:
                x = perm._forward(x)
                passes += 1
        assert passes / size < 2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: KeyedPermutation(1.5, 10), "key=1.5"),
        (lambda: KeyedPermutation(True, 10), "key=True"),
        (lambda: KeyedPermutation("k", -1), "size=-1"),
        (lambda: KeyedPermutation("k", 0).permute(0), r"outside \[0, 0\)"),
        (lambda: KeyedPermutation("k", True), "size=True"),
        (lambda: KeyedPermutation("k", 10, rounds=2), "rounds=2"),
        (lambda: KeyedPermutation("k", 10).permute(10), r"outside \[0, 10\)"),
        (lambda: KeyedPermutation("k", 10).unpermute(-1), "outside"),
        (lambda: KeyedPermutation("k", 10).permute(True), "must be an int"),
        (lambda: Obfuscator("k", width=2).within(-1), "size=-1"),
    ],
)
def test_keyed_permutation_bad_input(call: object, message: str) -> None:
    with pytest.raises(ShortCodeError, match=message):
        call()  # type: ignore[operator]
