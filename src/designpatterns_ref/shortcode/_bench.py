"""``dpref bench shortcode``: codecs beside their peers, allocators, Snowflake, the birthday bound.

Every figure is a median over repeated runs of the same seeded workload, in this process.
Peers (``pybase62``, ``sqids``, ``hashids``) are measured when installed (the ``bench`` extra);
the Redis rows need a ``redis-server`` binary and are skipped, with a note, without one.
Quick mode shrinks every workload so the whole run takes seconds. The tuple-code and blocklist
steps live in :mod:`._bench_codes`.
"""

from __future__ import annotations

import contextlib
import importlib
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from designpatterns_ref.benchkit import Table, installed, time_per_item
from designpatterns_ref.shortcode._bench_codes import bench_blocklist, bench_tuples, sqids_words
from designpatterns_ref.shortcode.base import Counter
from designpatterns_ref.shortcode.base62 import decode, encode
from designpatterns_ref.shortcode.birthday import collision_probability, expected_collisions
from designpatterns_ref.shortcode.blocklist import Blocklist, CleanObfuscator
from designpatterns_ref.shortcode.counter import CounterAllocator
from designpatterns_ref.shortcode.hashing import HashCodes
from designpatterns_ref.shortcode.obfuscate import Obfuscator
from designpatterns_ref.shortcode.ranges import MemoryCounter, RangeAllocator, SQLiteCounter
from designpatterns_ref.shortcode.redis import RedisCounter
from designpatterns_ref.shortcode.service import UrlShortener
from designpatterns_ref.shortcode.snowflake import Snowflake

__all__ = [
    "bench_allocators",
    "bench_birthday",
    "bench_blocklist",
    "bench_codecs",
    "bench_snowflake",
    "bench_steps",
    "bench_tuples",
]

SEED = 20240604


def bench_codecs(quick: bool) -> list[Table]:
    """base62 and 7-character obfuscated codes, encode and decode, beside installed peers."""
    rng = random.Random(SEED)
    count, repeat = (500, 5) if quick else (5_000, 15)
    numbers = [rng.randrange(62**7) for _ in range(count)]
    table = Table(
        f"codecs: µs per call, median of {repeat} passes over {count:,} numbers below 62**7",
        ["codec", "encode µs", "decode µs", "target (enc / dec)"],
    )
    codes = [encode(n) for n in numbers]
    table.add(
        "base62 (this library)",
        time_per_item(encode, numbers, repeat) * 1e6,
        time_per_item(decode, codes, repeat) * 1e6,
        "0.6 / 0.4",
    )
    if installed("base62"):
        pybase62: Any = importlib.import_module("base62")

        peer = [pybase62.encode(n) for n in numbers]
        table.add(
            "pybase62",
            time_per_item(pybase62.encode, numbers, repeat) * 1e6,
            time_per_item(pybase62.decode, peer, repeat) * 1e6,
            "",
        )
    ob = Obfuscator("bench", width=7)
    hidden = [ob.encode(n) for n in numbers]
    table.add(
        "Obfuscator, 7 chars (this library)",
        time_per_item(ob.encode, numbers, repeat) * 1e6,
        time_per_item(ob.decode, hidden, repeat) * 1e6,
        "4 / 4",
    )
    if installed("sqids"):
        from sqids import Sqids

        sq = Sqids(min_length=7, blocklist=[])  # like for like: the Obfuscator has no list
        sq_codes = [sq.encode([n]) for n in numbers]
        if [sq.decode(c) for c in sq_codes] != [[n] for n in numbers]:
            raise AssertionError("sqids does not round-trip the benchmark's numbers")
        table.add(
            "sqids (min_length=7, blocklist=[])",
            time_per_item(lambda n: sq.encode([n]), numbers, repeat) * 1e6,
            time_per_item(sq.decode, sq_codes, repeat) * 1e6,
            "",
        )
        # And each side with a blocklist: ours with sqids' own words, sqids with its default.
        words = sqids_words()
        assert words is not None
        clean = CleanObfuscator(ob, Blocklist(words))
        inputs = [clean.next_clean(n) for n in numbers]
        clean_codes = [clean.encode(n) for n in inputs]
        if [clean.decode(c) for c in clean_codes] != inputs:
            raise AssertionError("CleanObfuscator does not round-trip")
        table.add(
            "CleanObfuscator, 7 chars, sqids' default list (this library)",
            time_per_item(clean.encode, inputs, repeat) * 1e6,
            time_per_item(clean.decode, clean_codes, repeat) * 1e6,
            "",
        )
        listed = Sqids(min_length=7)
        listed_codes = [listed.encode([n]) for n in numbers]
        if [listed.decode(c) for c in listed_codes] != [[n] for n in numbers]:
            raise AssertionError("sqids does not round-trip the benchmark's numbers")
        table.add(
            "sqids (min_length=7), its default list",
            time_per_item(lambda n: listed.encode([n]), numbers, repeat) * 1e6,
            time_per_item(listed.decode, listed_codes, repeat) * 1e6,
            "",
        )
    if installed("hashids"):
        hashids: Any = importlib.import_module("hashids")
        hs = hashids.Hashids(salt="bench", min_length=7)
        hs_codes = [hs.encode(n) for n in numbers]
        table.add(
            "hashids (min_length=7)",
            time_per_item(hs.encode, numbers, repeat) * 1e6,
            time_per_item(hs.decode, hs_codes, repeat) * 1e6,
            "",
        )
    table.note = (
        "Targets are the issue's absolute figures; compare against the peers' rows. Compare like "
        "with like: Obfuscator with sqids without a blocklist, CleanObfuscator (sqids' words) "
        "with sqids and its default list."
    )
    return [table]


@contextlib.contextmanager
def _maybe_redis() -> Iterator[str | None]:
    from designpatterns_ref.testing import ServerUnavailable, redis_server

    try:
        with redis_server() as server:
            yield server.url
    except ServerUnavailable:
        yield None


def _leasing(counter: Counter, block: int) -> Callable[[], Callable[[], object]]:
    return lambda: RangeAllocator(counter, block).allocate


def _hashing(hashes: HashCodes, urls: list[str]) -> Callable[[], Callable[[], object]]:
    def make() -> Callable[[], object]:
        it = iter(urls)
        return lambda: hashes.code(next(it))

    return make


def bench_allocators(quick: bool) -> list[Table]:
    """Codes per second from each allocator, and shortens per second from the service."""
    n, repeat = (2_000, 3) if quick else (20_000, 5)
    table = Table(
        f"allocators: codes per second (median of {repeat} runs of {n:,} codes)",
        ["allocator", "backing", "codes/s", "round trips per 1,000 codes"],
    )

    def rate(make: Callable[[], Callable[[], object]], count: int = n) -> float:
        runs = []
        for _ in range(repeat):
            take = make()
            start = time.perf_counter()
            for _ in range(count):
                take()
            runs.append(count / (time.perf_counter() - start))
        return statistics.median(runs)

    urls = [f"https://example.com/page/{i}" for i in range(n)]
    table.add("CounterAllocator", "in process", rate(lambda: CounterAllocator().allocate), 0)
    ob = Obfuscator("bench", width=7)
    table.add(
        "CounterAllocator + Obfuscator(7)",
        "in process",
        rate(lambda: CounterAllocator(obfuscator=ob).allocate),
        0,
    )
    table.add(
        "RangeAllocator(block=1000)",
        "MemoryCounter",
        rate(lambda: RangeAllocator(MemoryCounter(), 1000).allocate),
        1,
    )
    with tempfile.TemporaryDirectory(prefix="dpref-bench-") as tmp:
        path = Path(tmp) / "counter.db"
        for block in (1, 1000):
            counter = SQLiteCounter(path)
            count = n // 20 if block == 1 else n  # one durable commit or round trip per code
            table.add(
                f"RangeAllocator(block={block})",
                "SQLiteCounter",
                rate(_leasing(counter, block), count),
                1000 // block,
            )
            counter.close()
    with _maybe_redis() as url:
        if url is None:
            table.note = "Redis rows skipped: redis-server is not installed."
        else:
            import redis

            client = redis.Redis.from_url(url)
            for block in (1, 1000):
                counter_r = RedisCounter(client, key="bench")
                count = n // 20 if block == 1 else n  # one durable commit or round trip per code
                table.add(
                    f"RangeAllocator(block={block})",
                    "RedisCounter (INCRBY)",
                    rate(_leasing(counter_r, block), count),
                    1000 // block,
                )
            client.close()
    for name in ("mmh3", "xxhash"):
        table.add(
            f"HashCodes(7, {name!r})",
            "none (needs a store check)",
            rate(_hashing(HashCodes(length=7, hash=name), urls)),
            0,
        )

    service = Table(
        f"UrlShortener: new links per second ({n:,} distinct URLs, one thread)",
        ["store", "allocator", "shortens/s", "resolves/s"],
    )
    with tempfile.TemporaryDirectory(prefix="dpref-bench-") as tmp:
        for label, store in (("memory", None), ("SQLite (WAL)", Path(tmp) / "links.db")):
            with UrlShortener(store) as links:
                start = time.perf_counter()
                codes = [links.shorten(u) for u in urls]
                made = n / (time.perf_counter() - start)
                start = time.perf_counter()
                for c in codes:
                    links.resolve(c)
                read = n / (time.perf_counter() - start)
                allocator = type(links.allocator).__name__
                service.add(label, allocator, made, read)
    return [table, service]


def bench_snowflake(quick: bool) -> list[Table]:
    """Snowflake IDs per second: one thread, in batches, and eight threads on one generator."""
    n, repeat = (50_000, 3) if quick else (500_000, 7)
    gen = Snowflake(worker=1)
    table = Table(
        f"Snowflake: IDs per second (median of {repeat} runs of {n:,} IDs)",
        ["how", "IDs/s", "target"],
    )

    def one_thread() -> float:
        take = gen.next_id
        start = time.perf_counter()
        for _ in range(n):
            take()
        return n / (time.perf_counter() - start)

    def batched() -> float:
        start = time.perf_counter()
        gen.next_ids(n)
        return n / (time.perf_counter() - start)

    def eight_threads() -> float:
        per = n // 8

        def work() -> None:
            take = gen.next_id
            for _ in range(per):
                take()

        threads = [threading.Thread(target=work) for _ in range(8)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return per * 8 / (time.perf_counter() - start)

    table.add(
        "next_id(), one thread",
        statistics.median(one_thread() for _ in range(repeat)),
        "≥ 1,000,000",
    )
    table.add("next_ids(n), one thread", statistics.median(batched() for _ in range(repeat)), "")
    table.add(
        "next_id(), 8 threads, one generator",
        statistics.median(eight_threads() for _ in range(repeat)),
        "",
    )
    return [table]


def bench_birthday(quick: bool) -> list[Table]:
    """The birthday bound beside collisions measured with real hashes of distinct URLs."""
    trials = 10 if quick else 50
    cases = [(3, 200), (3, 700), (3, 2_000), (4, 2_000), (4, 6_000)]
    if not quick:
        cases += [(4, 20_000)]
    table = Table(
        f"birthday bound vs real hashing ({trials} trials of distinct URLs each)",
        [
            "chars",
            "space",
            "URLs",
            "hash",
            "P(collision) predicted",
            "measured",
            "colliding URLs expected",
            "measured mean",
        ],
    )
    for chars, n in cases:
        space = 62**chars
        for name in ("mmh3", "xxhash"):
            hashes = HashCodes(length=chars, hash=name)
            hits = 0
            colliding = []
            for trial in range(trials):
                codes = {hashes.code(f"https://example.com/{trial}/{i}") for i in range(n)}
                colliding.append(n - len(codes))
                hits += len(codes) < n
            table.add(
                chars,
                space,
                n,
                name,
                collision_probability(n, space),
                hits / trials,
                expected_collisions(n, space),
                statistics.fmean(colliding),
            )
    return [table]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps of ``dpref bench shortcode``."""
    return [
        ("codecs", lambda: bench_codecs(quick)),
        ("tuple codes", lambda: bench_tuples(quick)),
        ("blocklist", lambda: bench_blocklist(quick)),
        ("allocators", lambda: bench_allocators(quick)),
        ("snowflake", lambda: bench_snowflake(quick)),
        ("birthday bound", lambda: bench_birthday(quick)),
    ]
