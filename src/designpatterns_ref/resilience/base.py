"""The shared pieces of every guard: errors, argument checks, and the Guard protocol.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

Every guard (:class:`~designpatterns_ref.resilience.CircuitBreaker`,
:class:`~designpatterns_ref.resilience.Retry`, :class:`~designpatterns_ref.resilience.Bulkhead`,
:class:`~designpatterns_ref.resilience.Timeout`, :class:`~designpatterns_ref.resilience.Fallback`,
:class:`~designpatterns_ref.resilience.Hedge`) answers the same three calls, so guards swap and
stack in one line:

- ``guard.call(fn, *args, **kwargs)``: run ``fn`` under the guard, in this thread;
- ``await guard.acall(fn, *args, **kwargs)``: the same for a coroutine function (a ``fn``
  that returns something that cannot be awaited is refused, see :func:`awaitable_of`);
- ``@guard``: a decorator that picks one of the two by the function's kind.

Two kinds of error live here. :class:`ResilienceError` (a ``ValueError``, with
:class:`ResilienceTypeError` for wrong types) means a guard was built or called with a bad
argument: the message names the argument, its value and what is allowed, and nothing changed.
:class:`ResilienceFailure` (a ``RuntimeError``) is a guard doing its job: a breaker refusing a
call (:class:`CallNotPermitted`), a full bulkhead (:class:`BulkheadFull`), a call cut short
(:class:`CallTimeout`, also a ``TimeoutError``).

Complexity: the checks are O(1) and run once, at construction.

>>> check_seconds("Retry", "wait", 0.5)
0.5
>>> check_seconds("Retry", "wait", -1)
Traceback (most recent call last):
...
designpatterns_ref.resilience.base.ResilienceError: Retry: wait=-1 must be a finite ...
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "BulkheadFull",
    "CallNotPermitted",
    "CallTimeout",
    "Guard",
    "ResilienceError",
    "ResilienceFailure",
    "ResilienceTypeError",
    "awaitable_of",
    "check_address",
    "check_callable",
    "check_exceptions",
    "check_int",
    "check_int_seed",
    "check_percent",
    "check_seconds",
    "count_value",
    "discard",
    "not_callable",
]

T = TypeVar("T")


class ResilienceError(DesignPatternsError, ValueError):
    """A guard was given a bad argument (the message names it, its value and what is allowed)."""


class ResilienceTypeError(ResilienceError, TypeError):
    """A guard was given an argument of the wrong type."""


class ResilienceFailure(DesignPatternsError, RuntimeError):
    """A guard refused or cut short a call: the guard doing its job, not a bad argument."""


class CallNotPermitted(ResilienceFailure):
    """The circuit breaker is open (or half-open with every trial call taken): fail fast."""


class BulkheadFull(ResilienceFailure):
    """The bulkhead's concurrent slots and its waiting queue are full: fail fast."""


class CallTimeout(ResilienceFailure, TimeoutError):
    """The call did not finish within its time limit."""


@runtime_checkable
class Guard(Protocol):
    """What every guard answers: ``call``, ``acall`` and use as a decorator."""

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...

    async def acall(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T: ...


def count_value(counter: itertools.count[int]) -> int:
    """The next value an ``itertools.count`` will return, without advancing it.

    The guards count their fast paths with ``next(counter)``, which is atomic under the GIL
    and far cheaper than taking a lock; this reads the total back (from the counter's repr).
    """
    return int(repr(counter)[6:-1])


def check_seconds(
    owner: str,
    name: str,
    value: object,
    *,
    positive: bool = False,
    allow_inf: bool = False,
    allow_none: bool = False,
) -> Any:
    """``value`` as a float of seconds (``>= 0``, or ``> 0`` when ``positive``), else refuse."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResilienceTypeError(
            f"{owner}: {name}={shown(value)} must be a number of seconds (int or float)"
        )
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.nan
    bound = "> 0" if positive else ">= 0"
    what = "a number of seconds" if allow_inf else "a finite number of seconds"
    if math.isnan(seconds) or (math.isinf(seconds) and not (allow_inf and seconds > 0)):
        raise ResilienceError(f"{owner}: {name}={shown(value)} must be {what} {bound}")
    if seconds < 0 or (positive and seconds == 0):
        raise ResilienceError(f"{owner}: {name}={shown(value)} must be {what} {bound}")
    return seconds


def check_int(owner: str, name: str, value: object, *, minimum: int, maximum: int = 10**9) -> int:
    """``value`` as an int within ``[minimum, maximum]``, else refuse (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ResilienceTypeError(f"{owner}: {name}={shown(value)} must be an int")
    if not minimum <= value <= maximum:
        raise ResilienceError(
            f"{owner}: {name}={shown(value)} must be an int within [{minimum}, {maximum}]"
        )
    return value


def check_percent(owner: str, name: str, value: object) -> float:
    """``value`` as a percentage within ``(0, 100]``, else refuse."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResilienceTypeError(f"{owner}: {name}={shown(value)} must be a number")
    try:
        pct = float(value)
    except OverflowError:
        pct = math.nan
    if not 0 < pct <= 100:
        raise ResilienceError(f"{owner}: {name}={shown(value)} must be a percentage in (0, 100]")
    return pct


def check_exceptions(owner: str, name: str, value: object) -> tuple[type[BaseException], ...]:
    """``value`` as a tuple of exception classes (one class is accepted too), else refuse."""
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise ResilienceTypeError(
                f"{owner}: {name}={shown(value)} must be an exception class or a tuple of them"
            )
    return tuple(items)


def not_callable(owner: str, fn: object) -> ResilienceTypeError:
    """The error for a guarded "function" that cannot be called."""
    return ResilienceTypeError(f"{owner}: fn={shown(fn)} must be callable")


def awaitable_of(
    owner: str, fn: Callable[..., Awaitable[T]], args: Any, kwargs: Any
) -> Awaitable[T]:
    """``fn(*args, **kwargs)`` for an ``acall``, checked before the guard takes a permit,
    a slot, a budget token or an outcome: a ``fn`` that is not callable, or that returns
    something that cannot be awaited (a plain function given to ``acall``), is refused with
    :class:`ResilienceTypeError` and the guard is left as it was.

    Calling a coroutine function runs none of its body, so the guard still decides whether it
    runs: a refused call drops the awaitable with :func:`discard`. An exception that ``fn``
    raises as it is called is the call's outcome, as if raised when awaited.

    >>> import asyncio
    >>> async def ping():
    ...     return "pong"
    >>> asyncio.run(awaitable_of("Guard.acall", ping, (), {}))
    'pong'
    >>> awaitable_of("Guard.acall", lambda: 1, (), {})
    Traceback (most recent call last):
    ...
    designpatterns_ref.resilience.base.ResilienceTypeError: Guard.acall: fn=<function <lambda> ...
    """
    if not callable(fn):
        raise not_callable(owner, fn)
    try:
        made = fn(*args, **kwargs)
    except Exception as exc:  # the dependency's failure (or a bad argument): the call's outcome
        return _raising(exc)
    if not inspect.isawaitable(made):
        raise ResilienceTypeError(
            f"{owner}: fn={shown(fn)} returned {shown(made)}, which cannot be awaited "
            "(acall takes a coroutine function; use call for a plain one)"
        )
    return made


async def _raising(exc: Exception) -> Any:
    raise exc


def discard(awaitable: object) -> None:
    """Drop an awaitable that will never be awaited: close a coroutine (none of its body
    runs, and no "never awaited" warning) or cancel a future or task."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    elif hasattr(awaitable, "cancel") and hasattr(awaitable, "done"):  # a Future or a Task
        awaitable.cancel()


def check_int_seed(owner: str, value: object) -> int:
    """A seed: an int (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ResilienceTypeError(f"{owner}: seed={shown(value)} must be an int")
    return value


def check_address(owner: str, name: str, host: object, port: object) -> tuple[str, int]:
    """A loopback-style ``(host, port)``: a non-empty str and an int port in [0, 65535]."""
    if not isinstance(host, str) or not host or "\x00" in host or len(host) > 255:
        raise ResilienceTypeError(f"{owner}: {name} host={shown(host)} must be a host name")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ResilienceError(f"{owner}: {name} port={shown(port)} must be an int in [0, 65535]")
    return host, port


def decorate(guard: Any, owner: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``fn`` so each call goes through ``guard.call`` (``guard.acall`` for a coroutine
    function): what every guard's ``__call__`` does when it is used as a decorator."""
    check_callable(owner, "fn", fn)
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_guarded(*args: Any, **kwargs: Any) -> Any:
            return await guard.acall(fn, *args, **kwargs)

        return async_guarded

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        return guard.call(fn, *args, **kwargs)

    return guarded


def check_callable(owner: str, name: str, value: object, *, allow_none: bool = False) -> Any:
    """``value`` if it is callable (or None when allowed), else refuse."""
    if value is None and allow_none:
        return None
    if not callable(value):
        raise ResilienceTypeError(f"{owner}: {name}={shown(value)} must be callable")
    return value
