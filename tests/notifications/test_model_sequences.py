"""Random campaigns through the whole pipeline against a short model of who gets what.

The model replays the notifications in the order the pipeline expands them: first the high lane
then the normal lane, in accept order (one take), then the normal-lane copies deferred by quiet
hours, in accept order, when the window ends. Repeated idempotency keys are accepted once; a
muted channel or category, a missing device and a spent daily cap give their receipts; a
notification with a collapse key reaches a device only if no one of that key accepted after it
had been expanded for the device by the time it is sent (newer means accepted later, not
expanded later: a high-lane or undeferred notification expanded first does not lose its place
to an older one expanded after it). Transient provider errors are retried: they
change when a message is sent, never whether, so with them the model checks what does not
depend on timing (one fate per message, the newest of each collapse key delivered) and without
them the exact set of deliveries.
"""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.notifications import (
    Notification,
    Pipeline,
    QuietHours,
    SQLiteQueue,
    default_providers,
)

START = 1_780_000_000.0  # 20:26 UTC, 05:26 in Tokyo: Tokyo's users are inside quiet hours
TZ = {"u0": "UTC", "u1": "Asia/Tokyo", "u2": "UTC", "u3": "Asia/Tokyo"}
MUTED = {"u0": set(), "u1": set(), "u2": {"fcm", "promo"}, "u3": set()}
DEVICES = {
    "u0": [("apns", "tok-u0-a"), ("fcm", "tok-u0-f")],
    "u1": [("apns", "tok-u1-a"), ("apns", "tok-u1-b")],
    "u2": [("apns", "tok-u2-a"), ("fcm", "tok-u2-f")],
    "u3": [],
}
QUIET = {u for u, tz in TZ.items() if tz == "Asia/Tokyo"}

note_st = st.tuples(
    st.integers(0, 7),  # the key: repeats are replays of one notification
    st.lists(st.sampled_from(sorted(TZ)), min_size=1, max_size=4, unique=True),
    st.lists(st.sampled_from(["apns", "fcm"]), min_size=1, max_size=2, unique=True),
    st.sampled_from(["high", "normal", "normal"]),
    st.sampled_from(["marketing", "promo"]),
    st.sampled_from([None, "x", "y"]),
)


def backend(kind: str, where: Path, redis_url: str | None) -> dict[str, Any]:
    """The queues (and on Redis the dedup window and the collapse record) of one backend."""
    if kind == "memory":
        return {}
    name = f"m{uuid.uuid4().hex[:10]}"
    if kind == "sqlite":
        return {
            s: SQLiteQueue(str(where / f"{name}-{s}.db")) for s in ("accepted", "outgoing", "dead")
        }
    from designpatterns_ref.notifications.redis_collapse import RedisCollapseKeys
    from designpatterns_ref.notifications.redis_dedup import RedisDedup
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    parts: dict[str, Any] = {
        s: RedisStreamQueue(redis_url, f"{name}:{s}") for s in ("accepted", "outgoing", "dead")
    }
    return {
        **parts,
        "dedup": RedisDedup(redis_url, name),
        "latest": RedisCollapseKeys(redis_url, name),
    }


def build(caps: dict[str, int], transient: float, seed: int, parts: dict[str, Any]) -> Pipeline:
    from designpatterns_ref.clock import ManualClock

    clock = ManualClock(START)
    p = Pipeline(
        **parts,
        clock=clock,
        caps=caps,
        quiet=QuietHours("22:00", "07:00"),
        providers=default_providers(clock, transient=transient, seed=seed),
        max_attempts=100,
        seed=seed,
    )
    p.templates.add("t", "note {i}")
    for u, tz in TZ.items():
        p.register_user(u, tz=tz, muted=MUTED[u])
        for ch, tok in DEVICES[u]:
            p.add_device(u, ch, tok)
    return p


def model(notes: list[Notification], caps: dict[str, int]) -> tuple[Counter[Any], list[list[Any]]]:
    """The receipts decided before the send stage, and the messages of each send phase."""
    high = [n for n in notes if n.lane == "high"]
    normal = [n for n in notes if n.lane == "normal"]
    early: Counter[Any] = Counter()
    used: Counter[tuple[str, str]] = Counter()
    phases: list[list[Any]] = [[], []]

    def expand(n: Notification, u: str, phase: int) -> None:
        for ch in n.channels:
            tokens = [tok for c, tok in DEVICES[u] if c == ch]
            if ch in MUTED[u] or n.category in MUTED[u]:
                early[(n.key, u, ch, "muted")] += 1
            elif not tokens:
                early[(n.key, u, ch, "no-device")] += 1
            elif n.lane == "normal" and used[(u, ch)] >= caps[ch]:
                early[(n.key, u, ch, "capped")] += 1
            else:
                used[(u, ch)] += n.lane == "normal"
                phases[phase] += [(n.key, tok, n.collapse_key) for tok in tokens]

    deferred = []
    for n in high + normal:
        for u in n.users:
            if n.lane == "normal" and u in QUIET:
                early[(n.key, u, "", "deferred")] += 1
                deferred.append((n, u))
            else:
                expand(n, u, 0)
    for n, u in deferred:
        expand(n, u, 1)
    return early, phases


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    specs=st.lists(note_st, min_size=1, max_size=10),
    caps=st.fixed_dictionaries({"apns": st.integers(1, 3), "fcm": st.integers(1, 3)}),
    transient=st.sampled_from([0.0, 0.0, 0.3]),
    seed=st.integers(0, 1000),
)
def test_campaigns_match_the_model(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    kind: str,
    specs: list[tuple[Any, ...]],
    caps: dict[str, int],
    transient: float,
    seed: int,
) -> None:
    url = request.getfixturevalue("redis_url") if kind == "redis" else None
    p = build(caps, transient, seed, backend(kind, tmp_path, url))
    accepted: list[Notification] = []
    seen: set[str] = set()
    for i, (k, users, channels, lane, category, ck) in enumerate(specs):
        n = Notification(f"k{k}", "t", tuple(users), {"i": str(i)}, tuple(channels),
                         lane=lane, category=category, collapse_key=ck)  # fmt: skip
        assert p.accept(n) is (n.key not in seen)
        if n.key not in seen:
            seen.add(n.key)
            accepted.append(n)
    p.run()
    early, phases = model(accepted, caps)

    got_early = Counter(
        (r.key, r.user, r.channel, r.status)
        for r in p.receipts
        if r.status in ("muted", "no-device", "capped", "deferred")
    )
    assert got_early == early
    fates = Counter((r.key, r.token) for r in p.receipts if r.status in ("delivered", "collapsed"))
    messages = [(key, tok) for phase in phases for key, tok, _ in phase]
    assert sorted(fates.elements()) == sorted(messages)  # one fate each, none lost or doubled
    assert {r.status for r in p.receipts} <= {*early_statuses, "delivered", "collapsed", "retry"}
    assert len(p.dead) == 0 and len(p.outgoing) == 0 and len(p.accepted) == 0
    delivered = {(r.key, r.token) for r in p.receipts if r.status == "delivered"}
    order = {n.key: i for i, n in enumerate(accepted)}  # the accept order
    newest: dict[tuple[str, str], str] = {}
    for key, tok, ck in phases[0] + phases[1]:
        if ck is None:
            assert (key, tok) in delivered
        elif order[key] >= order[newest.get((tok, ck), key)]:
            newest[(tok, ck)] = key
    assert all((key, tok) in delivered for (tok, _), key in newest.items())
    for r in p.receipts:  # a normal-lane message first sent inside quiet hours: never
        lane = next(n.lane for n in accepted if n.key == r.key)
        if r.status == "delivered" and lane == "normal" and r.attempts == 1:
            assert not p.quiet or not p.quiet.is_quiet(r.at, TZ[r.user])
    if transient == 0.0:  # each phase's sends see the collapse keys expanded so far
        want: set[tuple[str, str]] = set()
        latest: dict[tuple[str, str], str] = {}
        for phase in phases:
            for key, tok, ck in phase:
                if ck is not None and order[key] >= order[latest.get((tok, ck), key)]:
                    latest[tok, ck] = key
            want |= {(key, tok) for key, tok, ck in phase if ck is None or latest[tok, ck] == key}
        assert delivered == want


early_statuses = ("muted", "no-device", "capped", "deferred")
