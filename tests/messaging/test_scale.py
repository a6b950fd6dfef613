"""The gateway's one-time framing against websockets' own frame encoder, and the load
generator end to end at a small size (every delivery counted; no timing asserted)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from designpatterns_ref.messaging.frames import text_frame
from designpatterns_ref.messaging.loadgen import cpu_seconds, measure_scale, rss_of
from designpatterns_ref.messaging.receivers import parse_frames


@given(st.one_of(st.binary(max_size=300), st.integers(0, 70_000).map(lambda n: b"x" * n)))
def test_text_frame_matches_websockets_serializer(payload: bytes) -> None:
    reference = Frame(Opcode.TEXT, payload).serialize(mask=False)
    assert text_frame(payload) == reference


@given(
    st.lists(st.one_of(st.binary(max_size=200), st.integers(125, 70_000).map(b"y".__mul__)),
             max_size=6),
    st.data(),
)  # fmt: skip
def test_parse_frames_splits_websockets_frames_at_any_cut(
    payloads: list[bytes], data: st.DataObject
) -> None:
    wire = b"".join(Frame(Opcode.TEXT, p).serialize(mask=False) for p in payloads)
    cut = data.draw(st.integers(0, len(wire)))
    first, rest = parse_frames(wire[:cut])
    second, tail = parse_frames(rest + wire[cut:])
    assert first + second == payloads and tail == b""
    assert len(rest) < 10 + (max(map(len, payloads)) if payloads else 0)


@pytest.mark.parametrize("server", ["gateway", "naive"])
def test_measure_scale_small_run_delivers_everything(server: str) -> None:
    r = measure_scale(30, members=20, rounds=2, pairs=50, receivers=3, server=server)
    assert r["delivered"] == r["expected"] == 40
    assert r["messages_per_s"] > 0  # all 50 pair messages arrived at both ends
    for key in ("server_bytes_per_conn", "client_bytes_per_conn"):  # each socket costs memory
        assert isinstance(r[key], float) and math.isfinite(r[key]) and r[key] > 0, (key, r[key])
    assert rss_of() > 0 and cpu_seconds(__import__("os").getpid()) > 0


def test_measure_cluster_small_run_delivers_everything(redis_url: str) -> None:
    from designpatterns_ref.messaging.loadgen import measure_cluster

    r = measure_cluster(redis_url, members=10, rounds=2)
    assert r["delivered"] == r["expected"] == 20


def test_measure_scale_runs_under_a_running_event_loop() -> None:
    import asyncio

    async def inside_a_loop() -> dict[str, object]:  # as in a notebook's kernel
        return measure_scale(5, members=5, rounds=1, pairs=5, receivers=1)

    r = asyncio.run(inside_a_loop())
    assert r["delivered"] == r["expected"] == 5
