"""shortcode benchmarks: codecs and pairs beside pybase62 / sqids / hashids, blocklist, allocators.

Run ``pytest benchmarks/bench_shortcode.py --benchmark-only`` for figures (each benchmark
times one pass over the same 1,000 seeded inputs, so divide by 1,000 for µs per call), or
``--benchmark-disable`` for the quick correctness pass CI makes. The summary tables of
``dpref bench shortcode`` come from the same functions.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.shortcode import (
    DEFAULT_WORDS,
    Blocklist,
    CleanObfuscator,
    CounterAllocator,
    HashCodes,
    MemoryCounter,
    Obfuscator,
    RangeAllocator,
    RedisCounter,
    Snowflake,
    SQLiteCounter,
    TupleCodes,
    UrlShortener,
    codes_until_collision,
    decode,
    encode,
    expected_collisions,
)
from designpatterns_ref.shortcode._bench import bench_steps
from designpatterns_ref.shortcode._bench_codes import sqids_words

N = 1_000
rng = random.Random(7)
NUMBERS = [rng.randrange(62**7) for _ in range(N)]
PAIRS = [(rng.randrange(1024), rng.randrange(2**40)) for _ in range(N)]


def each(fn: Callable[[Any], object], inputs: list[Any]) -> Callable[[], None]:
    def run() -> None:
        for x in inputs:
            fn(x)

    return run


# -- codecs ----------------------------------------------------------------------------


def test_base62_encode(benchmark: BenchmarkFixture) -> None:
    benchmark(each(encode, NUMBERS))
    assert [decode(encode(n)) for n in NUMBERS] == NUMBERS


def test_base62_decode(benchmark: BenchmarkFixture) -> None:
    benchmark(each(decode, [encode(n) for n in NUMBERS]))


def test_pybase62_encode(benchmark: BenchmarkFixture) -> None:
    pybase62 = pytest.importorskip("base62")
    benchmark(each(pybase62.encode, NUMBERS))


def test_pybase62_decode(benchmark: BenchmarkFixture) -> None:
    pybase62 = pytest.importorskip("base62")
    benchmark(each(pybase62.decode, [pybase62.encode(n) for n in NUMBERS]))


def test_obfuscated_encode(benchmark: BenchmarkFixture) -> None:
    ob = Obfuscator("bench", width=7)
    benchmark(each(ob.encode, NUMBERS))


def test_obfuscated_decode(benchmark: BenchmarkFixture) -> None:
    ob = Obfuscator("bench", width=7)
    codes = [ob.encode(n) for n in NUMBERS]
    benchmark(each(ob.decode, codes))
    assert [ob.decode(c) for c in codes] == NUMBERS


def test_sqids_encode(benchmark: BenchmarkFixture) -> None:
    # blocklist=[]: like the Obfuscator above, which checks no words (the blocklist tests
    # below put a list on each side).
    sqids = pytest.importorskip("sqids")
    sq = sqids.Sqids(min_length=7, blocklist=[])
    benchmark(each(lambda n: sq.encode([n]), NUMBERS))
    assert [sq.decode(sq.encode([n])) for n in NUMBERS] == [[n] for n in NUMBERS]


def test_sqids_decode(benchmark: BenchmarkFixture) -> None:
    sqids = pytest.importorskip("sqids")
    sq = sqids.Sqids(min_length=7, blocklist=[])
    benchmark(each(sq.decode, [sq.encode([n]) for n in NUMBERS]))


def test_hashids_encode(benchmark: BenchmarkFixture) -> None:
    hashids = pytest.importorskip("hashids")
    hs = hashids.Hashids(salt="bench", min_length=7)
    benchmark(each(hs.encode, NUMBERS))


def test_hashids_decode(benchmark: BenchmarkFixture) -> None:
    hashids = pytest.importorskip("hashids")
    hs = hashids.Hashids(salt="bench", min_length=7)
    benchmark(each(hs.decode, [hs.encode(n) for n in NUMBERS]))


# -- several numbers in one code: pairs (shard < 1024, id < 2**40) ----------------------


@pytest.mark.parametrize("key", ["bench", None], ids=["keyed", "plain"])
def test_tuple_codes_encode_pairs(benchmark: BenchmarkFixture, key: str | None) -> None:
    codes = TupleCodes((1024, 2**40), key=key)
    benchmark(each(codes.encode, PAIRS))
    assert [codes.decode(codes.encode(p)) for p in PAIRS] == PAIRS


@pytest.mark.parametrize("key", ["bench", None], ids=["keyed", "plain"])
def test_tuple_codes_decode_pairs(benchmark: BenchmarkFixture, key: str | None) -> None:
    codes = TupleCodes((1024, 2**40), key=key)
    benchmark(each(codes.decode, [codes.encode(p) for p in PAIRS]))


def test_sqids_encode_pairs(benchmark: BenchmarkFixture) -> None:
    sqids = pytest.importorskip("sqids")
    sq = sqids.Sqids(blocklist=[])  # like TupleCodes without a blocklist
    benchmark(each(sq.encode, PAIRS))
    assert [tuple(sq.decode(sq.encode(p))) for p in PAIRS] == PAIRS


def test_sqids_decode_pairs(benchmark: BenchmarkFixture) -> None:
    sqids = pytest.importorskip("sqids")
    sq = sqids.Sqids(blocklist=[])
    benchmark(each(sq.decode, [sq.encode(p) for p in PAIRS]))


def test_hashids_encode_pairs(benchmark: BenchmarkFixture) -> None:
    hashids = pytest.importorskip("hashids")
    hs = hashids.Hashids(salt="bench")
    benchmark(each(lambda p: hs.encode(*p), PAIRS))
    assert [hs.decode(hs.encode(*p)) for p in PAIRS] == PAIRS


def test_hashids_decode_pairs(benchmark: BenchmarkFixture) -> None:
    hashids = pytest.importorskip("hashids")
    hs = hashids.Hashids(salt="bench")
    benchmark(each(hs.decode, [hs.encode(*p) for p in PAIRS]))


# -- the blocklist: what keeping words out of codes adds to encoding ----------------------


def _clean(words: str = "ours") -> tuple[CleanObfuscator, list[int]]:
    if words == "sqids":  # sqids' own default list: like for like with sqids' default
        pytest.importorskip("sqids")
        listed = sqids_words()
        assert listed is not None
        blocklist = Blocklist(listed)
    else:
        blocklist = Blocklist(DEFAULT_WORDS)
    clean = CleanObfuscator(Obfuscator("bench", width=7), blocklist)
    return clean, [clean.next_clean(n) for n in NUMBERS]


@pytest.mark.parametrize("words", ["ours", "sqids"])
def test_clean_obfuscated_encode(benchmark: BenchmarkFixture, words: str) -> None:
    clean, inputs = _clean(words)
    benchmark(each(clean.encode, inputs))
    assert [clean.decode(clean.encode(n)) for n in inputs] == inputs


@pytest.mark.parametrize("words", ["ours", "sqids"])
def test_clean_obfuscated_decode(benchmark: BenchmarkFixture, words: str) -> None:
    clean, inputs = _clean(words)
    benchmark(each(clean.decode, [clean.encode(n) for n in inputs]))


@pytest.mark.parametrize("blocklist", ["default", "empty"])
def test_sqids_encode_blocklist(benchmark: BenchmarkFixture, blocklist: str) -> None:
    sqids = pytest.importorskip("sqids")
    sq = (
        sqids.Sqids(min_length=7)
        if blocklist == "default"
        else sqids.Sqids(min_length=7, blocklist=[])
    )
    benchmark(each(lambda n: sq.encode([n]), NUMBERS))
    assert [sq.decode(sq.encode([n])) for n in NUMBERS] == [[n] for n in NUMBERS]


# -- allocators ------------------------------------------------------------------------


def take(allocate: Callable[[], object], count: int = N) -> Callable[[], None]:
    def run() -> None:
        for _ in range(count):
            allocate()

    return run


def test_counter_allocator(benchmark: BenchmarkFixture) -> None:
    benchmark(take(CounterAllocator().allocate))


def test_range_allocator_memory(benchmark: BenchmarkFixture) -> None:
    benchmark(take(RangeAllocator(MemoryCounter(), block=1000).allocate))


@pytest.mark.parametrize("block", [1, 1000])
def test_range_allocator_sqlite(
    benchmark: BenchmarkFixture, tmp_path: Path, block: int, quick: bool
) -> None:
    counter = SQLiteCounter(tmp_path / "counter.db")
    count = 50 if quick and block == 1 else N  # block=1 pays one fsync per code
    benchmark(take(RangeAllocator(counter, block=block).allocate, count))
    counter.close()


@pytest.mark.parametrize("block", [1, 1000])
def test_range_allocator_redis(
    benchmark: BenchmarkFixture, redis_srv: Any, block: int, quick: bool
) -> None:
    counter = RedisCounter(redis_srv.url, key=f"bench:{block}")
    count = 100 if quick and block == 1 else N  # block=1 pays one round trip per code
    benchmark(take(RangeAllocator(counter, block=block).allocate, count))


@pytest.mark.parametrize("name", ["mmh3", "xxhash"])
def test_hash_codes(benchmark: BenchmarkFixture, name: str) -> None:
    hashes = HashCodes(length=7, hash=name)
    benchmark(each(hashes.code, [f"https://example.com/{i}" for i in range(N)]))


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_url_shortener(
    benchmark: BenchmarkFixture, tmp_path: Path, store: str, quick: bool
) -> None:
    links = UrlShortener(None if store == "memory" else tmp_path / "links.db")
    batch = iter(range(10**9))
    count = 200 if quick else N

    def shorten_batch() -> None:
        b = next(batch)
        for i in range(count):
            links.shorten(f"https://example.com/{b}/{i}")

    benchmark(shorten_batch)
    assert len(links) >= count
    links.close()


# -- Snowflake -------------------------------------------------------------------------


def test_snowflake_next_id(benchmark: BenchmarkFixture) -> None:
    gen = Snowflake(worker=1)
    benchmark(take(gen.next_id))
    ids = [gen.next_id() for _ in range(N)]
    assert ids == sorted(set(ids))


def test_snowflake_next_ids(benchmark: BenchmarkFixture) -> None:
    gen = Snowflake(worker=1)
    benchmark(gen.next_ids, N)


# -- the birthday bound, checked against real hashes ------------------------------------


@pytest.mark.parametrize("name", ["mmh3", "xxhash"])
def test_birthday_bound_matches_real_hashing(quick: bool, name: str) -> None:
    chars, space = 3, 62**3
    n = codes_until_collision(0.5, space)  # 576 URLs: an even chance of a collision
    trials = 40 if quick else 400
    hashes = HashCodes(length=chars, hash=name)
    colliding = 0
    hit = 0
    for t in range(trials):
        codes = {hashes.code(f"https://example.com/{t}/{i}") for i in range(n)}
        colliding += n - len(codes)
        hit += len(codes) < n
    # Loose bounds: a real hash should look uniform, not match to the decimal.
    assert 0.2 < hit / trials < 0.8
    assert colliding / trials == pytest.approx(expected_collisions(n, space), rel=0.5)


def test_dpref_bench_steps_run(quick: bool) -> None:
    steps = bench_steps(quick)
    assert [name for name, _ in steps] == [
        "codecs",
        "tuple codes",
        "blocklist",
        "allocators",
        "snowflake",
        "birthday bound",
    ]
    if quick:
        for _, step in steps:
            for table in step():
                assert table.rows
        codecs = {row[0] for row in steps[0][1]()[0].rows}
        if "sqids" in str(codecs):  # like for like: a list on both sides or on neither
            assert "sqids (min_length=7, blocklist=[])" in codecs
            assert "CleanObfuscator, 7 chars, sqids' default list (this library)" in codecs
        pairs = {row[0] for row in steps[1][1]()[0].rows}
        if "sqids" in str(pairs):
            assert "sqids encode([shard, id]), blocklist=[]" in pairs
