"""Bad input: a StreamingError naming the field, and nothing changed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from designpatterns_ref import streaming as s
from designpatterns_ref.errors import DesignPatternsError
from designpatterns_ref.streaming import Manifest, StreamingError, Trace
from designpatterns_ref.streaming.cdn import LFUCache, LRUCache, TinyLFUCache, WTinyLFUCache
from designpatterns_ref.streaming.upload import UploadServer, sha256
from tests.fuzz.test_fuzz import state_of

HOSTILE = [None, True, math.nan, math.inf, -math.inf, 10**400, -1, "", "\ud800", "x" * 10_000,
           [], {}, object()]  # fmt: skip

GOOD = {"segment_duration_ms": 3000, "bitrates_kbps": [300, 750], "segment_sizes_bits": [[1, 2]]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"segment_duration_ms": -3000}, "segment_duration_ms=-3000"),
        ({"segment_duration_ms": 0}, "segment_duration_ms=0"),
        ({"bitrates_kbps": []}, "bitrates_kbps=[]"),
        ({"bitrates_kbps": [750, 300]}, "bitrates_kbps[1]=300"),
        ({"bitrates_kbps": [300, 300]}, "strictly increasing"),
        ({"bitrates_kbps": [300, -750]}, "bitrates_kbps[1]=-750"),
        ({"segment_sizes_bits": []}, "segment_sizes_bits=[]"),
        ({"segment_sizes_bits": [[1, 2], [3]]}, "segment_sizes_bits[1] has 1 sizes"),
        ({"segment_sizes_bits": [[1, -2]]}, "segment_sizes_bits[0][1]=-2"),
        ({"segment_sizes_bits": [[1, math.nan]]}, "segment_sizes_bits[0][1]=nan"),
        ({"segment_sizes_bits": "12"}, "segment_sizes_bits='12'"),
    ],
)
def test_malformed_manifest_names_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(StreamingError, match=__import__("re").escape(field)):
        Manifest.from_dict({**GOOD, **change})


@pytest.mark.parametrize("missing", list(GOOD))
def test_manifest_missing_field(missing: str) -> None:
    data = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(StreamingError, match=missing):
        Manifest.from_dict(data)


PERIOD = {"duration_ms": 1000, "bandwidth_kbps": 500, "latency_ms": 50}


@pytest.mark.parametrize(
    ("periods", "field"),
    [
        ([], "periods=[]"),
        ([{**PERIOD, "duration_ms": -5}], "periods[0].duration_ms=-5"),
        ([PERIOD, {**PERIOD, "duration_ms": 0}], "periods[1].duration_ms=0"),
        ([{**PERIOD, "bandwidth_kbps": -1}], "periods[0].bandwidth_kbps=-1"),
        ([{**PERIOD, "latency_ms": math.inf}], "periods[0].latency_ms=inf"),
        ([{"duration_ms": 1, "bandwidth_kbps": 1}], "missing the field 'latency_ms'"),
        ([{**PERIOD, "bandwidth_kbps": 0}], "every bandwidth_kbps is 0"),
        ([{**PERIOD, "bandwidth_kbps": True}], "periods[0].bandwidth_kbps=True"),
        (["x"], "periods[0]='x'"),
    ],
)
def test_malformed_trace_names_the_field(periods: list[object], field: str) -> None:
    with pytest.raises(StreamingError, match=__import__("re").escape(field)):
        Trace(periods)


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(StreamingError, match="cannot read the manifest"):
        s.load_manifest(bad)
    with pytest.raises(StreamingError, match="cannot read the network log"):
        s.load_trace(tmp_path / "missing.json")
    bad.write_text(json.dumps([{**PERIOD, "duration_ms": -1}]), encoding="utf-8")
    with pytest.raises(StreamingError, match=r"periods\[0\].duration_ms=-1"):
        s.load_trace(bad)


def test_errors_are_the_family_error_and_builtin_kinds() -> None:
    with pytest.raises(StreamingError) as info:
        Manifest(None, [1], [[1]])
    assert isinstance(info.value, TypeError | ValueError)
    assert isinstance(info.value, DesignPatternsError)


MOVIE = Manifest(2000, [500, 1000], [[1e6, 2e6]] * 4)


@pytest.mark.parametrize("value", HOSTILE)
def test_simulate_refuses_hostile_arguments(value: object) -> None:
    for kwargs in (
        {"buffer_cap_s": value},
        *(() if value is None else ({"weights": value},)),
        *(() if isinstance(value, bool) else ({"abandonment": value},)),
    ):
        with pytest.raises(StreamingError):
            s.simulate(MOVIE, Trace.constant(1000), s.Fixed(0), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(StreamingError):
        s.simulate(value, Trace.constant(1000), s.Fixed(0))  # type: ignore[arg-type]
    with pytest.raises(StreamingError):
        s.simulate(MOVIE, value, s.Fixed(0))  # type: ignore[arg-type]


def test_a_rung_that_does_not_exist_is_refused() -> None:
    with pytest.raises(StreamingError, match="rung=5 must be below"):
        s.simulate(MOVIE, Trace.constant(1000), s.Fixed(5))

    class Wild(s.Fixed):
        def choose(self, state: s.SessionState) -> int:
            return 7

    with pytest.raises(StreamingError, match="chose rung=7"):
        s.simulate(MOVIE, Trace.constant(1000), Wild(0))


@pytest.mark.parametrize("value", HOSTILE)
def test_refused_calls_leave_algorithms_unchanged(value: object) -> None:
    for algo in s.algorithms():
        algo.start(MOVIE, 25_000.0)
        before = state_of(algo)
        for call in (algo.choose, algo.observe):
            with pytest.raises(StreamingError):
                call(value)  # type: ignore[arg-type]
        with pytest.raises(StreamingError):
            algo.start(MOVIE, value)  # type: ignore[arg-type]
        assert state_of(algo) == before


@pytest.mark.parametrize("value", HOSTILE)
def test_refused_cache_calls_change_nothing(value: object) -> None:
    for cache in (LRUCache(100), LFUCache(100), TinyLFUCache(100), WTinyLFUCache(100)):
        cache.access("a", 10)
        before = state_of(cache)
        with pytest.raises(StreamingError):
            cache.access("b", value)  # type: ignore[arg-type]
        if value.__hash__ is None:
            with pytest.raises(StreamingError):
                cache.access(value, 10)  # type: ignore[arg-type]
        assert state_of(cache) == before


@pytest.mark.parametrize("value", HOSTILE)
def test_refused_upload_chunks_change_nothing(value: object) -> None:
    server = UploadServer()
    uid = server.create(4)
    server.append(uid, 0, b"ab", sha256(b"ab"))
    before = (server.offset(uid), bytes(server.state(uid).received), server.chunks_accepted)
    for args in ((value, 2, b"cd", sha256(b"cd")), (uid, value, b"cd", sha256(b"cd")),
                 (uid, 2, value, sha256(b"cd")), (uid, 2, b"cd", value)):  # fmt: skip
        with pytest.raises(StreamingError):
            server.append(*args)  # type: ignore[arg-type]
    after = (server.offset(uid), bytes(server.state(uid).received), server.chunks_accepted)
    assert after == before


# -- hostile values in the fields of SessionState and Download ---------------------------------

FIELD_VALUES = [None, True, "x", "\ud800", 1j, [], math.nan, math.inf, -math.inf, -5000.0, -1,
                10**400, 2**64, 1e300, 0, 0.0, 3, 1.5]  # fmt: skip
LONG = Manifest(2000, [500, 1000, 2000], [[1e6, 2e6, 4e6]] * 20)
STATE = {"manifest": LONG, "buffer_cap_ms": 25_000.0, "segment": 1, "buffer_ms": 4000.0,
         "now_ms": 10.0, "last_rung": 0, "throughputs_kbps": [1500.0], "download_ms": [1000.0],
         "latencies_ms": [50.0]}  # fmt: skip
DOWNLOAD = {"segment": 0, "rung": 0, "bits": 1e6, "time_ms": 700.0, "latency_ms": 50.0,
            "throughput_kbps": 1538.0, "buffer_before_ms": 4000.0, "abandoned": False}  # fmt: skip
LISTS = ("throughputs_kbps", "download_ms", "latencies_ms")


def _started() -> list[s.AbrAlgorithm]:
    algos = s.algorithms()
    for algo in algos:
        algo.start(LONG, 25_000.0)
    return algos


def _chooses_a_rung(algos: list[s.AbrAlgorithm], state: s.SessionState) -> None:
    for algo in algos:
        rung = algo.choose(state)
        assert type(rung) is int and 0 <= rung < LONG.rungs, (algo.name, rung)


@pytest.mark.parametrize("value", FIELD_VALUES)
@pytest.mark.parametrize("field", [f for f in STATE if f != "manifest"])
def test_session_state_fields_are_checked(field: str, value: object) -> None:
    """A hostile field is refused naming it, as built or as set; an accepted one gives a rung."""
    given = [value] if field in LISTS else value
    algos = _started()
    try:
        state = s.SessionState(**{**STATE, field: given})  # type: ignore[arg-type]
    except StreamingError as exc:
        assert field in str(exc)
    else:
        _chooses_a_rung(algos, state)
    state = s.SessionState(**STATE)  # type: ignore[arg-type]
    before = state_of(state)
    try:
        setattr(state, field, given)
    except StreamingError as exc:
        assert field in str(exc) and state_of(state) == before
    else:
        _chooses_a_rung(algos, state)


@pytest.mark.parametrize("value", FIELD_VALUES)
@pytest.mark.parametrize("field", list(DOWNLOAD))
def test_download_fields_are_checked(field: str, value: object) -> None:
    algos = _started()
    try:
        download = s.Download(**{**DOWNLOAD, field: value})  # type: ignore[arg-type]
    except StreamingError as exc:
        assert field in str(exc)
        return
    for algo in algos:
        before = state_of(algo)
        try:
            algo.observe(download)
        except StreamingError:
            assert state_of(algo) == before
    _chooses_a_rung(algos, s.SessionState(**STATE))  # type: ignore[arg-type]


def test_session_state_lists_are_one_per_download() -> None:
    with pytest.raises(StreamingError, match="latencies_ms"):
        s.SessionState(**{**STATE, "latencies_ms": []})  # type: ignore[arg-type]
    with pytest.raises(StreamingError, match="segment"):
        s.SessionState(**{**STATE, "segment": LONG.segment_count})  # type: ignore[arg-type]
    with pytest.raises(StreamingError, match="last_rung"):
        s.SessionState(**{**STATE, "last_rung": LONG.rungs})  # type: ignore[arg-type]


@pytest.mark.parametrize("algo", s.algorithms(), ids=lambda a: a.name)
def test_a_download_of_a_rung_the_ladder_lacks_is_refused_or_ignored(algo: s.AbrAlgorithm) -> None:
    algo.start(LONG, 25_000.0)
    before = state_of(algo)
    try:
        algo.observe(s.Download(**{**DOWNLOAD, "rung": LONG.rungs}))  # type: ignore[arg-type]
    except StreamingError as exc:
        assert "rung" in str(exc) and state_of(algo) == before
    for level in range(0, 25_001, 500):  # every buffer level, the hysteresis band included
        state = s.SessionState(**{**STATE, "buffer_ms": float(level)})  # type: ignore[arg-type]
        rung = algo.choose(state)
        assert 0 <= rung < LONG.rungs


def test_a_state_of_another_manifest_is_refused_or_answered() -> None:
    """A state from a longer, wider manifest than start() saw: a rung or the family error."""
    short = Manifest(2000, [500, 1000], [[1e6, 2e6]] * 3)
    wide = Manifest(2000, [500, 1000, 2000, 4000], [[1e6, 2e6, 4e6, 8e6]] * 20)
    for segment, last in ((10, 0), (1, 3)):
        state = s.SessionState(**{**STATE, "manifest": wide, "segment": segment, "last_rung": last})  # type: ignore[arg-type]
        for algo in s.algorithms():
            algo.start(short, 25_000.0)
            before = state_of(algo)
            try:
                rung = algo.choose(state)
            except StreamingError as exc:
                assert "state." in str(exc) and state_of(algo) == before
            else:
                assert 0 <= rung < short.rungs, (algo.name, rung)
