"""Checking one raw input: what kind of value it is, and why it cannot be scored.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

The engine (:mod:`designpatterns_ref.clinical.engine`) asks two questions of every value a
caller sends, before anything is scored. For a number (:class:`~.base.Measure`): is it a number
at all (a boolean or a string is not; a string that spells one is quoted back with the number
to send instead), is it in the wrong unit (98.6 for a temperature is Fahrenheit), and is it
physically possible; if so, how many whole steps of the chart's resolution it is. For a choice
(:class:`~.base.Choice`): is it of the kind the choice takes (a whole number, a boolean or a
string). Every answer is a :class:`~.base.Problem` naming the field, the value, what is wrong
and what is allowed, or ``None``.

A number is an ``int``, a ``float`` (or a subclass, such as ``numpy.float64``), a ``Decimal``,
or any other integer type that ``operator.index`` takes (``numpy.int64``); never a ``bool``.
No decimal context is read: the checks compare, and count steps in integers (:mod:`._grid`).

>>> from designpatterns_ref.clinical.rules import TEMPERATURE
>>> print(_type_problem(TEMPERATURE, "37.2"))
temperature='37.2': a string is not a number; send the number itself (37.2, not "37.2"); ...
>>> _check_steps(TEMPERATURE, Grid.of(TEMPERATURE.resolution), 37.25)
(373, None)
>>> _kind([1]), _kind({}), _whole(True), _exact(38.05)
('an array', 'an object', None, Decimal('38.05'))
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal

from designpatterns_ref.clinical._grid import Grid
from designpatterns_ref.clinical.base import Choice, Measure, Problem


def _integral(value: object) -> int | None:
    """An integer of a type other than ``int`` (``numpy.int64``) as an int, else None."""
    if isinstance(value, bool | int | float | Decimal | str) or not hasattr(
        type(value), "__index__"
    ):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ArithmeticError):  # numpy.bool_ refuses, for one
        return None


def _exact(value: object) -> Decimal:
    """A number (see :func:`_type_problem`) as a Decimal, a float read as the decimal it
    prints as. Exact: no decimal context is read.

    ``float.__repr__`` rather than ``repr``: a float subclass (numpy's ``float64``) prints
    its own way (``np.float64(38.05)``), which is no decimal.
    """
    if isinstance(value, float):
        return Decimal(float.__repr__(value))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    return Decimal(operator.index(value))  # type: ignore[arg-type]


#: A string holding a plain decimal number, which the caller should send as a number.
_NUMERAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _quoted(text: str) -> str:
    """A string as JSON writes it (``"72"``), which a Python reader reads too; cut past 60."""
    return json.dumps(text if len(text) <= 60 else text[:57] + "...", ensure_ascii=False)


def _type_problem(m: Measure, raw: object) -> Problem | None:
    if isinstance(raw, bool):
        why = "a boolean is not a number"
    elif isinstance(raw, str):
        text = raw.strip()
        if len(text) <= 40 and _NUMERAL.fullmatch(text):
            why = f"a string is not a number; send the number itself ({text}, not {_quoted(raw)})"
        else:
            why = f"a string is not a number; send a number (such as {m.example})"
    elif not isinstance(raw, int | float | Decimal) and _integral(raw) is None:
        why = f"{_kind(raw)} is not a number"
    elif (isinstance(raw, Decimal) and not raw.is_finite()) or (
        isinstance(raw, float) and not math.isfinite(raw)
    ):
        why = "not a finite number"
    else:
        return None
    return Problem(m.name, raw, why, m.allowed)


def _check_steps(m: Measure, grid: Grid, raw: object) -> tuple[int | None, Problem | None]:
    """Validate one numeric input: ``(whole steps of the resolution, None)`` or
    ``(None, problem)``. Only comparisons and integers: no decimal context is read."""
    problem = _type_problem(m, raw)
    if problem is not None:
        return None, problem
    exact = _exact(raw)
    for mis in m.misunits:
        if mis.low <= exact <= mis.high:
            return None, Problem(m.name, raw, mis.hint, m.allowed)
    if not m.impossible_below <= exact <= m.impossible_above:
        return None, Problem(m.name, raw, "physically impossible", m.allowed)
    return grid.steps(exact), None


def _kind(value: object) -> str:
    """What ``value`` is, in words that read right to a JSON client and to a Python caller
    alike: ``[1]`` is an array and ``{}`` an object, whichever language sent them."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float | Decimal) or _integral(value) is not None:
        return "a number"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


def _whole(value: object) -> int | None:
    """``value`` as an int if it is an integer type's (``int``, ``numpy.int64``), not a bool."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    return _integral(value)


def _is_whole(value: float | Decimal) -> bool:
    """Whether a finite float or Decimal is a whole number, in time that does not grow with its
    exponent: no int is built, and rounding toward zero reads no decimal context."""
    if isinstance(value, float):
        return value.is_integer()
    return value == value.to_integral_value(rounding=ROUND_DOWN)


def _choice_type_problem(c: Choice, raw: object) -> str | None:
    """Why ``raw`` is of the wrong kind for ``c``, or None."""
    strict = c.strict_type
    if strict is None or strict is int:
        if strict is None or _whole(raw) is not None:
            return None
        if isinstance(raw, float | Decimal) and not isinstance(raw, bool):
            if not (math.isfinite(raw) if isinstance(raw, float) else raw.is_finite()):
                return "not a finite number"
            if not _is_whole(raw):
                return "not a whole number"
            # Compared with each option, never converted: int() of 1E+999999999999999999
            # would build a number of a quintillion digits. 100.0 is no option; 2.0 is, as 2.
            option = next((k for k in c.options if type(k) is int and raw == k), None)
            if option is None:
                return "not one of the allowed values"
            return f"send the option as a whole number ({option}, not {raw})"
        return f"{_kind(raw)} is not a whole number"
    if strict is bool:
        return None if isinstance(raw, bool) else f"{_kind(raw)} is not a boolean"
    return None if isinstance(raw, str) else f"{_kind(raw)} is not a string"
