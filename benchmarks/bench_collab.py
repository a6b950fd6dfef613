"""Collaborative editing on real traces: local replay, remote merge, concurrent replay.

``pytest benchmarks/bench_collab.py --benchmark-only`` for the figures (automerge-paper in
full, clownschool in full); under ``--benchmark-disable`` (the ``quick`` fixture) each runs
once on a prefix. Skips with the reason when the shared editing traces are absent.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.collab import RULES, apply_update, decode_ops, encode_update
from designpatterns_ref.collab._bench import (
    QUICK_EDITS,
    QUICK_TXNS,
    _fresh_apply_each,
    _into,
    _pycrdt,
    _pycrdt_apply,
    _pycrdt_doc,
    _splice,
    find_traces,
)
from designpatterns_ref.collab.traces import Patch, Trace, load_trace, replay_concurrent, replay_ot


@pytest.fixture(scope="module")
def traces() -> Path:
    folder = find_traces()
    if folder is None:
        pytest.skip("editing traces not found: set DPREF_DATA or place them at ../shared/data")
    return folder


@pytest.fixture(scope="module")
def patches(traces: Path, quick: bool) -> list[Patch]:
    out = load_trace(traces / "automerge-paper.json.gz").patches()
    return out[:QUICK_EDITS] if quick else out


@pytest.fixture(scope="module")
def clownschool(traces: Path, quick: bool) -> Trace:
    trace = load_trace(traces / "clownschool.json.gz")
    return dataclasses.replace(trace, txns=trace.txns[:QUICK_TXNS]) if quick else trace


def run(benchmark: Any, quick: bool, fn: Any, *args: Any) -> Any:
    return benchmark.pedantic(fn, args=args, rounds=1 if quick else 3, iterations=1)


def test_naive_splicing(benchmark: Any, quick: bool, patches: list[Patch]) -> None:
    assert run(benchmark, quick, _splice, patches)


@pytest.mark.parametrize("rule", list(RULES))
def test_local_replay(benchmark: Any, quick: bool, patches: list[Patch], rule: str) -> None:
    replica = run(benchmark, quick, lambda: _into(RULES[rule]("author"), patches))
    assert replica.text() == _splice(patches)


@pytest.mark.skipif(importlib.util.find_spec("pycrdt") is None, reason="pycrdt not installed")
def test_pycrdt_local_replay(benchmark: Any, quick: bool, patches: list[Patch]) -> None:
    _pycrdt(patches[:100])  # import pycrdt and warm it up before the clock starts
    assert run(benchmark, quick, _pycrdt, patches) == _splice(patches)


@pytest.mark.parametrize("rule", list(RULES))
def test_remote_merge(benchmark: Any, quick: bool, patches: list[Patch], rule: str) -> None:
    ops = _into(RULES[rule]("author"), patches).ops_since()

    def merge() -> Any:
        reader = RULES[rule]("reader")
        reader.apply_ops(ops)
        return reader

    assert run(benchmark, quick, merge).text() == _splice(patches)


@pytest.mark.parametrize("rule", list(RULES))
def test_remote_merge_one_at_a_time(
    benchmark: Any, quick: bool, patches: list[Patch], rule: str
) -> None:
    """The reference beside ``test_remote_merge``: the same operations without the one-pass
    load."""
    ops = _into(RULES[rule]("author"), patches).ops_since()
    reader = run(benchmark, quick, _fresh_apply_each, RULES[rule], ops)
    assert reader.text() == _splice(patches)


@pytest.mark.parametrize("rule", list(RULES))
def test_remote_merge_from_bytes(
    benchmark: Any, quick: bool, patches: list[Patch], rule: str
) -> None:
    update = encode_update(_into(RULES[rule]("author"), patches))

    def merge() -> Any:
        reader = RULES[rule]("reader")
        apply_update(reader, update)
        return reader

    assert run(benchmark, quick, merge).text() == _splice(patches)


needs_pycrdt = pytest.mark.skipif(
    importlib.util.find_spec("pycrdt") is None, reason="pycrdt not installed"
)


@needs_pycrdt
def test_pycrdt_remote_merge(benchmark: Any, quick: bool, patches: list[Patch]) -> None:
    update = _pycrdt_doc(patches).get_update()
    doc = run(benchmark, quick, _pycrdt_apply, update)
    assert str(doc.get("text", type=__import__("pycrdt").Text)) == _splice(patches)


def test_decode_update(benchmark: Any, quick: bool, patches: list[Patch]) -> None:
    author = _into(RULES["fuguemax"]("author"), patches)
    data = encode_update(author)
    assert run(benchmark, quick, decode_ops, data) == author.ops_since()
    benchmark.extra_info["bytes"] = len(data)


@needs_pycrdt
def test_update_no_larger_than_pycrdt(benchmark: Any, quick: bool, patches: list[Patch]) -> None:
    data = run(benchmark, quick, encode_update, _into(RULES["fuguemax"]("author"), patches))
    theirs = _pycrdt_doc(patches).get_update()
    benchmark.extra_info.update({"bytes": len(data), "pycrdt bytes": len(theirs)})
    assert len(data) <= len(theirs)


@pytest.mark.parametrize("rule", list(RULES))
def test_concurrent_replay(benchmark: Any, quick: bool, clownschool: Trace, rule: str) -> None:
    text = run(benchmark, quick, replay_concurrent, clownschool, RULES[rule])
    # on the quick prefix the trace's final text does not apply: the OT replay is the reference
    assert text == (replay_ot(clownschool) if quick else clownschool.end)


def test_concurrent_replay_ot(benchmark: Any, quick: bool, clownschool: Trace) -> None:
    text = run(benchmark, quick, replay_ot, clownschool)
    if quick:  # the OT server and every CRDT rule agree on the prefix
        assert text == replay_concurrent(clownschool, RULES["fuguemax"])
    else:
        assert text == clownschool.end
