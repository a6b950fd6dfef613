"""Manifests: written and read back against the ladder they came from, and damaged at random.

The model is the ladder itself: whatever a writer is given reads back as the same names,
bitrates (whole bits per second), frame sizes, codecs and durations, and writing what was read
gives the same text. Damaged text (a character dropped, changed or added, a line dropped or
repeated, the end cut off) either reads as a manifest whose fields pass their own checks or is
refused with the family's error, never another exception.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.streaming import Manifest, StreamingError
from designpatterns_ref.streaming.data import find_abr_data
from designpatterns_ref.streaming.manifests import (
    DashManifest,
    MediaPlaylist,
    Rung,
    Variant,
    ladder_for,
    parse_dash_mpd,
    parse_hls_master,
    parse_hls_media,
    write_dash_mpd,
    write_hls_master,
    write_hls_media,
)

_DATA = find_abr_data()
NAME = st.text("abcXYZ019_.-~=+,;@!&'()", min_size=1, max_size=12).filter(
    lambda n: n not in (".", "..")
)


@st.composite
def ladders(draw: Any) -> list[Rung]:
    names = draw(st.lists(NAME, min_size=1, max_size=6, unique=True))
    return [
        Rung(
            name,
            draw(st.one_of(st.integers(1, 10**6), st.floats(0.001, 1e9))),
            draw(st.integers(1, 16384)),
            draw(st.integers(1, 16384)),
            draw(st.sampled_from([None, "avc1.64001f", "avc1.64001f,mp4a.40.2", "hvc1"])),
        )
        for name in names
    ]


def _bbb_ladder() -> list[Rung]:
    assert _DATA is not None
    movie = json.loads((_DATA / "bbb.json").read_text(encoding="utf-8"))
    return ladder_for(Manifest.from_dict(movie))


def _check_master(ladder: list[Rung]) -> None:
    text = write_hls_master(ladder)
    variants = parse_hls_master(text)
    assert variants == [
        Variant(f"{r.name}/index.m3u8", round(r.bitrate_kbps * 1000), (r.width, r.height), r.codecs)
        for r in ladder
    ]


def _check_dash(ladder: list[Rung], segment_s: float, duration_s: float) -> None:
    text = write_dash_mpd(ladder, segment_s, duration_s)
    mpd = parse_dash_mpd(text)
    assert (mpd.duration_s, mpd.segment_duration_s, mpd.start_number) == (duration_s, segment_s, 1)
    assert [(r.name, r.width, r.height, r.codecs) for r in mpd.representations] == [
        (r.name, r.width, r.height, r.codecs) for r in ladder
    ]
    assert [round(r.bitrate_kbps * 1000) for r in mpd.representations] == [
        round(r.bitrate_kbps * 1000) for r in ladder
    ]
    assert write_dash_mpd(list(mpd.representations), segment_s, duration_s) == text
    for rung in ladder:
        urls = mpd.segment_urls(rung.name)
        assert len(urls) == mpd.segment_count and len(set(urls)) == len(urls)
        assert urls[0] == f"{rung.name}/seg-1.m4s"


@pytest.mark.skipif(_DATA is None, reason="the shared abr data folder was not found")
def test_the_shared_ladder_round_trips() -> None:
    ladder = _bbb_ladder()
    _check_master(ladder)
    _check_dash(ladder, 3.0, 597.0)
    media = parse_hls_media(write_hls_media([3.0] * 199))
    assert media.duration_s == 597.0 and len(media.segments) == 199 and media.ended


@settings(max_examples=60, deadline=None)
@given(
    ladder=ladders(),
    segment_s=st.sampled_from([0.5, 1.0, 2.0, 3.0, 4.0, 1.0004, 6.006]),
    segments=st.integers(1, 500),
    tail=st.sampled_from([0.0, 0.25, 0.5]),
)
def test_what_is_written_reads_back_as_the_ladder(
    ladder: list[Rung], segment_s: float, segments: int, tail: float
) -> None:
    _check_master(ladder)
    _check_dash(ladder, segment_s, segments * segment_s + tail)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.001, 30.0), min_size=1, max_size=30))
def test_a_media_playlist_reads_back_as_its_durations(durations: list[float]) -> None:
    media = parse_hls_media(write_hls_media(durations))
    assert [d for _, d in media.segments] == durations
    assert [u for u, _ in media.segments] == [f"seg-{n}.ts" for n in range(len(durations))]
    assert media.ended and media.media_sequence == 0
    assert write_hls_media([d for _, d in media.segments]) == write_hls_media(durations)


def _damage(data: st.DataObject, text: str) -> str:
    how = data.draw(st.sampled_from(["drop", "change", "add", "line", "repeat", "cut"]))
    lines = text.splitlines(keepends=True)
    if how in ("line", "repeat"):
        i = data.draw(st.integers(0, len(lines) - 1))
        return "".join(lines[:i] + ([] if how == "line" else [lines[i], lines[i]]) + lines[i + 1 :])
    i = data.draw(st.integers(0, len(text) - 1))
    if how == "cut":
        return text[:i]
    if how == "drop":
        return text[:i] + text[i + 1 :]
    char = data.draw(st.sampled_from([*'#:,"=x0 9.\n<>/$%-\x00\ud800é', "\r\n"]))
    return text[:i] + char + text[i + (how == "change") :]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), ladder=ladders())
def test_damaged_manifests_are_read_or_refused_with_the_family_error(
    data: st.DataObject, ladder: list[Rung]
) -> None:
    kinds = {
        "master": (write_hls_master(ladder), parse_hls_master),
        "media": (write_hls_media([2.0, 2.5, 1.25]), parse_hls_media),
        "mpd": (write_dash_mpd(ladder, 2.0, 11.0), parse_dash_mpd),
    }
    kind = data.draw(st.sampled_from(sorted(kinds)))
    text, parse = kinds[kind]
    damaged = _damage(data, text)
    try:
        out = parse(damaged)  # type: ignore[operator]
    except StreamingError:
        return
    # what was read passes the checks of the type it was read into
    if isinstance(out, DashManifest):
        DashManifest(**vars(out))
        for rung in out.representations:
            assert len(out.segment_urls(rung.name)) == out.segment_count
    elif isinstance(out, MediaPlaylist):
        MediaPlaylist(**vars(out))
    else:
        assert out and all(Variant(**vars(v)) == v for v in out)


@pytest.mark.parametrize(
    ("dropped", "error"),
    [
        ("seg-1.ts", r"line 9: #EXTINF after the one on line 8 before its URI"),
        ("seg-2.ts", r"line 10: #EXTINF without a URI"),
    ],
)
def test_an_extinf_without_its_uri_is_refused(dropped: str, error: str) -> None:
    """Each #EXTINF describes the next URI (RFC 8216 4.3.2.1): one with no URI of its own used
    to be dropped, and with it a segment (its duration unchecked against the target)."""
    text = write_hls_media([2.0, 2.5, 1.25])
    damaged = "".join(ln for ln in text.splitlines(keepends=True) if ln.strip() != dropped)
    with pytest.raises(StreamingError, match=error):
        parse_hls_media(damaged)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), durations=st.lists(st.sampled_from([1.0, 2.5, 4.0]), min_size=1, max_size=6))
def test_a_media_playlist_read_has_one_segment_per_extinf(
    data: st.DataObject, durations: list[float]
) -> None:
    damaged = _damage(data, write_hls_media(durations))
    try:
        media = parse_hls_media(damaged)
    except StreamingError:
        return
    tags = [ln for ln in damaged.splitlines() if ln.strip().startswith("#EXTINF:")]
    assert len(media.segments) == len(tags)
