"""``dpref tour clinical``: NEWS2 from a well patient to an emergency, and what it refuses.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

Deterministic: fixed observations, no clock, no randomness.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from designpatterns_ref.clinical import news2, news2012
from designpatterns_ref.clinical.base import VitalsError
from designpatterns_ref.clinical.result import ScoreResult
from designpatterns_ref.clinical.rules import NEWS2

__all__ = ["tour"]

WELL: dict[str, Any] = {"respiration_rate": 16, "spo2": 97, "systolic_bp": 124, "pulse": 72,
        "consciousness": "A", "temperature": 36.8}  # fmt: skip


def _line(r: ScoreResult) -> str:
    subs = ", ".join(f"{k} {v}" for k, v in r.subscores.items() if v)
    return (f"total {r.total} ({subs or 'every parameter 0'}) -> risk {r.risk}, "
            f"{r.monitoring.lower() if r.monitoring else 'no monitoring advice'}")  # fmt: skip


def tour(out: Callable[[str], None]) -> None:
    """Walk through NEWS2 scoring, printing each step with ``out``."""
    out("Clinical NEWS2: seven vital signs, each scored 0-3 by the RCP's 2017 chart.")
    out("The rules are data (clinical.rules), read by one engine that validates first.\n")

    out(f"1. A well patient {WELL}:")
    out(f"   {_line(news2.score(**WELL))}")

    out("\n2. The same patient deteriorates over four observations:")
    steps: list[tuple[str, dict[str, Any]]] = [
        ("breathing faster (22/min)", {"respiration_rate": 22}),
        ("and a fever (38.4 °C)", {"temperature": 38.4}),
        ("and a pulse of 112", {"pulse": 112}),
        ("and new confusion", {"consciousness": "C"}),
    ]
    current = dict(WELL)
    for words, change in steps:
        current.update(change)
        out(f"   {words:<28} {_line(news2.score(**current))}")

    out("\n3. A single parameter scoring 3 (a 'red score') escalates on its own:")
    r = news2.score(**{**WELL, "respiration_rate": 26})
    out(f"   RR 26/min alone: {_line(r)}; red score = {r.red_score}")
    old = news2012.score(**{**WELL, "respiration_rate": 26})
    out(f"   NEWS (2012) called the same patient '{old.risk}'.")

    out("\n4. SpO2 scale 2 is a clinician's choice for a target of 88-92%, never a default:")
    copd: dict[str, Any] = {**WELL, "spo2": 90}
    out(f"   SpO2 90% on air, scale 1: spo2 scores {news2.score(**copd).subscores['spo2']}")
    on_scale_2 = news2.score(**copd, spo2_scale=2).subscores["spo2"]
    out(f"   SpO2 90% on air, scale 2: spo2 scores {on_scale_2}")
    over = news2.score(**{**WELL, "spo2": 97}, spo2_scale=2, on_oxygen=True)
    out(f"   SpO2 97% on oxygen, scale 2: spo2 {over.subscores['spo2']} + oxygen "
        f"{over.subscores['air_or_oxygen']} (over-oxygenated for this patient)")  # fmt: skip

    out("\n5. Values between printed bands are rounded half-up, as decimals, and echoed:")
    for t in (38.04, 38.05):
        r = news2.score(**{**WELL, "temperature": t})
        scored, points = r.values["temperature"], r.subscores["temperature"]
        out(f"   {t} °C is scored as {scored} °C -> {points} point(s)"
            f"  (Python's round({t}, 1) gives {round(t, 1)})")  # fmt: skip

    out("\n6. Bad input is refused with every problem at once, and nothing is scored:")
    try:
        news2.score(respiration_rate=True, spo2=0.94, systolic_bp=118, pulse=80,
                    consciousness="A", temperature=98.6)  # fmt: skip
    except VitalsError as err:
        for p in err.problems:
            out(f"   {p.field}={p.value!r}: {p.message}")

    out("\n7. Missing values: an error, unless partial scoring is asked for:")
    r = news2.score(respiration_rate=22, spo2=95, pulse=96, partial=True)
    out(f"   partial total {r.total}, missing {', '.join(r.missing)}, no risk category ({r.risk})")

    rows = ", ".join(
        f"{t.name} (>= {t.min_total}{' with a 3' if t.red_score else ''})" for t in NEWS2.thresholds
    )
    out(f"\nThe trigger rows, most urgent first: {rows}.")
