"""Saving and loading: every completer comes back answering every query as before, a damaged
file is refused with StorageError, and a mapped FrozenCompleter is shared between processes."""

from __future__ import annotations

import json
import os
import stat
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.autocomplete import (
    AutocompleteError,
    BruteForceCompleter,
    Completer,
    FrozenCompleter,
    RadixTrie,
    SortedPrefixIndex,
    StorageError,
    TopKTrie,
    Trie,
    storage,
)
from designpatterns_ref.autocomplete.text import allowed_edits

Factory = Callable[..., Completer]

CLASSES: dict[str, type[Completer]] = {
    "Trie": Trie,
    "RadixTrie": RadixTrie,
    "TopKTrie": TopKTrie,
    "SortedPrefixIndex": SortedPrefixIndex,
    "FrozenCompleter": FrozenCompleter,
    "BruteForceCompleter": BruteForceCompleter,
}

# Shared prefixes, ties, combining accents, astral characters, NUL and lone surrogates.
ALPHABET = st.sampled_from(["a", "b", "é", "e\u0301", "E", "\x00", "\U0001f600", "\ud800", "z"])
terms = st.lists(ALPHABET, min_size=1, max_size=6).map("".join)
vocab = st.lists(st.tuples(terms, st.integers(0, 5)), max_size=30)


def answers(completer: Completer, prefixes: list[str]) -> list[object]:
    """Everything a reader can ask, for each prefix: completions at several k and edits."""
    out: list[object] = [list(completer.items()), len(completer)]
    for prefix in prefixes:
        out += [completer.complete(prefix, k) for k in (1, 3, 50)]
    for prefix in prefixes[:: max(1, len(prefixes) // 8)]:  # fuzzy walks cost more: a sample
        out += [completer.complete(prefix, 4, max_edits=edits) for edits in (1, 2)]
    for term, weight in completer.items():
        out.append((term in completer, completer.weight(term) == weight))
    return out


def every_prefix(items: list[tuple[str, int]]) -> list[str]:
    found = {""} | {term[:i] for term, _ in items for i in range(1, len(term) + 1)}
    return sorted(found | {"zz", "b\U0001f600"})


def build(name: str, items: list[tuple[str, int]], casefold: bool) -> Completer:
    return CLASSES[name](items, casefold=casefold)  # type: ignore[call-arg]


@pytest.mark.parametrize("name", list(CLASSES))
@settings(max_examples=20)
@given(items=vocab, casefold=st.booleans())
def test_round_trip_answers_every_query_as_the_original(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    items: list[tuple[str, int]],
    casefold: bool,
) -> None:
    path = tmp_path_factory.mktemp("rt") / "words.dpac"
    original = build(name, items, casefold)
    original.save(path)  # type: ignore[attr-defined]
    prefixes = every_prefix(items)
    expected = answers(original, prefixes)
    loads = [{}, {"mmap": True}, {"mmap": False}] if name == "FrozenCompleter" else [{}]
    for kwargs in loads:
        loaded = CLASSES[name].load(str(path), **kwargs)  # type: ignore[attr-defined]
        assert type(loaded) is CLASSES[name]
        assert answers(loaded, prefixes) == expected
        copy = path.with_suffix(".again")  # a loaded structure saves the same content
        loaded.save(copy)
        assert answers(CLASSES[name].load(copy), prefixes) == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["Trie", "RadixTrie", "TopKTrie", "SortedPrefixIndex"])
def test_saved_after_updates_and_loaded_structure_keeps_changing(tmp_path: Path, name: str) -> None:
    completer = CLASSES[name]([(f"w{i}", i) for i in range(100)])
    oracle = BruteForceCompleter(completer.items())
    for c in (completer, oracle):
        c.remove("w99")
        c.increment("w5", 1_000)
        c.insert("new", 50)
    completer.save(tmp_path / "f")  # type: ignore[attr-defined]
    loaded = CLASSES[name].load(tmp_path / "f")  # type: ignore[attr-defined]
    assert list(loaded.items()) == list(oracle.items())
    for c in (loaded, oracle):
        c.increment("w98", -98)
        c.remove("new")
    for prefix in ("", "w", "w9", "w5", "n"):
        assert loaded.complete(prefix, 10) == oracle.complete(prefix, 10)


def test_topk_cache_size_and_casefold_survive(tmp_path: Path) -> None:
    TopKTrie([("Apple", 3), ("apricot", 2)], cache_size=3, casefold=True).save(tmp_path / "t")
    loaded = TopKTrie.load(tmp_path / "t")
    assert loaded._size == 3 and loaded._casefold
    assert [c.term for c in loaded.complete("AP")] == ["apple", "apricot"]


def test_files_are_interchangeable_between_mutable_structures(tmp_path: Path) -> None:
    items = [("kafka", 3), ("kotlin", 5), ("kubernetes", 4)]
    Trie(items).save(tmp_path / "t")
    for cls in (RadixTrie, TopKTrie, SortedPrefixIndex, BruteForceCompleter):
        assert cls.load(tmp_path / "t").complete("k") == Trie(items).complete("k")


def test_empty_structures_round_trip(tmp_path: Path) -> None:
    for name, cls in CLASSES.items():
        cls([]).save(tmp_path / name)  # type: ignore[call-arg,attr-defined]
        loaded = cls.load(tmp_path / name)  # type: ignore[attr-defined]
        assert len(loaded) == 0 and loaded.complete("") == []
    mapped = FrozenCompleter.load(tmp_path / "FrozenCompleter", mmap=True)
    assert len(mapped) == 0 and "a" not in mapped


# -- damaged files ---------------------------------------------------------------------------


@pytest.fixture(params=["Trie", "FrozenCompleter"])
def saved(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[type[Completer], Path]:
    cls = CLASSES[request.param]
    path = tmp_path / "good.dpac"
    cls([(f"term{i}", i % 7) for i in range(300)]).save(path)  # type: ignore[call-arg,attr-defined]
    return cls, path


def _load_all_ways(cls: type[Completer], path: Path) -> None:
    cls.load(path)  # type: ignore[attr-defined]
    if cls is FrozenCompleter:
        FrozenCompleter.load(path, mmap=True)


def test_every_truncation_is_refused(saved: tuple[type[Completer], Path], tmp_path: Path) -> None:
    cls, path = saved
    data = path.read_bytes()
    cuts = sorted({0, 1, 8, 23, 24, 40, len(data) // 2, len(data) - 5, len(data) - 1})
    cuts += list(range(0, len(data), max(1, len(data) // 40)))
    for cut in cuts:
        short = tmp_path / "short"
        short.write_bytes(data[:cut])
        with pytest.raises(StorageError, match=r"short|truncated|empty|checksum|not a readable"):
            _load_all_ways(cls, short)


def test_every_flipped_byte_is_refused(saved: tuple[type[Completer], Path], tmp_path: Path) -> None:
    cls, path = saved
    data = path.read_bytes()
    for at in range(0, len(data), max(1, len(data) // 60)):
        damaged = bytearray(data)
        damaged[at] ^= 0x5A
        bad = tmp_path / "bad"
        bad.write_bytes(bytes(damaged))
        with pytest.raises(StorageError, match="not a readable completer file"):
            _load_all_ways(cls, bad)


def _rewrite_header(data: bytes, **changes: int) -> bytes:
    """The file with header fields changed and its checksum recomputed (a clean foreign file)."""
    header = struct.Struct("<8sHHIII")
    names = ("magic", "version", "kind", "flags", "param", "count")
    fields = dict(zip(names, header.unpack_from(data), strict=True))
    fields.update(changes)
    body = header.pack(*fields.values()) + data[header.size : -4]
    return body + struct.pack("<I", zlib.crc32(body))


def test_other_version_kind_and_byte_order_are_named(
    saved: tuple[type[Completer], Path], tmp_path: Path
) -> None:
    cls, path = saved
    data = path.read_bytes()
    other = tmp_path / "other"
    version = storage.VERSIONS["frozen" if cls is FrozenCompleter else "items"]
    other.write_bytes(_rewrite_header(data, version=version + 1))
    with pytest.raises(StorageError, match=f"version {version + 1}") as caught:
        _load_all_ways(cls, other)
    assert "written by a newer version of the library" in str(caught.value)
    assert "save it again" not in str(caught.value)
    damaged = bytearray(data)  # the version field alone changed: the checksum no longer fits
    damaged[8] += 1
    other.write_bytes(bytes(damaged))
    with pytest.raises(StorageError, match="newer version of the library, or damaged"):
        _load_all_ways(cls, other)
    other.write_bytes(_rewrite_header(data, flags=2 if sys.byteorder == "little" else 0))
    with pytest.raises(StorageError, match="byte order"):
        _load_all_ways(cls, other)
    other.write_bytes(_rewrite_header(data, kind=99))
    with pytest.raises(StorageError, match="unknown kind 99"):
        _load_all_ways(cls, other)
    wrong = Trie if cls is FrozenCompleter else FrozenCompleter
    with pytest.raises(StorageError, match="this class reads"):
        wrong.load(path)
    other.write_bytes(b"PK\x03\x04" + data[4:])
    with pytest.raises(StorageError, match="does not start with"):
        _load_all_ways(cls, other)


def test_missing_file_and_folder_are_storage_errors(tmp_path: Path) -> None:
    for cls in (Trie, FrozenCompleter):
        with pytest.raises(StorageError, match="cannot read") as info:
            cls.load(tmp_path / "absent")
        assert isinstance(info.value, OSError) and isinstance(info.value, AutocompleteError)
        with pytest.raises(StorageError, match="is not a regular file"):
            cls.load(tmp_path)
        with pytest.raises(StorageError, match="cannot write"):
            cls([("a", 1)]).save(tmp_path / "no" / "such" / "folder")  # type: ignore[call-arg]


def test_a_failed_save_keeps_the_old_file_and_leaves_no_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keep"
    Trie([("old", 1)]).save(path)

    def crash(src: str, dst: str) -> None:  # the step between writing and renaming fails
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StorageError, match="No space left"):
        Trie([("new", 2)]).save(path)
    monkeypatch.undo()
    assert list(Trie.load(path).items()) == [("old", 1)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]


@pytest.mark.parametrize("cls", [Trie, FrozenCompleter])
def test_save_reaches_the_disk_before_the_rename_and_the_rename_after(
    cls: type[Trie] | type[FrozenCompleter], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A crash of the machine (not just the process) after the rename must find the new file
    # whole: its bytes are synced before the rename, and the folder's entry after it.
    path = tmp_path / "synced"
    cls([("old", 1)]).save(path)
    events: list[tuple[str, object]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        kind = "folder" if stat.S_ISDIR(info.st_mode) else "file"
        events.append((kind, info.st_size if kind == "file" else info.st_ino))
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append(("rename", os.path.getsize(src)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    cls([("new", 2)]).save(path)
    monkeypatch.undo()
    size = path.stat().st_size
    assert events == [("file", size), ("rename", size), ("folder", tmp_path.stat().st_ino)]
    assert list(cls.load(path).items()) == [("new", 2)]


@pytest.mark.parametrize("umask", [0o077, 0o022, 0o002])
def test_a_saved_file_has_the_mode_the_umask_gives_any_new_file(tmp_path: Path, umask: int) -> None:
    # A vocabulary of queries may be private: a user whose umask keeps files to themselves
    # does not get a world-readable file from save (it was always 0644).
    old = os.umask(umask)
    try:
        for cls in (Trie, FrozenCompleter):
            path = tmp_path / f"{cls.__name__}-{umask:o}"
            cls([("secret", 1)]).save(path)
            assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
            # replacing a file keeps its mode, whatever the umask says now
            os.chmod(path, 0o640)
            cls([("secret", 2)]).save(path)
            assert stat.S_IMODE(path.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_save_replaces_a_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "f"
    FrozenCompleter([("one", 1)]).save(path)
    mapped = FrozenCompleter.load(path, mmap=True)
    FrozenCompleter([("two", 2)]).save(path)  # a new inode: the mapped one is untouched
    assert list(mapped.items()) == [("one", 1)]
    assert list(FrozenCompleter.load(path).items()) == [("two", 2)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


# -- memory-mapped FrozenCompleter -----------------------------------------------------------

_ITEMS = [(f"{a}{b}{c}{d}", (i * 7919) % 1009) for i, (a, b, c, d) in enumerate(
    (a, b, c, d) for a in "abcde" for b in "fghij" for c in "klmno" for d in "xyz"
)]  # fmt: skip
_PREFIXES = ["", "a", "b", "ag", "cik", "eho", "ejoz", "q", "bhn"]


def test_mapped_arrays_are_read_in_place(tmp_path: Path) -> None:
    import mmap

    path = tmp_path / "f"
    FrozenCompleter(_ITEMS).save(path)
    mapped = FrozenCompleter.load(path, mmap=True)
    at = mapped._at
    assert isinstance(at.blob, mmap.mmap) and at.head is at.blob
    for array in (at.tree, at.cach, at.rnup, at.boff, at.hoff, at.coff, at.chmp, at.wval):
        assert isinstance(array, memoryview) and array.readonly
        assert array.obj is at.blob  # a view of the mapping, not a copy
    read = FrozenCompleter.load(path)
    assert isinstance(read._at.tree, memoryview) and read._at.tree.obj is read._at.blob
    assert list(read.items()) == list(mapped.items()) == sorted(_ITEMS)


def test_a_frozen_file_of_format_version_1_is_refused(tmp_path: Path) -> None:
    # Version 1 held the terms whole; its sections are not those of version 2.
    path = tmp_path / "old"
    FrozenCompleter(_ITEMS).save(path)
    path.write_bytes(_rewrite_header(path.read_bytes(), version=1))
    for mmap in (False, True):
        with pytest.raises(StorageError, match="format version 1; this library reads version 2"):
            FrozenCompleter.load(path, mmap=mmap)
        with pytest.raises(StorageError, match="rebuild it from its items"):  # not: save it
            FrozenCompleter.load(path, mmap=mmap)


_CHILD = """
import json, sys
from designpatterns_ref.autocomplete import FrozenCompleter
path, prefixes = sys.argv[1], json.loads(sys.argv[2])
frozen = FrozenCompleter.load(path, mmap=True)
print("ready", flush=True)
sys.stdin.readline()  # wait until both processes hold the mapping
maps = open("/proc/self/maps").read() if sys.platform.startswith("linux") else path
answers = [[list(c) for c in frozen.complete(p, 5, max_edits=1)] for p in prefixes]
print(json.dumps({"mapped": path in maps, "answers": answers}))
"""


def test_two_processes_map_the_same_file_and_answer(tmp_path: Path) -> None:
    path = tmp_path / "shared.dpac"
    FrozenCompleter(_ITEMS).save(path)
    oracle = BruteForceCompleter(_ITEMS)
    expected = [[list(c) for c in oracle.complete(p, 5, max_edits=1)] for p in _PREFIXES]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), json.dumps(_PREFIXES)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for child in children:  # both have mapped the file before either answers
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        results = [json.loads(child.communicate("go\n", timeout=120)[0]) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    for result in results:
        assert result["answers"] == expected
        assert result["mapped"]


def test_a_loaded_completer_keeps_the_block_size_of_its_file(tmp_path: Path) -> None:
    small = type("ThreeABlock", (FrozenCompleter,), {"BLOCK": 3})(_ITEMS)
    path = tmp_path / "small"
    small.save(path)
    oracle = BruteForceCompleter(_ITEMS)
    for mmap in (False, True):
        loaded = FrozenCompleter.load(path, mmap=mmap)  # BLOCK is 64 on this class
        assert loaded._at.block == 3 and list(loaded.items()) == list(oracle.items())
        for prefix in _PREFIXES:
            for k in (1, 10, 50):
                assert loaded.complete(prefix, k) == oracle.complete(prefix, k)
            assert loaded.complete(prefix, 5, max_edits=2) == oracle.complete(
                prefix, 5, max_edits=2
            )


def test_a_frozen_file_written_wrong_with_a_valid_checksum_raises_storage_error(
    tmp_path: Path,
) -> None:
    # A changed byte with the checksum recomputed passes the load (the blocks are not opened
    # then); whatever a query then fails to decode is a StorageError naming the file, never
    # zlib's or the codec's own error.
    words = ["app", "apple", "apply", "apt", "banana", "band", "can", "été"]
    items = [(w, i * 7 % 13) for i, w in enumerate(words)]
    path = tmp_path / "f.dpac"
    FrozenCompleter(items).save(path)
    good = path.read_bytes()
    assert allowed_edits(len("bnad"), 1) == 1
    undecodable = 0
    for at in range(len(good) - 4):
        for value in (0x00, 0x7A, 0xAA, 0xFF):
            body = bytearray(good[:-4])
            if body[at] == value:
                continue
            body[at] = value
            path.write_bytes(bytes(body) + struct.pack("<I", zlib.crc32(body)))
            try:
                frozen = FrozenCompleter.load(path)
            except StorageError:
                continue
            for call in (
                lambda f: f.complete("a", 5),
                lambda f: f.complete("bnad", 5, max_edits=1),  # one edit: a fuzzy walk
                lambda f: list(f.items()),
                lambda f: "band" in f,
            ):
                try:
                    call(frozen)
                except StorageError as exc:
                    assert str(path) in str(exc)
                    undecodable += 1
                except AutocompleteError:
                    pass  # a clear refusal of the query itself
    assert undecodable > 0  # the crafted files do reach the decoding


@pytest.mark.parametrize("mapped", [False, True])
def test_a_large_foreign_file_is_refused_from_its_header_without_reading_it(
    tmp_path: Path, mapped: bool
) -> None:
    """A large file that is no completer file (sparse here: 256 MiB of zeros after a foreign
    header) is refused for its header, with almost nothing allocated: the whole file was
    never read into memory."""
    import tracemalloc

    path = tmp_path / "huge.bin"
    with open(path, "wb") as out:
        out.write(b"PK\x03\x04" + bytes(20))
        out.truncate(256 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(StorageError, match="does not start with"):
            storage.read(str(path), mapped=mapped)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024


@pytest.mark.parametrize("mapped", [False, True])
def test_a_file_longer_than_its_header_declares_is_refused(tmp_path: Path, mapped: bool) -> None:
    """A completer file with bytes after its end is refused for its size, before its checksum
    (which a reader without the size check would compute over every appended byte)."""
    path = tmp_path / "t.dpac"
    Trie([("apple", 3), ("apply", 1)]).save(path)
    good = path.read_bytes()
    assert storage.read(str(path), mapped=mapped).kind == "items"
    for extra in (b"\0", bytes(8), b"junk" * 1000):
        path.write_bytes(good + extra)
        with pytest.raises(StorageError, match=f"declare {len(good)} bytes, the file has"):
            storage.read(str(path), mapped=mapped)
