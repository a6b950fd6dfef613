"""Bad input at accept time: the family's error naming the field, nothing enqueued or changed."""

from __future__ import annotations

import math
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
