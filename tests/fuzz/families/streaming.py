"""streaming: the player simulator, the ABR rules, upload, transcoding, manifests and the CDN."""

from __future__ import annotations

import tempfile
from typing import Any

from designpatterns_ref import streaming as s
from designpatterns_ref.streaming import (
    caches,
    cdn,
    data,
    encode,
    manifests,
    plot,
    tinylfu,
    transcode,
    upload,
)
from designpatterns_ref.streaming.base import StreamingError
from tests.fuzz.spec import Entry

ERRORS = (StreamingError,)
NOT_FUZZED: dict[str, str] = {
    "SessionResult": "what a session run returns (the simulator fills it in as it plays); users "
    "read it and hand it, as returned, to plot_session",
}

MOVIE = s.Manifest(2000, [500, 1000], [[1e6, 2e6]] * 3)
TRACE = s.Trace.constant(1500, latency_ms=20)
ARGS = {"segment_duration_ms": 2000, "bitrates_kbps": [500, 1000], "segment_sizes_bits": [[1, 2]]}
PERIOD = {"duration_ms": 100, "bandwidth_kbps": 10, "latency_ms": 1}
STATE = s.SessionState(MOVIE, 25_000.0, segment=1, buffer_ms=2000.0, last_rung=0)
DOWNLOAD = s.Download(0, 0, 1e6, 700.0, 20.0, 1470.0, 0.0)
W = s.QoEWeights()
PLAN = ([[100.0, 200.0]] * 2, [500.0, 1000.0], 0, 1000.0, 2000.0, 25_000.0, W)
LADDER = [manifests.Rung("a", 500, 640, 360), manifests.Rung("b", 1000, 1280, 720)]
REQ = cdn.Request(1, 100, 0, 0)
RESULT = s.simulate(MOVIE, TRACE, s.Fixed(0))
OUT = tempfile.mkdtemp(prefix="dpref-fuzz-encode-")

# Numbers that str.isdigit() takes and int() refuses ("²", 5,000 digits) or reads ("٣" is 3).
_ODD_NUMBERS = ("\u00b2", "\u0663", "9" * 5000, "1_0", "")
_MPD_ATTRS = {
    "mediaPresentationDuration": "PT10S",
    "timescale": "1000",
    "duration": "2000",
    "startNumber": "1",
    "bandwidth": "500000",
    "width": "640",
    "height": "360",
}
_MPD = (
    '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" '
    'mediaPresentationDuration="{mediaPresentationDuration}">'
    '<Period><AdaptationSet><SegmentTemplate timescale="{timescale}" duration="{duration}" '
    'startNumber="{startNumber}"/><Representation id="a" bandwidth="{bandwidth}" '
    'width="{width}" height="{height}"/></AdaptationSet></Period></MPD>'
)
MANIFEST_TEXTS = (
    *(f"#EXTM3U\n#EXT-X-TARGETDURATION:{n}\n" for n in _ODD_NUMBERS),
    *(f"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:{n}\n" for n in _ODD_NUMBERS),
    *(f"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:{n},\ns.ts\n" for n in _ODD_NUMBERS),
    *(f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH={n}\nv.m3u8\n" for n in _ODD_NUMBERS),
    *(f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION={n}x1\nv.m3u8\n" for n in _ODD_NUMBERS),
    *(
        _MPD.format(**{**_MPD_ATTRS, k: n})
        for k in _MPD_ATTRS
        if k != "mediaPresentationDuration"
        for n in _ODD_NUMBERS
    ),
    *(
        _MPD.format(**{**_MPD_ATTRS, "mediaPresentationDuration": f"PT{n}S"})
        for n in (*_ODD_NUMBERS, "9" * 400)
    ),
)


def _args(name: str, call: Any, defaults: dict[str, Any], **kw: Any) -> list[Entry]:
    """One entry per argument of ``call``, the others at valid defaults."""
    return [
        Entry(f"{name}({arg}=)", call=lambda _, v, a=arg: call(**{**defaults, a: v}), **kw)
        for arg in defaults
    ]


def _started(algo: Any) -> Any:
    def make() -> Any:
        a = algo()
        a.start(MOVIE, 25_000.0)
        return a

    return make


ALGORITHMS = [
    ("Fixed", lambda: s.Fixed(1)),
    ("ThroughputRule", s.ThroughputRule),
    ("BBA", s.BBA),
    ("Bola", s.Bola),
    ("Dynamic", s.Dynamic),
    ("RobustMPC", s.RobustMPC),
]

# Hostile values inside the objects choose() and observe() read, field by field.
STATE_FIELDS: dict[str, Any] = {
    "buffer_cap_ms": 25_000.0,
    "segment": 1,
    "buffer_ms": 2000.0,
    "now_ms": 0.0,
    "last_rung": 0,
    "throughputs_kbps": [1500.0],
    "download_ms": [1000.0],
    "latencies_ms": [50.0],
}
DOWNLOAD_FIELDS: dict[str, Any] = {
    "segment": 0,
    "rung": 0,
    "bits": 1e6,
    "time_ms": 700.0,
    "latency_ms": 20.0,
    "throughput_kbps": 1470.0,
    "buffer_before_ms": 0.0,
    "abandoned": False,
}


def _state_with(field: str, value: Any, item: bool = False) -> s.SessionState:
    return s.SessionState(MOVIE, **{**STATE_FIELDS, field: [value] if item else value})


ENTRIES: list[Entry] = [
    Entry("SessionState(manifest=)", call=lambda _, v: s.SessionState(v, **STATE_FIELDS)),
    *(
        Entry(
            f"SessionState({f}{'[0]' if item else ''}=)",
            call=lambda _, v, f=f, item=item: _state_with(f, v, item),
        )
        for f in STATE_FIELDS
        for item in ((False, True) if isinstance(STATE_FIELDS[f], list) else (False,))
    ),
    *_args("Download", s.Download, DOWNLOAD_FIELDS),
    *_args("Manifest", s.Manifest, ARGS),
    Entry("Manifest.from_dict", call=lambda _, v: s.Manifest.from_dict(v)),
    Entry("Trace(periods)", call=lambda _, v: s.Trace(v)),
    Entry("Trace(periods[0])", call=lambda _, v: s.Trace([v])),
    *(
        Entry(f"Trace(periods[0].{k})", call=lambda _, v, k=k: s.Trace([{**PERIOD, k: v}]))
        for k in PERIOD
    ),
    Entry("Trace(name=)", call=lambda _, v: s.Trace([PERIOD], name=v)),
    *_args("NetworkPeriod", s.NetworkPeriod, PERIOD),
    *_args(
        "Trace.constant",
        s.Trace.constant,
        {"bandwidth_kbps": 100, "latency_ms": 0.0, "duration_ms": 1000.0},
    ),
    Entry("load_manifest", call=lambda _, v: s.load_manifest(v)),
    Entry("load_trace", call=lambda _, v: s.load_trace(v)),
    *_args("QoEWeights", s.QoEWeights, {"switch": 1.0, "rebuffer": 1.0, "startup": 1.0}),
    Entry("QoEWeights(quality=)", call=lambda _, v: s.QoEWeights(quality=v)),
    Entry("QoEWeights.utilities", call=lambda _, v: W.utilities(v)),
    *_args(
        "simulate",
        s.simulate,
        {
            "manifest": MOVIE,
            "trace": TRACE,
            "abr": s.Fixed(0),
            "buffer_cap_s": 10.0,
            "weights": W,
            "abandonment": False,
        },
    ),
    Entry("Fixed(rung)", call=lambda _, v: s.Fixed(v)),
    Entry("SlidingWindow(window)", call=lambda _, v: s.SlidingWindow(v)),
    Entry("Ewma(half_lives_s)", call=lambda _, v: s.Ewma(v)),
    Entry("Ewma(half_lives_s[0])", call=lambda _, v: s.Ewma([v])),
    *(
        Entry(f"{est.__name__}.reset", call=lambda o, v: o.reset(v), make=est)
        for est in (s.SlidingWindow, s.Ewma)
    ),
    *(
        Entry(
            f"{est.__name__}.push({i})",
            call=lambda o, v, i=i: o.push(*[v if k == i else 100.0 for k in range(3)]),
            make=est,
        )
        for est in (s.SlidingWindow, s.Ewma)
        for i in range(3)
    ),
    Entry("ThroughputRule(estimator)", call=lambda _, v: s.ThroughputRule(v)),
    Entry("ThroughputRule(safety=)", call=lambda _, v: s.ThroughputRule(safety=v)),
    Entry(
        "ThroughputRule(insufficient_buffer_rule=)",
        call=lambda _, v: s.ThroughputRule(insufficient_buffer_rule=v),
    ),
    Entry("BBA(reservoir_s)", call=lambda _, v: s.BBA(reservoir_s=v)),
    Entry("BBA(cushion_s)", call=lambda _, v: s.BBA(cushion_s=v)),
    Entry("Bola(gp)", call=lambda _, v: s.Bola(v)),
    Entry("Bola(variant=)", call=lambda _, v: s.Bola(variant=v)),
    Entry("Bola(shrink_near_ends=)", call=lambda _, v: s.Bola(shrink_near_ends=v)),
    Entry("Bola(estimator=)", call=lambda _, v: s.Bola(estimator=v)),
    Entry("Bola.v", call=lambda o, v: o.v(v), make=_started(s.Bola)),
    Entry("Dynamic(threshold_s)", call=lambda _, v: s.Dynamic(v)),
    Entry("Dynamic(bola=)", call=lambda _, v: s.Dynamic(bola=v)),
    Entry("Dynamic(throughput=)", call=lambda _, v: s.Dynamic(throughput=v)),
    Entry("RobustMPC(horizon)", call=lambda _, v: s.RobustMPC(v)),
    Entry("RobustMPC(window=)", call=lambda _, v: s.RobustMPC(window=v)),
    Entry("RobustMPC(weights=)", call=lambda _, v: s.RobustMPC(weights=v)),
    Entry("RobustMPC(robust=)", call=lambda _, v: s.RobustMPC(robust=v)),
    Entry("RobustMPC.predict", call=lambda o, v: o.predict(v), make=_started(s.RobustMPC)),
    *(
        entry
        for name, algo in ALGORITHMS
        for entry in (
            Entry(f"{name}.start(manifest)", call=lambda o, v: o.start(v, 25_000.0), make=algo),
            Entry(f"{name}.start(cap)", call=lambda o, v: o.start(MOVIE, v), make=algo),
            Entry(f"{name}.choose", call=lambda o, v: o.choose(v), make=_started(algo)),
            Entry(f"{name}.observe", call=lambda o, v: o.observe(v), make=_started(algo)),
        )
    ),
    *(
        Entry(
            f"{name}.choose(state.{f}{'[0]' if item else ''}=)",
            call=lambda o, v, f=f, item=item: o.choose(_state_with(f, v, item)),
            make=_started(algo),
        )
        for name, algo in ALGORITHMS
        for f in STATE_FIELDS
        for item in ((False, True) if isinstance(STATE_FIELDS[f], list) else (False,))
    ),
    *(
        Entry(
            f"{name}.observe(download.{f}=)",
            call=lambda o, v, f=f: o.observe(s.Download(**{**DOWNLOAD_FIELDS, f: v})),
            make=_started(algo),
        )
        for name, algo in ALGORITHMS
        for f in DOWNLOAD_FIELDS
    ),
    *_args(
        "rung_for_throughput",
        s.rung_for_throughput,
        {"bitrates_kbps": [1, 2], "segment_ms": 1.0, "throughput_kbps": 1.0, "latency_ms": 0.0},
    ),
    *_args(
        "bba_rung",
        s.bba_rung,
        {
            "buffer_ms": 1.0,
            "previous": 0,
            "bitrates_kbps": [1, 2],
            "reservoir_ms": 1.0,
            "cushion_ms": 1.0,
        },
    ),
    *_args(
        "bola_rung",
        s.bola_rung,
        {"buffer_ms": 1.0, "utilities": [0, 1], "bitrates": [1, 2], "v": 1.0, "gp": 5.0},
    ),
    *(
        entry
        for fn in (s.plan, s.plan_brute_force)
        for entry in _args(
            fn.__name__,
            fn,
            dict(
                zip(
                    ("download_ms", "utilities", "last", "buffer_ms", "seg", "cap", "weights"),
                    PLAN,
                    strict=True,
                )
            ),
        )
    ),
    Entry("plan(guess=)", call=lambda _, v: s.plan(*PLAN, guess=v)),
    Entry("plan_value(rungs)", call=lambda _, v: s.plan_value(v, *PLAN)),
    Entry("Network(trace)", call=lambda _, v: s.Network(v)),
    Entry("Network.download(bits)", call=lambda o, v: o.download(v), make=lambda: s.Network(TRACE)),
    Entry(
        "Network.download(max_ms)",
        call=lambda o, v: o.download(1000.0, v),
        make=lambda: s.Network(TRACE),
    ),
    Entry("Network.delay", call=lambda o, v: o.delay(v), make=lambda: s.Network(TRACE)),
    Entry("data.shared_traces", call=lambda _, v: data.shared_traces(v)),
    # plots (matplotlib is imported only once the arguments pass)
    Entry("plot_session(result)", call=lambda _, v: plot.plot_session(v, TRACE)),
    Entry("plot_session(trace)", call=lambda _, v: plot.plot_session(RESULT, v)),
    Entry("plot_session(ax=)", call=lambda _, v: plot.plot_session(RESULT, TRACE, ax=v)),
    Entry("plot_sessions(results)", call=lambda _, v: plot.plot_sessions(v, TRACE)),
    Entry("plot_sessions(trace)", call=lambda _, v: plot.plot_sessions([RESULT], v)),
    Entry("plot_hit_ratio(curves)", call=lambda _, v: plot.plot_hit_ratio(v)),
    Entry("plot_hit_ratio(curves[x])", call=lambda _, v: plot.plot_hit_ratio({"LRU": v})),
    Entry("plot_hit_ratio(ax=)", call=lambda _, v: plot.plot_hit_ratio({"a": []}, ax=v)),
    Entry("plot_hit_ratio(xlabel=)", call=lambda _, v: plot.plot_hit_ratio({"a": []}, xlabel=v)),
    # CDN
    *(
        entry
        for name, make in (
            ("LRUCache", cdn.LRUCache),
            ("LFUCache", cdn.LFUCache),
            ("TinyLFUCache", cdn.TinyLFUCache),
            ("WTinyLFUCache", cdn.WTinyLFUCache),
        )
        for entry in (
            Entry(f"{name}(capacity)", call=lambda _, v, m=make: m(v)),
            Entry(
                f"{name}.access(key)", call=lambda o, v: o.access(v, 10), make=lambda m=make: m(100)
            ),
            Entry(
                f"{name}.access(size)",
                call=lambda o, v: o.access("k", v),
                make=lambda m=make: m(100),
            ),
        )
    ),
    Entry("LRUCache.admit(key)", call=lambda o, v: o.admit(v, 1), make=lambda: cdn.LRUCache(9)),
    Entry("LRUCache.admit(size)", call=lambda o, v: o.admit("k", v), make=lambda: cdn.LRUCache(9)),
    Entry("TinyLFUCache(sample=)", call=lambda _, v: cdn.TinyLFUCache(10, sample=v)),
    Entry("TinyLFUCache(width=)", call=lambda _, v: cdn.TinyLFUCache(10, width=v)),
    Entry("TinyLFUCache(entries=)", call=lambda _, v: cdn.TinyLFUCache(10, entries=v)),
    *_args("sketch_for", tinylfu.sketch_for, {"entries": 10, "width": 8, "sample": 10}),
    *_args(
        "WTinyLFUCache",
        cdn.WTinyLFUCache,
        {
            "capacity": 100,
            "window": 0.1,
            "protected": 0.5,
            "entries": 10,
            "width": 8,
            "sample": 10,
        },
    ),
    Entry("check_size", call=lambda _, v: caches.check_size(v)),
    Entry("check_key", call=lambda _, v: caches.check_key(v)),
    *_args("CountMinSketch", cdn.CountMinSketch, {"width": 8, "depth": 2, "sample": 10}),
    Entry("CountMinSketch.add", call=lambda o, v: o.add(v), make=cdn.CountMinSketch),
    Entry("CountMinSketch.estimate", call=lambda o, v: o.estimate(v), make=cdn.CountMinSketch),
    *_args("Request", cdn.Request, {"key": 1, "size": 1, "day": 0, "edge": 0}),
    *_args(
        "zipf_workload",
        cdn.zipf_workload,
        {
            "objects": 20,
            "requests": 30,
            "alpha": 0.8,
            "days": 2,
            "churn": 0.1,
            "edges": 2,
            "seed": 1,
        },
    ),
    Entry("CdnTier(edges)", call=lambda _, v: cdn.CdnTier(v)),
    Entry("CdnTier(shield)", call=lambda _, v: cdn.CdnTier([cdn.LRUCache(10)], v)),
    Entry(
        "CdnTier.request",
        call=lambda o, v: o.request(v),
        make=lambda: cdn.CdnTier([cdn.LRUCache(10)]),
    ),
    Entry(
        "CdnTier.replay", call=lambda o, v: o.replay(v), make=lambda: cdn.CdnTier([cdn.LRUCache(9)])
    ),
    *_args(
        "hit_ratio_curve",
        cdn.hit_ratio_curve,
        {"requests": [REQ], "policy": "LRU", "percents": [10], "edges": 1, "shield_percent": 5},
    ),
    Entry("catalogue_bytes", call=lambda _, v: cdn.catalogue_bytes(v)),
    # manifests
    *_args(
        "Rung",
        manifests.Rung,
        {"name": "a", "bitrate_kbps": 1.0, "width": 2, "height": 2, "codecs": "avc1"},
    ),
    Entry("ladder_for", call=lambda _, v: manifests.ladder_for(v)),
    Entry("write_hls_master(ladder)", call=lambda _, v: manifests.write_hls_master(v)),
    Entry("write_hls_master(ladder[0])", call=lambda _, v: manifests.write_hls_master([v])),
    Entry("write_hls_master(media_name)", call=lambda _, v: manifests.write_hls_master(LADDER, v)),
    Entry("write_hls_media(durations)", call=lambda _, v: manifests.write_hls_media(v)),
    Entry("write_hls_media(durations[0])", call=lambda _, v: manifests.write_hls_media([v])),
    Entry("write_hls_media(uri)", call=lambda _, v: manifests.write_hls_media([1.0], v)),
    Entry(
        "parse_hls_master", call=lambda _, v: manifests.parse_hls_master(v), values=MANIFEST_TEXTS
    ),
    Entry("parse_hls_media", call=lambda _, v: manifests.parse_hls_media(v), values=MANIFEST_TEXTS),
    Entry("format_iso_duration", call=lambda _, v: manifests.format_iso_duration(v)),
    Entry(
        "parse_iso_duration",
        call=lambda _, v: manifests.parse_iso_duration(v),
        values=tuple(f"PT{n}S" for n in (*_ODD_NUMBERS, "9" * 400)),
    ),
    *_args(
        "write_dash_mpd",
        manifests.write_dash_mpd,
        {"ladder": LADDER, "segment_duration_s": 2.0, "duration_s": 10.0},
    ),
    Entry("parse_dash_mpd", call=lambda _, v: manifests.parse_dash_mpd(v), values=MANIFEST_TEXTS),
    Entry(
        "DashManifest.segment_urls",
        call=lambda o, v: o.segment_urls(v),
        make=lambda: manifests.parse_dash_mpd(manifests.write_dash_mpd(LADDER, 2, 10)),
    ),
    # upload
    Entry("UploadServer.create", call=lambda o, v: o.create(v), make=upload.UploadServer),
    Entry("UploadServer.offset", call=lambda o, v: o.offset(v), make=upload.UploadServer),
    Entry("UploadServer.state", call=lambda o, v: o.state(v), make=upload.UploadServer),
    Entry("UploadServer.blob", call=lambda o, v: o.blob(v), make=upload.UploadServer),
    Entry("UploadServer.find", call=lambda o, v: o.find(v), make=upload.UploadServer),
    Entry("UploadServer.link", call=lambda o, v: o.link(v), make=upload.UploadServer),
    *(
        Entry(
            f"UploadServer.append({i})",
            call=lambda o, v, i=i: o.append(
                *[v if k == i else a for k, a in enumerate(("u1", 0, b"ab", upload.sha256(b"ab")))]
            ),
            make=lambda: _server_with_upload(),
        )
        for i in range(4)
    ),
    Entry("sha256", call=lambda _, v: upload.sha256(v)),
    *_args(
        "UploadClient",
        upload.UploadClient,
        {"server": upload.UploadServer(), "data": b"abc", "chunk_size": 2},
    ),
    Entry(
        "UploadClient.upload",
        call=lambda o, v: o.upload(v),
        make=lambda: upload.UploadClient(upload.UploadServer(), b"abcdef", chunk_size=2),
    ),
    Entry(
        "UploadClient.resume",
        call=lambda o, v: o.resume(v),
        make=lambda: upload.UploadClient(upload.UploadServer(), b"abcdef", chunk_size=2),
    ),
    # the real encode (PyAV): hostile paths and ladders
    Entry("read_back", call=lambda _, v: encode.read_back(v)),
    Entry(
        "encode_ladder(ladder=)",
        call=lambda _, v: encode.encode_ladder(OUT, seconds=1, fps=1, ladder=v),
    ),
    # transcoding
    *_args(
        "job_graph",
        transcode.job_graph,
        {
            "source_s": 10.0,
            "chunk_s": 5.0,
            "rungs": [(720, 1.0)],
            "split_s_per_min": 1.0,
            "stitch_s_per_min": 1.0,
            "package_s": 1.0,
        },
    ),
    Entry("job_graph(rungs[0])", call=lambda _, v: transcode.job_graph(10, 5, [v])),
    *_args("Task", transcode.Task, {"name": "t", "seconds": 1.0, "after": (), "retryable": False}),
    Entry("JobGraph(tasks)", call=lambda _, v: transcode.JobGraph(v)),
    *_args(
        "schedule",
        transcode.schedule,
        {
            "graph": transcode.job_graph(10, 5, [(720, 1.0)]),
            "workers": 2,
            "failure_rate": 0.1,
            "retries": 2,
            "seed": 1,
        },
    ),
    *_args(
        "makespan_curve",
        transcode.makespan_curve,
        {"graph": transcode.job_graph(10, 5, [(720, 1.0)]), "workers": [1, 2]},
    ),
]


def _server_with_upload() -> upload.UploadServer:
    server = upload.UploadServer()
    server.create(10)
    return server
