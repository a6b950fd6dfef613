"""The rulesets as data: NEWS2 (RCP 2017) and the original NEWS (RCP 2012).

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

Every band of every chart, every plausibility limit and every trigger threshold lives here and
nowhere else; :mod:`designpatterns_ref.clinical.engine` reads a :class:`~.base.Ruleset` and knows
nothing about NEWS. A new score, or a hospital's local variant, is a new ``Ruleset`` value:
build it from these pieces (``dataclasses.replace`` works) and pass it to
:func:`~designpatterns_ref.clinical.engine.assess`. Band tables check themselves when built
(edges on the resolution grid, no gap, no overlap) and a ``Ruleset`` checks that each rule has
a table for every combination of its selectors' options and points for every option, so a
variant with a gap fails at import (with :class:`~.base.RulesetError` naming the rule and what
is missing), not at the bedside.

Sources: Royal College of Physicians, *National Early Warning Score (NEWS) 2: Standardising
the assessment of acute-illness severity in the NHS*, updated report of a working party,
London: RCP, 2017 (Charts 1 to 4); and *National Early Warning Score (NEWS): Standardising
the assessment of acute-illness severity in the NHS*, report of a working party, London:
RCP, 2012.

The plausibility limits are this library's, not the RCP's: wide enough to admit every value
seen in a living patient (a survived core temperature of 13.7 °C has been reported), with a
caution on values that are extreme but possible. Oximeters are calibrated down to about 70%,
so lower readings are scored with a caution to check the probe.

Complexity: the tables are built once, at import.

>>> NEWS2.max_total, NEWS_2012.max_total
(20, 20)
>>> tuple(t.name for t in NEWS2.thresholds)
('emergency response', 'urgent response', 'red score', 'low score', 'zero score')
>>> spo2 = next(r for r in NEWS2.rules if r.parameter == "spo2")
>>> " ".join(b.label for b in spo2.tables[(2, True)].bands)
'≤83 84–85 86–87 88–92 93–94 95–96 ≥97'
"""

from __future__ import annotations

from decimal import Decimal as D
from types import MappingProxyType

from designpatterns_ref.clinical.base import (
    ACVPU,
    BandTable,
    Choice,
    ChoiceRule,
    Measure,
    Misunit,
    NumericRule,
    Risk,
    Ruleset,
    Threshold,
)

__all__ = [
    "CONSCIOUSNESS",
    "CONSCIOUSNESS_AVPU",
    "NEWS2",
    "NEWS_2012",
    "ON_OXYGEN",
    "PULSE",
    "RESPIRATION_RATE",
    "RULESETS",
    "SPO2",
    "SPO2_SCALE",
    "SYSTOLIC_BP",
    "TEMPERATURE",
]

# --------------------------------------------------------------------------------------
# Inputs: units, printed resolution, plausibility (shared by both rulesets)
# --------------------------------------------------------------------------------------

RESPIRATION_RATE = Measure(
    "respiration_rate", "Respiration rate", "breaths per minute", D("1"),
    impossible_below=D("0"), impossible_above=D("100"),
    extreme_below=D("4"), extreme_above=D("60"), example="18",
)  # fmt: skip
SPO2 = Measure(
    "spo2", "SpO2", "percent", D("1"),
    impossible_below=D("20"), impossible_above=D("100"),
    extreme_below=D("70"), extreme_above=D("100"), example="96",
    misunits=(
        Misunit(D("0"), D("1"), "this looks like a fraction; give a percentage (0.95 is 95)"),
    ),
)  # fmt: skip
SYSTOLIC_BP = Measure(
    "systolic_bp", "Systolic blood pressure", "mmHg", D("1"),
    impossible_below=D("20"), impossible_above=D("350"),
    extreme_below=D("60"), extreme_above=D("260"), example="120",
)  # fmt: skip
PULSE = Measure(
    "pulse", "Pulse", "beats per minute", D("1"),
    impossible_below=D("20"), impossible_above=D("350"),
    extreme_below=D("30"), extreme_above=D("220"), example="72",
)  # fmt: skip
TEMPERATURE = Measure(
    "temperature", "Temperature", "°C", D("0.1"),
    impossible_below=D("10.0"), impossible_above=D("47.0"),
    extreme_below=D("32.0"), extreme_above=D("42.0"), example="37.2",
    misunits=(
        Misunit(D("80"), D("115"), "this looks like Fahrenheit; give °C ((°F − 32) × 5/9, "
                "so 98.6 °F is 37.0 °C)"),
        Misunit(D("280"), D("320"), "this looks like kelvin; give °C (K − 273.15)"),
    ),
)  # fmt: skip

_ACVPU_SPELLINGS: dict[object, object] = {}
for _member, _words in (
    (ACVPU.ALERT, ("a", "alert")),
    (ACVPU.CONFUSION, ("c", "confusion", "new confusion", "new-confusion")),
    (ACVPU.VOICE, ("v", "voice")),
    (ACVPU.PAIN, ("p", "pain")),
    (ACVPU.UNRESPONSIVE, ("u", "unresponsive")),
):
    for _word in (_member.value, *_words):
        _ACVPU_SPELLINGS[_word] = _member.value

CONSCIOUSNESS = Choice(
    "consciousness", "Consciousness (ACVPU)", MappingProxyType(_ACVPU_SPELLINGS),
    "one of A, C, V, P, U (Alert, new Confusion, Voice, Pain, Unresponsive); "
    "chronic confusion in an alert patient is A", strict_type=str,
)  # fmt: skip
CONSCIOUSNESS_AVPU = Choice(
    "consciousness", "Consciousness (AVPU)",
    MappingProxyType({k: v for k, v in _ACVPU_SPELLINGS.items() if v != ACVPU.CONFUSION.value}),
    "one of A, V, P, U (Alert, Voice, Pain, Unresponsive); NEWS (2012) has no new-confusion "
    "category: score it with NEWS2", strict_type=str,
)  # fmt: skip
ON_OXYGEN = Choice(
    "on_oxygen", "Air or oxygen", MappingProxyType({True: True, False: False}),
    "true (supplemental oxygen) or false (air)", strict_type=bool,
)  # fmt: skip
SPO2_SCALE = Choice(
    "spo2_scale", "SpO2 scale", MappingProxyType({1: 1, 2: 2}),
    "1, or 2 when a clinician has set a target range of 88–92% (hypercapnic respiratory "
    "failure)", strict_type=int,
)  # fmt: skip

# --------------------------------------------------------------------------------------
# Chart 1 of NEWS2 (2017), row by row: (low, high, points) with None for an open end
# --------------------------------------------------------------------------------------

_RR = BandTable.of(
    "1", [(None, "8", 3), ("9", "11", 1), ("12", "20", 0), ("21", "24", 2), ("25", None, 3)]
)
_SPO2_SCALE_1 = BandTable.of(
    "1", [(None, "91", 3), ("92", "93", 2), ("94", "95", 1), ("96", None, 0)]
)
# Scale 2 on air: 88% and above, 93% or more on air included, scores 0.
_SPO2_SCALE_2_AIR = BandTable.of(
    "1", [(None, "83", 3), ("84", "85", 2), ("86", "87", 1), ("88", None, 0)]
)
# Scale 2 on oxygen: above the 88–92% target scores again, 1, 2, 3 (plus oxygen's own 2).
_SPO2_SCALE_2_OXYGEN = BandTable.of("1", [
    (None, "83", 3), ("84", "85", 2), ("86", "87", 1), ("88", "92", 0),
    ("93", "94", 1), ("95", "96", 2), ("97", None, 3),
])  # fmt: skip
_SBP = BandTable.of(
    "1", [(None, "90", 3), ("91", "100", 2), ("101", "110", 1), ("111", "219", 0), ("220", None, 3)]
)
_PULSE = BandTable.of("1", [
    (None, "40", 3), ("41", "50", 1), ("51", "90", 0), ("91", "110", 1), ("111", "130", 2),
    ("131", None, 3),
])  # fmt: skip
_TEMP = BandTable.of("0.1", [
    (None, "35.0", 3), ("35.1", "36.0", 1), ("36.1", "38.0", 0), ("38.1", "39.0", 1),
    ("39.1", None, 2),
])  # fmt: skip

_AIR_OR_OXYGEN = ChoiceRule(
    "air_or_oxygen", "on_oxygen",
    MappingProxyType({True: 2, False: 0}), MappingProxyType({True: "Oxygen", False: "Air"}),
)  # fmt: skip
_ACVPU_POINTS = ChoiceRule(
    "consciousness", "consciousness",
    MappingProxyType({m.value: (0 if m is ACVPU.ALERT else 3) for m in ACVPU}),
    MappingProxyType({m.value: ("Alert" if m is ACVPU.ALERT else "CVPU") for m in ACVPU}),
)  # fmt: skip

# --------------------------------------------------------------------------------------
# Charts 2 and 4 of NEWS2: thresholds, risk, monitoring frequency and clinical response
# --------------------------------------------------------------------------------------

_NEWS2_THRESHOLDS = (
    Threshold("emergency response", 7, Risk.HIGH, "Continuous monitoring of vital signs", (
        "Registered nurse to immediately inform the medical team caring for the patient; "
        "this should be at least at specialist registrar level",
        "Emergency assessment by a team with critical care competencies, including "
        "practitioner(s) with advanced airway management skills",
        "Consider transfer of care to a level 2 or 3 clinical care facility, ie "
        "higher-dependency unit or ICU",
        "Clinical care in an environment with monitoring facilities",
    )),
    Threshold("urgent response", 5, Risk.MEDIUM, "Minimum 1 hourly", (
        "Registered nurse to immediately inform the medical team caring for the patient",
        "Registered nurse to request urgent assessment by a clinician or team with core "
        "competencies in the care of acutely ill patients",
        "Provide clinical care in an environment with monitoring facilities",
    )),
    Threshold("red score", 0, Risk.LOW_MEDIUM, "Minimum 1 hourly", (
        "Registered nurse to inform the medical team caring for the patient, who will review "
        "and decide whether escalation of care is necessary",
    ), red_score=True),
    Threshold("low score", 1, Risk.LOW, "Minimum 4–6 hourly", (
        "Inform registered nurse, who must assess the patient",
        "Registered nurse decides whether increased frequency of monitoring and/or "
        "escalation of care is required",
    )),
    Threshold("zero score", 0, Risk.LOW, "Minimum 12 hourly", (
        "Continue routine NEWS monitoring",
    )),
)  # fmt: skip

NEWS2 = Ruleset(
    name="news2",
    title="National Early Warning Score 2 (RCP, 2017)",
    source="Royal College of Physicians. National Early Warning Score (NEWS) 2. London: RCP, 2017.",
    inputs=(
        RESPIRATION_RATE, SPO2, SPO2_SCALE, ON_OXYGEN, SYSTOLIC_BP, PULSE, CONSCIOUSNESS,
        TEMPERATURE,
    ),
    defaults=MappingProxyType({"spo2_scale": 1, "on_oxygen": False}),
    rules=(
        NumericRule("respiration_rate", "respiration_rate", MappingProxyType({(): _RR})),
        NumericRule(
            "spo2", "spo2",
            MappingProxyType({
                (1, False): _SPO2_SCALE_1, (1, True): _SPO2_SCALE_1,
                (2, False): _SPO2_SCALE_2_AIR, (2, True): _SPO2_SCALE_2_OXYGEN,
            }),
            selected_by=("spo2_scale", "on_oxygen"),
        ),
        _AIR_OR_OXYGEN,
        NumericRule("systolic_bp", "systolic_bp", MappingProxyType({(): _SBP})),
        NumericRule("pulse", "pulse", MappingProxyType({(): _PULSE})),
        _ACVPU_POINTS,
        NumericRule("temperature", "temperature", MappingProxyType({(): _TEMP})),
    ),
    thresholds=_NEWS2_THRESHOLDS,
)  # fmt: skip

# --------------------------------------------------------------------------------------
# NEWS (2012): one SpO2 scale, AVPU without new confusion, a red score is "medium"
# --------------------------------------------------------------------------------------

_AVPU = [m for m in ACVPU if m is not ACVPU.CONFUSION]
_AVPU_POINTS = ChoiceRule(
    "consciousness", "consciousness",
    MappingProxyType({m.value: (0 if m is ACVPU.ALERT else 3) for m in _AVPU}),
    MappingProxyType({m.value: ("Alert" if m is ACVPU.ALERT else "VPU") for m in _AVPU}),
)  # fmt: skip

_NEWS_2012_URGENT = (
    "Registered nurse to urgently inform the medical team caring for the patient",
    "Urgent assessment by a clinician with core competencies to assess acutely ill patients",
    "Clinical care in an environment with monitoring facilities",
)
_NEWS_2012_THRESHOLDS = (
    Threshold("high score", 7, Risk.HIGH, "Continuous monitoring of vital signs", (
        "Registered nurse to immediately inform the medical team caring for the patient; "
        "this should be at least at specialist registrar level",
        "Emergency assessment by a clinical team with critical care competencies, which also "
        "includes a practitioner or practitioners with advanced airway skills",
        "Consider transfer of clinical care to a level 2 or 3 care facility, ie higher "
        "dependency unit or ICU",
    )),
    Threshold("medium score", 5, Risk.MEDIUM, "Increased frequency to a minimum of 1 hourly",
              _NEWS_2012_URGENT),
    Threshold("red score", 0, Risk.MEDIUM, "Increased frequency to a minimum of 1 hourly",
              _NEWS_2012_URGENT, red_score=True),
    Threshold("low score", 1, Risk.LOW, "Minimum 4 hourly", (
        "Inform registered nurse who must assess the patient",
        "Registered nurse to decide if increased frequency of clinical monitoring and/or "
        "escalation of clinical care is required",
    )),
    Threshold("zero score", 0, Risk.LOW, "Minimum 12 hourly", (
        "Continue routine NEWS monitoring with every set of observations",
    )),
)  # fmt: skip

NEWS_2012 = Ruleset(
    name="news2012",
    title="National Early Warning Score (RCP, 2012)",
    source="Royal College of Physicians. National Early Warning Score (NEWS). London: RCP, 2012.",
    inputs=(RESPIRATION_RATE, SPO2, ON_OXYGEN, SYSTOLIC_BP, PULSE, CONSCIOUSNESS_AVPU, TEMPERATURE),
    defaults=MappingProxyType({"on_oxygen": False}),
    rules=(
        NumericRule("respiration_rate", "respiration_rate", MappingProxyType({(): _RR})),
        NumericRule("spo2", "spo2", MappingProxyType({(): _SPO2_SCALE_1})),
        _AIR_OR_OXYGEN,
        NumericRule("systolic_bp", "systolic_bp", MappingProxyType({(): _SBP})),
        NumericRule("pulse", "pulse", MappingProxyType({(): _PULSE})),
        _AVPU_POINTS,
        NumericRule("temperature", "temperature", MappingProxyType({(): _TEMP})),
    ),
    thresholds=_NEWS_2012_THRESHOLDS,
)  # fmt: skip

#: Every shipped ruleset by name.
RULESETS: MappingProxyType[str, Ruleset] = MappingProxyType(
    {NEWS2.name: NEWS2, NEWS_2012.name: NEWS_2012}
)
