"""Every public entry point of every family is in the fuzz suite, or says why not.

A family's public names are its package's ``__all__``. An entry point is a function, a class
whose constructor takes arguments, or a public method (inherited ones included) that takes
arguments; exceptions, protocols and abstract classes are not. Each must be named by an
entry of ``tests/fuzz/families/<family>.py``: ``Name(...)`` for a constructor or a function,
``Class.method...`` for a method. A method several classes share (the same function object)
needs one entry under any of them. What is left out on purpose is listed in the registry's
``NOT_FUZZED``, a dict from the name (``"Class.method"`` or ``"Name"``) to the reason: a record
the library only returns, say. A listed name that is covered or does not exist fails too, so
the list stays true.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fuzz import families

FAMILIES = [info.name for info in pkgutil.iter_modules(families.__path__)]


def _takes_arguments(fn: Callable[..., Any], bound: bool) -> bool:
    """Whether ``fn`` takes an argument (past ``self``/``cls`` when ``bound``)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    return len(params) > (1 if bound else 0)


def _skipped_class(klass: type) -> bool:
    return (
        issubclass(klass, BaseException)
        or bool(getattr(klass, "_is_protocol", False))
        or inspect.isabstract(klass)
    )


def _methods(klass: type) -> Iterator[tuple[str, Any]]:
    """The public methods of ``klass`` that take arguments, with the function object that
    implements each (so a method shared by several classes is one thing)."""
    for name in dir(klass):
        if name.startswith("_"):
            continue
        for owner in klass.__mro__:
            if name in vars(owner):
                raw = vars(owner)[name]
                break
        else:
            continue
        if owner is object or not owner.__module__.startswith("designpatterns_ref"):
            continue
        if isinstance(raw, staticmethod):
            fn, bound = raw.__func__, False
        elif isinstance(raw, classmethod):
            fn, bound = raw.__func__, True
        elif inspect.isfunction(raw):
            fn, bound = raw, True
        else:  # a property, a constant, a nested class
            continue
        if _takes_arguments(fn, bound):
            yield name, fn


def entry_points(package: Any) -> dict[str, Any]:
    """Name -> the object that implements it, for every entry point of ``package``."""
    found: dict[str, Any] = {}
    for name in getattr(package, "__all__", ()):
        obj = getattr(package, name)
        if inspect.isclass(obj):
            if _skipped_class(obj):
                continue
            if _takes_arguments(obj, bound=False):
                found[name] = obj
            for method, fn in _methods(obj):
                found[f"{name}.{method}"] = fn
        elif inspect.isfunction(obj) and _takes_arguments(obj, bound=False):
            found[name] = obj
    return found


def uncovered(family: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The entry points of ``family`` no registered entry names, and its ``NOT_FUZZED``."""
    registry = importlib.import_module(f"{families.__name__}.{family}")
    package = importlib.import_module(f"designpatterns_ref.{family}")
    names = [entry.name for entry in registry.ENTRIES]
    points = entry_points(package)

    def named(point: str) -> bool:
        # "Name" is named by "Name(...", not by "Name.method(...": a method's entry calls the
        # constructor with valid arguments only.
        pattern = re.compile(rf"{re.escape(point)}(?![\w.])")
        return any(pattern.match(name) for name in names)

    covered = {point for point in points if named(point)}
    shared = {id(points[point]) for point in covered if "." in point}
    missing = {
        point: obj
        for point, obj in points.items()
        if point not in covered and not ("." in point and id(obj) in shared)
    }
    return missing, dict(getattr(registry, "NOT_FUZZED", {}))


@pytest.mark.parametrize("family", FAMILIES)
def test_every_entry_point_is_fuzzed_or_says_why_not(family: str) -> None:
    missing, exempt = uncovered(family)
    left = sorted(set(missing) - set(exempt))
    assert not left, f"{family}: public entry points not in the fuzz suite: {left}"


@pytest.mark.parametrize("family", FAMILIES)
def test_not_fuzzed_lists_only_uncovered_names_with_a_reason(family: str) -> None:
    missing, exempt = uncovered(family)
    stale = sorted(set(exempt) - set(missing))
    assert not stale, f"{family}: NOT_FUZZED names covered or unknown entry points: {stale}"
    unexplained = sorted(name for name, why in exempt.items() if not str(why).strip())
    assert not unexplained, f"{family}: NOT_FUZZED without a reason: {unexplained}"


def test_the_walk_finds_constructors_methods_and_functions() -> None:
    class Base:
        def shared(self, x: int) -> int:
            return x

    class Thing(Base):
        def __init__(self, n: int) -> None:
            self.n = n

        def act(self, y: int) -> int:
            return y

        def bare(self) -> None:
            pass

        @property
        def size(self) -> int:
            return 1

    Base.__module__ = Thing.__module__ = "designpatterns_ref.example"

    def helper(z: int) -> int:
        return z

    package = type("pkg", (), {"__all__": ["Thing", "helper", "Oops"]})
    package.Thing, package.helper, package.Oops = Thing, helper, ValueError  # type: ignore[attr-defined]
    assert sorted(entry_points(package)) == ["Thing", "Thing.act", "Thing.shared", "helper"]
