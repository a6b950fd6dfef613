"""The send stage: provider calls, the dedup window, retries with backoff and jitter, dead letters.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

:class:`Sender` takes a batch of messages from the outgoing queue and gives each exactly one
fate: delivered (the provider said ok and the dedup window had not seen the id); duplicate (it
had: an at-least-once queue served the message again); expired (past its TTL); collapsed (a
newer message with the same collapse key is queued for the device); invalid-token (the device
is removed, never retried); retry (transient error or throttled: back in the queue after
``min(cap, base * 2**attempt)`` seconds times a uniform draw in [0.5, 1), the "equal jitter" that
spreads a burst of retries without starving any); dead-letter (too many attempts, or too large).
The message is acked only after its fate is recorded, so a crash replays it and the dedup window
absorbs the replay. The same class runs in the in-memory pipeline and in Redis worker processes.

Complexity: O(1) per message.

>>> backoff(0, base=1.0, cap=60.0, draw=0.0), backoff(10, base=1.0, cap=60.0, draw=0.999)
(0.5, 59.97)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Protocol

from designpatterns_ref.clock import Clock
from designpatterns_ref.notifications.base import NotificationError, Receipt, check_seconds
from designpatterns_ref.notifications.providers import SimulatedProvider
from designpatterns_ref.notifications.queues import Queue

__all__ = ["Deliverer", "Sender", "backoff"]


class Deliverer(Protocol):
    """Where deliveries are recorded: check the dedup window and record in one step."""

    def deliver(self, message_id: str) -> bool: ...


def backoff(attempt: int, *, base: float, cap: float, draw: float) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): equal jitter on a capped doubling."""
    if isinstance(attempt, bool) or not isinstance(attempt, int) or not 0 <= attempt <= 10**6:
        raise NotificationError(f"backoff: attempt={attempt!r} must be an int >= 0")
    check_seconds("backoff", "base", base, high=86400.0)
    check_seconds("backoff", "cap", cap, high=86400.0)
    if isinstance(draw, bool) or not isinstance(draw, int | float) or not 0 <= draw < 1:
        raise NotificationError(f"backoff: draw={draw!r} must be in [0, 1)")
    ceiling = min(cap, base * 2.0 ** min(attempt, 60))
    return round(ceiling * (0.5 + draw / 2), 6)


class Sender:
    """Sends batches from ``outgoing``; failures go back with backoff or to ``dead``."""

    def __init__(
        self,
        providers: Mapping[str, SimulatedProvider],
        dedup: Deliverer,
        outgoing: Queue,
        dead: Queue,
        *,
        clock: Clock,
        record: Callable[[Receipt], None],
        on_invalid: Callable[[str], None] = lambda token: None,
        latest: Mapping[tuple[str, str], str] | None = None,
        max_attempts: int = 5,
        base: float = 1.0,
        cap: float = 300.0,
        seed: int = 0,
    ) -> None:
        self.providers, self.dedup, self.outgoing, self.dead = providers, dedup, outgoing, dead
        self.clock, self.record, self.on_invalid = clock, record, on_invalid
        self.latest = latest if latest is not None else {}
        self.max_attempts, self.base, self.cap = max_attempts, base, cap
        self._rng = random.Random(seed)

    def send_batch(self, n: int = 1024) -> int:
        """Send up to ``n`` due messages; return how many were taken."""
        now = self.clock()
        batch = self.outgoing.take(n, now)
        if not batch:
            return 0
        done: list[Hashable] = []
        for ticket, m in batch:
            self._send_one(m, now)
            done.append(ticket)
        self.outgoing.ack(done)
        return len(batch)

    def _send_one(self, m: dict[str, Any], now: float) -> None:
        record, token, key = self.record, m["tok"], m["key"]
        attempts = m["a"] + 1
        ck = m["ck"]
        if now > m["exp"]:
            status = "expired"
        elif ck is not None and self.latest.get((token, ck), key) != key:
            status = "collapsed"
        else:
            answer = self.providers[m["ch"]].attempt(token, m["body"])
            if answer == "ok":
                status = "delivered" if self.dedup.deliver(m["id"]) else "duplicate"
            elif answer == "invalid-token":
                self.on_invalid(token)
                status = "invalid-token"
            elif answer == "too-large" or attempts >= self.max_attempts:
                self.dead.put({**m, "a": attempts, "why": answer}, lane=m["lane"])
                status = "dead-letter"
            else:
                wait = backoff(attempts - 1, base=self.base, cap=self.cap, draw=self._rng.random())
                self.outgoing.put({**m, "a": attempts}, lane=m["lane"], at=now + wait)
                status = "retry"
        record(Receipt(key, m["user"], token, m["ch"], status, now, attempts))
