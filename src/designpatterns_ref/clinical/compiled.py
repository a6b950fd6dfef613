"""Compiling a ruleset to straight-line Python: the fast path for the common request.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

:func:`~.engine.assess` interprets a ruleset: a loop over inputs, a loop over rules, a
function call for each. That costs several times the arithmetic it does. :func:`compile_fast_path`
turns the same data into the source of one Python function, the way ``dataclasses`` writes
``__init__``: each input is read and range-checked inline, each band table becomes a tuple
indexed by the value (a dense lookup table, built from the :class:`~.base.BandTable`), and the
total, the red score and the trigger row follow without a loop.

The fast path only ever answers the common case: every input present, of the plain type
(``int``, ``float``, ``str``, ``bool``), inside the usual range (no caution to give), and not
partial. For anything else it returns ``None`` and the engine's general path, which explains
every problem, takes over. Nothing is scored differently: a property test checks that the
two paths agree on every input hypothesis finds, and the generated source is kept on the
function (``fn.source``) for a reader to inspect.

Trade-off: generated code is one more thing to trust; in exchange a validated score costs
about as much as a hand-written ``if`` chain plus the result object, and the rules remain data.

Complexity: O(p) per score with a small constant (one index per parameter).

>>> from designpatterns_ref.clinical.rules import NEWS2
>>> fast = compile_fast_path(NEWS2)
>>> fast({"respiration_rate": 22, "spo2": 96, "systolic_bp": 120, "pulse": 80,
...       "consciousness": "A", "temperature": 37.5}).total
2
>>> fast({"respiration_rate": 22}) is None  # missing inputs: the general path answers
True
>>> print(fast.source.splitlines()[0])
def fast_news2(raw):
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Protocol

from designpatterns_ref.clinical.base import (
    Choice,
    ChoiceRule,
    Measure,
    NumericRule,
    Ruleset,
    ScoreResult,
)

__all__ = ["FastPath", "compile_fast_path", "dense_table", "float_steps"]


class FastPath(Protocol):
    """A compiled scorer: a result for the common case, ``None`` for anything else."""

    source: str

    def __call__(self, raw: Mapping[str, object]) -> ScoreResult | None: ...


def _steps(value: Decimal, resolution: Decimal) -> int:
    return int(value / resolution)


def dense_table(points: Callable[[Decimal], int], m: Measure) -> tuple[int, ...]:
    """Points for every value ``m`` can take, indexed by steps above its minimum.

    A few hundred entries at most (systolic BP: 331), built once; a lookup is one index.

    >>> from designpatterns_ref.clinical.rules import TEMPERATURE
    >>> table = dense_table(lambda v: 0 if v > 36 else 1, TEMPERATURE)
    >>> len(table), table[360 - 100], table[361 - 100]
    (371, 1, 0)
    """
    res = m.resolution
    lo, hi = _steps(m.impossible_below, res), _steps(m.impossible_above, res)
    return tuple(points(Decimal(n) * res) for n in range(lo, hi + 1))


def float_steps(x: float, per_unit: int) -> int | None:
    """Round-half-up of ``x * per_unit`` on the decimal ``repr(x)``, without decimals.

    Float arithmetic is exact enough except within a hair of a tie (``38.45``), where it
    returns ``None`` and the caller falls back to decimal arithmetic. Property-tested
    against :func:`~.engine.quantise`.

    >>> float_steps(38.44, 10), float_steps(38.45, 10), float_steps(24.5, 1)
    (384, None, None)
    """
    y = x * per_unit + 0.5
    n = math.floor(y)
    if y - n < 1e-7 or n + 1 - y < 1e-7:
        return None
    return n


def compile_fast_path(ruleset: Ruleset) -> FastPath:
    """Generate, compile and return the fast scorer of ``ruleset``."""
    env: dict[str, Any] = {"ScoreResult": ScoreResult, "floor": math.floor, "new": tuple.__new__}
    fn_name = "fast_" + re.sub(r"\W", "_", ruleset.name)  # any name makes a valid identifier
    lines = [f"def {fn_name}(raw):"]
    known = tuple(ruleset.input_names)
    env["KNOWN"] = frozenset(known)
    lines.append("    if not raw.keys() <= KNOWN: return None")
    var: dict[str, str] = {}
    for i, spec in enumerate(ruleset.inputs):
        v = var[spec.name] = f"v{i}"
        default = ruleset.defaults.get(spec.name)
        lines.append(f"    {v} = raw.get({spec.name!r})")
        if default is not None:
            env[f"D{i}"] = default
            lines.append(f"    if {v} is None: {v} = D{i}")
        if isinstance(spec, Measure):
            per_unit = int(1 / spec.resolution)
            lo, hi = (
                _steps(spec.extreme_below, spec.resolution),
                _steps(spec.extreme_above, spec.resolution),
            )
            # Only values in the usual range: extreme ones carry a caution, the engine's job.
            lines.append(
                f"    if type({v}) is int: {v} = {v} * {per_unit}"
                if per_unit > 1
                else f"    if type({v}) is int: pass"
            )
            lo_f, hi_f = float(spec.impossible_below), float(spec.impossible_above)
            lines.append(f"    elif type({v}) is float and {lo_f!r} <= {v} <= {hi_f!r}:")
            # float_steps, inlined: round half-up unless within a hair of a tie
            lines.append(f"        y = {v} * {per_unit} + 0.5")
            lines.append(f"        {v} = floor(y)")
            lines.append(f"        if y - {v} < 1e-7 or {v} + 1 - y < 1e-7: return None")
            lines.append("    else: return None")
            lines.append(f"    if not {lo} <= {v} <= {hi}: return None")
        else:
            assert isinstance(spec, Choice) and spec.strict_type is not None
            env[f"T{i}"] = spec.strict_type
            env[f"O{i}"] = {
                k: val for k, val in spec.options.items() if type(k) is spec.strict_type
            }
            lines.append(f"    if type({v}) is not T{i} or {v} not in O{i}: return None")
            lines.append(f"    {v} = O{i}[{v}]")
    measures = {i.name: i for i in ruleset.inputs if isinstance(i, Measure)}
    points = []
    for j, rule in enumerate(ruleset.rules):
        p = f"p{j}"
        points.append((rule.parameter, p))
        if isinstance(rule, ChoiceRule):
            env[f"P{j}"] = dict(rule.points)
            lines.append(f"    {p} = P{j}[{var[rule.measure]}]")
            continue
        assert isinstance(rule, NumericRule)
        m = measures[rule.measure]
        offset = _steps(m.impossible_below, m.resolution)
        tables = {key: dense_table(t.points, m) for key, t in rule.tables.items()}
        if rule.selected_by:
            env[f"P{j}"] = tables
            key = ", ".join(var[s] for s in rule.selected_by) + (
                "," if len(rule.selected_by) == 1 else ""
            )
            lines.append(f"    {p} = P{j}[({key})][{var[rule.measure]} - {offset}]")
        else:
            env[f"P{j}"] = tables[()]
            lines.append(f"    {p} = P{j}[{var[rule.measure]} - {offset}]")
    names = [p for _, p in points]
    lines.append(f"    total = {' + '.join(names)}")
    lines.append(f"    red = {' or '.join(f'{p} == 3' for p in names)}")
    env["TRIGGERS"] = [
        [ruleset.threshold(t, red) for t in range(ruleset.max_total + 1)] for red in (False, True)
    ]
    lines.append("    row = TRIGGERS[red][total]")
    subs = ", ".join(f"{param!r}: {p}" for param, p in points)
    echo = []
    for spec in ruleset.inputs:
        v = var[spec.name]
        if isinstance(spec, Measure) and spec.resolution != 1:
            v = f"{v} / {int(1 / spec.resolution)}"
        echo.append(f"{spec.name!r}: {v}")
    lines.append(
        f"    return new(ScoreResult, ({ruleset.name!r}, total, {{{subs}}}, red, row.risk, "
        f"row.monitoring, row.response, {{{', '.join(echo)}}}, False, (), (), row.name))"
    )
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<fast path of {ruleset.name}>", "exec"), env)
    fn = env[fn_name]
    fn.source = source
    return fn  # type: ignore[no-any-return]
