"""Hostile values at the file entry points: the family's error, and nothing changes.

The completers' other entry points meet hostile values in the fuzz suite
(``tests/fuzz/families/autocomplete.py``) and in ``test_contract.py``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from designpatterns_ref.autocomplete import (
    AutocompleteError,
    AutocompleteTypeError,
    BruteForceCompleter,
    FrozenCompleter,
    RadixTrie,
    SortedPrefixIndex,
    StorageError,
    TopKTrie,
    Trie,
)
from tests.fuzz.spec import Opaque

CLASSES = [Trie, RadixTrie, TopKTrie, SortedPrefixIndex, FrozenCompleter, BruteForceCompleter]
WRONG_TYPES: list[Any] = [None, True, 0, 1.5, math.nan, math.inf, 10**400, b"words", [], Opaque()]
BAD_PATHS: list[Any] = ["", "\ud800", "a\x00b", "x" * 100_000, "no/such/folder/file"]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("path", WRONG_TYPES + BAD_PATHS, ids=repr)
def test_save_refuses_and_changes_nothing(
    cls: Any, path: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    completer = cls([("apple", 5), ("app", 9), ("été", 3)])
    before = (list(completer.items()), completer.complete("a", 5))
    expected = AutocompleteTypeError if path in WRONG_TYPES else StorageError
    with pytest.raises(expected, match="path="):
        completer.save(path)
    assert (list(completer.items()), completer.complete("a", 5)) == before
    assert list(tmp_path.iterdir()) == []  # no file and no scratch file left behind


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("path", WRONG_TYPES + BAD_PATHS, ids=repr)
def test_load_refuses(
    cls: Any, path: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    expected = AutocompleteTypeError if path in WRONG_TYPES else StorageError
    with pytest.raises(expected, match="path="):
        cls.load(path)


@pytest.mark.parametrize("mmap", [None, 1, 0, "yes", math.nan, [], 10**400])
def test_frozen_load_refuses_a_mmap_that_is_not_a_bool(mmap: object, tmp_path: Path) -> None:
    FrozenCompleter([("a", 1)]).save(tmp_path / "f")
    with pytest.raises(AutocompleteTypeError, match="mmap="):
        FrozenCompleter.load(tmp_path / "f", mmap=mmap)  # type: ignore[arg-type]


@pytest.mark.parametrize("content", [b"", b"\x00", b"DPREFAC\x00", b"x" * 10_000])
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_load_of_garbage_is_a_storage_error(cls: Any, content: bytes, tmp_path: Path) -> None:
    (tmp_path / "junk").write_bytes(content)
    with pytest.raises(StorageError, match="junk"):
        cls.load(tmp_path / "junk")
    if cls is FrozenCompleter:
        with pytest.raises(StorageError, match="junk"):
            cls.load(tmp_path / "junk", mmap=True)


def test_storage_error_is_the_family_error_and_an_oserror() -> None:
    assert issubclass(StorageError, AutocompleteError)
    assert issubclass(StorageError, ValueError) and issubclass(StorageError, OSError)
    assert str(StorageError("load: path='x' is bad")) == "load: path='x' is bad"


@pytest.mark.parametrize("block", [0, -1, True, 2**16 + 1, 10**400, 64.0, "64", None])
def test_frozen_refuses_a_block_size_out_of_range(block: object) -> None:
    cls = type("Odd", (FrozenCompleter,), {"BLOCK": block})
    with pytest.raises(AutocompleteError, match="BLOCK="):
        cls([("a", 1)])


@pytest.mark.parametrize("block", [0, -1, 2**16 + 1, 10**400])
def test_a_block_size_out_of_range_is_a_value_error_not_a_type_error(block: int) -> None:
    cls = type("Odd", (FrozenCompleter,), {"BLOCK": block})
    with pytest.raises(AutocompleteError, match=r"BLOCK=.*within \[1, 65536\]") as info:
        cls([("a", 1)])
    assert not isinstance(info.value, TypeError)
