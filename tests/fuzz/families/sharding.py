"""sharding: every placement scheme, its constructor and its methods, and the slot functions."""

from __future__ import annotations

from typing import Any

from designpatterns_ref import sharding as sh
from tests.fuzz.spec import Entry

ERRORS = (sh.ShardingError,)

_MAKERS: dict[str, Any] = {
    "ModuloPlacement": sh.ModuloPlacement,
    "ConsistentHashRing": lambda s: sh.ConsistentHashRing(s, vnodes=8),
    "RendezvousPlacement": sh.RendezvousPlacement,
    "JumpPlacement": sh.JumpPlacement,
    "MaglevPlacement": lambda s: sh.MaglevPlacement(s, table_size=101),
}


def _entries(name: str, make: Any) -> list[Entry]:
    def fresh() -> Any:
        return make(["a", "b", "c"])

    return [
        Entry(f"{name}(shards)", call=lambda _, v: make(v)),
        Entry(f"{name}(shards=[v])", call=lambda _, v: make([v])),
        Entry(f"{name}.shard_for", make=fresh, call=lambda p, v: p.shard_for(v)),
        Entry(f"{name}.add", make=fresh, call=lambda p, v: p.add(v)),
        Entry(f"{name}.add(weight)", make=fresh, call=lambda p, v: p.add("d", weight=v)),
        Entry(f"{name}.remove", make=fresh, call=lambda p, v: p.remove(v)),
    ]


ENTRIES = [
    *(e for name, make in _MAKERS.items() for e in _entries(name, make)),
    Entry("ConsistentHashRing(vnodes)", call=lambda _, v: sh.ConsistentHashRing(["a"], vnodes=v)),
    Entry("ConsistentHashRing(weights)", call=lambda _, v: sh.ConsistentHashRing(["a"], weights=v)),
    Entry(
        "ConsistentHashRing(weights[a])",
        call=lambda _, v: sh.ConsistentHashRing(["a"], weights={"a": v}),
    ),
    Entry("ConsistentHashRing(layout)", call=lambda _, v: sh.ConsistentHashRing(["a"], layout=v)),
    Entry(
        "RendezvousPlacement(weights[a])",
        call=lambda _, v: sh.RendezvousPlacement(["a"], weights={"a": v}),
    ),
    Entry("MaglevPlacement(table_size)", call=lambda _, v: sh.MaglevPlacement(["a"], table_size=v)),
    Entry("jump_hash(key)", call=lambda _, v: sh.jump_hash(v, 10)),
    Entry("jump_hash(buckets)", call=lambda _, v: sh.jump_hash(1, v)),
    Entry(
        "RendezvousPlacement.score(shard)",
        make=lambda: sh.RendezvousPlacement(["a", "b", "c"]),
        call=lambda p, v: p.score(v, "k"),
        values=("zzz", ["a"]),
    ),
    Entry(
        "RendezvousPlacement.score(key)",
        make=lambda: sh.RendezvousPlacement(["a", "b", "c"]),
        call=lambda p, v: p.score("a", v),
    ),
    Entry("ketama_points(name)", call=lambda _, v: sh.ketama_points(v, 2)),
    Entry(
        "ketama_points(count)", call=lambda _, v: sh.ketama_points("a", v), values=(-1, 10**6 + 1)
    ),
    Entry("crc16", call=lambda _, v: sh.crc16(v), values=(bytearray(b"ab"), 5)),
    Entry("keyslot", call=lambda _, v: sh.keyslot(v)),
    Entry("hash_tag", call=lambda _, v: sh.hash_tag(v)),
    Entry("key_bytes", call=lambda _, v: sh.key_bytes(v)),
]


_SHARED: list[Any] = []


def _router() -> Any:
    """One router for every call: the contract compares each refused call's state with the state
    just before it, so state left by earlier accepted calls does no harm (and SQLite files are
    slow to make by the thousand)."""
    if not _SHARED:
        import tempfile

        from designpatterns_ref.sharding.router import Router
        from designpatterns_ref.sharding.sql import SQLiteShards

        router = Router(SQLiteShards(tempfile.mkdtemp(prefix="dpref-fuzz-")), ["-80", "80-"])
        router.insert(1, "alice", 10)
        _SHARED.append(router)
    return _SHARED[0]


def _router_state(router: Any) -> object:
    return (router.shards, router.scan()[0])


_DATABASES: list[Any] = []


def _databases() -> Any:
    """One SQLite folder holding shard "-80", shared like :func:`_router`'s."""
    if not _DATABASES:
        import tempfile

        from designpatterns_ref.sharding.sql import SQLiteShards

        databases = SQLiteShards(tempfile.mkdtemp(prefix="dpref-fuzz-"))
        databases.create("-80")
        _DATABASES.append(databases)
    return _DATABASES[0]


def _fences(databases: Any) -> object:
    return databases.query("-80", "SELECT moved_to FROM denied_writes ORDER BY moved_to")


def _fleet() -> Any:
    from designpatterns_ref.sharding.logical import LogicalShards

    return LogicalShards(["a", "b"], logical=8)


def _fleet_state(fleet: Any) -> object:
    return (fleet.hosts, list(fleet.owner))


def _modulo(shards: list[str]) -> Any:
    return sh.ModuloPlacement(shards)


_MOD = {"modulo": _modulo}


def _more() -> list[Entry]:
    from designpatterns_ref.sharding import plot
    from designpatterns_ref.sharding.keyspace import KeyRange, LookupVindex, ShardMap
    from designpatterns_ref.sharding.logical import LogicalShards, page_fanout
    from designpatterns_ref.sharding.resharding import Resharding
    from designpatterns_ref.sharding.router import Router
    from designpatterns_ref.sharding.schema import generate_blocks, run_schema_lesson
    from designpatterns_ref.sharding.sql import PostgresShards, SQLiteShards

    snap = _router_state
    return [
        Entry("KeyRange.parse", call=lambda _, v: KeyRange.parse(v)),
        Entry("KeyRange.split(parts)", call=lambda _, v: KeyRange.parse("-").split(v)),
        Entry("ShardMap(shards)", call=lambda _, v: ShardMap(v)),
        Entry("ShardMap([v])", call=lambda _, v: ShardMap([v])),
        Entry("ShardMap.shard_for_id", call=lambda _, v: ShardMap(["-"]).shard_for_id(v)),
        Entry("LookupVindex(table)", call=lambda _, v: LookupVindex({"a": v})),
        Entry("LookupVindex.keyspace_id", call=lambda _, v: LookupVindex().keyspace_id(v)),
        Entry("SQLiteShards(folder)", call=lambda _, v: SQLiteShards(v)),
        Entry("PostgresShards(admin_url)", call=lambda _, v: PostgresShards(v)),
        Entry(
            "PostgresShards(prefix)", call=lambda _, v: PostgresShards("postgresql://x/y", prefix=v)
        ),
        Entry("Router(databases)", call=lambda _, v: Router(v, ["-"])),
        Entry(
            "ShardDatabases.create(shard)",
            make=_databases,
            snapshot=_fences,
            call=lambda d, v: d.create(v),
        ),
        Entry(
            "ShardDatabases.create(fence)",
            make=_databases,
            snapshot=_fences,
            call=lambda d, v: d.create("-80", fence=v),
            values=("from:", "-80,", "from:-80;DROP TABLE orders", "to:-", ["-"]),
        ),
        Entry(
            "Router.insert(id)",
            make=_router,
            snapshot=snap,
            call=lambda r, v: r.insert(v, "bob", 1),
        ),
        Entry(
            "Router.insert(customer)",
            make=_router,
            snapshot=snap,
            call=lambda r, v: r.insert(2, v, 1),
        ),
        Entry(
            "Router.insert(amount)",
            make=_router,
            snapshot=snap,
            call=lambda r, v: r.insert(2, "bob", v),
        ),
        Entry(
            "Router.delete(id)", make=_router, snapshot=snap, call=lambda r, v: r.delete(v, "alice")
        ),
        Entry(
            "Router.delete(customer)", make=_router, snapshot=snap, call=lambda r, v: r.delete(1, v)
        ),
        Entry(
            "Router.by_customer", make=_router, snapshot=snap, call=lambda r, v: r.by_customer(v)
        ),
        Entry("Router.by_id", make=_router, snapshot=snap, call=lambda r, v: r.by_id(v)),
        Entry(
            "Resharding(source)",
            make=_router,
            snapshot=snap,
            call=lambda r, v: Resharding(r, v, ["-"]),
        ),
        Entry(
            "Resharding(target)",
            make=_router,
            snapshot=snap,
            call=lambda r, v: Resharding(r, ["-80", "80-"], v),
        ),
        Entry(
            "Resharding(chunk)",
            make=_router,
            snapshot=snap,
            call=lambda r, v: Resharding(r, ["-80", "80-"], ["-"], chunk=v),
        ),
        Entry(
            "Resharding(on_point)",
            make=_router,
            snapshot=snap,
            call=lambda r, v: Resharding(r, ["-80", "80-"], ["-"], on_point=v),
        ),
        Entry("LogicalShards(hosts)", call=lambda _, v: LogicalShards(v)),
        Entry("LogicalShards(logical)", call=lambda _, v: LogicalShards(["a"], logical=v)),
        Entry(
            "LogicalShards.add_host",
            make=_fleet,
            snapshot=_fleet_state,
            call=lambda f, v: f.add_host(v),
        ),
        Entry(
            "LogicalShards.remove_host",
            make=_fleet,
            snapshot=_fleet_state,
            call=lambda f, v: f.remove_host(v),
        ),
        Entry(
            "LogicalShards.host_for",
            make=_fleet,
            snapshot=_fleet_state,
            call=lambda f, v: f.host_for(v),
        ),
        Entry("page_fanout(logical)", call=lambda _, v: page_fanout([(1, 2)], logical=v)),
        Entry("page_fanout(blocks)", call=lambda _, v: page_fanout(v), values=([(1,)], [1])),
        Entry("page_fanout(blocks=[v])", call=lambda _, v: page_fanout([(1, 2), v])),
        Entry("page_fanout(workspace_id)", call=lambda _, v: page_fanout([(v, 2)])),
        Entry("page_fanout(block_id)", call=lambda _, v: page_fanout([(1, v)])),
        Entry(
            "generate_blocks(n)",
            call=lambda _, v: generate_blocks(v),
        ),
        Entry("generate_blocks(workspaces)", call=lambda _, v: generate_blocks(10, workspaces=v)),
        Entry(
            "run_schema_lesson(engine)",
            call=lambda _, v: run_schema_lesson(generate_blocks(5), engine=v),
        ),
        Entry(
            "run_schema_lesson(layouts)",
            call=lambda _, v: run_schema_lesson(generate_blocks(5), layouts=[v]),
        ),
        Entry("LookupVindex(table=v)", call=lambda _, v: LookupVindex(v)),
        Entry("plot.moved_fraction(n)", call=lambda _, v: plot.moved_fraction(_modulo, v, keys=5)),
        Entry(
            "plot.moved_fraction(keys)", call=lambda _, v: plot.moved_fraction(_modulo, 3, keys=v)
        ),
        Entry("plot.moved_fraction(make)", call=lambda _, v: plot.moved_fraction(v, 3, keys=5)),
        Entry("plot.imbalance(n)", call=lambda _, v: plot.imbalance(_modulo, v, keys=5)),
        Entry("plot.imbalance(keys)", call=lambda _, v: plot.imbalance(_modulo, 3, keys=v)),
        Entry(
            "plot.plot_growth(sizes)",
            call=lambda _, v: plot.plot_growth(v, keys=5, schemes=_MOD),
        ),
        Entry(
            "plot.plot_growth(sizes=[v])",
            call=lambda _, v: plot.plot_growth([v], keys=5, schemes=_MOD),
        ),
        Entry(
            "plot.plot_growth(keys)",
            call=lambda _, v: plot.plot_growth([2], keys=v, schemes=_MOD),
        ),
        Entry(
            "plot.plot_growth(schemes)",
            call=lambda _, v: plot.plot_growth([2], keys=5, schemes=v),
        ),
        Entry("plot.plot_load(n)", call=lambda _, v: plot.plot_load(v, keys=5, schemes=_MOD)),
        Entry(
            "plot.plot_load(keys)",
            call=lambda _, v: plot.plot_load(2, keys=v, schemes=_MOD),
        ),
        Entry(
            "plot.plot_lookup_cost(sizes=[v])",
            call=lambda _, v: plot.plot_lookup_cost([v], keys=5, schemes=_MOD),
        ),
        Entry(
            "plot.plot_lookup_cost(keys)",
            call=lambda _, v: plot.plot_lookup_cost([2], keys=v, schemes=_MOD),
        ),
        Entry("run_schema_lesson(blocks)", call=lambda _, v: run_schema_lesson(v)),
        Entry("run_schema_lesson(blocks=[v])", call=lambda _, v: run_schema_lesson([v])),
        *(
            Entry(
                f"run_schema_lesson({name})",
                call=lambda _, v, name=name: run_schema_lesson(
                    generate_blocks(5, workspaces=1), layouts=["typed"], **{name: v}
                ),
            )
            for name in ("workspace", "page", "before", "repeat")
        ),
    ]


ENTRIES += _more()
