"""Hostile input at every registered public entry point: only documented errors, no change.

Families register in ``tests/fuzz/families/<family>.py`` (see :mod:`tests.fuzz.spec`).
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import families
from tests.fuzz.spec import Entry

HOSTILE: tuple[Any, ...] = (
    None, True, False, 0, -1, -0.0, 0.5, 1.5, -2.5, math.nan, math.inf, -math.inf,
    10**400, -(10**400), 2**63, 2**64, -(2**63) - 1, "", " ", "x" * 100_000, "\ud800",
    "a\x00b", "é", b"bytes", [], [1, 2], {}, {"a": 1}, (), object(), 1j,
)  # fmt: skip

hostile_values = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(),
    st.floats(),
    st.text(max_size=50),
    st.binary(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.none(),
    st.booleans(),
)


def _registered() -> list[tuple[str, tuple[type[BaseException], ...], Entry]]:
    found = []
    for info in pkgutil.iter_modules(families.__path__):
        module = importlib.import_module(f"{families.__name__}.{info.name}")
        for entry in module.ENTRIES:
            found.append((info.name, tuple(module.ERRORS), entry))
    return found


REGISTERED = _registered()
_LOCKS = (type(threading.Lock()), type(threading.RLock()), threading.Condition)


def state_of(obj: Any, depth: int = 0, seen: set[int] | None = None) -> Any:
    """A comparable dump of an object's state: attributes and containers, recursively."""
    seen = set() if seen is None else seen
    if obj is None or isinstance(obj, bool | int | float | complex | str | bytes):
        return repr(obj)  # repr: nan compares equal to itself
    if depth > 8 or id(obj) in seen:
        return f"<{type(obj).__name__}>"
    if isinstance(obj, _LOCKS) or (callable(obj) and not hasattr(obj, "__dict__")):
        return f"<{type(obj).__name__}>"
    seen = seen | {id(obj)}
    if isinstance(obj, Mapping):
        return sorted(
            ((state_of(k, depth + 1, seen), state_of(v, depth + 1, seen)) for k, v in obj.items()),
            key=repr,
        )
    if isinstance(obj, set | frozenset):
        return sorted((state_of(x, depth + 1, seen) for x in obj), key=repr)
    if isinstance(obj, list | tuple | deque):
        return [state_of(x, depth + 1, seen) for x in obj]
    attrs: dict[str, Any] = {}
    for klass in type(obj).__mro__:
        for name in getattr(klass, "__slots__", ()):
            if hasattr(obj, name):
                attrs[name] = getattr(obj, name)
    attrs.update(getattr(obj, "__dict__", {}))
    return (
        type(obj).__name__,
        [(name, state_of(value, depth + 1, seen)) for name, value in sorted(attrs.items())],
    )


def _try(errors: tuple[type[BaseException], ...], entry: Entry, value: Any) -> str | None:
    """Run one call; return a description of the failure, or None when the contract held."""
    obj = entry.make() if entry.make is not None else None
    snap = entry.snapshot or state_of
    before = snap(obj)
    try:
        entry.call(obj, value)
    except errors:
        if snap(obj) != before:
            return f"{entry.name}({value!r:.60}): refused but changed the object"
        return None
    except Exception as exc:
        return f"{entry.name}({value!r:.60}): {type(exc).__name__}: {exc!s:.200}"
    return None


IDS = [f"{family}:{entry.name}" for family, _, entry in REGISTERED]


@pytest.mark.parametrize(("family", "errors", "entry"), REGISTERED, ids=IDS)
def test_hostile_values(family: str, errors: tuple[type[BaseException], ...], entry: Entry) -> None:
    failures = [f for v in (*HOSTILE, *entry.values) if (f := _try(errors, entry, v))]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("family", "errors", "entry"), REGISTERED, ids=IDS)
@given(value=hostile_values)
def test_generated_values(
    family: str, errors: tuple[type[BaseException], ...], entry: Entry, value: Any
) -> None:
    failure = _try(errors, entry, value)
    assert failure is None, failure


def test_registry_is_not_empty() -> None:
    assert REGISTERED, "no family registered in tests/fuzz/families"
