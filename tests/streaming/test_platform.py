"""Upload, transcoding job graph, and manifests: oracles, round trips and refusals."""

from __future__ import annotations

import itertools
import re
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.streaming import StreamingError
from designpatterns_ref.streaming.manifests import (
    Rung,
    format_iso_duration,
    ladder_for,
    parse_dash_mpd,
    parse_hls_master,
    parse_hls_media,
    parse_iso_duration,
    write_dash_mpd,
    write_hls_master,
    write_hls_media,
)
from designpatterns_ref.streaming.transcode import job_graph, makespan_curve, schedule
from designpatterns_ref.streaming.upload import (
    ChecksumMismatch,
    UploadClient,
    UploadConflict,
    UploadServer,
    sha256,
)

# -- upload ------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=3000),
    chunk=st.integers(1, 700),
    stops=st.lists(st.integers(0, 4), max_size=6),
)
def test_interrupted_upload_resumes_to_the_same_bytes(
    data: bytes, chunk: int, stops: list[int]
) -> None:
    server = UploadServer()
    client = UploadClient(server, data, chunk_size=chunk)
    offset = client.upload(max_chunks=stops[0] if stops else None)
    for n in stops[1:]:  # each interruption: the client comes back and asks where it stood
        assert server.offset(client.upload_id or "") == offset
        offset = client.resume(max_chunks=n)
    assert client.resume() == len(data)
    assert server.blob(client.upload_id or "") == data
    assert client.chunks_sent == -(-len(data) // chunk)  # no chunk sent twice


def test_refused_chunks_change_nothing() -> None:
    server = UploadServer()
    uid = server.create(10)
    server.append(uid, 0, b"hello", sha256(b"hello"))
    with pytest.raises(UploadConflict, match="holds 5"):
        server.append(uid, 0, b"world", sha256(b"world"))
    with pytest.raises(ChecksumMismatch):
        server.append(uid, 5, b"world", sha256(b"WORLD"))
    with pytest.raises(StreamingError, match="passes length=10"):
        server.append(uid, 5, b"world!", sha256(b"world!"))
    assert server.offset(uid) == 5
    assert server.append(uid, 5, b"world", sha256(b"world")) == 10
    assert server.blob(uid) == b"helloworld"


def test_identical_content_is_stored_once() -> None:
    server = UploadServer()
    payload = bytes(range(256)) * 40
    first = UploadClient(server, payload, chunk_size=1000)
    first.upload(max_chunks=3)
    first.resume()
    second = UploadClient(server, payload, chunk_size=1000)
    assert second.upload() == len(payload)
    assert second.skipped and second.chunks_sent == 0
    third_id = server.create(len(payload))  # a client that does not ask first: dedup at the end
    for i in range(0, len(payload), 4096):
        part = payload[i : i + 4096]
        server.append(third_id, i, part, sha256(part))
    assert server.blob(third_id) == payload
    assert server.stored_bytes == len(payload)
    assert server.deduplicated == 2


# -- transcoding -------------------------------------------------------------------------------

RUNGS = [(1080, 3.0), (720, 1.6), (480, 0.8), (240, 0.3)]


@settings(max_examples=40, deadline=None)
@given(
    source=st.floats(1, 600),
    chunk=st.floats(1, 30),
    workers=st.integers(1, 80),
    failure=st.sampled_from([0.0, 0.1, 0.3]),
    seed=st.integers(0, 100),
)
def test_schedule_respects_dependencies_and_bounds(
    source: float, chunk: float, workers: int, failure: float, seed: int
) -> None:
    g = job_graph(source, chunk, RUNGS)
    run = schedule(g, workers, failure_rate=failure, seed=seed)
    finished = {}
    busy: dict[int, list[tuple[float, float]]] = {}
    for name, worker, start, end, ok in run.runs:
        assert all(finished[d] <= start + 1e-9 for d in g.tasks[name].after)
        if ok:
            finished[name] = end
        busy.setdefault(worker, []).append((start, end))
    assert set(finished) == set(g.tasks)
    for spans in busy.values():  # a worker runs one task at a time
        spans.sort()
        assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(spans))
    assert run.makespan_s >= g.critical_path_s - 1e-9
    assert run.makespan_s >= g.total_work_s / workers - 1e-9
    if failure == 0.0:
        assert run.failures == 0
        assert run.makespan_s <= g.total_work_s / workers + g.critical_path_s + 1e-6  # Graham


def test_makespan_falls_with_workers_down_to_the_critical_path() -> None:
    g = job_graph(600, 6, RUNGS)
    curve = makespan_curve(g, [1, 2, 4, 8, 16, 64, 512])
    times = [t for _, t in curve]
    assert times == sorted(times, reverse=True)
    assert times[0] == pytest.approx(g.total_work_s)
    assert times[-1] == pytest.approx(g.critical_path_s)
    # split (20 s) + the slowest chunk (6 s x 3.0) + stitch 1080p (10 s) + package (5 s)
    assert g.critical_path_s == pytest.approx(20 + 18 + 10 + 5)


def test_failed_chunks_are_retried() -> None:
    g = job_graph(120, 6, RUNGS)
    run = schedule(g, 8, failure_rate=0.3, seed=4)
    assert run.failures > 0
    assert run.makespan_s >= schedule(g, 8).makespan_s * 0.99


# -- manifests ---------------------------------------------------------------------------------

rungs = st.lists(
    st.tuples(st.integers(100, 20_000), st.integers(16, 4000), st.integers(16, 2200)),
    min_size=1,
    max_size=8,
).map(lambda xs: [Rung(f"r{i}", float(b), w, h) for i, (b, w, h) in enumerate(xs)])


@settings(max_examples=60, deadline=None)
@given(ladder=rungs)
def test_hls_master_round_trip(ladder: list[Rung]) -> None:
    variants = parse_hls_master(write_hls_master(ladder))
    assert [v.bandwidth_bps for v in variants] == [round(r.bitrate_kbps * 1000) for r in ladder]
    assert [v.resolution for v in variants] == [(r.width, r.height) for r in ladder]
    assert [v.uri for v in variants] == [f"{r.name}/index.m3u8" for r in ladder]
    assert all(v.codecs == r.codecs for v, r in zip(variants, ladder, strict=True))


@settings(max_examples=200, deadline=None)
@given(
    durations=st.lists(
        st.one_of(
            st.floats(0.1, 12),
            st.floats(1e-9, 1e-3),
            st.floats(1e-3, 1e6, exclude_max=True),
            st.integers(1, 10**6 - 1),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_hls_media_round_trip(durations: list[float]) -> None:
    """Every duration reads back as the same float, or the playlist is refused when one has
    no decimal of at most 20 fraction digits that reads back as it (the oracle: the nearest
    such decimal, written by format)."""
    writable = all(float(f"{d:.20f}") == d for d in durations)
    if not writable:
        with pytest.raises(StreamingError, match=r"durations_s\[\d+\]=.* at most 20 decimals"):
            write_hls_media(durations)
        return
    media = parse_hls_media(write_hls_media(durations))
    assert media.ended
    assert [u for u, _ in media.segments] == [f"seg-{i}.ts" for i in range(len(durations))]
    assert [d for _, d in media.segments] == durations
    assert media.target_duration >= max(durations) - 1e-6


@pytest.mark.parametrize("uri", ["seg.ts", "seg-{m}.ts", "{N}.ts"])
def test_hls_media_of_several_segments_needs_n_in_its_uri(uri: str) -> None:
    with pytest.raises(StreamingError, match=r"uri=.* has no \{n\}: all 3 segments"):
        write_hls_media([2, 2, 2], uri=uri)
    media = parse_hls_media(write_hls_media([2], uri=uri))
    assert media.segments == ((uri, 2.0),)


@settings(max_examples=60, deadline=None)
@given(ladder=rungs, seg=st.integers(1, 10), count=st.integers(1, 400))
def test_dash_round_trip(ladder: list[Rung], seg: int, count: int) -> None:
    mpd = parse_dash_mpd(write_dash_mpd(ladder, seg, seg * count))
    assert list(mpd.representations) == ladder
    assert mpd.segment_duration_s == seg
    assert mpd.segment_count == count
    urls = mpd.segment_urls(ladder[0].name)
    assert urls[0] == f"{ladder[0].name}/seg-1.m4s" and len(urls) == count


# Numbers in playlists and MPDs: ASCII digits only ("²" and "٣" pass str.isdigit, and int()
# reads "٣" as 3), at most 20 of them (RFC 8216's decimal-integer runs to 2**64 - 1).
_NUMBERS = st.one_of(
    st.text(st.sampled_from("0123456789\u00b2\u00b3\u0663\u0967\uff11+-_x.e"), max_size=24),
    st.integers(0, 2**70).map(str),
    st.sampled_from(["9" * 5000, "0" * 21, str(2**64 - 1), str(2**64), "1" * 20, "\u00b2"]),
)
_MPD = (
    '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="{duration}">'
    '<Period><AdaptationSet><SegmentTemplate timescale="{timescale}" duration="{seg}" '
    'startNumber="{start}"/><Representation id="a" bandwidth="{bandwidth}" width="{width}" '
    'height="{height}"/></AdaptationSet></Period></MPD>'
)
_MPD_OK = {
    "duration": "PT10S",
    "timescale": "1000",
    "seg": "2000",
    "start": "1",
    "bandwidth": "500000",
    "width": "640",
    "height": "360",
}


def _plain_int(text: str) -> int | None:
    if re.fullmatch(r"[0-9]{1,20}", text) and int(text) < 2**64:
        return int(text)
    return None


@settings(max_examples=100, deadline=None)
@given(value=_NUMBERS)
@example(value="\u00b2")
@example(value="\u0663")  # ARABIC-INDIC DIGIT THREE: int() reads it as 3
@example(value="9" * 5000)
def test_playlist_numbers_are_ascii_digits_of_bounded_length(value: str) -> None:
    expected = _plain_int(value)
    reads = {
        "TARGETDURATION": (
            lambda: parse_hls_media(f"#EXTM3U\n#EXT-X-TARGETDURATION:{value}\n").target_duration
        ),
        "MEDIA-SEQUENCE": lambda: (
            parse_hls_media(
                f"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:{value}\n"
            ).media_sequence
        ),
        "BANDWIDTH": lambda: (
            parse_hls_master(f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH={value}\nv.m3u8\n")[
                0
            ].bandwidth_bps
        ),
        "RESOLUTION": lambda: (
            parse_hls_master(
                f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION={value}x{value}\nv.m3u8\n"
            )[0].resolution
        ),
    }
    for name, read in reads.items():
        if expected is None:
            with pytest.raises(StreamingError, match=name):
                read()
        else:
            got = read()
            assert got == ((expected, expected) if name == "RESOLUTION" else expected)


@settings(max_examples=60, deadline=None)
@given(field=st.sampled_from(sorted(set(_MPD_OK) - {"duration"})), value=_NUMBERS)
@example(field="timescale", value="\u00b2")
@example(field="bandwidth", value="9" * 5000)
def test_mpd_numbers_are_ascii_digits_of_bounded_length(field: str, value: str) -> None:
    text = _MPD.format(**{**_MPD_OK, field: value})
    if _plain_int(value) is None:
        with pytest.raises(StreamingError):
            parse_dash_mpd(text)
        return
    try:
        mpd = parse_dash_mpd(text)
    except StreamingError:  # a plain integer may still be out of range (a width of 10**6)
        return
    rep = mpd.representations[0]
    got = {
        "timescale": round(2000 / mpd.segment_duration_s),
        "seg": round(mpd.segment_duration_s * 1000),
        "start": mpd.start_number,
        "bandwidth": round(rep.bitrate_kbps * 1000),
        "width": rep.width,
        "height": rep.height,
    }[field]
    assert got == int(value) or field in ("timescale", "seg")


@pytest.mark.parametrize(
    "duration", ["PT\u0663S", "PT" + "9" * 400 + "S", "P" + "9" * 30 + "D", "PT1.\u0663S"]
)
def test_mpd_durations_are_ascii_and_finite(duration: str) -> None:
    with pytest.raises(StreamingError, match="duration"):
        parse_iso_duration(duration)
    with pytest.raises(StreamingError, match="duration"):
        parse_dash_mpd(_MPD.format(**{**_MPD_OK, "duration": duration}))


@pytest.mark.parametrize("value", ["\u0663", "1_0", " 4", "1e1", "\u00b2.5", "9" * 5000])
def test_extinf_durations_are_ascii_decimals(value: str) -> None:
    with pytest.raises(StreamingError, match="EXTINF"):
        parse_hls_media(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:{value},\ns.ts\n")


def test_ladder_for_the_shared_manifest(shared_data: object) -> None:
    from designpatterns_ref.streaming.data import bbb

    movie = bbb()
    ladder = ladder_for(movie)
    assert [r.bitrate_kbps for r in ladder] == list(movie.bitrates_kbps)
    heights = [r.height for r in ladder]
    assert heights == sorted(heights)
    mpd = parse_dash_mpd(write_dash_mpd(ladder, 3, movie.duration_s))
    assert mpd.segment_count == movie.segment_count


@pytest.mark.parametrize("seconds", [0, 0.5, 59.25, 61, 3600, 3725.5])
def test_iso_durations(seconds: float) -> None:
    assert parse_iso_duration(format_iso_duration(seconds)) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=1x1\nv.m3u8\n", "BANDWIDTH"),
        ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=9\n", "without a URI"),
        ("nope\n", "#EXTM3U"),
    ],
)
def test_bad_master_playlists_name_the_fault(text: str, where: str) -> None:
    with pytest.raises(StreamingError, match=where):
        parse_hls_master(text)


def test_bad_media_playlists_and_mpds_name_the_fault() -> None:
    with pytest.raises(StreamingError, match="EXTINF duration"):
        parse_hls_media("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:abc,\ns.ts\n")
    with pytest.raises(StreamingError, match="TARGETDURATION"):
        parse_hls_media("#EXTM3U\n#EXTINF:4,\ns.ts\n")
    with pytest.raises(StreamingError, match="well-formed"):
        parse_dash_mpd("<MPD")
    with pytest.raises(StreamingError, match="bandwidth"):
        parse_dash_mpd(write_dash_mpd([Rung("a", 100, 2, 2)], 2, 4).replace('"100000"', '"x"'))


def test_upload_server_shared_between_threads() -> None:
    import threading

    server = UploadServer()
    payloads = [bytes([i % 3]) * 50_000 + bytes(range(256)) for i in range(9)]  # 3 distinct
    clients = [UploadClient(server, p, chunk_size=997) for p in payloads]
    for c in clients:  # open every upload first, so none can skip by asking the hash
        c.upload_id = server.create(len(c.data))
    threads = [threading.Thread(target=c.resume) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        assert server.blob(c.upload_id or "") == c.data
    assert server.stored_bytes == sum(len(p) for p in set(payloads))
    assert server.deduplicated == len(payloads) - len(set(payloads))


class _Guarded(dict):  # type: ignore[type-arg]
    """A dict that fails any read or write made while ``lock`` is not held."""

    def __init__(self, lock: object, *args: object) -> None:
        super().__init__(*args)
        self.lock = lock

    def _check(self) -> None:
        assert self.lock.locked(), "UploadServer state touched without its lock"  # type: ignore[attr-defined]

    def __getitem__(self, key: object) -> object:
        self._check()
        return super().__getitem__(key)

    def __setitem__(self, key: object, value: object) -> None:
        self._check()
        super().__setitem__(key, value)

    def __contains__(self, key: object) -> bool:
        self._check()
        return super().__contains__(key)

    def __iter__(self):  # type: ignore[no-untyped-def]
        self._check()
        return super().__iter__()

    def get(self, *args: object) -> object:  # type: ignore[override]
        self._check()
        return super().get(*args)

    def values(self):  # type: ignore[no-untyped-def]
        self._check()
        return super().values()

    def items(self):  # type: ignore[no-untyped-def]
        self._check()
        return super().items()


def test_every_upload_server_call_holds_the_lock_while_it_touches_state() -> None:
    server = UploadServer()
    server._uploads = _Guarded(server._lock, server._uploads)  # type: ignore[assignment]
    server._blobs = _Guarded(server._lock, server._blobs)  # type: ignore[assignment]
    done = server.create(4)
    server.append(done, 0, b"abcd", sha256(b"abcd"))
    part = server.create(4)
    server.append(part, 0, b"ab", sha256(b"ab"))
    assert server.offset(done) == 4 and server.offset(part) == 2
    assert server.state(part).offset == 2
    assert server.find(sha256(b"abcd")) and not server.find(sha256(b"ab"))
    assert server.blob(server.link(sha256(b"abcd"))) == b"abcd"
    assert server.blob(done) == b"abcd"
    assert server.stored_bytes == 6
    for call in (lambda: server.offset("u99"), lambda: server.blob(part)):
        with pytest.raises(StreamingError):
            call()


def test_readers_meet_concurrent_writers() -> None:
    import sys
    import threading
    import time

    server = UploadServer()
    for _ in range(200):
        server.create(10)
    uid = server.create(4)
    server.append(server.create(2), 0, b"ab", sha256(b"ab"))
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            server.append(server.create(2), 0, b"ab", sha256(b"ab"))
            time.sleep(0)  # let the reader in (a lock is not fair: the writer would starve it)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: a reader meets a write half done
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(300):
            assert server.stored_bytes == 2  # each new upload ends as a duplicate of b"ab"
            assert server.offset(uid) == 0
            assert server.find(sha256(b"ab"))
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(old)
    assert server.stored_bytes == 2 and server.deduplicated == len(server._uploads) - 202


def _brute_chunks(source: float, chunk: float) -> list[Fraction]:
    """Walk the source chunk by chunk; a rest under a billionth of a chunk joins the last."""
    src, size = Fraction(source), Fraction(chunk)
    lengths: list[Fraction] = []
    pos = Fraction(0)
    while True:
        rest = src - pos
        if rest <= size + size / 10**9:  # the last chunk (with a sliver of float error)
            lengths.append(rest)
            return lengths
        lengths.append(size)
        pos += size


@settings(max_examples=100, deadline=None)
@given(
    chunk=st.sampled_from([0.1, 0.2, 0.3, 0.6, 0.7, 1.1, 2.2, 6.0]) | st.floats(0.05, 30),
    whole=st.integers(1, 60),
    part=st.sampled_from([0.0, 0.0, 0.5, 0.999, 1e-12]) | st.floats(0, 1),
)
@example(chunk=0.3, whole=5, part=0.0)  # 1.5 s: was 6 encodes, the last of 0 s
@example(chunk=0.1, whole=3, part=0.0)  # 0.30000000000000004 s: was 4 encodes
@example(chunk=0.7, whole=5, part=0.0)
def test_chunks_are_counted_exactly_and_never_empty(chunk: float, whole: int, part: float) -> None:
    source = whole * chunk + part * chunk
    expected = _brute_chunks(source, chunk)
    g = job_graph(source, chunk, [(360, 1.0)])
    lengths = [t.seconds for name, t in g.tasks.items() if name.startswith("encode")]
    assert len(lengths) == len(expected)
    assert lengths == [float(x) for x in expected]
    assert all(x > 0 for x in lengths)
