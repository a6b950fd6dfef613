"""The streaming family's errors, and the argument checks that raise them.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

Every class and function of the family checks its arguments with these before it changes
anything, and refuses bad input with a :class:`StreamingError` (a :class:`StreamingTypeError`
for a wrong type) naming the argument, the value and what is allowed; nothing is clamped or
coerced. Configuration and media numbers (:func:`check_number`) are finite and at most 1e15;
measurements of a session (:func:`check_measure`) may grow as large as a float. The shared
types built on them are in :mod:`~designpatterns_ref.streaming.base`, which exports every
name here too.

Complexity: O(1) a number, O(items) a list.

>>> check_int("rungs", 3, minimum=1)
3
>>> try:
...     check_number("bitrate_kbps", -5)
... except StreamingError as exc:
...     print(exc)
bitrate_kbps=-5 must be >= 0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "StreamingError",
    "StreamingTypeError",
    "check_int",
    "check_list",
    "check_measure",
    "check_number",
]

_LIMIT = 1e15  # larger values are typos or attacks, not networks or videos


class StreamingError(DesignPatternsError, ValueError):
    """Bad input to a streaming class or function; the message names the field and value."""

    __module__ = "designpatterns_ref.streaming.base"  # where it was defined first: pickles


class StreamingTypeError(StreamingError, TypeError):
    """An argument of the wrong type (still a :class:`StreamingError`)."""

    __module__ = "designpatterns_ref.streaming.base"


def check_number(
    name: str, value: object, *, minimum: float = 0.0, strict: bool = False, limit: float = _LIMIT
) -> float:
    """``value`` as a finite float ``>= minimum`` (``> minimum`` when ``strict``), else raise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StreamingTypeError(f"{name}={shown(value)} must be a number")
    if isinstance(value, int) and abs(value) > limit:
        raise StreamingError(f"{name}={shown(value)} is out of range (at most {limit:g})")
    number = float(value)
    if not math.isfinite(number) or abs(number) > limit:
        raise StreamingError(f"{name}={shown(value)} must be finite and at most {limit:g}")
    if number < minimum or (strict and number == minimum):
        rel = ">" if strict else ">="
        raise StreamingError(f"{name}={shown(value)} must be {rel} {minimum:g}")
    return number


def check_int(name: str, value: object, *, minimum: int = 0, maximum: int = 10**9) -> int:
    """``value`` as an int in ``[minimum, maximum]`` (bools refused), else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise StreamingTypeError(f"{name}={shown(value)} must be an integer")
    if not minimum <= value <= maximum:
        raise StreamingError(f"{name}={shown(value)} must be between {minimum} and {maximum}")
    return value


def _sequence(name: str, value: object) -> Sequence[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise StreamingTypeError(f"{name}={shown(value)} must be a list")
    return value


def check_list(name: str, value: object, *, min_len: int = 0, max_len: int = 10**7) -> list[Any]:
    """``value`` as a list (any sequence but str and bytes) of allowed length, else raise."""
    items = list(_sequence(name, value))
    if not min_len <= len(items) <= max_len:
        raise StreamingError(
            f"{name} has {len(items)} items; between {min_len} and {max_len} are allowed"
        )
    return items


def check_measure(name: str, value: object, *, positive: bool = False, inf: bool = False) -> float:
    """A measured time or rate: a float ``>= 0`` (``> 0`` when ``positive``; ``inf`` allowed
    only when ``inf``), else raise. Unlike :func:`check_number` no upper limit below a float's:
    a session's clock and a measured throughput may legitimately grow large."""
    if (  # the common case first: a float in range (NaN fails both comparisons)
        isinstance(value, float)
        and (value > 0.0 if positive else value >= 0.0)
        and (inf or value != math.inf)
    ):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StreamingTypeError(f"{name}={shown(value)} must be a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.nan  # an int beyond a float: refused below
    if not (number > 0.0 if positive else number >= 0.0) or (number == math.inf and not inf):
        rel = "> 0" if positive else ">= 0"
        allowed = f"a number {rel} (or inf)" if inf else f"a finite number {rel}"
        raise StreamingError(f"{name}={shown(value)} must be {allowed}")
    return number
