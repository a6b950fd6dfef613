"""Composition: stack the guards in one line, in the one order that makes sense.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

``compose(Retry(...), CircuitBreaker(...), Bulkhead(8), Timeout(1.0))`` returns one guard that
runs a call through all of them. The guards are put in this order whatever order they are
given in, outermost first. Breaker, bulkhead, timeout and fallback sit as in Hystrix (a command
checks its circuit, then takes a thread-pool or semaphore slot, then times the run, and its
fallback answers for all of them); the retry sits outside the breaker as in resilience4j's
default aspect order. The whole order is ours, not resilience4j's: that one,
``Retry(CircuitBreaker(RateLimiter(TimeLimiter(Bulkhead(fn)))))``, puts the time limit outside
the bulkhead, so its timeout also counts the wait for a slot.

1. **Fallback**, outermost: it answers for whatever the guards below finally give up on,
   including a breaker's refusal.
2. **Retry**, outside the breaker: every attempt asks the breaker again, so once it opens the
   remaining retries fail fast instead of hammering a dependency that is down (a breaker
   outside the retry would count one failure per *call*, however many attempts it made).
3. **CircuitBreaker**: judges each attempt, and refuses at once when open, before a slot or a
   thread is spent.
4. **Hedge**: a second copy of a slow attempt; each copy still takes its own slot below.
5. **Bulkhead**: caps the calls actually in flight.
6. **Timeout**, innermost, inside the bulkhead: it bounds the one thing that can hang, the call
   itself, so that a timed-out attempt is a failure the breaker counts and the retry may
   repeat. The wait for a slot is not part of it: the bulkhead bounds that with its own
   ``max_wait`` and refuses with ``BulkheadFull``, so a ``CallTimeout`` always means a slow
   dependency, never a long queue. The cost: a caller may wait ``max_wait`` plus the timeout,
   and with ``Timeout(mode="thread")`` the slot is given back when the timeout gives up while
   the abandoned worker runs on, so the bulkhead caps the calls being waited for, not the work
   still running (``max_workers`` caps that).

Nonsense is refused with :class:`ResilienceError`: something that is not a guard, two guards
of the same kind, and a timeout longer than the retry's deadline (it could never fire).

Complexity: O(number of guards) per call; each guard adds its own cost (see the benchmarks).

>>> from designpatterns_ref.resilience import Bulkhead, CircuitBreaker, Retry, Timeout
>>> stack = compose(Timeout(1.0), Bulkhead(4), CircuitBreaker(), Retry(attempts=2))
>>> stack.describe()
['Retry', 'CircuitBreaker', 'Bulkhead', 'Timeout']
>>> stack.call(lambda x: x + 1, 41)
42
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from designpatterns_ref.errors import shown
from designpatterns_ref.resilience.base import (
    ResilienceError,
    ResilienceTypeError,
    awaitable_of,
    decorate,
    discard,
    not_callable,
)

__all__ = ["ORDER", "Stack", "compose"]

T = TypeVar("T")

#: Guard kinds, outermost first.
ORDER: tuple[str, ...] = ("fallback", "retry", "breaker", "hedge", "bulkhead", "timeout")


class Stack:
    """Guards applied outermost first; build it with :func:`compose`."""

    kind = "stack"

    def __init__(self, guards: tuple[Any, ...]) -> None:
        self.guards = guards
        self._outer_call = guards[0].call
        self._chain = tuple(g.call for g in guards[1:])
        self._outer_acall = guards[0].acall
        self._achain = tuple(g.acall for g in guards[1:])

    def describe(self) -> list[str]:
        """The guards' class names, outermost first."""
        return [type(g).__name__ for g in self.guards]

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` through every guard."""
        if not callable(fn):
            raise not_callable("Stack.call", fn)
        # guard_1.call(guard_2.call, ..., fn, *args): each guard calls the next with the rest
        return self._outer_call(*self._chain, fn, *args, **kwargs)  # type: ignore[no-any-return]

    async def acall(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)`` through every guard.

        ``fn``'s first awaitable is made and checked here, before any guard acts, and handed
        to the innermost guard; a retry or a hedge inside makes fresh ones.
        """
        pending = [awaitable_of("Stack.acall", fn, args, kwargs)]

        def again() -> Awaitable[Any]:
            return pending.pop() if pending else awaitable_of("Stack.acall", fn, args, kwargs)

        try:
            return await self._outer_acall(*self._achain, again)  # type: ignore[no-any-return]
        finally:
            for awaitable in pending:  # a guard refused the call before it was made
                discard(awaitable)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate a function or a coroutine function."""
        return decorate(self, "Stack", fn)

    def __repr__(self) -> str:
        return "compose(" + ", ".join(repr(g) for g in self.guards) + ")"


def compose(*guards: Any) -> Stack:
    """One guard made of ``guards``, put in the order of :data:`ORDER` (outermost first)."""
    if not guards:
        raise ResilienceError("compose: needs at least one guard")
    seen: dict[str, Any] = {}
    for guard in guards:
        kind = getattr(type(guard), "kind", None)
        if kind not in ORDER:
            raise ResilienceTypeError(
                f"compose: {shown(guard, 60)} is not a guard (Retry, CircuitBreaker, Bulkhead, "
                "Timeout, Fallback, Hedge)"
            )
        if kind in seen:
            raise ResilienceError(
                f"compose: two {kind} guards ({shown(seen[kind], 40)} and {shown(guard, 40)}); "
                "give each kind once"
            )
        seen[kind] = guard
    retry, timeout = seen.get("retry"), seen.get("timeout")
    deadline = retry.deadline if retry is not None else None
    if timeout is not None and deadline is not None and timeout.seconds > deadline:
        raise ResilienceError(
            f"compose: the timeout ({timeout.seconds:g}s) is longer than the retry "
            f"deadline ({deadline:g}s), so it could never fire; shorten it"
        )
    ordered = tuple(seen[kind] for kind in ORDER if kind in seen)
    return Stack(ordered)
