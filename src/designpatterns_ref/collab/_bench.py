"""``dpref bench collab``: replaying real editing traces through the CRDT rules, OT and peers.

Workloads are the ``editing-traces`` collection (``$DPREF_DATA/editing-traces`` or
``../shared/data/editing-traces``): ``automerge-paper`` (259,778 single-character edits) for
local replay, remote merge and memory, ``clownschool`` for the concurrent replay. Figures are
medians of repeated runs in this process; ``pycrdt`` (the Rust Yjs port) runs beside ours when
installed. Quick mode replays the first 20,000 edits and a 3,000-transaction prefix once each.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from designpatterns_ref.benchkit import Table, installed
from designpatterns_ref.collab.batch import _check_batch
from designpatterns_ref.collab.crdt import RULES, Op, SequenceReplica
from designpatterns_ref.collab.ops import check_op
from designpatterns_ref.collab.sync import apply_update, encode_update
from designpatterns_ref.collab.traces import (
    Patch,
    Trace,
    load_trace,
    replay_concurrent,
    replay_ot,
)
from designpatterns_ref.collab.wire import decode_ops

__all__ = [
    "bench_concurrent",
    "bench_local",
    "bench_memory",
    "bench_remote",
    "bench_steps",
    "bench_wire",
    "expect_text",
    "find_traces",
    "median_seconds",
    "median_times",
]

QUICK_EDITS = 20_000
QUICK_TXNS = 3_000


def find_traces() -> Path | None:
    """The shared ``editing-traces`` folder, or None when it is not on this machine."""
    env = os.environ.get("DPREF_DATA")
    candidates = [Path(env) / "editing-traces"] if env else []
    for base in (Path.cwd(), Path(__file__).resolve()):
        for parent in (base, *base.parents):
            candidates.append(parent / "shared" / "data" / "editing-traces")
            candidates.append(parent.parent / "shared" / "data" / "editing-traces")
    return next((c for c in candidates if c.is_dir()), None)


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeat`` runs (garbage collected between)."""
    return median_times(fn, repeat)[0]


def median_times(
    fn: Callable[[], object], repeat: int, check: Callable[[Any], object] | None = None
) -> tuple[float, float]:
    """Median wall-clock and CPU seconds (this process, ``time.process_time``) of ``fn()``
    over ``repeat`` runs. On a busy shared machine the CPU figure moves far less.

    ``check``, when given, is called on each run's result after its clocks stop (so it is not
    timed): a run that produced the wrong result raises there."""
    walls, cpus = [], []
    for _ in range(repeat):
        gc.collect()
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
        if check is not None:
            check(result)
        del result
    return statistics.median(walls), statistics.median(cpus)


def expect_text(expected: str, what: str) -> Callable[[Any], None]:
    """A ``check`` for :func:`median_times`: the result (a string, or a replica's ``text()``)
    must equal ``expected``."""

    def check(result: Any) -> None:
        text = result if isinstance(result, str) else result.text()
        if text != expected:
            raise AssertionError(f"{what} produced a different text from the reference")

    return check


def _splice(patches: list[Patch]) -> str:
    text = ""
    for pos, n_deleted, inserted in patches:
        text = text[:pos] + inserted + text[pos + n_deleted :]
    return text


def _into(replica: SequenceReplica, patches: list[Patch]) -> SequenceReplica:
    insert, delete = replica.insert, replica.delete
    for pos, n_deleted, inserted in patches:
        if n_deleted:
            delete(pos, n_deleted)
        if inserted:
            insert(pos, inserted)
    return replica


def _fresh_replay(cls: type[SequenceReplica], patches: list[Patch]) -> SequenceReplica:
    return _into(cls("author"), patches)


def _fresh_update(cls: type[SequenceReplica], update: bytes) -> SequenceReplica:
    reader = cls("reader")
    apply_update(reader, update)
    return reader


def _fresh_apply(cls: type[SequenceReplica], ops: list[Op]) -> SequenceReplica:
    reader = cls("reader")
    reader.apply_ops(ops)
    return reader


def _fresh_apply_each(cls: type[SequenceReplica], ops: list[Op]) -> SequenceReplica:
    """``apply_ops`` without the one-pass load: every operation integrated on its own (the
    reference the load is tested against, and what every merge cost before it)."""
    reader = cls("reader")
    batch = [check_op(op) for op in ops]
    _check_batch(reader, batch)
    reader._apply_each(batch)
    return reader


def _pycrdt(patches: list[Patch]) -> str:
    from pycrdt import Doc, Text

    doc: Any = Doc()
    text: Any = Text()
    doc["text"] = text
    for pos, n_deleted, inserted in patches:
        if n_deleted:
            del text[pos : pos + n_deleted]
        if inserted:
            text.insert(pos, inserted)
    return str(text)


def _pycrdt_doc(patches: list[Patch]) -> Any:
    from pycrdt import Doc, Text

    doc: Any = Doc()
    text: Any = Text()
    doc["text"] = text
    for pos, n_deleted, inserted in patches:
        if n_deleted:
            del text[pos : pos + n_deleted]
        if inserted:
            text.insert(pos, inserted)
    return doc


def _pycrdt_apply(update: bytes) -> Any:
    from pycrdt import Doc

    doc: Any = Doc()
    doc.apply_update(update)
    return doc


def _malloc_in_use() -> int | None:
    """Bytes the C allocator has handed out and not taken back (glibc ``mallinfo2``), or
    None elsewhere. This is where a Rust extension's heap lives; Python objects are counted by
    tracemalloc instead."""
    import ctypes
    import ctypes.util

    class _Info(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in [
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            ]
        ]

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _Info
    info = mallinfo2()
    return int(info.uordblks + info.hblkhd)


def _pycrdt_memory(patches: list[Patch]) -> tuple[float, float] | None:
    """pycrdt's heap after the replay and its peak sampled every 1,000 edits, in bytes."""
    from pycrdt import Doc, Text

    gc.collect()
    base = _malloc_in_use()
    if base is None:
        return None
    doc: Any = Doc()
    text: Any = Text()
    doc["text"] = text
    peak = 0
    for k, (pos, n_deleted, inserted) in enumerate(patches):
        if n_deleted:
            del text[pos : pos + n_deleted]
        if inserted:
            text.insert(pos, inserted)
        if k % 1000 == 0:
            peak = max(peak, (_malloc_in_use() or 0) - base)
    gc.collect()
    used = (_malloc_in_use() or 0) - base
    return used, max(peak, used)


def _workload(quick: bool) -> tuple[str, list[Patch], Trace] | None:
    folder = find_traces()
    if folder is None or not (folder / "automerge-paper.json.gz").exists():
        return None
    trace = load_trace(folder / "automerge-paper.json.gz")
    patches = trace.patches()
    if quick:
        patches = patches[:QUICK_EDITS]
    return f"automerge-paper, {len(patches):,} edits", patches, trace


def _missing(title: str) -> list[Table]:
    table = Table(title, ["note"])
    table.add("editing traces not found: set DPREF_DATA or place them at ../shared/data")
    return [table]


def bench_local(quick: bool) -> list[Table]:
    """Local replay of every edit into one replica, beside string splicing and pycrdt."""
    work = _workload(quick)
    if work is None:
        return _missing("local replay")
    name, patches, _ = work
    repeat = 1 if quick else 5
    table = Table(
        f"local replay: {name}",
        ["implementation", "seconds (median)", "CPU seconds", "vs splicing"],
    )
    expected = _splice(patches)
    base, base_cpu = median_times(lambda: _splice(patches), repeat)
    table.add("Python string splicing", base, base_cpu, 1.0)
    for rule, cls in RULES.items():
        check = expect_text(expected, f"{cls.__name__} ({rule})")
        s, cpu = median_times(partial(_fresh_replay, cls, patches), repeat, check)
        table.add(f"{cls.__name__} ({rule})", s, cpu, s / base)
    if installed("pycrdt"):
        _pycrdt(patches[:100])  # import pycrdt and warm it up before the clock starts
        s, cpu = median_times(lambda: _pycrdt(patches), repeat, expect_text(expected, "pycrdt"))
        table.add("pycrdt (Yjs in Rust, via Python)", s, cpu, s / base)
    else:
        table.note = "pycrdt not installed (pip install designpatterns-ref[bench])"
    table.note = (
        table.note + "; " if table.note else ""
    ) + "every replay's text is checked against the splicing's, outside the timing"
    return [table]


def bench_remote(quick: bool) -> list[Table]:
    """Every operation of one replica applied to an empty replica: one at a time (the
    reference), as Python objects (the one-pass load), as bytes (decode and apply), and
    pycrdt's ``apply_update`` of the same document."""
    work = _workload(quick)
    if work is None:
        return _missing("remote merge")
    name, patches, _ = work
    repeat = 1 if quick else 5
    table = Table(
        f"remote merge into an empty replica: {name}",
        ["implementation", "operations", "ms (median)", "CPU ms"],
    )
    for rule, cls in RULES.items():
        author = _into(cls("author"), patches)
        ops = author.ops_since()
        s, cpu = median_times(partial(_fresh_apply_each, cls, ops), repeat)
        table.add(f"{rule}: one operation at a time (reference)", len(ops), s * 1e3, cpu * 1e3)
        s, cpu = median_times(partial(_fresh_apply, cls, ops), repeat)
        table.add(f"{rule}: apply_ops (objects, one-pass load)", len(ops), s * 1e3, cpu * 1e3)
        update = encode_update(author)
        s, cpu = median_times(partial(_fresh_update, cls, update), repeat)
        table.add(f"{rule}: apply_update (bytes)", len(ops), s * 1e3, cpu * 1e3)
    if installed("pycrdt"):
        update = _pycrdt_doc(patches).get_update()
        s, cpu = median_times(partial(_pycrdt_apply, update), repeat)
        table.add("pycrdt: apply_update (bytes)", "", s * 1e3, cpu * 1e3)
    else:
        table.note = "pycrdt not installed (pip install designpatterns-ref[bench])"
    return [table]


def bench_wire(quick: bool) -> list[Table]:
    """The whole document as one update: its size and the time to encode and decode it."""
    work = _workload(quick)
    if work is None:
        return _missing("wire format")
    name, patches, _ = work
    repeat = 1 if quick else 5
    table = Table(
        f"the whole document as one update: {name}",
        ["implementation", "bytes", "bytes per character typed", "encode CPU ms", "decode CPU ms"],
    )
    typed = sum(len(p[2]) for p in patches)
    author = _into(RULES["fuguemax"]("author"), patches)
    data = encode_update(author)
    enc = median_times(lambda: encode_update(author), repeat)[1]  # CPU: the load moves less
    dec = median_times(lambda: decode_ops(data), repeat)[1]
    table.add(
        "ours: encode_update / decode_ops", len(data), len(data) / typed, enc * 1e3, dec * 1e3
    )
    if installed("pycrdt"):
        doc = _pycrdt_doc(patches)
        update = doc.get_update()
        enc = median_times(doc.get_update, repeat)[1]
        table.add("pycrdt: get_update", len(update), len(update) / typed, enc * 1e3, "")
    return [table]


def bench_memory(quick: bool) -> list[Table]:
    """Memory held by the final replica and the peak during the replay (tracemalloc), beside
    pycrdt's Rust heap (the C allocator's bytes in use, glibc only)."""
    work = _workload(quick)
    if work is None:
        return _missing("memory")
    name, patches, _ = work
    table = Table(
        f"memory of the final replica: {name}",
        ["implementation", "MiB held", "MiB peak", "items", "chunks"],
    )
    for rule, cls in RULES.items():
        gc.collect()
        tracemalloc.start()
        replica = _into(cls("author"), patches)
        gc.collect()
        used, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        stats = replica.stats()
        table.add(rule, used / 2**20, peak / 2**20, stats["items"], stats["chunks"])
    measured = _pycrdt_memory(patches) if installed("pycrdt") else None
    if measured is not None:
        table.add("pycrdt (malloc in use)", measured[0] / 2**20, measured[1] / 2**20, "", "")
    return [table]


def bench_concurrent(quick: bool) -> list[Table]:
    """The concurrent clownschool trace through each rule and through the OT server."""
    folder = find_traces()
    if folder is None or not (folder / "clownschool.json.gz").exists():
        return _missing("concurrent replay")
    trace = load_trace(folder / "clownschool.json.gz")
    if quick:
        trace = dataclasses.replace(trace, txns=trace.txns[:QUICK_TXNS])
    repeat = 1 if quick else 3
    table = Table(
        f"concurrent replay: clownschool, {len(trace):,} transactions",
        ["replay", "seconds (median)"],
    )
    # the reference text: the trace's end in full, the OT replay's on a quick prefix (every
    # rule and the OT server agree on it)
    expected = replay_ot(trace) if quick else trace.end
    for rule, cls in RULES.items():
        check = expect_text(expected, f"CRDT {rule}")
        s, _ = median_times(partial(replay_concurrent, trace, cls), repeat, check)
        table.add(f"CRDT {rule}", s)
    s, _ = median_times(lambda: replay_ot(trace), repeat, expect_text(expected, "OT"))
    table.add("OT server + clients", s)
    table.note = (
        "every replay's text is checked against "
        + ("the OT replay's" if quick else "the trace's final text")
        + ", outside the timing"
    )
    return [table]


def bench_steps(quick: bool) -> list[tuple[str, Callable[[], list[Table]]]]:
    """The steps ``dpref bench collab`` runs, each returning its tables."""
    return [
        ("local replay", lambda: bench_local(quick)),
        ("remote merge", lambda: bench_remote(quick)),
        ("wire format", lambda: bench_wire(quick)),
        ("memory", lambda: bench_memory(quick)),
        ("concurrent replay", lambda: bench_concurrent(quick)),
    ]
