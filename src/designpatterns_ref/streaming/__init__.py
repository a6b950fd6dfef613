"""Video streaming: adaptive bitrate on real network traces, the upload-to-ladder pipeline, CDNs.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

- :mod:`~designpatterns_ref.streaming.session`: the player simulator (Sabre's model) and its
  metrics; :mod:`~designpatterns_ref.streaming.base`: manifests, traces, the QoE of Yin et al.
- One adaptive-bitrate algorithm per module, one interface (``choose(state) -> rung``):
  :mod:`~designpatterns_ref.streaming.throughput` (sliding window, EWMA),
  :mod:`~designpatterns_ref.streaming.bba`, :mod:`~designpatterns_ref.streaming.bola`,
  :mod:`~designpatterns_ref.streaming.dynamic`, :mod:`~designpatterns_ref.streaming.mpc`.
- :mod:`~designpatterns_ref.streaming.data`: the shared Big Buck Bunny manifest and 3G/4G logs.

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
from designpatterns_ref.streaming.dynamic import Dynamic
from designpatterns_ref.streaming.mpc import RobustMPC, plan, plan_brute_force, plan_value
from designpatterns_ref.streaming.session import Fixed, Network, SessionResult, simulate
from designpatterns_ref.streaming.throughput import (
    Ewma,
    SlidingWindow,
    ThroughputEstimator,
    ThroughputRule,
    rung_for_throughput,
)

__all__ = [
    "BBA",
    "AbrAlgorithm",
    "Bola",
    "Download",
    "Dynamic",
    "Ewma",
    "Fixed",
    "Manifest",
    "Network",
    "NetworkPeriod",
    "QoEWeights",
    "RobustMPC",
    "SessionResult",
    "SessionState",
    "SlidingWindow",
    "StreamingError",
    "StreamingTypeError",
    "ThroughputEstimator",
    "ThroughputRule",
    "Trace",
    "algorithms",
    "bba_rung",
    "bola_rung",
    "load_manifest",
    "load_trace",
    "plan",
    "plan_brute_force",
    "plan_value",
    "rung_for_throughput",
    "simulate",
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
