"""FrozenCompleter's blocks are raw DEFLATE streams of their own, and files saved before, whose
blocks are the parts of one stream between full flushes (the same format version 2), still
load and answer as they did."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.autocomplete import BruteForceCompleter, FrozenCompleter, storage
from designpatterns_ref.autocomplete.base import Completer

DATA = Path(__file__).parent / "data"

# NUL (the blocks then keep the terms' lengths), astral characters, lone surrogates, accents,
# and up to 300 distinct weights (classes of two byte planes).
LETTERS = st.sampled_from(["a", "b", "é", "\U0001f600", "\x00", "\udfff", "Z"])
terms = st.lists(LETTERS, min_size=1, max_size=6).map("".join)
vocab = st.lists(st.tuples(terms, st.integers(0, 3) | st.integers(0, 299)), max_size=120)


class ThreeABlock(FrozenCompleter):
    BLOCK = 3


def fixture_items() -> list[tuple[str, int]]:
    """The items of ``data/frozen-v2-flushed.dpac`` (saved by the code before the change):
    600 terms with shared stems, accents and an astral character, 300 distinct weights."""
    stems = ["auto", "autom", "automat", "été", "naïve", "\U0001f600x", "b", "ba", "bab"]
    return [
        (f"{stems[i % len(stems)]}{i * 7 % 97:02d}{'xyz'[i % 3] * (i % 4)}", (i * 37) % 300)
        for i in range(600)
    ]


def fixture_nul_items() -> list[tuple[str, int]]:
    """The items of ``data/frozen-v2-flushed-nul.dpac``: terms with a NUL, blocks of 3,
    casefold."""
    return [*fixture_items()[:150], ("a\x00b", 7), ("a\x00", 3)]


def answers(completer: Completer, prefixes: list[str]) -> list[object]:
    out: list[object] = [list(completer.items()), len(completer)]
    for prefix in prefixes:
        out += [completer.complete(prefix, k) for k in (1, 3, 50)]
    for prefix in prefixes[:: max(1, len(prefixes) // 8)]:
        out.append(completer.complete(prefix, 4, max_edits=1))
    for term, weight in completer.items():
        out.append((term in completer, completer.weight(term) == weight))
    return out


def prefixes_of(items: list[tuple[str, int]]) -> list[str]:
    found = {""} | {term[:i] for term, _ in items for i in range(1, len(term) + 1)}
    return sorted(found | {"zz", "b\U0001f600"})


def chunks(frozen: FrozenCompleter) -> list[bytes]:
    s = frozen._sections
    offsets = s["boff"]
    return [bytes(s["blks"][offsets[b] : offsets[b + 1]]) for b in range(len(offsets) - 1)]


def is_whole_stream(chunk: bytes) -> bool:
    """Whether ``chunk`` is one complete raw DEFLATE stream, nothing after it."""
    inflater = zlib.decompressobj(-15)
    inflater.decompress(chunk)
    return inflater.eof and not inflater.unused_data


def flushed(payloads: list[bytes]) -> list[bytes]:
    """The blocks as the writer before wrote them: one raw DEFLATE stream flushed in full
    after each block, less the empty stored block each flush ends with."""
    mark = b"\x00\x00\xff\xff"
    packer = zlib.compressobj(6, zlib.DEFLATED, -15, 9)
    out = []
    for payload in payloads:
        chunk = packer.compress(payload) + packer.flush(zlib.Z_FULL_FLUSH)
        out.append(chunk[:-4] if chunk.endswith(mark) else chunk)
    return out


def save_with_blocks(frozen: FrozenCompleter, blocks: list[bytes], path: Path) -> None:
    """Save ``frozen`` with its block section replaced by ``blocks`` (same payloads)."""
    s: dict[str, Any] = {name: frozen._sections[name] for name in frozen._sections}
    ends = [0]
    for chunk in blocks:
        ends.append(ends[-1] + len(chunk))
    s["blks"] = b"".join(blocks)
    s["boff"] = type(s["boff"])(s["boff"].typecode, ends)
    flags = storage.FLAG_CASEFOLD if frozen._casefold else 0
    storage.write(str(path), "frozen", s, flags=flags, param=0)


@settings(max_examples=40)
@example(items=[("a\x00", 1), ("a", 2), ("b", 299)], casefold=False)
@given(items=vocab, casefold=st.booleans())
def test_each_block_is_a_raw_deflate_stream_of_its_own(
    items: list[tuple[str, int]], casefold: bool
) -> None:
    for cls in (FrozenCompleter, ThreeABlock):
        frozen = cls(items, casefold=casefold)
        blocks = chunks(frozen)
        assert all(map(is_whole_stream, blocks))
        for b, chunk in enumerate(blocks):  # each decodes alone, as the block the reader opens
            terms, _ = frozen._at.open(b)
            assert zlib.decompress(chunk, -15) == zlib.decompressobj(-15).decompress(chunk)
            assert terms == [t for t, _ in list(frozen.items())[b * cls.BLOCK :][: cls.BLOCK]]


@settings(max_examples=30)
@example(items=[("a\x00", 1), ("a", 2), ("b", 299), ("ab", 5)], casefold=True)
@given(items=vocab, casefold=st.booleans())
def test_a_file_with_flushed_blocks_loads_and_answers_as_the_build(
    tmp_path_factory: pytest.TempPathFactory, items: list[tuple[str, int]], casefold: bool
) -> None:
    # The same sections with each block written as the code before wrote it: the parts of one
    # stream between full flushes. The reader takes both forms.
    folder = tmp_path_factory.mktemp("flushed")
    prefixes = prefixes_of(items)
    for cls in (FrozenCompleter, ThreeABlock):
        frozen = cls(items, casefold=casefold)
        payloads = [zlib.decompress(chunk, -15) for chunk in chunks(frozen)]
        old = flushed(payloads)
        assert [zlib.decompressobj(-15).decompress(chunk) for chunk in old] == payloads
        path = folder / f"{cls.__name__}.dpac"
        save_with_blocks(frozen, old, path)
        expected = answers(frozen, prefixes)
        for mmap in (False, True):
            loaded = FrozenCompleter.load(path, mmap=mmap)
            assert chunks(loaded) == old  # read as written, not rebuilt
            assert answers(loaded, prefixes) == expected


@pytest.mark.parametrize(
    ("name", "items", "casefold"),
    [
        ("frozen-v2-flushed.dpac", fixture_items(), False),
        ("frozen-v2-flushed-nul.dpac", fixture_nul_items(), True),
    ],
)
def test_files_saved_before_the_change_still_load_and_answer_the_same(
    tmp_path: Path, name: str, items: list[tuple[str, int]], casefold: bool
) -> None:
    path = DATA / name
    data = path.read_bytes()
    version = struct.unpack_from("<8sH", data)[1]
    assert version == storage.VERSIONS["frozen"] == 2  # the format version did not change
    oracle = BruteForceCompleter(items, casefold=casefold)
    built = FrozenCompleter(items, casefold=casefold)
    prefixes = prefixes_of(items)
    for mmap in (False, True):
        loaded = FrozenCompleter.load(path, mmap=mmap)
        assert not any(map(is_whole_stream, chunks(loaded)))  # the form written before
        assert answers(loaded, prefixes) == answers(oracle, prefixes) == answers(built, prefixes)
        assert loaded.complete("auto", 5) == built.complete("auto", 5)
    copy = tmp_path / "again.dpac"  # a loaded completer saves its blocks as they are
    FrozenCompleter.load(path).save(copy)
    assert answers(FrozenCompleter.load(copy), prefixes) == answers(oracle, prefixes)
