"""DASH manifests: a static MPD written from a bitrate ladder, and parsed back.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

MPEG-DASH (ISO/IEC 23009-1) puts everything in one XML ``MPD``: a ``Period`` with an
``AdaptationSet`` of ``Representation`` elements (``bandwidth``, ``width``, ``height``,
``codecs``) and a ``SegmentTemplate`` that spells every segment's URL (``$RepresentationID$``,
``$Number$``; filled in by :mod:`~designpatterns_ref.streaming.dash_templates`) from a duration
and a timescale, so the MPD stays small however long the title. :func:`write_dash_mpd` and
:func:`parse_dash_mpd` cover that VOD subset; the parser raises
:class:`~designpatterns_ref.streaming.checks.StreamingError` naming the attribute at fault.
The HLS side is :mod:`~designpatterns_ref.streaming.manifests`, which exports every public
name here too.

The writer says exactly what it is given or refuses: the segment duration is written as a
whole number of ticks of a decimal timescale (1.0004 s is 10004 ticks of 1/10000 s, never
rounded to 1.0 s), within the 32-bit ``xs:unsignedInt`` the MPD schema gives both (see
:mod:`~designpatterns_ref.streaming.manifest_numbers`); a bitrate is whole bits/s. The parser
refuses what a player could not honour: an MPD of more than :data:`MAX_SEGMENTS` segments (its
URL list would not fit in memory), more than one Period, a second AdaptationSet of the same
content type, SegmentBase or SegmentList addressing, a ``@media`` it cannot fill in.

Complexity: O(rungs + segments) to write or parse.

>>> from designpatterns_ref.streaming.ladder import Rung
>>> mpd = parse_dash_mpd(write_dash_mpd([Rung("720p", 3000, 1280, 720)], 2.0, 6.0))
>>> mpd.segment_urls("720p")
['720p/seg-1.m4s', '720p/seg-2.m4s', '720p/seg-3.m4s']
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import StreamingError, StreamingTypeError, check_number
from designpatterns_ref.streaming.dash_templates import fill, numbered, template_parts
from designpatterns_ref.streaming.ladder import Rung, _ladder
from designpatterns_ref.streaming.manifest_numbers import (
    _integer,
    _ticks,
    format_iso_duration,
    parse_iso_duration,
)
from designpatterns_ref.streaming.playlists import _uint

__all__ = ["MAX_SEGMENTS", "MPD_NS", "DashManifest", "parse_dash_mpd", "write_dash_mpd"]

MPD_NS = "urn:mpeg:dash:schema:mpd:2011"
#: The most segments an MPD may describe (per representation): 10**6 is 11.5 days of 1 s
#: segments; more would make :meth:`DashManifest.segment_urls` a list too long to hold.
MAX_SEGMENTS = 10**6


@dataclass(frozen=True)
class DashManifest:
    """What a player needs from an MPD: duration, segment timing and the representations.

    Built directly, its fields are checked as :func:`parse_dash_mpd` reads them: durations
    finite, the segment duration positive, at most :data:`MAX_SEGMENTS` segments, the
    templates strings (``media`` not empty, with ``$Number$`` when there is more than one
    segment and no identifier that is not filled in), ``start_number`` a decimal integer, at
    least one :class:`Rung`, no two with one name.
    """

    __module__ = "designpatterns_ref.streaming.manifests"  # where it was defined first: pickles

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
