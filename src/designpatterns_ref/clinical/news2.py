"""NEWS2: the Royal College of Physicians' National Early Warning Score 2 (2017).

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

Seven parameters (respiration rate, SpO2 on scale 1 or 2, air or oxygen, systolic blood
pressure, pulse, consciousness on the ACVPU scale, temperature) each score 0 to 3 points
by the bands of the RCP's Chart 1; the total (0 to 20) and whether any single parameter
scored 3 select the clinical risk, the minimum monitoring frequency and the clinical
response of Charts 2 and 4. :func:`score` validates every input before anything is
scored and raises :class:`~.base.VitalsError` listing every problem at once.

SpO2 scale 2 is used only when asked for (``spo2_scale=2``): it is a clinician's decision
for a patient with a prescribed target range of 88–92%, typically in hypercapnic
respiratory failure. On scale 2, 93% or more scores 0 on air but 1, 2 or 3 on oxygen, and
oxygen's own 2 points are added on top.

Consciousness: new confusion (``"C"``) scores 3 like V, P and U; long-standing confusion in
an otherwise alert patient is Alert (``"A"``).

Trade-off: the score is computed from data (:data:`~.rules.NEWS2`) by a general engine
(:func:`~.engine.assess`, compiled for the common case by :mod:`.compiled`), a few
microseconds slower than a hand-written ``if`` chain with no checks, in exchange for one place
to check the chart against, every input validated, and new rulesets without new code.

Complexity: O(p) per score, p = 7 parameters, one table index each.

>>> r = score(respiration_rate=22, spo2=93, spo2_scale=2, on_oxygen=True, systolic_bp=112,
...           pulse=104, consciousness="A", temperature=38.4)
>>> r.total, r.risk.value, r.monitoring
(7, 'high', 'Continuous monitoring of vital signs')
>>> r.subscores["spo2"], r.subscores["air_or_oxygen"]
(1, 2)
>>> score(Vitals(respiration_rate=18, spo2=97, systolic_bp=125, pulse=72,
...              consciousness=ACVPU.ALERT, temperature=36.8)).risk
<Risk.LOW: 'low'>
"""

from __future__ import annotations

from decimal import Decimal

from designpatterns_ref.clinical.base import ACVPU, ClinicalError, Vitals
from designpatterns_ref.clinical.engine import assess, assess_inputs
from designpatterns_ref.clinical.result import ScoreResult
from designpatterns_ref.clinical.rules import NEWS2
from designpatterns_ref.errors import shown

__all__ = ["ACVPU", "RULESET", "Vitals", "score"]

#: The ruleset :func:`score` applies.
RULESET = NEWS2

if RULESET.input_names != (
    "respiration_rate", "spo2", "spo2_scale", "on_oxygen", "systolic_bp", "pulse",
    "consciousness", "temperature",
):  # fmt: skip
    raise ClinicalError("news2.score passes its inputs in an order the ruleset no longer has")

Number = int | float | Decimal


def score(
    vitals: Vitals | None = None,
    /,
    *,
    respiration_rate: Number | None = None,
    spo2: Number | None = None,
    spo2_scale: int = 1,
    on_oxygen: bool = False,
    systolic_bp: Number | None = None,
    pulse: Number | None = None,
    consciousness: ACVPU | str | None = None,
    temperature: Number | None = None,
    partial: bool = False,
) -> ScoreResult:
    """The NEWS2 score of one set of observations, given as keywords or as a :class:`Vitals`.

    With ``partial=True``, missing parameters (``None``) are allowed: the result is marked
    partial, lists them, and gives no risk. Raises :class:`~.base.VitalsError` listing
    every problem when any value is invalid or (without ``partial``) missing.
    """
    if vitals is not None:
        if not isinstance(vitals, Vitals):
            raise ClinicalError(f"score: vitals={shown(vitals)} must be a Vitals or omitted")
        given = (respiration_rate, spo2, systolic_bp, pulse, consciousness, temperature)
        if any(v is not None for v in given) or spo2_scale != 1 or on_oxygen is not False:
            raise ClinicalError("score: pass either a Vitals or keyword values, not both")
        return assess(RULESET, vitals.as_dict(), partial=partial)
    # The common case in one call with no dictionary built.
    inputs = (
        respiration_rate, spo2, spo2_scale, on_oxygen, systolic_bp, pulse, consciousness,
        temperature,
    )  # fmt: skip
    return assess_inputs(RULESET, inputs, partial)
