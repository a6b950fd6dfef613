"""The pipeline against plain oracles: who gets what, at most once, within caps and quiet hours."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.notifications import (
    MemoryQueue,
    Notification,
    Pipeline,
    QuietHours,
    SimulatedProvider,
    default_providers,
)

T0 = datetime(2026, 3, 7, 12, 0, tzinfo=UTC).timestamp()  # the day before US DST starts
ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe"]
TERMINAL = {"delivered", "dead-letter", "invalid-token", "expired", "collapsed"}


def build(
    clock: ManualClock, users: list[tuple[str, int, frozenset[str]]], **kw: object
) -> Pipeline:
    p = Pipeline(clock=clock, **kw)  # type: ignore[arg-type]
    p.templates.add("t", "Hi {name}, {what}")
    p.templates.add("t", "Salut {name}, {what}", locale="fr")
    for i, (tz, devices, muted) in enumerate(users):
        uid = f"u{i}"
        p.register_user(uid, tz=tz, locale="fr" if i % 3 == 0 else "en", muted=muted)
        for d in range(devices):
            p.add_device(uid, ("apns", "fcm", "email")[d % 3], f"tok-{uid}-{d}")
    return p


user_st = st.tuples(
    st.sampled_from(ZONES),
    st.integers(0, 3),
    st.frozensets(st.sampled_from(["apns", "fcm", "email", "marketing"]), max_size=1),
)
note_st = st.tuples(
    st.integers(0, 6),  # key (repeats are idempotent duplicates)
    st.lists(st.integers(0, 11), min_size=1, max_size=6, unique=True),
    st.sampled_from([("apns",), ("fcm",), ("apns", "fcm"), ("email",), ("apns", "fcm", "email")]),
    st.sampled_from(["high", "normal"]),
)


@settings(max_examples=40, deadline=None)
@given(
    users=st.lists(user_st, min_size=12, max_size=12),
    notes=st.lists(note_st, min_size=1, max_size=12),
    cap=st.integers(1, 3),
)
def test_no_failures_matches_the_oracle_exactly(
    users: list[tuple[str, int, frozenset[str]]],
    notes: list[tuple[int, list[int], tuple[str, ...], str]],
    cap: int,
) -> None:
    clock = ManualClock(T0)
    p = build(clock, users, caps={"apns": cap, "fcm": cap, "email": cap})
    # Oracle: first accept per key wins; high lane ignores caps; the normal lane is expanded in
    # accept order after the high one and each (user, channel) gets at most `cap` of them.
    seen: set[int] = set()
    accepted = []
    for k, who, chans, lane in notes:
        ok = p.accept(
            Notification(
                f"k{k}",
                "t",
                tuple(f"u{i}" for i in who),
                {"name": "x", "what": "y"},
                chans,
                lane=lane,
            )
        )
        assert ok == (k not in seen)
        if ok:
            seen.add(k)
            accepted.append((k, who, chans, lane))
    p.run()
    expected: set[tuple[str, str]] = set()
    used: Counter[tuple[int, str]] = Counter()
    order = [a for a in accepted if a[3] == "high"] + [a for a in accepted if a[3] == "normal"]
    for k, who, chans, lane in order:
        for i in who:
            _tz, devices, muted = users[i]
            for ch in chans:
                toks = [
                    f"tok-u{i}-{d}" for d in range(devices) if ("apns", "fcm", "email")[d % 3] == ch
                ]
                if ch in muted or "marketing" in muted or not toks:
                    continue
                if lane == "normal":
                    if used[(i, ch)] >= cap:
                        continue
                    used[(i, ch)] += 1
                expected |= {(f"k{k}", t) for t in toks}
    delivered = [(r.key, r.token) for r in p.receipts if r.status == "delivered"]
    assert len(delivered) == len(set(delivered))
    assert set(delivered) == expected
    assert len(p.accepted) == len(p.outgoing) == len(p.dead) == 0


@settings(max_examples=30, deadline=None)
@given(
    users=st.lists(user_st, min_size=12, max_size=12),
    notes=st.lists(note_st, min_size=1, max_size=10),
    transient=st.sampled_from([0.0, 0.3, 0.7]),
    redeliver=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_with_failures_quiet_hours_and_crashes_every_message_has_one_fate(
    users: list[tuple[str, int, frozenset[str]]],
    notes: list[tuple[int, list[int], tuple[str, ...], str]],
    transient: float,
    redeliver: bool,
    seed: int,
) -> None:
    clock = ManualClock(T0)
    providers = default_providers(clock, transient=transient, seed=seed)
    quiet = QuietHours("21:00", "08:30")
    p = build(
        clock,
        users,
        caps={"apns": 2, "fcm": 2, "email": 1},
        quiet=quiet,
        providers=providers,
        max_attempts=4,
        seed=seed,
    )
    providers["fcm"].invalidate("tok-u1-1")
    for k, who, chans, lane in notes:
        p.accept(
            Notification(
                f"k{k}",
                "t",
                tuple(f"u{i}" for i in who),
                {"name": "x", "what": "y"},
                chans,
                lane=lane,
            )
        )
    if redeliver:  # a worker takes a batch, sends it, and dies before acking: all served again
        p.expand_batch(100)
        out = p.outgoing
        assert isinstance(out, MemoryQueue)
        p.sender._send([m for _, m in out.take(50, clock())], clock(), [])
        out.restore()
    p.run()
    fates: dict[tuple[str, str], list[str]] = {}
    for r in p.receipts:
        if r.token:
            fates.setdefault((r.key, r.token), []).append(r.status)
    for (key, tok), statuses in fates.items():
        terminal = [s for s in statuses if s in TERMINAL]
        assert statuses.count("delivered") <= 1, (key, tok, statuses)
        assert terminal, (key, tok, statuses)  # nothing is lost
        if not redeliver:
            assert len(terminal) == 1
    delivered = [r for r in p.receipts if r.status == "delivered"]
    per_day: Counter[tuple[str, str, int]] = Counter()
    lanes: dict[str, str] = {}
    for k, _, _, lane in notes:
        lanes.setdefault(f"k{k}", lane)  # the first accept of a key wins
    for r in delivered:
        tz = p.users[r.user].tz
        assert lanes[r.key] == "high" or not quiet.is_quiet(r.at, tz) or r.attempts > 1 or redeliver
        if lanes[r.key] == "normal":
            per_day[(r.user, r.channel, int(r.at // 86400))] += 1
        assert r.token != "tok-u1-1"
    caps = {"apns": 2, "fcm": 2, "email": 1}
    assert all(n <= caps[ch] for (_, ch, _), n in per_day.items())


def test_dead_letters_replay_once_the_provider_recovers() -> None:
    clock = ManualClock(T0)
    providers = default_providers(clock, transient=1.0)
    p = build(clock, [("UTC", 2, frozenset())] * 5, providers=providers, max_attempts=3)
    p.accept(Notification("k", "t", tuple(f"u{i}" for i in range(5)), {"name": "a", "what": "b"}))
    p.run()
    assert p.counts["dead-letter"] == 10 and p.counts["retry"] == 20 and len(p.dead) == 10
    retries = sorted(r.at for r in p.receipts if r.token == "tok-u0-0")
    assert retries[1] - retries[0] >= 0.5 and retries[2] - retries[1] >= 1.0  # backoff doubles
    for prov in providers.values():
        prov.transient = 0.0
    assert p.replay_dead_letters() == 10
    p.run()
    assert p.counts["delivered"] == 10 and len(p.dead) == 0
    assert p.replay_dead_letters() == 0


def test_invalid_token_is_removed_and_never_retried() -> None:
    clock = ManualClock(T0)
    p = build(clock, [("UTC", 2, frozenset())])
    p.providers["apns"].invalidate("tok-u0-0")
    p.accept(Notification("a", "t", ("u0",), {"name": "a", "what": "b"}))
    p.run()
    assert {r.token: r.status for r in p.receipts} == {
        "tok-u0-0": "invalid-token",
        "tok-u0-1": "delivered",
    }
    assert [d.token for d in p.devices["u0"]] == ["tok-u0-1"]


def test_collapse_key_keeps_only_the_newest_and_ttl_expires() -> None:
    clock = ManualClock(T0)
    p = build(clock, [("UTC", 1, frozenset())])
    for i in range(3):
        p.accept(
            Notification(
                f"score-{i}",
                "t",
                ("u0",),
                {"name": "a", "what": str(i)},
                ("apns",),
                collapse_key="match-1",
            )
        )
    p.run()
    assert [(r.key, r.status) for r in p.receipts] == [
        ("score-0", "collapsed"),
        ("score-1", "collapsed"),
        ("score-2", "delivered"),
    ]
    q = build(
        clock,
        [("UTC", 1, frozenset())],
        providers={"apns": SimulatedProvider("apns", transient=1.0, clock=clock)},
    )
    q.accept(Notification("x", "t", ("u0",), {"name": "a", "what": "b"}, ("apns",), ttl=2.0))
    q.run()
    assert [r.status for r in q.receipts] == ["retry", "retry", "expired"]


def test_high_lane_goes_before_a_queued_campaign() -> None:
    clock = ManualClock(T0)
    p = build(clock, [("UTC", 1, frozenset())] * 50)
    users = tuple(f"u{i}" for i in range(50))
    for i in range(5):
        p.accept(Notification(f"promo-{i}", "t", users, {"name": "a", "what": "b"}, ("apns",)))
    p.accept(
        Notification(
            "alert",
            "t",
            ("u7",),
            {"name": "a", "what": "b"},
            ("apns",),
            lane="high",
            category="security",
        )
    )
    p.run(batch=16)
    order = [r.key for r in p.receipts if r.status == "delivered"]
    assert order[0] == "alert"


def test_quiet_hours_defer_to_the_local_morning() -> None:
    clock = ManualClock(datetime(2026, 3, 8, 4, 0, tzinfo=UTC).timestamp())  # 23:00 in New York
    p = build(clock, [("America/New_York", 1, frozenset())], quiet=QuietHours("22:00", "07:00"))
    p.accept(Notification("n", "t", ("u0",), {"name": "a", "what": "b"}, ("apns",)))
    p.run()
    sent = [r for r in p.receipts if r.status == "delivered"]
    # DST starts that night: 07:00 EDT is 11:00 UTC, not 12:00.
    assert datetime.fromtimestamp(sent[0].at, UTC).hour == 11


@given(steps=st.lists(st.integers(-8, 8), min_size=2, max_size=6))
def test_a_pipelines_later_accept_is_newer_whatever_its_clock_says(steps: list[int]) -> None:
    """The clock stepped back or forward between accepts of one collapse key: the last one
    accepted is the one delivered, the others collapsed."""
    clock = ManualClock(1_780_000_000.0)
    p = Pipeline(clock=clock)
    p.templates.add("score", "Score {s}")
    p.register_user("ada")
    p.add_device("ada", "fcm", "tok")
    for i, step in enumerate(steps):
        clock.set(clock.now + step / 4, allow_backwards=True)
        note = Notification(f"goal-{i}", "score", users=("ada",), vars={"s": str(i)},
                            channels=("fcm",), collapse_key="match")  # fmt: skip
        assert p.accept(note)
        p.expand_batch()
    clock.advance(10.0)
    p.run()
    fates = {r.key: r.status for r in p.receipts}
    last = f"goal-{len(steps) - 1}"
    assert fates[last] == "delivered"
    assert "delivered" not in {fates.get(f"goal-{i}") for i in range(len(steps) - 1)}
