"""HLS and DASH manifests written from a bitrate ladder, and parsed back.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

A player learns the ladder from a manifest. HLS (RFC 8216) uses a *master* playlist listing one
``#EXT-X-STREAM-INF`` variant per rung (``BANDWIDTH`` in bits/s, ``RESOLUTION``, ``CODECS``) and
one *media* playlist per rung listing its segments (``#EXTINF:<seconds>,`` then the URI, ended
by ``#EXT-X-ENDLIST`` for video on demand). MPEG-DASH (ISO/IEC 23009-1) puts everything in one
XML ``MPD``: a ``Period`` with an ``AdaptationSet`` of ``Representation`` elements (``bandwidth``,
``width``, ``height``, ``codecs``) and a ``SegmentTemplate`` that spells every segment's URL
(``$RepresentationID$``, ``$Number$``; filled in by
:mod:`~designpatterns_ref.streaming.dash_templates`) from a duration and a timescale, so the MPD
stays small however long the title. Writers and parsers here cover that VOD subset; the parsers
raise :class:`~designpatterns_ref.streaming.base.StreamingError` naming the line or attribute at
fault.
Numbers are read and written exactly by :mod:`~designpatterns_ref.streaming.manifest_numbers`
(integers are ASCII digits up to 2**64 - 1, durations ASCII digits with an optional fraction)
and HLS playlists are read by :mod:`~designpatterns_ref.streaming.playlists`; every public name
of both stays importable from here.

Writers say exactly what they are given or refuse: a DASH segment duration is written as a
whole number of ticks of a decimal timescale (1.0004 s is 10004 ticks of 1/10000 s, never
rounded to 1.0 s), within the 32-bit ``xs:unsignedInt`` the MPD schema gives both; durations
(``#EXTINF`` included) are written as the shortest decimal that reads back as the same float
(more than 20 decimals: refused); a bitrate is at least 1 bit/s (``BANDWIDTH`` and
``@bandwidth`` are whole bits/s); a media playlist of several segments names them apart with
``{n}``. Parsers refuse what a player could not honour: an MPD of more than :data:`MAX_SEGMENTS`
segments (its URL list would not fit in memory), an HLS segment whose rounded ``#EXTINF`` exceeds
``#EXT-X-TARGETDURATION`` wherever the tag appears, two ``#EXT-X-STREAM-INF`` or two ``#EXTINF``
tags before one URI, either without a URI after it, an unterminated quoted string.

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
from fractions import Fraction

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import (
    Manifest,
    StreamingError,
    StreamingTypeError,
    check_list,
    check_number,
)
from designpatterns_ref.streaming.dash_templates import fill, numbered, template_parts
from designpatterns_ref.streaming.manifest_numbers import (
    _exact_decimal,
    _integer,
    _ticks,
    format_iso_duration,
    parse_iso_duration,
)
from designpatterns_ref.streaming.playlists import (
    MediaPlaylist,
    Variant,
    _uint,
    parse_hls_master,
    parse_hls_media,
)

__all__ = [
    "MAX_SEGMENTS",
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
#: The most segments an MPD may describe (per representation): 10**6 is 11.5 days of 1 s
#: segments; more would make :meth:`DashManifest.segment_urls` a list too long to hold.
MAX_SEGMENTS = 10**6
# a rung name: characters a URL path segment holds literally (RFC 3986 pchar less '%', '$',
# ':' and '*'), so it is safe in a URI and as a folder name
_NAME = re.compile(r"[A-Za-z0-9_.~=+,;@!&'()-]+")


@dataclass(frozen=True)
class Rung:
    """One rendition of the ladder: a name (used in URIs), bitrate, frame size and codecs.

    The name goes into URIs and folder names as it is, so it is made of characters a URL path
    segment holds literally: letters, digits and ``_ . - ~ = + , ; @ ! & ' ( )`` (a DASH
    ``Representation@id`` such as ``video=800000`` is one), never ``.`` or ``..`` alone.
    ``codecs`` is None when unknown (an MPD that does not say): the writers then leave the
    attribute out rather than name codecs the media may not use.
    """

    name: str
    bitrate_kbps: float
    width: int
    height: int
    codecs: str | None = DEFAULT_CODECS

    def __post_init__(self) -> None:
        if (
            not isinstance(self.name, str)
            or not _NAME.fullmatch(self.name)
            or self.name in (".", "..")
        ):
            raise StreamingError(
                f"name={shown(self.name)} must be letters, digits and _ . - ~ = + , ; @ ! & ' ( ) "
                "(not '.' or '..')"
            )
        if isinstance(self.bitrate_kbps, bool) or not isinstance(self.bitrate_kbps, int | float):
            raise StreamingTypeError(f"bitrate_kbps={shown(self.bitrate_kbps)} must be a number")
        # manifests carry whole bits per second: at least 1, and a bitrate just under 1e9 kbps
        # written as 10**12 bits/s must read back
        if not 0.001 <= self.bitrate_kbps <= 1e9:
            raise StreamingError(
                f"bitrate_kbps={shown(self.bitrate_kbps)} must be in [0.001, 1e9] (at least 1 "
                "bit/s)"
            )
        for field_name in ("width", "height"):
            v = getattr(self, field_name)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= 16384:
                raise StreamingError(f"{field_name}={shown(v)} must be an int in 1..16384")
        if self.codecs is not None and (
            not isinstance(self.codecs, str)
            or not re.fullmatch(r"[\x20-\x21\x23-\x7e]+", self.codecs)
        ):
            raise StreamingError(
                f"codecs={shown(self.codecs, 60)} must be None or printable ASCII without '\"'"
            )


def _ladder(value: object) -> list[Rung]:
    """A ladder of 1 to 1000 rungs, no two of one name (a rung's URIs are named after it)."""
    items = check_list("ladder", value, min_len=1, max_len=1000)
    seen: dict[str, int] = {}
    for i, rung in enumerate(items):
        if not isinstance(rung, Rung):
            raise StreamingTypeError(f"ladder[{i}]={shown(rung, 60)} must be a Rung")
        if rung.name in seen:
            raise StreamingError(
                f"ladder[{i}]: name={shown(rung.name)} is also ladder[{seen[rung.name]}]'s; "
                "names must differ (a rung's playlist and segment URIs are named after it)"
            )
        seen[rung.name] = i
    return items


def _uri(name: str, value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[\x21-\x7e]+", value):
        raise StreamingError(f"{name}={shown(value, 60)} must be printable ASCII without spaces")
    return value


def ladder_for(manifest: Manifest) -> list[Rung]:
    """A 16:9 ladder for a Sabre manifest's bitrates (frame sizes rise with the bitrate)."""
    if not isinstance(manifest, Manifest):
        raise StreamingTypeError(f"manifest={shown(manifest, 60)} must be a Manifest")
    out = []
    n = manifest.rungs
    for i, kbps in enumerate(manifest.bitrates_kbps):
        h = _HEIGHTS[min(len(_HEIGHTS) - 1, round(i * (len(_HEIGHTS) - 2) / max(1, n - 1)))]
        w = (h * 16 // 9 + 1) // 2 * 2
        out.append(Rung(f"r{i}-{h}p", kbps, w, h))
    return out


def write_hls_master(ladder: Sequence[Rung], media_name: str = "index.m3u8") -> str:
    """The master playlist: one variant per rung, pointing at ``<rung>/<media_name>``."""
    ladder = _ladder(ladder)
    media_name = _uri("media_name", media_name)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rung in ladder:
        codecs = "" if rung.codecs is None else f',CODECS="{rung.codecs}"'
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={round(rung.bitrate_kbps * 1000)},"
            f"RESOLUTION={rung.width}x{rung.height}{codecs}"
        )
        lines.append(f"{rung.name}/{media_name}")
    return "\n".join(lines) + "\n"


def write_hls_media(durations_s: Sequence[float], uri: str = "seg-{n}.ts") -> str:
    """A VOD media playlist for segments of the given durations (``{n}`` counts from 0).

    Every ``#EXTINF`` is the shortest decimal that reads back as the same float (RFC 8216 makes
    it a decimal-floating-point, with no limit on the digits); a duration that needs more than
    20 decimals is refused rather than rounded. With more than one segment ``uri`` must hold
    ``{n}``, or every segment would name the same file.
    """
    durations_s = check_list("durations_s", durations_s, min_len=1)
    uri = _uri("uri", uri)
    if len(durations_s) > 1 and "{n}" not in uri:
        raise StreamingError(
            f"uri={shown(uri, 60)} has no {{n}}: all {len(durations_s)} segments would be one file"
        )
    extinf = []
    for i, d in enumerate(durations_s):
        if isinstance(d, bool) or not isinstance(d, int | float) or not 0 < d < 1e6:
            raise StreamingError(
                f"durations_s[{i}]={shown(d)} must be a positive number of seconds below 1e6"
            )
        extinf.append(f"{_exact_decimal(f'durations_s[{i}]', d):f}")
    target = math.ceil(max(durations_s) - 1e-9)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    for n, d in enumerate(extinf):
        lines.append(f"#EXTINF:{d},")
        lines.append(uri.replace("{n}", str(n)))
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class DashManifest:
    """What a player needs from an MPD: duration, segment timing and the representations.

    Built directly, its fields are checked as :func:`parse_dash_mpd` reads them: durations
    finite, the segment duration positive, at most :data:`MAX_SEGMENTS` segments, the
    templates strings (``media`` not empty, with ``$Number$`` when there is more than one
    segment and no identifier that is not filled in), ``start_number`` a decimal integer, at
    least one :class:`Rung`, no two with one name.
    """

    duration_s: float
    segment_duration_s: float
    media: str
    initialization: str
    start_number: int
    representations: tuple[Rung, ...]

    def __post_init__(self) -> None:
        # an MPD's xs:duration reaches 9e19 s, its SegmentTemplate 2**64 - 1 s a segment
        duration = check_number("duration_s", self.duration_s, limit=1e20)
        segment = check_number(
            "segment_duration_s", self.segment_duration_s, strict=True, limit=1e20
        )
        count = _segment_count(duration, segment)
        if count > MAX_SEGMENTS:
            raise StreamingError(
                f"duration_s={shown(self.duration_s)}, "
                f"segment_duration_s={shown(self.segment_duration_s)}: "
                f"{count} segments, more than MAX_SEGMENTS={MAX_SEGMENTS}"
            )
        for name in ("media", "initialization"):
            if not isinstance(getattr(self, name), str):
                raise StreamingTypeError(f"{name}={shown(getattr(self, name), 60)} must be a str")
        if not self.media:
            raise StreamingError("media='' must be a segment URL template (every URL was empty)")
        _check_numbered("media", self.media, count)
        _uint("start_number", self.start_number)
        reps = self.representations
        if not isinstance(reps, tuple) or not reps:
            raise StreamingTypeError(f"representations={shown(reps, 60)} must be a tuple of Rung")
        seen: set[str] = set()
        for i, rung in enumerate(reps):
            if not isinstance(rung, Rung):
                raise StreamingTypeError(f"representations[{i}]={shown(rung, 60)} must be a Rung")
            if rung.name in seen:
                raise StreamingError(
                    f"representations[{i}]: name={shown(rung.name)} is used twice (a segment URL "
                    "names its representation by it)"
                )
            seen.add(rung.name)

    @property
    def segment_count(self) -> int:
        """Segments per representation: ``ceil(duration / segment duration)``, computed exactly.

        A last segment shorter than a billionth of a segment (a float's error in the
        duration, ``0.1 * 3`` for 0.3) is not counted.
        """
        return _segment_count(self.duration_s, self.segment_duration_s)

    def segment_urls(self, representation: str) -> list[str]:
        """Every media segment URL of a representation, from the template (``$RepresentationID$``,
        ``$Number$`` and ``$Bandwidth$``, each number with an optional ``%0<width>d``, and
        ``$$`` for a ``$``)."""
        ids = [r.name for r in self.representations]
        if not isinstance(representation, str) or representation not in ids:
            raise StreamingError(f"representation={shown(representation)} must be one of {ids}")
        if self.segment_count > MAX_SEGMENTS:
            raise StreamingError(
                f"{self.segment_count} segments, more than MAX_SEGMENTS={MAX_SEGMENTS}"
            )
        parts = template_parts("media", self.media)
        bandwidth = round(self.representations[ids.index(representation)].bitrate_kbps * 1000)
        return [
            fill(parts, representation, n, bandwidth)
            for n in range(self.start_number, self.start_number + self.segment_count)
        ]


def _check_numbered(where: str, media: str, count: int) -> None:
    """Refuse a ``media`` template this reader cannot fill in (see
    :mod:`~designpatterns_ref.streaming.dash_templates`), or one without ``$Number$`` when there
    are segments to tell apart: every one of them would get the same URL."""
    parts = template_parts(where, media)
    if count > 1 and not numbered(parts):
        raise StreamingError(
            f"{where}={shown(media, 60)} has no $Number$: all {count} segments would get one URL"
        )


def _segment_count(duration_s: float, segment_duration_s: float) -> int:
    return math.ceil(Fraction(duration_s) / Fraction(segment_duration_s) - Fraction(1, 10**9))


def write_dash_mpd(ladder: Sequence[Rung], segment_duration_s: float, duration_s: float) -> str:
    """A static (VOD) MPD with one video AdaptationSet and a SegmentTemplate.

    The segment duration is written exactly (``SegmentTemplate@duration`` ticks of a decimal
    ``@timescale``, 1000 when milliseconds suffice); one the MPD cannot carry exactly, a
    duration needing more than 20 decimals, or more than :data:`MAX_SEGMENTS` segments is a
    :class:`StreamingError`, so what is written always reads back as the same numbers.
    """
    ladder = _ladder(ladder)
    segment_duration_s = check_number("segment_duration_s", segment_duration_s, strict=True)
    duration_s = check_number("duration_s", duration_s, strict=True)
    if not 0 < segment_duration_s <= duration_s < 1e9:
        raise StreamingError(
            f"segment_duration_s={shown(segment_duration_s)}, duration_s={shown(duration_s)}: need "
            "0 < segment duration <= duration"
        )
    ticks, timescale = _ticks(segment_duration_s)
    count = _segment_count(duration_s, segment_duration_s)
    if count > MAX_SEGMENTS:
        raise StreamingError(
            f"segment_duration_s={shown(segment_duration_s)}, duration_s={shown(duration_s)}: "
            f"{count} segments, more than MAX_SEGMENTS={MAX_SEGMENTS}"
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
            "timescale": str(timescale),
            "duration": str(ticks),
            "startNumber": "1",
            "initialization": "$RepresentationID$/init.mp4",
            "media": "$RepresentationID$/seg-$Number$.m4s",
        },
    )
    for rung in ladder:
        attrs = {
            "id": rung.name,
            "bandwidth": str(round(rung.bitrate_kbps * 1000)),
            "width": str(rung.width),
            "height": str(rung.height),
        }
        if rung.codecs is not None:
            attrs["codecs"] = rung.codecs
        ET.SubElement(aset, f"{{{MPD_NS}}}Representation", attrs)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(mpd, encoding="unicode")


def _content_type(aset: ET.Element) -> str | None:
    """An AdaptationSet's ``@contentType``, else the type of its ``@mimeType``, else None."""
    return aset.get("contentType") or aset.get("mimeType", "").split("/")[0] or None


def _int_attr(el: ET.Element, name: str) -> int:
    return _integer(el.get(name), f"{el.tag.split('}')[-1]}@{name}")


def _inherited_int(rep: ET.Element, aset: ET.Element, name: str) -> int:
    """A Representation's integer attribute, else its AdaptationSet's (ISO/IEC 23009-1 puts
    the common attributes on either)."""
    if name not in rep.attrib and name in aset.attrib:
        return _int_attr(aset, name)
    return _int_attr(rep, name)


# What parse_dash_mpd reads of the ways an MPD may address its segments.
_ADDRESSING = (
    "this reader takes segments addressed by the AdaptationSet's SegmentTemplate@media "
    "($RepresentationID$, $Number$, $Bandwidth$), not SegmentBase or SegmentList"
)


def parse_dash_mpd(text: str) -> DashManifest:
    """Read back the subset :func:`write_dash_mpd` writes (one period, a SegmentTemplate with
    ``@media`` holding ``$Number$``; SegmentBase and SegmentList are refused, as are a ``@media``
    without ``$Number$`` for more than one segment, a ``@media`` holding an identifier this
    reader does not fill in (``$Time$``; see :mod:`~designpatterns_ref.streaming.dash_templates`)
    and two representations with one ``@id``).

    The first AdaptationSet is read. More than one Period, or a second AdaptationSet of the same
    content type (``@contentType``, else ``@mimeType``'s type; two without either count as the
    same), is refused rather than read as part of the first.

    A Representation's ``@codecs`` is its own, else its AdaptationSet's, else None (unknown);
    its ``@width`` and ``@height`` its own, else its AdaptationSet's. A SegmentTemplate without
    ``@timescale`` counts in seconds (the schema's default of 1).
    """
    if not isinstance(text, str):
        raise StreamingTypeError(f"text={shown(text)} must be a str")
    try:
        root = ET.fromstring(text)
    except (ET.ParseError, ValueError) as exc:
        raise StreamingError(f"MPD is not well-formed XML: {exc}") from None
    ns = {"d": MPD_NS}
    if root.tag != f"{{{MPD_NS}}}MPD":
        raise StreamingError(f"root element {shown(root.tag)} must be MPD in {MPD_NS}")
    duration = parse_iso_duration(root.get("mediaPresentationDuration", ""))
    periods = root.findall("d:Period", ns)
    if len(periods) > 1:
        raise StreamingError(
            f"MPD has {len(periods)} Periods; this reader takes one (segment numbers and URLs "
            "start again in every Period, so reading one as the whole title would be wrong)"
        )
    asets = root.findall("d:Period/d:AdaptationSet", ns)
    if not asets:
        raise StreamingError("MPD has no Period/AdaptationSet")
    aset = asets[0]
    kind = _content_type(aset)
    same = [a for a in asets if _content_type(a) == kind]
    if len(same) > 1:
        raise StreamingError(
            f"Period has {len(same)} AdaptationSets of content type {shown(kind)}; this reader "
            "takes one (it would read the first and drop the other renditions)"
        )
    tmpl = aset.find("d:SegmentTemplate", ns)
    if tmpl is None:
        raise StreamingError(f"AdaptationSet has no SegmentTemplate; {_ADDRESSING}")
    timescale = _int_attr(tmpl, "timescale") if "timescale" in tmpl.attrib else 1
    seg = _int_attr(tmpl, "duration")
    if timescale == 0 or seg == 0:
        raise StreamingError("SegmentTemplate@timescale and @duration must be positive")
    segment_s = seg / timescale  # > 0: both are ints from 1 to 2**64 - 1
    count = _segment_count(duration, segment_s)
    if count > MAX_SEGMENTS:
        raise StreamingError(
            f"MPD describes {count} segments (mediaPresentationDuration {duration} s in "
            f"segments of {seg}/{timescale} s), more than MAX_SEGMENTS={MAX_SEGMENTS}"
        )
    reps = []
    for el in aset.findall("d:Representation", ns):
        reps.append(
            Rung(
                el.get("id", ""),
                _int_attr(el, "bandwidth") / 1000,
                _inherited_int(el, aset, "width"),
                _inherited_int(el, aset, "height"),
                el.get("codecs", aset.get("codecs")),
            )
        )
        if reps[-1].name in (r.name for r in reps[:-1]):
            raise StreamingError(
                f"Representation@id={shown(reps[-1].name)} is used twice: an id is unique in its "
                "Period"
            )
    if not reps:
        raise StreamingError("AdaptationSet has no Representation")
    if not tmpl.get("media"):  # absent or empty: every segment URL would be empty
        raise StreamingError(f"SegmentTemplate@media is missing or empty; {_ADDRESSING}")
    _check_numbered("SegmentTemplate@media", tmpl.get("media", ""), count)
    return DashManifest(
        duration,
        segment_s,
        tmpl.get("media", ""),
        tmpl.get("initialization", ""),
        _int_attr(tmpl, "startNumber") if "startNumber" in tmpl.attrib else 1,
        tuple(reps),
    )
