"""shortcode: codecs, allocators, counters, stores, Snowflake and the shortener service.

``Link``'s fields are fuzzed through every store's ``insert`` (which checks them), and its
``expired`` on a valid link. Not registered: the returned records (``NOT_FUZZED``) and the
protocols. ``RedisCounter`` is
registered against a throwaway server started on first use (``helpers.redis_url``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from typing import Any

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.shortcode import (
    Alphabet,
    AvoidingCodes,
    Blocklist,
    CleanObfuscator,
    CodeNotFound,
    CounterAllocator,
    HashCodes,
    KeyedPermutation,
    Layout,
    Link,
    MemoryCounter,
    MemoryStore,
    NumberCodes,
    Obfuscator,
    RangeAllocator,
    RedisCounter,
    ShortCodeError,
    Snowflake,
    SQLiteCounter,
    SQLiteStore,
    TupleCodes,
    UrlShortener,
    codes_until_collision,
    collision_probability,
    decode,
    decode_bytes,
    decompose,
    encode,
    encode_bytes,
    expected_collisions,
)
from tests.fuzz.helpers import empty_redis_url, in_scratch_dir, per_argument
from tests.fuzz.spec import Entry

ERRORS = (ShortCodeError, CodeNotFound)
NOT_FUZZED: dict[str, str] = {
    "Link": "the record a store returns for a code; its one question (expired) is fuzzed on one",
    "Insert": "the enum a store's insert returns; users compare against its members",
    "SnowflakeParts": "the fields Snowflake.decompose and decompose return; users read them",
}

_LINK = Link("abc", "https://example.com/a", 1_700_000_000.0)


def _sqlite_rows(store: Any) -> object:
    if store is None:
        return None
    tables = ("links", "shortcode_counters")
    conn = store._conn  # the store's own connection: what it holds, as rows
    out = []
    for table in tables:
        with contextlib.suppress(Exception):
            out.append(sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr))
    return out


def _memory_store() -> MemoryStore:
    store = MemoryStore()
    store.insert(_LINK)
    return store


def _sqlite_store() -> SQLiteStore:
    store = SQLiteStore(":memory:")
    store.insert(_LINK)
    return store


def _sqlite_counter() -> SQLiteCounter:
    counter = SQLiteCounter(":memory:", "links", start=5)
    return counter


def _shortener() -> UrlShortener:
    links = UrlShortener(clock=ManualClock(1_700_000_000.0))
    links.shorten("https://example.com/a")
    return links


def _redis_counter() -> RedisCounter:
    return RedisCounter(empty_redis_url(), key="fuzz:counter")


def _redis_value(counter: Any) -> object:
    return None if counter is None else counter.client.get(counter.key)


def _store_entries(kind: str, make: Any, snapshot: Any) -> list[Entry]:
    out = [
        Entry(f"{kind}.{m}(code)", call=lambda s, v, m=m: getattr(s, m)(v), make=make,
              snapshot=snapshot)
        for m in ("get", "delete")
    ]  # fmt: skip
    out += [
        Entry(f"{kind}.hit(code)", call=lambda s, v: s.hit(v, 1), make=make, snapshot=snapshot),
        Entry(f"{kind}.hit(generation)", call=lambda s, v: s.hit("abc", v), make=make,
              snapshot=snapshot),
    ]  # fmt: skip
    out += [
        Entry(f"{kind}.canonical(url)", call=lambda s, v: s.canonical(v), make=make,
              snapshot=snapshot),
        Entry(f"{kind}.purge_expired(now)", call=lambda s, v: s.purge_expired(v), make=make,
              snapshot=snapshot),
        Entry(f"{kind}.insert(link)", call=lambda s, v: s.insert(v), make=make,
              snapshot=snapshot),
    ]  # fmt: skip
    for field in dataclasses.fields(Link):
        out.append(
            Entry(
                f"{kind}.insert(Link({field.name}=))",
                call=lambda s, v, f=field.name: s.insert(
                    dataclasses.replace(_LINK, **{"code": "new", f: v})
                ),
                make=make,
                snapshot=snapshot,
            )
        )
    return out


class _HitWithoutGeneration(MemoryStore):
    """A user's store written to the protocol from before ``hit`` took the generation."""

    def hit(self, code: str) -> bool:  # type: ignore[override]
        link = self.get(code)
        return link is not None and super().hit(code, link.generation)


def _shortener_with(**kw: Any) -> None:
    """Make a shortener, and if it was accepted, use it once: a store it accepts must work."""
    with in_scratch_dir():  # a hostile store= str is a file name: keep it out of the checkout
        links = UrlShortener(**kw)
        try:
            if kw["store"] is not None:
                links.resolve(links.shorten("https://example.com/a"))
        finally:
            links.close()


def _sqlite_store_at(path: Any) -> None:
    with in_scratch_dir():
        SQLiteStore(path).close()


def _sqlite_counter_at(**kw: Any) -> None:
    with in_scratch_dir():
        SQLiteCounter(**kw).close()


_counter_ids = itertools.count()

ENTRIES = [
    # base62 and the alphabet
    *per_argument("encode", lambda _, **kw: encode(**kw), {"n": 125, "width": 6, "alphabet": None}),
    *per_argument("decode", lambda _, **kw: decode(**kw), {"code": "21", "width": None,
                                                           "alphabet": None}),
    *per_argument("encode_bytes", lambda _, **kw: encode_bytes(**kw),
                  {"data": b"\x00hi", "alphabet": None}),
    *per_argument("decode_bytes", lambda _, **kw: decode_bytes(**kw),
                  {"code": "047", "alphabet": None}),
    Entry("Alphabet(chars)", call=lambda _, v: Alphabet(v)),
    *per_argument("Alphabet.capacity", lambda a, **kw: a.capacity(**kw), {"width": 3},
                  make=lambda: Alphabet("0123456789abcdef")),
    *per_argument("Alphabet.encode", lambda a, **kw: a.encode(**kw), {"n": 255, "width": None},
                  make=lambda: Alphabet("0123456789abcdef")),
    *per_argument("Alphabet.decode", lambda a, **kw: a.decode(**kw), {"code": "ff", "width": 2},
                  make=lambda: Alphabet("0123456789abcdef")),
    Entry("Alphabet.encode_bytes(data)", call=lambda a, v: a.encode_bytes(v),
          make=lambda: Alphabet("0123456789abcdef")),
    Entry("Alphabet.decode_bytes(code)", call=lambda a, v: a.decode_bytes(v),
          make=lambda: Alphabet("0123456789abcdef")),
    Entry("Link.expired(now)", call=lambda link, v: link.expired(v),
          make=lambda: dataclasses.replace(_LINK, expires_at=1_700_000_100.0)),
    Entry("Link.expired(now) without expiry", call=lambda link, v: link.expired(v),
          make=lambda: _LINK),
    # the birthday bound
    *per_argument("collision_probability", lambda _, **kw: collision_probability(**kw),
                  {"n": 1000, "space": 62**6}),
    *per_argument("expected_collisions", lambda _, **kw: expected_collisions(**kw),
                  {"n": 1000, "space": 62**6}),
    *per_argument("codes_until_collision", lambda _, **kw: codes_until_collision(**kw),
                  {"p": 0.5, "space": 62**6}),
    # allocators
    *per_argument("CounterAllocator", lambda _, **kw: CounterAllocator(**kw),
                  {"start": 0, "width": None, "obfuscator": None, "alphabet": None}),
    Entry("CounterAllocator(width=3, blocklist)",
          call=lambda _, v: CounterAllocator(width=3, blocklist=v)),
    *per_argument("CounterAllocator.allocate", lambda a, **kw: a.allocate(**kw),
                  {"url": "https://e.com/"}, make=lambda: CounterAllocator(start=61, width=2)),
    *per_argument("HashCodes", lambda _, **kw: HashCodes(**kw),
                  {"length": 7, "hash": "mmh3", "max_attempts": 8, "alphabet": None}),
    *per_argument("HashCodes.code", lambda h, **kw: h.code(**kw),
                  {"url": "https://e.com/", "salt": 0}, make=HashCodes),
    *per_argument("HashCodes.allocate", lambda h, **kw: h.allocate(**kw),
                  {"url": "https://e.com/"}, make=HashCodes),
    *per_argument("HashCodes.candidates", lambda h, **kw: list(h.candidates(**kw)),
                  {"url": "https://e.com/"}, make=HashCodes),
    *per_argument("NumberCodes", lambda _, **kw: NumberCodes(**kw),
                  {"width": 4, "obfuscator": None, "alphabet": None}),
    *per_argument("NumberCodes.code", lambda c, **kw: c.code(**kw), {"n": 7},
                  make=lambda: NumberCodes(4)),
    *per_argument("NumberCodes.check", lambda c, **kw: c.check(**kw), {"n": 7},
                  make=lambda: NumberCodes(4)),
    *per_argument("Obfuscator", lambda _, **kw: Obfuscator(**kw),
                  {"key": "secret", "width": 7, "alphabet": None, "rounds": 4}),
    *(
        entry
        for method, arg, good in (("permute", "n", 5), ("unpermute", "m", 5),
                                  ("encode", "n", 5), ("decode", "code", "0000005"))
        for entry in per_argument(f"Obfuscator.{method}",
                                  lambda o, method=method, **kw: getattr(o, method)(**kw),
                                  {arg: good}, make=lambda: Obfuscator("secret", 7))
    ),
    *per_argument("Obfuscator.within", lambda o, **kw: o.within(**kw), {"size": 1000},
                  make=lambda: Obfuscator("secret", 7)),
    *per_argument("KeyedPermutation", lambda _, **kw: KeyedPermutation(**kw),
                  {"key": "secret", "size": 1000, "rounds": 4}),
    *(
        entry
        for method, arg in (("permute", "n"), ("unpermute", "m"))
        for entry in per_argument(f"KeyedPermutation.{method}",
                                  lambda o, method=method, **kw: getattr(o, method)(**kw),
                                  {arg: 5}, make=lambda: KeyedPermutation("secret", 1000))
    ),
    # several numbers in one code, and the blocklist
    *per_argument("TupleCodes", lambda _, **kw: TupleCodes(**kw),
                  {"bounds": (1024, 2**40), "key": "k", "alphabet": None, "rounds": 4,
                   "blocklist": Blocklist(["ab"])}),
    *per_argument("AvoidingCodes", lambda _, **kw: AvoidingCodes(**kw),
                  {"chars": "abc", "words": ["ab"], "width": 3, "rule": "sqids"}),
    *per_argument("AvoidingCodes.for_blocklist",
                  lambda _, **kw: AvoidingCodes.for_blocklist(**kw),
                  {"chars": "abc", "blocklist": Blocklist(["ab"]), "width": 3, "where": "w"}),
    Entry("CounterAllocator.candidates(url)", call=lambda a, v: next(a.candidates(v)),
          make=lambda: CounterAllocator(start=61, width=2)),
    Entry("RangeAllocator.candidates(url)", call=lambda a, v: next(a.candidates(v)),
          make=lambda: RangeAllocator(MemoryCounter(), 10, width=3)),
    Entry("AvoidingCodes.code(i)", call=lambda a, v: a.code(v),
          make=lambda: AvoidingCodes("abc", ["ab"], 3)),
    Entry("AvoidingCodes.number(code)", call=lambda a, v: a.number(v),
          make=lambda: AvoidingCodes("abc", ["ab"], 3)),
    *(
        entry
        for method, arg, good in (("encode", "values", (3, 5)), ("decode", "code", "000000001"),
                                  ("pack", "values", (3, 5)), ("unpack", "n", 5))
        for entry in per_argument(f"TupleCodes.{method}",
                                  lambda t, method=method, **kw: getattr(t, method)(**kw),
                                  {arg: good}, make=lambda: TupleCodes((1024, 2**40), key="k"))
    ),
    *per_argument("Blocklist.check_spellable", lambda b, **kw: b.check_spellable(**kw),
                  {"chars": "abc", "where": "here"}, make=lambda: Blocklist(["ab"])),
    *per_argument("Blocklist", lambda _, **kw: Blocklist(**kw),
                  {"words": ("ab", "cd"), "rule": "anywhere"}),
    # each hostile value as one word among good ones, not only as the whole list
    *(
        Entry(f"Blocklist(words=[{where}], rule={rule!r})",
              call=lambda _, v, rule=rule, at=at: Blocklist([*("ab", "cd")[:at], v, "ef"],
                                                            rule=rule))
        for rule in ("anywhere", "sqids")
        for at, where in ((0, "v, ..."), (2, "..., v, ..."))
    ),
    Entry("AvoidingCodes(words=[..., v])",
          call=lambda _, v: AvoidingCodes("abc", ["ab", v], 3, rule="sqids")),
    *(
        Entry(f"Blocklist.{m}(code)", call=lambda b, v, m=m: getattr(b, m)(v),
              make=lambda: Blocklist(["ab"], rule="sqids"))
        for m in ("blocks", "found")
    ),
    *per_argument("CleanObfuscator", lambda _, **kw: CleanObfuscator(**kw),
                  {"obfuscator": Obfuscator("k", 4), "blocklist": Blocklist(["ab"])}),
    *(
        Entry(f"CleanObfuscator.{m}", call=lambda c, v, m=m: getattr(c, m)(v),
              make=lambda: CleanObfuscator(Obfuscator("k", 4), Blocklist(["ab"])))
        for m in ("encode", "decode", "is_clean", "next_clean")
    ),
    *per_argument("RangeAllocator", lambda _, **kw: RangeAllocator(**kw),
                  {"counter": MemoryCounter(), "block": 10, "width": None, "obfuscator": None,
                   "alphabet": None}),
    Entry("RangeAllocator(width=3, blocklist)",
          call=lambda _, v: RangeAllocator(MemoryCounter(), 10, width=3, blocklist=v)),
    # counters
    Entry("MemoryCounter(start)", call=lambda _, v: MemoryCounter(v)),
    *per_argument("MemoryCounter.reserve", lambda c, **kw: c.reserve(**kw),
                  {"n": 3, "limit": 100}, make=lambda: MemoryCounter(5)),
    *per_argument("SQLiteCounter", lambda _, **kw: _sqlite_counter_at(**kw),
                  {"path": ":memory:", "name": "links", "start": 0}),
    *per_argument("SQLiteCounter.reserve", lambda c, **kw: c.reserve(**kw),
                  {"n": 3, "limit": 100}, make=_sqlite_counter, snapshot=_sqlite_rows),
    *per_argument("RedisCounter", lambda _, **kw: RedisCounter(**kw),
                  {"client": "redis://127.0.0.1:1/0", "key": "k", "deadline": 0.25}),
    *per_argument("RedisCounter.reserve", lambda c, **kw: c.reserve(**kw),
                  {"n": 3, "limit": 100}, make=_redis_counter, snapshot=_redis_value),
    # stores
    Entry("SQLiteStore(path)", call=lambda _, v: _sqlite_store_at(v)),
    *_store_entries("MemoryStore", _memory_store, None),
    *_store_entries("SQLiteStore", _sqlite_store, _sqlite_rows),
    # Snowflake
    *per_argument("Layout", lambda _, **kw: Layout(**kw),
                  {"time_bits": 41, "worker_bits": 10, "sequence_bits": 12}),
    *per_argument("Snowflake", lambda _, **kw: Snowflake(**kw),
                  {"worker": 1, "layout": Layout(), "epoch_ms": 0, "clock": None,
                   "max_backwards": 0.01}),
    Entry("Snowflake.next_ids(count)", call=lambda s, v: s.next_ids(v),
          make=lambda: Snowflake(1)),
    Entry("Snowflake.decompose(id_)", call=lambda s, v: s.decompose(v),
          make=lambda: Snowflake(1)),
    *per_argument("decompose", lambda _, **kw: decompose(**kw),
                  {"id_": 1 << 22, "layout": Layout(), "epoch_ms": 0}),
    # the service
    *per_argument("UrlShortener", lambda _, **kw: _shortener_with(**kw),
                  {"store": None, "allocator": None, "one_code_per_url": True,
                   "clock": ManualClock(0.0), "max_url_length": 2048, "max_attempts": 64,
                   "reserved": frozenset({"admin"})},
                  values=(_HitWithoutGeneration(),)),
    *per_argument("UrlShortener.shorten", lambda s, **kw: s.shorten(**kw),
                  {"url": "https://example.com/b", "alias": None, "ttl": None},
                  make=_shortener),
    *per_argument("UrlShortener.shorten(alias)", lambda s, **kw: s.shorten(**kw),
                  {"url": "https://example.com/b", "alias": "promo", "ttl": 60},
                  make=_shortener),
    *(
        Entry(f"UrlShortener.{m}(code)", call=lambda s, v, m=m: getattr(s, m)(v),
              make=_shortener)
        for m in ("info", "resolve", "clicks", "delete")
    ),
]  # fmt: skip
