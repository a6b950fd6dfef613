"""autocomplete: every completer (constructor and methods) and the text helpers.

Each completer is built with a few weighted terms and meets hostile values in each argument of
each method; ``FrozenCompleter`` refuses every change with ``ReadOnlyError`` (one of ERRORS).
``save`` and ``load`` run in the suite's scratch folder (a hostile path such as ``" "`` is a
valid file name there); ``load``'s other arguments read a file saved there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from designpatterns_ref.autocomplete import (
    AutocompleteError,
    BruteForceCompleter,
    FrozenCompleter,
    RadixTrie,
    SortedPrefixIndex,
    TopKTrie,
    Trie,
    normalize,
    rank_key,
)
from designpatterns_ref.autocomplete.corpus import sample_prefixes
from tests.fuzz.helpers import in_scratch_dir, per_argument, scratch_dir
from tests.fuzz.spec import Entry

ERRORS = (AutocompleteError,)

NOT_FUZZED: dict[str, str] = {
    "Completion": "a suggestion the completers return (a NamedTuple); no call takes one",
}

_ITEMS = [("apple", 5), ("app", 9), ("apply", 2), ("banana", 4), ("été", 3)]

COMPLETERS: dict[str, Callable[..., Any]] = {
    "Trie": Trie,
    "RadixTrie": RadixTrie,
    "TopKTrie": TopKTrie,
    "SortedPrefixIndex": SortedPrefixIndex,
    "FrozenCompleter": FrozenCompleter,
    "BruteForceCompleter": BruteForceCompleter,
}


def _entries(name: str, cls: Callable[..., Any]) -> list[Entry]:
    def make() -> Any:
        return cls(_ITEMS)

    def method(m: str) -> Callable[..., object]:
        return lambda obj, **kw: getattr(obj, m)(**kw)

    extra = {"cache_size": 10} if name == "TopKTrie" else {}
    out = per_argument(name, lambda _, **kw: cls(**kw), {"items": _ITEMS, "casefold": False,
                                                         **extra})  # fmt: skip
    out.append(Entry(f"{name}(items=[(term, 1)])", call=lambda _, v: cls([(v, 1)])))
    out.append(Entry(f"{name}(items=[('a', weight)])", call=lambda _, v: cls([("a", v)])))
    snap = _frozen_state if name == "FrozenCompleter" else None
    out += per_argument(f"{name}.insert", method("insert"), {"term": "apricot", "weight": 7},
                        make=make, snapshot=snap)  # fmt: skip
    out += per_argument(f"{name}.increment", method("increment"), {"term": "apple", "by": 1},
                        make=make, snapshot=snap)  # fmt: skip
    out += per_argument(f"{name}.remove", method("remove"), {"term": "apple"}, make=make,
                        snapshot=snap)  # fmt: skip
    out += per_argument(f"{name}.weight", method("weight"), {"term": "apple"}, make=make,
                        snapshot=snap)  # fmt: skip
    out += per_argument(f"{name}.complete", method("complete"),
                        {"prefix": "ap", "k": 2, "max_edits": 1}, make=make,
                        snapshot=snap)  # fmt: skip
    out.append(Entry(f"{name}.__contains__", call=lambda obj, v: v in obj, make=make,
                     snapshot=snap))  # fmt: skip

    def save(obj: Any, value: Any) -> object:
        with in_scratch_dir():
            return obj.save(value)

    def load(_: Any, **kw: Any) -> object:
        with in_scratch_dir():
            return cls.load(**kw)  # type: ignore[attr-defined]

    out.append(Entry(f"{name}.save(path=)", call=save, make=make))
    args = {"path": _saved(name, cls)}
    if name == "FrozenCompleter":
        args["mmap"] = True
    out += per_argument(f"{name}.load", load, args)
    return out


def _frozen_state(obj: Any) -> object:
    """What a FrozenCompleter holds: its casefold flag and its sections, byte for byte (the few
    blocks it keeps decoded, ``_at.last``, are a cache that a lookup refills, not state)."""
    return obj._casefold, {name: bytes(data) for name, data in obj._sections.items()}


def _saved(name: str, cls: Callable[..., Any]) -> str:
    """A file of ``cls`` saved in the scratch folder, for ``load``'s other arguments."""
    path = os.path.join(scratch_dir(), f"saved-{name}.dpac")
    cls(_ITEMS).save(path)
    return path


ENTRIES = [
    *(entry for name, cls in COMPLETERS.items() for entry in _entries(name, cls)),
    *per_argument("normalize", lambda _, **kw: normalize(**kw), {"text": "Café", "casefold": True}),
    *per_argument("rank_key", lambda _, **kw: rank_key(**kw), {"term": "apple", "weight": 5}),
    *per_argument(
        "corpus.sample_prefixes",
        lambda _, **kw: sample_prefixes(**kw),
        {"items": [("apple", 3), ("banana", 2)], "count": 3, "lengths": (1, 2), "seed": 7},
    ),
]
