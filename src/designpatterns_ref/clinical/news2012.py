"""NEWS (2012): the original National Early Warning Score, a second ruleset on one engine.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

The RCP's first NEWS differs from NEWS2 in three ways, all of them data in
:data:`~.rules.NEWS_2012`: one SpO2 scale, consciousness on the AVPU scale with no
new-confusion category, and a single parameter scoring 3 (a red score) triggers a *medium*
risk rather than NEWS2's low-medium, with monitoring at a minimum of 4 hourly rather than
4–6 hourly for totals 1 to 4. The engine is the same; this module only names the inputs.
It is kept to compare scores and to show that a ruleset is added without touching the
engine: NEWS2 replaced it in 2017 and it should not be used for patient care.

Complexity: O(p) per score, as for NEWS2.

>>> r = score(respiration_rate=26, spo2=97, systolic_bp=130, pulse=80, consciousness="A",
...           temperature=37.0)
>>> r.total, r.red_score, r.risk.value, r.ruleset
(3, True, 'medium', 'news2012')
"""

from __future__ import annotations

from decimal import Decimal

from designpatterns_ref.clinical.base import ACVPU, ClinicalError, Vitals
from designpatterns_ref.clinical.engine import assess, assess_inputs
from designpatterns_ref.clinical.result import ScoreResult
from designpatterns_ref.clinical.rules import NEWS_2012
from designpatterns_ref.errors import shown

__all__ = ["RULESET", "score"]

#: The ruleset :func:`score` applies.
RULESET = NEWS_2012

if RULESET.input_names != (
    "respiration_rate", "spo2", "on_oxygen", "systolic_bp", "pulse", "consciousness",
    "temperature",
):  # fmt: skip
    raise ClinicalError("news2012.score passes its inputs in an order the ruleset no longer has")

Number = int | float | Decimal


def score(
    vitals: Vitals | None = None,
    /,
    *,
    respiration_rate: Number | None = None,
    spo2: Number | None = None,
    on_oxygen: bool = False,
    systolic_bp: Number | None = None,
    pulse: Number | None = None,
    consciousness: ACVPU | str | None = None,
    temperature: Number | None = None,
    partial: bool = False,
) -> ScoreResult:
    """The NEWS (2012) score of one set of observations, as keywords or a :class:`Vitals`.

    A :class:`Vitals` on SpO2 scale 2 is refused: NEWS (2012) has a single scale.
    """
    if vitals is not None:
        if not isinstance(vitals, Vitals):
            raise ClinicalError(f"score: vitals={shown(vitals)} must be a Vitals or omitted")
        given = (respiration_rate, spo2, systolic_bp, pulse, consciousness, temperature)
        if any(v is not None for v in given) or on_oxygen is not False:
            raise ClinicalError("score: pass either a Vitals or keyword values, not both")
        values = vitals.as_dict()
        if values.pop("spo2_scale") != 1:
            raise ClinicalError(
                f"score: spo2_scale={shown(vitals.spo2_scale)}; NEWS (2012) has one SpO2 scale, "
                "use NEWS2 for scale 2"
            )
        return assess(RULESET, values, partial=partial)
    # The common case in one call with no dictionary built.
    inputs = (
        respiration_rate, spo2, on_oxygen, systolic_bp, pulse, consciousness, temperature,
    )  # fmt: skip
    return assess_inputs(RULESET, inputs, partial)
