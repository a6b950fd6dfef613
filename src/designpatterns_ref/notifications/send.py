"""The send stage: provider calls, the dedup window, retries with backoff and jitter, dead letters.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

:class:`Sender` takes a batch of messages from the outgoing queue and gives each exactly one
fate: delivered (the dedup window granted a claim on the id, then the provider said ok);
duplicate (the window had the id as delivered: an at-least-once queue served the message again,
and the provider is not called); expired (past its TTL); collapsed (a
newer message with the same collapse key is queued for the device); invalid-token (the device
is removed, never retried); retry (transient error or throttled, or a provider call that raised
something other than :class:`~.base.NotificationError`: back in the queue after
``min(cap, base * 2**attempt)`` seconds times a uniform draw in [0.5, 1), the "equal jitter" that
spreads a burst of retries without starving any); dead-letter (too many attempts, too large, a
message the provider refuses as malformed (:class:`~.base.NotificationError`: a body that is not
valid UTF-8), or on a channel this sender has no provider for: put in the dead-letter queue and
the take goes on, so one bad message never stops the take around it).
A message whose id another sender has claimed and not yet confirmed (``"busy"``) goes back to the
queue, due when that claim's lease runs out, with its attempts unchanged (a "retry" receipt).

The order is claim, send, confirm (or release after a refusal), a take at a time: the ids of
every message of the take are claimed together (``dedup.claim_many``: one round trip on Redis),
the claimed ones are sent, then every confirm and release happen together with the take's ack
(``outgoing.ack_settled``, which calls ``dedup.settle``: one round trip when both are on the
same Redis client). Every dedup window (:class:`~.base.Deliverer`) and every queue has these
calls, so the in-memory pipeline and the Redis worker processes run this one path. An id twice
in one take is claimed once: its second copy is ``"busy"``, and becomes a duplicate once the
first copy is delivered (else it waits for the lease like any busy message). The take is acked
with the settle and its receipts are recorded after it, so a crash before that replays the
whole take: a replay of a confirmed message is a duplicate and never reaches the provider; a
crash between the claims and the sends leaves claims that run out after the lease, and the
replay sends (nothing lost); a crash between a provider's ok and the settle also ends in a
replay that sends again: the one window where the phone sees a message twice (at least once,
never lost). Settling a take at a time widens that window from one message to every message of
the take the provider had taken before the crash (at most the take's size).

An outage is not a crash. The loop over the take only decides the fates; the writes they need (a
copy put back in the queue for a retry or a busy claim, a dead letter, ``on_invalid``) wait in a
:class:`Settlement` and are made after the loop, in that order, then the settle and ack
(``ack_settled``). A write that fails while the sender lives on (the store down or stalled:
:class:`~.base.QueueUnavailable`, or ``on_invalid`` failing with the store's connection error or
timeout) leaves what is not done yet in :attr:`Sender.unsettled`, and the next
:meth:`Sender.send_batch` goes on from there before it takes anything new: each write is made once
(a store that raises changed nothing), and the take's messages are marked delivered and acked, and
recorded, once the store answers again, instead of being served again and sent a second time once
their claims run out. That holds for an outage shorter than the claims' lease and the queue's hold
on the take (``claim_idle``, ``lease``): the take is not renewed while the store is down, so once an
outage outlasts them another sender may be served the take (a Redis ``XAUTOCLAIM``, a SQLite lease
run out) before this one settles it, and it finds the claims run out and sends the messages again
(at least once still: nothing is lost). Any other error of ``on_invalid`` (a fault of the hook,
which trying again would not mend) is logged with its traceback on the
``designpatterns_ref.notifications`` logger and that token is left as it is: the take goes on, so
one token the hook cannot handle never stops the sends. A dedup window that fails mid-take (the
claims, or their renewal) ends the take there and raises: the messages not reached yet go back to
the queue unchanged, due now (their claims released), and the part done is settled as above.
A provider call that raises anything but :class:`~.base.NotificationError` (a timeout, a
connection error, a bug in the provider's client) is not the store down: it is that message's
failed attempt, answered as ``"transient"`` would be (its claim released, retried with backoff,
counted, a dead letter with ``why="provider-error"`` after ``max_attempts``), and it is logged with
its traceback on the same logger; the take goes on, so one broken provider never stops the sends
of the others, nor the loop around :meth:`Sender.send_batch`.

A take may take longer to send than the claims' lease, or than the queue holds a taken item
for its taker (a Redis queue's ``claim_idle``, a SQLite queue's ``lease``). The sender looks at
a monotonic clock before each message, and once more than half the shorter of the two has
passed since the claims were made or last renewed, renews in one call (``dedup.extend``) the
claims it still needs (those of the messages sent and of those still to send), and the queue's
hold on the take in another (``outgoing.renew``); a message still to send whose claim was lost
meanwhile gets the renewal's answer as a fresh claim would. Every claim of the take then stays
live until the settle, no other sender is served the take meanwhile, and the promise above
holds, as long as each provider call takes less than that half minus one round trip to the
store. (A :class:`~.providers.DedupWindow` on a simulated clock is renewed after real seconds
too, which only restarts its claims' leases at the simulated now.)

Complexity: O(1) per message; two dedup calls per take, plus two per renewal.

>>> backoff(0, base=1.0, cap=60.0, draw=0.0), backoff(10, base=1.0, cap=60.0, draw=0.999)
(0.5, 59.97)
"""

from __future__ import annotations

import logging
import math
import random
import sys
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.notifications.base import (
    CHANNELS,
    Deliverer,
    NotificationError,
    QueueUnavailable,
    Receipt,
    check_callable,
    check_seconds,
    check_seed,
)
from designpatterns_ref.notifications.providers import SimulatedProvider
from designpatterns_ref.notifications.queues import Queue, check_take

__all__ = ["Deliverer", "Sender", "Settlement", "backoff"]

log = logging.getLogger("designpatterns_ref.notifications")


def _outage(exc: BaseException) -> bool:
    """Is ``exc`` the store down or stalled (:class:`~.base.QueueUnavailable`, an OS-level
    connection error, or a Redis client's connection error or timeout): worth trying again
    later, unlike a fault of the hook itself?"""
    if isinstance(exc, QueueUnavailable | OSError):
        return True
    errors = sys.modules.get("redis.exceptions")  # loaded only if a Redis client is in use
    return errors is not None and isinstance(exc, errors.ConnectionError | errors.TimeoutError)


def _hold(queue: object) -> float:
    """How long a taken item stays its taker's without a ``renew``: a Redis queue serves it to
    another consumer once it was idle ``claim_idle``, a SQLite queue after its ``lease``; a
    memory queue never does (infinity)."""
    for name in ("claim_idle", "lease"):
        value = getattr(queue, name, None)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    return math.inf


def backoff(attempt: int, *, base: float, cap: float, draw: float) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): equal jitter on a capped doubling."""
    if isinstance(attempt, bool) or not isinstance(attempt, int) or not 0 <= attempt <= 10**6:
        raise NotificationError(f"backoff: attempt={shown(attempt)} must be an int >= 0")
    check_seconds("backoff", "base", base, high=86400.0)
    check_seconds("backoff", "cap", cap, high=86400.0)
    if isinstance(draw, bool) or not isinstance(draw, int | float) or not 0 <= draw < 1:
        raise NotificationError(f"backoff: draw={shown(draw)} must be in [0, 1)")
    ceiling = min(cap, base * 2.0 ** min(attempt, 60))
    return round(ceiling * (0.5 + draw / 2), 6)


@dataclass(slots=True)
class Settlement:
    """What ends one take, in the order :meth:`Sender._settle` does it: ``on_invalid`` on each
    of ``invalid``, the ``dead`` letters (item, lane), the copies put back ``again`` in the
    outgoing queue (item, lane, due time), then the settle of ``confirmed`` and ``released``
    with the ack of ``tickets``; then the ``receipts`` are recorded."""

    tickets: list[Hashable]
    confirmed: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    dead: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    again: list[tuple[dict[str, Any], str, float]] = field(default_factory=list)

    def __iter__(self) -> Iterator[Any]:
        """``tickets, confirmed, released, receipts``: unpacked as :attr:`Sender.unsettled`
        was when it was that 4-tuple (the writes still to make are the other fields)."""
        return iter((self.tickets, self.confirmed, self.released, self.receipts))


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
        where = "Sender"
        if not isinstance(providers, Mapping) or not providers:
            raise NotificationError(
                f"{where}: providers={shown(providers)} must map channels {CHANNELS} to providers"
            )
        for ch, prov in providers.items():
            if not isinstance(ch, str) or ch not in CHANNELS:
                raise NotificationError(f"{where}: providers channel={shown(ch)} not in {CHANNELS}")
            if not callable(getattr(prov, "attempt", None)):
                raise NotificationError(
                    f"{where}: providers[{shown(ch)}]={shown(prov)} must have attempt(token, body)"
                )
        for method in ("claim_many", "extend", "settle"):
            if not callable(getattr(dedup, method, None)):
                raise NotificationError(
                    f"{where}: dedup={shown(dedup)} must be a dedup window with claim_many, extend "
                    "and settle"
                )
        check_seconds(where, "dedup.lease", getattr(dedup, "lease", None), high=86400.0)
        for label, queue in (("outgoing", outgoing), ("dead", dead)):
            methods = ("put", "take", "ack", "ack_settled")  # renew is optional (_renew)
            if not all(callable(getattr(queue, a, None)) for a in methods):
                raise NotificationError(
                    f"{where}: {label}={shown(queue)} must be a queue with put, take, ack and "
                    "ack_settled"
                )
        check_callable(where, "clock", clock)
        check_callable(where, "record", record)
        check_callable(where, "on_invalid", on_invalid)
        if latest is not None and not isinstance(latest, Mapping):
            raise NotificationError(f"{where}: latest={shown(latest)} must be a mapping or None")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int):
            raise NotificationError(f"{where}: max_attempts={shown(max_attempts)} must be an int")
        if not 1 <= max_attempts <= 100:
            raise NotificationError(f"{where}: max_attempts={shown(max_attempts)} not in [1, 100]")
        base = check_seconds(where, "base", base, high=86400.0)
        cap = check_seconds(where, "cap", cap, high=86400.0)
        check_seed(where, seed)
        self.providers, self.dedup, self.outgoing, self.dead = providers, dedup, outgoing, dead
        self.clock, self.record, self.on_invalid = clock, record, on_invalid
        self.latest = latest if latest is not None else {}
        self.max_attempts, self.base, self.cap = max_attempts, base, cap
        self._rng = random.Random(seed)
        #: The end of the last take, when one of its writes failed: what is left of it, done
        #: first by the next :meth:`send_batch`.
        self.unsettled: Settlement | None = None

    def send_batch(self, n: int = 1024) -> int:
        """Send up to ``n`` due messages; return how many were taken.

        A take whose end failed (a write or the settle: :class:`~.base.QueueUnavailable`, or
        ``on_invalid`` finding the store down) is finished first (:attr:`unsettled`); while
        that still fails, this raises it again and takes nothing."""
        now = read_seconds(self.clock, NotificationError, "Sender.send_batch")
        check_take("Sender.send_batch", n, now)  # a refused call changes nothing
        if self.unsettled is not None:
            self._settle(self.unsettled)
        batch = self.outgoing.take(n, now)
        if not batch:
            return 0
        self._send([m for _, m in batch], now, [t for t, _ in batch])
        return len(batch)

    def _send(self, msgs: list[dict[str, Any]], now: float, tickets: list[Hashable]) -> None:
        """Give each message of one take its fate: claim all, send, settle all (and ack).

        The loop only decides; every write its fates need (a re-queued copy, a dead letter,
        ``on_invalid``) waits in the :class:`Settlement` for :meth:`_settle`. A window that
        fails (the claims, or their renewal) ends the take there: the messages not reached yet
        go back to the queue as they were, and the part already done is settled; then the error
        is raised. A provider that raises anything but :class:`~.base.NotificationError` fails
        that message only (logged, then answered as ``"provider-error"``: a transient failure)."""
        providers = self.providers
        latest = self._newest(msgs)
        early: list[str | None] = []  # the fates decided without the dedup window
        for m in msgs:
            ck = m["ck"]
            if m["ch"] not in providers:  # no provider to ask: a dead letter, not a crash
                early.append("dead-letter")
            elif now > m["exp"]:
                early.append("expired")
            elif ck is not None and latest.get((m["tok"], ck), m["key"]) != m["key"]:
                early.append("collapsed")
            else:
                early.append(None)
        live = [m["id"] for m, e in zip(msgs, early, strict=True) if e is None]
        s = Settlement(tickets)
        renew_after = min(self.dedup.lease, _hold(self.outgoing)) / 2
        claimed_at = time.monotonic()  # before the claims are sent: the leases start later
        try:
            claims = self.dedup.claim_many(live)
        except QueueUnavailable:
            self._stop(s, msgs, live)
            raise
        k = 0  # the index in ``live``/``claims`` of the next message that needs the window
        sent: set[str] = set()  # ids delivered by this take
        for i, (m, status) in enumerate(zip(msgs, early, strict=True)):
            if time.monotonic() - claimed_at > renew_after:
                claimed_at = time.monotonic()
                try:
                    self._renew(live, claims, k, s)
                except QueueUnavailable:
                    self._stop(s, msgs[i:], live[k:])
                    raise
            attempts = m["a"] + 1
            if status == "dead-letter":
                s.dead.append(({**m, "why": "no-provider"}, m["lane"]))
            elif status is None:
                claim = claims[k]
                k += 1
                if claim == "delivered" or (claim == "busy" and m["id"] in sent):
                    status = "duplicate"  # delivered before, or by its twin in this take
                elif claim == "busy":  # another sender is at it: look again after its lease
                    s.again.append((m, m["lane"], now + self.dedup.lease))
                    status, attempts = "retry", m["a"]
                else:
                    try:
                        answer = self.providers[m["ch"]].attempt(m["tok"], m["body"])
                    except NotificationError:  # a message no provider could ever be sent
                        answer = "malformed"  # (a body not valid UTF-8): a dead letter
                    except Exception:  # any other failure (a timeout, a client's bug)
                        log.exception(
                            "provider %r failed on %r; retried as a transient failure",
                            m["ch"],
                            m["id"],
                        )
                        answer = "provider-error"  # retried with backoff, counted
                    if answer == "ok":
                        s.confirmed.append(m["id"])
                        sent.add(m["id"])
                        status = "delivered"
                    else:
                        s.released.append(m["id"])
                        status = self._refused(s, m, answer, attempts, now)
            s.receipts.append(
                Receipt(m["key"], m["user"], m["tok"], m["ch"], status, now, attempts)
            )
        self._settle(s)

    def _stop(self, s: Settlement, rest: list[dict[str, Any]], unsent: list[str]) -> None:
        """End a take whose dedup window failed: ``rest`` (the messages not
        reached) goes back to the queue unchanged, due now, the claims of ``unsent`` are
        released, and the take is settled (:meth:`_settle`: kept for the next take if the store
        is still down)."""
        s.again.extend((m, m["lane"], 0.0) for m in rest)
        s.released.extend(unsent)
        self._settle(s)

    def _newest(self, msgs: list[dict[str, Any]]) -> Mapping[tuple[str, str], str]:
        """The newest key of each (token, collapse key) of the take: ``latest`` itself, or
        one ``get_many`` call on a shared record (:class:`~.redis_collapse.RedisCollapseKeys`)."""
        get_many = getattr(self.latest, "get_many", None)
        if get_many is None:
            return self.latest
        pairs = list({(m["tok"], m["ck"]) for m in msgs if m["ck"] is not None})
        return {p: k for p, k in zip(pairs, get_many(pairs), strict=True) if k is not None}

    def _settle(self, s: Settlement) -> None:
        """End the take: its writes in order (``on_invalid`` calls, dead letters, re-queued
        copies), then settle and ack it, then record its receipts. Each write is dropped from
        ``s`` once done (an ``on_invalid`` that fails other than with the store down is logged
        and dropped too); a write that fails with the store down keeps ``s`` in
        :attr:`unsettled`, with what is left, and raises: the next :meth:`send_batch` goes on
        from there first, so each write is made once and the take's sends are marked delivered."""
        self.unsettled = s
        while s.invalid:
            try:
                self.on_invalid(s.invalid[0])
            except Exception as exc:
                if _outage(exc):
                    raise
                log.exception("on_invalid(%r) failed; the token is left as it is", s.invalid[0])
            del s.invalid[0]
        while s.dead:
            item, lane = s.dead[0]
            self.dead.put(item, lane=lane)
            del s.dead[0]
        while s.again:
            item, lane, at = s.again[0]
            self.outgoing.put(item, lane=lane, at=at)
            del s.again[0]
        self.outgoing.ack_settled(s.tickets, self.dedup, s.confirmed, s.released)
        self.unsettled = None
        for r in s.receipts:  # the fates are final once settled: a crash before replays the take
            self.record(r)

    def _renew(self, live: list[str], claims: list[str], k: int, s: Settlement) -> None:
        """Renew the claims still needed (those sent and those still to send), in one call, and
        the queue's hold on the take (``outgoing.renew``, if the queue has one: a queue without
        it is taken to hold a taken item until it is acked, as a memory queue does); a message
        still to send whose claim was lost gets the new answer, as a fresh claim would."""
        ahead = [j for j in range(k, len(claims)) if claims[j] == "claimed"]
        answers = self.dedup.extend([*s.confirmed, *(live[j] for j in ahead)])
        for j, answer in zip(ahead, answers[len(s.confirmed) :], strict=True):
            claims[j] = answer
        renew = getattr(self.outgoing, "renew", None)
        if callable(renew):  # a queue without renew holds a taken item until it is acked
            renew(s.tickets, read_seconds(self.clock, NotificationError, "Sender.send_batch"))

    def _refused(
        self, s: Settlement, m: dict[str, Any], answer: str, attempts: int, now: float
    ) -> str:
        """The fate of a message the provider did not take (its write waits in ``s``)."""
        if answer == "invalid-token":
            s.invalid.append(m["tok"])
            return "invalid-token"
        if answer in ("too-large", "malformed") or attempts >= self.max_attempts:
            s.dead.append(({**m, "a": attempts, "why": answer}, m["lane"]))
            return "dead-letter"
        wait = backoff(attempts - 1, base=self.base, cap=self.cap, draw=self._rng.random())
        s.again.append(({**m, "a": attempts}, m["lane"], now + wait))
        return "retry"
