"""Figures of the messaging family: ack latency with GC pauses, a delivery trace, ring shares,
fan-out latency.

Case study: Discord's Read States: Rewriting a Go Service in Rust
(docs/case-studies/discord-read-states.md)

Each function imports matplotlib lazily, takes an optional ``ax=`` and returns the Figure.
"""

from __future__ import annotations

from typing import Any

from designpatterns_ref.figures import new_figure
from designpatterns_ref.messaging.gclab import GCRun
from designpatterns_ref.messaging.hashring import HashRing

__all__ = ["plot_delivery", "plot_fanout", "plot_gc_latency", "plot_ring_shares", "tour_figures"]


def plot_gc_latency(runs: list[GCRun], *, ax: Any = None) -> Any:
    """Per-ack latency (µs, log scale) in order, one series per layout: the spikes are GC."""
    fig, ax = new_figure(ax)
    for run in runs:
        ys = [ns / 1000 for ns in run.latencies_ns]
        label = f"{run.layout}: p99.9 {run.p(99.9):.0f} µs, {run.full_collections} full GCs"
        ax.plot(range(len(ys)), ys, lw=0.6, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("ack number")
    ax.set_ylabel("ack latency (µs)")
    ax.set_title("Read-state acks: naive objects vs GC-aware layout")
    ax.legend(loc="upper right", fontsize="small")
    return fig


def plot_delivery(arrivals: list[int], shown: list[int], *, ax: Any = None) -> Any:
    """Frames as they arrived (seq, with duplicates and reorders) against what the user saw."""
    fig, ax = new_figure(ax)
    ax.plot(range(len(arrivals)), arrivals, "o", ms=3, label="frames arriving (seq)")
    ax.step(range(len(shown)), shown, where="post", label="messages shown (seq)")
    ax.set_xlabel("event")
    ax.set_ylabel("sequence number")
    ax.set_title("At-least-once on the wire, exactly-once on screen")
    ax.legend(loc="upper left", fontsize="small")
    return fig


def plot_fanout(
    latencies_ms: dict[str, list[float]], *, target_ms: float | None = 20.0, ax: Any = None
) -> Any:
    """The share of deliveries done by each time after the send (one curve per server, as
    ``loadgen.measure_scale`` returns them in ``latencies_ms``), with the p99 target."""
    fig, ax = new_figure(ax)
    for label, lat in latencies_ms.items():
        xs = sorted(lat)
        p99 = xs[int(0.99 * (len(xs) - 1))] if xs else float("nan")
        ys = [100 * (i + 1) / len(xs) for i in range(len(xs))]
        ax.step(xs, ys, where="post", label=f"{label}: p99 {p99:.1f} ms")
    if target_ms is not None:
        ax.axvline(target_ms, color="grey", ls="--", lw=0.8, label=f"target p99 {target_ms:g} ms")
    ax.axhline(99, color="grey", ls=":", lw=0.8)
    ax.set_xlabel("time since the send (ms)")
    ax.set_ylabel("deliveries done (%)")
    ax.set_title("Fan-out of one message: how soon every member has it")
    ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_ring_shares(rings: dict[str, HashRing], *, ax: Any = None) -> Any:
    """Each node's share of the ring (bars), one group per ring: virtual nodes even them out."""
    fig, ax = new_figure(ax)
    width = 0.8 / max(1, len(rings))
    for i, (label, ring) in enumerate(rings.items()):
        shares = ring.shares()
        xs = [j + i * width for j in range(len(shares))]
        ax.bar(xs, [shares[n] * 100 for n in ring.nodes], width, label=label)
        ax.set_xticks([j + width * (len(rings) - 1) / 2 for j in range(len(shares))],
                      ring.nodes)  # fmt: skip
    if rings:
        n = len(next(iter(rings.values())).nodes)
        ax.axhline(100 / max(1, n), color="grey", ls="--", lw=0.8, label="fair share")
    ax.set_xlabel("channel server")
    ax.set_ylabel("share of conversations (%)")
    ax.set_title("Consistent hashing: virtual nodes even out the load")
    ax.legend(loc="upper right", fontsize="small")
    return fig


def tour_figures() -> dict[str, Any]:
    """The figures ``dpref tour --plots DIR`` saves for this family, by name."""
    import random

    from designpatterns_ref.messaging.gclab import measure
    from designpatterns_ref.messaging.inbox import Inbox
    from designpatterns_ref.messaging.server import ChatServer

    server = ChatServer()
    server.join("trip", "ann")
    for i in range(1, 16):
        server.send("ann", "trip", f"m{i}", f"message {i}")
    wire = server.fetch("trip", 1)
    wire = wire + random.Random(1).sample(wire, 6)
    random.Random(2).shuffle(wire)
    box, cursors = Inbox("trip"), []
    for msg in wire:
        box.receive(msg)
        cursors.append(box.cursor)
    nodes = ["cs-a", "cs-b", "cs-c", "cs-d", "cs-e"]
    runs = [measure(layout, entries=2000, ops=1000, seed=1) for layout in ("naive", "gc_aware")]
    return {
        "delivery": plot_delivery([m.seq for m in wire], cursors),
        "gc-latency": plot_gc_latency(runs),
        "ring-shares": plot_ring_shares(
            {"1 point a server": HashRing(nodes, vnodes=1), "64 virtual nodes": HashRing(nodes)}
        ),
    }
