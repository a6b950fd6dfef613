"""Real worker processes on Redis Streams, killed with SIGKILL mid-campaign and restarted.

Counted on the phones (what the providers handed to devices, per message id): everything not
dead-lettered arrives; a message arrives twice only when a kill fell between its provider's ok
and the settle of its take, so at most one take (the worker's batch, 64) per kill; and no
frequency cap is exceeded."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.notifications import Notification, Pipeline

TAKE = 64  # the worker's batch: the most messages one kill can leave unsettled


def spawn(
    url: str, name: str, consumer: str, transient: float, seed: int
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "designpatterns_ref.notifications.worker", "--url", url,
         "--name", name, "--consumer", consumer, "--transient", str(transient),
         "--seed", str(seed), "--max-attempts", "6", "--idle", "1.5", "--claim-idle", "0.3",
         "--lease", "1.0"]
    )  # fmt: skip


def items_in(r: object, streams: list[str]) -> list[dict[str, str]]:
    out = []
    for s in streams:
        for _, fields in r.xrange(s):  # type: ignore[attr-defined]
            out.append(json.loads(fields[b"d"]))
    return out


def ids_in(r: object, streams: list[str]) -> list[str]:
    return [m["id"] for m in items_in(r, streams)]


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    users=st.integers(5, 30),
    notes=st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["high", "normal"])),
                   min_size=1, max_size=6),
    transient=st.sampled_from([0.0, 0.3, 0.6]),
    kills=st.lists(st.floats(0.02, 0.4), min_size=1, max_size=4),
    seed=st.integers(0, 10_000),
)  # fmt: skip
def test_sigkilled_workers_never_duplicate_never_lose_never_exceed_caps(
    redis_url: str,
    users: int,
    notes: list[tuple[int, str]],
    transient: float,
    kills: list[float],
    seed: int,
) -> None:
    import redis

    from designpatterns_ref.notifications.redis_dedup import RedisDedup
    from designpatterns_ref.notifications.redis_streams import RedisStreamQueue

    name = f"t-{uuid.uuid4().hex[:8]}"
    rng = random.Random(seed)
    out = RedisStreamQueue(redis_url, f"{name}:out", consumer="producer")
    caps = {"apns": 2, "fcm": 1}
    p = Pipeline(clock=time.time, caps=caps, outgoing=out, keep_receipts=False)
    p.templates.add("t", "hello {n}")
    for u in range(users):
        p.register_user(f"u{u}")
        for ch in rng.sample(["apns", "fcm"], rng.randint(1, 2)):
            p.add_device(f"u{u}", ch, f"tok-{u}-{ch}")
    for k, lane in notes:
        who = tuple(f"u{u}" for u in rng.sample(range(users), rng.randint(1, users)))
        p.accept(Notification(f"n{k}", "t", who, {"n": str(k)}, ("apns", "fcm"), lane=lane))
    while p.expand_batch(64):
        pass
    r = redis.Redis.from_url(redis_url)
    items = items_in(r, list(out.streams(f"{name}:out")))
    expected = [m["id"] for m in items]
    assert len(expected) == len(set(expected))
    id_of = {f"{m['tok']}\n{m['body']}": m["id"] for m in items}
    assert len(id_of) == len(items)

    workers = [spawn(redis_url, name, f"w{i}", transient, seed + i) for i in range(2)]
    started = 2
    for delay in kills:
        time.sleep(delay)
        victim = workers.pop(rng.randrange(len(workers)))
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        workers.append(spawn(redis_url, name, f"w{started}", transient, seed + started))
        started += 1
    for w in workers:
        assert w.wait(timeout=120) == 0

    on_phone = Counter(id_of[v.decode()] for v in r.lrange(f"{name}:phone", 0, -1))
    delivered = list(on_phone)
    dead = set(ids_in(r, list(out.streams(f"{name}:dead"))))
    twice = {mid: n for mid, n in on_phone.items() if n > 1}
    # Only a kill between a provider's ok and its take's settle repeats: one take per kill.
    assert sum(n - 1 for n in twice.values()) <= TAKE * len(kills), f"reached twice: {twice}"
    assert all(n <= 1 + len(kills) for n in twice.values()), twice
    assert set(delivered) | dead >= set(expected), "a message was lost"
    assert set(RedisDedup(redis_url, name).delivered()) <= set(delivered)
    assert out.pending() == 0 and len(out) == 0
    per_user: Counter[tuple[str, str]] = Counter()
    lanes = {}
    for k, lane in notes:
        lanes.setdefault(f"n{k}", lane)
    for mid in delivered:
        key, tok = mid.split("|")
        if lanes[key] == "normal":
            _, u, ch = tok.split("-")
            per_user[(u, ch)] += 1
    assert all(n <= caps[ch] for (_, ch), n in per_user.items())
    r.close()
