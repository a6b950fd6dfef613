"""The notification pipeline: accept, expand, filter, render, send, record, with queues between.

Case study: Design a Push Notification System (docs/case-studies/push-notifications.md)

:meth:`Pipeline.accept` validates a :class:`~.base.Notification` completely (known template, no
missing variable, known channels that the pipeline has a provider for, known users, payload
under every channel's limit) and checks its idempotency key (first: a key already accepted
returns False before any check); a refused or repeated notification enqueues nothing, and a key
counts as seen only once the accepted queue took its item (a store outage,
:class:`~.base.QueueUnavailable`, leaves it unseen). The expand stage turns it into one item per
user and filters: muted channels and categories, quiet hours in the user's time zone (the item
waits in the queue until the window ends), and frequency caps per user, channel and day, which
are :class:`~designpatterns_ref.ratelimit.FixedWindow` limiters of the rate-limit family, used
through its public package on purpose. The high lane (security, transactional) skips quiet hours
and caps. The text is rendered at accept, in every locale of the template (the item carries the
texts), so replacing a template later changes no notification already accepted; expand picks the
user's locale (``"en"`` as fallback) and the messages go to the outgoing queue, one per device,
and the :class:`~.send.Sender` gives each a fate, recorded as a :class:`~.base.Receipt`. The
newest notification of each device and collapse key is recorded in ``latest`` (a dict by
default; :class:`~.redis_collapse.RedisCollapseKeys` when worker processes do the sends).
Newest means accepted last: each item carries its accept order (the accept time, then a
sequence number of this pipeline), kept when its expansion is retried, and an entry replaces
only one of an older or equal order, so an item expanded again after a queue outage does not
displace a newer one expanded meanwhile. A pipeline's accept times never go backwards, even
when its clock is stepped back (an NTP correction): the order uses the latest time it has
read, so its own later accept is always newer. Across producers the order follows their
clocks.

Once as the user sees it: idempotency keys at accept, at-least-once queues, the dedup window
claimed for each take before its provider calls and settled after them (a crash between a
provider's ok and the settle is the one case that repeats messages: those of that take the
provider took; nothing is lost), retries with backoff for transient errors, and a dead-letter
queue with :meth:`Pipeline.replay_dead_letters` for what keeps failing.

Complexity: O(users x devices) per notification; O(1) queue work per message.

>>> from designpatterns_ref.clock import ManualClock
>>> p = Pipeline(clock=ManualClock(1_780_000_000.0))
>>> p.templates.add("hi", "Hello {name}")
>>> p.register_user("ada", tz="Europe/London"); p.add_device("ada", "fcm", "tok-ada")
>>> p.accept(Notification("k1", "hi", users=("ada",), vars={"name": "Ada"}, channels=("fcm",)))
True
>>> p.accept(Notification("k1", "hi", users=("ada",), vars={"name": "Ada"}, channels=("fcm",)))
False
>>> p.run(); p.counts["delivered"]
1
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from designpatterns_ref.clock import Clock, ManualClock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.notifications.base import (
    CHANNELS,
    LANES,
    Device,
    Notification,
    NotificationError,
    QueueUnavailable,
    Receipt,
    User,
    check_name,
    check_seconds,
    check_seed,
)
from designpatterns_ref.notifications.providers import (
    PAYLOAD_LIMITS,
    DedupWindow,
    SimulatedProvider,
    default_providers,
)
from designpatterns_ref.notifications.queues import MemoryQueue, Queue, check_queue
from designpatterns_ref.notifications.quiet import QuietHours, zone
from designpatterns_ref.notifications.redis_collapse import Order, record_in_dict
from designpatterns_ref.notifications.send import Deliverer, Sender
from designpatterns_ref.notifications.templates import Templates
from designpatterns_ref.ratelimit import FixedWindow

__all__ = ["Pipeline"]

DAY = 86400.0
MAX_BATCH = 1_000_000  # what one take of a queue may ask for
MAX_ROUNDS = 10**12


def check_count(where: str, name: str, value: object, high: int) -> int:
    """``value`` as an int in [1, high] (a bool is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise NotificationError(f"{where}: {name}={shown(value, 40)} must be an int in [1, {high}]")
    return value


class Pipeline:
    """The whole pipeline on injectable queues, providers, caps and clock."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        providers: Mapping[str, SimulatedProvider] | None = None,
        caps: Mapping[str, int] | None = None,
        quiet: QuietHours | None = None,
        accepted: Queue | None = None,
        outgoing: Queue | None = None,
        dead: Queue | None = None,
        dedup: Deliverer | None = None,
        max_attempts: int = 5,
        keep_receipts: bool = True,
        seed: int = 0,
        latest: MutableMapping[tuple[str, str], str] | None = None,
    ) -> None:
        self.clock: Clock = clock if clock is not None else ManualClock(1_780_000_000.0)
        if caps is not None and not isinstance(caps, Mapping):
            raise NotificationError(
                f"Pipeline: caps={shown(caps)} must map channels to daily counts"
            )
        caps = dict(caps or {})
        for ch, cap in caps.items():
            if not isinstance(ch, str) or ch not in CHANNELS:
                raise NotificationError(f"Pipeline: caps channel={shown(ch)} not in {CHANNELS}")
            if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= 10**6:
                raise NotificationError(
                    f"Pipeline: caps[{shown(ch)}]={shown(cap)} must be 1..10**6"
                )
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int):
            raise NotificationError(f"Pipeline: max_attempts={shown(max_attempts)} must be an int")
        if not 1 <= max_attempts <= 100:
            raise NotificationError(f"Pipeline: max_attempts={shown(max_attempts)} not in [1, 100]")
        if quiet is not None and not isinstance(quiet, QuietHours):
            raise NotificationError(f"Pipeline: quiet={shown(quiet)} must be a QuietHours or None")
        check_seed("Pipeline", seed)
        if latest is not None and not isinstance(latest, MutableMapping):
            raise NotificationError(
                f"Pipeline: latest={shown(latest)} must be a mutable mapping (a dict, a "
                "RedisCollapseKeys) or None"
            )
        for name, queue in (("accepted", accepted), ("outgoing", outgoing), ("dead", dead)):
            if queue is not None:
                check_queue("Pipeline", name, queue)
        self.caps = caps
        self.limiters = {
            ch: FixedWindow(cap, per=DAY, clock=self.clock) for ch, cap in caps.items()
        }
        self.quiet = quiet
        self.providers = dict(providers) if providers is not None else default_providers(self.clock)
        self.templates = Templates()
        self.users: dict[str, User] = {}
        self.devices: dict[str, list[Device]] = {}
        self.accepted: Queue = accepted if accepted is not None else MemoryQueue()
        self.outgoing: Queue = outgoing if outgoing is not None else MemoryQueue()
        self.dead: Queue = dead if dead is not None else MemoryQueue()
        self.dedup: Deliverer = dedup if dedup is not None else DedupWindow(clock=self.clock)
        self.keys: set[str] = set()
        #: The newest notification key of each (token, collapse key): a dict, or a
        #: :class:`~.redis_collapse.RedisCollapseKeys` that worker processes read too.
        self.latest: MutableMapping[tuple[str, str], str] = latest if latest is not None else {}
        #: The accept order of each entry of ``latest`` (when ``latest`` keeps none itself).
        self.latest_orders: dict[tuple[str, str], Order] = {}
        self._accept_seq = itertools.count()
        self._order_t = -math.inf  # the latest accept time read: the order never goes back
        self.receipts: list[Receipt] = []
        self.counts: Counter[str] = Counter()
        self.keep_receipts = keep_receipts
        self.sender = Sender(
            self.providers,
            self.dedup,
            self.outgoing,
            self.dead,
            clock=self.clock,
            record=self._record,
            on_invalid=self.remove_device,
            latest=self.latest,
            max_attempts=max_attempts,
            seed=seed,
        )

    # -- directory -------------------------------------------------------------------------
    def register_user(
        self, user_id: str, *, tz: str = "UTC", locale: str = "en", muted: Iterable[str] = ()
    ) -> None:
        """Add or replace a user with a time zone, a locale and muted channels or categories."""
        check_name("Pipeline.register_user", "user_id", user_id)
        zone(tz)
        check_name("Pipeline.register_user", "locale", locale)
        if isinstance(muted, str) or not isinstance(muted, Iterable):
            raise NotificationError(f"Pipeline.register_user: muted={shown(muted)} must be names")
        mutes = list(muted)
        for m in mutes:
            check_name("Pipeline.register_user", "muted", m)
        self.users[user_id] = User(user_id, tz, locale, frozenset(mutes))
        self.devices.setdefault(user_id, [])

    def add_device(self, user_id: str, channel: str, token: str) -> None:
        """Register ``token`` for ``user_id`` on ``channel``."""
        if not isinstance(user_id, str) or user_id not in self.users:
            raise NotificationError(
                f"Pipeline.add_device: user_id={shown(user_id)} is not registered"
            )
        if channel not in CHANNELS:
            raise NotificationError(
                f"Pipeline.add_device: channel={shown(channel)} not in {CHANNELS}"
            )
        check_name("Pipeline.add_device", "token", token)
        devices = self.devices[user_id]
        if all(d.token != token for d in devices):
            devices.append(Device(user_id, channel, token))

    def remove_device(self, token: str) -> None:
        """Forget ``token`` (the provider said it is no longer valid)."""
        check_name("Pipeline.remove_device", "token", token)
        for devices in self.devices.values():
            devices[:] = [d for d in devices if d.token != token]

    # -- accept ----------------------------------------------------------------------------
    def validate(self, n: Notification) -> None:
        """Raise :class:`NotificationError` if ``n`` cannot be sent as it is."""
        self._bodies(n)

    def _bodies(self, n: Notification) -> dict[str, str]:
        """``n``'s text in every locale of its template, or :class:`NotificationError` if ``n``
        cannot be sent as it is."""
        w = "Pipeline.accept"
        if not isinstance(n, Notification):
            raise NotificationError(f"{w}: notification={shown(n)} must be a Notification")
        check_name(w, "key", n.key)
        if not isinstance(n.template, str) or n.template not in self.templates:
            raise NotificationError(f"{w}: template={shown(n.template)} is not registered")
        if not isinstance(n.vars, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in n.vars.items()
        ):
            raise NotificationError(f"{w}: vars={shown(n.vars)} must map names to strings")
        missing = self.templates.missing(n.template, n.vars)
        if missing:
            raise NotificationError(
                f"{w}: template {shown(n.template)} misses vars {sorted(missing)}"
            )
        if (
            not isinstance(n.channels, tuple)
            or not n.channels
            or len(set(n.channels)) != len(n.channels)
        ):
            raise NotificationError(f"{w}: channels={shown(n.channels)} must be distinct channels")
        for ch in n.channels:
            if ch not in CHANNELS:
                raise NotificationError(
                    f"{w}: channel={shown(ch)} is unknown; use one of {CHANNELS}"
                )
            if ch not in self.providers:
                raise NotificationError(
                    f"{w}: channel={shown(ch)} has no provider in this pipeline; use one of "
                    f"{tuple(c for c in CHANNELS if c in self.providers)}"
                )
        if n.lane not in LANES:
            raise NotificationError(f"{w}: lane={shown(n.lane)} must be one of {LANES}")
        check_name(w, "category", n.category)
        if n.collapse_key is not None:
            check_name(w, "collapse_key", n.collapse_key)
        check_seconds(w, "ttl", n.ttl)
        if not isinstance(n.users, tuple) or not n.users:
            raise NotificationError(f"{w}: users={shown(n.users)} must be a non-empty tuple")
        users = self.users
        for u in n.users:
            if not isinstance(u, str) or u not in users:
                raise NotificationError(f"{w}: user={shown(u)} is not registered")
        if len(set(n.users)) != len(n.users):  # twice would spend the user's cap twice
            seen: set[str] = set()
            for twice in n.users:  # one pass: the first user met again
                if twice in seen:
                    break
                seen.add(twice)
            raise NotificationError(
                f"{w}: users={shown(n.users, 80)} names user={shown(twice)} twice; "
                "users must be distinct"
            )
        limit = min(PAYLOAD_LIMITS[ch] for ch in n.channels)
        bodies = {}
        for loc in self.templates.locales(n.template):
            body = bodies[loc] = self.templates.render(n.template, n.vars, loc)
            try:
                size = len(body.encode("utf-8"))
            except UnicodeEncodeError:
                raise NotificationError(
                    f"{w}: vars of {shown(n.key)} are not valid UTF-8"
                ) from None
            if size > limit:
                raise NotificationError(
                    f"{w}: payload of {shown(n.key)} is {size} bytes in {shown(loc)}; limit {limit}"
                )
        return bodies

    def accept(self, n: Notification) -> bool:
        """Validate and enqueue ``n``; False (and nothing enqueued) if its key was seen.

        The key is looked up first: a key already accepted returns False without validating
        again, so replaying it after its template changed is still a no-op, not a refusal.
        The text is rendered now, in every locale the template has, and queued with the item:
        a template replaced later changes no notification accepted before.
        The key is recorded only once the accepted queue took the item: a queue whose store is
        down raises :class:`~.base.QueueUnavailable`, the key stays unseen and a retry of the
        same call enqueues it. A clock reading the queues' ``take`` refuses (outside
        (0, 1e11] epoch seconds, other than 0) raises
        :class:`~.base.NotificationError` with nothing queued or recorded.
        """
        if isinstance(n, Notification) and isinstance(n.key, str) and n.key in self.keys:
            return False
        bodies = self._bodies(n)  # rendered now: a template replaced later changes no body
        now = read_seconds(self.clock, NotificationError, "Pipeline.accept")
        if now != 0.0:  # the readings a take accepts: else the item would be stuck in the queue
            check_seconds("Pipeline.accept", "the clock's reading now", now, high=1e11)
        order_t = max(now, self._order_t)
        item = {
            "key": n.key,
            "b": bodies,
            "u": list(n.users),
            "ch": list(n.channels),
            "lane": n.lane,
            "cat": n.category,
            "ck": n.collapse_key,
            "exp": now + n.ttl,
            "o": [order_t, next(self._accept_seq)],  # the accept order, kept on every retry
        }
        self.accepted.put(item, lane=n.lane)  # may raise QueueUnavailable: key not recorded
        self._order_t = order_t
        self.keys.add(n.key)
        return True

    # -- expand, filter, render -------------------------------------------------------------
    def _record(self, r: Receipt) -> None:
        self.counts[r.status] += 1
        if self.keep_receipts:
            self.receipts.append(r)

    def expand_batch(self, n: int = 64) -> int:
        """Expand up to ``n`` accepted items into per-device messages; return items taken.

        An item's cap units and receipts count once its messages are in the outgoing queue. A
        queue that fails (:class:`~.base.QueueUnavailable`, raised again) leaves the failed
        item as if untouched, and the items expanded before it are acked, so the retry expands
        the rest only: no cap is spent twice, no message gets two fates. (A quiet-hours deferral
        put before the failure of a later put of the same item is put again by the retry: that
        user's copy is then expanded twice, and the second is a duplicate at the send stage.)
        """
        check_count("Pipeline.expand_batch", "n", n, MAX_BATCH)
        now = read_seconds(self.clock, NotificationError, "Pipeline.expand_batch")
        batch = self.accepted.take(n, now)
        tickets = [t for t, _ in batch]
        done = 0
        try:
            for _, item in batch:
                self._expand(item, now)
                done += 1
        except QueueUnavailable:
            # the items expanded before the failure are in the outgoing queue: ack them, so the
            # retry expands only the rest (and spends no cap twice); if this fails too, the
            # take comes back whole and its messages are duplicates the dedup window drops
            if done:
                with contextlib.suppress(QueueUnavailable):
                    self.accepted.ack(tickets[:done])
            raise
        self.accepted.ack(tickets)
        return len(batch)

    def _expand(self, item: dict[str, Any], now: float) -> None:
        key, lane, cat, ck = item["key"], item["lane"], item["cat"], item["ck"]
        high = lane == "high"
        quiet = self.quiet
        limiters = self.limiters
        # the collapse keys this item makes its own, with its accept order (an item queued
        # before orders existed has none: its entries are written as they come)
        o = item.get("o")
        order: Order | None = None if o is None else (o[0], o[1])
        newest: dict[tuple[str, str], tuple[Order, str]] = {}
        out: list[dict[str, Any]] = []
        # What the item decided, made to count only once its messages are queued: a put_many
        # that fails (QueueUnavailable) spends no cap and records nothing, so its retry is exact.
        spent: Counter[tuple[str, str]] = Counter()  # cap units per (channel, user)
        notes: list[Receipt] = []
        record = notes.append
        bodies: dict[str, str] = item["b"]  # rendered at accept, one per locale of the template
        for uid in item["u"]:
            user = self.users[uid]
            if quiet is not None and not high and quiet.is_quiet(now, user.tz):
                wait = {**item, "u": [uid]}
                self.accepted.put(wait, lane=lane, at=quiet.next_allowed(now, user.tz))
                record(Receipt(key, uid, "", "", "deferred", now))
                continue
            user_devices = self.devices[uid]
            for ch in item["ch"]:
                if ch in user.muted or cat in user.muted:
                    record(Receipt(key, uid, "", ch, "muted", now))
                    continue
                devices = [d for d in user_devices if d.channel == ch]
                if not devices:
                    record(Receipt(key, uid, "", ch, "no-device", now))
                    continue
                limiter = limiters.get(ch)
                if limiter is not None and not high:
                    need = spent[ch, uid] + 1  # 1: an item names each user once
                    if need > self.caps[ch] or not limiter.peek(uid, need):
                        record(Receipt(key, uid, "", ch, "capped", now))
                        continue
                    spent[ch, uid] += 1
                body = bodies.get(user.locale)
                if body is None:
                    body = bodies["en"]  # every template has "en", the fallback
                for d in devices:
                    tok = d.token
                    if ck is not None:
                        newest[(tok, ck)] = (order or (0.0, 0), key)
                    out.append(
                        {
                            "id": f"{key}|{tok}",
                            "key": key,
                            "user": uid,
                            "ch": ch,
                            "tok": tok,
                            "body": body,
                            "lane": lane,
                            "ck": ck,
                            "exp": item["exp"],
                            "a": 0,
                        }
                    )
        if newest:  # before the messages can be taken: an older one taken after is collapsed
            self._record_newest(newest, order is not None)  # may raise QueueUnavailable
        if out:
            self.outgoing.put_many(out, lane=lane)  # may raise QueueUnavailable
        for (ch, uid), units in spent.items():
            limiters[ch].allow(uid, units)
        for r in notes:
            self._record(r)

    def _record_newest(
        self, newest: dict[tuple[str, str], tuple[Order, str]], ordered: bool
    ) -> None:
        """Write ``newest`` into ``latest`` where no entry of a greater accept order is."""
        if not ordered:
            self.latest.update({pair: key for pair, (_, key) in newest.items()})
            return
        record = getattr(self.latest, "record", None)
        if callable(record):  # a shared record compares the orders itself (RedisCollapseKeys)
            record(newest)
        else:
            record_in_dict(self.latest, self.latest_orders, newest)

    # -- run ---------------------------------------------------------------------------------
    def step(self, batch: int = 1024) -> int:
        """One round: expand ``batch // 16`` accepted items (at least one), then send up to
        ``batch`` messages; return how many items moved. ``batch``: an int in [1, 10**6]."""
        check_count("Pipeline.step", "batch", batch, MAX_BATCH)
        return self.expand_batch(max(1, batch // 16)) + self.sender.send_batch(batch)

    def run(self, *, batch: int = 1024, max_rounds: int = 10_000_000) -> None:
        """Run until both queues are empty, jumping a ManualClock to the next delayed item.

        When a round moves nothing, the clock (a :class:`~designpatterns_ref.clock.ManualClock`)
        jumps to the earliest ``next_due()`` of the accepted and outgoing queues (a delayed
        retry, a deferral to the end of quiet hours, an expired SQLite lease) and the run goes
        on; on any other clock, or when nothing waits, the run returns. At most ``max_rounds``
        rounds (an int in [1, 10**12]); ``batch`` is :meth:`step`'s.

        A queue whose store is down (Redis stopped, a SQLite file held by another writer past
        its busy timeout) stops the run with :class:`~.base.QueueUnavailable`, from any call
        of the round (take, put, ack, ``next_due``): never a bare client error. A worker loop
        catches it, waits and calls ``run`` again: nothing taken was acked, so it comes back
        (after the SQLite lease, or ``claim_idle`` on Redis) and is sent at least once.
        """
        check_count("Pipeline.run", "batch", batch, MAX_BATCH)
        check_count("Pipeline.run", "max_rounds", max_rounds, MAX_ROUNDS)
        for _ in range(max_rounds):
            if self.step(batch):
                continue
            due = [d for d in (self.accepted.next_due(), self.outgoing.next_due()) if d is not None]
            now = read_seconds(self.clock, NotificationError, "Pipeline.run")
            if not due or not isinstance(self.clock, ManualClock) or min(due) <= now:
                return  # nothing waits, a real clock, or nothing became takeable on time
            self.clock.set(min(due))

    def replay_dead_letters(self) -> int:
        """Move every dead letter back to the outgoing queue with its attempts reset."""
        count = 0
        while True:
            now = read_seconds(self.clock, NotificationError, "Pipeline.replay_dead_letters")
            batch = self.dead.take(1024, now)
            if not batch:
                return count
            for _, m in batch:
                m = {k: v for k, v in m.items() if k != "why"}
                m["a"] = 0
                self.outgoing.put(m, lane=m["lane"])
            self.dead.ack([t for t, _ in batch])
            count += len(batch)
