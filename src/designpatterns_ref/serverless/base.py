"""The serverless family's error classes and the argument checks every module shares.

Case study: Design a Healthcare Patient Operations Platform (Serverless)
(docs/case-studies/healthcare-serverless.md)

Every public entry point checks its arguments before it changes anything, and refuses a bad one
with :class:`ServerlessError` (a ``ValueError``) or :class:`ServerlessTypeError` (also a
``TypeError``) naming the argument, the value and what is allowed.

>>> check_seconds("timeout", 3)
3.0
>>> check_seconds("timeout", -1)
Traceback (most recent call last):
...
designpatterns_ref.serverless.base.ServerlessError: timeout=-1 must be a finite number >= 0
"""

from __future__ import annotations

import json
import math
from typing import Any

from designpatterns_ref.errors import DesignPatternsError, shown

__all__ = [
    "ConditionFailed",
    "ServerlessError",
    "ServerlessTypeError",
    "ServerlessUnavailable",
    "check_count",
    "check_name",
    "check_payload",
    "check_seconds",
]


class ServerlessError(DesignPatternsError, ValueError):
    """A bad argument or a refused operation in the serverless model."""


class ServerlessTypeError(ServerlessError, TypeError):
    """An argument of the wrong type."""


class ServerlessUnavailable(ServerlessError):
    """A backend failed: a table's SQLite file stayed locked by another writer past the busy
    timeout, or could not be used (damaged, a full disk). Nothing was written."""


class ConditionFailed(ServerlessError):
    """A conditional write found the item in a state the condition refuses (nothing written)."""

    def __init__(self, message: str, existing: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.existing = existing


def check_seconds(
    name: str, value: object, *, positive: bool = False, high: float | None = None
) -> float:
    """``value`` as float seconds: a finite real number, >= 0 (> 0 when ``positive``), and at
    most ``high`` when given (SQS's limits, e.g. 12 hours for a visibility timeout)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ServerlessTypeError(f"{name}={shown(value)} must be a number of seconds")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    too_high = high is not None and seconds > high
    if not math.isfinite(seconds) or seconds < 0 or (positive and seconds == 0) or too_high:
        bound = "> 0" if positive else ">= 0"
        if high is not None:
            bound += f" and <= {high:g}"
        raise ServerlessError(f"{name}={shown(value)} must be a finite number {bound}")
    return seconds


def check_count(name: str, value: object, *, low: int = 1, high: int = 10**7) -> int:
    """``value`` as an int in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ServerlessTypeError(f"{name}={shown(value)} must be an int")
    if not low <= value <= high:
        raise ServerlessError(f"{name}={shown(value)} must be between {low} and {high}")
    return value


def check_name(name: str, value: object, *, max_len: int = 256) -> str:
    """A non-empty, encodable string of at most ``max_len`` characters."""
    if not isinstance(value, str):
        raise ServerlessTypeError(f"{name}={shown(value)} must be a string")
    if not value or len(value) > max_len:
        raise ServerlessError(f"{name}={shown(value)} must have 1 to {max_len} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ServerlessError(
            f"{name}={shown(value)} must be valid text (no lone surrogates)"
        ) from None
    return value


def check_payload(name: str, value: object, *, max_bytes: int = 256 * 1024) -> str:
    """``value`` (a JSON object) as canonical JSON text (ASCII, ``\\u`` escapes), at most
    ``max_bytes`` (SQS: 256 KiB) as its UTF-8 bytes, the size SQS and DynamoDB count (the
    escaped text takes up to three times as many for text outside ASCII). Its strings and keys
    must be valid text, as names must: a lone surrogate is refused (the escaped text would hide
    it, and JSON readers would turn two halves into one astral character)."""
    if not isinstance(value, dict):
        raise ServerlessTypeError(f"{name}={shown(value)} must be a dict (a JSON object)")
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ServerlessError(f"{name}={shown(value)} is not JSON: {exc}") from None
    size = len(text)  # ASCII: one byte a character, when nothing is escaped as \\u
    if "\\u" in text:  # text outside ASCII (or a lone surrogate half): measure it as UTF-8
        try:
            size = len(
                json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
                    "utf-8"
                )
            )
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start : exc.end]
            raise ServerlessError(
                f"{name}={shown(value)} must be valid text: it holds the lone surrogate "
                f"{shown(bad)}"
            ) from None
    if size > max_bytes:
        raise ServerlessError(f"{name} is {size} bytes; at most {max_bytes} allowed")
    return text
