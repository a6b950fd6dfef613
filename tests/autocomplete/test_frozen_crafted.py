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
from designpatterns_ref.autocomplete._blocks import LONGEST, SECTIONS, Blocks

_ITEMS = [("apple", 5), ("apply", 9), ("ample", 7), ("b\u00e9", 2), ("zz", 1)]
_ITEMS += [(f"w{i}", i) for i in range(200)]


def _write(path: Path, sections: dict[str, Any], *, longest: bool = True) -> None:
    """Write ``sections`` as a frozen file; without ``longest``, as files were written before
    they held their longest term whole."""
    names = (*SECTIONS, LONGEST) if longest and LONGEST in sections else SECTIONS
    storage.write(str(path), "frozen", {name: sections[name] for name in names}, flags=0, param=0)


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


def _bomb(
    tmp_path: Path,
    megabytes: int,
    stride: int | None = None,
    *,
    longest: bytes | None = None,
    older: bool = False,
) -> Path:
    """A file of two terms whose one block inflates to ``megabytes`` MiB of "a", declaring
    ``stride`` and holding ``longest`` whole (``older``: no longest term, as files before)."""
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
        if longest is not None:
            sections[LONGEST] = longest
        _write(path, sections, longest=not older)
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


_BOMB_QUERIES: list[Callable[[FrozenCompleter], object]] = [
    lambda f: "apple" in f,
    lambda f: f.weight("apple"),
    lambda f: f.complete("appel", 1, max_edits=1),
    lambda f: list(f.items()),
]


def _load_or_refuse(path: Path, mmap: bool) -> FrozenCompleter | None:
    try:
        return FrozenCompleter.load(path, mmap=mmap)
    except StorageError as exc:
        assert "inconsistent" in str(exc)
        return None


@pytest.mark.parametrize("older", [False, True])
@pytest.mark.parametrize("mmap", [False, True])
def test_a_declared_longest_term_does_not_let_a_block_inflate_a_thousandfold(
    tmp_path: Path, mmap: bool, older: bool
) -> None:
    # A 33 KB file with a valid checksum declared a longest term of 1032 x its blocks' size
    # (as long as DEFLATE can inflate them): one query then inflated 32 MiB. The longest term
    # now has to be one the file holds whole (older files: the one their blocks inflate to
    # on load, bounded by DEFLATE's ratio), so such a file is refused on load, or its
    # queries are refused in bounded memory.
    size = len(_bomb(tmp_path, 32).read_bytes())
    blocks = len(zlib.compress(b"a" * (32 << 20), 9)) + 64
    for stride in (1032 * blocks, 1032 * size, 2**20):
        path = _bomb(tmp_path, 32, stride, older=older)
        loaded = _load_or_refuse(path, mmap)
        for query in _BOMB_QUERIES if loaded is not None else []:

            def refused(
                query: Callable[[FrozenCompleter], object] = query,
                loaded: FrozenCompleter = loaded,
            ) -> None:
                with pytest.raises(StorageError, match=r"bomb\.dpac"):
                    query(loaded)

            assert _peak(refused) < 1 << 20


@pytest.mark.parametrize("mmap", [False, True])
def test_a_longest_term_held_whole_bounds_what_a_block_inflates_to(
    tmp_path: Path, mmap: bool
) -> None:
    # Held whole, a longest term of 2,000 characters lets a block of two terms inflate to
    # 2 x (4 x 2,000 + 5) bytes, no more; one that does not match the declared length is
    # refused on load.
    long = b"a" * 2000
    path = _bomb(tmp_path, 32, 2001, longest=long)
    loaded = FrozenCompleter.load(path, mmap=mmap)
    for query in _BOMB_QUERIES:

        def refused(query: Callable[[FrozenCompleter], object] = query) -> None:
            with pytest.raises(StorageError, match=r"bomb\.dpac"):
                query(loaded)

        assert _peak(refused) < 256_000  # a block of 32 MiB, held to some 16 KB
    for wrong in (b"a" * 1999, b"a" * 2001, b"\xff" * 2000):
        path = _bomb(tmp_path, 32, 2001, longest=wrong)
        with pytest.raises(StorageError, match="inconsistent"):
            FrozenCompleter.load(path, mmap=mmap)


def test_a_file_saved_without_its_longest_term_loads_and_saves_with_it(tmp_path: Path) -> None:
    built = FrozenCompleter(_ITEMS)
    assert bytes(built._sections[LONGEST]) == b"ample"  # the first of the longest
    older = tmp_path / "older.dpac"
    _write(older, built._sections, longest=False)
    loaded = FrozenCompleter.load(older)
    assert loaded.complete("a", 3) == built.complete("a", 3)
    again = tmp_path / "again.dpac"
    loaded.save(again)
    assert bytes(storage.read(str(again), mapped=False).sections[LONGEST]) == b"ample"
    assert list(FrozenCompleter.load(again).items()) == list(built.items())


@pytest.mark.parametrize("mmap", [False, True])
def test_an_older_file_whose_longest_term_is_long_and_compressible_loads(
    tmp_path: Path, mmap: bool
) -> None:
    # A genuine older file was refused as "inconsistent sizes" when its longest term, held
    # only inside a block, was longer than its blocks, heads and champions together; its
    # longest term is now measured on load by inflating each block once.
    items = [(f"a{i:03}", 1000 + i) for i in range(200)] + [("ha" * 2500, 1)]
    built = FrozenCompleter(items)
    sections = built._sections
    assert len(sections["blks"]) + len(sections["head"]) + len(sections["chmp"]) < 5000
    older = tmp_path / "older.dpac"
    _write(older, sections, longest=False)
    loaded = FrozenCompleter.load(older, mmap=mmap)
    assert list(loaded.items()) == list(built.items())
    assert loaded.complete("h", 1) == built.complete("h", 1)
    assert loaded.complete("hah", 1, max_edits=1) == built.complete("hah", 1, max_edits=1)
    again = tmp_path / "again.dpac"
    loaded.save(again)
    assert bytes(storage.read(str(again), mapped=False).sections[LONGEST]) == b"ha" * 2500


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
