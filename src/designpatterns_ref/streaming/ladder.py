"""The bitrate ladder a manifest describes: its rungs, each checked, and a ladder for a title.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

A :class:`Rung` is one rendition: a name that goes into URIs and folder names as it is, a
bitrate, a frame size and the codecs. Every writer of
:mod:`~designpatterns_ref.streaming.manifests` (HLS) and :mod:`~designpatterns_ref.streaming.dash`
(DASH) takes a ladder of them, checked here: 1 to 1000 rungs, no two of one name (a rung's
playlist and segment URIs are named after it). :func:`ladder_for` gives a Sabre manifest's
bitrates 16:9 frame sizes that rise with the bitrate. Every public name here is exported by
:mod:`~designpatterns_ref.streaming.manifests` too.

Complexity: O(rungs).

>>> ladder = ladder_for(Manifest(2000, [400, 3000], [[1, 2]]))
>>> ladder[0].name, ladder[-1].name
('r0-144p', 'r1-1440p')
>>> ladder[-1].width, ladder[-1].height
(2560, 1440)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import (
    Manifest,
    StreamingError,
    StreamingTypeError,
    check_list,
)

__all__ = ["DEFAULT_CODECS", "Rung", "ladder_for"]

DEFAULT_CODECS = "avc1.64001f,mp4a.40.2"
_HEIGHTS = (144, 240, 360, 432, 540, 720, 1080, 1440, 2160)
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

    __module__ = "designpatterns_ref.streaming.manifests"  # where it was defined first: pickles

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
