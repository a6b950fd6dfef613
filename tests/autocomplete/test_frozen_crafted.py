"""FrozenCompleter files written wrong on purpose, with a valid checksum: every query on them
answers or raises StorageError, in a bounded number of steps and bounded memory (no hang, no
decompression bomb)."""

from __future__ import annotations

import struct
import threading
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.autocomplete import FrozenCompleter, StorageError, storage
from designpatterns_ref.autocomplete._blocks import SECTIONS, Blocks

_ITEMS = [("apple", 5), ("apply", 9), ("ample", 7), ("b\u00e9", 2), ("zz", 1)]
_ITEMS += [(f"w{i}", i) for i in range(200)]


def _write(path: Path, sections: dict[str, Any]) -> None:
    chosen = {name: sections[name] for name in SECTIONS}
    storage.write(str(path), "frozen", chosen, flags=0, param=0)


def _with_blocks(built: FrozenCompleter, path: Path, blocks: list[bytes]) -> None:
    """Save ``built`` with its blocks replaced by ``blocks`` (raw DEFLATE streams)."""
    sections = dict(built._sections)
    offsets = [0]
    for chunk in blocks:
        offsets.append(offsets[-1] + len(chunk))
    sections["blks"] = b"".join(blocks)
    sections["boff"] = type(sections["boff"])(sections["boff"].typecode, offsets)
    _write(path, sections)


def _deflate(raw: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(raw) + packer.flush()


def _raw_blocks(built: FrozenCompleter) -> list[bytes]:
    at, blob, offsets = built._at, built._sections["blks"], built._sections["boff"]
    return [
        zlib.decompressobj(-15).decompress(blob[offsets[b] : offsets[b + 1]])
        for b in range(at.blocks())
    ]


def test_terms_out_of_order_do_not_hang_a_fuzzy_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Block 0 holds its terms in another order (their classes unchanged): the fuzzy walk's
    # bisections then point backwards. It must refuse the file, not loop over it.
    built = FrozenCompleter(_ITEMS)
    assert not built._at.delimited and built._at.planes == 1
    raws = _raw_blocks(built)
    m = built._at.block
    text, classes = raws[0][: len(raws[0]) - m], raws[0][len(raws[0]) - m :]
    terms = text.split(b"\0")
    assert terms[:5] == [b"ample", b"apple", b"apply", "bé".encode(), b"w0"]
    terms[:5] = [b"ample", b"w0", b"apple", b"apply", "bé".encode()]
    path = tmp_path / "unordered.dpac"
    _with_blocks(built, path, [_deflate(b"\0".join(terms) + classes), *map(_deflate, raws[1:])])
    loaded = FrozenCompleter.load(path)
    assert loaded.complete("appel", 3) == []  # exact: answers (wrongly, as documented)
    steps = [0]
    locate = Blocks.locate

    def counted(self: Blocks, needle: str) -> int:
        steps[0] += 1
        if steps[0] > 10_000:
            raise AssertionError("the fuzzy walk does not make progress")
        return locate(self, needle)

    monkeypatch.setattr(Blocks, "locate", counted)
    with pytest.raises(StorageError, match=r"unordered\.dpac"):
        loaded.complete("appel", 3, max_edits=1)
    assert steps[0] < 100


def _bomb(tmp_path: Path, megabytes: int, stride: int | None = None) -> Path:
    """A file of two terms whose one block inflates to ``megabytes`` MiB of "a"."""
    built = FrozenCompleter([("apple", 5), ("apply", 9)])
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"a" * (1 << 20)
    bomb = b"".join(packer.compress(chunk) for _ in range(megabytes)) + packer.flush()
    path = tmp_path / "bomb.dpac"
    _with_blocks(built, path, [bomb])
    if stride is not None:
        sections = {**built._sections, "blks": bomb}
        sections["boff"] = type(sections["boff"])(sections["boff"].typecode, [0, len(bomb)])
        meta = list(sections["meta"])
        meta[2] = stride
        sections["meta"] = type(sections["meta"])(sections["meta"].typecode, meta)
        _write(path, sections)
    return path


def _peak(call: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("mmap", [False, True])
def test_a_block_that_inflates_past_what_its_terms_can_hold_is_refused(
    tmp_path: Path, mmap: bool
) -> None:
    path = _bomb(tmp_path, 32)
    assert path.stat().st_size < 64_000  # 32 MiB of text in a file of 32 KB
    loaded = FrozenCompleter.load(path, mmap=mmap)
    for query in (
        lambda: "apple" in loaded,
        lambda: loaded.weight("apple"),
        lambda: loaded.complete("appel", 1, max_edits=1),
        lambda: list(loaded.items()),
    ):

        def refused(query: Callable[[], object] = query) -> None:
            with pytest.raises(StorageError, match=r"bomb\.dpac"):
                query()

        assert _peak(refused) < 1 << 20  # what the block holds is never inflated whole


def test_a_longest_term_the_blocks_cannot_hold_is_refused_on_load(tmp_path: Path) -> None:
    # The bound on a block comes from the longest term the file declares; a file declaring
    # one longer than its blocks can inflate to is refused before any query.
    path = _bomb(tmp_path, 1, stride=2**40)
    with pytest.raises(StorageError, match="inconsistent"):
        FrozenCompleter.load(path)


_QUERIES: list[Callable[[FrozenCompleter], object]] = [
    lambda f: f.complete("appel", 3),
    lambda f: f.complete("appel", 3, max_edits=1),
    lambda f: f.complete("w12", 5, max_edits=2),
    lambda f: f.complete("", 4),
    lambda f: "apply" in f,
    lambda f: "w7" in f and f.weight("w7"),  # found, so it has a weight
    lambda f: list(f.items()),
]


@pytest.mark.parametrize("name", ["hoff", "coff"])
def test_heads_or_champions_that_overlap_are_refused_on_load(tmp_path: Path, name: str) -> None:
    # Every head (or champion) spanning the whole section would make a load (or a query)
    # decode the section once per block: offsets must go forward.
    built = FrozenCompleter(_ITEMS)
    sections = dict(built._sections)
    offsets = sections[name].tolist()
    end = offsets[-1]
    sections[name] = type(sections[name])(sections[name].typecode, [0, *[end] * (len(offsets) - 1)])
    path = tmp_path / "flat.dpac"
    _write(path, sections)
    FrozenCompleter.load(path)  # the first slice spans the section, the others are empty: fine
    wrong = [0, *[end * (i % 2) for i in range(1, len(offsets) - 1)], end]  # 0, end, 0, ...
    assert len(wrong) == len(offsets) and wrong[2] == 0
    sections[name] = type(sections[name])(sections[name].typecode, wrong)
    _write(path, sections)
    with pytest.raises(StorageError, match="inconsistent"):
        FrozenCompleter.load(path)


def _guarded(
    query: Callable[[FrozenCompleter], object], frozen: FrozenCompleter, timeout: float = 30.0
) -> None:
    """Run ``query`` in a thread (only to catch a hang): it answers or raises StorageError."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            query(frozen)
        except StorageError:
            pass
        except BaseException as exc:  # reported in the test's thread
            failure.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        pytest.fail(f"a query on a damaged file did not return within {timeout} s")
    if failure:
        raise failure[0]


_SAVED: dict[str, bytes] = {}


def _saved_file(tmp_path: Path) -> bytes:
    if "good" not in _SAVED:
        path = tmp_path / "good.dpac"
        items = [(term, weight) for term, weight in _ITEMS if term != "zz"]
        FrozenCompleter([*items, ("zz\x00z", 1)]).save(path)  # NUL: lengths stored
        _SAVED["good"] = path.read_bytes()
    return _SAVED["good"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flips=st.lists(st.tuples(st.integers(0, 2**32), st.integers(0, 255)), min_size=1, max_size=4)
)
@example(flips=[(178, 248)])  # the byte that put block 0's terms out of order
def test_damaged_blocks_answer_or_raise_storage_error(
    tmp_path: Path, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(_saved_file(tmp_path))
    path = tmp_path / "damaged.dpac"
    path.write_bytes(bytes(data))
    stored = storage.read(str(path), mapped=False)
    start, size = stored.offsets["blks"], stored.sections["blks"].nbytes
    for at, value in flips:
        data[start + at % size] = value
    data[-4:] = struct.pack("<I", zlib.crc32(bytes(data[:-4])))
    path.write_bytes(bytes(data))
    for mmap in (False, True):
        loaded = FrozenCompleter.load(path, mmap=mmap)  # the blocks are not opened on load
        for query in _QUERIES:
            _guarded(query, loaded)
