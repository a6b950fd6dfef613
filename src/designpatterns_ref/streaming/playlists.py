"""HLS playlists read back: the variants of a master playlist, the segments of a media playlist.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

:func:`parse_hls_master` and :func:`parse_hls_media` read the VOD subset of RFC 8216 that
:mod:`~designpatterns_ref.streaming.manifests` writes (and that exports them too), raising
:class:`~designpatterns_ref.streaming.checks.StreamingError` naming the line at fault. They refuse
what a player could not honour: an HLS segment whose ``#EXTINF``, rounded to the nearest second
from its exact text (halves up, RFC 8216 4.3.3.1), exceeds ``#EXT-X-TARGETDURATION`` wherever
the tag appears, two ``#EXT-X-STREAM-INF`` or two ``#EXTINF`` tags before one URI (each
describes the next URI, RFC 8216 4.3.2.1), either tag without a URI after it, an unterminated
quoted string.
:class:`Variant` and :class:`MediaPlaylist` check their fields as the parsers read them, so one
built directly is one a playlist could have spelled.

Complexity: O(lines) to parse.

>>> parse_hls_media("#EXTM3U\\n#EXT-X-TARGETDURATION:4\\n#EXTINF:3.5,\\ns0.ts").segments
(('s0.ts', 3.5),)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import StreamingError, StreamingTypeError
from designpatterns_ref.streaming.manifest_numbers import _DECIMAL, _MAX_INTEGER, _integer

__all__ = ["MediaPlaylist", "Variant", "parse_hls_master", "parse_hls_media"]


def _uint(name: str, value: object) -> None:
    """Refuse what a manifest's decimal-integer cannot be: a non-int, or outside 0..2**64 - 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise StreamingTypeError(f"{name}={shown(value, 60)} must be an int")
    if not 0 <= value <= _MAX_INTEGER:
        raise StreamingError(f"{name}={shown(value, 60)} must be in 0..2**64 - 1")


def _line(name: str, value: object) -> None:
    """Refuse what a playlist's URI line cannot be: empty, a tag, spaces at either end, or
    holding a line break (a parser strips each line and reads ``#`` lines as tags)."""
    if not isinstance(value, str):
        raise StreamingTypeError(f"{name}={shown(value, 60)} must be a str")
    if not value or value.startswith("#") or value.strip() != value or len(value.splitlines()) > 1:
        raise StreamingError(
            f"{name}={shown(value, 60)} must be one line, not empty, not starting with '#', "
            "without spaces at either end"
        )


@dataclass(frozen=True)
class Variant:
    """One ``#EXT-X-STREAM-INF`` entry of a master playlist.

    Built directly, its fields are checked as :func:`parse_hls_master` reads them: a URI line,
    a bandwidth and a resolution of decimal integers, codecs a one-line string without '"'.
    """

    uri: str
    bandwidth_bps: int
    resolution: tuple[int, int] | None
    codecs: str | None

    def __post_init__(self) -> None:
        _line("uri", self.uri)
        _uint("bandwidth_bps", self.bandwidth_bps)
        if self.resolution is not None:
            if not isinstance(self.resolution, tuple) or len(self.resolution) != 2:
                raise StreamingTypeError(
                    f"resolution={shown(self.resolution, 60)} must be None or a (width, height) "
                    "tuple"
                )
            _uint("resolution[0]", self.resolution[0])
            _uint("resolution[1]", self.resolution[1])
        if self.codecs is not None:
            if not isinstance(self.codecs, str):
                raise StreamingTypeError(f"codecs={shown(self.codecs, 60)} must be None or a str")
            if '"' in self.codecs or len(self.codecs.splitlines()) > 1:
                raise StreamingError(
                    f"codecs={shown(self.codecs, 60)} must be one line without '\"'"
                )


@dataclass(frozen=True)
class MediaPlaylist:
    """A media playlist: target duration, the segments (URI, seconds), and whether it ends.

    Built directly, its fields are checked as :func:`parse_hls_media` reads them: decimal
    integers, URI lines, durations in [0, 1e6) s, none longer than the target once rounded to
    the nearest second. The parser rounds the text (``2.5`` is 3 s); a float exactly half a
    second over the target may have been read from a longer text that rounds down
    (``2.49999999999999999999`` is the float 2.5), so only a duration more than half a second
    over is refused here.
    """

    target_duration: int
    media_sequence: int
    segments: tuple[tuple[str, float], ...]
    ended: bool

    def __post_init__(self) -> None:
        _uint("target_duration", self.target_duration)
        _uint("media_sequence", self.media_sequence)
        if not isinstance(self.segments, tuple):
            raise StreamingTypeError(
                f"segments={shown(self.segments, 60)} must be a tuple of (uri, seconds)"
            )
        for i, seg in enumerate(self.segments):
            if not isinstance(seg, tuple) or len(seg) != 2:
                raise StreamingTypeError(f"segments[{i}]={shown(seg, 60)} must be a (uri, seconds)")
            _line(f"segments[{i}] uri", seg[0])
            d = seg[1]
            if isinstance(d, bool) or not isinstance(d, int | float) or not 0 <= d < 1e6:
                raise StreamingError(
                    f"segments[{i}] seconds={shown(d, 60)} must be a number in [0, 1e6)"
                )
            if Fraction(d) > self.target_duration + Fraction(1, 2):
                raise StreamingError(
                    f"segments[{i}] seconds={shown(d)} is longer than target_duration="
                    f"{self.target_duration} (rounded to the nearest second)"
                )
        if not isinstance(self.ended, bool):
            raise StreamingTypeError(f"ended={shown(self.ended, 60)} must be a bool")

    @property
    def duration_s(self) -> float:
        """Sum of the segment durations."""
        return sum(d for _, d in self.segments)


def _attributes(text: str, line_no: int) -> dict[str, str]:
    out = {}
    pattern = r'([A-Z0-9-]+)=("[^"]*"|[^,"]*)(,|$)'  # an unterminated quote matches neither
    pos = 0
    while pos < len(text):
        m = re.compile(pattern).match(text, pos)
        if m is None:
            raise StreamingError(f"line {line_no}: cannot read attributes at {shown(text[pos:])}")
        out[m.group(1)] = m.group(2).strip('"')
        pos = m.end()
    return out


def _lines(text: object) -> list[str]:
    if not isinstance(text, str):
        raise StreamingTypeError(f"text={shown(text)} must be a str")
    lines = [ln.strip() for ln in text.splitlines()]
    if not lines or lines[0] != "#EXTM3U":
        raise StreamingError("line 1: a playlist must start with #EXTM3U")
    return lines


def parse_hls_master(text: str) -> list[Variant]:
    """The variants of a master playlist, in order."""
    lines = _lines(text)
    out, pending = [], None
    for no, line in enumerate(lines[1:], start=2):
        if line.startswith("#EXT-X-STREAM-INF:"):
            if pending is not None:  # RFC 8216 4.3.4.2: the next line is the variant's URI
                raise StreamingError(
                    f"line {no}: #EXT-X-STREAM-INF after the one on line {pending[1]} before "
                    "its URI"
                )
            pending = (_attributes(line.split(":", 1)[1], no), no)
        elif line and not line.startswith("#"):
            if pending is None:
                raise StreamingError(f"line {no}: URI {shown(line)} without #EXT-X-STREAM-INF")
            attrs, at = pending
            if "BANDWIDTH" not in attrs:
                raise StreamingError(f"line {at}: BANDWIDTH missing")
            bandwidth = _integer(attrs["BANDWIDTH"], f"line {at}: BANDWIDTH")
            res = None
            if "RESOLUTION" in attrs:
                width, x, height = attrs["RESOLUTION"].partition("x")
                if not x:
                    raise StreamingError(
                        f"line {at}: RESOLUTION={shown(attrs['RESOLUTION'], 60)} must be WxH"
                    )
                where = f"line {at}: RESOLUTION"
                res = (_integer(width, where), _integer(height, where))
            out.append(Variant(line, bandwidth, res, attrs.get("CODECS")))
            pending = None
    if pending is not None:
        raise StreamingError(f"line {pending[1]}: #EXT-X-STREAM-INF without a URI")
    if not out:
        raise StreamingError("master playlist lists no variant")
    return out


def parse_hls_media(text: str) -> MediaPlaylist:
    """The segments of a media playlist."""
    lines = _lines(text)
    target, sequence, ended = None, 0, False
    segments, duration, rounded, extinf_no = [], None, [], 0
    for no, line in enumerate(lines[1:], start=2):
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = _integer(line.split(":", 1)[1], f"line {no}: EXT-X-TARGETDURATION")
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = _integer(line.split(":", 1)[1], f"line {no}: EXT-X-MEDIA-SEQUENCE")
        elif line.startswith("#EXTINF:"):
            if duration is not None:  # RFC 8216 4.3.2.1: it describes the next URI
                raise StreamingError(
                    f"line {no}: #EXTINF after the one on line {extinf_no} before its URI"
                )
            extinf_no = no
            value = line.split(":", 1)[1].split(",", 1)[0]
            if _DECIMAL.fullmatch(value) is None:
                raise StreamingError(
                    f"line {no}: EXTINF duration {shown(value, 60)} must be ASCII digits, "
                    "optionally with a decimal point"
                )
            duration = float(value)
            if not 0 <= duration < 1e6:
                raise StreamingError(f"line {no}: EXTINF duration {shown(value)} out of range")
            # rounded to the nearest integer, halves up (RFC 8216 4.3.3.1), from the exact text
            nearest = math.floor(Fraction(value) + Fraction(1, 2))
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif line and not line.startswith("#"):
            if duration is None:
                raise StreamingError(f"line {no}: URI {shown(line)} without #EXTINF")
            segments.append((line, duration))
            rounded.append((nearest, no))
            duration = None
    if duration is not None:
        raise StreamingError(f"line {extinf_no}: #EXTINF without a URI")
    if target is None:
        raise StreamingError("media playlist has no #EXT-X-TARGETDURATION")
    for nearest, no in rounded:  # every segment, wherever the tag was
        if nearest > target:
            raise StreamingError(
                f"line {no}: segment of {nearest} s (rounded) longer than "
                f"EXT-X-TARGETDURATION {target}"
            )
    return MediaPlaylist(target, sequence, tuple(segments), ended)
