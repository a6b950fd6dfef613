"""An MPD (or a DashManifest built directly) that names no segment URL template, or two
representations by one id, is refused naming what is wrong: it cannot be played as read."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


UNNUMBERED = [
    "$RepresentationID$/seg.m4s",
    "$RepresentationID$/seg-$Time$.m4s",  # valid DASH, but not filled in here
    "$RepresentationID$/seg-$Number%05d$.m4s",  # likewise
]


@pytest.mark.parametrize("media", UNNUMBERED)
def test_a_media_template_without_number_is_refused(media: str) -> None:
    """Five segments of one URL: a player would fetch the same bytes five times."""
    text = GOOD.replace(MEDIA, f'media="{media}"')
    with pytest.raises(StreamingError, match=r"SegmentTemplate@media=.*no \$Number\$"):
        parse_dash_mpd(text)
    with pytest.raises(StreamingError, match=r"media=.*no \$Number\$: all 5 segments"):
        DashManifest(**{**FIELDS, "media": media})


@pytest.mark.parametrize("media", UNNUMBERED)
def test_one_segment_needs_no_number(media: str) -> None:
    manifest = DashManifest(**{**FIELDS, "media": media, "duration_s": 2.0})
    assert manifest.segment_urls("low") == [media.replace("$RepresentationID$", "low")]
    text = write_dash_mpd(LADDER, 2.0, 2.0).replace(MEDIA, f'media="{media}"')
    assert parse_dash_mpd(text).segment_urls("low") == manifest.segment_urls("low")


@settings(max_examples=200, deadline=None)
@given(
    media=st.lists(
        st.sampled_from(["$Number$", "$Time$", "$Number%05d$", "$", "Number", "a", "/"]),
        min_size=1,
        max_size=4,
    ).map("".join),
    segments=st.integers(1, 6),
)
def test_every_segment_url_is_its_own(media: str, segments: int) -> None:
    """The oracle: a manifest is made exactly when its segments' URLs are all different."""
    fields = {**FIELDS, "media": media, "duration_s": 2.0 * segments}
    try:
        manifest = DashManifest(**fields)
    except StreamingError:
        urls = [media.replace("$Number$", str(n)) for n in range(1, segments + 1)]
        assert len(set(urls)) < segments
    else:
        urls = manifest.segment_urls("low")
        assert len(set(urls)) == len(urls) == segments
