"""Notion's layout and schema lesson: logical shards move whole, the key decides the fan-out,
and every schema layout answers the same as a plain-Python oracle, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.sharding import ShardingError
from designpatterns_ref.sharding.logical import LogicalShards, page_fanout
from designpatterns_ref.sharding.schema import (
    LAYOUTS,
    generate_blocks,
    reference_answers,
    run_schema_lesson,
)


def test_notions_fleet_480_logical_on_32_hosts() -> None:
    fleet = LogicalShards([f"db{i}" for i in range(32)])
    assert set(fleet.load().values()) == {15}
    # a workspace's blocks all live in one logical shard, on one host
    assert len({fleet.host_for(12345) for _ in range(10)}) == 1


@given(st.integers(1, 40), st.integers(1, 8))
def test_adding_hosts_moves_whole_logical_shards_and_evens_the_load(hosts: int, extra: int) -> None:
    fleet = LogicalShards([f"h{i}" for i in range(hosts)], logical=480)
    keys = [f"workspace-{i}" for i in range(300)]
    for j in range(extra):
        before_owner = list(fleet.owner)
        before_hosts = {k: fleet.host_for(k) for k in keys}
        moves = fleet.add_host(f"new{j}")
        n = len(fleet.hosts)
        load = fleet.load()
        assert max(load.values()) - min(load.values()) <= 1  # even, within one logical shard
        assert len(moves) == 480 // n  # exactly the new host's share moved, nothing else
        changed = [i for i in range(480) if fleet.owner[i] != before_owner[i]]
        assert sorted(changed) == sorted(m[0] for m in moves)
        for k in keys:  # a key moves only when its whole logical shard does
            if fleet.host_for(k) != before_hosts[k]:
                assert fleet.logical_shard(k) in changed


def test_removing_a_host_hands_its_shards_to_the_least_loaded() -> None:
    fleet = LogicalShards(["a", "b", "c", "d"])
    moves = fleet.remove_host("b")
    assert len(moves) == 120
    assert set(fleet.load().values()) == {160}
    with pytest.raises(ShardingError):
        fleet.remove_host("zz")
    assert fleet.hosts == ("a", "c", "d")


def test_the_shard_key_decides_a_page_loads_fan_out() -> None:
    page = [(42, f"block-{i}") for i in range(60)]
    by_workspace, by_block = page_fanout(page)
    assert by_workspace == 1
    assert by_block > 50  # 60 blocks over 480 shards: nearly one shard per block


def test_generated_blocks_are_deterministic_and_spread() -> None:
    assert generate_blocks(500, seed=3) == generate_blocks(500, seed=3)
    pages = Counter(b["page_id"] for b in generate_blocks(500))
    assert set(pages.values()) == {50}


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_every_layout_answers_like_the_oracle(engine: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url") if engine == "postgres" else None
    blocks = generate_blocks(3000, seed=5, workspaces=20)
    results = run_schema_lesson(blocks, engine=engine, pg_url=url, workspace=4, page=12, repeat=1)
    expected = reference_answers(blocks, 4, 12, 20_030)
    assert [r.layout for r in results] == [
        *LAYOUTS,
        *(["jsonb+gin"] if engine == "postgres" else []),
    ]
    for result in results:
        assert result.answers == expected, result.layout
        assert result.bytes > 0
    sizes = {r.layout: r.bytes for r in results}
    assert sizes["typed"] < sizes["json"]  # no key names repeated in every row


def test_bad_schema_requests_are_refused() -> None:
    for call in (
        lambda: generate_blocks(0),
        lambda: generate_blocks(10, workspaces=0),
        lambda: run_schema_lesson(generate_blocks(5), engine="mysql"),
        lambda: run_schema_lesson(generate_blocks(5), engine="postgres"),
        lambda: run_schema_lesson(generate_blocks(5), layouts=["jsonb+gin"]),
        lambda: LogicalShards(["a"], logical=0),
        lambda: LogicalShards(["a", "b"], logical=1),
        lambda: page_fanout([], logical=0),
    ):
        with pytest.raises(ShardingError):
            call()


def test_generate_blocks_defaults_to_no_more_workspaces_than_blocks() -> None:
    """The default (200 workspaces) is cut to ``n`` for fewer blocks, never refused."""
    for n in (1, 5, 199, 200, 450):
        blocks = generate_blocks(n)
        assert len(blocks) == n
        assert {b["workspace_id"] for b in blocks} <= set(range(min(200, n)))
    results = run_schema_lesson(generate_blocks(5), layouts=("typed",), repeat=1)
    assert [r.layout for r in results] == ["typed"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"blocks": []}, "blocks=.* non-empty list"),
        ({"blocks": "abc"}, "blocks=.* non-empty list"),
        ({"blocks": [{"id": 1}]}, r"blocks\[0\]\['workspace_id'\]"),
        (
            {"blocks": [*generate_blocks(3, workspaces=1), generate_blocks(1, workspaces=1)[0]]},
            "repeats",
        ),
        ({"blocks": [{**generate_blocks(1, workspaces=1)[0], "status": "done\x00"}]}, "printable"),
        ({"blocks": [{**generate_blocks(1, workspaces=1)[0], "page_id": 2**40}]}, "page_id"),
        ({"repeat": 0}, "repeat=0"),
        ({"repeat": 2.5}, "repeat=2.5"),
        ({"page": "3 OR 1=1"}, "page='3 OR 1=1' must be an int"),
        ({"workspace": None}, "workspace=None"),
        ({"before": True}, "before=True"),
        ({"before": 2**63}, "before="),
        ({"layouts": "typed"}, "layouts='typed' must be a non-empty list"),
        ({"layouts": 5}, "layouts=5 must be a non-empty list"),
        ({"layouts": []}, r"layouts=\[\] must be a non-empty list"),
        ({"layouts": [1]}, r"layouts=\[1\] must be a non-empty list"),
        ({"layouts": ["jsonb+gin"]}, "layout='jsonb\\+gin' is not one of"),
    ],
)
def test_bad_schema_lesson_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    """Checked before any table is made; the query values are bound, never pasted into SQL."""
    args: dict[str, Any] = {"blocks": generate_blocks(200, seed=1), **kwargs}
    blocks = args.pop("blocks")
    with pytest.raises(ShardingError, match=message):
        run_schema_lesson(blocks, **args)


@settings(max_examples=25, deadline=None)
@given(
    workspace=st.integers(-3, 6),
    page=st.integers(-2, 8),
    before=st.integers(19_990, 20_400),
)
def test_the_lesson_answers_like_the_oracle_for_any_query_values(
    workspace: int, page: int, before: int
) -> None:
    blocks = generate_blocks(300, seed=2, workspaces=5)
    for result in run_schema_lesson(
        blocks, workspace=workspace, page=page, before=before, repeat=1
    ):
        assert result.answers == reference_answers(blocks, workspace, page, before)


def test_the_postgres_lesson_leaves_a_blocks_table_of_the_users_alone(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE blocks (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO blocks VALUES (1, 'mine')")
    try:
        blocks = generate_blocks(300, seed=2, workspaces=5)
        results = run_schema_lesson(blocks, engine="postgres", pg_url=pg_url, repeat=1)
        assert all(r.answers == reference_answers(blocks, 7, 3, 20_030) for r in results)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            assert conn.execute("SELECT * FROM public.blocks").fetchall() == [(1, "mine")]
            left = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'dpref_schema_%'"
            ).fetchall()
            assert left == []
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS public.blocks")


def test_a_postgres_lesson_the_database_refuses_is_our_error(pg_url: str) -> None:
    """A server that cannot be reached, or a role without the right to create the scratch
    schema: ShardingError naming the cause, not the driver's error."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    blocks = generate_blocks(200)
    with pytest.raises(ShardingError, match=r"pg_url cannot run .*OperationalError"):
        run_schema_lesson(blocks, engine="postgres", pg_url="postgresql://x@127.0.0.1:1/none")
    role = "schema_lesson_no_create"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {role}".encode())
        admin.execute(f"CREATE ROLE {role} LOGIN".encode())  # no CREATE on the database
    try:
        with pytest.raises(ShardingError, match=r"pg_url cannot run .*InsufficientPrivilege"):
            run_schema_lesson(blocks, engine="postgres", pg_url=make_conninfo(pg_url, user=role))
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f"DROP ROLE IF EXISTS {role}".encode())
