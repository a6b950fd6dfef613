"""base62: round trips for every width, canonical decoding, clear errors."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.shortcode import (
    ALPHABET,
    Alphabet,
    ShortCodeError,
    decode,
    decode_bytes,
    encode,
    encode_bytes,
)

NO_LOOKALIKES = "".join(c for c in ALPHABET if c not in "0O1lI")


def test_default_alphabet_is_digits_upper_lower() -> None:
    expected = string.digits + string.ascii_uppercase + string.ascii_lowercase
    assert expected == ALPHABET
    assert len(ALPHABET) == 62


@pytest.mark.parametrize(
    ("n", "code"),
    [(0, "0"), (9, "9"), (10, "A"), (35, "Z"), (36, "a"), (61, "z"), (62, "10"), (3843, "zz")],
)
def test_known_values(n: int, code: str) -> None:
    assert encode(n) == code
    assert decode(code) == n


def test_width_pads_and_bounds() -> None:
    assert encode(0, width=7) == "0000000"
    assert encode(62**7 - 1, width=7) == "zzzzzzz"
    assert decode("0000000", width=7) == 0


@given(st.integers(min_value=0, max_value=2**256))
def test_round_trip_minimal(n: int) -> None:
    code = encode(n)
    assert decode(code) == n
    assert code == "0" or not code.startswith("0")


@given(st.integers(min_value=1, max_value=12), st.data())
def test_round_trip_every_width(width: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=0, max_value=62**width - 1))
    code = encode(n, width=width)
    assert len(code) == width
    assert decode(code, width=width) == n


@given(st.integers(min_value=1, max_value=8), st.data())
def test_decoding_is_canonical(width: int, data: st.DataObject) -> None:
    # Every string of the width is the code of exactly one number, and encodes back to itself.
    code = data.draw(st.text(alphabet=ALPHABET, min_size=width, max_size=width))
    assert encode(decode(code, width=width), width=width) == code


@given(st.integers(min_value=0, max_value=62**6 - 1), st.integers(min_value=0, max_value=62**6 - 1))
def test_same_width_codes_sort_like_numbers(a: int, b: int) -> None:
    assert (encode(a, width=6) < encode(b, width=6)) == (a < b)


@given(st.sampled_from([NO_LOOKALIKES, "01", "0123456789abcdef", ALPHABET[::-1]]), st.data())
def test_round_trip_other_alphabets(chars: str, data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=0, max_value=10**30))
    assert decode(encode(n, alphabet=chars), alphabet=chars) == n
    codec = Alphabet(chars)
    assert codec.decode(codec.encode(n, width=120)) == n


def test_hex_alphabet_agrees_with_python() -> None:
    hex_ = Alphabet("0123456789abcdef")
    for n in (0, 1, 255, 4096, 2**64 - 1):
        assert hex_.encode(n) == format(n, "x")


@given(st.binary(max_size=64))
def test_bytes_round_trip(data: bytes) -> None:
    code = encode_bytes(data)
    assert decode_bytes(code) == data


@given(st.text(alphabet=ALPHABET, max_size=40))
def test_bytes_decoding_is_canonical(code: str) -> None:
    assert encode_bytes(decode_bytes(code)) == code


def test_leading_zero_bytes_survive() -> None:
    assert encode_bytes(b"\x00\x00\x01") == "001"
    assert decode_bytes("001") == b"\x00\x00\x01"
    assert encode_bytes(b"\x00\x01") != encode_bytes(b"\x01")
    assert encode_bytes(bytearray(b"\x00\xff")) == encode_bytes(memoryview(b"\x00\xff"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: encode(-1), "negative"),
        (lambda: encode(1.0), "must be a non-negative int"),
        (lambda: encode("5"), "must be a non-negative int"),
        (lambda: encode(True), "must be a non-negative int"),
        (lambda: encode(62**3, width=3), "does not fit in width=3"),
        (lambda: encode(1, width=0), "width=0"),
        (lambda: encode(1, width=True), "width=True"),
        (lambda: decode("ab-c"), "'-' at position 2"),
        (lambda: decode("abc", width=2), "over-long"),
        (lambda: decode("ab", width=3), "too short"),
        (lambda: decode(""), "empty"),
        (lambda: decode(b"abc"), "must be a str"),
        (lambda: decode("abc", width=-1), "width=-1"),
        (lambda: encode_bytes("abc"), "bytes-like"),
        (lambda: decode_bytes("a b"), "' ' at position 1"),
        (lambda: decode_bytes(1), "must be a str"),
        (lambda: Alphabet("aa"), "repeats 'a'"),
        (lambda: Alphabet("a"), "need 2 to 128"),
        (lambda: Alphabet(123), "must be a str"),
        (lambda: encode(1, alphabet=5), "alphabet=5"),
    ],
)
def test_bad_input_raises_saying_which(call: object, message: str) -> None:
    with pytest.raises(ShortCodeError, match=message.replace("(", r"\(")):
        call()  # type: ignore[operator]


def test_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        decode("!")


def test_int_subclasses_are_accepted() -> None:
    import enum

    class Code(enum.IntEnum):
        X = 125

    assert encode(Code.X) == "21"


def test_an_int_subclass_width_decodes_the_codes_it_encodes() -> None:
    import enum

    from designpatterns_ref.shortcode import Obfuscator

    class Width(enum.IntEnum):
        SIX = 6
        LONG = 40  # past the short-code fast path

    for width in Width:
        code = encode(125, width=width)
        assert len(code) == width and decode(code, width=width) == 125
        with pytest.raises(ShortCodeError, match="too short"):
            decode(code[1:], width=width)
    ob = Obfuscator(key="k", width=Width.SIX)
    assert type(ob.width) is int
    assert ob.decode(ob.encode(77)) == 77


def test_decode_bytes_refuses_a_code_encode_bytes_never_makes() -> None:
    from designpatterns_ref.shortcode.base62 import Alphabet

    alphabet = Alphabet("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    longest = alphabet.encode_bytes(b"\xff" * alphabet.max_bytes)
    assert alphabet.decode_bytes(longest) == b"\xff" * alphabet.max_bytes
    with pytest.raises(ShortCodeError, match="decodes to"):
        alphabet.decode_bytes("Z" * 8192)  # a code of more bytes than encode_bytes takes
