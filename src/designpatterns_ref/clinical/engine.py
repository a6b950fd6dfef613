"""The scoring engine: validate every input, quantise, look up bands, apply thresholds.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

One function, :func:`assess`, scores any :class:`~.base.Ruleset`. It works in two phases so
that a wrong answer is never produced from a wrong input:

1. **Validate everything first.** Each input is checked for type (a boolean or a string is
   not a number), unit (98.6 for a temperature is Fahrenheit; 0.95 for SpO2 is a fraction),
   and physical possibility (the checks of one value: :mod:`._checks`). Every problem in the
   request is collected, and if there is any, :class:`~.base.VitalsError` is raised listing
   them all; nothing is scored.
2. **Score.** Each rule looks its quantised value up in its band table (a binary search),
   the points are summed, and the first trigger threshold that applies gives the risk, the
   monitoring frequency and the clinical response.

Rounding policy: the charts print whole numbers (temperature to 0.1 °C), so every value is
quantised to the nearest multiple of the chart's resolution with decimal round-half-up, reading
a float as the decimal it prints as (``repr``): ``38.05`` becomes ``38.1`` and ``24.5`` becomes
``25``, where Python's ``round`` would give ``38.0`` (binary floating point) and ``24``
(banker's rounding). A resolution need not be a power of ten (read to 0.5, 38.3 is 38.5). The
arithmetic is exact and on integers (:mod:`._grid`), so the caller's decimal context (its
precision, rounding and traps) changes nothing. Plausibility is judged on the value as sent
(100.4% SpO2 is impossible, not rounded to 100), the bands on the value as quantised.
The quantised values are echoed in the result, so the caller sees what was scored.

A number is an ``int``, a ``float`` (or a subclass, such as ``numpy.float64``), a ``Decimal``,
or any other integer type that ``operator.index`` takes (``numpy.int64``); never a ``bool``.

Missing inputs are problems too, unless ``partial=True``: then the result is marked partial,
lists what is missing, and carries no risk category, since a missing vital sign could only
have raised it.

Thread safety: :func:`assess` keeps no state between calls and may be called from any number
of threads (the API's worker threads share it); the per-ruleset plan is built on first use,
and two threads racing to build it build the same plan. A plan is kept as long as its ruleset
lives (a weak reference keys it), so rulesets built per request leave nothing behind.

Complexity: O(p) for p parameters: each band table is compiled once per ruleset into a dense
tuple indexed by the quantised value (a few hundred entries), so a lookup is one index. The
common request goes through the compiled fast path of :mod:`.compiled` (about 3.5 µs of CPU
on a 2 GHz machine); the interpreted path costs about 3.5 times that, the error path more (it
builds every message).

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
designpatterns_ref.clinical.base.VitalsError: 2 problems with the vital signs: ...
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from designpatterns_ref.clinical._checks import (
    _check_steps,
    _choice_type_problem,
    _exact,
    _integral,
    _whole,
)
from designpatterns_ref.clinical._grid import Grid, grid_of, is_resolution
from designpatterns_ref.clinical.base import (
    Caution,
    Choice,
    ChoiceRule,
    ClinicalError,
    Measure,
    Problem,
    Ruleset,
    VitalsError,
)
from designpatterns_ref.clinical.compiled import (
    compile_fast_path,
    dense_table,
    float_steps,
    result_shape,
)
from designpatterns_ref.clinical.result import ScoreResult
from designpatterns_ref.errors import shown

__all__ = ["assess", "assess_inputs", "check_choice", "check_number", "quantise"]


#: The most digits :func:`quantise` gives (a chart's value has a handful).
MAX_QUANTISED_DIGITS = 100


def quantise(value: int | float | Decimal, resolution: Decimal) -> Decimal:
    """``value`` rounded half-up to the nearest multiple of ``resolution``, reading a float as
    the decimal it prints; exact, whatever the decimal context. ``resolution`` is one a
    :class:`~.base.Measure` takes (at most 40 digits, an exponent from -40 to 40), else
    :class:`~.base.ClinicalError`.

    >>> quantise(36.05, Decimal("0.1")), quantise(8.5, Decimal(1)), quantise(-0.5, Decimal(1))
    (Decimal('36.1'), Decimal('9'), Decimal('-1'))
    >>> quantise(38.3, Decimal("0.5")), quantise(95, Decimal(2)), quantise(0.45, Decimal("0.3"))
    (Decimal('38.5'), Decimal('96'), Decimal('0.6'))
    """
    if isinstance(value, bool) or (
        not isinstance(value, int | float | Decimal) and _integral(value) is None
    ):
        raise ClinicalError(f"quantise: value={shown(value)} must be an int, float or Decimal")
    if not is_resolution(resolution):
        raise ClinicalError(
            f"quantise: resolution={shown(resolution)} must be a positive Decimal with at most "
            "40 digits and an exponent from -40 to 40 (as a Measure's)"
        )
    exact = _exact(value)
    if not exact.is_finite():
        raise ClinicalError(f"quantise: value={shown(value)} must be finite")
    if (
        exact
        and max(exact.adjusted() - resolution.adjusted(), 0) + len(resolution.as_tuple().digits)
        > MAX_QUANTISED_DIGITS
    ):  # a zero of any exponent is 0 steps
        raise ClinicalError(
            f"quantise: value={shown(value, 60)} has too many digits for resolution {resolution} "
            f"(at most {MAX_QUANTISED_DIGITS} in the result)"
        )
    grid = grid_of(resolution)
    return grid.value(grid.steps(exact))


def check_number(m: Measure, raw: object) -> tuple[Decimal | None, Problem | None]:
    """Validate and quantise one numeric input: ``(value, None)`` or ``(None, problem)``.

    >>> from designpatterns_ref.clinical.rules import TEMPERATURE
    >>> check_number(TEMPERATURE, 37.25)
    (Decimal('37.3'), None)
    >>> print(check_number(TEMPERATURE, 101.3)[1])
    temperature=101.3: this looks like Fahrenheit; ...
    """
    if not isinstance(m, Measure):
        raise ClinicalError(f"check_number: m={shown(m)} must be a Measure (such as rules.PULSE)")
    grid = grid_of(m.resolution)
    steps, problem = _check_steps(m, grid, raw)
    return (None, problem) if steps is None else (grid.value(steps), None)


def check_choice(c: Choice, raw: object) -> tuple[object, Problem | None]:
    """Validate one categorical input: ``(canonical value, None)`` or ``(None, problem)``.

    An int choice takes any integer type (``numpy.int64(2)``), never a bool.

    >>> from designpatterns_ref.clinical.rules import CONSCIOUSNESS, SPO2_SCALE
    >>> check_choice(CONSCIOUSNESS, "new confusion")
    ('C', None)
    >>> print(check_choice(SPO2_SCALE, True)[1])
    spo2_scale=True: a boolean is not a whole number; allowed: 1, or 2 ...
    """
    if not isinstance(c, Choice):
        raise ClinicalError(
            f"check_choice: c={shown(c)} must be a Choice (such as rules.CONSCIOUSNESS)"
        )
    why = _choice_type_problem(c, raw)
    if why is not None:
        return None, Problem(c.name, raw, why, c.allowed)
    if isinstance(raw, str):
        key: object = raw.strip().lower()
    elif c.strict_type is int:
        key = _whole(raw)
    else:
        key = raw
    try:
        return c.options[key], None
    except (KeyError, TypeError):
        return None, Problem(c.name, raw, "not one of the allowed values", c.allowed)


class _Invalid(Exception):
    """Raised by a checker on the slow path; carries the problem to report."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem


Checker = Callable[[object, list[Caution]], object]


def _number_checker(m: Measure) -> Checker:
    """A checker for one measure: whole steps of resolution (or raises :class:`_Invalid`).

    Ints (at a resolution of 1/n) and finite floats inside the possible range take the fast
    path; every other value goes through the exact check, which says exactly what is wrong.
    A value whose steps lie outside the usual range (as quantised) is scored with a caution.
    """
    grid = Grid.of(m.resolution)
    per_unit = grid.per_unit
    # At a resolution of 1/n an int is n whole steps; at one such as 2, ints round too.
    int_steps = per_unit if isinstance(per_unit, int) else 0
    lo, hi = float(m.impossible_below), float(m.impossible_above)  # exact: checked in Measure
    ext_lo, ext_hi = grid.ceil_steps(m.extreme_below), grid.floor_steps(m.extreme_above)

    def check(raw: object, cautions: list[Caution]) -> int:
        steps = None
        if type(raw) is int and int_steps and lo <= raw <= hi:
            steps = raw * int_steps
        elif type(raw) is float and lo <= raw <= hi:
            steps = float_steps(raw, per_unit)
        if steps is None:
            steps, problem = _check_steps(m, grid, raw)
            if problem is not None:
                raise _Invalid(problem)
            assert steps is not None
        if not ext_lo <= steps <= ext_hi:
            cautions.append(_caution(m, grid.echo(steps)))
        return steps

    return check


def _choice_checker(c: Choice) -> Checker:
    """A checker for one categorical input: its canonical value (or raises :class:`_Invalid`)."""
    fast = {k: v for k, v in c.options.items() if type(k) is c.strict_type}

    def check(raw: object, cautions: list[Caution]) -> object:
        if type(raw) is c.strict_type and raw in fast:
            return fast[raw]
        value, problem = check_choice(c, raw)
        if problem is not None:
            raise _Invalid(problem)
        return value

    return check


def _caution(m: Measure, value: int | float) -> Caution:
    return Caution(
        m.name, value,
        f"extreme but possible (usual limits {m.extreme_below} to {m.extreme_above} {m.unit}); "
        "scored, but check the measurement",
    )  # fmt: skip


class _Plan:
    """A ruleset compiled once for speed: a checker per input, a dense points table per
    band table, and the trigger row for every (red score, total) pair."""

    def __init__(self, ruleset: Ruleset) -> None:
        # No reference back to ``ruleset``: the plan is cached under a weak reference to it
        # and must not keep it alive.
        self.known = frozenset(ruleset.input_names)
        self.inputs = [
            (i.name, ruleset.defaults.get(i.name),
             _number_checker(i) if isinstance(i, Measure) else _choice_checker(i))
            for i in ruleset.inputs
        ]  # fmt: skip
        measures = {i.name: i for i in ruleset.inputs if isinstance(i, Measure)}
        # (parameter, input, selectors, {selector values: points lookup}, offset, inputs read):
        # a choice's lookup is keyed by the option (offset None), a number's by its steps.
        self.rules: list[
            tuple[str, str, tuple[str, ...], Mapping[Any, Any], int | None, tuple[str, ...]]
        ] = []
        for rule in ruleset.rules:
            if isinstance(rule, ChoiceRule):
                self.rules.append(
                    (rule.parameter, rule.measure, (), {(): dict(rule.points)}, None, rule.inputs)
                )
                continue
            m = measures[rule.measure]
            tables = {key: dense_table(t.points, m) for key, t in rule.tables.items()}
            offset = Grid.of(m.resolution).steps(m.impossible_below)
            self.rules.append(
                (rule.parameter, rule.measure, rule.selected_by, tables, offset, rule.inputs)
            )
        self.scaled = result_shape(ruleset).scales  # (input, numerator, denominator)
        self.fast = compile_fast_path(ruleset)
        top = ruleset.max_total
        self.triggers = [
            [ruleset.threshold(t, red) for t in range(top + 1)] for red in (False, True)
        ]


# Keyed by the ruleset itself: a Ruleset hashes by identity, so a variant gets its own plan.
# Weakly: a plan goes when its ruleset does, so rulesets built per request (variants with
# other defaults or thresholds) do not pile up plans for the life of the process.
_PLANS: weakref.WeakKeyDictionary[Ruleset, _Plan] = weakref.WeakKeyDictionary()


def _plan(ruleset: Ruleset) -> _Plan:
    plan = _PLANS.get(ruleset)
    if plan is None:
        plan = _PLANS[ruleset] = _Plan(ruleset)
    return plan


def _plan_of(where: str, ruleset: object) -> _Plan:
    if not isinstance(ruleset, Ruleset):
        raise ClinicalError(
            f"{where}: ruleset={shown(ruleset, 80)} must be a Ruleset (such as NEWS2)"
        )
    return _PLANS.get(ruleset) or _plan(ruleset)


def _check_flag(where: str, name: str, value: object) -> None:
    if value is not True and value is not False:
        raise ClinicalError(f"{where}: {name}={shown(value, 80)} must be True or False")


def assess_inputs(
    ruleset: Ruleset, inputs: tuple[object, ...], partial: bool = False
) -> ScoreResult:
    """Score ``ruleset``'s inputs given in input order (``None`` meaning missing).

    For an entry point that already has the inputs as variables (:func:`~.news2.score`): the
    compiled fast path takes them with no dictionary built, and when it declines,
    :func:`assess` scores or explains, exactly as if given the dictionary.
    """
    plan = _plan_of("assess_inputs", ruleset)
    if not isinstance(inputs, tuple) or len(inputs) != len(ruleset.input_names):
        raise ClinicalError(
            f"assess_inputs: inputs={shown(inputs, 80)} must be a tuple of "
            f"{len(ruleset.input_names)} "
            f"values, in the order {', '.join(ruleset.input_names)}"
        )
    _check_flag("assess_inputs", "partial", partial)
    result = plan.fast(*inputs)
    if result is not None:
        return result
    raw = dict(zip(ruleset.input_names, inputs, strict=True))
    return assess(ruleset, raw, partial=partial, use_fast_path=False)


def assess(
    ruleset: Ruleset, raw: Mapping[str, object], *, partial: bool = False,
    use_fast_path: bool = True,
) -> ScoreResult:  # fmt: skip
    """Score ``raw`` (input name to value, ``None`` meaning missing) against ``ruleset``.

    Raises :class:`~.base.VitalsError` listing every problem when any input is invalid,
    unknown or (unless ``partial``) missing; nothing is scored in that case. The common
    case goes through the ruleset's compiled fast path (:mod:`.compiled`); pass
    ``use_fast_path=False`` to interpret the rules only (same answers, slower).
    """
    plan = _plan_of("assess", ruleset)
    if partial is not True and partial is not False:
        _check_flag("assess", "partial", partial)
    if use_fast_path is not True and use_fast_path is not False:
        _check_flag("assess", "use_fast_path", use_fast_path)
    if use_fast_path:
        # The common case, compiled; None (or a TypeError: an unknown or non-string key)
        # means "use the general path", which explains.
        try:
            fast = plan.fast(**raw)
        except TypeError:
            fast = None
        if fast is not None:
            return fast
    if not isinstance(raw, Mapping):
        raise ClinicalError(
            f"assess: raw={shown(raw, 80)} must be a mapping of input name to value"
        )
    problems: list[Problem] = []
    if not raw.keys() <= plan.known:
        problems.append(_unknown([k for k in raw if k not in plan.known], raw, ruleset))
    # Phase 1: validate every input; numbers become whole steps of the chart's resolution.
    checked: dict[str, Any] = {}
    cautions: list[Caution] = []
    missing: list[str] = []
    for name, default, check in plan.inputs:
        value = raw.get(name)
        if value is None:
            value = default
            if value is None:
                missing.append(name)
                continue
        try:
            checked[name] = check(value, cautions)
        except _Invalid as invalid:
            problems.append(invalid.problem)
    if missing and not partial:
        problems += [
            Problem(n, None, "required (or ask for partial scoring)", _allowed(ruleset, n))
            for n in missing
        ]
    if problems:
        raise VitalsError(problems)
    # Phase 2: each parameter's points by direct lookup, then the trigger row.
    subscores: dict[str, int] = {}
    for parameter, name, selectors, tables, offset, needs in plan.rules:
        if missing and any(n not in checked for n in needs):
            continue
        lookup = tables[tuple([checked[s] for s in selectors])] if selectors else tables[()]
        value = checked[name]
        subscores[parameter] = lookup[value if offset is None else value - offset]
    total = sum(subscores.values())
    red = 3 in subscores.values()
    values = dict(checked)
    for name, numerator, denominator in plan.scaled:  # steps back to values: 384 is 38.4
        if name in values:
            n = values[name] * numerator
            values[name] = n if denominator == 1 else n / denominator
    notes = tuple(cautions) if cautions else ()
    if missing:
        return ScoreResult(
            ruleset.name, total, subscores, red, None, None, (), values, True, tuple(missing), notes
        )
    row = plan.triggers[red][total]
    return ScoreResult(
        ruleset.name, total, subscores, red, row.risk, row.monitoring, row.response, values,
        False, (), notes, row.name,
    )  # fmt: skip


#: The most unknown field names one problem lists.
MAX_UNKNOWN_SHOWN = 10
#: The field of the one problem naming several unknown keys (no input has a space in its name).
UNKNOWN_FIELDS = "unknown fields"


def _unknown(keys: list[str], raw: Mapping[str, object], ruleset: Ruleset) -> Problem:
    """One problem for every unknown key, the known fields listed once: an answer the size of
    the request's known part, however many keys a request invents. A single unknown key is
    named with its value (``bp=120``); several are counted and listed, up to
    :data:`MAX_UNKNOWN_SHOWN`, under the field :data:`UNKNOWN_FIELDS`."""
    known = ", ".join(ruleset.input_names)
    if len(keys) == 1:
        return Problem(keys[0], raw[keys[0]], "unknown field", known)
    listed = ", ".join(shown(k, 40) for k in keys[:MAX_UNKNOWN_SHOWN])
    more = f" and {len(keys) - MAX_UNKNOWN_SHOWN} more" if len(keys) > MAX_UNKNOWN_SHOWN else ""
    return Problem(
        UNKNOWN_FIELDS, len(keys), f"not fields of {ruleset.name}: {listed}{more}", known
    )


def _allowed(ruleset: Ruleset, name: str) -> str:
    return next(i.allowed for i in ruleset.inputs if i.name == name)
