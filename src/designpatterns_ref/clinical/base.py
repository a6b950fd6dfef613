"""Shared types of the clinical family: inputs, rule tables and errors (results: :mod:`.result`).

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

An early warning score is a table: each vital sign falls in one printed band, each band is
worth 0 to 3 points, and the sum (with any single 3, the "red score") picks a clinical risk,
a monitoring frequency and a response. This module holds that table's vocabulary as plain,
immutable data: :class:`Measure` (what an input is, its unit, its printed resolution and its
plausible range), :class:`Band` and :class:`BandTable` (the chart's rows), :class:`Threshold`
(the trigger chart) and :class:`Ruleset` (one complete score). The engine in
:mod:`designpatterns_ref.clinical.engine` reads any :class:`Ruleset`; the rulesets themselves
live in :mod:`designpatterns_ref.clinical.rules`.

A :class:`BandTable` is checked when it is built: its edges must lie on the chart's resolution
grid and its bands must be contiguous at that resolution, with no gap and no overlap, so every
quantised value lands in exactly one band. A :class:`Ruleset` checks that every rule can score
every valid input: a table for each combination of its selectors' options, each printed to its
measure's resolution, points for every option of a choice; that every default names an input
and is a value that input takes; and that every trigger row is the first to apply for some
total. Lookup is a binary search over the band edges. (The band tables are
written in the private ``_bands`` module, the errors in ``_errors``, and the vital signs as
sent and as judged, :class:`Vitals`, :class:`ACVPU`, :class:`Problem`, :class:`VitalsError`
and :class:`Caution`, in ``_vitals``; import them all from here.)

Complexity: building a table is O(b) for b bands; a lookup is O(log b) (b is at most 7). The
engine compiles each table once more into a dense tuple for O(1) lookups.

>>> table = BandTable.of("1", [(None, "8", 3), ("9", "11", 1), ("12", "20", 0), ("21", None, 2)])
>>> tuple(table.points(Decimal(v)) for v in ("8", "9", "20", "21", "40"))
(3, 1, 0, 2, 2)
>>> table.label(Decimal("10"))
'9–11'
>>> BandTable.of("1", [(None, "8", 3), ("10", None, 0)])
Traceback (most recent call last):
...
designpatterns_ref.clinical.base.RulesetError: band 10–... must start at 9 ...: ... gap or overlap
"""

from __future__ import annotations

import enum
import functools
import itertools
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from designpatterns_ref.clinical._bands import Band, BandTable
from designpatterns_ref.clinical._errors import ClinicalError, RulesetError
from designpatterns_ref.clinical._grid import Grid, is_resolution
from designpatterns_ref.clinical._vitals import ACVPU, Caution, Problem, Vitals, VitalsError
from designpatterns_ref.errors import shown

__all__ = [
    "ACVPU",
    "MAX_STEPS",
    "Band",
    "BandTable",
    "Caution",
    "Choice",
    "ChoiceRule",
    "ClinicalError",
    "Measure",
    "Misunit",
    "NumericRule",
    "Problem",
    "Risk",
    "Ruleset",
    "RulesetError",
    "Threshold",
    "Vitals",
    "VitalsError",
]


class Risk(enum.StrEnum):
    """The clinical risk category a score's total and red score select."""

    LOW = "low"
    LOW_MEDIUM = "low-medium"
    MEDIUM = "medium"
    HIGH = "high"


def _require(owner: object, field: str, value: object, ok: bool, what: str) -> None:
    """Refuse a rule-table field of the wrong kind with :class:`RulesetError`, naming it."""
    if not ok:
        raise RulesetError(f"{owner}: {field}={shown(value, 60)} must be {what}")


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _is_decimal(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def _is_tuple_of(value: object, kinds: type | tuple[type, ...]) -> bool:
    return isinstance(value, tuple) and all(isinstance(v, kinds) for v in value)


#: The most steps of its resolution a measure's possible range may hold.
MAX_STEPS = 1_000_000


@dataclass(frozen=True, slots=True)
class Misunit:
    """A range of values that betrays a wrong unit, with the hint to give."""

    low: Decimal
    high: Decimal
    hint: str


@dataclass(frozen=True, slots=True)
class Measure:
    """A numeric input: its unit, printed resolution and plausible range.

    Values outside ``[impossible_below, impossible_above]`` (as sent) are rejected
    as physically impossible; a value is scored as the nearest multiple of ``resolution``
    (half-up), and one whose scored value lies outside ``[extreme_below, extreme_above]`` is
    scored with a :class:`Caution`. ``misunits`` are checked first, so ``98.6`` for a
    temperature is reported as Fahrenheit rather than as merely impossible.

    Any positive resolution works, not only a power of ten: read to ``0.5``, 38.3 is scored
    as 38.5; read to ``2``, 95 is scored as 96. The possible range may hold at most
    :data:`MAX_STEPS` steps of it (the engine tables every step), else :class:`RulesetError`.
    """

    name: str
    label: str
    unit: str
    resolution: Decimal
    impossible_below: Decimal
    impossible_above: Decimal
    extreme_below: Decimal
    extreme_above: Decimal
    example: str
    misunits: tuple[Misunit, ...] = ()

    def __post_init__(self) -> None:
        owner = f"Measure {shown(self.name, 40)}"
        for name in ("name", "label", "unit", "example"):
            _require(owner, name, getattr(self, name), _is_text(getattr(self, name)), "a str")
        for name in ("resolution", "impossible_below", "impossible_above", "extreme_below",
                     "extreme_above"):  # fmt: skip
            value = getattr(self, name)
            _require(owner, name, value, _is_decimal(value), "a finite Decimal")
        res = self.resolution
        _require(owner, "resolution", res, is_resolution(res),
                 "positive, with at most 40 digits and an exponent from -40 to 40")  # fmt: skip
        _require(owner, "misunits", self.misunits, _is_tuple_of(self.misunits, Misunit),
                 "a tuple of Misunit")  # fmt: skip
        lo, hi = self.impossible_below, self.impossible_above
        if Decimal(float(lo)) != lo or Decimal(float(hi)) != hi:
            raise RulesetError(f"{self.name}: the possible range must be exact in binary")
        if not lo <= self.extreme_below <= self.extreme_above <= hi:
            raise RulesetError(f"{self.name}: the extreme range must lie inside the possible one")
        grid = Grid.of(res)
        count = grid.steps(hi) - grid.steps(lo) + 1
        if count > MAX_STEPS:
            raise RulesetError(
                f"{self.name}: the possible range {lo}–{hi} read to {res} holds {count} steps; "
                f"at most {MAX_STEPS:,} (the engine tables the points of every step)"
            )
        for mis in self.misunits:
            if mis.high >= lo and mis.low <= hi:
                raise RulesetError(
                    f"{self.name}: misunit range {mis.low}–{mis.high} overlaps {lo}–{hi}"
                )

    @property
    def allowed(self) -> str:
        """The accepted range in words, for error messages."""
        return (
            f"a number of {self.unit} from {self.impossible_below} to {self.impossible_above}, "
            f"read to {self.resolution} (e.g. {self.example})"
        )


@dataclass(frozen=True, slots=True)
class Choice:
    """A categorical input: the canonical values and the spellings accepted for each."""

    name: str
    label: str
    options: Mapping[object, object]
    allowed: str
    strict_type: type | None = None

    def __post_init__(self) -> None:
        owner = f"Choice {shown(self.name, 40)}"
        for name in ("name", "label", "allowed"):
            _require(owner, name, getattr(self, name), _is_text(getattr(self, name)), "a str")
        has_options = isinstance(self.options, Mapping) and bool(self.options)
        _require(owner, "options", self.options, has_options, "a non-empty mapping")
        _require(owner, "strict_type", self.strict_type,
                 self.strict_type in (None, bool, int, str), "None, bool, int or str")  # fmt: skip


@dataclass(frozen=True, slots=True)
class NumericRule:
    """Score one numeric input through a band table chosen by other inputs.

    ``selected_by`` names the inputs whose values pick the table (SpO2 reads its scale and
    whether the patient is on oxygen); ``tables`` maps those values, as a tuple, to a table.
    """

    parameter: str
    measure: str
    tables: Mapping[tuple[object, ...], BandTable]
    selected_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        owner = f"NumericRule {shown(self.parameter, 40)}"
        for name in ("parameter", "measure"):
            _require(owner, name, getattr(self, name), _is_text(getattr(self, name)), "a str")
        _require(owner, "selected_by", self.selected_by, _is_tuple_of(self.selected_by, str),
                 "a tuple of input names")  # fmt: skip
        _require(
            owner, "tables", self.tables,
            isinstance(self.tables, Mapping) and bool(self.tables)
            and all(isinstance(k, tuple) and len(k) == len(self.selected_by)
                    and isinstance(t, BandTable) for k, t in self.tables.items()),
            "a non-empty mapping of value tuples (one per selected_by input) to BandTables",
        )  # fmt: skip

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every input the rule reads."""
        return (self.measure, *self.selected_by)

    def table(self, values: Mapping[str, object]) -> BandTable:
        """The band table for these inputs."""
        return self.tables[tuple(values[name] for name in self.selected_by)]


@dataclass(frozen=True, slots=True)
class ChoiceRule:
    """Score one categorical input by a fixed number of points per option."""

    parameter: str
    measure: str
    points: Mapping[object, int]
    labels: Mapping[object, str]

    def __post_init__(self) -> None:
        owner = f"ChoiceRule {shown(self.parameter, 40)}"
        for name in ("parameter", "measure"):
            _require(owner, name, getattr(self, name), _is_text(getattr(self, name)), "a str")
        _require(
            owner, "points", self.points,
            isinstance(self.points, Mapping) and bool(self.points)
            and all(type(p) is int and 0 <= p <= 3 for p in self.points.values()),
            "a non-empty mapping of option to points (0 to 3)",
        )  # fmt: skip
        _require(owner, "labels", self.labels, isinstance(self.labels, Mapping),
                 "a mapping of option to label")  # fmt: skip

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every input the rule reads."""
        return (self.measure,)


@dataclass(frozen=True, slots=True)
class Threshold:
    """A row of the trigger chart: applies when the total reaches ``min_total``.

    With ``red_score=True`` it applies only when a single parameter scored 3. The engine
    takes the first row that applies, so rows go from the most to the least urgent.
    """

    name: str
    min_total: int
    risk: Risk
    monitoring: str
    response: tuple[str, ...]
    red_score: bool = False

    def __post_init__(self) -> None:
        owner = f"Threshold {shown(self.name, 40)}"
        for name in ("name", "monitoring"):
            _require(owner, name, getattr(self, name), _is_text(getattr(self, name)), "a str")
        total_ok = type(self.min_total) is int and 0 <= self.min_total <= 1000
        _require(owner, "min_total", self.min_total, total_ok, "an int from 0 to 1000")
        _require(owner, "risk", self.risk, isinstance(self.risk, Risk), "a Risk")
        _require(owner, "response", self.response, _is_tuple_of(self.response, str),
                 "a tuple of str")  # fmt: skip
        _require(owner, "red_score", self.red_score, isinstance(self.red_score, bool),
                 "True or False")  # fmt: skip


def _options(where: str, spec: Measure | Choice, role: str) -> list[object]:
    if not isinstance(spec, Choice):
        raise RulesetError(f"{where}: {role} {shown(spec.name)} must be a Choice, not a Measure")
    return list(dict.fromkeys(spec.options.values()))  # the canonical values, in order


def _check_covered(name: str, rule: NumericRule | ChoiceRule, specs: dict[str, Any]) -> None:
    """Refuse a rule that cannot score some valid input: a NumericRule needs a table for
    exactly each combination of its selectors' options, a ChoiceRule points for every option."""
    where = f"{name}: rule {rule.parameter!r}"
    if isinstance(rule, ChoiceRule):
        missing = [o for o in _options(where, specs[rule.measure], "input") if o not in rule.points]
        if missing:
            raise RulesetError(f"{where} has no points for {rule.measure} {missing}")
        return
    measure = specs[rule.measure]
    if not isinstance(measure, Measure):
        raise RulesetError(f"{where}: input {shown(rule.measure)} must be a Measure, not a Choice")
    for key, table in rule.tables.items():
        # Values are quantised to the measure's resolution and then looked up: a table printed
        # coarser (whole degrees for a measure read to 0.1) leaves 35.4 between its bands,
        # and a finer one has bands no quantised value reaches.
        if table.resolution != measure.resolution:
            raise RulesetError(
                f"{where}: the table for {key!r} is printed to {table.resolution}, but "
                f"{measure.name} is read to {measure.resolution}; they must be the same"
            )
    wanted = list(
        itertools.product(*(_options(where, specs[n], "selector") for n in rule.selected_by))
    )
    missing, extra = [k for k in wanted if k not in rule.tables], set(rule.tables) - set(wanted)
    faults = [f"no table for {k!r}" for k in missing] + [
        f"a table for {k!r}, which is not a combination of the options" for k in extra
    ]
    if faults:
        by = ", ".join(rule.selected_by) or "nothing"
        raise RulesetError(f"{where} selected by {by}: {'; '.join(faults)}")


def _check_reachable(ruleset: Ruleset) -> None:
    """Refuse a trigger row that is never the first to apply, whatever the score: the engine
    takes the first row that applies, so an emergency row (7+) after an urgent one (5+) would
    leave a total of 18 at "urgent". Judged on every total the rules can give, with and
    without a red score (a single 3, so a total of at least 3)."""
    top = ruleset.max_total
    reached = {
        next(i for i, row in enumerate(ruleset.thresholds)
             if total >= row.min_total and (red or not row.red_score))
        for red in (False, True) for total in range(3 if red else 0, top + 1)
    }  # fmt: skip
    for i, row in enumerate(ruleset.thresholds):
        if i not in reached:
            raise RulesetError(
                f"{ruleset.name}: threshold {row.name!r} (from {row.min_total}"
                f"{', red score' if row.red_score else ''}) never applies: the rows before it "
                f"take every total it covers, up to the highest, {top} (rows go from the most "
                "to the least urgent)"
            )


def _check_defaults(ruleset: Ruleset) -> None:
    """Refuse a default that names no input, or that its input would refuse: the engine uses
    it whenever a caller leaves the field out, so a bad one would be blamed on every caller."""
    from designpatterns_ref.clinical.engine import check_choice, check_number  # imports base

    specs = {i.name: i for i in ruleset.inputs}
    for name, value in ruleset.defaults.items():
        spec = specs.get(name) if isinstance(name, str) else None
        if spec is None:
            raise RulesetError(
                f"{ruleset.name}: defaults names {shown(name, 60)}, which is no input "
                f"(inputs: {', '.join(specs)})"
            )
        if value is None:
            raise RulesetError(
                f"{ruleset.name}: defaults[{name!r}] is None; leave the input out of defaults "
                "to make it required"
            )
        check = check_number if isinstance(spec, Measure) else check_choice
        _, problem = check(spec, value)  # type: ignore[arg-type]
        if problem is not None:
            raise RulesetError(f"{ruleset.name}: defaults[{name!r}]: {problem}")


@dataclass(frozen=True, eq=False)
class Ruleset:
    """One complete early warning score: inputs, band rules and trigger thresholds.

    Checked when built, else :class:`RulesetError`: every band table is printed to the
    resolution its measure is read to; ``defaults`` maps input names to values those inputs
    take (a caller who leaves the field out gets the default, so a bad one would be refused
    on every request); the thresholds go from the most to the least urgent, every row the
    first to apply for some total, and the last applies to every total.
    """

    name: str
    title: str
    source: str
    inputs: tuple[Measure | Choice, ...]
    defaults: Mapping[str, object]
    rules: tuple[NumericRule | ChoiceRule, ...]
    thresholds: tuple[Threshold, ...]

    def __post_init__(self) -> None:
        owner = f"Ruleset {shown(self.name, 40)}"
        for name in ("name", "title", "source"):
            _require(owner, name, getattr(self, name), _is_text(getattr(self, name)), "a str")
        _require(owner, "inputs", self.inputs, _is_tuple_of(self.inputs, (Measure, Choice)),
                 "a tuple of Measure and Choice")  # fmt: skip
        _require(owner, "defaults", self.defaults, isinstance(self.defaults, Mapping),
                 "a mapping of input name to value")  # fmt: skip
        _require(owner, "rules", self.rules, _is_tuple_of(self.rules, (NumericRule, ChoiceRule)),
                 "a tuple of NumericRule and ChoiceRule")  # fmt: skip
        _require(owner, "thresholds", self.thresholds, _is_tuple_of(self.thresholds, Threshold),
                 "a tuple of Threshold")  # fmt: skip
        known = {i.name for i in self.inputs}
        if len(known) != len(self.inputs):
            raise RulesetError(f"{self.name}: two inputs share a name")
        for name in known:
            # Input names are keyword arguments (of news2.score and of the compiled fast path)
            # and JSON fields: lower-case identifiers, so they cannot clash with anything else.
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
                raise RulesetError(
                    f"{self.name}: input name {shown(name)} must be a lower-case Python identifier"
                )
        for rule in self.rules:
            unknown = set(rule.inputs) - known
            if unknown:
                raise RulesetError(f"{self.name}: rule {rule.parameter} reads unknown {unknown}")
            _check_covered(self.name, rule, {i.name: i for i in self.inputs})
        last = self.thresholds[-1] if self.thresholds else None
        if last is None or last.min_total != 0 or last.red_score:
            raise RulesetError(f"{self.name}: the last threshold must apply to every total")
        _check_reachable(self)
        _check_defaults(self)

    @functools.cached_property
    def input_names(self) -> tuple[str, ...]:
        """The names of every input, in chart order."""
        return tuple(i.name for i in self.inputs)

    @property
    def required(self) -> tuple[str, ...]:
        """The inputs that have no default: a full score needs every one."""
        return tuple(i.name for i in self.inputs if i.name not in self.defaults)

    @property
    def max_total(self) -> int:
        """The highest total the rules can give."""
        best = 0
        for rule in self.rules:
            if isinstance(rule, NumericRule):
                best += max(b.points for t in rule.tables.values() for b in t.bands)
            else:
                best += max(rule.points.values())
        return best

    def threshold(self, total: int, red_score: bool) -> Threshold:
        """The first trigger row that applies to this total and red score."""
        if (
            isinstance(total, bool)
            or not isinstance(total, int)
            or not 0 <= total <= self.max_total
        ):
            raise ClinicalError(
                f"threshold: total={shown(total, 60)} must be an int from 0 to {self.max_total}"
            )
        if red_score is not True and red_score is not False:
            raise ClinicalError(
                f"threshold: red_score={shown(red_score, 60)} must be True or False"
            )
        for row in self.thresholds:
            if total >= row.min_total and (red_score or not row.red_score):
                return row
        raise AssertionError("unreachable: the last threshold applies to every total")
