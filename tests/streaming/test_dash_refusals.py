"""An MPD (or a DashManifest built directly) that names no segment URL template, or two
representations by one id, is refused naming what is wrong: it cannot be played as read."""

from __future__ import annotations

from collections.abc import Callable
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


UNNUMBERED = ["$RepresentationID$/seg.m4s", "$RepresentationID$/seg-$Bandwidth$-$$.m4s"]
# valid DASH or not, identifiers this reader does not fill in: refused whatever the count
UNFILLED = [
    ("$RepresentationID$/seg-$Time$.m4s", r"\$Time\$ is not filled in"),
    ("$RepresentationID$/seg-$Number$-$Time$.m4s", r"\$Time\$ is not filled in"),
    ("$RepresentationID$/$Number$-$Index$.m4s", r"\$Index\$ is not filled in"),
    ("$RepresentationID%02d$/$Number$.m4s", r"\$RepresentationID%02d\$ is not filled in"),
    ("$RepresentationID$/$Number%021d$.m4s", "pads to 21 digits"),
    ("$RepresentationID$/$Number$-a$b.m4s", "the '\\$' at 29 is not closed"),
]


@pytest.mark.parametrize("media", UNNUMBERED)
def test_a_media_template_without_number_is_refused(media: str) -> None:
    """Five segments of one URL: a player would fetch the same bytes five times."""
    text = GOOD.replace(MEDIA, f'media="{media}"')
    with pytest.raises(StreamingError, match=r"SegmentTemplate@media=.*no \$Number\$"):
        parse_dash_mpd(text)
    with pytest.raises(StreamingError, match=r"media=.*no \$Number\$: all 5 segments"):
        DashManifest(**{**FIELDS, "media": media})


@pytest.mark.parametrize(("media", "error"), UNFILLED)
@pytest.mark.parametrize("duration_s", [2.0, 10.0])
def test_an_identifier_not_filled_in_is_refused(media: str, error: str, duration_s: float) -> None:
    """Never a '$Time$' left in a URL: the MPD is refused instead."""
    text = write_dash_mpd(LADDER, 2.0, duration_s).replace(MEDIA, f'media="{media}"')
    with pytest.raises(StreamingError, match=r"SegmentTemplate@media=.*" + error):
        parse_dash_mpd(text)
    with pytest.raises(StreamingError, match=r"media=.*" + error):
        DashManifest(**{**FIELDS, "media": media, "duration_s": duration_s})


@pytest.mark.parametrize("media", UNNUMBERED)
def test_one_segment_needs_no_number(media: str) -> None:
    manifest = DashManifest(**{**FIELDS, "media": media, "duration_s": 2.0})
    expected = media.replace("$RepresentationID$", "low").replace("$Bandwidth$", "800000")
    assert manifest.segment_urls("low") == [expected.replace("$$", "$")]
    text = write_dash_mpd(LADDER, 2.0, 2.0).replace(MEDIA, f'media="{media}"')
    assert parse_dash_mpd(text).segment_urls("low") == manifest.segment_urls("low")


# template pieces and what each becomes in segment n's URL (None: the template is refused)
PIECES: dict[str, Callable[[int], str] | None] = {
    "$Number$": str,
    "$Number%05d$": lambda n: f"{n:05d}",
    "$Number%01d$": str,
    "$Bandwidth$": lambda n: "800000",
    "$Bandwidth%08d$": lambda n: "00800000",
    "$RepresentationID$": lambda n: "low",
    "$$": lambda n: "$",
    "a": lambda n: "a",
    "/": lambda n: "/",
    "$Time$": None,
    "$Foo$": None,
}


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(sorted(PIECES)), min_size=1, max_size=4),
    segments=st.integers(1, 6),
)
def test_every_segment_url_is_its_own_and_fully_filled(pieces: list[str], segments: int) -> None:
    """The oracle: each piece's own expansion; a manifest is made exactly when every piece is
    filled in and its segments' URLs are all different."""
    media = "".join(pieces)
    fields = {**FIELDS, "media": media, "duration_s": 2.0 * segments}
    spell = [PIECES[p] for p in pieces]
    try:
        manifest = DashManifest(**fields)
    except StreamingError:
        if all(f is not None for f in spell):
            urls = ["".join(f(n) for f in spell if f) for n in range(1, segments + 1)]
            assert len(set(urls)) < segments
    else:
        assert all(f is not None for f in spell)
        urls = ["".join(f(n) for f in spell if f) for n in range(1, segments + 1)]
        assert manifest.segment_urls("low") == urls
        assert len(set(urls)) == segments
