"""A message queue with SQS semantics: visibility timeout, at-least-once, a dead-letter queue.

Case study: Design a Healthcare Patient Operations Platform (Serverless)
(docs/case-studies/healthcare-serverless.md)

:meth:`Queue.receive` hands out visible messages and hides each for ``visibility_timeout``
seconds; a consumer that does not :meth:`delete` it in time (it crashed, it timed out) sees it
delivered again: at-least-once, so handlers must be idempotent. A message received
``max_receives`` times without being deleted moves to the dead-letter queue on its next receive
(SQS's redrive policy), keeping its ``sent_at`` (a standard SQS queue keeps the enqueue
timestamp on the move): a dead letter says when the call first came in, and its ``enqueued_at``
when it was moved, from which the dead-letter queue's :meth:`~Queue.oldest_age` counts, as
SQS's ``ApproximateAgeOfOldestMessage`` does. Each receive hands out a copy with a new receipt
handle, and only the latest receipt deletes: a consumer that timed out keeps its old copy and
its old receipt, so its late delete is refused while the redelivered message is with another
consumer. Trade-off: no loss and no ordering; duplicates are the consumer's problem. Heap of
(visible_at, seq): O(log n) per send, receive and delete.

>>> from designpatterns_ref.serverless.scheduler import Scheduler
>>> s = Scheduler(); dlq = Queue(s)
>>> q = Queue(s, visibility_timeout=10, max_receives=2, dead_letter=dlq)
>>> q.send({"call": 1})
'm1'
>>> q.receive()[0].receive_count
1
>>> _ = s.run(until=11); q.receive()[0].receive_count
2
>>> _ = s.run(until=22); q.receive(), len(dlq)
([], 1)
"""

from __future__ import annotations

import heapq
import itertools
import json
from dataclasses import dataclass, replace
from typing import Any

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.serverless.base import (
    ServerlessError,
    ServerlessTypeError,
    check_count,
    check_name,
    check_payload,
    check_seconds,
)

__all__ = ["Message", "Queue"]

MAX_VISIBILITY_TIMEOUT = 43_200.0  # SQS: a visibility timeout is 0 to 12 hours
MAX_RECEIVE_BATCH = 10  # SQS: ReceiveMessage returns 1 to 10 messages a call

_QUEUES = itertools.count(1)  # numbers each queue, so a receipt names the queue it came from


@dataclass(slots=True)
class Message:
    """A message: its body, when it was sent, how often it was received, its receipt.

    ``sent_at`` is when it was first sent, also once it was moved to a dead-letter queue;
    ``enqueued_at`` is when it entered the queue that holds it: ``sent_at`` for a message sent
    there, the move for a dead letter.

    What :meth:`Queue.receive` and :meth:`Queue.peek` return is a copy: changing it, or a
    later receive of the same message, does not change the other."""

    id: str
    body: dict[str, Any]
    sent_at: float
    receive_count: int = 0
    visible_at: float = 0.0
    receipt: str = ""
    enqueued_at: float = 0.0


class Queue:
    """A queue on an injected clock; a :class:`Scheduler` is a clock.

    SQS's limits hold: ``visibility_timeout`` is 0 to 43,200 seconds (12 hours), and a receive
    takes 1 to 10 messages; a value beyond them is refused, as SQS refuses it."""

    def __init__(
        self,
        clock: Clock,
        *,
        visibility_timeout: float = 30.0,
        max_receives: int = 3,
        dead_letter: Queue | None = None,
    ) -> None:
        if not callable(clock):
            raise ServerlessTypeError(f"clock={shown(clock)} must be callable")
        self.visibility_timeout = check_seconds(
            "visibility_timeout", visibility_timeout, high=MAX_VISIBILITY_TIMEOUT
        )
        self.max_receives = check_count("max_receives", max_receives, high=1000)
        if dead_letter is not None and not isinstance(dead_letter, Queue):
            raise ServerlessTypeError(f"dead_letter={shown(dead_letter)} must be a Queue or None")
        self.clock = clock
        self.dead_letter = dead_letter
        self._receipts = f"q{next(_QUEUES)}:"  # the prefix of this queue's receipts
        self._messages: dict[str, Message] = {}
        self._bodies: dict[str, str] = {}  # each message's body as JSON text, for the copies
        self._heap: list[tuple[float, int, str]] = []
        self._seq = 0
        self.sent = 0
        self.received = 0
        self.redelivered = 0

    def __len__(self) -> int:
        return len(self._messages)

    def send(self, body: dict[str, Any]) -> str:
        """Enqueue ``body`` (a JSON object of valid text, at most 256 KiB); return the message
        id."""
        return self._enqueue(check_payload("body", body), None)

    def _enqueue(self, text: str, sent_at: float | None) -> str:
        """Add the message whose body is the JSON ``text``, sent at ``sent_at`` (now if None:
        a dead letter keeps the time it was first sent); its id."""
        now = read_seconds(self.clock, ServerlessError, "Queue.send")
        self._seq += 1
        msg = Message(f"m{self._seq}", json.loads(text), now if sent_at is None else sent_at)
        msg.visible_at = msg.enqueued_at = now
        self._messages[msg.id] = msg
        self._bodies[msg.id] = text
        heapq.heappush(self._heap, (msg.visible_at, self._seq, msg.id))
        self.sent += 1
        return msg.id

    def _pop_visible(self, now: float) -> tuple[tuple[float, int, str], Message] | None:
        """The next visible message and its heap entry (popped), skipping stale entries."""
        while self._heap and self._heap[0][0] <= now:
            entry = heapq.heappop(self._heap)
            msg = self._messages.get(entry[2])
            if msg is not None and msg.visible_at == entry[0]:
                return entry, msg
        return None

    def receive(self, max_messages: int = 1) -> list[Message]:
        """Up to ``max_messages`` (1 to 10, as in SQS) distinct visible messages, each hidden for
        the visibility timeout.

        As in SQS, one call returns a message at most once, even with ``visibility_timeout=0``
        (the messages taken go back into the heap only when the call ends): such a message is
        visible again to the next call, and each call counts one receive.
        """
        check_count("max_messages", max_messages, high=MAX_RECEIVE_BATCH)
        now = read_seconds(self.clock, ServerlessError, "Queue.receive")
        # First choose the messages, moving the exhausted ones to the dead-letter queue: a move
        # that fails (the dead-letter queue refuses it) puts every entry popped so far back, so
        # no message is lost or left hidden with no entry to make it visible again.
        chosen: list[tuple[tuple[float, int, str], Message]] = []
        while len(chosen) < max_messages and (found := self._pop_visible(now)) is not None:
            msg = found[1]
            if not self._live(msg):
                assert self.dead_letter is not None
                try:
                    self.dead_letter._enqueue(self._bodies[msg.id], msg.sent_at)
                except BaseException:
                    for back, _ in [*chosen, found]:
                        heapq.heappush(self._heap, back)
                    raise
                del self._messages[msg.id]
                del self._bodies[msg.id]
                continue
            chosen.append(found)
        out: list[Message] = []
        taken: list[tuple[float, int, str]] = []
        for _, msg in chosen:  # then receive them: nothing here can fail
            msg.receive_count += 1
            self.redelivered += msg.receive_count > 1
            self.received += 1
            msg.visible_at = now + self.visibility_timeout
            msg.receipt = f"{self._receipts}{msg.id}/{msg.receive_count}"
            self._seq += 1
            taken.append((msg.visible_at, self._seq, msg.id))
            out.append(self._copy(msg))
        for entry in taken:
            heapq.heappush(self._heap, entry)
        return out

    def delete(self, receipt: str) -> bool:
        """Delete by the receipt of the latest receive; False for a stale or unknown receipt
        (a consumer that received the message before its latest redelivery, or a receipt of
        another queue: message ids repeat across queues, receipts do not)."""
        check_name("receipt", receipt)
        if not receipt.startswith(self._receipts):
            return False
        mid = receipt[len(self._receipts) :].split("/", 1)[0]
        msg = self._messages.get(mid)
        if msg is None or msg.receipt != receipt:
            return False
        del self._messages[mid]
        del self._bodies[mid]
        return True

    def oldest_age(self) -> float:
        """Seconds since the oldest message still in the queue entered it (0 when empty): its
        ``enqueued_at``, so on a dead-letter queue the time since the move, as SQS counts."""
        if not self._messages:
            return 0.0
        now = read_seconds(self.clock, ServerlessError, "Queue.oldest_age")
        return now - min(m.enqueued_at for m in self._messages.values())

    def visible(self) -> int:
        """Messages that a receive would return now (excluding those in flight, and those it
        would move to the dead-letter queue instead)."""
        now = read_seconds(self.clock, ServerlessError, "Queue.visible")
        return sum(1 for m in self._messages.values() if m.visible_at <= now and self._live(m))

    def _live(self, msg: Message) -> bool:
        """Not due for the dead-letter queue: a receive would hand ``msg`` out, not move it."""
        return self.dead_letter is None or msg.receive_count < self.max_receives

    def peek(self) -> list[Message]:
        """Copies of every message, in flight or not (for tests and plots)."""
        return [self._copy(m) for m in self._messages.values()]

    def _copy(self, msg: Message) -> Message:
        """The consumer's own copy of ``msg``, its body decoded afresh from the sent JSON."""
        return replace(msg, body=json.loads(self._bodies[msg.id]))
