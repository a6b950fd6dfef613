"""What an MPD's structure says reaches the parsed manifest: attributes an AdaptationSet gives
its Representations, Periods, and nothing made up where the MPD is silent."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.streaming import StreamingError
from designpatterns_ref.streaming.manifests import (
    Rung,
    parse_dash_mpd,
    parse_hls_master,
    write_dash_mpd,
    write_hls_master,
)

NS = "urn:mpeg:dash:schema:mpd:2011"
TEMPLATE = '<SegmentTemplate timescale="1" duration="2" media="$RepresentationID$/$Number$.m4s"/>'
codecs = st.one_of(st.none(), st.sampled_from(["avc1.64001f", "hvc1.1.6.L93.B0", "av01.0.08M.08"]))


def _attr(name: str, value: str | None) -> str:
    return "" if value is None else f' {name}="{value}"'


@settings(max_examples=60, deadline=None)
@given(on_set=codecs, on_reps=st.lists(codecs, min_size=1, max_size=3))
def test_codecs_come_from_the_representation_else_its_adaptation_set_else_none(
    on_set: str | None, on_reps: list[str | None]
) -> None:
    reps = "".join(
        f'<Representation id="v{i}" bandwidth="{800000 * (i + 1)}" width="640" height="360"'
        f"{_attr('codecs', c)}/>"
        for i, c in enumerate(on_reps)
    )
    mpd = (
        f'<MPD xmlns="{NS}" mediaPresentationDuration="PT10S"><Period>'
        f"<AdaptationSet{_attr('codecs', on_set)}>{TEMPLATE}{reps}</AdaptationSet></Period></MPD>"
    )
    got = [r.codecs for r in parse_dash_mpd(mpd).representations]
    assert got == [c if c is not None else on_set for c in on_reps]


def test_unknown_codecs_round_trip_as_unknown() -> None:
    ladder = [Rung("a", 800, 640, 360, None), Rung("b", 2000, 1280, 720, "avc1.64001f")]
    text = write_dash_mpd(ladder, 2.0, 10.0)
    assert "codecs" not in text.split('id="a"')[1].split("/>")[0]
    assert list(parse_dash_mpd(text).representations) == ladder
    assert [v.codecs for v in parse_hls_master(write_hls_master(ladder))] == [None, "avc1.64001f"]


def _set(prefix: str, attrs: str = "") -> str:
    return (
        f'<AdaptationSet{attrs}><SegmentTemplate timescale="1" duration="2" '
        f'media="{prefix}/$RepresentationID$-$Number$.m4s"/>'
        '<Representation id="v" bandwidth="800000" width="640" height="360"/></AdaptationSet>'
    )


def test_more_than_one_period_is_refused() -> None:
    mpd = (
        f'<MPD xmlns="{NS}" mediaPresentationDuration="PT20S">'
        f'<Period id="ad" duration="PT4S">{_set("ad")}</Period>'
        f'<Period id="main" duration="PT16S">{_set("main")}</Period></MPD>'
    )
    with pytest.raises(StreamingError, match="MPD has 2 Periods"):
        parse_dash_mpd(mpd)


@pytest.mark.parametrize(
    ("first", "second", "refused"),
    [
        ("", "", True),
        (' contentType="video"', ' mimeType="video/mp4"', True),
        (' mimeType="video/mp4"', ' mimeType="audio/mp4"', False),
        (' contentType="video"', ' contentType="audio"', False),
    ],
)
def test_a_second_adaptation_set_of_the_same_type_is_refused(
    first: str, second: str, refused: bool
) -> None:
    mpd = (
        f'<MPD xmlns="{NS}" mediaPresentationDuration="PT10S">'
        f"<Period>{_set('a', first)}{_set('b', second)}</Period></MPD>"
    )
    if refused:
        with pytest.raises(StreamingError, match="2 AdaptationSets of content type"):
            parse_dash_mpd(mpd)
    else:
        assert parse_dash_mpd(mpd).segment_urls("v")[0] == "a/v-1.m4s"


LADDERS = st.lists(st.sampled_from(["a", "b", "c", "hd"]), min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(names=LADDERS)
def test_writers_refuse_two_rungs_of_one_name(names: list[str]) -> None:
    """The oracle: a ladder is written exactly when its names differ."""
    ladder = [Rung(n, 800 * (i + 1), 640, 360) for i, n in enumerate(names)]
    for write in (write_hls_master, lambda lad: write_dash_mpd(lad, 2.0, 10.0)):
        if len(set(names)) == len(names):
            write(ladder)
        else:
            with pytest.raises(StreamingError, match=r"ladder\[\d+\]: name='\w+' is also ladder"):
                write(ladder)
