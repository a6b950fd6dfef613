"""UrlShortener: one contract over both stores, input checks that store nothing, threads."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.shortcode import (
    AliasTaken,
    CodeExpired,
    CodeNotFound,
    CollisionError,
    CounterAllocator,
    HashCodes,
    InvalidAlias,
    InvalidUrl,
    Link,
    MemoryStore,
    Obfuscator,
    RangeAllocator,
    RedisCounter,
    ShortCodeError,
    SQLiteStore,
    UrlShortener,
)

T0 = 1_700_000_000.0
URL = "https://example.com/some/long/path?q=1"


@pytest.fixture(params=["memory", "sqlite"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    opened: list[UrlShortener] = []

    def factory(**kwargs: object) -> UrlShortener:
        store = None if request.param == "memory" else tmp_path / "links.db"
        s = UrlShortener(store, **kwargs)  # type: ignore[arg-type]
        opened.append(s)
        return s

    yield factory
    for s in opened:
        s.close()


def test_shorten_and_resolve(make) -> None:  # type: ignore[no-untyped-def]
    links = make(clock=ManualClock(start=T0))
    code = links.shorten(URL)
    assert links.resolve(code) == URL
    assert links.info(code) == Link(code, URL, T0, None, 1, canonical=True)
    assert len(links) == 1


def test_one_code_per_url_or_a_new_code_each_time(make) -> None:  # type: ignore[no-untyped-def]
    shared = make()
    assert shared.shorten(URL) == shared.shorten(URL)
    fresh = make(one_code_per_url=False, allocator=CounterAllocator(start=10**6))
    a, b = fresh.shorten(URL), fresh.shorten(URL)
    assert a != b and fresh.resolve(a) == fresh.resolve(b) == URL


def test_clicks_are_counted(make) -> None:  # type: ignore[no-untyped-def]
    links = make()
    code = links.shorten(URL)
    assert links.clicks(code) == 0
    for _ in range(5):
        links.resolve(code)
    assert links.clicks(code) == 5
    assert links.info(code).clicks == 5  # info does not count


def test_expiry(make) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(start=T0)
    links = make(clock=clock)
    permanent = links.shorten(URL)
    temporary = links.shorten(URL, ttl=30)
    assert temporary != permanent  # expiring links are never shared
    assert links.info(temporary).expires_at == T0 + 30
    clock.advance(29.5)
    assert links.resolve(temporary) == URL
    clock.advance(0.5)
    with pytest.raises(CodeExpired, match="expired 0 s ago"):
        links.resolve(temporary)
    assert isinstance(CodeExpired("x"), CodeNotFound)
    assert links.resolve(permanent) == URL
    assert links.purge_expired() == 1
    with pytest.raises(CodeNotFound, match="does not exist"):
        links.resolve(temporary)
    assert links.purge_expired() == 0


def test_aliases(make) -> None:  # type: ignore[no-untyped-def]
    links = make()
    assert links.shorten(URL, alias="my-link_1") == "my-link_1"
    assert links.shorten(URL, alias="my-link_1") == "my-link_1"  # a retry is fine
    with pytest.raises(AliasTaken, match="my-link_1"):
        links.shorten("https://other.example", alias="my-link_1")
    assert links.resolve("my-link_1") == URL
    assert links.info("my-link_1").alias
    assert links.shorten(URL) != "my-link_1"  # the alias is not the URL's shared code


def test_counter_codes_skip_aliases(make) -> None:  # type: ignore[no-untyped-def]
    links = make(allocator=CounterAllocator(start=62**2), one_code_per_url=False)
    links.shorten("https://a.example", alias="100")  # the code the counter would give next
    code = links.shorten("https://b.example")
    assert code == "101"
    assert links.resolve("100") == "https://a.example"


def test_delete(make) -> None:  # type: ignore[no-untyped-def]
    links = make()
    code = links.shorten(URL)
    assert links.delete(code)
    assert not links.delete(code)
    with pytest.raises(CodeNotFound):
        links.clicks(code)
    assert links.shorten(URL) != code  # counters never reuse a code


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "scheme 'ftp'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("example.com/path", "scheme ''"),
        ("https:///path", "no host"),
        ("https://exa mple.com", "' ' at position 11"),
        ("https://example.com/\x00", "position 20"),
        ("https://example.com/\u0085", "control characters"),
        ("https://example.com:99999/", "does not parse"),
        ("https://[::1/", "does not parse"),
        ("https://example.com/" + "a" * 2100, "at most max_url_length=2048"),
        (b"https://example.com", "must be a str"),
    ],
)
def test_bad_urls_are_refused_and_store_nothing(make, url: object, message: str) -> None:  # type: ignore[no-untyped-def]
    links = make()
    with pytest.raises(InvalidUrl, match=message):
        links.shorten(url)
    assert len(links) == 0


@pytest.mark.parametrize(
    ("alias", "message"),
    [
        ("ab", "3 to 64"),
        ("a" * 65, "3 to 64"),
        ("has space", "3 to 64"),
        ("dot.dot", "3 to 64"),
        ("ünï", "3 to 64"),
        ("admin", "reserved"),
        ("API", "reserved"),
        (42, "must be a str"),
    ],
)
def test_bad_aliases_are_refused_and_store_nothing(make, alias: object, message: str) -> None:  # type: ignore[no-untyped-def]
    links = make()
    with pytest.raises(InvalidAlias, match=message):
        links.shorten(URL, alias=alias)
    assert len(links) == 0


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), "60", True])
def test_bad_ttls_store_nothing(make, ttl: object) -> None:  # type: ignore[no-untyped-def]
    links = make()
    with pytest.raises(ShortCodeError, match="ttl="):
        links.shorten(URL, ttl=ttl)
    assert len(links) == 0


def test_custom_reserved_words_and_limits() -> None:
    links = UrlShortener(reserved={"Promo"}, max_url_length=30)
    with pytest.raises(InvalidAlias, match="reserved"):
        links.shorten("https://example.com", alias="promo")
    assert links.shorten("https://example.com", alias="admin") == "admin"
    with pytest.raises(InvalidUrl, match="max_url_length=30"):
        links.shorten("https://example.com/" + "x" * 20)


def test_unknown_codes(make) -> None:  # type: ignore[no-untyped-def]
    links = make()
    with pytest.raises(CodeNotFound, match="code='nope'"):
        links.resolve("nope")
    with pytest.raises(ShortCodeError, match="must be a str"):
        links.resolve(5)


def test_hash_codes_one_per_url_and_collisions() -> None:
    links = UrlShortener(allocator=HashCodes(length=1, max_attempts=3))
    first = links.shorten("https://example.com/0")
    assert links.shorten("https://example.com/0") == first
    made = {first}
    with pytest.raises(CollisionError, match="nothing was stored"):
        for i in range(1, 200):  # 62 one-character codes, three tries each: must run out
            made.add(links.shorten(f"https://example.com/{i}"))
    assert len(links) == len(made)


def test_hash_codes_refuse_a_new_code_each_time() -> None:
    with pytest.raises(ShortCodeError, match="one code per URL"):
        UrlShortener(allocator=HashCodes(), one_code_per_url=False)


def test_hash_codes_refuse_an_expiring_link_and_store_nothing() -> None:
    # Each expiring link of one URL would take one of its few salted codes, and the ninth
    # would fail with "taken by other links", which is false.
    links = UrlShortener(allocator=HashCodes(length=7, max_attempts=8))
    with pytest.raises(ShortCodeError, match=r"ttl=60\.0 with HashCodes"):
        links.shorten("https://example.com/sale", ttl=60)
    assert len(links) == 0
    assert links.shorten("https://example.com/sale", alias="sale", ttl=60) == "sale"


@pytest.mark.parametrize("one_code_per_url", [True, False])
def test_generated_codes_are_never_reserved_words(
    make,  # type: ignore[no-untyped-def]
    one_code_per_url: bool,
) -> None:
    # A counter reaches "api" at its 141,591st link, as an alias it would be refused.
    from designpatterns_ref.shortcode import decode

    start = decode("api") - 2
    links = make(allocator=CounterAllocator(start=start), one_code_per_url=one_code_per_url)
    codes = [links.shorten(f"https://example.com/{i}") for i in range(4)]
    assert "api" not in codes
    assert codes == ["apg", "aph", "apj", "apk"]  # "api" skipped, nothing else lost
    capital = make(allocator=CounterAllocator(start=decode("API")))
    assert capital.shorten("https://example.com/x") != "API"  # compared without case


def test_constructor_checks() -> None:
    with pytest.raises(ShortCodeError, match="store="):
        UrlShortener(store=42)  # type: ignore[arg-type]
    with pytest.raises(ShortCodeError, match="allocator="):
        UrlShortener(allocator=object())  # type: ignore[arg-type]
    with pytest.raises(ShortCodeError, match="max_attempts=0"):
        UrlShortener(max_attempts=0)
    with pytest.raises(ShortCodeError, match="one_code_per_url="):
        UrlShortener(one_code_per_url=1)  # type: ignore[arg-type]
    with pytest.raises(ShortCodeError, match="clock="):
        UrlShortener(clock=5)  # type: ignore[arg-type]
    with pytest.raises(ShortCodeError, match="reserved="):
        UrlShortener(reserved="admin")  # type: ignore[arg-type]


def test_sqlite_survives_reopening_and_keeps_counting(tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    with UrlShortener(path, clock=ManualClock(start=T0)) as links:
        a = links.shorten("https://a.example")
        links.resolve(a)
        links.shorten("https://b.example", alias="bee", ttl=10)
    with UrlShortener(path, clock=ManualClock(start=T0 + 5)) as links:
        assert links.resolve(a) == "https://a.example"
        assert links.clicks(a) == 2
        assert links.resolve("bee") == "https://b.example"
        assert links.shorten("https://a.example") == a  # one code per URL across reopenings
        c = links.shorten("https://c.example")
        assert c not in (a, "bee")  # the counter resumes after its last leased block


def test_sqlite_unique_index_holds_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    one, two = SQLiteStore(path), SQLiteStore(path)
    from designpatterns_ref.shortcode import Insert

    assert one.insert(Link("a", URL, T0, canonical=True)) is Insert.OK
    assert two.insert(Link("b", URL, T0, canonical=True)) is Insert.URL_TAKEN
    assert two.insert(Link("a", "https://x.example", T0)) is Insert.CODE_TAKEN
    assert two.insert(Link("b", URL, T0)) is Insert.OK  # not canonical: allowed
    one.close()
    two.close()


def test_memory_store_delete_frees_the_canonical_slot() -> None:
    store = MemoryStore()
    from designpatterns_ref.shortcode import Insert

    store.insert(Link("a", URL, T0, canonical=True))
    assert store.canonical(URL) is not None
    assert store.delete("a")
    assert store.canonical(URL) is None
    assert store.insert(Link("b", URL, T0, canonical=True)) is Insert.OK


def test_redis_range_allocator_behind_the_service(redis_url: str, tmp_path: Path) -> None:
    servers = [
        UrlShortener(
            tmp_path / "shared.db",
            allocator=RangeAllocator(RedisCounter(redis_url, key="links"), block=20),
            one_code_per_url=False,
        )
        for _ in range(2)
    ]
    codes = [s.shorten(f"https://example.com/{i}") for i in range(50) for s in servers]
    assert len(set(codes)) == 100
    for s in servers:
        s.close()


@settings(max_examples=25)
@given(st.lists(st.tuples(st.sampled_from("abcde"), st.booleans()), max_size=30))
def test_every_code_resolves_to_its_url(ops: list[tuple[str, bool]]) -> None:
    links = UrlShortener(allocator=CounterAllocator(obfuscator=Obfuscator("k", width=4)))
    seen: dict[str, str] = {}
    for path, expiring in ops:
        url = f"https://example.com/{path}"
        code = links.shorten(url, ttl=60 if expiring else None)
        assert seen.setdefault(code, url) == url
    for code, url in seen.items():
        assert links.resolve(code) == url


def _hammer(links: UrlShortener, threads: int, per_thread: int) -> dict[str, str]:
    results: list[dict[str, str]] = [{} for _ in range(threads)]
    barrier = threading.Barrier(threads)

    def work(t: int) -> None:
        barrier.wait()
        out = results[t]
        for i in range(per_thread):
            # Every tenth URL is shared by all threads, to race on "one code per URL".
            url = f"https://example.com/shared/{i}" if i % 10 == 0 else f"https://e.com/{t}/{i}"
            out[links.shorten(url)] = url

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    merged: dict[str, str] = {}
    for out in results:
        for code, url in out.items():
            assert merged.setdefault(code, url) == url, "one code given to two URLs"
    return merged


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_eight_threads_times_5000_shortens(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    links = UrlShortener(None if kind == "memory" else path)
    codes = _hammer(links, threads=8, per_thread=5000)
    distinct_urls = 8 * 4500 + 500
    assert len(codes) == distinct_urls  # no duplicate code, and one code per shared URL
    assert len(links) == distinct_urls
    assert {link.code: link.url for link in links.links()} == codes
    for code in list(codes)[::500]:
        assert links.resolve(code) == codes[code]
    links.close()
    if kind == "sqlite":
        with UrlShortener(path) as again:
            assert {link.code: link.url for link in again.links()} == codes
            for code in list(codes)[::500]:
                assert again.resolve(code) == codes[code]
            assert again.shorten("https://example.com/shared/0") in codes


ttls = st.one_of(
    st.none(),
    st.sampled_from([1.0, 5.0, 60.0, 60, 0.1, 86400.0]),
    st.floats(0.001, 1e9, allow_nan=False, allow_infinity=False),
)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@settings(max_examples=40, deadline=None)
@given(
    first=ttls,
    second=ttls,
    later=st.sampled_from([0.0, 0.5, 30.0, 59.999, 60.0, 1e6]),
    same_url=st.booleans(),
)
@example(first=60.0, second=None, later=0.0, same_url=True)  # permanent asked, 60 s held
@example(first=None, second=5.0, later=0.0, same_url=True)  # 5 s asked, permanent held
@example(first=60.0, second=61.0, later=0.0, same_url=True)
@example(first=60.0, second=60.0, later=30.0, same_url=True)  # a retry 30 s later: kept
@example(first=0.1, second=0.1, later=0.0, same_url=True)  # T0 + 0.1 is not exact: still same
@example(first=None, second=None, later=1e6, same_url=True)
def test_an_alias_retry_is_the_same_url_and_ttl_else_alias_taken(
    kind: str, first: float | None, second: float | None, later: float, same_url: bool
) -> None:
    # A retry is a second call for the alias with the same URL and a ttl that gives the held
    # link the expiry it has (both permanent, or created_at + ttl == expires_at), while the
    # link is live; it returns the alias and keeps the first expiry. Anything else asks for a
    # different link under a name that is taken: AliasTaken, and nothing changes.
    with tempfile.TemporaryDirectory() as folder:
        clock = ManualClock(start=T0)
        with UrlShortener(
            None if kind == "memory" else Path(folder) / "links.db", clock=clock
        ) as links:
            assert links.shorten(URL, alias="promo", ttl=first) == "promo"
            clock.advance(later)
            before = sorted(links.links(), key=lambda link: link.code)
            url = URL if same_url else URL + "&other"
            same_expiry = (first is None and second is None) or (
                first is not None and second is not None and T0 + first == T0 + second
            )
            live = first is None or T0 + later < T0 + first
            if same_url and same_expiry and live:
                assert links.shorten(url, alias="promo", ttl=second) == "promo"
            else:
                with pytest.raises(AliasTaken, match="promo"):
                    links.shorten(url, alias="promo", ttl=second)
            assert sorted(links.links(), key=lambda link: link.code) == before
            held = links.info("promo")
            assert held.expires_at == (None if first is None else T0 + first)


def test_a_closed_sqlite_shortener_refuses_with_the_family_error(tmp_path: Path) -> None:
    links = UrlShortener(tmp_path / "links.db")
    code = links.shorten(URL)
    links.close()
    for call in (lambda: links.shorten("https://example.com/y"), lambda: links.resolve(code)):
        with pytest.raises(ShortCodeError, match="closed"):
            call()
    with UrlShortener(tmp_path / "links.db") as again:
        assert again.resolve(code) == URL


def test_a_locked_sqlite_store_is_unavailable_not_a_bare_sqlite_error(tmp_path: Path) -> None:
    import sqlite3

    from designpatterns_ref.shortcode import ShortCodeUnavailable

    path = tmp_path / "links.db"
    store = SQLiteStore(path)
    store._conn.execute("PRAGMA busy_timeout = 0")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # holds the write lock
    try:
        with pytest.raises(ShortCodeUnavailable, match=r"SQLiteStore\.insert"):
            store.insert(Link("abc", URL, T0, None))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.get("abc") is None
    store.close()


class _Yields:
    def __init__(self, *codes: object) -> None:
        self.codes = codes

    def candidates(self, url: str) -> Iterator[object]:
        yield from self.codes


@pytest.mark.parametrize(
    "code", [12345, None, "", ".", "..", "a/b", "a?b", "a#b", "a%b", "a b", "a\x80b", "a\x9fb"]
)
def test_a_code_no_link_can_have_from_an_allocator_is_refused(code: object) -> None:
    links = UrlShortener(allocator=_Yields(code))  # type: ignore[arg-type]
    with pytest.raises(ShortCodeError, match="yielded code="):
        links.shorten(URL)
    assert len(links.store) == 0  # type: ignore[arg-type]


def test_a_ttl_below_the_clocks_resolution_is_refused() -> None:
    links = UrlShortener(clock=ManualClock(T0))
    with pytest.raises(ShortCodeError, match="resolution"):
        links.shorten(URL, ttl=1e-7)
    assert len(links.store) == 0  # type: ignore[arg-type]
    assert links.resolve(links.shorten(URL, ttl=1e-3)) == URL


def test_an_alias_that_is_the_urls_generated_code_says_so() -> None:
    links = UrlShortener()
    code = links.shorten(URL)
    alias = code * 3 if len(code) < 3 else code
    links2 = UrlShortener(allocator=_Yields(alias))  # type: ignore[arg-type]
    assert links2.shorten(URL) == alias
    with pytest.raises(AliasTaken, match="generated code"):
        links2.shorten(URL, alias=alias)
