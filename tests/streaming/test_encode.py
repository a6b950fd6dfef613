"""A real PyAV encode of a generated clip into a three-rung ladder, read back like a player."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import av
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.streaming import StreamingError, encode
from designpatterns_ref.streaming.encode import (
    DEFAULT_LADDER,
    _frame_bytes,
    _rgb_frame,
    encode_ladder,
    read_back,
)
from designpatterns_ref.streaming.manifests import Rung, parse_hls_media


def test_three_rung_ladder_reads_back(tmp_path: Path) -> None:
    master = encode_ladder(tmp_path, seconds=2, fps=12, segment_s=1)
    reports = read_back(master)
    assert [r.uri for r in reports] == [f"{r.name}/index.m3u8" for r in DEFAULT_LADDER]
    for report, rung in zip(reports, DEFAULT_LADDER, strict=True):
        assert report.bandwidth_bps == rung.bitrate_kbps * 1000
        assert report.resolution == report.frame_size == (rung.width, rung.height)
        assert report.segments == 2
        assert report.frames == 24  # every frame of every segment decodes
        assert report.playlist_s == pytest.approx(2.0)
        assert report.bytes > 0
    sizes = [r.bytes for r in reports]
    assert sizes[-1] > sizes[0]  # the top rung costs more bytes than the bottom one


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StreamingError, match="segment_s"):
        encode_ladder(tmp_path, seconds=2, segment_s=3)
    with pytest.raises(StreamingError, match="out_dir"):
        encode_ladder(None)  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())


def test_widths_ffmpeg_pads_encode_as_given(tmp_path: Path) -> None:
    # 426 and 854 pixels of RGB are 1278 and 2562 bytes, in rows FFmpeg pads to 1296 and 2592
    ladder = (Rung("240p", 300, 426, 240), Rung("480p", 900, 854, 480))
    reports = read_back(encode_ladder(tmp_path, seconds=1, fps=2, segment_s=1, ladder=ladder))
    assert [r.frame_size for r in reports] == [(426, 240), (854, 480)]
    assert [r.frames for r in reports] == [2, 2]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.integers(2, 6), st.integers(0, 50))
def test_a_frame_holds_its_packed_rows(width: int, height: int, index: int) -> None:
    data = _frame_bytes(width, height, index)
    plane = _rgb_frame(av, width, height, data).planes[0]
    stride, row = plane.line_size, width * 3
    got = bytes(plane)
    for y in range(height):
        assert got[y * stride : y * stride + row] == data[y * row : (y + 1) * row]


@pytest.mark.parametrize(("width", "height"), [(427, 240), (426, 241)])
def test_odd_frame_sizes_are_refused(tmp_path: Path, width: int, height: int) -> None:
    with pytest.raises(StreamingError, match=f"{width}x{height} must have an even"):
        encode_ladder(
            tmp_path, seconds=1, fps=2, segment_s=1, ladder=(Rung("a", 300, width, height),)
        )
    assert not any(tmp_path.iterdir())


def test_two_rungs_of_one_name_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    ladder = (Rung("a", 300, 256, 144), Rung("a", 700, 640, 360))
    with pytest.raises(StreamingError, match=r"ladder\[1\]: name='a' is also ladder\[0\]'s"):
        encode_ladder(tmp_path, seconds=1, fps=2, segment_s=1, ladder=ladder)
    assert not any(tmp_path.iterdir())


LADDER = (Rung("a", 300, 256, 144), Rung("b", 700, 640, 360))


def test_a_media_playlist_cut_short_is_refused(tmp_path: Path) -> None:
    """A playlist cut at a line (what a crash while writing it leaves) used to read back as a
    valid rung of fewer segments."""
    master = encode_ladder(tmp_path, seconds=3, fps=2, segment_s=1, ladder=LADDER)
    media = tmp_path / "b" / "index.m3u8"
    lines = media.read_text(encoding="utf-8").splitlines(keepends=True)
    media.write_text("".join(lines[:7]), encoding="utf-8")  # up to the first segment's URI
    with pytest.raises(StreamingError, match=r"b/index.m3u8: no #EXT-X-ENDLIST after 1 segments"):
        read_back(master)


@pytest.mark.parametrize("failing", [1, 2, 3])
def test_a_crash_while_writing_a_playlist_leaves_none_cut_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: int
) -> None:
    """The ``failing``-th playlist write stops half-way (the process dies): every playlist on
    disk afterwards is whole, and no master points at a rung that is not."""
    calls = 0
    fsync = os.fsync

    def crashing(fd: int) -> None:
        nonlocal calls
        if stat.S_ISREG(os.fstat(fd).st_mode):
            calls += 1
            if calls == failing:  # only half the playlist reached the file
                os.ftruncate(fd, os.fstat(fd).st_size // 2)
                raise OSError("the process died here")
        fsync(fd)

    monkeypatch.setattr(os, "fsync", crashing)
    monkeypatch.setattr(encode, "_sync_file", lambda path: None)  # the segments: not playlists
    with pytest.raises(OSError, match="died"):
        encode_ladder(tmp_path, seconds=2, fps=2, segment_s=1, ladder=LADDER)
    monkeypatch.undo()
    assert not (tmp_path / "master.m3u8").exists()
    for playlist in tmp_path.rglob("*.m3u8"):
        media = parse_hls_media(playlist.read_text(encoding="utf-8"))
        assert media.ended and len(media.segments) == 2


def test_every_playlist_is_synced_before_its_rename_and_its_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power loss cannot leave a playlist's name on bytes that never reached the disk: each
    playlist's own file is fsynced before it is renamed into place, and its folder (where the
    platform can open one) after, so the rename is on disk too; and every segment a playlist
    names is fsynced before that playlist is written."""
    events: list[tuple[str, int]] = []  # ("file" | "folder" fsync, or "rename", inode)
    fsync, replace = os.fsync, os.replace

    def spy_fsync(fd: int) -> None:
        info = os.fstat(fd)
        events.append(("folder" if stat.S_ISDIR(info.st_mode) else "file", info.st_ino))
        fsync(fd)

    def spy_replace(src: Path, dst: Path) -> None:
        events.append(("rename", os.stat(src).st_ino))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    master = encode_ladder(tmp_path, seconds=2, fps=2, segment_s=1, ladder=LADDER)
    monkeypatch.undo()
    playlists = [tmp_path / "a" / "index.m3u8", tmp_path / "b" / "index.m3u8", master]
    renames = [i for i, (kind, _) in enumerate(events) if kind == "rename"]
    assert len(renames) == len(playlists)
    for at, playlist in zip(renames, playlists, strict=True):
        inode = os.stat(playlist).st_ino
        assert events[at] == ("rename", inode)
        assert ("file", inode) in events[:at]
        if hasattr(os, "O_DIRECTORY"):
            assert ("folder", os.stat(playlist.parent).st_ino) in events[at + 1 :]
    for rung, at in zip("ab", renames, strict=False):  # each rung's segments before its playlist
        for segment in sorted((tmp_path / rung).glob("seg-*.ts")):
            assert ("file", os.stat(segment).st_ino) in events[:at], segment.name
