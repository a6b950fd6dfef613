"""The database driver's errors do not leave the shard databases: a shard that cannot be
opened, or a transaction the database fails, raises :class:`ShardingError` naming the shard and
where it lives (its file, its database). On SQLite and on a real PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from designpatterns_ref.sharding import ShardingError
from designpatterns_ref.sharding.router import Router
from designpatterns_ref.sharding.sql import PostgresShards, SQLiteShards
from tests.sharding.shards import open_shards


def test_a_router_over_a_folder_that_is_gone_is_refused_with_our_error(tmp_path: Path) -> None:
    folder = tmp_path / "shards"
    folder.mkdir()
    dbs = SQLiteShards(folder)
    shutil.rmtree(folder)
    with pytest.raises(ShardingError, match=r"shard='-' at .*shards.*cannot be opened"):
        Router(dbs, ["-"])


def test_a_server_that_cannot_be_reached_is_our_error() -> None:
    dbs = PostgresShards("postgresql://nobody@127.0.0.1:1/none", prefix="gone")
    with pytest.raises(ShardingError, match="database gone__80' cannot be managed"):
        dbs.create("-80")
    with pytest.raises(ShardingError, match="database gone__80"):
        dbs.exists("-80")


def test_a_shard_whose_database_vanished_is_our_error(engine: str, place: str) -> None:
    """The database goes away behind the router (the folder removed, the database dropped by
    another client): the next write and read reopen it and fail with the family's error."""
    dbs = open_shards(engine, place)
    router = Router(dbs, ["-"])
    router.insert(1, "alice", 10)
    if isinstance(dbs, SQLiteShards):
        dbs.close()
        shutil.rmtree(dbs.folder)
    else:
        assert isinstance(dbs, PostgresShards)
        import psycopg

        with psycopg.connect(dbs.admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {dbs.database('-')} WITH (FORCE)".encode())
    # PostgreSQL: the first call meets its session ended by the drop, the next reconnect
    with pytest.raises(ShardingError, match=r"shard='-' at .* (cannot be opened|failed)"):
        router.insert(2, "bob", 20)
    with pytest.raises(ShardingError, match=r"shard='-' at .* cannot be opened"):
        router.insert(2, "bob", 20)
    with pytest.raises(ShardingError, match=r"shard='-' at .* cannot be opened"):
        router.by_customer("alice")
    dbs.close()


def test_a_failed_transaction_is_our_error_and_writes_nothing(engine: str, place: str) -> None:
    """A table dropped behind the router: the write fails with the family's error after its
    transaction is rolled back (the change log gained nothing), and so does the read."""
    dbs = open_shards(engine, place)
    router = Router(dbs, ["-"])
    router.insert(1, "alice", 10)
    with dbs.transaction("-") as run:
        run("DROP TABLE orders")
    where = "'database" if engine == "postgres" else r"'.*\.db'"
    with pytest.raises(ShardingError, match=rf"shard='-' at {where}.* failed a transaction"):
        router.insert(2, "bob", 20)
    with pytest.raises(ShardingError, match="failed a transaction"):
        router.by_customer("alice")
    assert dbs.query("-", "SELECT count(*) FROM changes") == [(1,)]
    dbs.close()
