"""Regression tests for the hostile inputs of issue 17: each a clear error that changes nothing.

The whole public API also meets hostile values in ``tests/fuzz`` (``families/shortcode.py``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.shortcode import (
    ALPHABET,
    COUNTER_MAX,
    MAX_BATCH,
    MAX_CODE_LENGTH,
    Alphabet,
    Blocklist,
    CleanObfuscator,
    InvalidUrl,
    Link,
    MemoryCounter,
    MemoryStore,
    Obfuscator,
    RedisCounter,
    ShortCodeError,
    Snowflake,
    SpaceExhausted,
    SQLiteCounter,
    SQLiteStore,
    TupleCodes,
    UrlShortener,
    decode,
    encode,
    encode_bytes,
)
from designpatterns_ref.shortcode.base62 import decode_bytes

SURROGATE_URLS = ["https://e.com/\ud800", "https://\udfff.example/", "https://e.com/a?q=\ud83d"]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        return MemoryStore()
    return SQLiteStore(tmp_path / "links.db")


# -- defect 5: lone surrogates in URLs are refused by every store, with InvalidUrl -----------


@pytest.mark.parametrize("url", SURROGATE_URLS)
def test_every_store_refuses_a_lone_surrogate_in_a_url(store: Any, url: str) -> None:
    with pytest.raises(InvalidUrl, match="surrogate"):
        store.insert(Link("abc", url, 0.0))
    with pytest.raises(InvalidUrl, match="surrogate"):
        store.canonical(url)
    assert len(store) == 0


@pytest.mark.parametrize("url", SURROGATE_URLS)
@pytest.mark.parametrize("where", [None, "file"])
def test_the_service_refuses_a_lone_surrogate_whatever_the_store(
    url: str, where: str | None, tmp_path: Path
) -> None:
    with UrlShortener(None if where is None else tmp_path / "s.db") as links:
        with pytest.raises(InvalidUrl, match="surrogate"):
            links.shorten(url)
        assert len(links) == 0


@pytest.mark.parametrize("code", ["\ud800", "ab\udfffc"])
def test_every_store_refuses_a_code_with_a_lone_surrogate(store: Any, code: str) -> None:
    for call in (store.get, lambda c: store.hit(c, 1), store.delete):
        with pytest.raises(ShortCodeError, match="surrogate"):
            call(code)
    with pytest.raises(ShortCodeError):
        store.insert(Link(code, "https://e.com/", 0.0))
    assert len(store) == 0


# -- defect 6: no counter hands out numbers past its maximum ---------------------------------


def _counters(tmp_path: Path, redis_url: str | None) -> list[Any]:
    found: list[Any] = [MemoryCounter(), SQLiteCounter(tmp_path / "c.db", "links")]
    if redis_url is not None:
        found.append(RedisCounter(redis_url, key="max"))
    return found


def test_every_counter_refuses_a_reservation_past_the_maximum(
    tmp_path: Path, redis_url: str
) -> None:
    for counter in _counters(tmp_path, redis_url):
        assert counter.reserve(2**62) == 0
        assert counter.reserve(2**62 - 1) == 2**62  # now exactly at COUNTER_MAX
        for n in (1, 1000, 2**62):
            with pytest.raises(SpaceExhausted, match="maximum"):
                counter.reserve(n)
        assert _value(counter) == COUNTER_MAX, counter  # unchanged by the refusals


def _value(counter: Any) -> int:
    if isinstance(counter, MemoryCounter):
        return counter._next
    if isinstance(counter, SQLiteCounter):
        row = counter._conn.execute(
            "SELECT next FROM shortcode_counters WHERE name = ?", (counter.name,)
        ).fetchone()
        return int(row[0])
    return int(counter.client.get(counter.key))


@pytest.mark.parametrize("n", [10**400, 2**63, 2**64, -(10**400), 0, True, 1.0, None])
def test_reserve_refuses_impossible_sizes(tmp_path: Path, n: object) -> None:
    for counter in _counters(tmp_path, None):
        with pytest.raises(ShortCodeError, match="n="):
            counter.reserve(n)
        assert counter.reserve(1) == 0  # nothing was taken


def test_sqlite_counter_never_repeats_a_block_near_the_top(tmp_path: Path) -> None:
    counter = SQLiteCounter(tmp_path / "c.db", "links", start=COUNTER_MAX - 2500)
    blocks = []
    with pytest.raises(SpaceExhausted):
        while True:
            blocks.append(counter.reserve(1000))
    assert blocks == [COUNTER_MAX - 2500, COUNTER_MAX - 1500]


# -- defect 8: huge ints become the family's error, never OverflowError ----------------------


@pytest.mark.parametrize("ttl", [10**400, -(10**400), float("nan"), float("inf"), 0, -1])
def test_ttl_refuses_huge_and_non_finite_values(ttl: object) -> None:
    links = UrlShortener()
    with pytest.raises(ShortCodeError, match="ttl="):
        links.shorten("https://e.com/", ttl=ttl)  # type: ignore[arg-type]
    assert len(links) == 0


# -- defect 10: bounded work per call ---------------------------------------------------------


def test_decode_has_a_documented_length_limit() -> None:
    with pytest.raises(ShortCodeError, match="MAX_CODE_LENGTH"):
        decode("1" * (MAX_CODE_LENGTH + 1))
    with pytest.raises(ShortCodeError, match="MAX_CODE_LENGTH"):
        decode("1" * 100_000)
    with pytest.raises(ShortCodeError, match="MAX_CODE_LENGTH"):
        decode_bytes("1" * 100_000)


def test_a_long_code_decodes_to_the_plain_positional_value() -> None:
    import random

    rng = random.Random(17)
    for length in (17, 18, 99, 1000, MAX_CODE_LENGTH):
        code = "".join(rng.choice(ALPHABET) for _ in range(length))
        expected = 0
        for c in code:  # the textbook loop: the oracle
            expected = expected * 62 + ALPHABET.index(c)
        assert decode(code) == expected
        assert encode(expected, width=length) == code
        with pytest.raises(ShortCodeError, match="position"):
            decode(code[:-1] + "-")


def test_long_codes_decode_in_any_base() -> None:
    for chars in ("01", "0123456789abcdef", ALPHABET + "-_"):
        alphabet = Alphabet(chars)
        n = 7**2000  # 5,615 bits: within MAX_CODE_LENGTH digits even in base 2
        assert alphabet.decode(alphabet.encode(n)) == n


@pytest.mark.parametrize("width", [10**9, MAX_CODE_LENGTH + 1, 10**400])
def test_encode_refuses_a_width_past_the_limit(width: int) -> None:
    with pytest.raises(ShortCodeError, match="width="):
        encode(5, width=width)


def test_encode_refuses_numbers_longer_than_the_limit() -> None:
    assert len(encode(62**MAX_CODE_LENGTH - 1)) == MAX_CODE_LENGTH
    with pytest.raises(ShortCodeError, match="MAX_CODE_LENGTH"):
        encode(62**MAX_CODE_LENGTH)
    with pytest.raises(ShortCodeError, match="bytes"):
        encode_bytes(b"\xff" * 100_000)


@pytest.mark.parametrize("count", [MAX_BATCH + 1, 10**12, 10**400])
def test_next_ids_refuses_counts_past_the_batch_limit(count: int) -> None:
    gen = Snowflake(1)
    with pytest.raises(ShortCodeError, match="count="):
        gen.next_ids(count)
    assert len(gen.next_ids(3)) == 3


@pytest.mark.parametrize(
    "make",
    [
        lambda: Snowflake(1, max_backwards=10**400),
        lambda: Snowflake(1, sleep=1),  # type: ignore[arg-type]
        lambda: Snowflake(1, clock=1),  # type: ignore[arg-type]
    ],
)
def test_snowflake_refuses_bad_settings(make: Callable[[], object]) -> None:
    with pytest.raises(ShortCodeError):
        make()


def test_no_call_takes_long_on_a_huge_input() -> None:
    """Not a timing test: a loose guard that the refusals happen before any big work."""
    start = time.process_time()
    for call in (
        lambda: decode("z" * 10**6),
        lambda: encode(1, width=10**9),
        lambda: Snowflake(1).next_ids(10**12),
    ):
        with pytest.raises(ShortCodeError):
            call()
    assert time.process_time() - start < 5.0


# -- tuple codes and the blocklist: hostile values at every entry, objects unchanged ----------

HOSTILE: list[Any] = [
    None,
    True,
    False,
    float("nan"),
    float("inf"),
    -1,
    10**400,
    -(10**400),
    "",
    "\ud800",
    "z" * 100_000,
    b"ab",
    1.5,
    [1, None],
    (),
    object(),
]


def _tuple_codes() -> Any:
    from designpatterns_ref.shortcode import TupleCodes

    return TupleCodes((1024, 2**40), key="k")


def _clean() -> Any:
    from designpatterns_ref.shortcode import Blocklist, CleanObfuscator, Obfuscator

    return CleanObfuscator(Obfuscator("k", 4), Blocklist(["ab"]))


def _blocks(clean: Any, value: Any) -> object:
    return clean.blocklist.blocks(value)


def _found(clean: Any, value: Any) -> object:
    return clean.blocklist.found(value)


def _state(obj: Any) -> object:
    return {s: getattr(obj, s) for s in type(obj).__slots__ if not s.startswith("_")}


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
@pytest.mark.parametrize(
    ("make", "call"),
    [
        (_tuple_codes, lambda t, v: t.encode(v)),
        (_tuple_codes, lambda t, v: t.encode((v, 1))),
        (_tuple_codes, lambda t, v: t.encode((1, v))),
        (_tuple_codes, lambda t, v: t.decode(v)),
        (_tuple_codes, lambda t, v: t.pack(v)),
        (_tuple_codes, lambda t, v: t.unpack(v)),
        (_clean, lambda c, v: c.encode(v)),
        (_clean, lambda c, v: c.decode(v)),
        (_clean, lambda c, v: c.is_clean(v)),
        (_clean, lambda c, v: c.next_clean(v)),
        (_clean, _blocks),
        (_clean, _found),
    ],
)
def test_tuple_and_clean_codes_refuse_hostile_values(
    make: Callable[[], Any], call: Callable[[Any, Any], object], value: Any
) -> None:
    obj = make()
    before = _state(obj)
    if _accepted_by_blocks(call, value):
        call(obj, value)
    else:
        with pytest.raises(ShortCodeError):
            call(obj, value)
    assert _state(obj) == before


def _accepted_by_blocks(call: Callable[[Any, Any], object], value: Any) -> bool:
    """``Blocklist.blocks`` and ``found`` answer for any str (empty, long, even a lone
    surrogate: no word matches it); every other call above refuses every hostile value."""
    return call in _BLOCKLIST_QUERIES and type(value) is str


_BLOCKLIST_QUERIES: list[Callable[[Any, Any], object]] = [_blocks, _found]


CONSTRUCTORS: dict[str, Callable[[Any], object]] = {
    "TupleCodes(bounds)": lambda v: TupleCodes(v),
    "TupleCodes(bounds[0])": lambda v: TupleCodes((v, 3)),
    "TupleCodes(key)": lambda v: TupleCodes((2, 3), key=v),
    "TupleCodes(rounds)": lambda v: TupleCodes((2, 3), key="k", rounds=v),
    "TupleCodes(alphabet)": lambda v: TupleCodes((2, 3), alphabet=v),
    "Blocklist(words)": lambda v: Blocklist(v),
    "Blocklist(words[0])": lambda v: Blocklist([v]),
    "Blocklist(words[1])": lambda v: Blocklist(["ab", v]),
    "Blocklist(rule)": lambda v: Blocklist(["ab"], rule=v),
    "CleanObfuscator(obfuscator)": lambda v: CleanObfuscator(v, Blocklist()),
    "CleanObfuscator(blocklist)": lambda v: CleanObfuscator(Obfuscator("k", 3), v),
}


#: The hostile values a constructor rightly accepts; it must refuse every other one.
ACCEPTED: list[tuple[str, Any]] = [
    ("TupleCodes(bounds)", ()),  # no components: one tuple, with one code
    ("TupleCodes(key)", None),  # no key: plain, order-keeping codes
    # any str, bytes or int is a key (documented; a str is hashed with surrogatepass)
    *(("TupleCodes(key)", v) for v in (-1, 10**400, -(10**400), "", "\ud800", "z" * 100_000)),
    ("TupleCodes(key)", b"ab"),
    ("TupleCodes(alphabet)", None),  # the default alphabet
    ("Blocklist(words)", ()),  # an empty blocklist blocks nothing
]


def _is_accepted(name: str, value: Any) -> bool:
    return any(n == name and type(v) is type(value) and v == value for n, v in ACCEPTED)


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
@pytest.mark.parametrize("name", CONSTRUCTORS)
def test_tuple_and_blocklist_constructors_refuse_hostile_values(name: str, value: Any) -> None:
    """Each hostile value is refused with ShortCodeError, unless listed in ACCEPTED."""
    if _is_accepted(name, value):
        CONSTRUCTORS[name](value)
    else:
        with pytest.raises(ShortCodeError):
            CONSTRUCTORS[name](value)


@pytest.mark.parametrize(
    "word", ["\ud800", "ab\udfffc", "\ud83d", "", True, 1, None, b"ab", "z" * 65, ["ab"]]
)
@pytest.mark.parametrize("at", [0, 1])
def test_blocklist_refuses_a_word_it_cannot_hold_naming_its_position(word: Any, at: int) -> None:
    words = ["cat", "dog"]
    words[at] = word
    with pytest.raises(ShortCodeError, match=rf"words\[{at}\]="):
        Blocklist(words)
    with pytest.raises(ShortCodeError, match=rf"words\[{at}\]="):
        Blocklist(words, rule="sqids")


@pytest.mark.parametrize("word", ["\ud800", "ab\udfffc"])
def test_avoiding_codes_refuse_a_word_with_a_lone_surrogate(word: str) -> None:
    from designpatterns_ref.shortcode import AvoidingCodes

    with pytest.raises(ShortCodeError, match="surrogate"):
        AvoidingCodes("abc", ["ab", word], 3)


def test_blocklist_keeps_a_valid_unicode_word() -> None:
    assert Blocklist(["çà", "Straße", "😀"]).blocks("xÇÀy")


@pytest.mark.parametrize("chars", ["ab\ud800", "\udfffab", "a\ud800b\udc00"])
def test_an_alphabet_with_a_lone_surrogate_is_refused(chars: str) -> None:
    from designpatterns_ref.shortcode import AvoidingCodes

    with pytest.raises(ShortCodeError, match="lone surrogate"):
        Alphabet(chars)
    with pytest.raises(ShortCodeError, match="lone surrogate"):
        AvoidingCodes(chars, ["ab"], 3)
    assert Alphabet("ab\u00e9\U0001f600").base == 4  # any other text is a fine alphabet


@pytest.mark.parametrize("now", ["soon", None, [], math.nan, math.inf, 10**400, True], ids=repr)
def test_link_expired_refuses_a_now_that_is_no_time(now: Any) -> None:
    """With or without an expiry (a str ``now`` raised TypeError, and a link without one
    answered False to anything)."""
    for expires_at in (100.0, None):
        link = Link("abc", "https://example.com/", 0.0, expires_at=expires_at)
        with pytest.raises(ShortCodeError, match=r"Link.expired: now=.* must be"):
            link.expired(now)
    assert Link("abc", "https://example.com/", 0.0, expires_at=100.0).expired(100.0)
