"""A capacity model: scale measured per-connection figures to a million connections.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

Inputs are what ``dpref bench messaging`` measures on this machine (memory per idle
connection, fan-out throughput of one gateway core); the model is arithmetic: gateways
needed = max(by memory, by fan-out, by connection count), and the bottleneck is whichever
term is largest. Trade-off: a linear model ignores kernel socket buffers beyond the measured
ones, TLS, and bursts; it tells you which resource runs out first, not an exact bill.

With the figures measured on this machine (13,498 B per idle connection server-side, 12 ms
of CPU to fan one message out to 1,000 sockets, so about 83,000 frames a second a core; see
docs/case-studies/slack-gateway.md):

>>> m = capacity(1_000_000, bytes_per_conn=13_498, fanout_frames_per_s=83_000,
...              messages_per_s=2_000, members=100, memory_per_gateway=8 * 2**30)
>>> m["gateways"], m["bottleneck"], m["by_memory"], m["memory_gib"]
(3, 'fan-out', 2, 12.57)
"""

from __future__ import annotations

import math

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import MessagingError

__all__ = ["capacity"]


#: The smallest figure accepted: a tinier divisor would overflow the ratios to infinity.
MIN_FIGURE = 1e-6


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MessagingError(f"{name}={shown(value, 80)} must be a positive number")
    if not (MIN_FIGURE <= value <= 1e15):
        raise MessagingError(f"{name}={shown(value, 80)} must be within [{MIN_FIGURE:g}, 1e15]")
    return float(value)


def capacity(
    connections: int,
    *,
    bytes_per_conn: float,
    fanout_frames_per_s: float,
    messages_per_s: float,
    members: float,
    memory_per_gateway: float = 8 * 2**30,
    conns_per_gateway_limit: float = 500_000,
    frame_bytes: float = 200,
) -> dict[str, float | int | str]:
    """Gateways, memory and fan-out bandwidth for ``connections`` sockets, and the bottleneck.

    ``messages_per_s`` messages are sent in total, each fanned out to ``members`` sockets;
    ``fanout_frames_per_s`` is what one gateway process delivers per second.
    """
    n = _positive("connections", connections)
    per_conn = _positive("bytes_per_conn", bytes_per_conn)
    rate = _positive("fanout_frames_per_s", fanout_frames_per_s)
    msgs = _positive("messages_per_s", messages_per_s)
    fan = _positive("members", members)
    mem = _positive("memory_per_gateway", memory_per_gateway)
    limit = _positive("conns_per_gateway_limit", conns_per_gateway_limit)
    size = _positive("frame_bytes", frame_bytes)
    frames = msgs * fan
    needs = {
        "memory": math.ceil(n * per_conn / mem),
        "fan-out": math.ceil(frames / rate),
        "connections": math.ceil(n / limit),
    }
    bottleneck = max(needs, key=lambda k: needs[k])
    return {
        "gateways": max(needs.values()),
        "bottleneck": bottleneck,
        "by_memory": needs["memory"],
        "by_fanout": needs["fan-out"],
        "by_connections": needs["connections"],
        "memory_gib": round(n * per_conn / 2**30, 2),
        "fanout_frames_per_s": frames,
        "fanout_mbit_per_s": round(frames * size * 8 / 1e6, 1),
    }
