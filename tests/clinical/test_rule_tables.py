"""Rule tables that cannot be scored are refused when built, never at the bedside."""

from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal
from types import MappingProxyType

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clinical import NEWS2, NEWS_2012, assess
from designpatterns_ref.clinical.base import (
    BandTable,
    ChoiceRule,
    NumericRule,
    Risk,
    RulesetError,
    Threshold,
)

# -- band edges on the resolution's grid -----------------------------------------------------

_STEPS = st.sampled_from(["1", "0.1", "0.5", "0.25", "2", "0.01"])
_OFFSETS = st.sampled_from(["0", "0", "0.5", "0.05", "0.001", "1E-20", "-0.3", "1", "3"])


@given(
    step=_STEPS,
    indices=st.lists(st.integers(-400, 400), min_size=1, max_size=6, unique=True).map(sorted),
    which=st.integers(0, 5),
    offset=_OFFSETS,
    data=st.data(),
)
@example(step="0.1", indices=[350], which=0, offset="0.5", data=None)  # 35.05 / 35.15
@example(step="1", indices=[8, 11], which=1, offset="0.5", data=None)
@settings(max_examples=150)
def test_edges_off_the_grid_are_refused_and_on_grid_tables_look_up_exactly(
    step: str, indices: list[int], which: int, offset: str, data: st.DataObject | None
) -> None:
    """Contiguous bands whose one boundary is moved by ``offset`` steps: accepted exactly when
    the moved edges stay on the grid; then every grid value falls in the one band holding it."""
    res = Decimal(step)
    shift = Decimal(offset) * res
    which %= len(indices)
    highs = [i * res + (shift if n == which else 0) for n, i in enumerate(indices)]
    rows: list[tuple[str | None, str | None, int]] = []
    low: str | None = None
    for n, high in enumerate(highs):
        rows.append((low, str(high), n % 4))
        low = str(high + res)
    rows.append((low, None, 1))
    on_grid = (shift / res) == (shift / res).to_integral_value()
    # a shift of whole steps may make a band empty (then it is refused as empty)
    bounds = [(None if lo is None else Decimal(lo), None if hi is None else Decimal(hi))
              for lo, hi, _ in rows]  # fmt: skip
    empty = any(lo is not None and hi is not None and hi < lo for lo, hi in bounds)
    if not on_grid or empty:
        with pytest.raises(RulesetError):
            BandTable.of(step, rows)
        return
    table = BandTable.of(step, rows)
    lo_i, hi_i = min(indices) - 4, max(indices) + 4 + int(Decimal(offset))
    for k in range(lo_i, hi_i + 1):
        value = k * res
        holding = [b for b in table.bands if b.contains(value)]
        assert len(holding) == 1, (value, table.bands)
        assert table.band(value) == holding[0]


def test_the_reviewed_off_grid_table_is_refused_naming_the_edge() -> None:
    """Regression: 35.05/35.15 at 0.1 was accepted and 35.1 fell in no band."""
    with pytest.raises(RulesetError, match=r"35\.05.*multiple of the resolution 0\.1"):
        BandTable.of("0.1", [(None, "35.05", 3), ("35.15", None, 0)])


@given(
    edge=st.decimals(allow_nan=False, allow_infinity=False).map(str).filter(lambda s: len(s) <= 40)
)
@example(edge="1E+999999")  # the quotient by 0.1 has a million digits
@example(edge="1E-999999")
@example(edge="35.05")
@settings(max_examples=100)
def test_any_printed_edge_is_judged_exactly(edge: str) -> None:
    """A single edge (the next band starts ``0.1`` later, computed exactly as text) is accepted
    exactly when it is a whole number of tenths, judged by exact fractions; never an exception
    other than RulesetError, whatever the exponent."""
    from fractions import Fraction

    d = Decimal(edge)
    small = abs(d.adjusted()) < 30  # Fraction of 1E+999999 would take a long time: skip the oracle
    try:
        table = BandTable.of("0.1", [(None, edge, 3), (str(d + Decimal("0.1")), None, 0)])
    except RulesetError:
        if small:
            assert (Fraction(d) * 10).denominator != 1 or d.adjusted() > 25, edge
        return
    assert (Fraction(d) * 10).denominator == 1, edge
    assert table.points(d) == 3 and table.points(d + Decimal("0.1")) == 0


def test_contiguity_is_judged_exactly_far_from_zero() -> None:
    """1E+35 + 0.1 rounds back to 1E+35 at 28 digits: the overlap must still be seen."""
    with pytest.raises(RulesetError, match="gap or overlap"):
        BandTable.of("0.1", [(None, "1E+35", 3), ("1E+35", None, 0)])
    exact = "1" + "0" * 35 + ".1"
    table = BandTable.of("0.1", [(None, "1E+35", 3), (exact, None, 0)])
    assert table.points(Decimal(exact)) == 0


# -- every rule covers every valid input -----------------------------------------------------

_SPO2_RULE = next(r for r in NEWS2.rules if r.parameter == "spo2")
_PAIRS = sorted(_SPO2_RULE.tables, key=repr)


def _with_rule(old: object, new: object) -> object:
    return dataclasses.replace(
        NEWS2, name="local", rules=tuple(new if r is old else r for r in NEWS2.rules)
    )


@given(drop=st.sets(st.sampled_from(_PAIRS), min_size=1))
@example(drop={(2, True)})  # assess once raised a bare KeyError for it
@settings(max_examples=30)
def test_a_numeric_rule_missing_a_selector_combination_is_refused(
    drop: set[tuple[object, ...]],
) -> None:
    tables = {k: t for k, t in _SPO2_RULE.tables.items() if k not in drop}
    if not tables:  # NumericRule itself refuses an empty mapping
        with pytest.raises(RulesetError):
            dataclasses.replace(_SPO2_RULE, tables=MappingProxyType(tables))
        return
    gappy = dataclasses.replace(_SPO2_RULE, tables=MappingProxyType(tables))
    with pytest.raises(RulesetError) as info:
        _with_rule(_SPO2_RULE, gappy)
    message = str(info.value)
    assert "spo2" in message and "spo2_scale" in message and "on_oxygen" in message
    for pair in drop:
        assert repr(pair) in message


def test_a_table_for_no_valid_combination_is_refused() -> None:
    extra = dataclasses.replace(
        _SPO2_RULE,
        tables=MappingProxyType({**_SPO2_RULE.tables, (3, False): _SPO2_RULE.tables[(1, False)]}),
    )
    with pytest.raises(RulesetError, match=r"\(3, False\)"):
        _with_rule(_SPO2_RULE, extra)


_CHOICE_RULES = [r for r in NEWS2.rules if isinstance(r, ChoiceRule)]


@pytest.mark.parametrize("rule", _CHOICE_RULES, ids=lambda r: r.parameter)
def test_a_choice_rule_missing_an_option_is_refused(rule: ChoiceRule) -> None:
    for option in rule.points:
        points = {k: v for k, v in rule.points.items() if k != option}
        if not points:
            continue
        gappy = dataclasses.replace(rule, points=MappingProxyType(points))
        with pytest.raises(RulesetError, match=rf"{rule.parameter}.*{option!r}"):
            _with_rule(rule, gappy)


def test_selectors_and_measures_must_be_the_right_kind_of_input() -> None:
    pulse = next(r for r in NEWS2.rules if r.parameter == "pulse")
    by_choice = NumericRule("pulse", "consciousness", pulse.tables)
    with pytest.raises(RulesetError, match=r"pulse.*consciousness.*Measure"):
        _with_rule(pulse, by_choice)
    by_number = dataclasses.replace(
        _SPO2_RULE,
        selected_by=("spo2_scale", "pulse"),
        tables=MappingProxyType(
            {(s, p): t for (s, _), t in _SPO2_RULE.tables.items() for p in (70,)}
        ),
    )
    with pytest.raises(RulesetError, match=r"spo2.*pulse.*Choice"):
        _with_rule(_SPO2_RULE, by_number)
    acvpu = _CHOICE_RULES[-1]
    with pytest.raises(RulesetError, match="Choice"):
        _with_rule(acvpu, dataclasses.replace(acvpu, measure="pulse"))


def test_the_shipped_rulesets_and_every_combination_score() -> None:
    """Every selector combination of every shipped rule is scored (no KeyError anywhere)."""
    base = {"respiration_rate": 18, "spo2": 95, "systolic_bp": 120, "pulse": 70,
            "consciousness": "A", "temperature": 37.0}  # fmt: skip
    for scale, oxygen in itertools.product((1, 2), (False, True)):
        assert assess(NEWS2, {**base, "spo2_scale": scale, "on_oxygen": oxygen}).total >= 0
    for option in ("A", "V", "P", "U"):
        assert assess(NEWS_2012, {**base, "consciousness": option}).total >= 0


# -- every table at its measure's resolution -------------------------------------------------

_TEMPERATURE_RULE = next(r for r in NEWS2.rules if r.parameter == "temperature")


@given(st.sampled_from(["1", "0.1", "0.10", "0.5", "0.2", "2", "0.01"]))
@example("1")  # whole degrees: 35.4 fell between ≤36 and 37+ and scored 0, not 3
def test_a_table_printed_to_another_resolution_than_its_measure_is_refused(step: str) -> None:
    # Temperature is read to 0.1; the edge 36 is on every one of these grids.
    table = BandTable.of(step, [(None, "36", 3), (str(36 + Decimal(step)), None, 0)])
    rule = dataclasses.replace(_TEMPERATURE_RULE, tables=MappingProxyType({(): table}))
    if Decimal(step) != Decimal("0.1"):
        with pytest.raises(RulesetError, match=rf"temperature.*printed to {step}.*read to 0\.1"):
            _with_rule(_TEMPERATURE_RULE, rule)
        return
    variant = _with_rule(_TEMPERATURE_RULE, rule)
    for value, points in ((36.0, 3), (36.04, 3), (36.05, 0), (36.1, 0)):
        assert assess(variant, {"temperature": value}, partial=True).subscores["temperature"] == (
            points
        )


# -- defaults name inputs and hold values they take ------------------------------------------


@pytest.mark.parametrize(
    ("defaults", "named"),
    [
        ({"spo2_scale": 3}, "spo2_scale"),
        ({"on_oxygen": "yes"}, "on_oxygen"),
        ({"spo2_scale": 1, "on_oxygen": False, "spo2_scal": 2}, "spo2_scal"),  # a misspelt key
        ({"on_oxygen": None}, "on_oxygen"),
        ({"temperature": 98.6}, "temperature"),  # Fahrenheit
        ({"pulse": True}, "pulse"),
        ({7: 1}, "7"),
    ],
)
def test_a_default_no_request_could_send_is_refused_when_built(
    defaults: dict[object, object], named: str
) -> None:
    with pytest.raises(RulesetError, match=named):
        dataclasses.replace(NEWS2, name="local", defaults=MappingProxyType(defaults))


def test_a_valid_default_is_scored_when_the_field_is_left_out() -> None:
    scale2 = dataclasses.replace(
        NEWS2, name="local", defaults=MappingProxyType({"spo2_scale": 2, "on_oxygen": True})
    )
    r = assess(scale2, {"spo2": 93}, partial=True)
    assert (r.values["spo2_scale"], r.values["on_oxygen"], r.subscores["spo2"]) == (2, True, 1)


# -- every trigger row is the first to apply for some total ----------------------------------


def _first_rows(thresholds: tuple[Threshold, ...], top: int) -> set[str]:
    """The rows the first-match rule picks over every total to ``top``: with a red score
    (a single 3, so from 3) and without."""
    picked = set()
    for red in (False, True):
        for total in range(3 if red else 0, top + 1):
            picked.add(
                next(
                    t.name for t in thresholds if total >= t.min_total and (red or not t.red_score)
                )
            )
    return picked


@given(st.permutations(NEWS2.thresholds[:-1]), st.integers(0, 25), st.booleans())
@example(
    (NEWS2.thresholds[1], NEWS2.thresholds[0], *NEWS2.thresholds[2:-1]), 0, False
)  # urgent (5+) before emergency (7+): a total of 18 was "medium, urgent response"
@settings(max_examples=60)
def test_a_trigger_row_that_never_applies_is_refused_when_built(
    rows: list[Threshold], extra_total: int, extra_red: bool
) -> None:
    extra = Threshold("local row", extra_total, Risk.MEDIUM, "Hourly", ("Call",), extra_red)
    thresholds = (*rows, extra, NEWS2.thresholds[-1])
    unreachable = {t.name for t in thresholds} - _first_rows(thresholds, NEWS2.max_total)
    if unreachable:
        with pytest.raises(RulesetError, match="never applies"):
            dataclasses.replace(NEWS2, name="local", thresholds=thresholds)
        return
    variant = dataclasses.replace(NEWS2, name="local", thresholds=thresholds)
    assert {variant.threshold(t, red).name for t in range(21) for red in (False, True)} >= {
        t.name for t in thresholds
    }
