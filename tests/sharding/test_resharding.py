"""Vitess in miniature: routing, and online resharding under concurrent writers, on SQLite and
on a real PostgreSQL; a resharding killed mid-copy resumes or rolls back."""

from __future__ import annotations

import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.sharding import ShardingError
from designpatterns_ref.sharding.keyspace import HashVindex, KeyRange, LookupVindex, ShardMap
from designpatterns_ref.sharding.resharding import Resharding
from designpatterns_ref.sharding.router import Router
from designpatterns_ref.sharding.sql import PostgresShards, ShardDatabases, SQLiteShards

_prefixes = iter(f"r{i}" for i in range(10_000))


@pytest.fixture(params=["sqlite", "postgres"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ShardDatabases]:
    if request.param == "sqlite":
        yield SQLiteShards(tmp_path)
        return
    url = request.getfixturevalue("pg_url")
    dbs = PostgresShards(url, prefix=next(_prefixes))
    yield dbs
    dbs.close()


def customer_of(id: int) -> str:
    return f"customer-{id % 37}"


class Writers:
    """Threads that write disjoint ids through the router and remember what they wrote last."""

    def __init__(self, router: Router, threads: int = 4, seed: int = 1) -> None:
        self.router = router
        self.expected: dict[int, int | None] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.writes = 0
        self.errors: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._work, args=(t, random.Random(seed + t)), daemon=True)
            for t in range(threads)
        ]

    def _work(self, t: int, rng: random.Random) -> None:
        try:
            while not self.stop.is_set():
                id = t * 100_000 + rng.randrange(300)
                if rng.random() < 0.2:
                    self.router.delete(id, customer_of(id))
                    value: int | None = None
                else:
                    value = rng.randrange(1_000_000)
                    self.router.insert(id, customer_of(id), value)
                with self.lock:
                    self.expected[id] = value
                    self.writes += 1
        except BaseException as exc:  # pragma: no cover - surfaced by the test
            self.errors.append(exc)
        finally:
            self.router.db.close()

    def __enter__(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def wait_for(self, writes: int) -> None:
        deadline = time.monotonic() + 60
        while self.writes < writes and time.monotonic() < deadline:
            time.sleep(0.005)

    def reference(self) -> list[tuple[int, str, int]]:
        """The unsharded copy: every id's last write, replayed into one plain list."""
        return sorted((i, customer_of(i), v) for i, v in self.expected.items() if v is not None)


def seed_rows(router: Router, n: int = 500) -> dict[int, int | None]:
    for i in range(n):
        router.insert(900_000 + i, customer_of(i), i)
    return {900_000 + i: i for i in range(n)}


def test_routing_by_key_and_scatter(databases: ShardDatabases) -> None:
    router = Router(databases, ["-80", "80-"])
    for i in range(60):
        assert router.insert(i, customer_of(i), i).kind == "single"
    rows, route = router.by_customer("customer-3")
    assert route.kind == "single"
    assert route.shards == (router.shard_of("customer-3"),)
    assert rows == [(i, "customer-3", i) for i in range(60) if i % 37 == 3]
    rows, route = router.by_id(5)
    assert (rows, route.kind, len(route.shards)) == ([(5, customer_of(5), 5)], "scatter", 2)
    everything, _ = router.scan()
    assert everything == [(i, customer_of(i), i) for i in range(60)]
    # each shard holds exactly the customers whose keyspace id is in its range
    for shard in router.shards:
        r = KeyRange.parse(shard)
        for (ksid,) in databases.query(shard, "SELECT ksid FROM orders"):
            assert int(ksid, 16) in r


def test_lookup_vindex_places_rows_where_the_table_says() -> None:
    vindex = LookupVindex({"alice": 0x10 << 56, "bob": 0xF0 << 56})
    router = Router(SQLiteShards(tempfile.mkdtemp()), ["-80", "80-"], vindex=vindex)
    assert router.insert(1, "alice", 1).shards == ("-80",)
    assert router.insert(2, "bob", 2).shards == ("80-",)
    with pytest.raises(ShardingError, match="lookup vindex"):
        router.insert(3, "carol", 3)
    assert router.scan()[0] == [(1, "alice", 1), (2, "bob", 2)]


@pytest.mark.parametrize(
    ("source", "target"), [(["-"], ["-80", "80-"]), (["-"], ["-40", "40-80", "80-c0", "c0-"])]
)
def test_resharding_under_concurrent_writers_loses_and_duplicates_nothing(
    databases: ShardDatabases, source: list[str], target: list[str]
) -> None:
    router = Router(databases, source)
    seeded = seed_rows(router)
    with Writers(router) as writers:
        writers.wait_for(200)
        job = Resharding(router, source, target, chunk=97)
        check = job.run()
        after_cut = writers.writes
        writers.wait_for(after_cut + 200)  # writes keep landing, now on the new shards
    assert not writers.errors
    assert check.ok
    assert router.shards == tuple(target)
    expected = sorted(
        [*writers.reference(), *((i, customer_of(i - 900_000), v) for i, v in seeded.items())]
    )
    rows, _ = router.scan()
    assert rows == expected  # equal to an unsharded copy that received the same writes
    assert len({r[0] for r in rows}) == len(rows)
    for shard in target:  # and every row sits on the shard its keyspace id names
        r = KeyRange.parse(shard)
        assert all(int(k, 16) in r for (k,) in databases.query(shard, "SELECT ksid FROM orders"))


@pytest.mark.parametrize(
    ("serving", "source", "target"),
    [
        (["-80", "80-"], ["-80"], ["-40", "40-80"]),  # split one shard of two
        (["-40", "40-80", "80-"], ["-40", "40-80"], ["-80"]),  # merge two of three
        (["-40", "40-80", "80-c0", "c0-"], ["40-80", "80-c0"], ["40-60", "60-c0"]),  # regroup
    ],
)
def test_a_partial_resharding_moves_its_shards_and_leaves_the_others_serving(
    databases: ShardDatabases, serving: list[str], source: list[str], target: list[str]
) -> None:
    """Only the sources' part of the keyspace moves, under concurrent writers; the other shards
    serve throughout, are never fenced, and a rollback after the cut-over restores the map."""
    router = Router(databases, serving)
    seeded = seed_rows(router, 300)
    kept = [s for s in serving if s not in source]
    with Writers(router) as writers:
        writers.wait_for(200)
        check = Resharding(router, source, target, chunk=71).run()
        writers.wait_for(writers.writes + 200)
    assert not writers.errors and check.ok
    assert router.shards == tuple(ShardMap([*kept, *target]).names)
    expected = sorted(
        [*writers.reference(), *((i, customer_of(i - 900_000), v) for i, v in seeded.items())]
    )
    assert router.scan()[0] == expected
    for shard in kept:
        assert databases.query(shard, "SELECT count(*) FROM denied_writes") == [(0,)]
    for shard in [*kept, *target]:  # every row sits on the shard its keyspace id names
        r = KeyRange.parse(shard)
        assert all(int(k, 16) in r for (k,) in databases.query(shard, "SELECT ksid FROM orders"))
    for i in range(37):  # written after the cut-over, some on the targets, some elsewhere
        router.insert(800_000 + i, customer_of(i), -i)
        expected.append((800_000 + i, customer_of(i), -i))
    Resharding(router, source, target).rollback()
    assert router.shards == tuple(serving)
    assert router.scan()[0] == sorted(expected)
    databases.close()


def test_a_partial_resharding_must_move_one_contiguous_part_whole(tmp_path: Path) -> None:
    router = Router(SQLiteShards(tmp_path), ["-40", "40-80", "80-"])
    for source, target, message in [
        (["-40"], ["-20", "20-80"], "must cover exactly"),  # more than the source
        (["-40", "40-80"], ["-40"], "must not share|must cover exactly"),
        (["-40", "80-"], ["-20", "20-"], "source leave a gap"),  # not contiguous
        (["-80"], ["-40", "40-80"], "must be serving"),  # a range no serving shard is
    ]:
        with pytest.raises(ShardingError, match=message):
            Resharding(router, source, target)
    assert router.shards == ("-40", "40-80", "80-")
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == [
        "-40.db",
        "40-80.db",
        "80-.db",
    ]


def test_rollback_before_and_after_cut_over(databases: ShardDatabases) -> None:
    router = Router(databases, ["-"])
    seed_rows(router, 200)
    job = Resharding(router, ["-"], ["-80", "80-"], chunk=50)
    job.start()
    job.copy_chunk()
    job.rollback()  # before cut-over: the targets go, the source never stopped serving
    assert router.shards == ("-",)
    assert job.phase() == "new"
    job = Resharding(router, ["-"], ["-80", "80-"], chunk=50)
    job.run()
    router.insert(5, customer_of(5), -5)  # written on a new shard after cut-over
    router.delete(900_001, customer_of(1))
    job.rollback()  # after cut-over: replay the new shards' writes back, switch back
    assert router.shards == ("-",)
    rows, _ = router.scan()
    assert (5, customer_of(5), -5) in rows
    assert all(r[0] != 900_001 for r in rows)
    assert len(rows) == 200


def test_the_copy_steps_are_refused_after_cut_over(tmp_path: Path) -> None:
    """A copy_chunk or catch_up after the cut-over would write the phase back to "copied",
    and a rollback would then drop the writes made since instead of replaying them."""
    router = Router(SQLiteShards(str(tmp_path)), ["-"])
    seed_rows(router, 60)
    job = Resharding(router, ["-"], ["-80", "80-"], chunk=25)
    job.run()
    router.insert(5, customer_of(5), -5)  # acknowledged on a new shard after the cut-over
    for step in (job.copy_chunk, job.catch_up):
        with pytest.raises(ShardingError, match="after the cut-over"):
            step()
        assert job.phase() == "cut_over"
    job.rollback()
    assert (5, customer_of(5), -5) in router.scan()[0]


def test_cut_over_refuses_an_unfinished_copy() -> None:
    router = Router(SQLiteShards(tempfile.mkdtemp()), ["-"])
    seed_rows(router, 100)
    job = Resharding(router, ["-"], ["-80", "80-"], chunk=10)
    job.start()
    job.copy_chunk()
    with pytest.raises(ShardingError, match="copied"):
        job.cut_over()
    assert router.shards == ("-",)


def test_steps_before_start_are_refused_and_make_no_target(databases: ShardDatabases) -> None:
    router = Router(databases, ["-"])
    router.insert(1, "a", 1)
    job = Resharding(router, ["-"], TARGETS)
    for step in (job.copy_chunk, job.catch_up, job.verify, job.cut_over):
        with pytest.raises(ShardingError, match=r"before the resharding started|copied first"):
            step()
    assert not any(databases.exists(t) for t in TARGETS)
    assert job.phase() == "new" and router.shards == ("-",)
    assert job.run().ok  # and the resharding still runs from the start
    databases.close()


_CHILD = """
import sys, time
from designpatterns_ref.sharding.router import Router
from designpatterns_ref.sharding.resharding import Resharding
from designpatterns_ref.sharding.sql import {backend}
router = Router({backend}({arg!r}), ["-"])
job = Resharding(router, ["-"], ["-80", "80-"], chunk=20)
job.start()
while True:
    job.copy_chunk()
    job.catch_up()
    print("chunk", flush=True)
    time.sleep(0.02)
"""


def test_a_resharding_killed_mid_copy_resumes(databases: ShardDatabases) -> None:
    router = Router(databases, ["-"])
    seeded = seed_rows(router, 400)
    if isinstance(databases, SQLiteShards):
        code = _CHILD.format(backend="SQLiteShards", arg=str(databases.folder))
    else:
        assert isinstance(databases, PostgresShards)
        code = _CHILD.format(backend="PostgresShards", arg=databases.admin_url).replace(
            "PostgresShards(", f"PostgresShards(prefix={databases.prefix!r}, admin_url="
        )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    for _ in range(5):
        assert child.stdout.readline().startswith("chunk")
    child.send_signal(signal.SIGKILL)  # a crash between copy and cut-over
    child.wait()
    router.insert(3, customer_of(3), 33)  # writes go on while nobody is resharding
    job = Resharding(router, ["-"], ["-80", "80-"], chunk=20)
    assert job.phase() == "copying"
    assert job.resume().ok
    rows, _ = router.scan()
    expected = sorted(
        [(3, customer_of(3), 33), *((i, customer_of(i - 900_000), v) for i, v in seeded.items())]
    )
    assert rows == expected


# --- bad input: a clear error and nothing moved ----------------------------------------------


@pytest.mark.parametrize(
    ("shards", "message"),
    [
        (["-80", "90-"], "gap"),
        (["-80", "70-"], "overlaps"),
        (["-80"], "gap after"),
        (["40-"], r"gap before 40: the first shard must start where .* \(a name like '-40'\)"),
        ([], "empty"),
        (["-8g"], "hex"),
        (["80"], "range name"),
        ("-80", "iterable"),
    ],
)
def test_bad_shard_maps_are_refused(shards: Any, message: str) -> None:
    with pytest.raises(ShardingError, match=message):
        ShardMap(shards)


def test_bad_resharding_requests_change_nothing(tmp_path: Path) -> None:
    router = Router(SQLiteShards(tmp_path), ["-80", "80-"])
    router.insert(1, "a", 1)
    bad: list[Callable[[], object]] = [
        lambda: Resharding(router, ["-"], ["-80", "80-"]),  # source not serving
        lambda: Resharding(router, ["-80", "80-"], ["-80", "80-"]),  # shares shards
        lambda: Resharding(router, ["-80", "80-"], ["-40", "40-"], chunk=0),
        lambda: Resharding(object(), ["-"], ["-80", "80-"]),  # type: ignore[arg-type]
        lambda: router.insert(2**63, "a", 1),
        lambda: router.insert(1, "", 1),
        lambda: router.insert(1, "a", True),
        lambda: router.by_customer(None),  # type: ignore[arg-type]
    ]
    for call in bad:
        with pytest.raises(ShardingError):
            call()
    assert router.shards == ("-80", "80-")
    assert router.scan()[0] == [(1, "a", 1)]
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == ["-80.db", "80-.db"]


def test_hash_vindex_spreads_evenly() -> None:
    shard_map = ShardMap(["-40", "40-80", "80-c0", "c0-"])
    vindex = HashVindex()
    counts: dict[str, int] = {}
    for i in range(8000):
        shard = shard_map.shard_for_id(vindex.keyspace_id(f"customer-{i}"))
        counts[shard] = counts.get(shard, 0) + 1
    assert max(counts.values()) / 2000 < 1.1


# --- a restart after cut-over, and a kill between any two steps --------------------------------

TARGETS = ["-80", "80-"]


def reopen(databases: ShardDatabases) -> ShardDatabases:
    """What a new process opens: the same shard databases, no memory of the old router."""
    databases.close()
    if isinstance(databases, SQLiteShards):
        return SQLiteShards(databases.folder)
    assert isinstance(databases, PostgresShards)
    return PostgresShards(databases.admin_url, prefix=databases.prefix)


@pytest.mark.parametrize("recover", ["resume", "rollback"])
def test_a_restart_after_cut_over_resumes_or_rolls_back(
    databases: ShardDatabases, recover: str
) -> None:
    router = Router(databases, ["-"])
    seeded = seed_rows(router, 120)
    assert Resharding(router, ["-"], TARGETS, chunk=50).run().ok
    router.insert(5, customer_of(5), -5)  # acknowledged by a new shard after cut-over
    router.delete(900_001, customer_of(1))
    seeded[5], seeded[900_001] = -5, None
    want = sorted((i, customer_of(i % 900_000), v) for i, v in seeded.items() if v is not None)
    # --- the process dies; a new one opens the shards with the map it was configured with
    databases = reopen(databases)
    router = Router(databases, ["-"])
    job = Resharding(router, ["-"], TARGETS, chunk=50)
    assert job.phase() == "cut_over"
    with pytest.raises(ShardingError, match="no longer takes writes"):
        router.insert(7, customer_of(7), 7)  # the old shard is fenced: no write lands there
    assert databases.query("-", "SELECT count(*) FROM orders WHERE id = 7") == [(0,)]
    if recover == "resume":
        assert job.resume().ok
        assert job.resume().ok  # idempotent
        assert router.shards == tuple(TARGETS) and job.phase() == "cut_over"
    else:
        job.rollback()
        assert router.shards == ("-",) and job.phase() == "new"
    assert router.scan()[0] == want  # nothing acknowledged is lost
    router.insert(7, customer_of(7), 7)
    assert (7, customer_of(7), 7) in router.scan()[0]
    databases.close()


def _set_readable(databases: ShardDatabases, shard: str, readable: bool) -> None:
    """Make a shard that exists unreadable, or readable again: the server refuses connections
    to it (PostgreSQL), or its file header is damaged (SQLite)."""
    if isinstance(databases, SQLiteShards):
        path = databases.path(shard)
        data = bytearray(path.read_bytes())
        data[:16] = b"not a database!!" if not readable else b"SQLite format 3\x00"
        path.write_bytes(bytes(data))
        return
    assert isinstance(databases, PostgresShards)
    import psycopg

    with psycopg.connect(databases.admin_url, autocommit=True) as conn:
        conn.execute(
            f"ALTER DATABASE {databases.database(shard)} "
            f"ALLOW_CONNECTIONS {str(readable).lower()}".encode()
        )


def test_an_unreadable_target_is_refused_never_dropped(databases: ShardDatabases) -> None:
    """A target that exists but cannot be read may hold acknowledged writes: phase() and
    rollback() raise ShardingError instead of taking it for one not made yet (and dropping it)."""
    router = Router(databases, ["-"])
    seeded = seed_rows(router, 40)
    assert Resharding(router, ["-"], TARGETS, chunk=50).run().ok
    router.insert(100, customer_of(100), 7)  # acknowledged, lives only on a target
    seeded[100] = 7
    want = sorted((i, customer_of(i % 900_000), v) for i, v in seeded.items() if v is not None)
    databases = reopen(databases)  # a new process, opened with the old list
    for target in TARGETS:
        _set_readable(databases, target, False)
    router = Router(databases, ["-"])
    job = Resharding(router, ["-"], TARGETS)
    with pytest.raises(ShardingError, match="cannot read the resharding state"):
        job.phase()
    with pytest.raises(ShardingError, match="cannot read the resharding state"):
        job.rollback()
    assert all(databases.exists(t) for t in TARGETS)
    for target in TARGETS:
        _set_readable(databases, target, True)
    assert job.phase() == "cut_over"
    job.rollback()  # now it replays the target's writes back
    assert router.shards == ("-",)
    assert router.scan()[0] == want
    databases.close()


class Worker:
    """An application thread that keeps its own shard connections between calls."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[Callable[[], Any] | None] = queue.Queue()
        self.results: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                self.results.put(("ok", job()))
            except Exception as exc:  # pragma: no cover - shown by the test's assertion
                self.results.put((type(exc).__name__, str(exc)))

    def __call__(self, job: Callable[[], Any]) -> Any:
        self.jobs.put(job)
        status, value = self.results.get(timeout=60)
        assert status == "ok", value
        return value

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=60)


def test_other_threads_reconnect_to_a_shard_dropped_and_made_again(
    databases: ShardDatabases,
) -> None:
    """A rollback drops the targets; a split made again creates them anew. A thread that used
    the old targets reconnects (on SQLite its old connection would still see the unlinked
    file, fenced; on PostgreSQL the drop terminated it) and sees what the others see."""
    router = Router(databases, ["-"])
    worker = Worker()
    try:
        for i in range(10):
            router.insert(i, customer_of(i), i)
        Resharding(router, ["-"], TARGETS).run()
        worker(lambda: router.insert(100, "zed", 1))  # the worker connects to a target
        Resharding(router, ["-"], TARGETS).rollback()
        worker(lambda: router.insert(101, "zed", 2))
        Resharding(router, ["-"], TARGETS).run()
        worker(lambda: router.insert(102, "zed", 3))
        want = [(100, "zed", 1), (101, "zed", 2), (102, "zed", 3)]
        assert worker(lambda: router.by_customer("zed")[0]) == want
        assert router.by_customer("zed")[0] == want
        assert worker(lambda: len(router.scan()[0])) == 13
        worker(databases.close)
    finally:
        worker.stop()
        databases.close()


def test_a_closed_connection_is_replaced(databases: ShardDatabases) -> None:
    router = Router(databases, ["-"])
    router.insert(1, "a", 1)
    databases._conn("-").close()  # closed under the router's feet (or lost)
    assert router.scan()[0] == [(1, "a", 1)]
    databases.close()


def _again(databases: ShardDatabases) -> ShardDatabases:
    """The same shard databases opened once more, with their own connections (another router)."""
    if isinstance(databases, SQLiteShards):
        return SQLiteShards(databases.folder)
    assert isinstance(databases, PostgresShards)
    return PostgresShards(databases.admin_url, prefix=databases.prefix)


def _existing_targets(databases: ShardDatabases) -> list[str]:
    """The targets whose tables exist (probing a missing SQLite shard leaves an empty file)."""
    if isinstance(databases, SQLiteShards):
        files = [t for t in TARGETS if databases.path(t).exists()]
        table = "SELECT count(*) FROM sqlite_master WHERE name = 'denied_writes'"
    else:
        assert isinstance(databases, PostgresShards)
        import psycopg

        with psycopg.connect(databases.admin_url, autocommit=True) as conn:
            names = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        files = [t for t in TARGETS if databases.database(t) in names]
        table = "SELECT count(*) FROM pg_tables WHERE tablename = 'denied_writes'"
    return [t for t in files if databases.query(t, table) == [(1,)]]


def target_router_before(
    databases: ShardDatabases, phase: str, wrote: dict[int, Any], point: str
) -> Router | None:
    """Before a recovery: a router opened with the target list is refused reads and writes
    until the cut-over; once it is decided, it is refused or served every acknowledged write."""
    if phase == "new":  # every target that exists is fenced (a router would create the others)
        for target in _existing_targets(databases):
            assert databases.query(target, "SELECT moved_to FROM denied_writes") == [("from:-",)]
        return None
    early = Router(_again(databases), TARGETS)
    on_80 = next(customer_of(i) for i in range(37) if early.shard_of(customer_of(i)) == "80-")
    if phase in ("copying", "copied"):
        for call in (
            early.scan,
            lambda: early.by_customer(on_80),
            lambda: early.insert(8, on_80, 8),
            lambda: early.delete(900_004, customer_of(4)),
        ):
            with pytest.raises(ShardingError, match="has not cut over yet"):
                call()
        return early
    want = sorted((i, customer_of(i % 900_000), v) for i, v in wrote.items() if v is not None)
    try:
        assert early.scan()[0] == want, point
    except ShardingError as exc:  # a target not marked yet, or fenced by a rollback
        assert "no longer takes reads" in str(exc) or "not cut over yet" in str(exc)
    return early


def target_router_after(
    router: Router, early: Router | None, want: list[tuple[int, str, int]], point: str
) -> None:
    """After a resume a router opened with the target list (before it, or now) is served."""
    if router.shards != tuple(TARGETS):  # rolled back: the targets are gone
        if early is not None:
            early.db.close()
        return
    fresh = Router(_again(router.db), TARGETS)
    for target_router in (r for r in (early, fresh) if r is not None):
        assert target_router.scan()[0] == want, point
    fresh.insert(8, customer_of(8), 8)  # acknowledged by a target
    assert router.by_id(8)[0] == [(8, customer_of(8), 8)]
    for target_router in (r for r in (early, fresh) if r is not None):
        target_router.db.close()


class Killed(BaseException):
    """The resharding process dies at a crash point: nothing after it runs."""


def _whole_story(router: Router, on_point: Callable[[str], object], wrote: dict[int, Any]) -> None:
    """Start, copy with a write in between, cut over, write on the new shards, roll back."""
    job = Resharding(router, ["-"], TARGETS, chunk=25, on_point=on_point)
    job.start()
    router.insert(1, customer_of(1), 11)
    wrote[1] = 11
    while not job.copy_chunk():
        job.catch_up()
    job.catch_up()
    assert job.cut_over().ok
    router.insert(2, customer_of(2), 22)  # lands on a new shard
    wrote[2] = 22
    router.delete(900_003, customer_of(3))
    wrote[900_003] = None
    job.rollback()


def _reset(databases: ShardDatabases) -> None:
    """Drop the targets and empty the source (quicker than a new database on PostgreSQL)."""
    for shard in TARGETS:
        databases.drop(shard)
    with databases.transaction("-", serial=True) as run:
        for table in ("orders", "changes", "resharding", "denied_writes"):
            run(f"DELETE FROM {table}")


def _points(databases: ShardDatabases) -> list[str]:
    names: list[str] = []
    router = Router(databases, ["-"])
    seed_rows(router, 60)
    _whole_story(router, names.append, {})
    _reset(databases)
    return names


@pytest.mark.parametrize(
    ("databases", "recover", "every"),
    [
        ("sqlite", "resume", 1),
        ("sqlite", "rollback", 1),
        ("postgres", "resume", 2),  # the odd crash points
        ("postgres", "rollback", 2),  # the even ones: two tests, so two workers share them
    ],
    indirect=["databases"],
)
def test_a_resharding_killed_between_any_two_steps_recovers(
    databases: ShardDatabases, recover: str, every: int
) -> None:
    """Die after every durable step in turn (copy, fence, each target's cut-over mark, switch,
    and each step of a rollback after cut-over); a new process (new connections, a router
    opened with the old shard list) then resumes or rolls back, and every acknowledged write
    is there, each row on the shard that owns it. On PostgreSQL each crash point is recovered
    one way, resume at the odd points and rollback at the even ones, to keep the run short."""
    points = _points(databases)
    assert {"fence:-", "cut_over:-80", "switched", "fence:-80", "replay:80->-",
            "rolled_back:-80", "unfence:-", "drop:80-"} <= set(points)  # fmt: skip
    first = 2 if every == 2 and recover == "rollback" else 1
    for n in range(first, len(points) + 1, every):
        calls = iter(range(1, 10**6))

        def die(name: str, n: int = n, calls: Iterator[int] = calls) -> None:
            if next(calls) == n:
                raise Killed(name)

        router = Router(databases, ["-"])
        wrote: dict[int, Any] = dict(seed_rows(router, 60))
        with pytest.raises(Killed):
            _whole_story(router, die, wrote)
        databases = reopen(databases)
        router = Router(databases, ["-"])
        job = Resharding(router, ["-"], TARGETS, chunk=25)
        phase = job.phase()
        early = target_router_before(databases, phase, wrote, points[n - 1])
        if phase == "cut_over":  # the old shard is fenced until a resume or a rollback
            with pytest.raises(ShardingError, match="no longer takes writes"):
                router.insert(7, customer_of(7), 7)
        if recover == "resume" and phase != "rolled_back":
            assert job.resume().ok, points[n - 1]
            assert router.shards == tuple(TARGETS) and job.phase() == "cut_over"
        else:
            if phase == "rolled_back":
                with pytest.raises(ShardingError, match="rollback"):
                    job.resume()
            job.rollback()
            assert router.shards == ("-",) and job.phase() == "new"
        router.insert(7, customer_of(7), 7)
        wrote[7] = 7
        want = sorted((i, customer_of(i % 900_000), v) for i, v in wrote.items() if v is not None)
        assert router.scan()[0] == want, points[n - 1]
        for shard in router.shards:
            r = KeyRange.parse(shard)
            ksids = databases.query(shard, "SELECT ksid FROM orders")
            assert all(int(k, 16) in r for (k,) in ksids)
        target_router_after(router, early, want, points[n - 1])
        _reset(databases)
    databases.close()


_STORY = """
import os, signal
from designpatterns_ref.sharding.router import Router
from designpatterns_ref.sharding.resharding import Resharding
from designpatterns_ref.sharding.sql import {backend}

def die(name):
    if name == {point!r}:
        os.kill(os.getpid(), signal.SIGKILL)  # a real kill: no clean-up, no finally

router = Router({backend}({arg}), ["-"])
job = Resharding(router, ["-"], ["-80", "80-"], chunk=25, on_point=die)
job.start()
router.insert(1, "customer-1", 11)
print("wrote 1 11", flush=True)
while not job.copy_chunk():
    job.catch_up()
job.catch_up()
job.cut_over()
router.insert(2, "customer-2", 22)
print("wrote 2 22", flush=True)
router.delete(900003, "customer-3")
print("deleted 900003", flush=True)
job.rollback()
print("done", flush=True)
"""


@pytest.mark.parametrize(
    ("point", "recover"),
    [
        ("start:-80", "resume"),
        ("copy:->80-", "rollback"),
        ("fence:-", "resume"),
        ("cut_over:-80", "rollback"),
        ("switched", "resume"),
        ("switched", "rollback"),
        ("replay:-80>-", "resume"),
        ("rolled_back:-80", "rollback"),
        ("unfence:-", "rollback"),
    ],
)
def test_a_resharding_killed_around_cut_over_resumes_or_rolls_back(
    databases: ShardDatabases, point: str, recover: str
) -> None:
    """The same as above with a real process and SIGKILL, at the steps around cut-over."""
    router = Router(databases, ["-"])
    wrote: dict[int, int | None] = dict(seed_rows(router, 60))
    if isinstance(databases, SQLiteShards):
        code = _STORY.format(backend="SQLiteShards", arg=repr(str(databases.folder)), point=point)
    else:
        assert isinstance(databases, PostgresShards)
        arg = f"{databases.admin_url!r}, prefix={databases.prefix!r}"
        code = _STORY.format(backend="PostgresShards", arg=arg, point=point)
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    for line in child.stdout.splitlines():  # the writes the child saw acknowledged
        if line.startswith("wrote"):
            wrote[int(line.split()[1])] = int(line.split()[2])
        elif line.startswith("deleted"):
            wrote[int(line.split()[1])] = None
    databases = reopen(databases)
    router = Router(databases, ["-"])
    job = Resharding(router, ["-"], TARGETS, chunk=25)
    early = target_router_before(databases, job.phase(), wrote, point)
    if job.phase() == "rolled_back":
        with pytest.raises(ShardingError, match="rollback"):
            job.resume()
        job.rollback()
    elif recover == "resume":
        assert job.resume().ok
        assert router.shards == tuple(TARGETS)
    else:
        job.rollback()
        assert router.shards == ("-",)
    router.insert(7, customer_of(7), 7)
    wrote[7] = 7
    want = sorted((i, customer_of(i % 900_000), v) for i, v in wrote.items() if v is not None)
    assert router.scan()[0] == want
    target_router_after(router, early, want, point)
    databases.close()
