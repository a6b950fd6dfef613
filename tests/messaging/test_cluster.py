"""Slack's shape as real processes: two channel servers and two stateless gateways on
loopback, sharing one real Redis. Random schedules of sends, disconnects, reconnects and
gateway switches end with every device showing each conversation's messages exactly once, in
seq order, gap-free; a gateway killed with SIGKILL mid-stream loses nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.messaging.base import MessagingError
from designpatterns_ref.messaging.client import Client
from designpatterns_ref.messaging.cluster import Cluster
from designpatterns_ref.messaging.directory import Directory
from designpatterns_ref.messaging.token import make_token

SECRET = b"cluster-secret"
FAST = {"heartbeat": 0.05, "base": 0.01, "cap": 0.1}


def token(user: str) -> str:
    return make_token(SECRET, user, expires=time.time() + 600)


@pytest.fixture(scope="module")
def cluster(live_redis_url: Callable[[], str]) -> Iterator[Cluster]:
    with Cluster(live_redis_url(), secret=SECRET, gateways=2, channel_servers=2,
                 prefix=f"t{uuid.uuid4().hex[:8]}") as c:  # fmt: skip
        yield c


USERS = ["ann", "bob", "cy"]
DEVICES = [("ann", "a1"), ("bob", "b1"), ("bob", "b2"), ("cy", "c1")]
CONVS = {"dm": ["ann", "bob"], "grp": ["ann", "bob", "cy"]}

ops = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers(0, 3), st.sampled_from(sorted(CONVS))),
        st.tuples(st.just("disconnect"), st.integers(0, 3), st.just("")),
        st.tuples(st.just("connect"), st.integers(0, 3), st.just("")),
        st.tuples(st.just("switch"), st.integers(0, 3), st.just("")),
    ),
    max_size=25,
)


class Device:
    """A device's client, replaced on reconnect by a new one that keeps its inboxes (the
    cursors it resumes from) and its unconfirmed sends."""

    def __init__(self, user: str, name: str, urls: list[str], seed: int) -> None:
        self.user, self.name, self.urls, self.seed = user, name, urls, seed
        self.client: Client | None = None
        self.old: Client | None = None

    async def connect(self) -> None:
        if self.client is None:
            c = Client(self.urls, token(self.user), self.name, seed=self.seed, **FAST)  # type: ignore[arg-type]
            if self.old is not None:
                c.inboxes, c.pending = self.old.inboxes, self.old.pending
            self.client = await c.__aenter__()
            self.seed += 1

    async def disconnect(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.old, self.client = self.client, None

    @property
    def current(self) -> Client:
        c = self.client or self.old
        assert c is not None
        return c


async def _play(cluster: Cluster, schedule: list[tuple[str, int, str]], tag: str) -> None:
    convs = {f"{c}-{tag}": members for c, members in CONVS.items()}
    directory = Directory(cluster.redis_url, prefix=cluster.prefix)
    for conv, members in convs.items():
        for user in members:
            directory.join(conv, user)
    directory.close()
    a, b = cluster.gateway_urls
    devices = [Device(u, d, [a, b] if i % 2 else [b, a], seed=i * 100)
               for i, (u, d) in enumerate(DEVICES)]  # fmt: skip
    sent: dict[str, list[tuple[str, str]]] = {c: [] for c in convs}
    for dev in devices:
        await dev.connect()
    for n, (kind, i, conv) in enumerate(schedule):
        dev = devices[i]
        if kind == "send":
            conv = f"{conv}-{tag}"
            if dev.user in convs[conv]:
                cmid = await dev.current.send(conv, f"{dev.name} #{n}", client_msg_id=f"{tag}{n}")
                sent[conv].append((dev.user, cmid))
        elif kind == "disconnect":
            await dev.disconnect()
        elif kind == "connect":
            await dev.connect()
        else:  # switch gateway: the next connection goes to the other one first
            await dev.disconnect()
            dev.urls = dev.urls[::-1]
            await dev.connect()
        await asyncio.sleep(0.01)
    for dev in devices:
        await dev.connect()
    try:
        for dev in devices:
            await dev.current.wait_sent(timeout=20)
        for dev in devices:
            for conv, members in convs.items():
                if dev.user not in members:
                    continue
                got = await dev.current.wait_for(conv, len(sent[conv]), timeout=20)
                assert [m.seq for m in got] == list(range(1, len(sent[conv]) + 1)), dev.name
                assert sorted((m.sender, m.client_msg_id) for m in got) == sorted(sent[conv])
        for conv in convs:  # every device shows the same message at the same seq
            views = {tuple(d.current.shown(conv)) for d in devices if d.user in convs[conv]}
            assert len(views) == 1
    finally:
        for dev in devices:
            await dev.disconnect()


def test_random_schedules_over_two_gateway_processes(cluster: Cluster) -> None:
    @settings(max_examples=8, deadline=None)
    @given(ops)
    def check(schedule: list[tuple[str, int, str]]) -> None:
        asyncio.run(_play(cluster, schedule, uuid.uuid4().hex[:8]))

    check()


def test_a_gateway_killed_mid_stream_loses_nothing(redis_url: str) -> None:
    async def main(c: Cluster) -> None:
        directory = Directory(redis_url, prefix=c.prefix)
        for user in USERS:
            directory.join("general", user)
        a, b = c.gateway_urls
        clients = [Client([a, b] if i < 2 else [b, a], token(u), d, seed=i, **FAST)  # type: ignore[arg-type]
                   for i, (u, d) in enumerate(DEVICES)]  # fmt: skip
        for cl in clients:
            await cl.__aenter__()
        await asyncio.gather(*(cl.wait_for("general", 0) for cl in clients))
        total = 60
        for n in range(total):
            if n == 20:
                c.kill_gateway(0)  # ann's and bob's first device were on it, mid-stream
            await clients[n % 4].send("general", f"m{n}", client_msg_id=f"id{n}")
            await asyncio.sleep(0.01)
        for cl in clients:
            await cl.wait_sent(timeout=20)
        for cl in clients:
            got = await cl.wait_for("general", total, timeout=20)
            assert [m.seq for m in got] == list(range(1, total + 1))
            assert sorted(m.body for m in got) == sorted(f"m{n}" for n in range(total))
        for cl in clients[:2]:  # they moved to the surviving gateway
            assert cl.url == b and cl.connects >= 2
        for cl in clients:
            await cl.close()

    with Cluster(redis_url, secret=SECRET, gateways=2, channel_servers=2) as c:
        asyncio.run(main(c))


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("redis://127.0.0.1:abc", "could not be cast to integer"),
        ("redis://127.0.0.1:99999", "out of range"),
        ("redis://[::1", "Invalid IPv6 URL"),
    ],
)
def test_a_redis_url_that_cannot_be_read_is_refused_by_name(url: str, why: str) -> None:
    cluster = Cluster(url, secret=SECRET, gateways=1, channel_servers=1, start_timeout=5)
    with pytest.raises(MessagingError, match="redis_url=") as info, cluster:
        pass
    assert url in str(info.value) and why in str(info.value)
    assert cluster.procs == []  # nothing was started
