"""What the limiters whose state lives in a shared store (Redis, SQLite) share: failure policy.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

When the store cannot be reached, ``on_error`` decides: ``"deny"`` (fail closed: protect the
backend, refuse everyone, telling them to come back in :data:`FAIL_CLOSED_RETRY` seconds),
``"allow"`` (fail open: keep serving, unlimited) or ``"raise"`` (:class:`BackendUnavailable`;
the caller decides).

>>> fallback("deny", 5, ConnectionError("down"), "Redis").retry_after
1.0
"""

from __future__ import annotations

from typing import Literal

from designpatterns_ref.errors import DesignPatternsError, shown
from designpatterns_ref.ratelimit.base import Decision, RateLimitError

__all__ = ["FAIL_CLOSED_RETRY", "BackendUnavailable", "OnError", "check_on_error", "fallback"]

OnError = Literal["deny", "allow", "raise"]

#: Seconds a fail-closed decision tells the client to wait.
FAIL_CLOSED_RETRY = 1.0


class BackendUnavailable(DesignPatternsError, ConnectionError):
    """The shared store (Redis, SQLite) could not be reached and the limiter was built with
    ``on_error="raise"``."""


def check_on_error(owner: str, on_error: object) -> OnError:
    """``on_error`` itself, or RateLimitError unless it is "deny", "allow" or "raise"."""
    if on_error == "deny" or on_error == "allow" or on_error == "raise":
        return on_error
    raise RateLimitError(
        f"{owner}: on_error={shown(on_error, 80)} must be 'deny', 'allow' or 'raise'"
    )


def fallback(on_error: OnError, limit: int, exc: BaseException, store: str) -> Decision:
    """The decision when the store failed with ``exc``: raise, admit or refuse per ``on_error``."""
    if on_error == "raise":
        raise BackendUnavailable(f"{store} unreachable: {exc}") from exc
    if on_error == "allow":
        return Decision(True, limit, 0, 0.0, 0.0, 0.0)
    return Decision(False, limit, 0, FAIL_CLOSED_RETRY, FAIL_CLOSED_RETRY, 0.0)
