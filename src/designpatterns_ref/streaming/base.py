"""The streaming family's shared types: manifest, network trace, session state, QoE.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

A :class:`Manifest` is a title's bitrate ladder cut into segments (Sabre's movie format:
``segment_duration_ms``, ``bitrates_kbps``, ``segment_sizes_bits[segment][rung]``). A
:class:`Trace` is a network log: periods of ``duration_ms``, ``bandwidth_kbps`` and
``latency_ms``, replayed from the start when a session outlasts it. Every adaptive-bitrate
algorithm answers one question through :class:`AbrAlgorithm`: given the :class:`SessionState`,
which rung does the next segment take? Units inside the simulator are Sabre's: bits,
milliseconds and kbit/s (so bits / kbps = ms); results are reported in seconds.

Both constructors validate everything and raise :class:`StreamingError` naming the field, the
value and what is allowed (negative durations, empty ladders, unsorted bitrates, ragged size rows).
The errors and the argument checks are in :mod:`~designpatterns_ref.streaming.checks`; every
public name of it stays importable from here.

Complexity: validation is O(segments x rungs + periods).

>>> m = Manifest(3000, [300, 750], [[900_000, 2_250_000], [900_000, 2_250_000]])
>>> m.segment_count, m.duration_s
(2, 6.0)
>>> try:
...     Manifest(3000, [750, 300], [[1, 2]])
... except StreamingError as exc:
...     print(exc)
bitrates_kbps must be strictly increasing: bitrates_kbps[1]=300 follows 750
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.checks import (
    StreamingError,
    StreamingTypeError,
    _sequence,
    check_int,
    check_list,
    check_measure,
    check_number,
)

__all__ = [
    "AbrAlgorithm",
    "Download",
    "Manifest",
    "NetworkPeriod",
    "QoEWeights",
    "SessionState",
    "StreamingError",
    "StreamingTypeError",
    "Trace",
    "check_download",
    "check_int",
    "check_list",
    "check_measure",
    "check_number",
    "check_start",
    "check_state",
    "load_manifest",
    "load_trace",
    "not_started",
]


@dataclass(frozen=True, eq=True)
class Manifest:
    """A title's bitrate ladder: segment duration, rung bitrates and every segment's size."""

    segment_duration_ms: float
    bitrates_kbps: tuple[float, ...]
    segment_sizes_bits: tuple[tuple[float, ...], ...]

    def __init__(
        self,
        segment_duration_ms: object,
        bitrates_kbps: object,
        segment_sizes_bits: object,
    ) -> None:
        duration = check_number("segment_duration_ms", segment_duration_ms, strict=True)
        rates = _sequence("bitrates_kbps", bitrates_kbps)
        if not rates:
            raise StreamingError("bitrates_kbps=[] must list at least one rung")
        ladder = tuple(
            check_number(f"bitrates_kbps[{i}]", r, strict=True) for i, r in enumerate(rates)
        )
        for i in range(1, len(ladder)):
            if ladder[i] <= ladder[i - 1]:
                raise StreamingError(
                    f"bitrates_kbps must be strictly increasing: bitrates_kbps[{i}]="
                    f"{shown(rates[i])} follows {shown(rates[i - 1])}"
                )
        rows = _sequence("segment_sizes_bits", segment_sizes_bits)
        if not rows:
            raise StreamingError("segment_sizes_bits=[] must list at least one segment")
        sizes = []
        for s, row in enumerate(rows):
            cells = _sequence(f"segment_sizes_bits[{s}]", row)
            if len(cells) != len(ladder):
                raise StreamingError(
                    f"segment_sizes_bits[{s}] has {len(cells)} sizes; bitrates_kbps has "
                    f"{len(ladder)} rungs and every segment needs one size per rung"
                )
            sizes.append(
                tuple(
                    check_number(f"segment_sizes_bits[{s}][{r}]", v, strict=True)
                    for r, v in enumerate(cells)
                )
            )
        object.__setattr__(self, "segment_duration_ms", duration)
        object.__setattr__(self, "bitrates_kbps", ladder)
        object.__setattr__(self, "segment_sizes_bits", tuple(sizes))

    @classmethod
    def from_dict(cls, data: object) -> Manifest:
        """Build from Sabre's JSON object (the three keys; any other key is ignored)."""
        if not isinstance(data, dict):
            raise StreamingTypeError(f"manifest={shown(data)} must be a JSON object")
        for key in ("segment_duration_ms", "bitrates_kbps", "segment_sizes_bits"):
            if key not in data:
                raise StreamingError(f"manifest is missing the field {shown(key)}")
        return cls(data["segment_duration_ms"], data["bitrates_kbps"], data["segment_sizes_bits"])

    @property
    def segment_count(self) -> int:
        """How many segments the title has."""
        return len(self.segment_sizes_bits)

    @property
    def rungs(self) -> int:
        """How many bitrates the ladder has."""
        return len(self.bitrates_kbps)

    @property
    def duration_s(self) -> float:
        """The title's length in seconds."""
        return self.segment_count * self.segment_duration_ms / 1000.0


@dataclass(frozen=True)
class NetworkPeriod:
    """One period of a network log: how long (> 0 ms), how fast (>= 0 kbit/s), and the request
    latency (>= 0 ms), each a finite number (kept as a float)."""

    duration_ms: float
    bandwidth_kbps: float
    latency_ms: float

    def __post_init__(self) -> None:
        checked = (
            check_number("duration_ms", self.duration_ms, strict=True),
            check_number("bandwidth_kbps", self.bandwidth_kbps),
            check_number("latency_ms", self.latency_ms),
        )
        for name, value in zip(
            ("duration_ms", "bandwidth_kbps", "latency_ms"), checked, strict=True
        ):
            object.__setattr__(self, name, value)


@dataclass(frozen=True, eq=True)
class Trace:
    """A network log: periods played in order and repeated from the start when exhausted."""

    periods: tuple[NetworkPeriod, ...]
    name: str = field(default="trace", compare=False)

    def __init__(self, periods: object, name: str = "trace") -> None:
        rows = _sequence("periods", periods)
        if not rows:
            raise StreamingError("periods=[] must list at least one network period")
        if not isinstance(name, str):
            raise StreamingTypeError(f"name={shown(name)} must be a string")
        out = []
        for i, row in enumerate(rows):
            if isinstance(row, NetworkPeriod):
                row = {
                    "duration_ms": row.duration_ms,
                    "bandwidth_kbps": row.bandwidth_kbps,
                    "latency_ms": row.latency_ms,
                }
            if not isinstance(row, dict):
                raise StreamingTypeError(f"periods[{i}]={shown(row)} must be a JSON object")
            for key in ("duration_ms", "bandwidth_kbps", "latency_ms"):
                if key not in row:
                    raise StreamingError(f"periods[{i}] is missing the field {shown(key)}")
            out.append(
                NetworkPeriod(
                    check_number(f"periods[{i}].duration_ms", row["duration_ms"], strict=True),
                    check_number(f"periods[{i}].bandwidth_kbps", row["bandwidth_kbps"]),
                    check_number(f"periods[{i}].latency_ms", row["latency_ms"]),
                )
            )
        if not any(p.bandwidth_kbps > 0 for p in out):
            raise StreamingError("periods: every bandwidth_kbps is 0, so nothing can download")
        object.__setattr__(self, "periods", tuple(out))
        object.__setattr__(self, "name", name)

    @classmethod
    def constant(
        cls, bandwidth_kbps: float, latency_ms: float = 0.0, duration_ms: float = 1000.0
    ) -> Trace:
        """A one-period trace: the same bandwidth and latency for ever."""
        check_number("bandwidth_kbps", bandwidth_kbps, strict=True)
        return cls(
            [
                {
                    "duration_ms": duration_ms,
                    "bandwidth_kbps": bandwidth_kbps,
                    "latency_ms": latency_ms,
                }
            ],
            name=f"constant {bandwidth_kbps:g} kbps",
        )

    @property
    def duration_s(self) -> float:
        """One pass over the log, in seconds."""
        return sum(p.duration_ms for p in self.periods) / 1000.0

    @property
    def mean_bandwidth_kbps(self) -> float:
        """Time-weighted mean bandwidth over one pass."""
        total = sum(p.duration_ms for p in self.periods)
        return sum(p.duration_ms * p.bandwidth_kbps for p in self.periods) / total


def _load_json(path: str | Path, what: str) -> object:
    if not isinstance(path, str | Path):
        raise StreamingTypeError(f"path={shown(path)} must be a str or Path")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, UnicodeError, ValueError) as exc:
        raise StreamingError(f"path={shown(str(path))}: cannot read the {what}: {exc}") from exc


def load_manifest(path: str | Path) -> Manifest:
    """Read a Sabre movie manifest (JSON) from ``path``."""
    return Manifest.from_dict(_load_json(path, "manifest"))


def load_trace(path: str | Path) -> Trace:
    """Read a Sabre network log (a JSON list of periods) from ``path``."""
    return Trace(_load_json(path, "network log"), name=Path(path).stem)


@dataclass(frozen=True)
class QoEWeights:
    """The QoE of Yin et al. (SIGCOMM 2015), with its weights.

    ``QoE = sum q(R_k) - switch * sum |q(R_k+1) - q(R_k)| - rebuffer * T_stall - startup * T_s``
    with ``q(R) = R`` in kbps (``quality="linear"``) or ``q(R) = ln(R / R_min)``
    (``quality="log"``) and times in seconds. The defaults are the paper's "balanced"
    preference: ``switch=1``, ``rebuffer=startup=3000`` (one second of stall costs as much as one
    segment at 3 Mbps). "Avoid instability" sets ``switch=3``; "avoid rebuffering" sets
    ``rebuffer=startup=6000``.
    """

    switch: float = 1.0
    rebuffer: float = 3000.0
    startup: float = 3000.0
    quality: Literal["linear", "log"] = "linear"

    def __post_init__(self) -> None:
        for name in ("switch", "rebuffer", "startup"):
            check_number(name, getattr(self, name))
        if self.quality not in ("linear", "log"):
            raise StreamingError(f"quality={shown(self.quality)} must be 'linear' or 'log'")

    def utilities(self, bitrates_kbps: Sequence[float]) -> list[float]:
        """``q(R)`` for every rung of a ladder."""
        rates = check_list("bitrates_kbps", bitrates_kbps, min_len=1)
        bitrates_kbps = [
            check_number(f"bitrates_kbps[{i}]", r, strict=True) for i, r in enumerate(rates)
        ]
        if self.quality == "linear":
            return [float(b) for b in bitrates_kbps]
        return [math.log(b / bitrates_kbps[0]) for b in bitrates_kbps]


def _check_measures(name: str, value: object, *, positive: bool, inf: bool) -> list[float]:
    items = _sequence(name, value)
    for i, item in enumerate(items):
        check_measure(f"{name}[{i}]", item, positive=positive, inf=inf)
    return items  # type: ignore[return-value]


_MEASURES = {  # list field: (positive, inf allowed)
    "throughputs_kbps": (True, True),
    "download_ms": (False, False),
    "latencies_ms": (False, False),
}


@dataclass
class SessionState:
    """What an algorithm may read when choosing (the simulator updates it; do not write it).

    ``buffer_ms`` is the video buffered ahead of the playhead; ``throughputs_kbps``,
    ``download_ms`` and ``latencies_ms`` are the measurements of every finished download,
    oldest first (throughput = bits / (time - latency), as Sabre measures it).

    Every field is checked when set, at construction or later (a :class:`StreamingError`
    naming it, the state unchanged): ``segment`` an index into the manifest, ``last_rung``
    ``None`` or a rung, times finite and ``>= 0``, throughputs ``> 0`` (``inf`` allowed: a
    download can take no measurable time), the three lists equally long when built. Items
    appended to the lists later (the simulator does) are not checked again.
    """

    manifest: Manifest
    buffer_cap_ms: float
    segment: int = 0
    buffer_ms: float = 0.0
    now_ms: float = 0.0
    last_rung: int | None = None
    throughputs_kbps: list[float] = field(default_factory=list)
    download_ms: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    def __setattr__(self, name: str, value: object) -> None:
        if name == "manifest":
            if not isinstance(value, Manifest):
                raise StreamingTypeError(f"manifest={shown(value)} must be a Manifest")
        elif name == "buffer_cap_ms":
            value = check_measure(name, value, positive=True)
        elif name in ("buffer_ms", "now_ms"):
            value = check_measure(name, value)
        elif name == "segment":
            check_int(name, value, maximum=self.manifest.segment_count - 1)
        elif name == "last_rung":
            if value is not None:
                check_int(name, value, maximum=self.manifest.rungs - 1)
        elif name in _MEASURES:
            positive, inf = _MEASURES[name]
            _check_measures(name, value, positive=positive, inf=inf)
        object.__setattr__(self, name, value)

    def __post_init__(self) -> None:
        n = len(self.throughputs_kbps)
        for name in ("download_ms", "latencies_ms"):
            if len(getattr(self, name)) != n:
                raise StreamingError(
                    f"{name} has {len(getattr(self, name))} items; throughputs_kbps has {n} "
                    "and each finished download adds one to every list"
                )


@dataclass(frozen=True)
class Download:
    """One finished (or abandoned) segment download, as the simulator reports it.

    An abandoned attempt (``abandoned=True``) reports the bits that did arrive, the time spent
    on them (its latency included) and the throughput they were received at; the lower-rung
    download that replaces it is reported next as a :class:`Download` of the same segment with
    its own latency and time. The algorithms here learn throughput from finished downloads only.

    Checked when built (a :class:`StreamingError` naming the field): ``segment`` and ``rung``
    ints ``>= 0``, ``bits`` finite ``>= 0``, ``time_ms`` finite and at least ``latency_ms``
    (the time includes the latency), ``latency_ms`` and ``buffer_before_ms`` finite ``>= 0``,
    ``throughput_kbps`` ``>= 0`` or ``inf``, ``abandoned`` a bool.
    """

    segment: int
    rung: int
    bits: float
    time_ms: float
    latency_ms: float
    throughput_kbps: float
    buffer_before_ms: float
    abandoned: bool = False

    def __post_init__(self) -> None:
        check_int("segment", self.segment)
        check_int("rung", self.rung, maximum=10**6)
        for name in ("bits", "time_ms", "latency_ms", "buffer_before_ms"):
            object.__setattr__(self, name, check_measure(name, getattr(self, name)))
        tput = check_measure("throughput_kbps", self.throughput_kbps, inf=True)
        object.__setattr__(self, "throughput_kbps", tput)
        if self.time_ms < self.latency_ms:
            raise StreamingError(
                f"time_ms={shown(self.time_ms)} must be at least "
                f"latency_ms={shown(self.latency_ms)} "
                "(a download's time includes its latency)"
            )
        if not isinstance(self.abandoned, bool):
            raise StreamingTypeError(f"abandoned={shown(self.abandoned)} must be a bool")


def check_start(manifest: object, buffer_cap_ms: object) -> None:
    """The checks of every algorithm's ``start``: a Manifest and a cap of at least a segment."""
    if not isinstance(manifest, Manifest):
        raise StreamingTypeError(f"manifest={shown(manifest)} must be a Manifest")
    cap = check_number("buffer_cap_ms", buffer_cap_ms, strict=True)
    if cap < manifest.segment_duration_ms:
        raise StreamingError(
            f"buffer_cap_ms={shown(buffer_cap_ms)} must hold one segment "
            f"({manifest.segment_duration_ms:g} ms)"
        )


def not_started(name: str) -> StreamingError:
    """The error of every algorithm's ``choose`` before its ``start``: it knows no ladder yet."""
    return StreamingError(
        f"{name}: call start(manifest, buffer_cap_ms) before choose() (no ladder to choose from)"
    )


def check_state(state: object) -> None:
    """The check of every algorithm's ``choose`` (a SessionState checks its own fields)."""
    if not isinstance(state, SessionState):
        raise StreamingTypeError(f"state={shown(state)} must be a SessionState")


def check_download(download: object) -> None:
    """The check of every algorithm's ``observe`` (a Download checks its own fields)."""
    if not isinstance(download, Download):
        raise StreamingTypeError(f"download={shown(download)} must be a Download")


@runtime_checkable
class AbrAlgorithm(Protocol):
    """One interface for every adaptive-bitrate rule: choose the next rung from the state."""

    name: str

    def start(self, manifest: Manifest, buffer_cap_ms: float) -> None:
        """Forget any previous session and prepare for ``manifest``."""

    def choose(self, state: SessionState) -> int:
        """The rung (0 = lowest bitrate) for segment ``state.segment``; a
        :class:`StreamingError` before :meth:`start` (see :func:`not_started`)."""

    def observe(self, download: Download) -> None:
        """Learn from a download that just finished."""
