"""Bad input at accept time: the family's error naming the field, nothing enqueued or changed."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest

from designpatterns_ref.notifications import Notification, NotificationError, Pipeline, QuietHours

HOSTILE: list[Any] = [None, True, math.nan, math.inf, -1, 10**400, "", "x" * 10_000, "\ud800",
                      [], {}, object(), b"b"]  # fmt: skip
OK: dict[str, Any] = {"key": "k", "template": "t", "users": ("ada",), "vars": {"name": "A"},
                      "channels": ("fcm",), "lane": "normal", "category": "news",
                      "collapse_key": None, "ttl": 60.0}  # fmt: skip


def pipeline() -> Pipeline:
    p = Pipeline(caps={"fcm": 1}, quiet=QuietHours())
    p.templates.add("t", "hi {name}")
    p.register_user("ada")
    p.add_device("ada", "fcm", "tok")
    return p


def state(p: Pipeline) -> object:
    return (dict(p.counts), len(p.accepted), len(p.outgoing), sorted(p.keys),
            dict(p.users), {u: list(d) for u, d in p.devices.items()})  # fmt: skip


@pytest.mark.parametrize("field", [f for f in OK if f != "collapse_key"])
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
def test_hostile_fields_are_refused_and_nothing_is_queued(field: str, value: Any) -> None:
    p = pipeline()
    before = state(p)
    if field == "lane" and value == "normal":
        return
    with pytest.raises(NotificationError):
        p.accept(Notification(**{**OK, field: value}))
    assert state(p) == before


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"channels": ("pager",)}, "channel='pager' is unknown"),
        ({"vars": {"name": "y" * 5000}}, "limit 4096"),
        ({"vars": {}}, "misses vars ['name']"),
        ({"users": ("nobody",)}, "user='nobody' is not registered"),
        ({"users": ("ada", "ada")}, "user='ada' twice; users must be distinct"),
        ({"template": "missing"}, "template='missing' is not registered"),
        ({"collapse_key": ""}, "collapse_key"),
    ],
)
def test_named_mistakes_say_what_is_wrong(change: dict[str, Any], words: str) -> None:
    p = pipeline()
    before = state(p)
    with pytest.raises(NotificationError, match=words.replace("[", r"\[").replace("]", r"\]")):
        p.accept(Notification(**{**OK, **change}))
    assert state(p) == before
    assert p.accept(Notification(**OK))  # the same key is still free


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:20])
def test_directory_calls_refuse_hostile_values(value: Any) -> None:
    p = pipeline()
    before = state(p)
    for call in (
        lambda: p.register_user(value),
        lambda: p.register_user("bo", tz=value),
        lambda: p.add_device("ada", value, "t2"),
        lambda: p.add_device("ada", "fcm", value),
        lambda: p.templates.add("u", value * 11 if isinstance(value, str) else value),
    ):
        with pytest.raises(NotificationError):
            call()
        assert state(p) == before


def sender_args() -> dict[str, Any]:
    from designpatterns_ref.clock import ManualClock
    from designpatterns_ref.notifications import DedupWindow, MemoryQueue, default_providers

    clock = ManualClock()
    return {"providers": default_providers(clock), "dedup": DedupWindow(clock=clock),
            "outgoing": MemoryQueue(), "dead": MemoryQueue(), "clock": clock,
            "record": lambda r: None, "on_invalid": lambda t: None, "latest": {},
            "max_attempts": 5, "base": 1.0, "cap": 300.0, "seed": 0}  # fmt: skip


@pytest.mark.parametrize("arg", list(sender_args()))
@pytest.mark.parametrize("value", [*HOSTILE, -3, 0, 101, -math.inf], ids=lambda v: repr(v)[:20])
def test_sender_refuses_every_hostile_argument(arg: str, value: Any) -> None:
    from designpatterns_ref.notifications import Sender

    kw = sender_args()
    if arg == "latest" and (value is None or value == {}):
        return  # no map, or an empty map, of latest collapse keys is valid
    if arg in ("base", "cap") and value == 101:
        return  # 101 seconds is a valid backoff base or cap
    if arg == "seed" and isinstance(value, int) and not isinstance(value, bool) and value < 10**9:
        return  # any moderate int is a seed
    queued = (len(kw["outgoing"]), len(kw["dead"]), len(kw["dedup"]))
    with pytest.raises(NotificationError, match=f"Sender: {arg}="):
        Sender(**kw | {arg: value})
    assert (len(kw["outgoing"]), len(kw["dead"]), len(kw["dedup"])) == queued


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"max_attempts": -3}, "max_attempts=-3 not in [1, 100]"),
        ({"base": math.nan}, "base=nan must be within (0, 86400]"),
        ({"cap": math.inf}, "cap=inf must be within (0, 86400]"),
        ({"seed": 10**400}, "seed="),
        ({"providers": {"pager": None}}, "providers"),
    ],
)
def test_sender_names_argument_value_and_what_is_allowed(kw: dict[str, Any], words: str) -> None:
    from designpatterns_ref.notifications import Sender

    with pytest.raises(NotificationError, match=words.replace("[", r"\[").replace("(", r"\(")):
        Sender(**sender_args() | kw)


@pytest.mark.parametrize("arg", ["clock", "transient", "seed"])
@pytest.mark.parametrize("value", [*HOSTILE, 3, 5.0, 2**64], ids=lambda v: repr(v)[:20])
def test_default_providers_refuses_hostile_arguments(arg: str, value: Any) -> None:
    from designpatterns_ref.clock import ManualClock
    from designpatterns_ref.notifications import default_providers

    kw: dict[str, Any] = {"clock": ManualClock(), "transient": 0.1, "seed": 1}
    if value is None and arg == "clock":
        return  # no clock: the providers use the wall clock
    if arg == "seed" and value in (-1, 3):
        return  # a seed is any moderate int
    with pytest.raises(NotificationError, match=f"{arg}="):
        default_providers(**kw | {arg: value})


def redis_pair(redis_url: str) -> tuple[Any, Any]:
    from designpatterns_ref.notifications.redis_dedup import RedisDedup
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    q = RedisStreamQueue(redis_url, "bad", consumer="c")
    q.put({"a": 1})
    q.take(1, 0.0)
    d = RedisDedup(q.r, "bad")
    d.claim("held")
    d.deliver("sent")
    return q, d


def redis_state(q: Any) -> object:
    dump = sorted((k, q.r.dump(k)) for k in q.r.scan_iter(match="bad*"))
    return dump, q.pending(), len(q)


@pytest.mark.parametrize("value", [*HOSTILE, ["ok", None], ("ok", "\ud800"), ["ok", ""]],
                         ids=lambda v: repr(v)[:20])  # fmt: skip
def test_a_take_at_a_time_refuses_hostile_ids_and_changes_nothing(
    redis_url: str, value: Any
) -> None:
    q, d = redis_pair(redis_url)
    before = redis_state(q)
    calls = {
        "RedisDedup.claim_many: message_ids": lambda: d.claim_many(value),
        "RedisDedup.extend: message_ids": lambda: d.extend(value),
        "RedisDedup.settle: confirmed": lambda: d.settle(value, ["held"]),
        "RedisDedup.settle: released": lambda: d.settle(["m"], value),
        "RedisStreamQueue.ack_settled: confirmed": lambda: q.ack_settled([], d, value, []),
        "RedisStreamQueue.ack_settled: released": lambda: q.ack_settled([], d, ["m"], value),
        "RedisStreamQueue.ack_settled: ticket": lambda: q.ack_settled([value], d, ["m"], []),
        "RedisStreamQueue.ack: ticket": lambda: q.ack([value]),
    }
    for words, call in calls.items():
        if value == [] and "ticket" not in words:
            continue  # no ids at all is a valid (empty) take
        with pytest.raises(NotificationError, match=words.replace(".", r"\.")):
            call()
        assert redis_state(q) == before, words


def test_ack_settled_refuses_what_is_not_a_window_and_settles_any_other(redis_url: str) -> None:
    from designpatterns_ref.clock import ManualClock
    from designpatterns_ref.notifications import DedupWindow
    from designpatterns_ref.notifications.redis_dedup import RedisDedup
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    q, _ = redis_pair(redis_url)
    before = redis_state(q)
    for dedup in (None, 1, "bad", object()):
        with pytest.raises(NotificationError, match=r"RedisStreamQueue\.ack_settled: dedup="):
            q.ack_settled([], dedup, ["m"], ["held"])
        assert redis_state(q) == before
    name = f"as-{uuid.uuid4().hex[:8]}"
    q = RedisStreamQueue(redis_url, name, consumer="c")
    other = RedisDedup(redis_url, name)  # another client: settled, then acked, in two calls
    memory = DedupWindow(clock=ManualClock())  # any window settles the same way
    for d in (other, memory):
        q.put({"a": 1})
        ((ticket, _),) = q.take(1, 0.0)
        assert d.claim_many(["m", "n"]) == ["claimed", "claimed"]
        q.ack_settled([ticket], d, ["m"], ["n"])
        assert d.claim_many(["m", "n"]) == ["delivered", "claimed"]
        assert q.pending() == 0 and len(q) == 0


def queue_kinds(redis_url: str) -> list[Any]:
    from designpatterns_ref.notifications import MemoryQueue, SQLiteQueue
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    return [MemoryQueue(), SQLiteQueue(":memory:"),
            RedisStreamQueue(redis_url, f"pm-{uuid.uuid4().hex[:8]}")]  # fmt: skip


def queued(q: Any) -> object:
    """Everything the queue holds, taken far in the future and put back untouched."""
    got = q.take(1000, 1e10)
    items = sorted(repr(item) for _, item in got)
    if hasattr(q, "restore"):
        q.restore()
    else:  # SQLite and Redis: a second queue object would see them leased; drop the probe
        q.ack([t for t, _ in got])
        for _, item in got:
            q.put(item)
    return items


BAD_BATCHES: list[Any] = [[1, None], "ab", [{"a": 1}, 3], [{"a": 1}, None], None, 5, b"xy",
                          {"a": 1}, [[("a", 1)]], [{"a": 1}, "x"]]  # fmt: skip


@pytest.mark.parametrize("items", BAD_BATCHES, ids=lambda v: repr(v)[:20])
def test_put_many_checks_every_item_as_put_does_and_a_refused_batch_adds_nothing(
    redis_url: str, items: Any
) -> None:
    for q in queue_kinds(redis_url):
        q.put({"x": 1})
        before = queued(q)
        with pytest.raises(NotificationError, match=r"put_many: item"):
            q.put_many(items)
        assert queued(q) == before and len(q) == 1, type(q).__name__


NOT_JSON: list[Any] = [{"x": object()}, {"x": {1, 2}}, {"x": math.nan}, {"x": math.inf},
                       {"x": [1, -math.inf]}, {"x": b"b"}, {("t",): 1}]  # fmt: skip


@pytest.mark.parametrize("item", NOT_JSON, ids=lambda v: repr(v)[:20])
def test_a_durable_queue_refuses_an_item_json_cannot_hold(redis_url: str, item: Any) -> None:
    for q in queue_kinds(redis_url)[1:]:  # SQLite and Redis store JSON; memory keeps the dict
        q.put({"x": 1})
        before = queued(q)
        with pytest.raises(NotificationError, match=r"\.put: item=.* JSON"):
            q.put(item)
        with pytest.raises(NotificationError, match=r"\.put_many: item=.* JSON"):
            q.put_many([{"ok": 1}, item])
        with pytest.raises(NotificationError, match=r"\.put: item=.* JSON"):
            q.put(item, at=50.0)
        assert queued(q) == before and len(q) == 1, type(q).__name__


def test_a_self_containing_item_is_refused(redis_url: str) -> None:
    loop: dict[str, Any] = {}
    loop["me"] = loop
    for q in queue_kinds(redis_url)[1:]:
        with pytest.raises(NotificationError, match="JSON"):
            q.put(loop)
        assert len(q) == 0


COUNTS: list[Any] = [None, True, False, "x", 1.0, math.nan, 0, -5, 10**400, 2_000_000, [], object()]


@pytest.mark.parametrize("value", COUNTS, ids=lambda v: repr(v)[:20])
def test_run_step_and_expand_batch_refuse_a_bad_count_and_change_nothing(value: Any) -> None:
    p = pipeline()
    p.accept(Notification(**OK))
    before = state(p)
    calls = {
        "Pipeline.step: batch": lambda: p.step(value),
        "Pipeline.run: batch": lambda: p.run(batch=value),
        "Pipeline.run: max_rounds": lambda: p.run(max_rounds=value),
        "Pipeline.expand_batch: n": lambda: p.expand_batch(value),
    }
    for words, call in calls.items():
        if words.endswith("max_rounds") and value in (2_000_000,):
            continue  # two million rounds is a valid bound
        with pytest.raises(NotificationError, match=words.replace(".", r"\.")):
            call()
        assert state(p) == before, words


@pytest.mark.parametrize("value", [*HOSTILE, 0, 101], ids=lambda v: repr(v)[:20])
def test_the_campaign_helpers_and_plots_refuse_hostile_arguments(value: Any) -> None:
    from designpatterns_ref.notifications.plot import plot_fates, plot_local_hours
    from designpatterns_ref.notifications.simulate import campaign_pipeline, send_campaign

    p = campaign_pipeline(users=3)
    before = state(p)
    calls = {
        "campaign_pipeline: devices": lambda: campaign_pipeline(users=3, devices=value),
        "send_campaign: p": lambda: send_campaign(value),
        "send_campaign: campaigns": lambda: send_campaign(p, campaigns=value),
        "plot_fates: ax": lambda: plot_fates(p, ax=value),
        "plot_local_hours: ax": lambda: plot_local_hours(p, ax=value),
    }
    for words, call in calls.items():
        if value is None and "ax" in words:
            continue  # no ax: a new figure
        if value == 101 and "campaigns" in words:
            continue
        with pytest.raises(NotificationError, match=words):
            call()
        assert state(p) == before, words
