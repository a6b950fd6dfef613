"""Backends built on one redis-py client share one bounded twin per deadline.

:func:`designpatterns_ref.redisclient.bounded_client` used to make a new pool (on a cluster, a
new cluster client that maps the slots and fetches the COMMAND table) for every store, so the
sockets and the start-up time grew with the number of stores. These tests build the stores of
every family that takes a client on a real Redis and a real Redis Cluster, and count the
connections the servers see (``CLIENT LIST``).
"""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from designpatterns_ref.feed import RedisStore as FeedStore
from designpatterns_ref.geo import RedisGeoIndex
from designpatterns_ref.messaging import RedisReadStore
from designpatterns_ref.messaging.directory import Directory
from designpatterns_ref.messaging.redis import RedisStore as MessageStore
from designpatterns_ref.redisclient import bounded_client
from designpatterns_ref.shortcode import RedisCounter

redis = pytest.importorskip("redis")


@dataclass
class Family:
    name: str
    make: Callable[[Any, int, float], Any]  # (client, i, deadline) -> a store with prefix i
    use: Callable[[Any], object]  # one call that needs the server
    twin: Callable[[Any], Any]  # the client the store talks through


FAMILIES = [
    Family(
        "feed",
        lambda c, i, d: FeedStore(c, prefix=f"f{i}:", deadline=d),
        lambda s: s.add_user("ann", 0.0),
        lambda s: s.r,
    ),
    Family(
        "geo",
        lambda c, i, d: RedisGeoIndex(c, key=f"g{i}", ttl=None, deadline=d),
        lambda g: g.upsert("d1", 51.5, -0.12),
        lambda g: g._client,
    ),
    Family(
        "shortcode",
        lambda c, i, d: RedisCounter(c, key=f"c{i}", deadline=d),
        lambda c: c.reserve(1),
        lambda c: c.client,
    ),
    Family(
        "messaging-store",
        lambda c, i, d: MessageStore(c, prefix=f"m{i}", deadline=d),
        lambda s: s.append("conv", "ann", "1", "hi"),
        lambda s: s._r,
    ),
    Family(
        "messaging-directory",
        lambda c, i, d: Directory(c, prefix=f"d{i}", deadline=d),
        lambda s: s.join("conv", "ann"),
        lambda s: s._r,
    ),
    Family(
        "messaging-readstore",
        lambda c, i, d: RedisReadStore(c, prefix=f"r{i}", deadline=d),
        lambda s: s.write([("ann", "general", 1, 0)]),
        lambda s: s._r,
    ),
]
IDS = [f.name for f in FAMILIES]


def _connections(admins: list[Any]) -> int:
    gc.collect()  # a pool dropped by an earlier test closes its sockets now, not mid-count
    return sum(len(a.client_list()) for a in admins)


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_stores_on_one_client_and_deadline_share_one_twin(redis_url: str, family: Family) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    a, b = family.make(client, 0, 0.25), family.make(client, 1, 0.25)
    slower = family.make(client, 2, 0.5)
    other = family.make(redis.Redis.from_url(redis_url, decode_responses=True), 3, 0.25)
    assert family.twin(a) is family.twin(b)
    assert family.twin(a).connection_pool is family.twin(b).connection_pool
    assert family.twin(slower) is not family.twin(a)  # another deadline, another twin
    assert family.twin(other) is not family.twin(a)  # another client, another twin
    assert family.twin(slower).connection_pool.connection_kwargs["socket_timeout"] == 0.5
    assert family.twin(a).connection_pool.connection_kwargs["socket_timeout"] == 0.25
    assert family.twin(a) is not client
    assert client.connection_pool.connection_kwargs.get("socket_timeout") is None  # untouched
    for store in (a, b, slower, other):
        family.use(store)
    client.close()


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_the_connections_do_not_grow_with_the_stores(redis_url: str, family: Family) -> None:
    admin = redis.Redis.from_url(redis_url)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    before = _connections([admin])
    stores = [family.make(client, 0, 0.25)]
    family.use(stores[0])
    one = _connections([admin]) - before
    for i in range(1, 50):
        stores.append(family.make(client, i, 0.25))
        family.use(stores[-1])  # each used once, one after the other
    fifty = _connections([admin]) - before
    assert one == 1  # the twin's one connection (the session server sees nothing else new)
    assert fifty == one
    client.close()
    admin.close()


def test_feed_stores_on_one_cluster_client_share_one_cluster_client(
    redis_cluster_srv: Any,
) -> None:
    client = redis_cluster_srv.client(decode_responses=True, socket_timeout=5)
    admins = [redis.Redis(host=n.host, port=n.port) for n in client.get_nodes()]
    before = _connections(admins)
    stores = [FeedStore(client, prefix=f"tenant{i}:") for i in range(20)]
    for store in stores:
        store.add_user("ann", 0.0)  # the 20 prefixes hash to slots on every node
    assert all(s.r is stores[0].r for s in stores)
    assert FeedStore(client, prefix="slow:", deadline=0.5).r is not stores[0].r
    # one cluster client: in serial use at most one connection to each node (20 before)
    assert _connections(admins) - before <= len(admins)
    for store in stores:
        store.clear()
    client.close()
    for admin in admins:
        admin.close()


def test_a_closed_cluster_twin_is_made_again(redis_cluster_client: Any) -> None:
    first = RedisCounter(redis_cluster_client, key="twin:a")
    assert RedisCounter(redis_cluster_client, key="twin:b").client is first.client
    first.client.close()  # closing a cluster client ends it: the next store gets a new one
    again = RedisCounter(redis_cluster_client, key="twin:c")
    assert again.client is not first.client
    assert again.reserve(5) == 0 and again.reserve(1) == 5  # works: numbers from 0


def test_the_twin_goes_with_the_client(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = FeedStore(client, prefix="a:")
    twin = weakref.ref(store.r)
    del store
    gc.collect()
    assert twin() is not None  # kept for the next store on this client
    assert FeedStore(client, prefix="b:").r is twin()
    del client
    gc.collect()
    assert twin() is None  # the twin holds no reference to your client: both are gone


def test_stores_built_in_parallel_share_one_twin(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    start = threading.Barrier(8)
    got: list[Any] = []

    def build(i: int) -> None:
        start.wait()
        got.append(FeedStore(client, prefix=f"t{i}:").r)

    threads = [threading.Thread(target=build, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(r is got[0] for r in got)
    client.close()


def test_a_url_gets_a_client_of_its_own(redis_url: str) -> None:
    a, b = bounded_client(redis_url, 0.25), bounded_client(redis_url, 0.25)
    assert a is not b and a.connection_pool is not b.connection_pool
    a.close()
    assert b.ping()  # closing one URL client leaves the other
    b.close()


DEADLINES = st.sampled_from([0.1, 0.25, 0.5])
DECODES = st.sampled_from([None, True, False])


@given(mine=st.booleans(), asks=st.lists(st.tuples(DEADLINES, DECODES), max_size=8))
@example(mine=True, asks=[(0.25, None), (0.25, True)])  # None means "as your client": equal
@example(mine=False, asks=[(0.25, None), (0.25, True), (0.5, None)])
def test_twins_are_equal_exactly_when_deadline_and_decoding_are(
    mine: bool, asks: list[tuple[float, bool | None]]
) -> None:
    # Building a twin of a plain client connects to nothing: no server needed.
    client = redis.Redis(host="127.0.0.1", port=1, decode_responses=mine)
    twins = [bounded_client(client, d, decode_responses=decode) for d, decode in asks]
    keys = [(d, mine if decode is None else decode) for d, decode in asks]  # the oracle
    for i, (twin, (deadline, decode)) in enumerate(zip(twins, keys, strict=True)):
        kwargs = twin.connection_pool.connection_kwargs
        assert kwargs["socket_timeout"] == deadline and kwargs["decode_responses"] is decode
        for other, other_key in zip(twins[:i], keys[:i], strict=True):
            assert (other is twin) == (other_key == (deadline, decode))
