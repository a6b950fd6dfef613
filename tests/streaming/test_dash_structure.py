"""What an MPD's structure says reaches the parsed manifest: attributes an AdaptationSet gives
its Representations, Periods, and nothing made up where the MPD is silent."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

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


IDS = ["v", "video=800000", "video_eng=1200000", "h264(main)", "a~b+c,d;e@f!g&h'i", "r0-144p"]


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(st.sampled_from(IDS), min_size=1, max_size=3, unique=True),
    size_on_set=st.booleans(),
    timescale=st.one_of(st.none(), st.sampled_from([1, 1000, 90000])),
)
def test_valid_mpds_read_as_the_schema_says(
    ids: list[str], size_on_set: bool, timescale: int | None
) -> None:
    """The frame size may sit on the AdaptationSet; a missing @timescale is 1; ids such as
    'video=800000' are ids. The oracle: the values written into the MPD."""
    ticks = 2 * (timescale or 1)
    tmpl = (
        f"<SegmentTemplate{_attr('timescale', None if timescale is None else str(timescale))} "
        f'duration="{ticks}" media="$RepresentationID$/$Number$.m4s"/>'
    )
    size = ' width="640" height="360"'
    reps = "".join(
        f'<Representation id={quoteattr(i)} bandwidth="{800000 * (n + 1)}"'
        f"{'' if size_on_set else size}/>"
        for n, i in enumerate(ids)
    )
    mpd = (
        f'<MPD xmlns="{NS}" mediaPresentationDuration="PT10S"><Period>'
        f"<AdaptationSet{size if size_on_set else ''}>{tmpl}{reps}</AdaptationSet></Period></MPD>"
    )
    got = parse_dash_mpd(mpd)
    assert got.segment_duration_s == 2.0 and got.segment_count == 5
    assert [(r.name, r.width, r.height) for r in got.representations] == [
        (i, 640, 360) for i in ids
    ]
    assert got.segment_urls(ids[-1])[0] == f"{ids[-1]}/1.m4s"


def test_a_representation_overrides_its_adaptation_set() -> None:
    mpd = (
        f'<MPD xmlns="{NS}" mediaPresentationDuration="PT10S"><Period>'
        f'<AdaptationSet width="1920" height="1080">{TEMPLATE}'
        '<Representation id="a" bandwidth="800000" width="640" height="360"/>'
        '<Representation id="b" bandwidth="5000000"/></AdaptationSet></Period></MPD>'
    )
    sizes = [(r.width, r.height) for r in parse_dash_mpd(mpd).representations]
    assert sizes == [(640, 360), (1920, 1080)]


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a b", "a%20b", "$x$", "a:b", "a*", "a\\b"])
def test_a_rung_name_unsafe_in_a_url_or_a_path_is_refused(name: str) -> None:
    with pytest.raises(StreamingError, match=r"name=.* must be letters, digits"):
        Rung(name, 800, 640, 360)
    mpd = (
        f'<MPD xmlns="{NS}" mediaPresentationDuration="PT10S"><Period><AdaptationSet>{TEMPLATE}'
        f'<Representation id={quoteattr(name)} bandwidth="800000" width="640" height="360"/>'
        "</AdaptationSet></Period></MPD>"
    )
    with pytest.raises(StreamingError, match="name="):
        parse_dash_mpd(mpd)


def test_a_format_width_too_long_for_int_is_refused_by_name() -> None:
    from designpatterns_ref.streaming.dash_templates import template_parts

    for digits in ("1" * 5000, "21"):
        with pytest.raises(StreamingError, match="MAX_WIDTH"):
            template_parts("media", f"$RepresentationID$/seg-$Number%0{digits}d$.m4s")
    assert ("Number", 5) in template_parts("media", "$Number%0" + "0" * 5000 + "5d$")
    assert ("Number", 20) in template_parts("media", "$Number%0020d$")


def test_the_template_helpers_refuse_what_template_parts_never_returns() -> None:
    from designpatterns_ref.streaming import dash_templates as t

    for call in (
        lambda: t.template_parts("media", None),  # type: ignore[arg-type]
        lambda: t.numbered(None),  # type: ignore[arg-type]
        lambda: t.fill([("Time", 0)], "v", 1, 1),  # type: ignore[list-item]
        lambda: t.fill(["a"], None, 1, 1),  # type: ignore[arg-type]
        lambda: t.fill(["a"], "v", -1, 1),
        lambda: t.fill(["a"], "v", 1, True),
    ):
        with pytest.raises(StreamingError):
            call()
