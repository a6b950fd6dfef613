"""A real encode: a generated test clip into a three-rung H.264 ladder with HLS playlists (PyAV).

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

The rest of the family simulates transcoding; this module does one for real, with PyAV (FFmpeg
in a wheel, the ``video`` extra; imported only inside the functions). :func:`encode_ladder`
draws a short synthetic clip (moving colour bars, so the encoder has motion to code), scales it
to each rung, encodes it with libx264 at the rung's bitrate with a keyframe at every segment
boundary, cuts MPEG-TS segments of ``segment_s`` seconds, and writes each rung's media playlist
and the master playlist with :mod:`~designpatterns_ref.streaming.manifests` (each written whole
or not at all: to a temporary file, fsynced, renamed over the old one, and its folder fsynced;
the master last; every segment is fsynced before the playlist that names it).
:func:`read_back` checks the result the way a player would: it parses the playlists, opens
every segment, decodes its frames and reports their count, size and duration per rung.

Complexity: O(frames x rungs) encode work; a few seconds for the default 4 s clip.

>>> callable(encode_ladder) and callable(read_back)
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import StreamingError, StreamingTypeError, check_int
from designpatterns_ref.streaming.ladder import Rung, _ladder
from designpatterns_ref.streaming.manifests import (
    parse_hls_master,
    parse_hls_media,
    write_hls_master,
    write_hls_media,
)

__all__ = ["DEFAULT_LADDER", "RungReport", "encode_ladder", "read_back"]

DEFAULT_LADDER = (
    Rung("240p", 300, 426, 240, "avc1.42c015"),
    Rung("360p", 700, 640, 360, "avc1.42c01e"),
    Rung("720p", 2000, 1280, 720, "avc1.42c01f"),
)


def _av() -> Any:
    try:
        import av
    except ImportError as exc:  # pragma: no cover - the video extra installs it
        raise StreamingError(
            "PyAV is not installed: pip install 'designpatterns-ref[video]'"
        ) from exc
    return av


def _frame_bytes(width: int, height: int, index: int) -> bytes:
    """RGB colour bars that slide one column per frame, plus a white square that moves."""
    bars = [(235, 235, 235), (235, 235, 16), (16, 235, 235), (16, 235, 16),
            (235, 16, 235), (235, 16, 16), (16, 16, 235), (16, 16, 16)]  # fmt: skip
    row = bytearray()
    for x in range(width):
        row += bytes(bars[((x + index * 4) * len(bars) // width) % len(bars)])
    rows = [bytes(row)] * height
    side = max(2, height // 6)
    top = (index * 3) % max(1, height - side)
    left = (index * 5) % max(1, width - side)
    square = bytes(row[: left * 3]) + b"\xff" * (side * 3) + bytes(row[(left + side) * 3 :])
    for y in range(top, top + side):
        rows[y] = square
    return b"".join(rows)


def _rgb_frame(av: Any, width: int, height: int, data: bytes) -> Any:
    """An RGB frame holding ``data`` (rows of ``width * 3`` bytes, packed).

    FFmpeg aligns every row of a frame's plane to its ``line_size`` (426 pixels wide is 1278
    bytes of colour in rows of 1296), so packed rows are copied in one by one with the padding.
    """
    frame = av.VideoFrame(width, height, "rgb24")
    plane = frame.planes[0]
    row, stride = width * 3, plane.line_size
    if stride != row:
        pad = bytes(stride - row)
        data = b"".join(data[y * row : (y + 1) * row] + pad for y in range(height))
    plane.update(data)
    return frame


def encode_ladder(
    out_dir: str | Path,
    *,
    seconds: int = 4,
    fps: int = 24,
    segment_s: int = 2,
    ladder: tuple[Rung, ...] = DEFAULT_LADDER,
) -> Path:
    """Encode the generated clip to every rung under ``out_dir``; return the master playlist.

    Every rung's width and height must be even (4:2:0 chroma is half the size each way); any
    other frame size, 426x240 and 854x480 included, encodes as given.
    """
    av = _av()
    if not isinstance(out_dir, str | Path):
        raise StreamingTypeError(f"out_dir={shown(out_dir, 60)} must be a str or Path")
    seconds = check_int("seconds", seconds, minimum=1, maximum=600)
    fps = check_int("fps", fps, minimum=1, maximum=120)
    segment_s = check_int("segment_s", segment_s, minimum=1, maximum=seconds)
    if (
        not isinstance(ladder, tuple | list)
        or not ladder
        or not all(isinstance(r, Rung) for r in ladder)
    ):
        raise StreamingTypeError("ladder must be a non-empty tuple of Rung")
    ladder = tuple(_ladder(ladder))  # names differ: each rung gets its own folder
    for i, rung in enumerate(ladder):
        if rung.width % 2 or rung.height % 2:
            raise StreamingError(
                f"ladder[{i}]: {rung.width}x{rung.height} must have an even width and height "
                "(H.264 in 4:2:0 halves both for the colour planes)"
            )
    root = Path(out_dir)
    source_w, source_h = max(r.width for r in ladder), max(r.height for r in ladder)
    total = seconds * fps
    per_segment = segment_s * fps
    sources = [_frame_bytes(source_w, source_h, i) for i in range(total)]
    for rung in ladder:
        folder = root / rung.name
        folder.mkdir(parents=True, exist_ok=True)
        durations = []
        for seg, first in enumerate(range(0, total, per_segment)):
            frames = sources[first : first + per_segment]
            path = folder / f"seg-{seg}.ts"
            with av.open(str(path), mode="w", format="mpegts") as container:
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height = rung.width, rung.height
                stream.pix_fmt = "yuv420p"
                stream.bit_rate = int(rung.bitrate_kbps * 1000)
                stream.options = {"preset": "ultrafast", "g": str(per_segment)}
                for i, data in enumerate(frames):
                    frame = _rgb_frame(av, source_w, source_h, data)
                    frame = frame.reformat(rung.width, rung.height, "yuv420p")
                    frame.pts = i
                    for packet in stream.encode(frame):
                        container.mux(packet)
                for packet in stream.encode():
                    container.mux(packet)
            _sync_file(path)  # the segment's bytes on disk before a playlist names it
            durations.append(len(frames) / fps)
        _write_whole(folder / "index.m3u8", write_hls_media(durations))
    master = root / "master.m3u8"
    _write_whole(master, write_hls_master(list(ladder)))
    return master


def _write_whole(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``: a crash
    part-way leaves the old file or none, never a playlist cut short at a line, which would
    read as a valid playlist of fewer segments or rungs.

    The temporary file is fsynced before the rename, so a power loss cannot leave the new name
    on a file whose bytes never reached the disk (an empty playlist), and the folder is fsynced
    after it (see :func:`_sync_folder`), so the rename itself is on disk when this returns.
    """
    temporary = path.with_name(f".{path.name}.partial")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_file(path: Path) -> None:
    """fsync a file written by another library (a segment PyAV wrote and closed), so that a
    playlist made durable after it never names a segment whose bytes a power loss dropped.
    Opened for writing (nothing is written): Windows flushes only a handle that may write."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    """fsync a folder, making the renames in it durable. Where a folder cannot be opened for
    that (``os.O_DIRECTORY`` is POSIX-only; Windows has no such call), nothing is done."""
    directory = getattr(os, "O_DIRECTORY", None)
    if directory is None:  # pragma: no cover - POSIX has it
        return
    fd = os.open(folder, os.O_RDONLY | directory)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class RungReport:
    """What reading one rung back found."""

    uri: str
    bandwidth_bps: int
    resolution: tuple[int, int] | None
    segments: int
    frames: int
    frame_size: tuple[int, int]
    playlist_s: float
    bytes: int

    @property
    def measured_kbps(self) -> float:
        """Bytes on disk over the playlist duration, in kbit/s."""
        return self.bytes * 8 / 1000 / self.playlist_s if self.playlist_s else 0.0


def read_back(master: str | Path) -> list[RungReport]:
    """Parse the master and media playlists, decode every segment, report each rung.

    A media playlist must end with ``#EXT-X-ENDLIST``, as every video-on-demand one does: one
    that stops short of it was cut off (by a crash while it was written, say) and is refused
    rather than reported as a shorter rung."""
    av = _av()
    if not isinstance(master, str | Path):
        raise StreamingTypeError(f"master={shown(master, 60)} must be a str or Path")
    try:
        return _read_back(av, Path(master))
    except (OSError, UnicodeError, ValueError, av.FFmpegError) as exc:
        if isinstance(exc, StreamingError):
            raise
        raise StreamingError(
            f"master={shown(str(master)[:60])}: cannot read it back: {exc}"
        ) from exc


def _read_back(av: Any, master: Path) -> list[RungReport]:
    out = []
    for variant in parse_hls_master(master.read_text(encoding="utf-8")):
        media_path = master.parent / variant.uri
        media = parse_hls_media(media_path.read_text(encoding="utf-8"))
        if not media.ended:
            raise StreamingError(
                f"{variant.uri}: no #EXT-X-ENDLIST after {len(media.segments)} segments; a "
                "video-on-demand playlist ends with it (this one was cut short)"
            )
        frames, size, nbytes = 0, (0, 0), 0
        for uri, _ in media.segments:
            path = media_path.parent / uri
            nbytes += path.stat().st_size
            with av.open(str(path)) as container:
                for frame in container.decode(video=0):
                    frames += 1
                    size = (frame.width, frame.height)
        out.append(
            RungReport(
                variant.uri,
                variant.bandwidth_bps,
                variant.resolution,
                len(media.segments),
                frames,
                size,
                media.duration_s,
                nbytes,
            )
        )
    return out
