"""A send-stage worker process on Redis Streams (``python -m ...notifications.worker``).

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

Each worker joins the consumer group of the outgoing streams, sends with its own simulated
providers (each message they hand to a device is pushed on the Redis list ``<name>:phone`` as
``token\nbody``: the phones' view), guards the sends with :class:`~.redis_dedup.RedisDedup`
on the queue's own client (per take of up to ``batch`` messages: one script call claims them
all, one MULTI/EXEC confirms, releases and acks them all), counts receipts in a Redis hash, and
exits after ``--idle`` seconds without work once the outgoing queue is empty (or after twenty
times that, whatever is left). A Redis outage does not end it: a call that finds the server
down (:class:`~.base.QueueUnavailable`, or the client's connection error) is tried again after
a pause that starts at 0.05 s and doubles up to 1 s, for as long as the outage lasts, and the
time spent waiting does not count as idle (work may be waiting on the server); a take the
outage interrupted (at its claims, their renewal, a copy put back, a dead letter, the invalid
token's ``SADD`` or the settle) is finished first when the server answers again, each write
once, so an outage shorter than ``--claim-idle`` and ``--lease``, unlike a kill, sends nothing
twice; a longer one may let another worker's ``XAUTOCLAIM`` take the take over before this one
settles it, and that worker sends it again, as after a kill. Kill it with SIGKILL at any moment:
the messages it held are reclaimed by another worker's ``XAUTOCLAIM``; a replay of a
delivered message is dropped, a message whose claim the dead worker held is sent once the
``--lease`` runs out, and only a kill between a provider's ok and the take's settle
shows messages twice on the phone: those of that take the provider had taken, at most ``batch``
(64). A kill leaves claims that hold the messages for ``--lease`` anyway, so ``--claim-idle``
is the lease unless given. A take slower than the lease or than ``--claim-idle`` is fine: every
half of the shorter of the two its claims are renewed (one script call) and its pending entries
still its own are claimed again by it (``XCLAIM ... JUSTID``: their idle time starts again), so no
other worker takes the take over while this one sends it, as long as each provider call stays
under that half (1 s with the defaults). Collapse keys are applied as in one process when the
producing :class:`~.pipeline.Pipeline` records them where the workers read them,
``latest=RedisCollapseKeys(url, name)`` (:mod:`~.redis_collapse`, the hash ``<name>:collapse``):
a message whose key is no longer the newest of its device and collapse key is ``"collapsed"``.
A pipeline that keeps them in its own dict (the default) leaves the hash empty, and the worker
then sends every message of a collapse key.

>>> callable(run_worker)
True
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from designpatterns_ref.notifications.base import QueueUnavailable, Receipt
from designpatterns_ref.notifications.providers import default_providers
from designpatterns_ref.notifications.redis_collapse import RedisCollapseKeys
from designpatterns_ref.notifications.redis_dedup import RedisDedup
from designpatterns_ref.notifications.redis_streams import RedisStreamQueue
from designpatterns_ref.notifications.send import Sender

__all__ = ["main", "run_worker"]

_OUTAGE_FIRST = 0.05  # seconds: the first pause after a call finds the server down
_OUTAGE_CAP = 1.0  # seconds: the longest pause between tries while it stays down


def run_worker(
    url: str,
    name: str,
    consumer: str,
    *,
    transient: float = 0.0,
    seed: int = 0,
    max_attempts: int = 5,
    base: float = 0.01,
    cap: float = 0.2,
    claim_idle: float | None = None,
    idle: float = 1.0,
    batch: int = 64,
    lease: float = 2.0,
) -> int:
    """Send until ``idle`` seconds pass with nothing to do; return messages handled.

    While the server is down the worker waits and tries again (a pause of 0.05 s doubling up to
    1 s), as a worker loop around :meth:`~.pipeline.Pipeline.run` does: a take the outage
    interrupted is finished first when the server answers. An outage is not idle time, and a
    worker started while the server is down waits for it to make its queues. ``claim_idle``
    (how long a dead worker's pending messages wait before another worker takes them) is
    ``lease`` when None."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    outages = (QueueUnavailable, RedisConnectionError, RedisTimeoutError)
    clock = time.time
    if claim_idle is None:
        claim_idle = lease
    pause = 0.0
    while True:  # a worker started during an outage waits for the server to make its queues
        try:
            outgoing = RedisStreamQueue(
                url, f"{name}:out", consumer=consumer, claim_idle=claim_idle
            )
            dead = RedisStreamQueue(url, f"{name}:dead", consumer=consumer, claim_idle=claim_idle)
            break
        except outages:
            pause = min(_OUTAGE_CAP, 2 * pause or _OUTAGE_FIRST)
            time.sleep(pause)
    dedup = RedisDedup(outgoing.r, name, lease=lease)  # one client: settle and ack in one trip
    latest = RedisCollapseKeys(outgoing.r, name)  # written by the producing Pipeline
    phone_list = f"{name}:phone"

    def phone(token: str, body: str) -> None:
        outgoing.r.rpush(phone_list, f"{token}\n{body}")

    counts: Counter[str] = Counter()

    def record(r: Receipt) -> None:
        counts[r.status] += 1

    def on_invalid(token: str) -> None:
        outgoing.r.sadd(f"{name}:invalid", token)

    sender = Sender(
        default_providers(clock, transient=transient, seed=seed, phone=phone),
        dedup,
        outgoing,
        dead,
        clock=clock,
        record=record,
        on_invalid=on_invalid,
        latest=latest,
        max_attempts=max_attempts,
        base=base,
        cap=cap,
        seed=seed,
    )
    handled, last, pause = 0, time.monotonic(), 0.0
    while True:
        try:
            n = sender.send_batch(batch)
            if counts:
                pipe = outgoing.r.pipeline(transaction=False)
                for status, c in counts.items():
                    pipe.hincrby(f"{name}:receipts", status, c)
                pipe.execute()
                counts.clear()
            if n:
                handled += n
                last = time.monotonic()
            elif (waited := time.monotonic() - last) > idle and (
                len(outgoing) == 0 or waited > 20 * idle
            ):
                return handled
            else:
                time.sleep(0.002)
            pause = 0.0
        except outages:
            pause = min(_OUTAGE_CAP, 2 * pause or _OUTAGE_FIRST)
            time.sleep(pause)
            last = time.monotonic()  # an outage is not idle: work may be waiting on the server


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--url URL --name NAME --consumer C [--transient P] [--seed S]``."""
    ap = argparse.ArgumentParser(prog="designpatterns_ref.notifications.worker")
    ap.add_argument("--url", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--consumer", required=True)
    ap.add_argument("--transient", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-attempts", type=int, default=5)
    ap.add_argument("--idle", type=float, default=1.0)
    ap.add_argument("--claim-idle", type=float, default=None)
    ap.add_argument("--lease", type=float, default=2.0)
    a = ap.parse_args(argv)
    run_worker(
        a.url,
        a.name,
        a.consumer,
        transient=a.transient,
        seed=a.seed,
        max_attempts=a.max_attempts,
        idle=a.idle,
        claim_idle=a.claim_idle,
        lease=a.lease,
    )
    return 0


if __name__ == "__main__":  # pragma: no cover - the process entry point
    raise SystemExit(main())
