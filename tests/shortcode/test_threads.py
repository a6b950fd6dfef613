"""The service shared between threads: exact click counts, one winner per alias, and a
consistent store after shortens and deletes of the same URLs race each other."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from designpatterns_ref.shortcode import (
    DEFAULT_WORDS,
    AliasTaken,
    Blocklist,
    CodeNotFound,
    TupleCodes,
    UrlShortener,
)

THREADS = 6


def _run(work: Callable[[int], None]) -> None:
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=body, args=(i,)) for i in range(THREADS)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    assert not errors, errors


@pytest.fixture(params=["memory", "sqlite"])
def links(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UrlShortener]:
    with UrlShortener(None if request.param == "memory" else tmp_path / "links.db") as s:
        yield s


def test_concurrent_resolves_count_every_click(links: UrlShortener) -> None:
    code = links.shorten("https://example.com/popular")

    def follow(i: int) -> None:
        for _ in range(200):
            assert links.resolve(code) == "https://example.com/popular"

    _run(follow)
    assert links.clicks(code) == THREADS * 200


def test_one_alias_claimed_by_many_urls_has_one_winner(links: UrlShortener) -> None:
    won: list[str] = []
    lost: list[int] = []

    def claim(i: int) -> None:
        url = f"https://example.com/{i}"
        try:
            assert links.shorten(url, alias="launch") == "launch"
            won.append(url)
        except AliasTaken:
            lost.append(i)

    _run(claim)
    assert len(won) == 1 and len(lost) == THREADS - 1
    assert links.resolve("launch") == won[0]
    assert len(links) == 1


def test_a_repeated_alias_request_from_many_threads_is_one_link(links: UrlShortener) -> None:
    def ask(i: int) -> None:
        assert links.shorten("https://example.com/x", alias="same") == "same"

    _run(ask)
    assert [link.code for link in links.links()] == ["same"]


def test_shortens_and_deletes_of_the_same_urls_leave_a_consistent_store(
    links: UrlShortener,
) -> None:
    urls = [f"https://example.com/{i}" for i in range(5)]

    def churn(i: int) -> None:
        for n in range(150):
            url = urls[(i + n) % len(urls)]
            code = links.shorten(url)
            if n % 3 == i % 3:
                links.delete(code)
            else:
                with contextlib.suppress(CodeNotFound):  # another thread deleted it meanwhile
                    assert links.resolve(code) == url

    _run(churn)
    stored = list(links.links())
    canonical = [link for link in stored if link.canonical]
    assert len({link.url for link in canonical}) == len(canonical)  # one code per URL
    for url in urls:
        held = links.store.canonical(url)
        assert held is None or links.resolve(held.code) == url
        assert links.resolve(links.shorten(url)) == url


def test_one_tuple_codec_with_a_blocklist_shared_by_threads_agrees_with_one_thread() -> None:
    """The clean-code numbering fills a cache of prefix sums as it goes: threads filling it
    at once must still get the codes one thread gets."""
    pairs = [(s, i) for s in range(32) for i in range(0, 2**20, 2**20 // 40)]
    words = Blocklist(DEFAULT_WORDS)
    expected = [TupleCodes((32, 2**20), key="k", blocklist=words).encode(p) for p in pairs]
    shared = TupleCodes((32, 2**20), key="k", blocklist=words)
    orders = [pairs[k:] + pairs[:k] for k in range(0, len(pairs), len(pairs) // THREADS)]
    got: list[dict[tuple[int, int], str]] = [{} for _ in range(THREADS)]

    def work(i: int) -> None:  # each thread starts at another place in the pairs
        got[i] = {p: shared.encode(p) for p in orders[i]}
        assert all(shared.decode(c) == p for p, c in got[i].items())

    _run(work)
    assert all(codes == dict(zip(pairs, expected, strict=True)) for codes in got)
