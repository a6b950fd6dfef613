"""notifications: the pipeline's accept, validate, directory, ``step``, ``run`` and
``expand_batch``, templates, quiet hours (and the scan oracle), providers and
``default_providers``, the dedup window (its one-id and whole-take calls), the ``Sender``, the
queues (memory, SQLite, with their ``put_many`` and ``ack_settled``), the outbox (its
``pipeline``, ``add`` and ``relay``), the backoff formula, ``campaign_pipeline``,
``send_campaign`` and the two plots.

``RedisStreamQueue``, ``RedisDedup`` and ``RedisCollapseKeys`` run against a throwaway server
(``helpers.redis_url``): the queue's calls (``put_many`` included), its ``ack_settled``, the
dedup's one-id and whole-take calls, and the collapse record's constructor, ``record``,
``update``, ``get_many`` and its mapping calls (``m[k] = v``, ``in``, ``get``, ``pop``).

``Notification`` is a plain container that ``Pipeline.accept`` validates: each of its fields is
fuzzed by building one and handing it to ``accept``.

Deliberately not registered: the records the library builds (``NOT_FUZZED``); the calls that
take no argument, so no hostile value reaches them (``next_due``, ``restore``, ``pending``,
``len``, ``close``, ``Pipeline.replay_dead_letters``, ``Outbox.pending``, ``Outbox.failed``,
``Outbox.transaction``, ``DedupWindow.another_sender``, ``RedisDedup.delivered``,
``tour_figures``); ``worker.run_worker`` and ``worker.main`` (a worker process that loops until
its queue drains or it is killed: ``tests/notifications/test_redis_workers.py`` runs it);
``RedisStreamQueue._take_reference`` (private: the readable reference of ``take``).
"""

from __future__ import annotations

import itertools
import os
import tempfile
from typing import Any

from designpatterns_ref import notifications as nt
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications.simulate import campaign_pipeline, send_campaign
from tests.fuzz.helpers import empty_redis_url, per_argument, redis_keys, redis_url
from tests.fuzz.spec import Entry

ERRORS = (nt.NotificationError,)
NOT_FUZZED: dict[str, str] = {
    "Receipt": "an outcome the pipeline and the sender record; users read it, never pass it in",
    "User": "built by Pipeline.register_user from its checked arguments (fuzzed there); users "
    "read it from Pipeline.users",
    "Device": "built by Pipeline.add_device from its checked arguments (fuzzed there); users "
    "read it from Pipeline.devices",
}
_NOTE = {
    "key": "k1",
    "template": "t",
    "users": ("ada",),
    "vars": {"name": "A"},
    "channels": ("fcm",),
    "lane": "normal",
    "category": "marketing",
    "collapse_key": None,
    "ttl": 60.0,
}


def _pipeline() -> nt.Pipeline:
    p = nt.Pipeline(caps={"fcm": 2}, quiet=nt.QuietHours())
    p.templates.add("t", "hi {name}")
    p.register_user("ada", tz="Europe/London")
    p.add_device("ada", "fcm", "tok")
    return p


def _state(p: nt.Pipeline) -> object:
    return (
        dict(p.counts),
        len(p.accepted),
        len(p.outgoing),
        len(p.dead),
        sorted(p.keys),
        dict(p.users),
        {u: list(d) for u, d in p.devices.items()},
        sorted(p.templates._texts.items()),
    )


def _sender_args() -> dict[str, Any]:
    clock = ManualClock()
    return {
        "providers": nt.default_providers(clock),
        "dedup": nt.DedupWindow(clock=clock),
        "outgoing": nt.MemoryQueue(),
        "dead": nt.MemoryQueue(),
        "clock": clock,
        "record": lambda r: None,
        "on_invalid": lambda t: None,
        "latest": None,
        "max_attempts": 5,
        "base": 1.0,
        "cap": 300.0,
        "seed": 0,
    }


def _sender() -> nt.Sender:
    s = nt.Sender(**_sender_args())
    s.outgoing.put({"id": "k|t", "tok": "t", "key": "k", "a": 0, "ck": None, "exp": 1e12,
                    "ch": "fcm", "body": "hi", "user": "u", "lane": "normal"})  # fmt: skip
    return s


def _sender_state(s: nt.Sender) -> object:
    return (len(s.outgoing), len(s.dead), len(s.dedup), s.providers["fcm"].sent)  # type: ignore[arg-type]


def _dedup_state(d: nt.DedupWindow) -> object:
    return (sorted(d._seen.items()), sorted(d._claims.items()))


def _held_window() -> nt.DedupWindow:
    d = nt.DedupWindow(clock=ManualClock())
    d.claim("held")
    d.deliver("sent")
    return d


def _accept_with(field: str) -> Entry:
    return Entry(
        f"Notification({field}=) through Pipeline.accept",
        make=_pipeline,
        snapshot=_state,
        call=lambda p, v: p.accept(nt.Notification(**{**_NOTE, field: v})),
    )


def _tmp(name: str) -> str:
    return os.path.join(tempfile.mkdtemp(prefix="dpref-fuzz-nt-"), name)


def _queue_entries(label: str, make: Any, snapshot: Any = None) -> list[Entry]:
    def snap(q: Any) -> object:
        return len(q) if snapshot is None else snapshot(q)

    return [
        Entry(f"{label}.put(item)", make=make, snapshot=snap, call=lambda q, v: q.put(v)),
        Entry(f"{label}.put(lane)", make=make, snapshot=snap, call=lambda q, v: q.put({}, lane=v)),
        Entry(f"{label}.put(at)", make=make, snapshot=snap, call=lambda q, v: q.put({}, at=v)),
        Entry(f"{label}.take(n)", make=make, snapshot=snap, call=lambda q, v: q.take(v, 0.0)),
        Entry(f"{label}.take(now)", make=make, snapshot=snap, call=lambda q, v: q.take(1, v)),
        Entry(f"{label}.ack", make=make, snapshot=snap, call=lambda q, v: q.ack(v)),
        Entry(
            f"{label}.renew(tickets)", make=make, snapshot=snap, call=lambda q, v: q.renew(v, 0.0)
        ),
        Entry(f"{label}.renew(now)", make=make, snapshot=snap, call=lambda q, v: q.renew([], v)),
        Entry(
            f"{label}.put_many(items)", make=make, snapshot=snap, call=lambda q, v: q.put_many(v)
        ),
        Entry(
            f"{label}.put_many(items=[ok, v])",
            make=make,
            snapshot=snap,
            call=lambda q, v: q.put_many([{"ok": 1}, v]),
        ),
        Entry(
            f"{label}.put_many(items=[{{'x': v}}])",
            make=make,
            snapshot=snap,
            call=lambda q, v: q.put_many([{"x": v}]),
        ),
        Entry(
            f"{label}.put(item={{'x': v}})",
            make=make,
            snapshot=snap,
            call=lambda q, v: q.put({"x": v}),
        ),
        Entry(
            f"{label}.put_many(lane)",
            make=make,
            snapshot=snap,
            call=lambda q, v: q.put_many([{"a": 2}], lane=v),
        ),
    ]


def _memq() -> nt.MemoryQueue:
    q = nt.MemoryQueue()
    q.put({"a": 1})
    return q


def _sqlq() -> nt.SQLiteQueue:
    q = nt.SQLiteQueue(_tmp("q.db"))
    q.put({"a": 1})
    return q


def _ack_settled_entries(label: str, make_queue: Any) -> list[Entry]:
    """``ack_settled`` of a queue holding one taken item, with an in-memory window."""

    def make() -> tuple[Any, nt.DedupWindow]:
        q = make_queue()
        q.take(1, 0.0)
        d = nt.DedupWindow(clock=ManualClock())
        d.claim("held")
        d.deliver("sent")
        return q, d

    def snap(qd: tuple[Any, nt.DedupWindow]) -> object:
        return len(qd[0]), getattr(qd[0], "in_flight", None), _dedup_state(qd[1])

    return [
        *per_argument(
            f"{label}.ack_settled",
            lambda qd, **kw: qd[0].ack_settled(dedup=qd[1], **kw),
            {"tickets": [], "confirmed": ["m1"], "released": ["held"]},
            make=make,
            snapshot=snap,
        ),
        Entry(
            f"{label}.ack_settled(dedup=)",
            make=make,
            snapshot=snap,
            call=lambda qd, v: qd[0].ack_settled([], v, ["m1"], []),
        ),
    ]


_names = itertools.count()


def _redis_pair() -> tuple[Any, Any]:
    """A Redis stream queue holding one taken message, and a dedup window on its client."""
    from designpatterns_ref.notifications.redis_dedup import RedisDedup
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    name = f"fz{next(_names)}"
    q = RedisStreamQueue(empty_redis_url(), name, consumer="c")
    q.put({"a": 1})
    q.put({"b": 2})
    q.take(1, 0.0)
    d = RedisDedup(q.r, name, window=60.0, lease=30.0)
    d.claim("held")
    d.deliver("sent")
    return q, d


def _redis_queue() -> Any:
    return _redis_pair()[0]


def _redis_dedup() -> Any:
    return _redis_pair()[1]


def _redis_state(obj: Any) -> object:
    pair = obj if isinstance(obj, tuple) else (obj,)
    name = getattr(pair[0], "name", None) or pair[0].prefix
    return redis_keys(pair[0].r, f"{name}*"), [p.pending() for p in pair if hasattr(p, "pending")]


def _redis_entries() -> list[Entry]:
    from designpatterns_ref.notifications.redis_dedup import RedisDedup

    snap = _redis_state
    ack_settled = {"tickets": [], "confirmed": ["m1"], "released": ["held"]}
    return [
        *_queue_entries("RedisStreamQueue", _redis_queue, snapshot=snap),
        *per_argument(
            "RedisStreamQueue.ack_settled",
            lambda qd, **kw: qd[0].ack_settled(dedup=qd[1], **kw),
            ack_settled,
            make=_redis_pair,
            snapshot=snap,
        ),
        Entry(
            "RedisStreamQueue.ack_settled(dedup=)",
            make=_redis_pair,
            snapshot=snap,
            call=lambda qd, v: qd[0].ack_settled([], v, ["m1"], []),
        ),
        *per_argument(
            "RedisStreamQueue",
            lambda _, **kw: nt_redis().RedisStreamQueue(redis_url(), **kw),
            {"name": "fzq", "group": "g", "consumer": "c", "claim_idle": 1.0},
        ),
        *per_argument(
            "RedisDedup",
            lambda _, **kw: RedisDedup(redis_url(), **kw),
            {"prefix": "fzd", "window": 60.0, "lease": 5.0, "keep": 1000},
        ),
        *(
            Entry(
                f"RedisDedup.{method}",
                make=_redis_dedup,
                snapshot=snap,
                call=lambda d, v, m=method: getattr(d, m)(v),
            )
            for method in ("claim", "confirm", "release", "deliver", "claim_many", "extend")
        ),
        *per_argument(
            "RedisDedup.settle",
            lambda d, **kw: d.settle(**kw),
            {"confirmed": ["m1", "m2"], "released": ["held"]},
            make=_redis_dedup,
            snapshot=snap,
        ),
    ]


def _collapse_keys() -> Any:
    """A shared collapse record holding one entry with an accept order and one without."""
    from designpatterns_ref.notifications.redis_collapse import RedisCollapseKeys

    m = RedisCollapseKeys(empty_redis_url(), f"fc{next(_names)}")
    m.record({("tok", "ck"): ((1.0, 1), "k1")})
    m[("tok-2", "ck")] = "k2"
    return m


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _collapse_entries() -> list[Entry]:
    from designpatterns_ref.notifications.redis_collapse import RedisCollapseKeys

    snap = _redis_state
    make = _collapse_keys

    def entry(label: str, call: Any) -> Entry:
        return Entry(f"RedisCollapseKeys.{label}", make=make, snapshot=snap, call=call)

    return [
        *per_argument(
            "RedisCollapseKeys",
            lambda _, **kw: RedisCollapseKeys(**kw),
            {"redis": redis_url(), "prefix": "fzc"},
        ),
        entry("record(entries)", lambda m, v: m.record(v)),
        entry("record(pair)", lambda m, v: m.record({v: ((2.0, 0), "k3")}) if _hashable(v) else 0),
        entry("record(order)", lambda m, v: m.record({("tok", "ck"): (v, "k3")})),
        entry("record(key)", lambda m, v: m.record({("tok", "ck"): ((2.0, 0), v)})),
        entry("update(other)", lambda m, v: m.update(v)),
        entry("update(entry)", lambda m, v: m.update([v])),
        entry("__setitem__(pair)", lambda m, v: m.__setitem__(v, "k3")),
        entry("__setitem__(key)", lambda m, v: m.__setitem__(("tok", "ck"), v)),
        entry("get_many(pairs)", lambda m, v: m.get_many(v)),
        entry("get_many(pair)", lambda m, v: m.get_many([v])),
        entry("__contains__(pair)", lambda m, v: v in m),
        entry("get(pair)", lambda m, v: m.get(v)),
        entry("pop(pair)", lambda m, v: m.pop(v, None) if v != ("tok", "ck") else None),
    ]


def nt_redis() -> Any:
    from designpatterns_ref.notifications import redis_streams

    return redis_streams


def _outbox() -> nt.Outbox:
    return nt.Outbox(_tmp("o.db"))


def _run_entries() -> list[Entry]:
    """The rounds of a pipeline holding one accepted notification."""

    def make() -> nt.Pipeline:
        p = _pipeline()
        p.accept(nt.Notification(**{**_NOTE, "lane": "high"}))
        return p

    return [
        Entry("Pipeline.step(batch)", make=make, snapshot=_state, call=lambda p, v: p.step(v)),
        Entry(
            "Pipeline.expand_batch(n)",
            make=make,
            snapshot=_state,
            call=lambda p, v: p.expand_batch(v),
        ),
        *per_argument(
            "Pipeline.run",
            lambda p, **kw: p.run(**kw),
            {"batch": 64, "max_rounds": 100},
            make=make,
            snapshot=_state,
        ),
        Entry(
            "Pipeline.validate", make=_pipeline, snapshot=_state, call=lambda p, v: p.validate(v)
        ),
    ]


def _plot_entries() -> list[Entry]:
    def ran() -> nt.Pipeline:
        p = _pipeline()
        p.accept(nt.Notification(**{**_NOTE, "lane": "high"}))
        p.run()
        return p

    from designpatterns_ref.notifications import plot

    out = []
    for fn in (plot.plot_fates, plot.plot_local_hours):
        name = fn.__name__
        out.append(Entry(f"{name}(pipeline)", call=lambda _, v, f=fn: f(v)))
        out.append(Entry(f"{name}(ax)", make=ran, call=lambda p, v, f=fn: f(p, ax=v)))
    return out


def _campaign_entries() -> list[Entry]:
    valid = {
        "users": 3,
        "transient": 0.1,
        "cap": 2,
        "quiet": True,
        "seed": 1,
        "devices": 2,
        "outgoing": None,
        "accepted": None,
        "keep_receipts": True,
        "clock": None,
    }
    return [
        *(
            e
            for e in per_argument(
                "campaign_pipeline", lambda _, **kw: campaign_pipeline(**kw), valid
            )
            if e.name != "campaign_pipeline(users=)"  # registered below, bounded
        ),
        Entry("send_campaign(p)", call=lambda _, v: send_campaign(v)),
        *per_argument(
            "send_campaign",
            lambda p, **kw: send_campaign(p, **kw),
            {"campaigns": 1, "alert": True},
            make=lambda: campaign_pipeline(users=3),
            snapshot=_state,
        ),
    ]


def _outbox_relay_entries() -> list[Entry]:
    def make() -> nt.Outbox:
        box = _outbox()
        with box.transaction() as tx:
            box.add(tx, key="o1", template="t", users=("ada",), vars={"name": "A"})
        return box

    def snap(box: nt.Outbox) -> object:
        return box.pending(), box.failed()

    return [
        Entry(
            "Outbox.relay(pipeline)",
            make=make,
            snapshot=snap,
            call=lambda box, v: box.relay(v),
        ),
        Entry(
            "Outbox.relay(crash_after_accept)",
            make=make,
            snapshot=snap,
            call=lambda box, v: box.relay(_pipeline(), crash_after_accept=v),
        ),
        Entry("Outbox(pipeline)", call=lambda _, v: nt.Outbox(_tmp("p.db"), pipeline=v)),
    ]


def _outbox_add(field: str) -> Entry:
    ok = {"key": "k", "template": "t", "users": ("a",), "vars": {"x": "y"}, "channels": ("fcm",)}

    def call(box: nt.Outbox, v: Any) -> None:
        with box.transaction() as tx:
            box.add(tx, **{**ok, field: v})
            raise nt.NotificationError("roll back so the state stays the same")

    return Entry(f"Outbox.add({field}=)", make=_outbox, snapshot=lambda b: b.pending(), call=call)


def _outbox_add_known(field: str) -> Entry:
    """``add`` on an outbox that knows its pipeline (which validates the row)."""
    ok = {"key": "k", "template": "t", "users": ("ada",), "vars": {"name": "A"},
          "channels": ("fcm",)}  # fmt: skip

    def call(box: nt.Outbox, v: Any) -> None:
        with box.transaction() as tx:
            box.add(tx, **{**ok, field: v})
            raise nt.NotificationError("roll back so the state stays the same")

    def make() -> nt.Outbox:
        return nt.Outbox(_tmp("k.db"), pipeline=_pipeline())

    name = f"Outbox(pipeline=).add({field}=)"
    return Entry(name, make=make, snapshot=lambda b: b.pending(), call=call)


ENTRIES: list[Entry] = [
    *(_accept_with(f) for f in _NOTE),
    Entry("Pipeline.accept", make=_pipeline, snapshot=_state, call=lambda p, v: p.accept(v)),
    *per_argument(
        "Pipeline.register_user",
        lambda p, **kw: p.register_user(**kw),
        {"user_id": "bo", "tz": "UTC", "locale": "en", "muted": ()},
        make=_pipeline,
        snapshot=_state,
    ),
    *per_argument(
        "Pipeline.add_device",
        lambda p, **kw: p.add_device(**kw),
        {"user_id": "ada", "channel": "apns", "token": "t2"},
        make=_pipeline,
        snapshot=_state,
    ),
    Entry(
        "Pipeline.remove_device",
        make=_pipeline,
        snapshot=_state,
        call=lambda p, v: p.remove_device(v),
    ),
    *per_argument(
        "Pipeline",
        lambda _, **kw: nt.Pipeline(**kw),
        {"caps": {"fcm": 1}, "quiet": None, "max_attempts": 3},
    ),
    *per_argument(
        "Templates.add",
        lambda p, **kw: p.templates.add(**kw),
        {"name": "u", "text": "x {y}", "locale": "en"},
        make=_pipeline,
        snapshot=_state,
    ),
    *per_argument(
        "Templates.render",
        lambda p, **kw: p.templates.render(**kw),
        {"name": "t", "variables": {"name": "A"}, "locale": "en"},
        make=_pipeline,
        snapshot=_state,
    ),
    *per_argument(
        "QuietHours", lambda _, **kw: nt.QuietHours(**kw), {"start": "22:00", "end": "07:00"}
    ),
    *per_argument(
        "QuietHours.is_quiet",
        lambda _, **kw: nt.QuietHours().is_quiet(**kw),
        {"t": 1.7e9, "tz": "UTC"},
    ),
    *per_argument(
        "QuietHours.next_allowed",
        lambda _, **kw: nt.QuietHours().next_allowed(**kw),
        {"t": 1.7e9, "tz": "UTC"},
    ),
    *per_argument(
        "SimulatedProvider",
        lambda _, **kw: nt.SimulatedProvider(**kw),
        {
            "channel": "apns",
            "rate": 10.0,
            "transient": 0.1,
            "payload_limit": 100,
            "seed": 1,
            "clock": None,
            "phone": None,
        },
    ),
    *per_argument(
        "SimulatedProvider.attempt",
        lambda s, **kw: s.attempt(**kw),
        {"token": "t", "body": "b"},
        make=lambda: nt.SimulatedProvider("fcm", clock=ManualClock()),
        snapshot=lambda s: (s.sent, sorted(s.invalid)),
    ),
    Entry(
        "SimulatedProvider.invalidate",
        make=lambda: nt.SimulatedProvider("fcm"),
        snapshot=lambda s: sorted(s.invalid),
        call=lambda s, v: s.invalidate(v),
    ),
    *per_argument(
        "default_providers",
        lambda _, **kw: nt.default_providers(**kw),
        {"clock": ManualClock(), "transient": 0.1, "seed": 1, "phone": None},
    ),
    *per_argument("Sender", lambda _, **kw: nt.Sender(**kw), _sender_args()),
    Entry(
        "Sender.send_batch", make=_sender, snapshot=_sender_state, call=lambda s, v: s.send_batch(v)
    ),
    *per_argument(
        "DedupWindow",
        lambda _, **kw: nt.DedupWindow(**kw),
        {"window": 60.0, "clock": ManualClock(), "lease": 5.0},
    ),
    *(
        Entry(
            f"DedupWindow.{method}",
            make=_held_window,
            snapshot=_dedup_state,
            call=lambda d, v, m=method: getattr(d, m)(v),
        )
        for method in ("deliver", "claim", "confirm", "release", "claim_many", "extend")
    ),
    *per_argument(
        "DedupWindow.settle",
        lambda d, **kw: d.settle(**kw),
        {"confirmed": ["m1", "m2"], "released": ["held"]},
        make=_held_window,
        snapshot=_dedup_state,
    ),
    *per_argument(
        "backoff",
        lambda _, **kw: nt.backoff(**kw),
        {"attempt": 1, "base": 1.0, "cap": 10.0, "draw": 0.5},
    ),
    *_queue_entries("MemoryQueue", _memq),
    *_queue_entries("SQLiteQueue", _sqlq),
    *_ack_settled_entries("MemoryQueue", _memq),
    *_ack_settled_entries("SQLiteQueue", _sqlq),
    *_redis_entries(),
    *_collapse_entries(),
    *per_argument(
        "SQLiteQueue",
        lambda _, **kw: nt.SQLiteQueue(**kw),
        {"path": ":memory:", "name": "q", "lease": 5.0},
    ),
    Entry("Outbox(path)", call=lambda _, v: nt.Outbox(v)),
    *(_outbox_add(f) for f in ("key", "template", "users", "vars", "channels", "lane")),
    *_run_entries(),
    *_plot_entries(),
    *_campaign_entries(),
    *_outbox_relay_entries(),
    *(_outbox_add_known(f) for f in ("key", "template", "users", "vars", "channels", "lane")),
    *per_argument(
        "Templates.missing",
        lambda p, **kw: p.templates.missing(**kw),
        {"name": "t", "variables": {"name": "A"}},
        make=_pipeline,
        snapshot=_state,
    ),
    Entry(
        "Templates.fields", make=_pipeline, snapshot=_state, call=lambda p, v: p.templates.fields(v)
    ),
    Entry(
        "Templates.locales",
        make=_pipeline,
        snapshot=_state,
        call=lambda p, v: p.templates.locales(v),
    ),
    *per_argument(
        "QuietHours.next_allowed_scan",
        lambda _, **kw: nt.QuietHours().next_allowed_scan(**kw),
        {"t": 1.7e9, "tz": "UTC"},
    ),
    Entry(
        "campaign_pipeline(users)",
        call=lambda _, v: campaign_pipeline(users=v) if not isinstance(v, int) or v < 50 else None,
    ),
]
