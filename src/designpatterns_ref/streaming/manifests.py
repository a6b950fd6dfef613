"""HLS and DASH manifests written from a bitrate ladder, and parsed back.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

A player learns the ladder from a manifest. HLS (RFC 8216) uses a *master* playlist listing one
``#EXT-X-STREAM-INF`` variant per rung (``BANDWIDTH`` in bits/s, ``RESOLUTION``, ``CODECS``) and
one *media* playlist per rung listing its segments (``#EXTINF:<seconds>,`` then the URI, ended
by ``#EXT-X-ENDLIST`` for video on demand). MPEG-DASH (ISO/IEC 23009-1) puts everything in one
XML ``MPD``: a ``Period`` with an ``AdaptationSet`` of ``Representation`` elements (``bandwidth``,
``width``, ``height``, ``codecs``) and a ``SegmentTemplate`` that spells every segment's URL
(``$RepresentationID$``, ``$Number$``) from a duration and a timescale, so the MPD stays small
however long the title. Writers and parsers here cover that VOD subset; the parsers raise
:class:`~designpatterns_ref.streaming.base.StreamingError` naming the line or attribute at fault.
Numbers are read as the RFC spells them: integers are ASCII digits up to 2**64 - 1 (no "²" or
"٣", which ``str.isdigit`` would let through), durations ASCII digits with an optional fraction.

Complexity: O(rungs + segments) to write or parse.

>>> ladder = [Rung("360p", 800, 640, 360), Rung("720p", 3000, 1280, 720)]
>>> tuple(v.bandwidth_bps for v in parse_hls_master(write_hls_master(ladder)))
(800000, 3000000)
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from designpatterns_ref.streaming.base import (
    Manifest,
    StreamingError,
    StreamingTypeError,
    check_list,
    check_number,
)

__all__ = [
    "DashManifest",
    "MediaPlaylist",
    "Rung",
    "Variant",
    "format_iso_duration",
    "ladder_for",
    "parse_dash_mpd",
    "parse_hls_master",
    "parse_hls_media",
    "parse_iso_duration",
    "write_dash_mpd",
    "write_hls_master",
    "write_hls_media",
]

MPD_NS = "urn:mpeg:dash:schema:mpd:2011"
DEFAULT_CODECS = "avc1.64001f,mp4a.40.2"
_HEIGHTS = (144, 240, 360, 432, 540, 720, 1080, 1440, 2160)
# RFC 8216's decimal-integer (0 to 2**64 - 1) and decimal-floating-point: ASCII digits only.
# str.isdigit() and int() also take "²" or "٣", and int() refuses more than 4,300 digits.
_INTEGER = re.compile(r"[0-9]{1,20}")
_DECIMAL = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?")
_MAX_INTEGER = 2**64 - 1


def _integer(value: str | None, where: str) -> int:
    """``value`` as a decimal integer of ASCII digits up to 2**64 - 1, else StreamingError."""
    if value is None or _INTEGER.fullmatch(value) is None or int(value) > _MAX_INTEGER:
        raise StreamingError(
            f"{where}={value!r:.60} must be a decimal integer (ASCII digits, 0 to 2**64 - 1)"
        )
    return int(value)


@dataclass(frozen=True)
class Rung:
    """One rendition of the ladder: a name (used in URIs), bitrate and frame size."""

    name: str
    bitrate_kbps: float
    width: int
    height: int
    codecs: str = DEFAULT_CODECS

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", self.name):
            raise StreamingError(f"name={self.name!r} must be letters, digits, '_', '.', '-'")
        if isinstance(self.bitrate_kbps, bool) or not isinstance(self.bitrate_kbps, int | float):
            raise StreamingTypeError(f"bitrate_kbps={self.bitrate_kbps!r} must be a number")
        if not 0 < self.bitrate_kbps < 1e9:
            raise StreamingError(f"bitrate_kbps={self.bitrate_kbps!r} must be in (0, 1e9)")
        for field_name in ("width", "height"):
            v = getattr(self, field_name)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= 16384:
                raise StreamingError(f"{field_name}={v!r} must be an int in 1..16384")
        if not isinstance(self.codecs, str) or not re.fullmatch(
            r"[\x20-\x21\x23-\x7e]+", self.codecs
        ):
            raise StreamingError(f"codecs={self.codecs!r:.60} must be printable ASCII without '\"'")


def _ladder(value: object) -> list[Rung]:
    items = check_list("ladder", value, min_len=1, max_len=1000)
    for i, rung in enumerate(items):
        if not isinstance(rung, Rung):
            raise StreamingTypeError(f"ladder[{i}]={rung!r:.60} must be a Rung")
    return items


def _uri(name: str, value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[\x21-\x7e]+", value):
        raise StreamingError(f"{name}={value!r:.60} must be printable ASCII without spaces")
    return value


def ladder_for(manifest: Manifest) -> list[Rung]:
    """A 16:9 ladder for a Sabre manifest's bitrates (frame sizes rise with the bitrate)."""
    if not isinstance(manifest, Manifest):
        raise StreamingTypeError(f"manifest={manifest!r:.60} must be a Manifest")
    out = []
    n = manifest.rungs
    for i, kbps in enumerate(manifest.bitrates_kbps):
        h = _HEIGHTS[min(len(_HEIGHTS) - 1, round(i * (len(_HEIGHTS) - 2) / max(1, n - 1)))]
        w = (h * 16 // 9 + 1) // 2 * 2
        out.append(Rung(f"r{i}-{h}p", kbps, w, h))
    return out


@dataclass(frozen=True)
class Variant:
    """One ``#EXT-X-STREAM-INF`` entry of a master playlist."""

    uri: str
    bandwidth_bps: int
    resolution: tuple[int, int] | None
    codecs: str | None


@dataclass(frozen=True)
class MediaPlaylist:
    """A media playlist: target duration, the segments (URI, seconds), and whether it ends."""

    target_duration: int
    media_sequence: int
    segments: tuple[tuple[str, float], ...]
    ended: bool

    @property
    def duration_s(self) -> float:
        """Sum of the segment durations."""
        return sum(d for _, d in self.segments)


def write_hls_master(ladder: Sequence[Rung], media_name: str = "index.m3u8") -> str:
    """The master playlist: one variant per rung, pointing at ``<rung>/<media_name>``."""
    ladder = _ladder(ladder)
    media_name = _uri("media_name", media_name)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rung in ladder:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={round(rung.bitrate_kbps * 1000)},"
            f'RESOLUTION={rung.width}x{rung.height},CODECS="{rung.codecs}"'
        )
        lines.append(f"{rung.name}/{media_name}")
    return "\n".join(lines) + "\n"


def write_hls_media(durations_s: Sequence[float], uri: str = "seg-{n}.ts") -> str:
    """A VOD media playlist for segments of the given durations (``{n}`` counts from 0)."""
    durations_s = check_list("durations_s", durations_s, min_len=1)
    uri = _uri("uri", uri)
    for i, d in enumerate(durations_s):
        if isinstance(d, bool) or not isinstance(d, int | float) or not 0 < d < 1e6:
            raise StreamingError(f"durations_s[{i}]={d!r} must be a positive number of seconds")
    target = math.ceil(max(durations_s) - 1e-9)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    for n, d in enumerate(durations_s):
        lines.append(f"#EXTINF:{d:.6f},")
        lines.append(uri.replace("{n}", str(n)))
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _attributes(text: str, line_no: int) -> dict[str, str]:
    out = {}
    pattern = r'([A-Z0-9-]+)=("[^"]*"|[^,]*)(,|$)'
    pos = 0
    while pos < len(text):
        m = re.compile(pattern).match(text, pos)
        if m is None:
            raise StreamingError(f"line {line_no}: cannot read attributes at {text[pos:]!r}")
        out[m.group(1)] = m.group(2).strip('"')
        pos = m.end()
    return out


def _lines(text: object) -> list[str]:
    if not isinstance(text, str):
        raise StreamingTypeError(f"text={text!r} must be a str")
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
            pending = (_attributes(line.split(":", 1)[1], no), no)
        elif line and not line.startswith("#"):
            if pending is None:
                raise StreamingError(f"line {no}: URI {line!r} without #EXT-X-STREAM-INF")
            attrs, at = pending
            if "BANDWIDTH" not in attrs:
                raise StreamingError(f"line {at}: BANDWIDTH missing")
            bandwidth = _integer(attrs["BANDWIDTH"], f"line {at}: BANDWIDTH")
            res = None
            if "RESOLUTION" in attrs:
                width, x, height = attrs["RESOLUTION"].partition("x")
                if not x:
                    raise StreamingError(
                        f"line {at}: RESOLUTION={attrs['RESOLUTION']!r:.60} must be WxH"
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
    segments, duration = [], None
    for no, line in enumerate(lines[1:], start=2):
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = _integer(line.split(":", 1)[1], f"line {no}: EXT-X-TARGETDURATION")
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = _integer(line.split(":", 1)[1], f"line {no}: EXT-X-MEDIA-SEQUENCE")
        elif line.startswith("#EXTINF:"):
            value = line.split(":", 1)[1].split(",", 1)[0]
            if _DECIMAL.fullmatch(value) is None:
                raise StreamingError(
                    f"line {no}: EXTINF duration {value!r:.60} must be ASCII digits, "
                    "optionally with a decimal point"
                )
            duration = float(value)
            if not 0 <= duration < 1e6:
                raise StreamingError(f"line {no}: EXTINF duration {value!r} out of range")
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif line and not line.startswith("#"):
            if duration is None:
                raise StreamingError(f"line {no}: URI {line!r} without #EXTINF")
            if target is not None and round(duration) > target:
                raise StreamingError(f"line {no}: segment longer than EXT-X-TARGETDURATION")
            segments.append((line, duration))
            duration = None
    if target is None:
        raise StreamingError("media playlist has no #EXT-X-TARGETDURATION")
    return MediaPlaylist(target, sequence, tuple(segments), ended)


def format_iso_duration(seconds: float) -> str:
    """``PT#H#M#S`` (xs:duration) for a number of seconds."""
    seconds = check_number("seconds", seconds)
    if not 0 <= seconds < 1e9:
        raise StreamingError(f"seconds={seconds!r} must be in [0, 1e9)")
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    out = "PT"
    if h:
        out += f"{int(h)}H"
    if m:
        out += f"{int(m)}M"
    return out + f"{s:.3f}".rstrip("0").rstrip(".") + "S"


def parse_iso_duration(text: str) -> float:
    """Seconds in a ``PnDTnHnMnS`` duration (days, hours, minutes, seconds)."""
    if not isinstance(text, str):
        raise StreamingTypeError(f"text={text!r:.60} must be a str")
    n = r"[0-9]{1,15}"  # ASCII digits; 15 keep every part exact and the total finite
    m = re.fullmatch(rf"P(?:({n})D)?(?:T(?:({n})H)?(?:({n})M)?(?:({n}(?:\.{n})?)S)?)?", text)
    if m is None or text in ("P", "PT"):
        raise StreamingError(
            f"duration {text!r:.60} is not an ISO 8601 duration like PT1M30S "
            "(ASCII digits, at most 15 a number)"
        )
    d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return d * 86400 + h * 3600 + mi * 60 + s


@dataclass(frozen=True)
class DashManifest:
    """What a player needs from an MPD: duration, segment timing and the representations."""

    duration_s: float
    segment_duration_s: float
    media: str
    initialization: str
    start_number: int
    representations: tuple[Rung, ...]

    @property
    def segment_count(self) -> int:
        """Segments per representation."""
        return math.ceil(self.duration_s / self.segment_duration_s - 1e-9)

    def segment_urls(self, representation: str) -> list[str]:
        """Every media segment URL of a representation, from the template."""
        ids = [r.name for r in self.representations]
        if not isinstance(representation, str) or representation not in ids:
            raise StreamingError(f"representation={representation!r} must be one of {ids}")
        return [
            self.media.replace("$RepresentationID$", representation).replace("$Number$", str(n))
            for n in range(self.start_number, self.start_number + self.segment_count)
        ]


def write_dash_mpd(ladder: Sequence[Rung], segment_duration_s: float, duration_s: float) -> str:
    """A static (VOD) MPD with one video AdaptationSet and a SegmentTemplate."""
    ladder = _ladder(ladder)
    segment_duration_s = check_number("segment_duration_s", segment_duration_s, strict=True)
    duration_s = check_number("duration_s", duration_s, strict=True)
    if not 0 < segment_duration_s <= duration_s < 1e9:
        raise StreamingError(
            f"segment_duration_s={segment_duration_s!r}, duration_s={duration_s!r}: need "
            "0 < segment duration <= duration"
        )
    ET.register_namespace("", MPD_NS)
    mpd = ET.Element(
        f"{{{MPD_NS}}}MPD",
        {
            "type": "static",
            "profiles": "urn:mpeg:dash:profile:isoff-live:2011",
            "minBufferTime": format_iso_duration(2 * segment_duration_s),
            "mediaPresentationDuration": format_iso_duration(duration_s),
        },
    )
    period = ET.SubElement(mpd, f"{{{MPD_NS}}}Period", {"id": "0", "start": "PT0S"})
    aset = ET.SubElement(
        period,
        f"{{{MPD_NS}}}AdaptationSet",
        {"mimeType": "video/mp4", "segmentAlignment": "true", "startWithSAP": "1"},
    )
    ET.SubElement(
        aset,
        f"{{{MPD_NS}}}SegmentTemplate",
        {
            "timescale": "1000",
            "duration": str(round(segment_duration_s * 1000)),
            "startNumber": "1",
            "initialization": "$RepresentationID$/init.mp4",
            "media": "$RepresentationID$/seg-$Number$.m4s",
        },
    )
    for rung in ladder:
        ET.SubElement(
            aset,
            f"{{{MPD_NS}}}Representation",
            {
                "id": rung.name,
                "bandwidth": str(round(rung.bitrate_kbps * 1000)),
                "width": str(rung.width),
                "height": str(rung.height),
                "codecs": rung.codecs,
            },
        )
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(mpd, encoding="unicode")


def _int_attr(el: ET.Element, name: str) -> int:
    return _integer(el.get(name), f"{el.tag.split('}')[-1]}@{name}")


def parse_dash_mpd(text: str) -> DashManifest:
    """Read back the subset :func:`write_dash_mpd` writes (one period, a SegmentTemplate)."""
    if not isinstance(text, str):
        raise StreamingTypeError(f"text={text!r} must be a str")
    try:
        root = ET.fromstring(text)
    except (ET.ParseError, ValueError) as exc:
        raise StreamingError(f"MPD is not well-formed XML: {exc}") from None
    ns = {"d": MPD_NS}
    if root.tag != f"{{{MPD_NS}}}MPD":
        raise StreamingError(f"root element {root.tag!r} must be MPD in {MPD_NS}")
    duration = parse_iso_duration(root.get("mediaPresentationDuration", ""))
    aset = root.find("d:Period/d:AdaptationSet", ns)
    if aset is None:
        raise StreamingError("MPD has no Period/AdaptationSet")
    tmpl = aset.find("d:SegmentTemplate", ns)
    if tmpl is None:
        raise StreamingError("AdaptationSet has no SegmentTemplate")
    timescale = _int_attr(tmpl, "timescale")
    seg = _int_attr(tmpl, "duration")
    if timescale == 0 or seg == 0:
        raise StreamingError("SegmentTemplate@timescale and @duration must be positive")
    reps = []
    for el in aset.findall("d:Representation", ns):
        reps.append(
            Rung(
                el.get("id", ""),
                _int_attr(el, "bandwidth") / 1000,
                _int_attr(el, "width"),
                _int_attr(el, "height"),
                el.get("codecs", DEFAULT_CODECS),
            )
        )
    if not reps:
        raise StreamingError("AdaptationSet has no Representation")
    return DashManifest(
        duration,
        seg / timescale,
        tmpl.get("media", ""),
        tmpl.get("initialization", ""),
        _int_attr(tmpl, "startNumber") if "startNumber" in tmpl.attrib else 1,
        tuple(reps),
    )
