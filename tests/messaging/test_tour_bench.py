"""The tour is deterministic and tells the story; the bench steps are named; the capacity
model's arithmetic."""

from __future__ import annotations

from designpatterns_ref.messaging._bench import bench_gc, bench_steps
from designpatterns_ref.messaging._tour import tour
from designpatterns_ref.messaging.capacity import capacity


def test_tour_is_deterministic_and_tells_the_story() -> None:
    first: list[str] = []
    second: list[str] = []
    tour(first.append)
    tour(second.append)
    assert first == second
    text = "\n".join(first)
    assert "seq 1 both times" in text and "shown: [1, 2, 3, 4, 5, 6, 7, 8]" in text
    assert "gets [9]" in text and "0 presence" in text
    assert "all of them cs-b's (True)" in text


def test_bench_steps_and_the_gc_step() -> None:
    assert [name for name, _ in bench_steps(True)] == [
        "stores: seq assignment and dedup",
        "gateway in its own process: connections, memory, fan-out",
        "Slack's shape: 2 gateways, 2 channel servers, Redis",
        "read states: the GC lesson",
        "read states: write-back to SQLite or Redis",
    ]
    (table,) = bench_gc(True)
    assert [row[0] for row in table.rows] == ["naive", "gc_aware"]


def test_capacity_finds_the_bottleneck() -> None:
    m = capacity(1_000_000, bytes_per_conn=16_000, fanout_frames_per_s=1e9, messages_per_s=1,
                 members=1, memory_per_gateway=2**30)  # fmt: skip
    assert m["bottleneck"] == "memory" and m["gateways"] == 15 and m["memory_gib"] == 14.9
    m = capacity(1000, bytes_per_conn=1, fanout_frames_per_s=100, messages_per_s=10, members=1000)
    assert m["bottleneck"] == "fan-out" and m["gateways"] == 100
