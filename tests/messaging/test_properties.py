"""Every device ends with each conversation's messages exactly once, in seq order, gap-free,
whatever the schedule of sends, retries, disconnects, drops, duplicates and reorders; acks and
delivered receipts never run ahead of what the devices have shown."""

from __future__ import annotations

import uuid

from hypothesis import given, settings

from designpatterns_ref.messaging import MemoryStore, RedisStore, SQLiteStore
from tests.messaging.sim import Run, schedules


@given(schedules)
def test_memory_store_schedules_match_the_reference(schedule: list[tuple[object, ...]]) -> None:
    run = Run(MemoryStore())
    for operation in schedule:
        run.step(operation)
    run.finish()


@settings(max_examples=40)
@given(schedules)
def test_sqlite_store_schedules_match_the_reference(schedule: list[tuple[object, ...]]) -> None:
    store = SQLiteStore(":memory:")
    run = Run(store)
    for operation in schedule:
        run.step(operation)
    run.finish()
    store.close()


def test_redis_store_schedules_match_the_reference(redis_url: str) -> None:
    @settings(max_examples=25, deadline=None)
    @given(schedules)
    def check(schedule: list[tuple[object, ...]]) -> None:
        store = RedisStore(redis_url, prefix=f"t{uuid.uuid4().hex}")
        run = Run(store)
        for operation in schedule:
            run.step(operation)
        run.finish()
        store.close()

    check()
