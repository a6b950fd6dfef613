"""Clinical early warning scores: NEWS2 (RCP 2017) and NEWS (2012), validated and explained.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

The rules are data (:mod:`.rules`), read by one engine (:mod:`.engine`) that validates every
input before it scores anything and reports every problem at once. :mod:`.news2` and
:mod:`.news2012` are the entry points; :mod:`.api` (FastAPI, the ``api`` extra) serves
``POST /v1/news2`` and is imported only when asked for.

>>> from designpatterns_ref import clinical
>>> clinical.news2.score(respiration_rate=18, spo2=96, systolic_bp=120, pulse=70,
...                      consciousness="A", temperature=37.0).total
0
"""

from __future__ import annotations

from designpatterns_ref.clinical import engine, news2, news2012, rules
from designpatterns_ref.clinical.base import (
    ACVPU,
    Caution,
    ClinicalError,
    Problem,
    Risk,
    Ruleset,
    RulesetError,
    Vitals,
    VitalsError,
)
from designpatterns_ref.clinical.engine import assess
from designpatterns_ref.clinical.result import ScoreResult
from designpatterns_ref.clinical.rules import NEWS2, NEWS_2012, RULESETS

__all__ = [
    "ACVPU",
    "NEWS2",
    "NEWS_2012",
    "RULESETS",
    "Caution",
    "ClinicalError",
    "Problem",
    "Risk",
    "Ruleset",
    "RulesetError",
    "ScoreResult",
    "Vitals",
    "VitalsError",
    "assess",
    "engine",
    "news2",
    "news2012",
    "rules",
]
