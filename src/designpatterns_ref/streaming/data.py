"""The shared adaptive-bitrate data: Big Buck Bunny's ladder and the 3G and 4G network logs.

Case study: Design a Video Streaming Platform (docs/case-studies/video-streaming.md)

The files live outside the package, in ``$DPREF_DATA/abr`` or ``../shared/data/abr`` beside the
checkout (see that folder's README): ``bbb.json`` (Sabre's Big Buck Bunny manifest: 3 s
segments, 10 rungs from 230 to 6,000 kbps), ``3g/*.json`` (22 logs, Riiser et al., MMSys 2013)
and ``4g/*.json`` (10 logs, van der Hooft et al., 2016). :func:`find_abr_data` returns the
folder or None, so callers can say the data is missing instead of failing.

Complexity: O(file size) to load.

>>> find_abr_data() is None or (find_abr_data() / "bbb.json").is_file()
True
"""

from __future__ import annotations

import os
from pathlib import Path

from designpatterns_ref.errors import shown
from designpatterns_ref.streaming.base import (
    Manifest,
    StreamingError,
    Trace,
    load_manifest,
    load_trace,
)

__all__ = ["bbb", "find_abr_data", "shared_traces"]


def find_abr_data() -> Path | None:
    """The shared ``abr`` data folder, or None when it is not on this machine."""
    env = os.environ.get("DPREF_DATA")
    candidates = [Path(env) / "abr"] if env else []
    for base in (Path.cwd(), Path(__file__).resolve()):
        for parent in (base, *base.parents):
            candidates.append(parent / "shared" / "data" / "abr")
            candidates.append(parent.parent / "shared" / "data" / "abr")
    return next((c for c in candidates if (c / "bbb.json").is_file()), None)


def _folder() -> Path:
    folder = find_abr_data()
    if folder is None:
        raise StreamingError("the abr data folder was not found: set DPREF_DATA")
    return folder


def bbb() -> Manifest:
    """Big Buck Bunny's manifest (199 segments of 3 s, 10 rungs)."""
    return load_manifest(_folder() / "bbb.json")


def shared_traces(kind: str = "all") -> list[Trace]:
    """The shared network logs: ``"3g"``, ``"4g"`` or ``"all"``, each named ``3g/<file>``."""
    if kind not in ("3g", "4g", "all"):
        raise StreamingError(f"kind={shown(kind)} must be '3g', '4g' or 'all'")
    folder = _folder()
    out = []
    for sub in ("3g", "4g") if kind == "all" else (kind,):
        for path in sorted((folder / sub).glob("*.json")):
            trace = load_trace(path)
            out.append(Trace(trace.periods, name=f"{sub}/{path.stem}"))
    return out
