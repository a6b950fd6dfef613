"""What the manifest parsers return, built directly, checks its fields as the parsers read them.

Oracle: the parser itself. Fields are spelled as the manifest text a parser reads (an MPD, a
master or a media playlist); building the dataclass from the fields is refused exactly when
parsing that text is, and what both accept is equal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.streaming import StreamingError
from designpatterns_ref.streaming.manifests import (
    MAX_SEGMENTS,
    DashManifest,
    MediaPlaylist,
    Rung,
    Variant,
    format_iso_duration,
    parse_dash_mpd,
    parse_hls_master,
    parse_hls_media,
)

R = Rung("a", 800, 640, 360)
GOOD_DASH: dict[str, Any] = {
    "duration_s": 10.0,
    "segment_duration_s": 2.0,
    "media": "$RepresentationID$/$Number$.m4s",
    "initialization": "$RepresentationID$/init.mp4",
    "start_number": 1,
    "representations": (R,),
}


def _outcome(make: Any) -> Any:
    try:
        return make()
    except StreamingError:
        return StreamingError


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration_s", "10"),
        ("duration_s", float("nan")),
        ("duration_s", float("inf")),
        ("duration_s", -1.0),
        ("duration_s", True),
        ("segment_duration_s", 0.0),
        ("segment_duration_s", -2.0),
        ("segment_duration_s", None),
        ("duration_s", 1e12),  # 5 * 10**11 segments of 2 s
        ("media", None),
        ("initialization", b"init.mp4"),
        ("start_number", -1),
        ("start_number", 1.0),
        ("start_number", True),
        ("start_number", 2**64),
        ("representations", ()),
        ("representations", [R]),
        ("representations", ("a",)),
    ],
)
def test_a_dash_manifest_with_a_bad_field_is_refused_when_made(field: str, value: Any) -> None:
    with pytest.raises(StreamingError, match=field):
        DashManifest(**{**GOOD_DASH, field: value})


def test_a_dash_manifest_of_too_many_segments_names_the_bound() -> None:
    with pytest.raises(StreamingError, match="MAX_SEGMENTS"):
        DashManifest(**{**GOOD_DASH, "duration_s": 2.0 * MAX_SEGMENTS + 1})
    assert DashManifest(**{**GOOD_DASH, "duration_s": 2.0 * MAX_SEGMENTS}).segment_count == (
        MAX_SEGMENTS
    )


def _mpd(duration: str, ticks: int, timescale: int, start: int | None, media: str | None,
         init: str | None, rungs: int) -> str:  # fmt: skip
    tmpl = f'timescale="{timescale}" duration="{ticks}"'
    if start is not None:
        tmpl += f' startNumber="{start}"'
    if media is not None:
        tmpl += f" media={quoteattr(media)}"
    if init is not None:
        tmpl += f" initialization={quoteattr(init)}"
    reps = "".join(
        f'<Representation id="r{i}" bandwidth="{800000 * (i + 1)}" width="640" height="360" '
        f'codecs="avc1"/>'
        for i in range(rungs)
    )
    return (
        f'<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="{duration}">'
        f"<Period><AdaptationSet><SegmentTemplate {tmpl}/>{reps}</AdaptationSet></Period></MPD>"
    )


@settings(max_examples=200, deadline=None)
@given(
    duration=st.one_of(st.integers(0, 10**7).map(float), st.floats(0, 1e6)),
    ticks=st.one_of(st.integers(0, 5), st.integers(0, 2**64 + 1)),
    timescale=st.one_of(st.integers(1, 1000), st.integers(1, 2**64 - 1)),
    start=st.one_of(st.none(), st.integers(-2, 3), st.integers(2**64 - 2, 2**64 + 1)),
    media=st.one_of(st.none(), st.text("$Nmbr/a.4 ", max_size=12)),
    init=st.one_of(st.none(), st.text("ab/", max_size=5)),
    rungs=st.integers(0, 3),
)
@example(duration=10.0, ticks=0, timescale=1, start=1, media="m", init="i", rungs=1)
@example(duration=10.0, ticks=2, timescale=1, start=-1, media="m", init="i", rungs=1)
@example(duration=10.0, ticks=2, timescale=1, start=2**64, media="m", init="i", rungs=1)
@example(duration=1e6, ticks=1, timescale=2, start=1, media="m", init="i", rungs=1)
def test_a_dash_manifest_is_made_exactly_when_its_mpd_parses(
    duration: float,
    ticks: int,
    timescale: int,
    start: int | None,
    media: str | None,
    init: str | None,
    rungs: int,
) -> None:
    try:
        spelled = format_iso_duration(duration)
    except StreamingError:  # below 1e-4 s with every digit: no xs:duration spells it
        return
    parsed = _outcome(
        lambda: parse_dash_mpd(_mpd(spelled, ticks, timescale, start, media, init, rungs))
    )
    reps = tuple(Rung(f"r{i}", 800 * (i + 1), 640, 360, "avc1") for i in range(rungs))
    made = _outcome(
        lambda: DashManifest(
            duration,
            ticks / timescale,
            media or "",
            init or "",
            1 if start is None else start,
            reps,
        )
    )
    assert made == parsed


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        (("", 1, None, None), "uri"),
        (("#v.m3u8", 1, None, None), "uri"),
        ((" v.m3u8", 1, None, None), "uri"),
        (("v\n.m3u8", 1, None, None), "uri"),
        ((None, 1, None, None), "uri"),
        (("v", -1, None, None), "bandwidth_bps"),
        (("v", 1.5, None, None), "bandwidth_bps"),
        (("v", 2**64, None, None), "bandwidth_bps"),
        (("v", 1, (640,), None), "resolution"),
        (("v", 1, [640, 360], None), "resolution"),
        (("v", 1, (640, -360), None), "resolution"),
        (("v", 1, None, 'avc1"'), "codecs"),
        (("v", 1, None, 5), "codecs"),
    ],
)
def test_a_variant_with_a_bad_field_is_refused_when_made(
    fields: tuple[Any, ...], name: str
) -> None:
    with pytest.raises(StreamingError, match=name):
        Variant(*fields)


@settings(max_examples=200, deadline=None)
@given(
    uri=st.sampled_from(["v.m3u8", "a b/i.m3u8", "", "#v", "x\ny", "x\x0by"]),
    bandwidth=st.one_of(st.integers(-2, 10**7), st.integers(2**64 - 2, 2**64 + 1)),
    resolution=st.one_of(st.none(), st.tuples(st.integers(-1, 4000), st.integers(-1, 4000))),
    codecs=st.one_of(st.none(), st.sampled_from(["avc1", "a,b", "", " a ", 'a"b', "a\nb"])),
)
def test_a_variant_is_made_exactly_when_its_master_playlist_parses(
    uri: str, bandwidth: int, resolution: tuple[int, int] | None, codecs: str | None
) -> None:
    attrs = f"BANDWIDTH={bandwidth}"
    if resolution is not None:
        attrs += f",RESOLUTION={resolution[0]}x{resolution[1]}"
    if codecs is not None:
        attrs += f',CODECS="{codecs}"'
    parsed = _outcome(lambda: parse_hls_master(f"#EXTM3U\n#EXT-X-STREAM-INF:{attrs}\n{uri}\n"))
    made = _outcome(lambda: [Variant(uri, bandwidth, resolution, codecs)])
    assert made == parsed


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ((-1, 0, (), True), "target_duration"),
        ((6, -1, (), True), "media_sequence"),
        ((6, 0, [("s.ts", 1.0)], True), "segments"),
        ((6, 0, (("s.ts",),), True), "segments"),
        ((6, 0, (("#s.ts", 1.0),), True), "uri"),
        ((6, 0, (("s.ts", -1.0),), True), "seconds"),
        ((6, 0, (("s.ts", float("nan")),), True), "seconds"),
        ((6, 0, (("s.ts", 6.6),), True), "target_duration"),
        ((6, 0, (), 1), "ended"),
    ],
)
def test_a_media_playlist_with_a_bad_field_is_refused_when_made(
    fields: tuple[Any, ...], name: str
) -> None:
    with pytest.raises(StreamingError, match=name):
        MediaPlaylist(*fields)


def _spelling(seconds: float, target: int) -> str:
    """The text a playlist gives ``seconds``: its shortest decimal, except that the float half
    a second over the target is spelled as the longer text just below it that reads as it."""
    if seconds == target + 0.5:
        return f"{target}.{'4' + '9' * 19}"
    return f"{Decimal(repr(seconds)):f}"


@settings(max_examples=200, deadline=None)
@given(
    target=st.one_of(st.integers(-1, 8), st.just(2**64)),
    sequence=st.integers(-1, 3),
    segments=st.lists(
        st.tuples(
            st.sampled_from(["s.ts", "a b.ts", "#s", "x\ny"]),
            st.one_of(
                st.integers(0, 20).map(lambda n: n / 2),
                st.decimals(0, 12, places=3).map(float),
                st.just(1e6),
            ),
        ),
        max_size=4,
    ),
    ended=st.booleans(),
)
@example(target=2, sequence=0, segments=[("s.ts", 2.5)], ended=True)
@example(target=2, sequence=0, segments=[("s.ts", 2.5000000000000004)], ended=True)
def test_a_media_playlist_is_made_exactly_when_its_text_parses(
    target: int, sequence: int, segments: list[tuple[str, float]], ended: bool
) -> None:
    lines = ["#EXTM3U", f"#EXT-X-TARGETDURATION:{target}", f"#EXT-X-MEDIA-SEQUENCE:{sequence}"]
    for uri, seconds in segments:
        lines += [f"#EXTINF:{_spelling(seconds, target)},", uri]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    parsed = _outcome(lambda: parse_hls_media("\n".join(lines) + "\n"))
    made = _outcome(lambda: MediaPlaylist(target, sequence, tuple(segments), ended))
    if any(uri in ("#s", "x\ny") for uri, _ in segments):
        # the text cannot spell this field: a '#' line is a tag, a line break two lines
        assert made is StreamingError
        return
    assert made == parsed


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("designpatterns_ref.streaming.base", "StreamingError"),
        ("designpatterns_ref.streaming.base", "StreamingTypeError"),
        ("designpatterns_ref.streaming.manifests", "Rung"),
        ("designpatterns_ref.streaming.manifests", "DashManifest"),
        ("designpatterns_ref.streaming.manifests", "MPD_NS"),
        ("designpatterns_ref.streaming.manifests", "DEFAULT_CODECS"),
    ],
)
def test_names_moved_between_modules_are_still_where_they_were(module: str, name: str) -> None:
    """Names whose code moved to a module of its own stay importable where they were, and the
    classes say that module, so a pickle (or a traceback) names where users import them."""
    import importlib
    import pickle

    value = getattr(importlib.import_module(module), name)
    if isinstance(value, type):
        assert value.__module__ == module
        assert pickle.loads(pickle.dumps(value)) is value
