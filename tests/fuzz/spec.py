"""The fuzz suite's registration format: each family lists its public entry points.

A family joins the suite with one module, ``tests/fuzz/families/<family>.py``, defining:

- ``ERRORS``: the tuple of exception classes the family documents for bad input;
- ``ENTRIES``: a list of :class:`Entry`, one per public constructor, method or function.

For every entry and every hostile value, the suite makes a fresh object with ``make`` (or uses
``None`` for a constructor or a module function), takes ``snapshot(obj)``, runs
``call(obj, value)`` and then asserts: either the call succeeded, or it raised one of ``ERRORS``
and ``snapshot(obj)`` is unchanged. Any other exception (``TypeError``, ``OverflowError``,
``AttributeError``, ...) fails the test, naming the entry and the value.

>>> e = Entry("str.upper", call=lambda obj, v: str.upper(v))
>>> e.name
'str.upper'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One public entry point, called with one hostile value in the argument under test."""

    name: str
    call: Callable[[Any, Any], object]
    make: Callable[[], Any] | None = None
    snapshot: Callable[[Any], object] | None = None
    values: Sequence[Any] = field(default_factory=tuple)


class Opaque:
    """A hostile value of no expected type (an ``object()``) whose repr is the same in every
    process: tests that put hostile values in their ids need it, since pytest-xdist workers
    must collect the same ids."""

    def __repr__(self) -> str:
        return "Opaque()"
