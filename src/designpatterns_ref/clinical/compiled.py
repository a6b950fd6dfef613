"""Compiling a ruleset to straight-line Python: the fast path for the common request.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

:func:`~.engine.assess` interprets a ruleset: a loop over inputs, a loop over rules, a
function call for each. That costs several times the arithmetic it does. :func:`compile_fast_path`
turns the same data into the source of one Python function, the way ``dataclasses`` writes
``__init__``. The function's parameters are the ruleset's inputs, so it is called with the
caller's own keywords or positions and no dictionary is built for it (``fast(**raw)`` for a
mapping, ``fast(rr, spo2, ...)`` from :func:`~.news2.score`). In its body:

- each number is type-checked and brought to whole steps of the chart's resolution inline
  (``38.44`` °C is 384 steps, rounded half-up; at a resolution such as 2 or 0.3, an int is
  rounded too);
- range check and band lookup are one operation: each band table becomes a dict from every
  step in the *usual* range to its points, so a value outside that range (extreme, impossible,
  or a wrong unit) is simply not a key. A single ``except KeyError`` turns every such miss,
  and every unknown choice, into "not the common case";
- the total, the red score and the trigger row follow without a loop, and the result keeps
  the sub-scores and the echoed values as tuples (:class:`~.base.ScoreResult` turns them
  into dicts when first read).

The fast path only ever answers the common case: every input present, of the plain type
(``int``, ``float``, ``str``, ``bool``, or an enum member of one, such as ``ACVPU.ALERT``),
inside the usual range (no caution to give), and not partial. For anything else it returns
``None`` and the engine's general path, which explains every problem, takes over; an unknown
keyword raises ``TypeError`` as for any function, which :func:`~.engine.assess` treats the same
way. Nothing is scored differently: property tests check that the two paths agree on every
input hypothesis finds, and the generated source is kept on the function (``fn.source``) for a
reader to inspect.

Trade-off: generated code is one more thing to trust, and a dict per band table costs memory
(a few hundred entries each); in exchange a validated score costs a few microseconds, about
three times a hand-written ``if`` chain with no checks, and the rules remain data.

Complexity: O(p) per score with a small constant (one dict lookup per parameter).

>>> from designpatterns_ref.clinical.rules import NEWS2
>>> fast = compile_fast_path(NEWS2)
>>> fast(respiration_rate=22, spo2=96, systolic_bp=120, pulse=80, consciousness="A",
...      temperature=37.5).total
2
>>> fast(respiration_rate=22) is None  # missing inputs: the general path answers
True
>>> print(fast.source.splitlines()[0])
def fast_news2(respiration_rate=None, spo2=None, spo2_scale=None, on_oxygen=None, ...
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol

from designpatterns_ref.clinical._grid import Grid
from designpatterns_ref.clinical.base import Choice, ChoiceRule, Measure, NumericRule, Ruleset
from designpatterns_ref.clinical.result import ResultShape, ScoreResult

__all__ = [
    "FastPath",
    "compile_fast_path",
    "dense_table",
    "float_steps",
    "result_shape",
    "usual_table",
]

#: How close to a rounding tie (in steps) a float may come and still be rounded in binary.
TIE_GUARD = 1e-7


class FastPath(Protocol):
    """A compiled scorer: a result for the common case, ``None`` for anything else.

    Called with the ruleset's inputs as keywords, or positionally in input order; ``None``
    (or leaving an input out) means missing, as for :func:`~.engine.assess`.
    """

    source: str

    def __call__(self, *args: object, **inputs: object) -> ScoreResult | None: ...


def dense_table(points: Callable[[Decimal], int], m: Measure) -> tuple[int, ...]:
    """Points for every value ``m`` can take, indexed by steps above its minimum.

    A few hundred entries at most (systolic BP: 331), built once; a lookup is one index.
    Step ``n`` stands for the exact value ``n × resolution``, whatever the decimal context.

    >>> from designpatterns_ref.clinical.rules import TEMPERATURE
    >>> table = dense_table(lambda v: 0 if v > 36 else 1, TEMPERATURE)
    >>> len(table), table[360 - 100], table[361 - 100]
    (371, 1, 0)
    """
    grid = Grid.of(m.resolution)
    lo, hi = grid.steps(m.impossible_below), grid.steps(m.impossible_above)
    return tuple(points(grid.value(n)) for n in range(lo, hi + 1))


def usual_table(points: Callable[[Decimal], int], m: Measure) -> dict[int, int]:
    """Points by step for the steps of ``m``'s usual range only: a range check and a lookup.

    The usual range holds the steps whose value lies within ``[extreme_below, extreme_above]``,
    the values the engine scores without a caution.

    >>> from designpatterns_ref.clinical.rules import TEMPERATURE
    >>> table = usual_table(lambda v: 0 if v > 36 else 1, TEMPERATURE)
    >>> len(table), table[360], table[361], 319 in table, 421 in table
    (101, 1, 0, False, False)
    """
    grid = Grid.of(m.resolution)
    lo, hi = grid.ceil_steps(m.extreme_below), grid.floor_steps(m.extreme_above)
    return {n: points(grid.value(n)) for n in range(lo, hi + 1)}


def float_steps(x: float, per_unit: int | Fraction) -> int | None:
    """Round-half-up of ``x * per_unit`` on the decimal ``repr(x)``, without decimals.

    ``per_unit`` is the number of steps per unit: 10 at a resolution of 0.1, ``Fraction(1, 2)``
    at a resolution of 2.

    Float arithmetic is exact enough except within a hair of a tie (``38.45``), where it
    returns ``None`` and the caller falls back to decimal arithmetic; so it does for a value
    or a scale past the float range (``nan``, ``1e308`` at ``Fraction(10, 3)``). Property-tested
    against :func:`~.engine.quantise`; the compiled fast path inlines the same test.

    >>> float_steps(38.44, 10), float_steps(38.45, 10), float_steps(24.5, 1)
    (384, None, None)
    >>> float_steps(96.9, Fraction(1, 2)), float_steps(97.0, Fraction(1, 2))
    (48, None)
    """
    try:
        if isinstance(per_unit, Fraction):
            y = x * per_unit.numerator / per_unit.denominator + 0.5
        else:
            y = x * per_unit + 0.5
    except OverflowError:  # a numerator or denominator past the float range (10**400)
        return None
    if not math.isfinite(y):  # nan, or past the float range (1e308 at 10/3 per unit)
        return None
    n = math.floor(y)
    if not TIE_GUARD <= y - n <= 1 - TIE_GUARD:
        return None
    return n


def result_shape(ruleset: Ruleset) -> ResultShape:
    """The names a compact :class:`~.base.ScoreResult` of ``ruleset`` reads back with."""
    grids = ((m.name, Grid.of(m.resolution)) for m in ruleset.inputs if isinstance(m, Measure))
    return ResultShape(
        tuple(rule.parameter for rule in ruleset.rules),
        ruleset.input_names,
        tuple(
            (name, g.numerator, g.denominator)
            for name, g in grids
            if g.numerator != 1 or g.denominator != 1
        ),
    )


def _nested(tables: dict[tuple[object, ...], Any]) -> dict[object, Any]:
    """``{(a, b): t}`` as ``{a: {b: t}}``: a chain of lookups instead of hashing a tuple."""
    nested: dict[object, Any] = {}
    for key, table in tables.items():
        level = nested
        for part in key[:-1]:
            level = level.setdefault(part, {})
        level[key[-1]] = table
    return nested


def compile_fast_path(ruleset: Ruleset) -> FastPath:
    """Generate, compile and return the fast scorer of ``ruleset``.

    Input names are lower-case identifiers (:class:`~.base.Ruleset` checks), so they serve
    as the parameters and locals of the generated function; its own names are upper-case
    (tables, constants) or start with an underscore (temporaries), and cannot clash.
    """
    env: dict[str, Any] = {
        "RESULT": ScoreResult, "NEW": object.__new__, "FLOOR": math.floor, "ENUM": enum.Enum,
        "SHAPE": result_shape(ruleset),
    }  # fmt: skip
    fn_name = "fast_" + re.sub(r"\W", "_", ruleset.name)  # any name makes a valid identifier
    names = ruleset.input_names
    lines = [f"def {fn_name}({', '.join(f'{n}=None' for n in names)}):"]
    lookups = []  # run inside the try block: a KeyError means "not the common case"
    for i, spec in enumerate(ruleset.inputs):
        v = spec.name
        if spec.name in ruleset.defaults:
            env[f"D{i}"] = ruleset.defaults[spec.name]
            lines.append(f"    if {v} is None: {v} = D{i}")
        if isinstance(spec, Measure):
            per_unit = Grid.of(spec.resolution).per_unit
            lo_f, hi_f = float(spec.impossible_below), float(spec.impossible_above)
            if isinstance(per_unit, Fraction):  # a resolution such as 2 or 0.3: ints round too
                scaled = f"{v} * {per_unit.numerator} / {per_unit.denominator}"
                number = f"(type({v}) is int or type({v}) is float)"
                lines.append(f"    if {number} and {lo_f!r} <= {v} <= {hi_f!r}:")
            elif per_unit > 1:
                scaled = f"{v} * {per_unit}"
                lines.append(f"    if type({v}) is int: {v} *= {per_unit}")
                lines.append(f"    elif type({v}) is float and {lo_f!r} <= {v} <= {hi_f!r}:")
            else:
                scaled = v
                lines.append(f"    if type({v}) is int: pass")
                lines.append(f"    elif type({v}) is float and {lo_f!r} <= {v} <= {hi_f!r}:")
            # float_steps, inlined: round half-up unless within a hair of a tie
            lines.append(f"        _y = {scaled} + 0.5")
            lines.append(f"        {v} = FLOOR(_y)")
            lines.append(
                f"        if not {TIE_GUARD!r} <= _y - {v} <= {1 - TIE_GUARD!r}: return None"
            )
            lines.append("    else: return None")
        else:
            assert isinstance(spec, Choice) and spec.strict_type is not None
            env[f"T{i}"] = spec.strict_type
            env[f"O{i}"] = {
                k: val for k, val in spec.options.items() if type(k) is spec.strict_type
            }
            lines.append(f"    if type({v}) is not T{i}:")  # an enum member stands for its value
            lines.append(
                f"        if isinstance({v}, ENUM) and isinstance({v}, T{i}): {v} = {v}.value"
            )
            lines.append(f"        if type({v}) is not T{i}: return None")
            lookups.append(f"        {v} = O{i}[{v}]")
    measures = {i.name: i for i in ruleset.inputs if isinstance(i, Measure)}
    points = []
    for j, rule in enumerate(ruleset.rules):
        p = f"_p{j}"
        points.append(p)
        if isinstance(rule, ChoiceRule):
            env[f"P{j}"] = dict(rule.points)
            lookups.append(f"        {p} = P{j}[{rule.measure}]")
            continue
        assert isinstance(rule, NumericRule)
        m = measures[rule.measure]
        tables = {key: usual_table(t.points, m) for key, t in rule.tables.items()}
        env[f"P{j}"] = _nested(tables) if rule.selected_by else tables[()]
        select = "".join(f"[{s}]" for s in rule.selected_by)
        lookups.append(f"        {p} = P{j}{select}[{rule.measure}]")
    lines += ["    try:", *lookups, "    except KeyError:", "        return None"]
    lines.append(f"    _points = ({', '.join(points)},)")
    lines.append(f"    _total = {' + '.join(points)}")
    lines.append(f"    _red = {' or '.join(f'{p} == 3' for p in points)}")  # faster than `in`
    env["TRIGGERS"] = [
        [ruleset.threshold(t, red) for t in range(ruleset.max_total + 1)] for red in (False, True)
    ]
    lines.append("    _row = TRIGGERS[_red][_total]")
    # The result, slot by slot: the cheapest way to build it (see ScoreResult).
    lines += [
        "    _r = NEW(RESULT)",
        f"    _r._ruleset = {ruleset.name!r}",
        "    _r._total = _total",
        "    _r._subscores = _points",
        "    _r._red_score = _red",
        "    _r._risk = _row.risk",
        "    _r._monitoring = _row.monitoring",
        "    _r._response = _row.response",
        f"    _r._values = ({', '.join(names)},)",
        "    _r._partial = False",
        "    _r._missing = ()",
        "    _r._cautions = ()",
        "    _r._threshold = _row.name",
        "    _r._shape = SHAPE",
        "    return _r",
    ]
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<fast path of {ruleset.name}>", "exec"), env)
    fn = env[fn_name]
    fn.source = source
    return fn  # type: ignore[no-any-return]
