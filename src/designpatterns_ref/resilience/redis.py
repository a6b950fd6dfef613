"""A circuit breaker whose state lives in Redis, so every process sees one view of a dependency.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

With one in-memory breaker per process, fifty servers each need their own run of failures
before they stop calling a dead dependency, and each probes it on its own when half-open.
:class:`RedisCircuitBreaker` keeps the state machine of
:class:`~designpatterns_ref.resilience.CircuitBreaker` (count-based window, failure-rate and
slow-call-rate thresholds, minimum calls, wait in open, trial calls in half-open) in Redis:

- the state, its generation, the open time, the half-open permits and the window's totals in
  one hash ``prefix:{name}``, and the window's outcomes in a list ``prefix:{name}:window``
  (the ``{hash tag}`` keeps both in one Redis Cluster slot);
- one Lua script asks permission (and moves open to half-open after the wait, handing out
  exactly ``half_open_calls`` permits across all processes), another records an outcome and
  judges the window: two round trips per call, each atomic on the server;
- the half-open state records when it began, and once it has lasted ``max_wait_in_half_open``
  the next call (or outcome) opens the breaker again as of that moment: a process that dies
  holding a trial permit, which never reports back, cannot keep the shared breaker half-open
  (refusing everyone) for ever;
- time is the Redis server's (``TIME``) unless a ``clock`` is given, so servers with skewed
  clocks agree on when the wait is over.

Given the same outcomes in the same order, it takes the same decisions as the in-memory
breaker with ``window_type="count"`` (the tests replay both side by side). Only the count
window is offered: a time window would need every process's clock to agree.

Complexity: two round trips per call; O(1) work on the server per call.

Usage, with a Redis server at hand (the tests run it against a real one)::

    import redis
    breaker = RedisCircuitBreaker(redis.Redis(), name="payments", window_size=20,
                                  minimum_calls=10)
    breaker.call(lambda: "ok")   # 'ok', and every process sharing the name sees the window
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from designpatterns_ref.clock import Clock, read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.resilience.base import (
    CallNotPermitted,
    ResilienceError,
    ResilienceTypeError,
    awaitable_of,
    check_callable,
    decorate,
    discard,
    not_callable,
)
from designpatterns_ref.resilience.breaker import BreakerState, CircuitBreaker, StateChange
from designpatterns_ref.resilience.window import FAILED, SLOW

__all__ = ["RedisCircuitBreaker"]

T = TypeVar("T")

_STATES = (BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN)

_NOW = """
local function now_of(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1e6
end
local function num(x) return string.format('%.17g', x) end
-- half-open since max_wait ('' for never) or longer: open, as of the moment the wait ran out
local function expire(h, now, max_wait)
  if max_wait == '' then return false end
  local since = tonumber(redis.call('HGET', h, 'half_opened_at') or '0')
  local limit = tonumber(max_wait)
  if now - since < limit then return false end
  local gen = tonumber(redis.call('HGET', h, 'gen') or '0')
  redis.call('HSET', h, 'state', 1, 'gen', gen + 1, 'opened_at', num(since + limit),
             't_calls', 0, 't_fail', 0, 't_slow', 0)
  return true
end
"""

# KEYS: hash, list. ARGV: now ('' for server time), wait_in_open, half_open_calls,
# max_wait_in_half_open ('' for never).
# Returns {permitted 0/1, generation, state, changed}: changed is a bit set, 2 for half-open ->
# open (the half-open state had lasted max_wait_in_half_open), 1 for open -> half-open.
ACQUIRE = (
    _NOW
    + """
local h = KEYS[1]
local st = tonumber(redis.call('HGET', h, 'state') or '0')
local gen = tonumber(redis.call('HGET', h, 'gen') or '0')
local changed = 0
if st == 0 then return {1, gen, st, changed} end
local now = now_of(ARGV[1])
if st == 2 and expire(h, now, ARGV[4]) then
  st = 1
  gen = gen + 1
  changed = 2
end
if st == 1 then
  local opened = tonumber(redis.call('HGET', h, 'opened_at') or '0')
  if now - opened >= tonumber(ARGV[2]) then
    st = 2
    gen = gen + 1
    changed = changed + 1
    redis.call('HSET', h, 'state', 2, 'gen', gen, 'permits', ARGV[3], 'half_opened_at', num(now),
               't_calls', 0, 't_fail', 0, 't_slow', 0)
  end
end
if st == 0 then return {1, gen, st, changed} end
if st == 2 then
  local permits = tonumber(redis.call('HGET', h, 'permits') or '0')
  if permits > 0 then
    redis.call('HINCRBY', h, 'permits', -1)
    return {1, gen, st, changed}
  end
end
return {0, gen, st, changed}
"""
)

# KEYS: hash, list. ARGV: outcome, generation, now, window_size, minimum_calls,
# failure_rate_threshold, slow_call_rate_threshold, half_open_calls, max_wait_in_half_open.
# Returns {changed 0/1, new state, old state}. A half-open state that has lasted
# max_wait_in_half_open opens first (and the outcome, of an older generation, is dropped).
RECORD = (
    _NOW
    + """
local h, l = KEYS[1], KEYS[2]
local outcome = tonumber(ARGV[1])
local st = tonumber(redis.call('HGET', h, 'state') or '0')
if st == 2 and expire(h, now_of(ARGV[3]), ARGV[9]) then return {1, 1, 2} end
local gen = tonumber(redis.call('HGET', h, 'gen') or '0')
if tonumber(ARGV[2]) ~= gen then return {0, -1, st} end
local failed = outcome % 2
local slow = math.floor(outcome / 2)
local fthr, sthr = tonumber(ARGV[6]), tonumber(ARGV[7])
local function move(new)
  redis.call('HSET', h, 'state', new, 'gen', gen + 1, 'w_calls', 0, 'w_fail', 0, 'w_slow', 0,
             't_calls', 0, 't_fail', 0, 't_slow', 0)
  if new == 1 then redis.call('HSET', h, 'opened_at', num(now_of(ARGV[3]))) end
  redis.call('DEL', l)
  return {1, new, st}
end
if st == 0 then
  redis.call('RPUSH', l, outcome)
  local calls = redis.call('HINCRBY', h, 'w_calls', 1)
  local fails = redis.call('HINCRBY', h, 'w_fail', failed)
  local slows = redis.call('HINCRBY', h, 'w_slow', slow)
  if calls > tonumber(ARGV[4]) then
    local old = tonumber(redis.call('LPOP', l))
    calls = redis.call('HINCRBY', h, 'w_calls', -1)
    -- 0 - x, not -x: -0 would go to Redis as "-0", which Redis 7 refuses as an integer
    fails = redis.call('HINCRBY', h, 'w_fail', 0 - old % 2)
    slows = redis.call('HINCRBY', h, 'w_slow', 0 - math.floor(old / 2))
  end
  if calls >= tonumber(ARGV[5]) and (fails > 0 or slows > 0) then
    if fails * 100.0 / calls >= fthr or slows * 100.0 / calls >= sthr then return move(1) end
  end
  return {0, 0, 0}
end
if st == 2 then
  local n = redis.call('HINCRBY', h, 't_calls', 1)
  local f = redis.call('HINCRBY', h, 't_fail', failed)
  local s = redis.call('HINCRBY', h, 't_slow', slow)
  if n >= tonumber(ARGV[8]) then
    if f * 100.0 / n >= fthr or s * 100.0 / n >= sthr then return move(1) end
    return move(0)
  end
end
return {0, st, st}
"""
)

# KEYS: hash. ARGV: generation. An ignored outcome gives a half-open permit back.
RELEASE = """
local h = KEYS[1]
if tonumber(redis.call('HGET', h, 'gen') or '0') == tonumber(ARGV[1])
   and tonumber(redis.call('HGET', h, 'state') or '0') == 2 then
  redis.call('HINCRBY', h, 'permits', 1)
end
return 0
"""

# KEYS: hash, list. Back to closed with an empty window.
RESET = """
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
local st = tonumber(redis.call('HGET', KEYS[1], 'state') or '0')
redis.call('HSET', KEYS[1], 'state', 0, 'gen', gen + 1, 'w_calls', 0, 'w_fail', 0, 'w_slow', 0)
redis.call('DEL', KEYS[2])
return st
"""


class RedisCircuitBreaker:
    """A count-window circuit breaker whose state is shared through Redis.

    ``client`` is a ``redis.Redis`` (give it a ``socket_timeout``); the thresholds, the waits
    (``wait_in_open``, ``max_wait_in_half_open``) and the trial calls mean what they mean for
    :class:`~designpatterns_ref.resilience.CircuitBreaker`. Any number of
    instances, in any number of processes, with the same ``name`` share one breaker.
    """

    kind: ClassVar[str] = "breaker"

    def __init__(
        self,
        client: Any,
        *,
        name: str = "breaker",
        prefix: str = "dpref:breaker",
        failure_rate_threshold: float = 50.0,
        slow_call_rate_threshold: float = 100.0,
        slow_call_duration: float = 60.0,
        window_size: int = 100,
        minimum_calls: int = 100,
        wait_in_open: float = 60.0,
        half_open_calls: int = 10,
        max_wait_in_half_open: float = 60.0,
        record: type[BaseException] | tuple[type[BaseException], ...] = Exception,
        ignore: type[BaseException] | tuple[type[BaseException], ...] = (),
        clock: Clock | None = None,
    ) -> None:
        if not callable(getattr(client, "register_script", None)):
            raise ResilienceTypeError(
                f"RedisCircuitBreaker: client={shown(client, 60)} must be a redis.Redis client"
            )
        if not isinstance(prefix, str):
            raise ResilienceTypeError(
                f"RedisCircuitBreaker: prefix={shown(prefix, 60)} must be a str"
            )
        # the in-memory breaker checks every shared argument (and is the reference model)
        self.config = CircuitBreaker(
            failure_rate_threshold=failure_rate_threshold,
            slow_call_rate_threshold=slow_call_rate_threshold,
            slow_call_duration=slow_call_duration,
            window_size=window_size,
            minimum_calls=minimum_calls,
            wait_in_open=wait_in_open,
            half_open_calls=half_open_calls,
            max_wait_in_half_open=max_wait_in_half_open,
            record=record,
            ignore=ignore,
            name=name,
        )
        self.name = name
        self._clock: Clock | None = check_callable(
            "RedisCircuitBreaker", "clock", clock, allow_none=True
        )
        self._timer: Clock = clock if clock is not None else time.monotonic
        self.client = client
        self._keys = [f"{prefix}:{{{name}}}", f"{prefix}:{{{name}}}:window"]
        self._acquire = client.register_script(ACQUIRE)
        self._record = client.register_script(RECORD)
        self._release = client.register_script(RELEASE)
        self._reset = client.register_script(RESET)
        self._listeners: list[Callable[[StateChange], object]] = []

    def _now(self) -> str:
        if self._clock is None:
            return ""
        return repr(read_seconds(self._clock, ResilienceError, "RedisCircuitBreaker"))

    def _max_wait(self) -> str:
        limit = self.config.max_wait_in_half_open
        return "" if limit == float("inf") else repr(limit)

    @property
    def state(self) -> BreakerState:
        """The shared state, as stored (open stays open until a call arrives after the wait)."""
        raw = self.client.hget(self._keys[0], "state")
        return _STATES[int(raw or 0)]

    def add_listener(self, listener: Callable[[StateChange], object]) -> None:
        """Call ``listener(change)`` after every state change this instance makes."""
        self._listeners.append(check_callable("RedisCircuitBreaker", "listener", listener))

    def _notify(self, old: BreakerState, new: BreakerState) -> None:
        change = StateChange(self.name, old, new, self._timer(), None, None)
        for listener in list(self._listeners):
            listener(change)

    def reset(self) -> None:
        """Back to closed with an empty window, for every process."""
        old = _STATES[int(self._reset(keys=self._keys))]
        if old is not BreakerState.CLOSED:
            self._notify(old, BreakerState.CLOSED)

    def _permit(self) -> tuple[int, BreakerState]:
        c = self.config
        permitted, generation, state, changed = self._acquire(
            keys=self._keys,
            args=[self._now(), repr(c.wait_in_open), c.half_open_calls, self._max_wait()],
        )
        if int(changed) & 2:
            self._notify(BreakerState.HALF_OPEN, BreakerState.OPEN)
        if int(changed) & 1:
            self._notify(BreakerState.OPEN, BreakerState.HALF_OPEN)
        if not permitted:
            raise CallNotPermitted(
                f"circuit breaker {shown(self.name)} is {_STATES[int(state)].value}: call not "
                "permitted"
            )
        return int(generation), _STATES[int(state)]

    def _outcome(
        self, exc: BaseException | None, took: float, permit: tuple[int, BreakerState]
    ) -> None:
        generation, _ = permit
        c = self.config
        if exc is not None and (isinstance(exc, c.ignore) or not isinstance(exc, Exception)):
            self._release(keys=self._keys[:1], args=[generation])
            return
        outcome = FAILED if exc is not None and isinstance(exc, c.record) else 0
        if took > c.slow_call_duration:  # strictly, as the in-memory breaker
            outcome |= SLOW
        args = [
            outcome,
            generation,
            self._now(),
            c.window_size,
            c.minimum_calls,
            repr(c.failure_rate_threshold),
            repr(c.slow_call_rate_threshold),
            c.half_open_calls,
            self._max_wait(),
        ]
        changed, state, old = self._record(keys=self._keys, args=args)
        if changed:
            self._notify(_STATES[int(old)], _STATES[int(state)])

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` through the shared breaker."""
        if not callable(fn):  # refused before Redis is asked: nothing is recorded
            raise not_callable("RedisCircuitBreaker.call", fn)
        permit = self._permit()
        start = self._timer()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._outcome(exc, self._timer() - start, permit)
            raise
        self._outcome(None, self._timer() - start, permit)
        return result

    async def acall(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)`` through the shared breaker (the Redis calls block)."""
        awaitable = awaitable_of("RedisCircuitBreaker.acall", fn, args, kwargs)  # before Redis
        try:
            permit = self._permit()
        except BaseException:
            discard(awaitable)
            raise
        start = self._timer()
        try:
            result = await awaitable
        except BaseException as exc:
            self._outcome(exc, self._timer() - start, permit)
            raise
        self._outcome(None, self._timer() - start, permit)
        return result

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate a function or a coroutine function."""
        return decorate(self, "RedisCircuitBreaker", fn)

    def __repr__(self) -> str:
        return f"RedisCircuitBreaker(name={self.name!r}, key={self._keys[0]!r})"
