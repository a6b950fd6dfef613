"""A consistent-hash ring with virtual nodes: which channel server owns a conversation.

Case study: Slack's WebSocket Gateway: 1M Concurrent Connections
(docs/case-studies/slack-gateway.md)

Each node (a channel server's name) is hashed to ``vnodes`` points on a ring of 64-bit
integers (the first 8 bytes of ``blake2b(f"{node}#{i}")``); a key belongs to the first point
clockwise from its own hash (wrapping past the top), so every gateway that knows the same
node list routes a conversation to the same server, with no coordination. Removing a node
moves only the keys it owned (each to the next point clockwise); adding one takes keys only
for itself. Virtual nodes even out the share each node gets: with one point a node, shares
vary wildly; with 64, each is within a few tens of percent of ``1/n``.

Two points that hash equal are ordered by node name, so the answer never depends on the
order nodes were added. Complexity: ``node_for`` is a binary search, O(log(n * vnodes));
``add`` / ``remove`` rebuild the sorted list, O(n * vnodes * log).

>>> ring = HashRing(["cs-a", "cs-b", "cs-c"], vnodes=64)
>>> owner = ring.node_for("general")
>>> ring.remove("cs-b" if owner != "cs-b" else "cs-c"); ring.node_for("general") == owner
True
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable

from designpatterns_ref.errors import shown
from designpatterns_ref.messaging.base import MessagingError, MessagingTypeError, check_id

__all__ = ["HashRing", "ring_hash"]

#: Most virtual nodes a node may have (a ring of 1,000 nodes at this count is 4M points).
MAX_VNODES = 4096


def ring_hash(text: str) -> int:
    """The ring position of ``text``: the first 8 bytes of its BLAKE2b digest, big-endian."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class HashRing:
    """``HashRing(nodes, vnodes=64)``: ``node_for(key)`` is the first node clockwise."""

    def __init__(self, nodes: Iterable[str] = (), *, vnodes: int = 64) -> None:
        if isinstance(vnodes, bool) or not isinstance(vnodes, int):
            raise MessagingTypeError(f"vnodes={shown(vnodes, 80)} must be an integer")
        if not 1 <= vnodes <= MAX_VNODES:
            raise MessagingError(f"vnodes={shown(vnodes, 80)} must be within [1, {MAX_VNODES}]")
        if isinstance(nodes, str | bytes) or not isinstance(nodes, Iterable):
            raise MessagingTypeError(f"nodes={shown(nodes, 80)} must be an iterable of node names")
        names = [check_id("node", n) for n in nodes]
        if len(set(names)) != len(names):
            raise MessagingError(f"nodes={shown(names, 80)} has a duplicate name")
        self.vnodes = vnodes
        self._nodes: set[str] = set(names)
        self._points: list[tuple[int, str]] = []
        self._keys: list[int] = []
        self._rebuild()

    def _rebuild(self) -> None:
        self._points = sorted(
            (ring_hash(f"{n}#{i}"), n) for n in self._nodes for i in range(self.vnodes)
        )
        self._keys = [p for p, _ in self._points]

    @property
    def nodes(self) -> list[str]:
        """The nodes on the ring, sorted."""
        return sorted(self._nodes)

    def points(self, node: str) -> list[int]:
        """The ring positions of ``node``'s virtual nodes, sorted."""
        check_id("node", node)
        return sorted(ring_hash(f"{node}#{i}") for i in range(self.vnodes))

    def add(self, node: str) -> None:
        """Put ``node`` on the ring (it takes over the arcs just before its points)."""
        check_id("node", node)
        if node in self._nodes:
            raise MessagingError(f"node={shown(node, 80)} is already on the ring")
        self._nodes.add(node)
        self._rebuild()

    def remove(self, node: str) -> None:
        """Take ``node`` off the ring (its keys go to the next point clockwise)."""
        check_id("node", node)
        if node not in self._nodes:
            raise MessagingError(
                f"node={shown(node, 80)} is not on the ring {shown(self.nodes, 80)}"
            )
        self._nodes.discard(node)
        self._rebuild()

    def node_for(self, key: str) -> str:
        """The node owning ``key``: the first virtual node at or after ``ring_hash(key)``."""
        check_id("key", key)
        if not self._points:
            raise MessagingError("the ring has no nodes: add one before routing keys")
        i = bisect.bisect_left(self._keys, ring_hash(key))
        return self._points[i % len(self._points)][1]

    def shares(self) -> dict[str, float]:
        """The fraction of the ring each node owns (the arcs ending at its points)."""
        total = 2**64
        out = dict.fromkeys(self._nodes, 0.0)
        for i, (point, node) in enumerate(self._points):
            prev = self._points[i - 1][0] if i else self._points[-1][0] - total
            out[node] += (point - prev) / total
        return out

    def __repr__(self) -> str:
        return f"HashRing({self.nodes!r}, vnodes={self.vnodes})"
