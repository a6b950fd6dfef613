"""Every public name of the family is fuzzed, or named as not registered with its reason (in
the registry's NOT_FUZZED, or its docstring for what is no entry point)."""

from __future__ import annotations

import inspect

import designpatterns_ref.identity as identity
from tests.fuzz.families import identity as fuzz


def _registered(name: str) -> bool:
    return any(e.name == name or e.name.startswith((f"{name}(", f"{name}.")) for e in fuzz.ENTRIES)


def _not_registered_paragraph() -> str:
    doc = fuzz.__doc__ or ""
    start = doc.find("Not registered:")
    assert start >= 0, "the fuzz module's docstring says what is not registered, and why"
    return doc[start:]


def test_every_public_name_is_registered_or_listed_as_not_registered() -> None:
    listed = _not_registered_paragraph()
    missing = [
        name
        for name in identity.__all__
        if not _registered(name) and f"``{name}``" not in listed and name not in fuzz.NOT_FUZZED
    ]
    assert missing == []


def test_every_public_method_with_arguments_is_registered() -> None:
    missing = []
    for name in identity.__all__:
        obj = getattr(identity, name)
        if not inspect.isclass(obj) or issubclass(obj, BaseException):
            continue
        for attr, value in vars(obj).items():
            fn = value.__func__ if isinstance(value, classmethod | staticmethod) else value
            if attr.startswith("_") or not inspect.isfunction(fn):
                continue
            params = [p for p in inspect.signature(fn).parameters if p not in ("self", "cls")]
            if params and not _registered(f"{name}.{attr}"):
                missing.append(f"{name}.{attr}")
    assert missing == []
