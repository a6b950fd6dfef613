"""Hostile input at every registered public entry point: only documented errors, no change.

Families register in ``tests/fuzz/families/<family>.py`` (see :mod:`tests.fuzz.spec`).

Besides the contract (only ``ERRORS``, the object unchanged by a refusal), every call must
finish within :data:`CALL_SECONDS` (a watchdog turns unbounded work into a failure instead of a
hung suite) and a refusal must say something (an empty message names nothing). Each entry meets
every value of ``HOSTILE`` and :data:`EXAMPLES` generated values (15; set
``DPREF_FUZZ_EXAMPLES`` for a deeper run).
"""

from __future__ import annotations

import importlib
import math
import os
import pkgutil
import signal
import sys
import threading
import types
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.errors import DesignPatternsError
from tests.fuzz import families
from tests.fuzz.helpers import in_scratch_dir
from tests.fuzz.spec import Entry

#: The longest one call may take, in seconds, before the watchdog fails it.
CALL_SECONDS = float(os.environ.get("DPREF_FUZZ_CALL_SECONDS", "10"))

HOSTILE: tuple[Any, ...] = (
    None, True, False, 0, -1, -0.0, 0.5, 1.5, -2.5, math.nan, math.inf, -math.inf,
    10**400, -(10**400), 2**63, 2**64, -(2**63) - 1, "", " ", "x" * 100_000, "\ud800",
    "a\x00b", "é", b"bytes", [], [1, 2], {}, {"a": 1}, (), object(), 1j,
    # Ints Python refuses to print (over 4,300 digits): an error message must not repr them.
    10**5000, -(10**5000), [10**5000],
)  # fmt: skip

# Text including lone surrogates (category Cs), which st.text() leaves out by default.
_any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=50)

hostile_values = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**70).flatmap(lambda n: st.sampled_from([n, -n])),
    st.sampled_from([10**400, -(10**4000), 2**1024, 2**53 + 1, 10**5000, -(10**5000)]),
    st.floats(),
    st.floats(allow_subnormal=True, min_value=-1e-300, max_value=1e-300),
    _any_text,
    st.binary(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.lists(_any_text, max_size=3),
    st.tuples(st.floats(), st.floats()),
    st.dictionaries(_any_text, st.integers() | _any_text, max_size=3),
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
    if obj is None or isinstance(obj, bool | int | str | bytes):
        return (type(obj).__name__, obj)  # no repr: an int may have too many digits for one
    if isinstance(obj, float | complex):
        return repr(obj)  # repr: nan compares equal to itself
    if depth > 8 or id(obj) in seen:
        return f"<{type(obj).__name__}>"
    if isinstance(obj, types.ModuleType):
        # A module an object keeps (h3, say) is shared code, not the object's state; walking it
        # (every submodule's namespace, eight levels deep) cost a second a call.
        return f"<module {obj.__name__}>"
    if type(obj).__module__.partition(".")[0] == "redis":
        # A redis-py client, pool or connection: what a Redis-backed object holds lives on the
        # server (its entries dump those keys), and walking the pool cost 80 ms a snapshot.
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


class _TooSlow(BaseException):
    """Raised by the watchdog; a BaseException so that no ``except Exception`` swallows it."""


@contextmanager
def _watchdog(seconds: float) -> Iterator[list[bool]]:
    """Interrupt the block after ``seconds`` of this process's CPU time (main thread only).

    CPU time, not wall time: a busy machine stretches wall time but not the work a call
    does, and unbounded work is what this catches. The yielded list holds ``True`` once the
    watchdog has fired, so a caller still sees it when the interrupt landed somewhere that
    swallows exceptions (a weakref callback or a ``__del__`` during the call: Python reports
    those as unraisable, and this block keeps such a report out of pytest's hook).
    """
    fired = [False]
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield fired
        return

    def fire(signum: int, frame: object) -> None:
        fired[0] = True
        raise _TooSlow

    def unraisable(info: sys.UnraisableHookArgs) -> None:
        if not isinstance(info.exc_value, _TooSlow):
            previous_hook(info)

    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    previous = signal.signal(signal.SIGPROF, fire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield fired
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
        sys.unraisablehook = previous_hook


def _show(value: Any) -> str:
    try:
        return f"{value!r:.60}"
    except ValueError:  # an int too long for repr (over 4,300 digits), maybe in a container
        if isinstance(value, int):
            return f"<int of {value.bit_length()} bits>"
        return f"<{type(value).__name__} holding an int too long to print>"


def _try(errors: tuple[type[BaseException], ...], entry: Entry, value: Any) -> str | None:
    """Run one call; return a description of the failure, or None when the contract held.

    The call runs in a scratch folder: a hostile str may be taken as a file name (a SQLite
    path), and such files must not land in the checkout.
    """
    with in_scratch_dir():
        return _try_here(errors, entry, value)


def _try_here(errors: tuple[type[BaseException], ...], entry: Entry, value: Any) -> str | None:
    obj = entry.make() if entry.make is not None else None
    snap = entry.snapshot or state_of
    before = snap(obj)
    slow = f"{entry.name}({_show(value)}): took over {CALL_SECONDS} CPU s (unbounded work?)"
    fired = [False]
    try:
        with _watchdog(CALL_SECONDS) as fired:
            entry.call(obj, value)
    except _TooSlow:
        return slow
    except errors as exc:
        if fired[0]:
            return slow
        if not str(exc).strip():
            return f"{entry.name}({_show(value)}): {type(exc).__name__} with an empty message"
        if snap(obj) != before:
            return f"{entry.name}({_show(value)}): refused but changed the object"
        return None
    except Exception as exc:
        return f"{entry.name}({_show(value)}): {type(exc).__name__}: {exc!s:.200}"
    return slow if fired[0] else None


IDS = [f"{family}:{entry.name}" for family, _, entry in REGISTERED]


@pytest.mark.parametrize(("family", "errors", "entry"), REGISTERED, ids=IDS)
def test_hostile_values(family: str, errors: tuple[type[BaseException], ...], entry: Entry) -> None:
    failures = [f for v in (*HOSTILE, *entry.values) if (f := _try(errors, entry, v))]
    assert not failures, "\n".join(failures)


#: Generated values per entry: few by default, since every entry also meets all of HOSTILE and
#: the registry holds hundreds of entries; raise it for a deeper run.
EXAMPLES = int(os.environ.get("DPREF_FUZZ_EXAMPLES", "15"))


@pytest.mark.parametrize(("family", "errors", "entry"), REGISTERED, ids=IDS)
def test_generated_values(
    family: str, errors: tuple[type[BaseException], ...], entry: Entry
) -> None:
    """Each entry gets its own hypothesis run, built here rather than by decorating this test.

    Hypothesis's pytest plugin gives every parametrized case of a ``@given`` test a settings
    object whose parent is the previous case's; over the thousands of entries registered here
    that chain grew past the interpreter's recursion limit, and every later case failed with a
    RecursionError inside hypothesis. A fresh ``@given`` function per case keeps the chain one
    link long.
    """

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(value=hostile_values)
    def run(value: Any) -> None:
        assert _settings_depth() < 10, "the settings chain grows from case to case"
        failure = _try(errors, entry, value)
        assert failure is None, failure

    run()


def _settings_depth() -> int:
    """How many settings objects stand between the current one and hypothesis's root."""
    depth, current = 0, settings.default
    while current is not None:
        depth, current = depth + 1, getattr(current, "_fallback", None)
    return depth


def test_registry_is_not_empty() -> None:
    assert REGISTERED, "no family registered in tests/fuzz/families"


def test_each_family_documents_its_own_errors() -> None:
    for family, errors, _ in REGISTERED:
        assert errors, f"{family}: ERRORS is empty"
        for error in errors:
            assert issubclass(error, DesignPatternsError), f"{family}: {error} is not the library's"


def test_entry_names_are_unique_within_a_family() -> None:
    seen: set[tuple[str, str]] = set()
    for family, _, entry in REGISTERED:
        assert (family, entry.name) not in seen, f"{family}: {entry.name} registered twice"
        seen.add((family, entry.name))


def test_state_of_names_a_kept_module_without_walking_it() -> None:
    holder = types.SimpleNamespace(lib=math, n=1)
    assert state_of(holder) == ("SimpleNamespace", [("lib", "<module math>"), ("n", ("int", 1))])


def test_state_of_leaves_a_redis_client_to_the_server_dumps() -> None:
    import redis

    holder = types.SimpleNamespace(client=redis.Redis(port=1), key="k")
    assert state_of(holder) == ("SimpleNamespace", [("client", "<Redis>"), ("key", ("str", "k"))])


def test_the_watchdog_stops_unbounded_work() -> None:
    with pytest.raises(_TooSlow), _watchdog(0.05):
        while True:
            pass
    with _watchdog(0.05):
        pass  # a block that finishes in time is left alone, and the timer is cleared


def test_the_watchdog_firing_where_exceptions_are_swallowed_still_counts() -> None:
    class Slow:
        def __del__(self) -> None:  # an interrupt here is unraisable: Python swallows it
            while True:
                pass

    hook = sys.unraisablehook
    with _watchdog(0.05) as fired:
        del_me = Slow()
        del del_me
    assert fired == [True]
    assert sys.unraisablehook is hook


def test_the_watchdog_counts_cpu_time_not_waiting() -> None:
    import time

    with _watchdog(0.05) as fired:
        time.sleep(0.3)  # a busy machine stretches wall time; the work done is what counts
    assert fired == [False]
