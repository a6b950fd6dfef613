"""An MPD (or a DashManifest built directly) that names no segment URL template, or two
representations by one id, is refused naming what is wrong: it cannot be played as read."""

from __future__ import annotations

from typing import Any

import pytest

from designpatterns_ref.streaming import StreamingError
from designpatterns_ref.streaming.manifests import (
    DashManifest,
    Rung,
    parse_dash_mpd,
    write_dash_mpd,
)

LADDER = [Rung("low", 800, 640, 360), Rung("high", 3000, 1280, 720)]
GOOD = write_dash_mpd(LADDER, 2.0, 10.0)
MEDIA = 'media="$RepresentationID$/seg-$Number$.m4s"'


def test_the_written_mpd_reads_back() -> None:
    assert MEDIA in GOOD
    manifest = parse_dash_mpd(GOOD)
    assert manifest.segment_urls("low")[0] == "low/seg-1.m4s"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (GOOD.replace(MEDIA, ""), "SegmentTemplate@media"),
        (GOOD.replace(MEDIA, 'media=""'), "SegmentTemplate@media"),
        (GOOD.replace('id="high"', 'id="low"'), "Representation@id='low'"),
    ],
    ids=["no @media", "empty @media", "duplicate id"],
)
def test_an_mpd_that_cannot_address_its_segments_is_refused(text: str, words: str) -> None:
    with pytest.raises(StreamingError, match=words):
        parse_dash_mpd(text)


def test_the_refusal_of_no_media_says_what_this_reader_supports() -> None:
    with pytest.raises(StreamingError, match="SegmentBase or SegmentList"):
        parse_dash_mpd(GOOD.replace(MEDIA, ""))


FIELDS: dict[str, Any] = {
    "duration_s": 10.0,
    "segment_duration_s": 2.0,
    "media": "$RepresentationID$/$Number$.m4s",
    "initialization": "$RepresentationID$/init.mp4",
    "start_number": 1,
    "representations": tuple(LADDER),
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("media", ""),
        ("representations", (LADDER[0], LADDER[0])),
        ("representations", (LADDER[0], LADDER[1], Rung("low", 400, 320, 180))),
    ],
)
def test_a_dash_manifest_made_with_no_media_or_a_repeated_id_is_refused(
    field: str, value: Any
) -> None:
    with pytest.raises(StreamingError, match=field):
        DashManifest(**{**FIELDS, field: value})
