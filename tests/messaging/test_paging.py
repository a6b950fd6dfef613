"""A resume or a fetch reads at most one page from the store: the server asks each real store
(memory, SQLite, Redis) for at most ``limit`` messages and gets back the oracle's first
``limit``; over the gateway, a client still receives every message, page by page."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.messaging import (
    ChatServer,
    MemoryStore,
    Message,
    MessagingError,
    RedisStore,
    SQLiteStore,
    Store,
)
from designpatterns_ref.messaging.client import Client
from designpatterns_ref.messaging.gateway import Gateway
from designpatterns_ref.messaging.token import make_token


class Counting:
    """A real store, with every ``read`` recorded: the ``limit`` asked and the rows given."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reads: list[tuple[int, int]] = []

    def append(self, conv: str, sender: str, client_msg_id: str, body: str) -> tuple[Message, bool]:
        return self.store.append(conv, sender, client_msg_id, body)

    def read(self, conv: str, after: int = 0, limit: int = 1000) -> list[Message]:
        out = self.store.read(conv, after, limit)
        self.reads.append((limit, len(out)))
        return out

    def last_seq(self, conv: str) -> int:
        return self.store.last_seq(conv)

    def close(self) -> None:
        self.store.close()

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.reads)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    """A factory of fresh, empty real stores of one kind."""
    if request.param == "memory":
        return MemoryStore
    if request.param == "sqlite":
        return lambda: SQLiteStore(tmp_path / f"{uuid.uuid4().hex}.db")
    url = request.getfixturevalue("redis_url")
    return lambda: RedisStore(url, prefix=uuid.uuid4().hex)


sizes = st.fixed_dictionaries({"a": st.integers(0, 30), "b": st.integers(0, 30)})
cursors = st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 40))


def test_connect_and_fetch_read_at_most_the_limit(make_store: object) -> None:
    @settings(max_examples=30, deadline=None)
    @given(sizes, cursors, st.integers(1, 40), st.integers(1, 40), st.none() | st.integers(0, 40))
    @example({"a": 30, "b": 30}, {}, 1, 1, None)  # a page of one
    @example({"a": 0, "b": 5}, {"a": 40}, 5, 3, 2)  # cursor past the end; last before first
    @example({"a": 10, "b": 10}, {"b": 10}, 10, 11, 10)  # the limit exactly the rest
    def check(
        n: dict[str, int], cur: dict[str, int], limit: int, first: int, last: int | None
    ) -> None:
        store = Counting(make_store())  # type: ignore[operator]
        server = ChatServer(store)
        log: dict[str, list[tuple[str, int]]] = {"a": [], "b": []}  # the oracle: plain lists
        for conv, count in n.items():
            server.join(conv, "ann")
            for i in range(count):
                msg, _ = store.append(conv, "ann", f"m{i}", f"{conv}{i}")
                log[conv].append((conv, msg.seq))
        replay = [m for c in ("a", "b") for m in log[c] if m[1] > cur.get(c, 0)]
        store.reads.clear()
        got = server.connect("ann", "phone", cur, limit=limit)
        assert [(m.conv, m.seq) for m in got] == replay[:limit]
        assert store.rows <= limit and all(asked <= limit for asked, _ in store.reads)
        for conv in ("a", "b"):
            wanted = [m for m in log[conv] if first <= m[1] and (last is None or m[1] <= last)]
            store.reads.clear()
            got = server.fetch(conv, first, last, limit=limit)
            assert [(m.conv, m.seq) for m in got] == wanted[:limit]
            assert store.rows <= limit and all(asked <= limit for asked, _ in store.reads)
            assert [(m.conv, m.seq) for m in server.fetch(conv, first, last)] == wanted
        store.close()

    check()


@pytest.mark.parametrize("limit", [0, -1, True, 1.5, "3", 10**400])
def test_a_bad_limit_is_refused_and_nothing_changes(limit: object) -> None:
    server = ChatServer()
    server.join("c", "ann")
    server.store.append("c", "ann", "m1", "hi")
    with pytest.raises(MessagingError):
        server.connect("ann", "phone", {}, limit=limit)  # type: ignore[arg-type]
    assert server.online("ann") == []
    with pytest.raises(MessagingError):
        server.fetch("c", 1, limit=limit)  # type: ignore[arg-type]


def test_a_resume_over_the_gateway_is_read_one_page_at_a_time(tmp_path: Path) -> None:
    """bob resumes 60 messages in two conversations through a gateway whose page is 7: the
    store is never asked for more than 7 messages at once, and bob gets all of them in order."""
    secret = b"test-secret"
    store = Counting(SQLiteStore(tmp_path / "chat.db"))
    for i in range(35):
        store.append("general", "ann", f"g{i}", f"general {i}")
    for i in range(25):
        store.append("random", "ann", f"r{i}", f"random {i}")

    async def main() -> None:
        gw = Gateway("127.0.0.1", 0, secret=secret, store=store, page=7)  # type: ignore[arg-type]
        for conv in ("general", "random"):
            gw.join(conv, "ann"), gw.join(conv, "bob")
        async with gw:
            store.reads.clear()
            bob_token = make_token(secret, "bob", expires=time.time() + 600)
            async with Client(gw.url, bob_token, "b1", seed=2) as bob:
                general = await bob.wait_for("general", 35)
                random = await bob.wait_for("random", 25)
        assert [m.seq for m in general] == list(range(1, 36))
        assert [m.seq for m in random] == list(range(1, 26))
        assert len(store.reads) >= 60 // 7 and max(asked for asked, _ in store.reads) <= 7

    asyncio.run(main())
