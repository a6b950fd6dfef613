"""Fallback: when a call fails, answer with something else instead of an error.

Case study: Netflix's Chaos Engineering (docs/case-studies/netflix-chaos.md)

Netflix's answer to "the recommendations service is down" is not an error page but a
generic row of popular titles: a degraded answer the user barely notices. A
:class:`Fallback` runs the call and, on a stated failure (``on``, by default every
``Exception``, which includes a breaker's :class:`CallNotPermitted`, a full bulkhead and a
timeout), returns ``handler(error)`` instead. The handler may return a static default, a
cached value or the answer of a second source; it must not call the failing dependency again.

Trade-off: a fallback hides the failure from the user and from the caller's own metrics; count
its uses (:attr:`Fallback.used`) and alert on them, or an outage goes unnoticed. It is the
outermost guard: it should see what every other guard finally gave up on.

Complexity: O(1) per call.

>>> fallback = Fallback(lambda error: "popular titles")
>>> def recommendations():
...     raise ConnectionError("recommendations service down")
>>> fallback.call(recommendations), fallback.used
('popular titles', 1)
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from designpatterns_ref.resilience.base import (
    awaitable_of,
    check_callable,
    check_exceptions,
    decorate,
    not_callable,
)

__all__ = ["Fallback"]

T = TypeVar("T")


class Fallback:
    """Return ``handler(error)`` when the call raises one of ``on``."""

    kind: ClassVar[str] = "fallback"

    def __init__(
        self,
        handler: Callable[[BaseException], Any],
        *,
        on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    ) -> None:
        self.handler = check_callable("Fallback", "handler", handler)
        self.on = check_exceptions("Fallback", "on", on)
        self._lock = threading.Lock()
        self.used = 0  # how many calls were answered by the handler

    def _use(self, error: BaseException) -> Any:
        with self._lock:
            self.used += 1
        return self.handler(error)

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, or the handler's answer when it fails."""
        if not callable(fn):
            raise not_callable("Fallback.call", fn)
        try:
            return fn(*args, **kwargs)
        except self.on as error:
            return self._use(error)  # type: ignore[no-any-return]

    async def acall(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)``, or the handler's answer (awaited if awaitable)."""
        awaitable = awaitable_of("Fallback.acall", fn, args, kwargs)  # a mistake gets no fallback
        try:
            return await awaitable
        except self.on as error:
            answer = self._use(error)
            if inspect.isawaitable(answer):
                answer = await answer
            return answer  # type: ignore[no-any-return]

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate a function or a coroutine function."""
        return decorate(self, "Fallback", fn)

    def __repr__(self) -> str:
        return f"Fallback(on={tuple(e.__name__ for e in self.on)}, used={self.used})"
