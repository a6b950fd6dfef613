"""The scoring engine: validate every input, quantise, look up bands, apply thresholds.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

One function, :func:`assess`, scores any :class:`~.base.Ruleset`. It works in two phases so
that a wrong answer is never produced from a wrong input:

1. **Validate everything first.** Each input is checked for type (a boolean or a string is
   not a number), unit (98.6 for a temperature is Fahrenheit; 0.95 for SpO2 is a fraction),
   and physical possibility. Every problem in the request is collected, and if there is any,
   :class:`~.base.VitalsError` is raised listing them all; nothing is scored.
2. **Score.** Each rule looks its quantised value up in its band table (a binary search),
   the points are summed, and the first trigger threshold that applies gives the risk, the
   monitoring frequency and the clinical response.

Rounding policy: the charts print whole numbers (temperature to 0.1 °C), so every value is
quantised to the chart's resolution with decimal round-half-up, reading a float as the
decimal it prints as (``repr``). Plausibility is judged on the value as sent (so 100.4% SpO2
is impossible rather than rounded to 100), the bands on the value as quantised. ``38.05`` becomes ``38.1`` and ``24.5`` becomes ``25``;
Python's ``round`` would give ``38.0`` (binary floating point) and ``24`` (banker's rounding).
The quantised values are echoed in the result, so the caller sees what was scored.

Missing inputs are problems too, unless ``partial=True``: then the result is marked partial,
lists what is missing, and carries no risk category, since a missing vital sign could only
have raised it.

Complexity: O(p log b) for p parameters and b bands a parameter; in practice a few
microseconds a score, dominated by the decimal conversion of float inputs.

>>> from designpatterns_ref.clinical.rules import NEWS2
>>> r = assess(NEWS2, {"respiration_rate": 22, "spo2": 95, "systolic_bp": 118,
...                    "pulse": 96, "consciousness": "A", "temperature": 38.05})
>>> r.total, r.risk.value, r.values["temperature"], r.subscores["temperature"]
(5, 'medium', 38.1, 1)
>>> quantise(24.5, Decimal(1)), quantise(38.05, Decimal("0.1"))
(Decimal('25'), Decimal('38.1'))
>>> assess(NEWS2, {"respiration_rate": True, "temperature": 98.6}, partial=True)
Traceback (most recent call last):
...
designpatterns_ref.clinical.base.VitalsError: 2 problems with the vital signs: respiration_rate=True: ...
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal

from designpatterns_ref.clinical.base import (
    Caution,
    Choice,
    ChoiceRule,
    Measure,
    NumericRule,
    Problem,
    Ruleset,
    ScoreResult,
    VitalsError,
)

__all__ = ["assess", "check_choice", "check_number", "quantise"]

_ONE = Decimal(1)


def quantise(value: int | float | Decimal, resolution: Decimal) -> Decimal:
    """``value`` rounded half-up to ``resolution``, reading a float as the decimal it prints.

    >>> quantise(36.05, Decimal("0.1")), quantise(8.5, Decimal(1)), quantise(-0.5, Decimal(1))
    (Decimal('36.1'), Decimal('9'), Decimal('-1'))
    """
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return exact.quantize(resolution, rounding=ROUND_HALF_UP)


def _type_problem(m: Measure, raw: object) -> Problem | None:
    if isinstance(raw, bool):
        why = "a boolean is not a number"
    elif isinstance(raw, str):
        why = f"a string is not a number; send the number itself ({m.example}, not '{m.example}')"
    elif not isinstance(raw, int | float | Decimal):
        why = f"a {type(raw).__name__} is not a number"
    elif isinstance(raw, Decimal) and not raw.is_finite():
        why = "not a finite number"
    elif isinstance(raw, float) and not math.isfinite(raw):
        why = "not a finite number"
    else:
        return None
    return Problem(m.name, raw, why, m.allowed)


def check_number(m: Measure, raw: object) -> tuple[Decimal | int | None, Problem | None]:
    """Validate and quantise one numeric input: ``(value, None)`` or ``(None, problem)``.

    >>> from designpatterns_ref.clinical.rules import TEMPERATURE
    >>> check_number(TEMPERATURE, 37.25)
    (Decimal('37.3'), None)
    >>> print(check_number(TEMPERATURE, 101.3)[1])
    temperature=101.3: this looks like Fahrenheit; ...
    """
    problem = _type_problem(m, raw)
    if problem is not None:
        return None, problem
    exact = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)  # type: ignore[arg-type]
    for mis in m.misunits:
        if mis.low <= exact <= mis.high:
            return None, Problem(m.name, raw, mis.hint, m.allowed)
    if not m.impossible_below <= exact <= m.impossible_above:
        return None, Problem(m.name, raw, "physically impossible", m.allowed)
    return exact.quantize(m.resolution, rounding=ROUND_HALF_UP), None


_KINDS = {bool: "a boolean", int: "a whole number", float: "a decimal number", str: "a string"}


def _kind(t: type) -> str:
    return _KINDS.get(t, f"a {t.__name__}")


def check_choice(c: Choice, raw: object) -> tuple[object, Problem | None]:
    """Validate one categorical input: ``(canonical value, None)`` or ``(None, problem)``.

    >>> from designpatterns_ref.clinical.rules import CONSCIOUSNESS, SPO2_SCALE
    >>> check_choice(CONSCIOUSNESS, "new confusion")
    ('C', None)
    >>> print(check_choice(SPO2_SCALE, True)[1])
    spo2_scale=True: a boolean is not a whole number; allowed: 1, or 2 ...
    """
    strict = c.strict_type
    if strict is not None and (
        not isinstance(raw, strict) or (isinstance(raw, bool) and strict is not bool)
    ):
        why = f"{_kind(type(raw))} is not {_kind(strict)}"
        return None, Problem(c.name, raw, why, c.allowed)
    key = raw.strip().lower() if isinstance(raw, str) else raw
    try:
        return c.options[key], None
    except (KeyError, TypeError):
        return None, Problem(c.name, raw, "not one of the allowed values", c.allowed)


def _steps(value: Decimal, resolution: Decimal) -> int:
    """A quantised value as a whole number of resolution steps (38.4 at 0.1 is 384)."""
    return int(value / resolution)


def _float_steps(x: float, per_unit: int) -> int | None:
    """Round-half-up of ``x * per_unit`` on the decimal ``repr(x)``, without decimals.

    Float arithmetic is exact enough except within a hair of a tie (``38.45``), where it
    returns ``None`` and the caller falls back to :func:`quantise`. Property-tested against it.
    """
    y = x * per_unit + 0.5
    n = math.floor(y)
    if y - n < 1e-7 or n + 1 - y < 1e-7:
        return None
    return n


Checker = Callable[[object, list[Caution]], "int | str | bool | Problem"]


def _number_checker(m: Measure) -> Checker:
    """A checker for one measure: whole steps of resolution, or a :class:`Problem`.

    Ints and finite floats inside the possible range take the fast path; every other
    value goes through :func:`check_number`, which says exactly what is wrong.
    """
    per_unit = int(1 / m.resolution)
    lo, hi = float(m.impossible_below), float(m.impossible_above)  # exact: checked in Measure
    ext_lo, ext_hi = (_steps(v, m.resolution) for v in (m.extreme_below, m.extreme_above))

    def check(raw: object, cautions: list[Caution]) -> int | Problem:
        steps = None
        if type(raw) is int and lo <= raw <= hi:
            steps = raw * per_unit
        elif type(raw) is float and lo <= raw <= hi:
            steps = _float_steps(raw, per_unit)
        if steps is None:
            value, problem = check_number(m, raw)
            if problem is not None:
                return problem
            steps = _steps(Decimal(value), m.resolution)  # type: ignore[arg-type]
        if not ext_lo <= steps <= ext_hi:
            cautions.append(_caution(m, steps / per_unit if per_unit > 1 else steps))
        return steps

    return check


def _choice_checker(c: Choice) -> Checker:
    """A checker for one categorical input: its canonical value, or a :class:`Problem`."""
    fast = {k: v for k, v in c.options.items() if type(k) is c.strict_type}

    def check(raw: object, cautions: list[Caution]) -> object:
        if type(raw) is c.strict_type and raw in fast:
            return fast[raw]
        value, problem = check_choice(c, raw)
        return value if problem is None else problem

    return check


def _caution(m: Measure, value: int | float) -> Caution:
    return Caution(
        m.name, value,
        f"extreme but possible (usual limits {m.extreme_below} to {m.extreme_above} {m.unit}); "
        "scored, but check the measurement",
    )  # fmt: skip


Scorer = Callable[[Mapping[str, object]], int]


def _scorer(rule: NumericRule | ChoiceRule, resolution: Decimal) -> Scorer:
    """A function from checked inputs to the rule's points."""
    if isinstance(rule, ChoiceRule):
        points, name = dict(rule.points), rule.measure
        return lambda checked: points[checked[name]]
    tables = {
        key: (tuple(_steps(u, resolution) for u in t._uppers), tuple(b.points for b in t.bands))
        for key, t in rule.tables.items()
    }
    name, selected_by = rule.measure, rule.selected_by
    if not selected_by:
        uppers, pts = tables[()]
        return lambda checked: pts[bisect_left(uppers, checked[name])]  # type: ignore[arg-type]

    def score(checked: Mapping[str, object]) -> int:
        uppers, pts = tables[tuple([checked[s] for s in selected_by])]
        return pts[bisect_left(uppers, checked[name])]  # type: ignore[arg-type]

    return score


class _Plan:
    """A ruleset compiled once for speed: one checker per input, one scorer per rule,
    and the trigger row for every (red score, total) pair, so scoring is table lookups."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.known = frozenset(ruleset.input_names)
        self.inputs = [
            (i.name, ruleset.defaults.get(i.name),
             _number_checker(i) if isinstance(i, Measure) else _choice_checker(i))
            for i in ruleset.inputs
        ]  # fmt: skip
        res = {i.name: i.resolution for i in ruleset.inputs if isinstance(i, Measure)}
        self.rules = [
            (rule.parameter, rule.inputs, _scorer(rule, res.get(rule.measure, _ONE)))
            for rule in ruleset.rules
        ]
        self.fractional = [(n, int(1 / r)) for n, r in res.items() if r != _ONE]
        top = ruleset.max_total
        self.triggers = [[ruleset.threshold(t, red) for t in range(top + 1)] for red in (False, True)]


_PLANS: dict[int, _Plan] = {}


def _plan(ruleset: Ruleset) -> _Plan:
    plan = _PLANS.get(id(ruleset))
    if plan is None or plan.ruleset is not ruleset:
        plan = _PLANS[id(ruleset)] = _Plan(ruleset)
    return plan


def assess(
    ruleset: Ruleset, raw: Mapping[str, object], *, partial: bool = False
) -> ScoreResult:
    """Score ``raw`` (input name to value, ``None`` meaning missing) against ``ruleset``.

    Raises :class:`~.base.VitalsError` listing every problem when any input is invalid,
    unknown or (unless ``partial``) missing; nothing is scored in that case.
    """
    plan = _plan(ruleset)
    problems: list[Problem] = []
    if not raw.keys() <= plan.known:
        known = ", ".join(ruleset.input_names)
        problems += [Problem(k, raw[k], "unknown field", known) for k in raw if k not in plan.known]
    # Phase 1: validate every input; numbers become whole steps of the chart's resolution.
    checked: dict[str, object] = {}
    cautions: list[Caution] = []
    missing: list[str] = []
    for name, default, check in plan.inputs:
        value = raw.get(name)
        if value is None:
            value = default
            if value is None:
                missing.append(name)
                continue
        result = check(value, cautions)
        if type(result) is Problem:
            problems.append(result)
        else:
            checked[name] = result
    if missing and not partial:
        problems += [Problem(n, None, "required (or ask for partial scoring)", _allowed(ruleset, n)) for n in missing]
    if problems:
        raise VitalsError(problems)
    # Phase 2: score each parameter whose inputs are present, then pick the trigger row.
    subscores = {
        parameter: score(checked)
        for parameter, needs, score in plan.rules
        if not missing or all(n in checked for n in needs)
    }
    total = sum(subscores.values())
    red = 3 in subscores.values()
    values = dict(checked)
    for name, per_unit in plan.fractional:
        if name in values:
            values[name] /= per_unit  # type: ignore[operator]
    if missing:
        return ScoreResult(
            ruleset.name, total, subscores, red, None, None, (), values,
            True, tuple(missing), tuple(cautions),
        )  # fmt: skip
    row = plan.triggers[red][total]
    return ScoreResult(
        ruleset.name, total, subscores, red, row.risk, row.monitoring, row.response, values,
        False, (), tuple(cautions), row.name,
    )  # fmt: skip


def _allowed(ruleset: Ruleset, name: str) -> str:
    return next(i.allowed for i in ruleset.inputs if i.name == name)
