"""clinical: the NEWS2 score entry points."""

from __future__ import annotations

from designpatterns_ref.clinical import news2
from designpatterns_ref.clinical.base import ClinicalError
from tests.fuzz.spec import Entry

ERRORS = (ClinicalError,)

_OK = {
    "respiration_rate": 18,
    "spo2": 97,
    "systolic_bp": 120,
    "pulse": 70,
    "consciousness": "A",
    "temperature": 37.0,
}


def _score_with(field: str) -> Entry:
    return Entry(f"news2.score({field}=)", call=lambda _, v: news2.score(**{**_OK, field: v}))


ENTRIES = [
    Entry("news2.score(vitals)", call=lambda _, v: news2.score(v)),
    *(_score_with(f) for f in (*_OK, "spo2_scale", "on_oxygen", "partial")),
]
