"""``dpref tour shortcode``: every way to make a short code, what it costs, where it breaks."""

from __future__ import annotations

from collections.abc import Callable

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.shortcode.base import ClockMovedBackwards, CodeExpired, CollisionError
from designpatterns_ref.shortcode.base62 import encode
from designpatterns_ref.shortcode.birthday import codes_until_collision, collision_probability
from designpatterns_ref.shortcode.blocklist import Blocklist, CleanObfuscator
from designpatterns_ref.shortcode.counter import CounterAllocator
from designpatterns_ref.shortcode.hashing import HashCodes
from designpatterns_ref.shortcode.obfuscate import Obfuscator
from designpatterns_ref.shortcode.ranges import MemoryCounter, RangeAllocator
from designpatterns_ref.shortcode.service import UrlShortener
from designpatterns_ref.shortcode.snowflake import INSTAGRAM, INSTAGRAM_EPOCH_MS, Layout, Snowflake
from designpatterns_ref.shortcode.tuples import TupleCodes

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Print the shortcode story, deterministically, in a fraction of a second."""
    out("A short code is a number written in base62 (0-9, A-Z, a-z):")
    out(f"  125 -> {encode(125)!r}; 7 characters hold 62**7 = {62**7:,} codes.")

    counter = CounterAllocator(start=1_000_000, width=7)
    plain = [counter.allocate() for _ in range(3)]
    out(f"\nA counter gives unique codes, but in order: {plain}.")
    ob = Obfuscator(key="tour", width=7)
    hidden = CounterAllocator(start=1_000_000, obfuscator=ob)
    scrambled = [hidden.allocate() for _ in range(3)]
    out(f"A keyed Feistel permutation hides the order: {scrambled},")
    out(f"  and is undone exactly: {[ob.decode(c) for c in scrambled]} (order hidden, not secret).")
    pairs = TupleCodes((1024, 2**40), key="tour")
    pair_code = pairs.encode((17, 123_456_789))
    out(
        f"  Two numbers in one code: (17, 123456789) -> {pair_code!r} -> {pairs.decode(pair_code)};"
    )
    out(f"  always {pairs.width} characters for shard < 1024 and id < 2**40, no separator.")
    small = Obfuscator("tour", width=3)
    clean = CleanObfuscator(small, Blocklist(["a", "e"]))
    n = next(
        m for m in range(100, 1000) if clean.is_clean(m) and clean.encode(m) != small.encode(m)
    )
    out(
        f"  A blocklist (here 'a' and 'e'): the permutation sends {n} to {small.encode(n)!r}, "
        "blocked,"
    )
    out(f"  so the walk goes on along the cycle to {clean.encode(n)!r}, which decodes to")
    out(f"  {clean.decode(clean.encode(n))}: still one code per number, none with a listed word.")

    shared = MemoryCounter()
    a, b = RangeAllocator(shared, block=1000), RangeAllocator(shared, block=1000)
    first_a = [a.next_number() for _ in range(3)]
    out(f"\nTicket server: app server A leases [0, 1000) and hands out {first_a} locally;")
    out(f"  server B leases the next block and starts at {b.next_number()}.")
    out(
        f"  If A crashes now, its {a.remaining()} unused numbers are a gap: harmless, never reused."
    )
    restarted = RangeAllocator(shared, block=1000)
    out(f"  A's replacement leases a fresh block and starts at {restarted.next_number()}.")

    hashes = HashCodes(length=2, max_attempts=3)
    links = UrlShortener(allocator=hashes)
    made = 0
    try:
        for i in range(10_000):
            links.shorten(f"https://example.com/{i}")
            made += 1
    except CollisionError:
        pass
    out("\nHashing the URL needs no counter, but codes collide: with 2-character codes")
    out(f"  (3,844 of them) and 3 salted tries, shortening stopped after {made:,} URLs.")
    n = codes_until_collision(0.5, 62**7)
    out(f"  The birthday bound: 7 characters give an even chance of a collision after {n:,}")
    out(f"  URLs, and a {collision_probability(1_000_000, 62**7):.0%} chance after one million.")

    clock = ManualClock(start=1_700_000_000.0)
    gen = Snowflake(
        worker=42,
        layout=Layout(41, 10, 2),
        clock=clock,
        sleep=clock.advance,
        max_backwards=0.005,
    )
    ids = [gen.next_id() for _ in range(6)]
    parts = [gen.decompose(i) for i in ids]
    out("\nSnowflake: time | worker | sequence. With 2 sequence bits (4 IDs per ms):")
    out(f"  sequences {[p.sequence for p in parts]}: the 5th ID waited for the next millisecond.")
    clock.set(clock() - 0.003, allow_backwards=True)
    after = gen.next_id()
    out("  The clock stepped back 3 ms: the generator waited it out;")
    out(f"  the next ID {after} is still greater than {ids[-1]}.")
    clock.set(clock() - 1.0, allow_backwards=True)
    try:
        gen.next_id()
    except ClockMovedBackwards as exc:
        out("  Back 1 s, beyond max_backwards=5 ms: refused with ClockMovedBackwards:")
        out(f"  {exc}")
    out(
        f"  Instagram's layout ({INSTAGRAM.time_bits}/{INSTAGRAM.worker_bits}/"
        f"{INSTAGRAM.sequence_bits} bits, epoch {INSTAGRAM_EPOCH_MS} ms)"
    )
    shards = INSTAGRAM.max_worker + 1
    out(f"  gives {INSTAGRAM.ids_per_ms:,} IDs per ms on each of {shards:,} shards.")

    clock = ManualClock(start=1_700_000_000.0)
    service = UrlShortener(clock=clock, allocator=CounterAllocator(obfuscator=ob))
    code = service.shorten("https://example.com/a/very/long/article?utm_source=tour")
    again = service.shorten("https://example.com/a/very/long/article?utm_source=tour")
    service.shorten("https://example.com/spring-sale", alias="sale", ttl=3600)
    for _ in range(3):
        service.resolve(code)
    same = "the same code" if code == again else "two codes"
    out(f"\nThe service: shortening one URL twice gave {same}, {code!r};")
    out(f"  it counted {service.clicks(code)} clicks, and made an alias 'sale' that lives an hour.")
    clock.advance(3601)
    try:
        service.resolve("sale")
    except CodeExpired as exc:
        out(f"  An hour later: {exc}.")
