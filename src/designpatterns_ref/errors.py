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

A message shows the caller's value with :func:`shown`, never a bare ``{value!r}``: Python
refuses to print an int of more than 4,300 digits (``repr(10**5000)`` raises ``ValueError``), so
a hostile value would make the error path itself fail with the wrong exception.
"""

from __future__ import annotations

import math

__all__ = ["SHOWN_LIMIT", "DesignPatternsError", "InvalidArgument", "NotFound", "shown"]


class DesignPatternsError(Exception):
    """Base class of every exception the library raises on purpose."""


class InvalidArgument(DesignPatternsError, ValueError):
    """An argument has a value outside what is allowed (the message says what is)."""


class NotFound(DesignPatternsError, LookupError):
    """A named thing (a case study, a key, a code) does not exist."""


#: The longest text :func:`shown` returns by default: a message names the value, it does not
#: reproduce a 100,000-character string.
SHOWN_LIMIT = 200


def shown(value: object, limit: int = SHOWN_LIMIT) -> str:
    """``repr(value)`` for an error message, made safe for any value and cut to ``limit``.

    Most values print exactly as ``repr`` prints them. Two cases differ:

    - An int too long for Python to print (over 4,300 digits; ``repr`` raises ``ValueError``)
      becomes a stand-in giving its size, estimated from ``bit_length`` (``str`` of it is the
      very thing that fails), also inside a list, tuple, dict, set or frozenset. Any other value
      whose ``repr`` fails shows as ``<TypeName object>``.
    - A text longer than ``limit`` characters keeps its first ``limit - 3`` and ends with
      ``...``, so the result is never longer than ``limit``.

    >>> shown(42), shown("a"), shown(True), shown([1.5, None])
    ('42', "'a'", 'True', '[1.5, None]')
    >>> shown(10**5000)
    '<int of about 5001 digits>'
    >>> shown({"n": [-(10**5000)]})
    "{'n': [<negative int of about 5001 digits>]}"
    >>> shown("x" * 100_000, limit=12)
    "'xxxxxxxx..."
    """
    text = _repr(value, frozenset(), limit)
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..." if limit >= 3 else text[: max(limit, 0)]


def _repr(value: object, seen: frozenset[int], budget: int) -> str:
    """``repr(value)``, or a stand-in built by hand when repr fails; a hand-built container
    stops once its text passes ``budget`` characters (the rest would be cut anyway)."""
    try:
        return repr(value)
    except Exception:  # an error message must not fail: too many digits, a hostile __repr__
        pass
    if isinstance(value, int):  # int methods, not the value's own: it may be a hostile subclass
        sign = "negative " if int.__lt__(value, 0) else ""
        digits = math.floor(int.bit_length(value) * math.log10(2)) + 1
        return f"<{sign}{type(value).__name__} of about {digits} digits>"
    if id(value) in seen:
        return "[...]"  # a container inside itself, as repr shows it
    brackets = _BRACKETS.get(type(value))
    if brackets is None or not isinstance(value, dict | list | tuple | set | frozenset):
        return f"<{type(value).__name__} object>"
    seen = seen | {id(value)}
    parts: list[str] = []
    used = 0
    for item in value.items() if isinstance(value, dict) else value:
        if used > budget:
            parts.append("...")
            break
        if isinstance(value, dict):
            key, val = item
            parts.append(f"{_repr(key, seen, budget)}: {_repr(val, seen, budget)}")
        else:
            parts.append(_repr(item, seen, budget))
        used += len(parts[-1]) + 2
    opening, closing = brackets
    if isinstance(value, tuple) and len(value) == 1:
        closing = ",)"
    return opening + ", ".join(parts) + closing


_BRACKETS: dict[type, tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    dict: ("{", "}"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
}
