"""HLS and DASH manifests written from a bitrate ladder, and parsed back: the HLS writers here.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

A player learns the ladder from a manifest. HLS (RFC 8216) uses a *master* playlist listing one
``#EXT-X-STREAM-INF`` variant per rung (``BANDWIDTH`` in bits/s, ``RESOLUTION``, ``CODECS``) and
one *media* playlist per rung listing its segments (``#EXTINF:<seconds>,`` then the URI, ended
by ``#EXT-X-ENDLIST`` for video on demand). MPEG-DASH (ISO/IEC 23009-1) puts everything in one
XML ``MPD``: a ``Period`` with an ``AdaptationSet`` of ``Representation`` elements and a
``SegmentTemplate`` that spells every segment's URL from a duration and a timescale. Writers and
parsers cover that VOD subset, one module a job, and every public name of them is importable
from here: this module writes HLS playlists from a ladder of
:class:`~designpatterns_ref.streaming.ladder.Rung`
(:mod:`~designpatterns_ref.streaming.ladder`), :mod:`~designpatterns_ref.streaming.playlists`
reads them back, :mod:`~designpatterns_ref.streaming.dash` writes and reads the MPD (its segment
URLs filled in by :mod:`~designpatterns_ref.streaming.dash_templates`), and
:mod:`~designpatterns_ref.streaming.manifest_numbers` reads and writes their numbers exactly
(integers are ASCII digits up to 2**64 - 1, durations ASCII digits with an optional fraction).
The parsers raise :class:`~designpatterns_ref.streaming.checks.StreamingError` naming the line or
attribute at fault.

Writers say exactly what they are given or refuse: a DASH segment duration is written as a
whole number of ticks of a decimal timescale (1.0004 s is 10004 ticks of 1/10000 s, never
rounded to 1.0 s), within the 32-bit ``xs:unsignedInt`` the MPD schema gives both; durations
(``#EXTINF`` included) are written as the shortest decimal that reads back as the same float
(more than 20 decimals: refused); a bitrate is at least 1 bit/s (``BANDWIDTH`` and
``@bandwidth`` are whole bits/s); a media playlist of several segments names them apart with
``{n}``. Parsers refuse what a player could not honour: an MPD of more than
:data:`~designpatterns_ref.streaming.dash.MAX_SEGMENTS` segments (its URL list would not fit in
memory), an HLS segment whose rounded ``#EXTINF`` exceeds ``#EXT-X-TARGETDURATION`` wherever the
tag appears, two ``#EXT-X-STREAM-INF`` or two ``#EXTINF`` tags before one URI, either without a
URI after it, an unterminated quoted string.

Complexity: O(rungs + segments) to write or parse.

>>> ladder = [Rung("360p", 800, 640, 360), Rung("720p", 3000, 1280, 720)]
>>> tuple(v.bandwidth_bps for v in parse_hls_master(write_hls_master(ladder)))
(800000, 3000000)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import StreamingError, check_list
from designpatterns_ref.streaming.dash import (
    MAX_SEGMENTS,
    DashManifest,
    parse_dash_mpd,
    write_dash_mpd,
)
from designpatterns_ref.streaming.dash import (
    MPD_NS as MPD_NS,  # the constants that lived here stay importable from here
)
from designpatterns_ref.streaming.ladder import DEFAULT_CODECS as DEFAULT_CODECS
from designpatterns_ref.streaming.ladder import Rung, _ladder, ladder_for
from designpatterns_ref.streaming.manifest_numbers import (
    _exact_decimal,
    format_iso_duration,
    parse_iso_duration,
)
from designpatterns_ref.streaming.playlists import (
    MediaPlaylist,
    Variant,
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


def _uri(name: str, value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[\x21-\x7e]+", value):
        raise StreamingError(f"{name}={shown(value, 60)} must be printable ASCII without spaces")
    return value


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
