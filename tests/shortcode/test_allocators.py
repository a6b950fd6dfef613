"""Allocators: unique codes from counters and leased ranges (memory, SQLite, Redis), hashes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.shortcode import (
    CodeAllocator,
    Counter,
    CounterAllocator,
    HashCodes,
    MemoryCounter,
    Obfuscator,
    RangeAllocator,
    RedisCounter,
    ShortCodeError,
    SpaceExhausted,
    SQLiteCounter,
    decode,
)


def run_threads(n: int, fn: Callable[[], list[str]]) -> list[str]:
    out: list[list[str]] = [[] for _ in range(n)]

    def work(i: int) -> None:
        out[i] = fn()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [c for chunk in out for c in chunk]


# -- counters: the Counter protocol, three backends --------------------------------------


@pytest.fixture(params=["memory", "sqlite", "redis", "cluster"])
def counter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Counter]:
    if request.param == "memory":
        yield MemoryCounter()
    elif request.param == "sqlite":
        c = SQLiteCounter(tmp_path / "counter.db")
        yield c
        c.close()
    elif request.param == "redis":
        url = request.getfixturevalue("redis_url")
        yield RedisCounter(url, key="test:counter")
    else:  # a three-master Redis Cluster, through redis-py's RedisCluster client
        yield RedisCounter(request.getfixturevalue("redis_cluster_client"), key="test:counter")


def test_counter_blocks_never_overlap(counter: Counter) -> None:
    assert isinstance(counter, Counter)
    firsts = [counter.reserve(n) for n in (1, 10, 100, 5)]
    assert firsts == [0, 1, 11, 111]


def test_counter_is_atomic_under_threads(counter: Counter) -> None:
    def work() -> list[str]:
        return [str(counter.reserve(3)) for _ in range(50)]

    starts = [int(s) for s in run_threads(8, work)]
    assert len(set(starts)) == 400
    assert sorted(starts) == list(range(0, 1200, 3))


def test_counter_rejects_bad_sizes(counter: Counter) -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ShortCodeError, match="n="):
            counter.reserve(bad)  # type: ignore[arg-type]


def test_sqlite_counter_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    first = SQLiteCounter(path, "links")
    assert first.reserve(100) == 0
    first.close()
    again = SQLiteCounter(path, "links")
    other = SQLiteCounter(path, "photos", start=500)
    assert again.reserve(100) == 100
    assert other.reserve(1) == 500
    again.close()
    other.close()


def test_two_sqlite_connections_share_one_counter(tmp_path: Path) -> None:
    a, b = SQLiteCounter(tmp_path / "c.db"), SQLiteCounter(tmp_path / "c.db")
    got = [a.reserve(10), b.reserve(10), a.reserve(10)]
    assert got == [0, 10, 20]
    a.close()
    b.close()


def test_redis_counter_uses_incrby_on_the_server(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    counter = RedisCounter(client, key="links")
    assert counter.reserve(1000) == 0
    assert int(client.get("links")) == 1000
    client.set("links", 5000)  # e.g. restored from the highest stored code
    assert counter.reserve(10) == 5000
    client.close()


class FakeRedis:
    def incrby(self, key: str, n: int) -> int:
        return n


def test_bad_counter_arguments(tmp_path: Path) -> None:
    with pytest.raises(ShortCodeError, match="incrby"):
        RedisCounter(object())
    with pytest.raises(ShortCodeError, match="key="):
        RedisCounter(FakeRedis(), key="")
    with pytest.raises(ShortCodeError, match="start=-1"):
        MemoryCounter(-1)
    with pytest.raises(ShortCodeError, match="name="):
        SQLiteCounter(tmp_path / "x.db", name="")
    with pytest.raises(ShortCodeError, match="path="):
        SQLiteCounter(123)  # type: ignore[arg-type]


# -- number allocators -----------------------------------------------------------------


def test_counter_allocator_gives_consecutive_codes() -> None:
    alloc = CounterAllocator()
    assert isinstance(alloc, CodeAllocator)
    assert [alloc.allocate() for _ in range(64)][60:] == ["y", "z", "10", "11"]


def test_counter_allocator_width_and_exhaustion() -> None:
    alloc = CounterAllocator(start=62**2 - 2, width=2)
    assert [alloc.allocate(), alloc.allocate()] == ["zy", "zz"]
    with pytest.raises(SpaceExhausted, match="width=2 holds 3844 codes"):
        alloc.allocate()
    with pytest.raises(SpaceExhausted):
        alloc.next_number()  # the counter did not move past the end


def test_obfuscated_allocator_codes_decode_back_to_the_counter() -> None:
    ob = Obfuscator("key", width=6)
    alloc = CounterAllocator(obfuscator=ob)
    codes = [alloc.allocate() for _ in range(100)]
    assert all(len(c) == 6 for c in codes)
    assert [ob.decode(c) for c in codes] == list(range(100))


def test_allocator_argument_checks() -> None:
    ob = Obfuscator("k", width=6)
    with pytest.raises(ShortCodeError, match="differs"):
        CounterAllocator(obfuscator=ob, width=7)
    with pytest.raises(ShortCodeError, match="Obfuscator"):
        CounterAllocator(obfuscator="k")  # type: ignore[arg-type]
    with pytest.raises(ShortCodeError, match="alphabet to the Obfuscator"):
        CounterAllocator(obfuscator=ob, alphabet="01")
    with pytest.raises(ShortCodeError, match="start="):
        CounterAllocator(start=-1)
    with pytest.raises(ShortCodeError, match="block=0"):
        RangeAllocator(MemoryCounter(), block=0)
    with pytest.raises(ShortCodeError, match="reserve"):
        RangeAllocator(object())  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["counter", "range"])
def test_number_allocators_are_unique_under_threads(kind: str) -> None:
    shared = MemoryCounter()

    def make() -> CounterAllocator | RangeAllocator:
        return CounterAllocator() if kind == "counter" else RangeAllocator(shared, block=7)

    one = make()
    servers = [make() for _ in range(4)] if kind == "range" else [one] * 4

    def work_for(alloc: CounterAllocator | RangeAllocator) -> Callable[[], list[str]]:
        return lambda: [alloc.allocate() for _ in range(1000)]

    codes: list[str] = []
    for alloc in servers:  # four "app servers", each hammered by two threads
        codes += run_threads(2, work_for(alloc))
    assert len(codes) == len(set(codes)) == 8000


def test_range_allocator_leases_blocks_and_crashes_leave_gaps() -> None:
    counter = MemoryCounter()
    a = RangeAllocator(counter, block=10)
    assert [a.next_number() for _ in range(3)] == [0, 1, 2]
    assert a.leases == 1 and a.remaining() == 7
    # "a" crashes: 3..9 are never handed out; its replacement leases a new block.
    b = RangeAllocator(counter, block=10)
    assert b.next_number() == 10
    assert [b.next_number() for _ in range(10)][-1] == 20
    assert b.leases == 2


def test_range_allocator_over_redis_is_unique_across_servers(redis_url: str) -> None:
    servers = [RangeAllocator(RedisCounter(redis_url, key="links"), block=50) for _ in range(3)]
    codes = [s.allocate() for _ in range(120) for s in servers]
    assert len(set(codes)) == 360
    assert max(decode(c) for c in codes) < 9 * 50  # three blocks each, gaps allowed
    assert sum(s.leases for s in servers) == 9


@given(st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=8), st.data())
def test_range_allocators_never_share_a_number(blocks: list[int], data: st.DataObject) -> None:
    counter = MemoryCounter()
    servers = [RangeAllocator(counter, block=b) for b in blocks]
    picks = data.draw(st.lists(st.integers(0, len(servers) - 1), max_size=200))
    numbers = [servers[i].next_number() for i in picks]
    assert len(set(numbers)) == len(numbers)


# -- hash codes -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mmh3", "xxhash"])
def test_hash_codes_are_repeatable_and_salted(name: str) -> None:
    codes = HashCodes(length=6, hash=name, max_attempts=5)
    url = "https://example.com/a"
    cands = list(codes.candidates(url))
    assert cands == list(codes.candidates(url))
    assert len(cands) == 5 and len(set(cands)) == 5
    assert all(len(c) == 6 for c in cands)
    assert codes.allocate(url) == cands[0] == codes.code(url, 0)


def test_hash_functions_differ_and_are_unsigned() -> None:
    url = "https://example.com/x"
    assert HashCodes(hash="mmh3").code(url) != HashCodes(hash="xxhash").code(url)
    import mmh3

    assert HashCodes(length=21, hash="mmh3").code(url) == HashCodes(
        length=21, hash="mmh3"
    ).alphabet.encode(mmh3.hash128(url.encode(), 0, True, False) % 62**21, 21)


@given(st.text(max_size=50))
def test_any_text_gets_a_code(url: str) -> None:
    code = HashCodes(length=4).code(url)
    assert len(code) == 4


def test_hash_code_arguments() -> None:
    with pytest.raises(ShortCodeError, match="hash='md5'"):
        HashCodes(hash="md5")
    with pytest.raises(ShortCodeError, match="length=0"):
        HashCodes(length=0)
    with pytest.raises(ShortCodeError, match="max_attempts=0"):
        HashCodes(max_attempts=0)
    with pytest.raises(ShortCodeError, match="url="):
        HashCodes().code(b"https://x")  # type: ignore[arg-type]
    with pytest.raises(ShortCodeError, match="salt=-1"):
        HashCodes().code("https://x", -1)


def test_sqlite_counter_start_moves_an_existing_counter_forward_never_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "counter.db"
    first = SQLiteCounter(path, "links")
    assert first.reserve(10) == 0
    first.close()
    ahead = SQLiteCounter(path, "links", start=1_000_000)  # restored past the codes in use
    assert ahead.reserve(10) == 1_000_000
    ahead.close()
    behind = SQLiteCounter(path, "links", start=5)  # never back over numbers handed out
    assert behind.reserve(1) == 1_000_010
    behind.close()


def test_a_closed_sqlite_counter_refuses_with_the_family_error(tmp_path: Path) -> None:
    counter = SQLiteCounter(tmp_path / "counter.db")
    counter.reserve(3)
    counter.close()
    counter.close()  # twice: nothing
    with pytest.raises(ShortCodeError, match="closed"):
        counter.reserve(1)
    assert SQLiteCounter(tmp_path / "counter.db").reserve(1) == 3


def test_a_bounded_width_over_a_counter_without_limit_is_refused_when_made() -> None:
    class TicketServer:  # a Counter may omit limit=, but then cannot serve a bounded width
        def __init__(self) -> None:
            self.next = 0

        def reserve(self, n: int) -> int:
            first, self.next = self.next, self.next + n
            return first

    with pytest.raises(ShortCodeError, match="without limit="):
        RangeAllocator(TicketServer(), block=10, width=7)  # type: ignore[arg-type]
    unbounded = RangeAllocator(TicketServer(), block=10)  # type: ignore[arg-type]
    assert unbounded.next_number() == 0
