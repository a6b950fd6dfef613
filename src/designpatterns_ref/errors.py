"""The library's exception base classes.

Every family raises its own subclass of :class:`DesignPatternsError` that is also a
``ValueError`` (bad values) or a ``TypeError`` (bad types), so callers may catch the family's
error, the library's base, or the built-in they already know. Messages name the field, the
value and what is allowed; a call that raises leaves the object exactly as it was.

>>> class RateLimitError(DesignPatternsError, ValueError):
...     pass
>>> try:
...     raise RateLimitError("rate=-1 must be positive")
... except ValueError as exc:
...     print(type(exc).__name__, exc)
RateLimitError rate=-1 must be positive
"""

from __future__ import annotations

__all__ = ["DesignPatternsError", "InvalidArgument", "NotFound"]


class DesignPatternsError(Exception):
    """Base class of every exception the library raises on purpose."""


class InvalidArgument(DesignPatternsError, ValueError):
    """An argument has a value outside what is allowed (the message says what is)."""


class NotFound(DesignPatternsError, LookupError):
    """A named thing (a case study, a key, a code) does not exist."""
