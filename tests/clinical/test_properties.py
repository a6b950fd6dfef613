"""Invariants a reader should trust, checked by hypothesis."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.clinical import (
    ACVPU,
    NEWS2,
    NEWS_2012,
    RULESETS,
    Risk,
    ScoreResult,
    VitalsError,
    assess,
    news2,
    news2012,
)
from designpatterns_ref.clinical.base import (
    BandTable,
    Measure,
    NumericRule,
    RulesetError,
    Threshold,
)
from designpatterns_ref.clinical.compiled import float_steps as _float_steps
from designpatterns_ref.clinical.engine import check_number, quantise

MEASURES = {i.name: i for i in NEWS2.inputs if isinstance(i, Measure)}
NUMERIC_RULES = [
    (rs.name, r, key, table)
    for rs in RULESETS.values()
    for r in rs.rules
    if isinstance(r, NumericRule)
    for key, table in r.tables.items()
]


def steps_strategy(m: Measure) -> st.SearchStrategy[Decimal]:
    """Every value the chart can print, from the lowest to the highest possible."""
    lo, hi = (int(v / m.resolution) for v in (m.impossible_below, m.impossible_above))
    return st.integers(lo, hi).map(lambda n: Decimal(n) * m.resolution)


@pytest.mark.parametrize(
    ("ruleset", "rule", "key", "table"), NUMERIC_RULES,
    ids=[f"{n}-{r.parameter}-{k}" for n, r, k, _ in NUMERIC_RULES],
)  # fmt: skip
@given(data=st.data())
def test_every_plausible_value_is_in_exactly_one_band(
    ruleset: str, rule: NumericRule, key: tuple[object, ...], table: BandTable, data: st.DataObject
) -> None:
    m = MEASURES[rule.measure]
    value = data.draw(steps_strategy(m))
    holding = [b for b in table.bands if b.contains(value)]
    assert len(holding) == 1
    assert table.band(value) is holding[0]
    # ... and the engine's fast path agrees with the chart.
    rs = RULESETS[ruleset]
    raw = {"respiration_rate": 16, "spo2": 97, "systolic_bp": 120, "pulse": 70,
           "consciousness": "A", "temperature": 37.0}  # fmt: skip
    raw.update(zip(rule.selected_by, key, strict=True))
    raw[rule.measure] = int(value) if m.resolution == 1 else float(value)
    assert assess(rs, raw).subscores[rule.parameter] == holding[0].points


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.sampled_from([1, 10]))
def test_float_fast_path_equals_decimal_half_up(x: float, per_unit: int) -> None:
    fast = _float_steps(x, per_unit)
    exact = Decimal(repr(x)).scaleb(len(str(per_unit)) - 1).quantize(Decimal(1), ROUND_HALF_UP)
    if fast is not None:
        assert fast == int(exact)


@given(st.integers(-(10**6), 10**6), st.sampled_from([1, 10]))
def test_ties_are_rounded_half_up(n: int, per_unit: int) -> None:
    x = (n + 0.5) / per_unit  # a tie, as the caller would type it
    expected = int(
        Decimal(repr(x)).scaleb(len(str(per_unit)) - 1).quantize(Decimal(1), ROUND_HALF_UP)
    )
    fast = _float_steps(x, per_unit)
    assert fast is None or fast == expected
    assert quantise(x, Decimal(1) / per_unit) * per_unit == expected


@given(st.sampled_from(sorted(MEASURES)), st.data())
def test_engine_echo_equals_quantise_of_the_input(name: str, data: st.DataObject) -> None:
    m = MEASURES[name]
    x = data.draw(st.floats(float(m.impossible_below), float(m.impossible_above)))
    raw = {"respiration_rate": 16, "spo2": 97, "systolic_bp": 120, "pulse": 70,
           "consciousness": "A", "temperature": 37.0, name: x}  # fmt: skip
    q = quantise(x, m.resolution)
    r = assess(NEWS2, raw)
    assert Decimal(repr(r.values[name])) == q
    value, problem = check_number(m, x)
    assert problem is None and value == q


vital = st.fixed_dictionaries(
    {
        "respiration_rate": st.integers(0, 100) | st.floats(0, 100),
        "spo2": st.integers(20, 100),
        "spo2_scale": st.sampled_from([1, 2]),
        "on_oxygen": st.booleans(),
        "systolic_bp": st.integers(20, 350),
        "pulse": st.integers(20, 350),
        "consciousness": st.sampled_from([*"ACVPU", *ACVPU]),
        "temperature": st.floats(10.0, 47.0),
    }
)


@given(vital)
def test_total_risk_and_response_are_consistent(raw: dict[str, object]) -> None:
    r = assess(NEWS2, raw)
    assert r.total == sum(r.subscores.values())
    assert 0 <= r.total <= 20
    assert r.red_score == (3 in r.subscores.values())
    expected = (
        Risk.HIGH if r.total >= 7 else Risk.MEDIUM if r.total >= 5
        else Risk.LOW_MEDIUM if r.red_score else Risk.LOW
    )  # fmt: skip
    assert r.risk is expected
    assert r.monitoring and r.response


@given(vital, st.sets(st.sampled_from(NEWS2.required), min_size=1))
def test_a_partial_total_is_a_lower_bound(raw: dict[str, object], drop: set[str]) -> None:
    full = assess(NEWS2, raw)
    part = assess(NEWS2, {k: v for k, v in raw.items() if k not in drop}, partial=True)
    assert part.partial and part.risk is None and set(part.missing) == drop
    assert part.total <= full.total
    with pytest.raises(VitalsError) as info:
        assess(NEWS2, {k: v for k, v in raw.items() if k not in drop})
    assert set(info.value.fields) == drop


bad = st.one_of(st.booleans(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                st.just(float("nan")), st.just(float("inf")), st.floats(1e5, 1e9))  # fmt: skip


@given(
    vital, st.sampled_from(["respiration_rate", "spo2", "systolic_bp", "pulse", "temperature"]), bad
)
def test_an_invalid_value_is_never_scored(
    raw: dict[str, object], field: str, value: object
) -> None:
    with pytest.raises(VitalsError) as info:
        assess(NEWS2, {**raw, field: value})
    assert field in info.value.fields


@given(vital)
def test_news2012_and_news2_agree_where_the_charts_agree(raw: dict[str, object]) -> None:
    raw = {**raw, "spo2_scale": 1}
    if raw["consciousness"] == "C":
        raw["consciousness"] = "V"
    old = assess(NEWS_2012, {k: v for k, v in raw.items() if k != "spo2_scale"})
    assert old.subscores == assess(NEWS2, raw).subscores


# -- the extension point: a local variant is data, the engine is untouched ------------------


def test_a_local_variant_is_a_new_ruleset_value() -> None:
    # A hypothetical local policy: escalate to "medium" from a total of 4.
    local = dataclasses.replace(
        NEWS2,
        name="news2-local",
        thresholds=(
            *NEWS2.thresholds[:2],  # emergency (7+) and urgent (5+) come first
            Threshold("local urgent response", 4, Risk.MEDIUM, "Minimum 1 hourly", ("Call",)),
            *NEWS2.thresholds[2:],
        ),
    )  # fmt: skip
    raw = {"respiration_rate": 22, "spo2": 95, "systolic_bp": 120, "pulse": 95,
           "consciousness": "A", "temperature": 37.0}  # fmt: skip
    assert assess(NEWS2, raw).risk is Risk.LOW
    r = assess(local, raw)
    assert (r.ruleset, r.total, r.risk, r.threshold) == (
        "news2-local",
        4,
        Risk.MEDIUM,
        "local urgent response",
    )


def test_a_table_with_a_gap_or_overlap_is_refused_when_built() -> None:
    with pytest.raises(RulesetError, match="gap or overlap"):
        BandTable.of("1", [(None, "8", 3), ("8", None, 0)])
    with pytest.raises(RulesetError, match="gap or overlap"):
        BandTable.of("0.1", [(None, "35.0", 3), ("35.2", None, 0)])
    with pytest.raises(RulesetError):
        BandTable.of("1", [("1", "8", 3), ("9", None, 0)])
    with pytest.raises(RulesetError, match="last threshold"):
        dataclasses.replace(NEWS2, thresholds=NEWS2.thresholds[:-1])
    with pytest.raises(RulesetError, match="unknown"):
        dataclasses.replace(NEWS2, inputs=NEWS2.inputs[:1])


anything = st.one_of(
    st.integers(), st.floats(), st.decimals(), st.booleans(), st.none(), st.text(max_size=4),
    st.binary(max_size=4), st.lists(st.integers(), max_size=2), st.sampled_from(list("ACVPU")),
)  # fmt: skip


@given(st.dictionaries(st.sampled_from([*NEWS2.input_names, "extra"]), anything), st.booleans())
def test_any_input_gives_a_result_or_a_vitals_error(raw: dict[str, object], partial: bool) -> None:
    try:
        r = assess(NEWS2, raw, partial=partial)
    except VitalsError as err:
        assert err.problems and all(p.field in raw or p.value is None for p in err.problems)
    else:
        assert r.partial == bool(r.missing)
        assert 0 <= r.total <= 20


@pytest.mark.parametrize("ruleset", [NEWS2, NEWS_2012], ids=["news2", "news2012"])
@given(raw=st.one_of(vital, st.dictionaries(st.sampled_from([*NEWS2.input_names, "x"]), anything)))
def test_the_compiled_fast_path_agrees_with_the_interpreter(
    ruleset: object, raw: dict[str, object]
) -> None:
    if ruleset is NEWS_2012:
        raw.pop("spo2_scale", None)

    def run(fast: bool) -> object:
        try:
            return assess(ruleset, raw, use_fast_path=fast)  # type: ignore[arg-type]
        except VitalsError as err:
            return err.problems

    assert run(True) == run(False)


@given(vital)
def test_the_fast_path_answers_the_common_case(raw: dict[str, object]) -> None:
    from designpatterns_ref.clinical.compiled import compile_fast_path

    fast = compile_fast_path(NEWS2)(**raw)
    general = assess(NEWS2, raw, use_fast_path=False)
    if fast is None:  # only for extreme values (a caution) or a float within a hair of a tie
        near_tie = any(
            isinstance(x, float) and _float_steps(x, int(1 / MEASURES[k].resolution)) is None
            for k, x in raw.items()
            if k in MEASURES
        )
        assert general.cautions or near_tie
    else:
        assert fast == general
        assert fast.as_dict() == general.as_dict()


keyword_values = st.one_of(
    anything, st.sampled_from(list(ACVPU)), st.sampled_from(["alert", " New Confusion ", "x"]),
    st.integers(0, 400), st.floats(0, 400), st.decimals("0", "400", places=2),
    st.sampled_from([98.6, 310.0, 0.95, 38.05, 24.5, 35.05, 36.95]),
)  # fmt: skip


@pytest.mark.parametrize("module", [news2, news2012], ids=["news2", "news2012"])
@given(
    st.dictionaries(st.sampled_from(NEWS2.input_names), keyword_values) | vital,
    st.booleans(),
)
def test_score_agrees_with_the_interpreter_on_any_keywords(
    module: ModuleType, raw: dict[str, object], partial: bool
) -> None:
    """``score(**kw)`` (its own compiled call, no dictionary) against the rules read one by
    one: the same result, or the same problems, for valid and invalid input alike."""
    if module is news2012:
        raw.pop("spo2_scale", None)

    def run(call: Callable[[], ScoreResult]) -> object:
        try:
            result = call()
        except VitalsError as err:
            return err.problems
        return result, result.as_dict()

    by_keywords = run(lambda: module.score(**raw, partial=partial))
    interpreted = run(lambda: assess(module.RULESET, raw, partial=partial, use_fast_path=False))
    assert by_keywords == interpreted


@given(vital)
def test_a_compact_result_equals_the_same_result_built_from_dicts(raw: dict[str, object]) -> None:
    r = assess(NEWS2, raw)
    rebuilt = ScoreResult(
        r.ruleset, r.total, dict(r.subscores), r.red_score, r.risk, r.monitoring, r.response,
        dict(r.values), r.partial, r.missing, r.cautions, r.threshold,
    )  # fmt: skip
    fresh = assess(NEWS2, raw)  # mappings not yet read
    assert fresh == rebuilt and rebuilt == fresh and repr(fresh) == repr(rebuilt)
    assert pickle.loads(pickle.dumps(fresh)) == fresh == copy.deepcopy(fresh)


def test_any_ruleset_name_compiles() -> None:
    odd = dataclasses.replace(NEWS2, name="local variant 2.1 (ward 7)")
    raw = {"respiration_rate": 18, "spo2": 96, "systolic_bp": 120, "pulse": 70,
           "consciousness": "A", "temperature": 37.0}  # fmt: skip
    assert assess(odd, raw).ruleset == "local variant 2.1 (ward 7)"


def test_transient_rulesets_leave_no_plan_behind() -> None:
    """A ruleset built per request (a local variant) has its plan compiled on first use; when
    the ruleset goes, so does its plan: a thousand of them leave the cache as it was, while a
    ruleset still in use keeps its plan."""
    import gc
    import weakref

    from designpatterns_ref.clinical import engine

    raw = {"respiration_rate": 18, "spo2": 96, "systolic_bp": 120, "pulse": 70,
           "consciousness": "A", "temperature": 37.0}  # fmt: skip
    assess(NEWS2, raw)
    kept = engine._plan(NEWS2)
    before = len(engine._PLANS)
    gone: list[weakref.ref[object]] = []
    for i in range(1000):
        variant = dataclasses.replace(NEWS2, name=f"ward {i}")
        assert assess(variant, raw).total == assess(NEWS2, raw).total
        gone.append(weakref.ref(variant))
    del variant
    gc.collect()
    assert len(engine._PLANS) <= before
    assert not any(ref() is not None for ref in gone)
    assert engine._plan(NEWS2) is kept
