"""Shard databases for the tests that run on both engines: a folder of SQLite files, or
databases named by a prefix on the test PostgreSQL server (``"admin_url prefix"``)."""

from __future__ import annotations

import itertools
import os

from designpatterns_ref.sharding.sql import PostgresShards, ShardDatabases, SQLiteShards

SHARDS = (
    "-",
    "-80",
    "80-",
    "-40",
    "40-",
    "40-80",
    "80-c0",
    "c0-",
    "-20",
    "20-80",
)  # every shard name these tests make
_prefixes = (f"t{os.getpid()}_{i}" for i in itertools.count())


def new_prefix() -> str:
    """A database name prefix no other test of this process uses."""
    return next(_prefixes)


def open_shards(engine: str, where: str) -> ShardDatabases:
    """The shard databases as a new process opens them (own connections, no router memory)."""
    if engine == "sqlite":
        return SQLiteShards(where)
    url, prefix = where.split(" ")
    return PostgresShards(url, prefix=prefix)


def drop_all(dbs: ShardDatabases) -> None:
    """Drop every shard the tests make, then close."""
    for shard in SHARDS:
        dbs.drop(shard)
    dbs.close()
