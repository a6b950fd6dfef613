"""A click belongs to the link that was resolved, never to a later link with the same code.

``resolve`` reads a link and then counts a click on it. A delete (or purge) of the code and a
new link under the same code can come in between; the click must then be dropped, not land on
the new link. :class:`PauseBeforeHit` runs such an interleaving exactly where it hurts, and a
model keyed by link identity says where every click belongs.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.shortcode import (
    AliasTaken,
    CodeNotFound,
    Insert,
    Link,
    MemoryStore,
    ShortCodeError,
    SQLiteStore,
    UrlShortener,
)

T0 = 1_700_000_000.0
CODES = ["aaa", "bbb"]
URLS = ["https://example.com/old", "https://example.com/new"]


class PauseBeforeHit:
    """A store that runs ``between`` (once) after the service read a link and before it
    counts the click: the moment another request may delete the code and reuse it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.between: Callable[[], None] | None = None

    def hit(self, *args: Any) -> bool:
        between, self.between = self.between, None
        if between is not None:
            between()
        return bool(self.inner.hit(*args))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __len__(self) -> int:
        return len(self.inner)

    def __iter__(self) -> Iterator[Link]:
        return iter(self.inner)


def _store(kind: str, where: Path) -> Any:
    return MemoryStore() if kind == "memory" else SQLiteStore(where / "links.db")


@pytest.fixture(params=["memory", "sqlite"])
def paused(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UrlShortener]:
    store = PauseBeforeHit(_store(request.param, tmp_path))
    yield UrlShortener(store, clock=ManualClock(start=T0))
    store.inner.close()


def test_a_click_read_before_a_delete_and_realias_is_not_given_to_the_new_link(
    paused: UrlShortener,
) -> None:
    paused.shorten(URLS[0], alias="promo")

    def realias() -> None:
        assert paused.delete("promo")
        assert paused.shorten(URLS[1], alias="promo") == "promo"

    paused.store.between = realias  # type: ignore[attr-defined]
    assert paused.resolve("promo") == URLS[0]  # read before the delete: the old target
    assert paused.clicks("promo") == 0  # the new link was never resolved


def test_an_identical_link_made_again_is_still_another_link(paused: UrlShortener) -> None:
    """The same alias, URL and creation time (a clock that did not move): only the
    generation tells the two links apart."""
    paused.shorten(URLS[0], alias="promo")
    first = paused.info("promo")

    def remake() -> None:
        paused.delete("promo")
        paused.shorten(URLS[0], alias="promo")

    paused.store.between = remake  # type: ignore[attr-defined]
    assert paused.resolve("promo") == URLS[0]
    again = paused.info("promo")
    assert again == first and again.generation != first.generation
    assert again.clicks == 0


def test_a_click_read_before_a_purge_and_reuse_is_dropped(paused: UrlShortener) -> None:
    clock = paused.clock
    assert isinstance(clock, ManualClock)
    paused.shorten(URLS[0], alias="sale", ttl=10)
    clock.advance(9)

    def expire_and_reuse() -> None:
        clock.advance(1)
        assert paused.purge_expired() == 1
        paused.shorten(URLS[1], alias="sale")

    paused.store.between = expire_and_reuse  # type: ignore[attr-defined]
    assert paused.resolve("sale") == URLS[0]  # live when it was read
    assert paused.clicks("sale") == 0


# -- a model: clicks keyed by link identity ---------------------------------------------------

_OPS = st.one_of(
    st.tuples(st.just("delete"), st.sampled_from(CODES)),
    st.tuples(st.sampled_from(["alias", "move"]), st.sampled_from(CODES), st.sampled_from(URLS)),
)
_STEPS = st.lists(
    st.tuples(st.sampled_from(CODES), st.lists(_OPS, max_size=3)), min_size=1, max_size=12
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["memory", "sqlite"]), first=st.lists(_OPS, max_size=4), steps=_STEPS)
def test_every_click_lands_on_the_link_it_read(
    kind: str, first: list[tuple[str, ...]], steps: list[tuple[str, list[tuple[str, ...]]]]
) -> None:
    """Resolves, each with deletes, aliases and moves (a delete, then an alias) of any code
    run between its read and its count, against a dict ``code -> [identity, url, clicks]``:
    a click goes to the identity read, and only while that identity still holds the code."""
    model: dict[str, list[Any]] = {}
    made = iter(range(1, 10**6))

    with tempfile.TemporaryDirectory() as where:
        store = PauseBeforeHit(_store(kind, Path(where)))
        links = UrlShortener(store, clock=ManualClock(start=T0))

        def apply(op: tuple[str, ...]) -> None:
            if op[0] in ("delete", "move"):  # a move deletes the code, then aliases it anew
                assert links.delete(op[1]) is (model.pop(op[1], None) is not None)
                if op[0] == "delete":
                    return
            _, code, url = op
            held = model.get(code)
            if held is not None and held[1] != url:
                with pytest.raises(AliasTaken):
                    links.shorten(url, alias=code)
                return
            assert links.shorten(url, alias=code) == code
            if held is None:
                model[code] = [next(made), url, 0]

        for op in first:
            apply(op)
        for code, between in steps:
            read = model.get(code)
            store.between = lambda between=between: _each(apply, between)
            if read is None:
                with pytest.raises(CodeNotFound):
                    links.resolve(code)
                store.between = None
                continue
            assert links.resolve(code) == read[1]
            now = model.get(code)
            if now is not None and now[0] == read[0]:
                now[2] += 1
        stored = {link.code: (link.url, link.clicks) for link in links.links()}
        assert stored == {code: (url, clicks) for code, (_, url, clicks) in model.items()}
        store.inner.close()


def _each(apply: Callable[[tuple[str, ...]], None], ops: list[tuple[str, ...]]) -> None:
    for op in ops:
        apply(op)


# -- the stores' own promise ------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    made = _store(request.param, tmp_path)
    yield made
    made.close()


def test_a_store_never_gives_a_generation_twice_and_counts_only_the_one_asked(store: Any) -> None:
    seen = []
    for url in URLS * 3:
        assert store.insert(Link("abc", url, T0, generation=7)) is Insert.OK
        link = store.get("abc")
        seen.append(link.generation)
        assert store.hit("abc", link.generation + 1) is False
        assert store.hit("abc", link.generation) is True
        assert store.get("abc").clicks == 1
        assert store.delete("abc")
    assert len(set(seen)) == len(seen) and 7 not in seen
    assert store.insert(Link("abc", URLS[0], T0)) is Insert.OK
    assert store.insert(Link("abc", URLS[1], T0)) is Insert.CODE_TAKEN
    assert all(store.hit("abc", g) is False for g in seen)
    assert store.get("abc").clicks == 0


@pytest.mark.parametrize("generation", [-1, 2**63, True, 1.0, "1", None])
def test_a_bad_generation_is_refused_and_changes_nothing(store: Any, generation: object) -> None:
    store.insert(Link("abc", URLS[0], T0))
    with pytest.raises(ShortCodeError, match="generation="):
        store.hit("abc", generation)
    with pytest.raises(ShortCodeError, match="generation="):
        store.insert(Link("new", URLS[0], T0, generation=generation))  # type: ignore[arg-type]
    assert [(link.code, link.clicks) for link in store] == [("abc", 0)]


def test_sqlite_generations_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "links.db"
    with UrlShortener(path) as links:
        code = links.shorten(URLS[0])
        before = links.info(code).generation
        links.delete(code)
    with UrlShortener(path) as links:
        assert links.store.insert(Link(code, URLS[1], T0)) is Insert.OK
        assert links.info(code).generation > before


_OLD_SCHEMA = """
CREATE TABLE links (
    code       TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    clicks     INTEGER NOT NULL DEFAULT 0,
    canonical  INTEGER NOT NULL DEFAULT 0,
    alias      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE UNIQUE INDEX links_one_code_per_url ON links (url) WHERE canonical = 1;
INSERT INTO links VALUES ('promo', 'https://example.com/old', 1700000000.0, NULL, 5, 0, 1);
"""


def test_a_file_from_before_generations_is_opened_and_its_clicks_kept_apart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(_OLD_SCHEMA)
    db.close()
    store = PauseBeforeHit(SQLiteStore(path))
    links = UrlShortener(store, clock=ManualClock(start=T0))
    old = links.info("promo")
    assert (old.url, old.clicks, old.generation) == (URLS[0], 5, 0)

    def realias() -> None:
        links.delete("promo")
        links.shorten(URLS[1], alias="promo")

    store.between = realias
    assert links.resolve("promo") == URLS[0]
    assert links.info("promo").clicks == 0
    assert links.resolve("promo") == URLS[1]
    assert links.info("promo").clicks == 1
    store.inner.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_threads_resolving_while_a_code_is_realiased_credit_only_the_link_they_read(
    kind: str, tmp_path: Path
) -> None:
    """No interleaving is forced here: resolvers race a thread that keeps deleting the alias
    and giving it to a new URL. Every URL is used once, so at the end the last link's clicks
    are exactly the resolves that returned its URL."""
    links = UrlShortener(_store(kind, tmp_path))
    links.shorten("https://example.com/0", alias="hot")
    got: list[str] = []
    lock = threading.Lock()
    done = threading.Event()

    def resolver() -> None:
        while not done.is_set():
            try:
                url = links.resolve("hot")
            except CodeNotFound:  # between a delete and the new alias
                continue
            with lock:
                got.append(url)

    pool = [threading.Thread(target=resolver) for _ in range(3)]
    for th in pool:
        th.start()
    last = ""
    for i in range(1, 300):
        links.delete("hot")
        last = f"https://example.com/{i}"
        links.shorten(last, alias="hot")
    done.set()
    for th in pool:
        th.join()
    assert links.clicks("hot") == got.count(last)
    links.store.close()


def test_two_connections_to_one_file_share_one_run_of_generations(tmp_path: Path) -> None:
    """Two stores on one file (as two processes would have): a link one of them read, then
    deleted and made again through the other, takes no click from the first."""
    one, two = SQLiteStore(tmp_path / "links.db"), SQLiteStore(tmp_path / "links.db")
    seen = []
    for i in range(6):
        writer = (one, two)[i % 2]
        assert writer.insert(Link("abc", URLS[i % 2], T0)) is Insert.OK
        read = (two, one)[i % 2].get("abc")
        seen.append(read.generation)
        assert writer.delete("abc")
        assert writer.insert(Link("abc", URLS[i % 2], T0)) is Insert.OK
        assert (two, one)[i % 2].hit("abc", read.generation) is False
        assert one.get("abc").clicks == 0
        assert writer.delete("abc")
    assert len(set(seen)) == len(seen)
    one.close()
    two.close()


# -- writers that do not assign generations (an older version, a manual import) ---------------


def _plain_insert(path: Path, code: str, url: str) -> None:
    """Insert a row the way a version from before generations does: no generation given."""
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO links (code, url, created_at) VALUES (?, ?, ?)", (code, url, T0))
    db.close()


def test_a_row_inserted_without_a_generation_never_takes_a_generation_already_given(
    tmp_path: Path,
) -> None:
    """A link read, then deleted; a writer that knows nothing of generations inserts another
    row; the code is given again. The stale click must not land on the new link, and the plain
    row gets a generation of its own, so the counter never moves back."""
    path = tmp_path / "links.db"
    store = SQLiteStore(path)
    assert store.insert(Link("aaaa", URLS[0], T0)) is Insert.OK
    seen = store.get("aaaa")
    assert store.delete("aaaa")
    _plain_insert(path, "zzzz", "https://example.com/plain")
    assert store.insert(Link("aaaa", URLS[1], T0)) is Insert.OK
    plain, new = store.get("zzzz"), store.get("aaaa")
    assert len({seen.generation, plain.generation, new.generation}) == 3
    assert store.hit("aaaa", seen.generation) is False
    assert store.get("aaaa").clicks == 0
    store.close()


@pytest.mark.parametrize(
    "rewrite",
    [
        "UPDATE links SET url = ? WHERE code = ?",
        "INSERT INTO links (url, code, created_at) VALUES (?, ?, 0) "
        "ON CONFLICT(code) DO UPDATE SET url = excluded.url",
    ],
    ids=["update", "upsert"],
)
def test_a_link_pointed_elsewhere_in_place_by_another_writer_is_another_link(
    tmp_path: Path, rewrite: str
) -> None:
    """An import rewrites a code's URL in place: the row is another link, with a generation of
    its own, so a click read from the old link is not counted on it."""
    path = tmp_path / "links.db"
    store = SQLiteStore(path)
    assert store.insert(Link("aaaa", URLS[0], T0)) is Insert.OK
    seen = store.get("aaaa")
    with sqlite3.connect(path) as db:
        db.execute(rewrite, (URLS[1], "aaaa"))
    db.close()
    new = store.get("aaaa")
    assert new.url == URLS[1] and new.generation != seen.generation
    assert store.hit("aaaa", seen.generation) is False
    assert store.get("aaaa").clicks == 0
    store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["store", "plain", "delete"]), st.sampled_from([*CODES, "ccc"])),
        max_size=20,
    )
)
def test_generations_stay_unique_whoever_inserts(ops: list[tuple[str, str]]) -> None:
    """Inserts through the store and plain SQL inserts (no generation) mixed with deletes:
    every link ever stored has a generation no other link ever had, and a click on any
    generation seen earlier lands only on the link that still has it."""
    with tempfile.TemporaryDirectory() as where:
        path = Path(where) / "links.db"
        store = SQLiteStore(path)
        given: list[tuple[str, int]] = []  # every (code, generation) a link ever had
        for kind, code in ops:
            if kind == "delete":
                store.delete(code)
                continue
            if store.get(code) is not None:
                continue
            if kind == "store":
                assert store.insert(Link(code, URLS[0], T0)) is Insert.OK
            else:
                _plain_insert(path, code, URLS[1])
            given.append((code, store.get(code).generation))
        generations = [g for _, g in given]
        assert len(set(generations)) == len(generations)
        live = {link.code: link.generation for link in store}
        for code, generation in given:
            assert store.hit(code, generation) is (live.get(code) == generation)
        store.close()


def test_a_file_whose_trigger_let_the_counter_fall_back_is_repaired_on_opening(
    tmp_path: Path,
) -> None:
    """A file written with the trigger that copied the insert's generation into the counter,
    which a plain insert then set back to 0: opening it replaces the trigger and moves the
    counter past every generation stored, so none is given again."""
    path = tmp_path / "links.db"
    store = SQLiteStore(path)
    for code in ("aaa", "bbb"):
        store.insert(Link(code, URLS[0], T0))
    store.close()
    with sqlite3.connect(path) as db:
        db.executescript(
            "DROP TRIGGER links_generation_last;"
            "CREATE TRIGGER links_generation_last AFTER INSERT ON links "
            "BEGIN UPDATE links_generation SET last = NEW.generation; END;"
        )
    db.close()
    _plain_insert(path, "ccc", URLS[1])  # the old trigger sets the counter back to 0
    store = SQLiteStore(path)
    store.insert(Link("ddd", URLS[1], T0))
    stored = sorted(link.generation for link in store if link.code != "ccc")
    assert len(set(stored)) == 3 and stored[-1] > 2
    _plain_insert(path, "eee", URLS[1])
    assert store.get("eee").generation > stored[-1]
    store.close()


# -- a store written to the protocol before generations ---------------------------------------


class OldStyleStore(PauseBeforeHit):
    """A user's store from before ``hit`` took the generation: ``hit(code)``."""

    def hit(self, code: str) -> None:  # type: ignore[override]
        self.inner.hit(code, self.inner.get(code).generation)


class KeywordOnlyStore(PauseBeforeHit):
    def hit(self, code: str, *, generation: int) -> bool:  # type: ignore[override]
        return bool(self.inner.hit(code, generation))


class DefaultedStore(PauseBeforeHit):
    def hit(self, code: str, generation: int = 0, extra: int = 1) -> bool:  # type: ignore[override]
        return bool(self.inner.hit(code, generation))


@pytest.mark.parametrize("kind", [OldStyleStore, KeywordOnlyStore])
def test_a_store_whose_hit_cannot_take_the_generation_is_refused_when_given(kind: type) -> None:
    """Refused by the constructor, naming the argument and what ``hit`` must take, not by
    the first resolve with a bare TypeError."""
    inner = MemoryStore()
    with pytest.raises(ShortCodeError, match=r"store=.*hit.*\(code, generation\)"):
        UrlShortener(kind(inner))
    assert len(inner) == 0


@pytest.mark.parametrize("kind", [PauseBeforeHit, DefaultedStore])
def test_a_store_whose_hit_takes_code_and_generation_is_accepted(kind: type) -> None:
    links = UrlShortener(kind(MemoryStore()))
    code = links.shorten(URLS[0])
    assert links.resolve(code) == URLS[0]
    assert links.clicks(code) == 1
