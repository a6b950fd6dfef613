"""Manifests say exactly what they were given, or refuse; parsers refuse what players cannot use.

Oracles: exact fractions (the segment count, a duration's ticks), RFC 8216's rounding of an
EXTINF to the nearest integer written out with :class:`decimal.Decimal` (halves up), and the
writer's own inputs for round trips.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.streaming import StreamingError
from designpatterns_ref.streaming.manifests import (
    MAX_SEGMENTS,
    DashManifest,
    Rung,
    format_iso_duration,
    parse_dash_mpd,
    parse_hls_master,
    parse_hls_media,
    parse_iso_duration,
    write_dash_mpd,
    write_hls_master,
)

LADDER = [Rung("a", 800, 640, 360)]


def _expressible(seg: float) -> bool:
    """Brute force: some k <= 9 gives ticks of 1/10**k s, within 32 bits, that read back."""
    for k in range(10):
        ticks = round(Fraction(seg) * 10**k)
        if 0 < ticks <= 2**32 - 1 and ticks / 10**k == seg:
            return True
    return False


def _count(duration: float, seg: float) -> int:
    """Brute force: segments until the duration is covered (a last sliver < 1e-9 segment is
    the float error of a whole number of segments)."""
    n, covered = 0, Fraction(0)
    while covered < Fraction(duration) - Fraction(seg) / 10**9:
        n, covered = n + 1, covered + Fraction(seg)
    return n


@settings(max_examples=100, deadline=None)
@given(
    seg=st.one_of(
        st.integers(0, 9).flatmap(
            lambda p: st.decimals(Decimal("0.001"), Decimal("60"), places=p).map(float)
        ),
        st.floats(0.001, 60.0),
        st.integers(1, 60).map(float),
    ),
    whole=st.integers(1, 1500),
    part=st.sampled_from([0.0, 0.25, 0.5, 0.999, 1e-12]),
)
@example(seg=1.0004, whole=9996, part=0.0016 / 1.0004)  # written as 1.0 s: 10000 segments
@example(seg=0.1, whole=3, part=0.0)
@example(seg=0.30000000000000004, whole=2, part=0.0)  # 17 decimals: no 32-bit timescale
@example(seg=4294967.296, whole=1, part=0.0)  # 2**32 ms: ticks past xs:unsignedInt at 1000
def test_dash_round_trip_of_fractional_durations(seg: float, whole: int, part: float) -> None:
    duration = seg * whole + seg * part
    if not _expressible(seg):
        with pytest.raises(StreamingError, match="segment_duration_s"):
            write_dash_mpd(LADDER, seg, duration)
        return
    mpd = parse_dash_mpd(write_dash_mpd(LADDER, seg, duration))
    assert mpd.segment_duration_s == seg
    assert mpd.duration_s == duration
    assert mpd.segment_count == _count(duration, seg)
    assert len(mpd.segment_urls("a")) == mpd.segment_count


def test_a_segment_of_1_0004_s_is_not_written_as_1_s() -> None:
    text = write_dash_mpd(LADDER, 1.0004, 10000.0)
    assert 'timescale="10000"' in text and 'duration="10004"' in text
    mpd = parse_dash_mpd(text)
    assert mpd.segment_count == 9997 == math.ceil(10000 / 1.0004)


@pytest.mark.parametrize(
    ("seg", "duration"),
    [(5e-324, 1.0), (1e-10, 1.0), (0.0004, 10_000.0), (1e-3, 1e4)],
)
def test_what_the_mpd_cannot_carry_is_refused_by_the_writer(seg: float, duration: float) -> None:
    with pytest.raises(StreamingError, match="segment_duration_s"):
        write_dash_mpd(LADDER, seg, duration)


def test_an_mpd_of_too_many_segments_is_refused_at_parse_time() -> None:
    mpd = (
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="P999999999999999D">'
        '<Period><AdaptationSet><SegmentTemplate timescale="18446744073709551615" duration="1" '
        'media="$RepresentationID$/$Number$.m4s"/><Representation id="a" bandwidth="1000" '
        'width="2" height="2"/></AdaptationSet></Period></MPD>'
    )
    with pytest.raises(StreamingError, match="MAX_SEGMENTS"):
        parse_dash_mpd(mpd)
    at_bound = mpd.replace("P999999999999999D", f"PT{MAX_SEGMENTS}S").replace(
        "18446744073709551615", "1"
    )
    assert parse_dash_mpd(at_bound).segment_count == MAX_SEGMENTS
    over = at_bound.replace(f"PT{MAX_SEGMENTS}S", f"PT{MAX_SEGMENTS}.5S")
    with pytest.raises(StreamingError, match="MAX_SEGMENTS"):
        parse_dash_mpd(over)
    with pytest.raises(StreamingError, match="MAX_SEGMENTS"):  # refused when made
        DashManifest(1e12, 1.0, "$Number$", "", 1, tuple(LADDER))


# -- bitrates ------------------------------------------------------------------------------


@pytest.mark.parametrize("kbps", [0.0004, 0.0009, 5e-324, 0.0, 1e9 + 1, 1e12])
def test_a_rung_under_one_bit_per_second_is_refused(kbps: float) -> None:
    with pytest.raises(StreamingError, match="bitrate_kbps"):
        Rung("a", kbps, 2, 2)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.001, 1e9))
@example(0.001)
@example(0.0015)
@example(999_999_999.9999999)  # 10**12 bits/s once rounded: must read back
def test_every_rung_reads_back_with_a_positive_bandwidth(kbps: float) -> None:
    ladder = [Rung("a", kbps, 2, 2)]
    (variant,) = parse_hls_master(write_hls_master(ladder))
    assert variant.bandwidth_bps == round(kbps * 1000) >= 1
    (rung,) = parse_dash_mpd(write_dash_mpd(ladder, 2.0, 10.0)).representations
    assert rung.bitrate_kbps == round(kbps * 1000) / 1000


# -- HLS target duration (RFC 8216 4.3.3.1) ---------------------------------------------------


def _nearest(text: str) -> int:
    return int(Decimal(text).to_integral_value(rounding=ROUND_HALF_UP))


@settings(max_examples=100, deadline=None)
@given(
    durations=st.lists(
        st.decimals(Decimal(0), Decimal(20), places=3).map(lambda d: f"{d:.3f}"),
        min_size=1,
        max_size=6,
    ),
    target=st.integers(0, 20),
    at=st.integers(0, 6),
)
@example(durations=["2.500"], target=2, at=0)  # round(2.5) == 2: was accepted
@example(durations=["3.500"], target=3, at=0)
@example(durations=["2.499"], target=2, at=0)
@example(durations=["100.000"], target=2, at=1)  # the tag after the segment: was accepted
def test_every_segment_is_within_the_target_wherever_the_tag_is(
    durations: list[str], target: int, at: int
) -> None:
    lines = ["#EXTM3U"]
    for i, d in enumerate(durations):
        if i == min(at, len(durations)):
            lines.append(f"#EXT-X-TARGETDURATION:{target}")
        lines += [f"#EXTINF:{d},", f"s{i}.ts"]
    if at >= len(durations):
        lines.append(f"#EXT-X-TARGETDURATION:{target}")
    text = "\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n"
    if any(_nearest(d) > target for d in durations):
        with pytest.raises(StreamingError, match="EXT-X-TARGETDURATION"):
            parse_hls_media(text)
    else:
        media = parse_hls_media(text)
        assert [d for _, d in media.segments] == [float(d) for d in durations]


# -- malformed playlists and durations ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n#EXT-X-STREAM-INF:BANDWIDTH=3000000\n"
            "v.m3u8\n",
            "before its URI",
        ),
        ('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1\nv.m3u8\n', "attributes"),
        ('#EXTM3U\n#EXT-X-STREAM-INF:CODECS="avc1,BANDWIDTH=8\nv.m3u8\n', "attributes"),
        ('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=8,CODECS=avc1"\nv.m3u8\n', "attributes"),
    ],
)
def test_malformed_master_playlists_are_refused(text: str, where: str) -> None:
    with pytest.raises(StreamingError, match=where):
        parse_hls_master(text)


@pytest.mark.parametrize("text", ["P1DT", "PT", "P", "P1DT1", "PT1H2", "PT.5S", "PT1.S"])
def test_a_duration_that_is_not_xs_duration_is_refused(text: str) -> None:
    with pytest.raises(StreamingError, match="duration"):
        parse_iso_duration(text)


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 1e9, exclude_max=True))
@example(0.30000000000000004)
@example(3600.1)
@example(86399.999999)
@example(1.2345678901234567e-05)  # 21 decimals: refused, not rounded
@example(5e-324)
def test_iso_durations_read_back_as_the_same_float(seconds: float) -> None:
    decimals = -Decimal(repr(seconds)).normalize().as_tuple().exponent
    if isinstance(decimals, int) and decimals > 20:
        with pytest.raises(StreamingError, match="decimals"):
            format_iso_duration(seconds)
        return
    assert parse_iso_duration(format_iso_duration(seconds)) == seconds
