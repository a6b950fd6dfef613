"""ratelimit: every limiter (in memory, on SQLite and on Redis), its methods (``acquire`` and
``acquire_async`` included), the composites, written limits, the traffic generators,
``simulate`` and ``plot_decisions``.

The Redis entries run against a real ``redis-server`` started on first use (and stopped when
the interpreter exits), through a client with the limiter's own deadline.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit import RateLimitError, RateLimitExceeded
from designpatterns_ref.ratelimit.simulate import SimulationResult
from tests.fuzz.spec import Entry

ERRORS: tuple[type[BaseException], ...] = (RateLimitError,)
NOT_FUZZED: dict[str, str] = {
    "Decision": "what a limiter returns for a request; users read it",
    "SimulationResult": "what simulate returns; users read it and pass it to the plots",
}

#: Values beyond the shared hostile set that probe this family's edges.
EDGES = (2**53, 2**53 + 1, 5e-324, 1e308, -1e308, 1e-300, 0.001, 3, "k", ("t", 1))

BUCKETS = {"TokenBucket": rl.TokenBucket, "GCRA": rl.GCRA, "LeakyBucket": rl.LeakyBucket,
           "LeakyBucketQueue": rl.LeakyBucketQueue}  # fmt: skip
WINDOWS = {"FixedWindow": rl.FixedWindow, "SlidingWindowLog": rl.SlidingWindowLog,
           "SlidingWindowCounter": rl.SlidingWindowCounter}  # fmt: skip


def _memory(name: str) -> Callable[[], Any]:
    """A limiter of ``name`` on a ManualClock, with one key ("k") already seen twice."""

    def make() -> Any:
        clock = ManualClock(1_000.0)
        if name in BUCKETS:
            limiter = BUCKETS[name](4, 1.0, 4, clock=clock)
        elif name in WINDOWS:
            limiter = WINDOWS[name](4, 1.0, clock=clock)
        else:
            limiter = rl.ConcurrencyLimiter(4, lease=1.0, clock=clock)
        limiter.allow("k")
        limiter.allow("k")
        return limiter

    return make


def _entries_for_limiter(name: str, make: Callable[[], Any], prefix: str = "") -> list[Entry]:
    label = f"{prefix}{name}"
    out = [
        Entry(f"{label}.allow(key)", call=lambda o, v: o.allow(v), make=make, values=EDGES),
        Entry(f"{label}.allow(cost)", call=lambda o, v: o.allow("k", v), make=make, values=EDGES),
        Entry(f"{label}.peek(key)", call=lambda o, v: o.peek(v), make=make, values=EDGES),
        Entry(f"{label}.peek(cost)", call=lambda o, v: o.peek("k", v), make=make, values=EDGES),
        Entry(f"{label}.reset(key)", call=lambda o, v: o.reset(v), make=make, values=EDGES),
    ]
    if "Concurrency" in name:
        out += [
            Entry(f"{label}.release(key)", call=lambda o, v: o.release(v), make=make),
            Entry(f"{label}.release(cost)", call=lambda o, v: o.release("k", v), make=make),
            Entry(f"{label}.hold(key)", call=lambda o, v: _hold(o, v, 1), make=make),
            Entry(f"{label}.hold(cost)", call=lambda o, v: _hold(o, "k", v), make=make),
        ]
    return out


def _acquire_entries(label: str, make: Callable[[], Any]) -> list[Entry]:
    """The blocking acquisition of a limiter whose clock is a ManualClock (waits advance it)."""
    return [
        Entry(f"{label}.acquire(key)", call=lambda o, v: o.acquire(v), make=make, values=EDGES),
        Entry(
            f"{label}.acquire(cost)", call=lambda o, v: o.acquire("k", v), make=make, values=EDGES
        ),
        Entry(
            f"{label}.acquire(timeout)",
            call=lambda o, v: o.acquire("k", 4, timeout=v),
            make=make,
            values=EDGES,
        ),
        Entry(
            f"{label}.acquire_async(timeout)",
            call=lambda o, v: asyncio.run(o.acquire_async("k", 4, timeout=v)),
            make=make,
            values=EDGES,
        ),
    ]


def _hold(limiter: Any, key: Any, cost: Any) -> None:
    with contextlib.suppress(RateLimitExceeded), limiter.hold(key, cost):
        pass


def _constructor(name: str, cls: Any, arg: str) -> Entry:
    defaults: dict[str, Any] = {"rate": 4, "per": 1.0}
    if name in BUCKETS:
        defaults["burst"] = 4
    if cls is rl.ConcurrencyLimiter:
        defaults = {"limit": 4, "lease": 1.0}
    return Entry(f"{name}({arg}=)", call=lambda _, v: cls(**{**defaults, arg: v}), values=EDGES)


def _memory_entries() -> list[Entry]:
    out: list[Entry] = []
    for name, cls in {**BUCKETS, **WINDOWS, "ConcurrencyLimiter": rl.ConcurrencyLimiter}.items():
        args = ["limit", "lease", "clock"] if "Concurrency" in name else ["rate", "per", "clock"]
        if name in BUCKETS:
            args.append("burst")
        out += [_constructor(name, cls, arg) for arg in args]
        make = _memory(name)
        out += _entries_for_limiter(name, make)
        out += _acquire_entries(name, make)
        out += [
            Entry(f"{name}.tracked_keys()", call=lambda o, v: o.tracked_keys(), make=make),
            Entry(f"{name}.forget_idle()", call=lambda o, v: o.forget_idle(), make=make),
        ]

    def both() -> rl.AllOf:
        clock = ManualClock(5.0)
        return rl.all_of(
            rl.TokenBucket(4, 1.0, 4, clock=clock), rl.FixedWindow(3, 1.0, clock=clock)
        )

    out += _entries_for_limiter("AllOf", both)
    out += _acquire_entries("AllOf", both)
    out += [
        Entry("AllOf.clock", call=lambda o, v: o.clock, make=both),
        Entry("all_of(*limiters)", call=lambda _, v: rl.all_of(v)),
        Entry("all_of(limiter, *limiters)", call=lambda _, v: rl.all_of(rl.GCRA(3), v)),
        Entry("AllOf(*limiters)", call=lambda _, v: rl.AllOf(v)),
        Entry("MemoryLimiter(limit=)", call=lambda _, v: rl.MemoryLimiter(v, None)),
        Entry("MemoryLimiter(clock=)", call=lambda _, v: rl.MemoryLimiter(3, v)),
        Entry("Decision.headers()", call=lambda _, v: rl.Decision(False, 3, 0, 0.5, 1.0).headers()),
        Entry("RateLimitExceeded(decision)", call=lambda _, v: RateLimitExceeded(v)),
    ]
    return out


def _traffic_entries() -> list[Entry]:
    calls: dict[str, tuple[Callable[..., object], dict[str, Any]]] = {
        "steady": (rl.steady, {"rate": 5.0, "duration": 2.0, "start": 0.0}),
        "poisson": (rl.poisson, {"rate": 5.0, "duration": 2.0, "seed": 1, "start": 0.0}),
        "bursts": (
            rl.bursts,
            {"size": 3, "every": 1.0, "duration": 3.0, "spread": 0.1, "seed": 1, "start": 0.0},
        ),
        "boundary_burst": (rl.boundary_burst, {"limit": 3, "per": 1.0, "window": 1, "gap": 0.01}),
    }
    out = []
    for name, (fn, kwargs) in calls.items():
        for arg in kwargs:
            out.append(
                Entry(
                    f"{name}({arg}=)",
                    call=lambda _, v, fn=fn, kwargs=kwargs, arg=arg: fn(**{**kwargs, arg: v}),
                    values=EDGES,
                )
            )
    return out


def _simulation() -> dict[str, Any]:
    clock = ManualClock()
    return {"limiter": rl.TokenBucket(3, 1.0, 3, clock=clock), "clock": clock}


def _simulate_entries() -> list[Entry]:
    def sim(o: dict[str, Any], **changes: Any) -> object:
        kwargs: dict[str, Any] = {"arrivals": [0.0, 0.1, 0.5], "key": "c", "cost": 1}
        kwargs.update(changes)
        return rl.simulate(o["limiter"], **kwargs)

    result = SimulationResult([0.0, 0.5, 1.0], [0.2], [])

    def plot(**changes: Any) -> object:
        kwargs: dict[str, Any] = {"arrivals": [0.0, 0.1, 0.5], "per": 1.0, "limit": 3, "title": "t"}
        kwargs.update(changes)
        limiters = kwargs.pop("limiters", {"tb": rl.TokenBucket(3, clock=ManualClock())})
        return rl.plot_decisions(limiters, **kwargs)

    out = [
        Entry("simulate(limiter)", call=lambda _, v: rl.simulate(v, [0.0])),
        Entry("simulate(arrivals)", call=lambda o, v: sim(o, arrivals=v), make=_simulation),
        Entry(
            "simulate(arrivals=[v])",
            call=lambda o, v: sim(o, arrivals=[v]),
            make=_simulation,
            values=EDGES,
        ),
        Entry("simulate(key)", call=lambda o, v: sim(o, key=v), make=_simulation),
        Entry("simulate(cost)", call=lambda o, v: sim(o, cost=v), make=_simulation),
        Entry("simulate(clock)", call=lambda o, v: sim(o, clock=v), make=_simulation),
        Entry(
            "SimulationResult.max_in_window(length)",
            call=lambda _, v: result.max_in_window(v),
            values=EDGES,
        ),
    ]
    for arg in ("limiters", "arrivals", "per", "limit", "title", "ax"):
        out.append(Entry(f"plot_decisions({arg}=)", call=lambda _, v, a=arg: plot(**{a: v})))
    return out


def _notation_entries() -> list[Entry]:
    out = [
        Entry("parse_limits(text)", call=lambda _, v: rl.parse_limits(v), values=EDGES),
        Entry("parse_limit(text)", call=lambda _, v: rl.parse_limit(v), values=EDGES),
        Entry("limiter_from_text(text)", call=lambda _, v: rl.limiter_from_text(v, "gcra")),
        Entry(
            "limiter_from_text(algorithm)", call=lambda _, v: rl.limiter_from_text("1/second", v)
        ),
        Entry(
            "limiter_from_text(clock)",
            call=lambda _, v: rl.limiter_from_text("1/second", "gcra", clock=v),
        ),
    ]
    for field in ("amount", "multiples", "unit"):
        valid: dict[str, Any] = {"amount": 3, "multiples": 2, "unit": "minute"}
        out.append(
            Entry(
                f"LimitSpec({field}=)",
                call=lambda _, v, f=field, d=valid: rl.LimitSpec(**{**d, f: v}),
                values=EDGES,
            )
        )
    return out


# --------------------------------------------------------------------------- SQLite

_SQLITE_MADE = [0]


def _sqlite_path() -> str:
    import os

    from tests.fuzz.helpers import scratch_dir

    return os.path.join(scratch_dir(), "ratelimit-fuzz.db")


def _sqlite(name: str) -> Callable[[], Any]:
    """A SQLite limiter of ``name`` on a ManualClock, its own rows, key "k" seen twice."""
    from designpatterns_ref.ratelimit import sqlite as sq

    def make() -> Any:
        _SQLITE_MADE[0] += 1
        clock = ManualClock(1_000.0)
        options: dict[str, Any] = {"clock": clock, "name": f"fuzz-{_SQLITE_MADE[0]}"}
        cls = getattr(sq, name)
        if name in BUCKETS:
            limiter = cls(_sqlite_path(), 4, 1.0, 4, **options)
        elif name in WINDOWS:
            limiter = cls(_sqlite_path(), 4, 1.0, **options)
        else:
            limiter = cls(_sqlite_path(), 4, lease=1.0, **options)
        limiter.allow("k")
        limiter.allow("k")
        return limiter

    return make


def _sqlite_rows(limiter: Any) -> object:
    """What a SQLite limiter's refusal must leave alone: its rows in the file."""
    import sqlite3

    parts = getattr(limiter, "limiters", (limiter,))
    with contextlib.closing(sqlite3.connect(parts[0].path)) as conn:
        return [
            conn.execute(
                "SELECT key, state FROM ratelimit WHERE name = ? ORDER BY key", (p.name,)
            ).fetchall()
            for p in parts
        ]


def _sqlite_entries() -> list[Entry]:
    from designpatterns_ref.ratelimit import sqlite as sq

    out: list[Entry] = []
    for name in [*BUCKETS, *WINDOWS, "ConcurrencyLimiter"]:
        make = _sqlite(name)
        for entry in [
            *_entries_for_limiter(name, make, "sqlite."),
            *_acquire_entries(f"sqlite.{name}", make),
        ]:
            if ".hold(" not in entry.name:  # SQLite's concurrency cap has no hold
                out.append(Entry(entry.name, entry.call, entry.make, _sqlite_rows, entry.values))
        out += [
            Entry(f"sqlite.{name}.forget_idle()", call=lambda o, v: o.forget_idle(), make=make),
            Entry(f"sqlite.{name}.tracked_keys()", call=lambda o, v: o.tracked_keys(), make=make),
        ]
        cls = getattr(sq, name)
        if name == "ConcurrencyLimiter":
            base: dict[str, Any] = {"limit": 4, "lease": 1.0}
        else:
            base = {"rate": 4, "per": 1.0, **({"burst": 4} if name in BUCKETS else {})}
        for arg in ("path", *base, "clock", "name", "on_error", "busy_timeout"):
            valid = {"path": _sqlite_path(), **base}
            out.append(
                Entry(
                    f"sqlite.{name}({arg}=)",
                    call=lambda _, v, cls=cls, valid=valid, arg=arg: cls(**{**valid, arg: v}),
                    values=EDGES,
                )
            )

    def composite() -> Any:
        clock = ManualClock(7.0)
        return sq.all_of(
            sq.TokenBucket(_sqlite_path(), 4, clock=clock, name="fa"),
            sq.FixedWindow(_sqlite_path(), 3, clock=clock, name="fb"),
        )

    out += [
        Entry(e.name, e.call, e.make, _sqlite_rows, e.values)
        for e in [
            *_entries_for_limiter("SQLiteAllOf", composite, "sqlite."),
            *_acquire_entries("sqlite.SQLiteAllOf", composite),
        ]
    ]
    out += [
        Entry("sqlite.all_of(*limiters)", call=lambda _, v: sq.all_of(v)),
        Entry("sqlite.SQLiteAllOf(*limiters)", call=lambda _, v: sq.SQLiteAllOf(v)),
        Entry(
            "sqlite.limiter_from_text(path)",
            call=lambda _, v: sq.limiter_from_text(v, "1/second", "gcra"),
        ),
        Entry(
            "sqlite.limiter_from_text(text)",
            call=lambda _, v: sq.limiter_from_text(_sqlite_path(), v, "gcra"),
        ),
        Entry(
            "sqlite.limiter_from_text(algorithm)",
            call=lambda _, v: sq.limiter_from_text(_sqlite_path(), "1/second", v),
        ),
    ]
    return out


# --------------------------------------------------------------------------- Redis

_SERVER: list[Any] = []


def _redis_url() -> str:
    """The URL of a real redis-server started on first use, stopped at exit."""
    if not _SERVER:
        from designpatterns_ref.testing import redis_server

        manager = redis_server()
        server = manager.__enter__()
        atexit.register(manager.__exit__, None, None, None)
        _SERVER.append(server)
    return str(_SERVER[0].url)


_CLIENTS: dict[str, Any] = {}


def _client(kind: str = "sync") -> Any:
    if kind not in _CLIENTS:
        import redis
        import redis.asyncio

        module = redis.asyncio if kind == "async" else redis
        _CLIENTS[kind] = module.Redis.from_url(_redis_url(), socket_timeout=2)
    return _CLIENTS[kind]


def _redis_classes() -> dict[str, Any]:
    from designpatterns_ref.ratelimit import redis as rr

    return {name: getattr(rr, name) for name in (
        "TokenBucket", "GCRA", "LeakyBucket", "FixedWindow", "SlidingWindowLog",
        "SlidingWindowCounter", "ConcurrencyLimiter",
    )}  # fmt: skip


#: A fresh limiter name for every limiter made: no key left by an earlier call (expiring in
#: real time, or applied late by a loaded server after the call's deadline gave up on it) can
#: change between the snapshots around a refused call.
_NAMES = itertools.count()


def _remote(name: str) -> Callable[[], Any]:
    def make() -> Any:
        cls = _redis_classes()[name]
        clock = ManualClock(1_000.0)
        if name == "ConcurrencyLimiter":
            return cls(_client(), 4, lease=1.0, clock=clock, name=f"fuzz{next(_NAMES)}")
        return cls(_client(), 4, 1.0, clock=clock, name=f"fuzz{next(_NAMES)}")

    return make


class _Sync:
    """An asyncio limiter seen through synchronous calls (each runs on a fresh loop)."""

    def __init__(self, limiter: Any) -> None:
        self.limiter = limiter

    def allow(self, key: Any, cost: Any = 1) -> object:
        return asyncio.run(self._fresh(lambda lim: lim.allow(key, cost)))

    def peek(self, key: Any, cost: Any = 1) -> object:
        return asyncio.run(self._fresh(lambda lim: lim.peek(key, cost)))

    def reset(self, key: Any) -> object:
        return asyncio.run(self._fresh(lambda lim: lim.reset(key)))

    async def _fresh(self, step: Callable[[Any], Any]) -> object:
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(_redis_url(), socket_timeout=2)
        try:
            limiter = type(self.limiter)(client, 4, 1.0, name="fuzz-async")
            return await step(limiter)
        finally:
            await client.aclose()


def _redis_snapshot(limiter: Any) -> object:
    """What a Redis limiter's refusal must leave alone: its key's value on the server."""
    target = getattr(limiter, "limiter", limiter)
    return _client().dump(target.key_for("k")) if hasattr(target, "key_for") else None


def _redis_entries() -> list[Entry]:
    from designpatterns_ref.ratelimit import redis as rr

    out: list[Entry] = []
    for name, cls in _redis_classes().items():
        make = _remote(name)
        for entry in _entries_for_limiter(name, make, "redis."):
            out.append(Entry(entry.name, entry.call, entry.make, _redis_snapshot, entry.values))
        out.append(Entry(f"redis.{name}.key_for(key)", call=lambda o, v: o.key_for(v), make=make))
        if name == "ConcurrencyLimiter":
            base: dict[str, Any] = {"limit": 4, "lease": 1.0}
        else:
            base = {"rate": 4, "per": 1.0}
            if name in BUCKETS:
                base["burst"] = 4
        for arg in (*base, "clock", "prefix", "name", "on_error", "ttl_slack", "deadline"):
            out.append(
                Entry(
                    f"redis.{name}({arg}=)",
                    call=lambda _, v, cls=cls, base=base, arg=arg: cls(
                        _client(), **{**base, arg: v}
                    ),
                    values=EDGES,
                )
            )
        out.append(Entry(f"redis.{name}(client=)", call=lambda _, v, cls=cls: cls(v, 4)))
        out += [
            Entry(e.name, e.call, e.make, _redis_snapshot, e.values)
            for e in _acquire_entries(f"redis.{name}", make)
        ]

    def composite() -> Any:
        clock = ManualClock(7.0)
        return rr.all_of(
            rr.TokenBucket(_client(), 4, clock=clock, name=f"fa{next(_NAMES)}"),
            rr.FixedWindow(_client(), 3, clock=clock, name=f"fb{next(_NAMES)}"),
        )

    def composite_snapshot(limiter: Any) -> object:
        from tests.fuzz.test_fuzz import state_of

        parts = getattr(limiter, "limiters", ())
        return state_of(limiter), [_redis_snapshot(part) for part in parts]

    out += [
        Entry(e.name, e.call, e.make, composite_snapshot, e.values)
        for e in _entries_for_limiter("RedisAllOf", composite, "redis.")
    ]
    out += [
        Entry("redis.all_of(*limiters)", call=lambda _, v: rr.all_of(v)),
        Entry("redis.RedisAllOf(*limiters)", call=lambda _, v: rr.RedisAllOf(v)),
        Entry("redis.AsyncAllOf(*limiters)", call=lambda _, v: rr.AsyncAllOf(v)),
        Entry(
            "redis.limiter_from_text(text)",
            call=lambda _, v: rr.limiter_from_text(_client(), v, "gcra", name="fz"),
        ),
        Entry(
            "redis.limiter_from_text(algorithm)",
            call=lambda _, v: rr.limiter_from_text(_client(), "1/second", v, name="fz"),
        ),
    ]
    for name in ("AsyncTokenBucket", "AsyncSlidingWindowLog"):
        cls = getattr(rr, name)

        def make_async(cls: Any = cls) -> _Sync:
            return _Sync(cls(_client("async"), 4, 1.0, name="fuzz-async"))

        out += [
            Entry(f"redis.{name}.allow(key)", call=lambda o, v: o.allow(v), make=make_async),
            Entry(f"redis.{name}.allow(cost)", call=lambda o, v: o.allow("k", v), make=make_async),
            Entry(f"redis.{name}.reset(key)", call=lambda o, v: o.reset(v), make=make_async),
        ]
    return out


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


ENTRIES = [
    *_memory_entries(),
    *_notation_entries(),
    *_traffic_entries(),
    *_simulate_entries(),
    *_sqlite_entries(),
    *_redis_entries(),
]
