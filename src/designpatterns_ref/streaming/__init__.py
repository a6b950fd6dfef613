"""Video streaming: adaptive bitrate on real network traces, the upload-to-ladder pipeline, CDNs.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

- :mod:`~designpatterns_ref.streaming.session`: the player simulator (Sabre's model) and its
  metrics; :mod:`~designpatterns_ref.streaming.base`: manifests, traces, the QoE of Yin et al.;
  :mod:`~designpatterns_ref.streaming.checks`: the family's errors and argument checks.
- One adaptive-bitrate algorithm per module, one interface (``choose(state) -> rung``):
  :mod:`~designpatterns_ref.streaming.throughput` (sliding window, EWMA),
  :mod:`~designpatterns_ref.streaming.bba`, :mod:`~designpatterns_ref.streaming.bola`,
  :mod:`~designpatterns_ref.streaming.dynamic`, :mod:`~designpatterns_ref.streaming.mpc`.
- :mod:`~designpatterns_ref.streaming.data`: the shared Big Buck Bunny manifest and 3G/4G logs.
- The platform around the player: :mod:`~designpatterns_ref.streaming.upload` (resumable,
  checksummed, deduplicated), :mod:`~designpatterns_ref.streaming.transcode` (the job graph on
  a worker pool), :mod:`~designpatterns_ref.streaming.manifests` (HLS and DASH; the MPD in
  :mod:`~designpatterns_ref.streaming.dash`, the rungs in
  :mod:`~designpatterns_ref.streaming.ladder`),
  :mod:`~designpatterns_ref.streaming.caches` and :mod:`~designpatterns_ref.streaming.tinylfu`
  (edge caches), :mod:`~designpatterns_ref.streaming.cdn` (workload, origin shield), and
  :mod:`~designpatterns_ref.streaming.plot` (figures).

>>> from designpatterns_ref import streaming as st
>>> movie = st.Manifest(2000, [500, 1000], [[1e6, 2e6]] * 5)
>>> st.simulate(movie, st.Trace.constant(3000), st.BBA()).rebuffer_s
0.0
"""

from __future__ import annotations

from designpatterns_ref.streaming.base import (
    AbrAlgorithm,
    Download,
    Manifest,
    NetworkPeriod,
    QoEWeights,
    SessionState,
    StreamingError,
    StreamingTypeError,
    Trace,
    load_manifest,
    load_trace,
)
from designpatterns_ref.streaming.bba import BBA, bba_rung
from designpatterns_ref.streaming.bola import Bola, bola_rung
from designpatterns_ref.streaming.cdn import (
    CdnTier,
    CountMinSketch,
    LFUCache,
    LRUCache,
    TinyLFUCache,
    WTinyLFUCache,
    hit_ratio_curve,
    zipf_workload,
)
from designpatterns_ref.streaming.dynamic import Dynamic
from designpatterns_ref.streaming.manifests import (
    Rung,
    ladder_for,
    parse_dash_mpd,
    parse_hls_master,
    parse_hls_media,
    write_dash_mpd,
    write_hls_master,
    write_hls_media,
)
from designpatterns_ref.streaming.mpc import RobustMPC, plan, plan_brute_force, plan_value
from designpatterns_ref.streaming.session import Fixed, Network, SessionResult, simulate
from designpatterns_ref.streaming.throughput import (
    Ewma,
    SlidingWindow,
    ThroughputEstimator,
    ThroughputRule,
    rung_for_throughput,
)
from designpatterns_ref.streaming.transcode import job_graph, makespan_curve, schedule
from designpatterns_ref.streaming.upload import UploadClient, UploadServer

__all__ = [
    "BBA",
    "AbrAlgorithm",
    "Bola",
    "CdnTier",
    "CountMinSketch",
    "Download",
    "Dynamic",
    "Ewma",
    "Fixed",
    "LFUCache",
    "LRUCache",
    "Manifest",
    "Network",
    "NetworkPeriod",
    "QoEWeights",
    "RobustMPC",
    "Rung",
    "SessionResult",
    "SessionState",
    "SlidingWindow",
    "StreamingError",
    "StreamingTypeError",
    "ThroughputEstimator",
    "ThroughputRule",
    "TinyLFUCache",
    "Trace",
    "UploadClient",
    "UploadServer",
    "WTinyLFUCache",
    "algorithms",
    "bba_rung",
    "bola_rung",
    "hit_ratio_curve",
    "job_graph",
    "ladder_for",
    "load_manifest",
    "load_trace",
    "makespan_curve",
    "parse_dash_mpd",
    "parse_hls_master",
    "parse_hls_media",
    "plan",
    "plan_brute_force",
    "plan_value",
    "rung_for_throughput",
    "schedule",
    "simulate",
    "write_dash_mpd",
    "write_hls_master",
    "write_hls_media",
    "zipf_workload",
]


def algorithms() -> list[AbrAlgorithm]:
    """A fresh instance of every algorithm, with the papers' defaults, for side-by-side runs."""
    return [
        ThroughputRule(SlidingWindow()),
        ThroughputRule(Ewma()),
        BBA(),
        Bola(),
        Dynamic(),
        RobustMPC(),
    ]
