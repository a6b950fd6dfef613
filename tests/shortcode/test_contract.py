"""One contract for every allocator behind the service, and a stateful model of the service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.shortcode import (
    AliasTaken,
    CodeAllocator,
    CodeExpired,
    CodeNotFound,
    CounterAllocator,
    HashCodes,
    MemoryCounter,
    Obfuscator,
    RangeAllocator,
    RedisCounter,
    SQLiteCounter,
    UrlShortener,
)

ALLOCATORS = [
    "counter",
    "counter+obfuscator",
    "range/memory",
    "range/sqlite",
    "range/redis",
    "range/cluster",
    "hash/mmh3",
    "hash/xxhash",
]


@pytest.fixture(params=ALLOCATORS)
def allocator(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CodeAllocator]:
    kind: str = request.param
    closers: list[Callable[[], None]] = []
    alloc: CodeAllocator
    if kind == "counter":
        alloc = CounterAllocator()
    elif kind == "counter+obfuscator":
        alloc = CounterAllocator(obfuscator=Obfuscator("contract", width=5))
    elif kind == "range/memory":
        alloc = RangeAllocator(MemoryCounter(), block=16)
    elif kind == "range/sqlite":
        counter = SQLiteCounter(tmp_path / "counter.db")
        closers.append(counter.close)
        alloc = RangeAllocator(counter, block=16)
    elif kind == "range/redis":
        alloc = RangeAllocator(RedisCounter(request.getfixturevalue("redis_url")), block=16)
    elif kind == "range/cluster":
        client = request.getfixturevalue("redis_cluster_client")
        alloc = RangeAllocator(RedisCounter(client), block=16)
    else:
        alloc = HashCodes(length=4, hash=kind.split("/")[1])
    yield alloc
    for close in closers:
        close()


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_every_allocator_gives_unique_codes_that_resolve(
    allocator: CodeAllocator, store: str, tmp_path: Path
) -> None:
    assert isinstance(allocator, CodeAllocator)
    with UrlShortener(
        None if store == "memory" else tmp_path / "links.db", allocator=allocator
    ) as s:
        urls = [f"https://example.com/{i}" for i in range(300)]
        codes = [s.shorten(u) for u in urls]
        assert len(set(codes)) == len(codes)
        assert [s.resolve(c) for c in codes] == urls
        assert [s.shorten(u) for u in urls[:20]] == codes[:20]  # one code per URL
        s.shorten("https://example.com/alias-target", alias="taken-alias")
        assert s.resolve("taken-alias") == "https://example.com/alias-target"


URLS = st.sampled_from([f"https://example.com/{p}" for p in "abcdef"])
ALIASES = st.sampled_from(["promo", "sale-1", "x_y_z"])


class ShortenerModel(RuleBasedStateMachine):
    """The service against a dict: every live code resolves to the URL it was given for."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(start=1_700_000_000.0)
        self.links = UrlShortener(
            clock=self.clock, allocator=CounterAllocator(obfuscator=Obfuscator("m", width=3))
        )
        self.model: dict[str, tuple[str, float | None]] = {}  # code -> (url, expires_at)
        self.canonical: dict[str, str] = {}
        self.clicks: dict[str, int] = {}

    @rule(url=URLS, ttl=st.one_of(st.none(), st.integers(min_value=1, max_value=100)))
    def shorten(self, url: str, ttl: int | None) -> None:
        code = self.links.shorten(url, ttl=ttl)
        if ttl is None:
            assert self.canonical.setdefault(url, code) == code
        else:
            assert code not in self.model
        if code not in self.model:
            now = self.clock()
            self.model[code] = (url, None if ttl is None else now + ttl)
            self.clicks[code] = 0
        assert self.model[code][0] == url

    @rule(url=URLS, alias=ALIASES)
    def alias(self, url: str, alias: str) -> None:
        held = self.model.get(alias)
        try:
            got = self.links.shorten(url, alias=alias)
        except AliasTaken:
            assert held is not None and held[0] != url
            return
        assert got == alias
        if held is None:
            self.model[alias] = (url, None)
            self.clicks[alias] = 0

    @rule(seconds=st.integers(min_value=0, max_value=60))
    def wait(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def resolve(self, data: st.DataObject) -> None:
        code = data.draw(st.sampled_from(sorted(self.model)))
        url, expires = self.model[code]
        if expires is not None and self.clock() >= expires:
            with pytest.raises(CodeExpired):
                self.links.resolve(code)
        else:
            assert self.links.resolve(code) == url
            self.clicks[code] += 1

    @rule()
    def purge(self) -> None:
        now = self.clock()
        gone = [c for c, (_, e) in self.model.items() if e is not None and now >= e]
        assert self.links.purge_expired() == len(gone)
        for code in gone:
            del self.model[code]
            with pytest.raises(CodeNotFound):
                self.links.info(code)

    @invariant()
    def store_matches_model(self) -> None:
        stored = {link.code: (link.url, link.expires_at) for link in self.links.links()}
        assert stored == self.model
        for code, count in self.clicks.items():
            if code in self.model:
                assert self.links.clicks(code) == count


TestShortenerModel = ShortenerModel.TestCase
TestShortenerModel.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
