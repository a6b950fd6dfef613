"""A real PyAV encode of a generated clip into a three-rung ladder, read back like a player."""

from __future__ import annotations

from pathlib import Path

import pytest

from designpatterns_ref.streaming import StreamingError
from designpatterns_ref.streaming.encode import DEFAULT_LADDER, encode_ladder, read_back


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
