"""Safe before clever: bad input is reported in full and never scored."""

from __future__ import annotations

import copy
import json
import pickle
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from designpatterns_ref.clinical import (
    NEWS2,
    ClinicalError,
    Problem,
    ScoreResult,
    Vitals,
    VitalsError,
    assess,
    news2,
    news2012,
)
from designpatterns_ref.clinical.engine import quantise
from designpatterns_ref.errors import DesignPatternsError, shown

NORMAL = dict(
    respiration_rate=16, spo2=97, systolic_bp=120, pulse=70, consciousness="A", temperature=37.0
)


def vital_sign_inputs() -> st.SearchStrategy[dict[str, object]]:
    """Valid inputs, usual and extreme, on both paths."""
    return st.fixed_dictionaries(
        {
            "respiration_rate": st.integers(0, 100) | st.floats(0, 100),
            "spo2": st.integers(20, 100),
            "spo2_scale": st.sampled_from([1, 2]),
            "on_oxygen": st.booleans(),
            "systolic_bp": st.integers(20, 350),
            "pulse": st.integers(20, 350) | st.decimals(20, 350, places=1),
            "consciousness": st.sampled_from("ACVPU"),
            "temperature": st.floats(10.0, 47.0),
        }
    )


def problems(**change: object) -> dict[str, Problem]:
    with pytest.raises(VitalsError) as info:
        news2.score(**{**NORMAL, **change})  # type: ignore[arg-type]
    return {p.field: p for p in info.value.problems}


@pytest.mark.parametrize(
    "field", ["respiration_rate", "spo2", "systolic_bp", "pulse", "temperature"]
)
@pytest.mark.parametrize(
    ("value", "words"),
    [(True, "boolean"), (False, "boolean"), ("18", "string"), ([18], "array"),
     (float("nan"), "finite"), (float("inf"), "finite")],
)  # fmt: skip
def test_numbers_must_be_numbers(field: str, value: object, words: str) -> None:
    found = problems(**{field: value})
    assert list(found) == [field]
    assert words in found[field].message
    assert found[field].allowed  # says what is allowed


def test_fahrenheit_temperature_is_refused_with_a_hint() -> None:
    p = problems(temperature=98.6)["temperature"]
    assert "Fahrenheit" in p.message and "37.0" in p.message


def test_kelvin_temperature_is_refused_with_a_hint() -> None:
    assert "kelvin" in problems(temperature=310.15)["temperature"].message


@pytest.mark.parametrize("value", [0.95, 0.88, 1, 1.0, 0])
def test_spo2_as_a_fraction_is_refused_with_a_hint(value: float) -> None:
    assert "fraction" in problems(spo2=value)["spo2"].message


@pytest.mark.parametrize(
    ("field", "value"),
    [("spo2", 101), ("spo2", 10), ("temperature", 50.0), ("temperature", 5.0),
     ("temperature", -37.0), ("pulse", 0), ("pulse", 400), ("systolic_bp", 0),
     ("systolic_bp", 400), ("respiration_rate", -1), ("respiration_rate", 150),
     ("pulse", 1e300), ("temperature", Decimal("1e40"))],
)  # fmt: skip
def test_physically_impossible_values_are_refused(field: str, value: object) -> None:
    p = problems(**{field: value})[field]
    assert "impossible" in p.message or "Fahrenheit" in p.message
    assert "from" in p.allowed


@pytest.mark.parametrize(
    ("field", "value"),
    [("respiration_rate", 2), ("respiration_rate", 70), ("spo2", 60), ("systolic_bp", 55),
     ("systolic_bp", 280), ("pulse", 25), ("pulse", 240), ("temperature", 30.0),
     ("temperature", 43.0)],
)  # fmt: skip
def test_extreme_but_possible_values_are_scored_with_a_caution(field: str, value: object) -> None:
    r = news2.score(**{**NORMAL, field: value})  # type: ignore[arg-type]
    assert [c.field for c in r.cautions] == [field]
    assert "extreme" in r.cautions[0].message
    assert r.risk is not None


def test_usual_values_carry_no_caution() -> None:
    assert news2.score(**NORMAL).cautions == ()  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, 3, True, "1", 1.0, None])
def test_spo2_scale_is_1_or_2_only(value: object) -> None:
    if value is None:  # None means "not given": the default scale 1
        assert news2.score(**NORMAL, spo2_scale=value).values["spo2_scale"] == 1  # type: ignore[arg-type]
        return
    assert "spo2_scale" in problems(spo2_scale=value)


@pytest.mark.parametrize("value", [1, 0, "yes", "true", 2.0])
def test_on_oxygen_must_be_a_boolean(value: object) -> None:
    assert "on_oxygen" in problems(on_oxygen=value)


@pytest.mark.parametrize("value", ["X", "", "confused", 3, True])
def test_consciousness_must_be_acvpu(value: object) -> None:
    p = problems(consciousness=value)["consciousness"]
    assert "A, C, V, P, U" in p.allowed and "chronic confusion" in p.allowed


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(VitalsError) as info:
        news2.score(
            respiration_rate=True, spo2=0.94, spo2_scale=3, on_oxygen="no", systolic_bp="120",
            pulse=None, consciousness="Z", temperature=99.1,
        )  # fmt: skip
    err = info.value
    assert err.fields == (
        "respiration_rate", "spo2", "spo2_scale", "on_oxygen", "systolic_bp", "consciousness",
        "temperature", "pulse",
    )  # fmt: skip
    assert str(err).startswith("8 problems with the vital signs: respiration_rate=True")
    assert isinstance(err, ValueError) and isinstance(err, DesignPatternsError)
    assert isinstance(err, ClinicalError)
    for p in err.problems:
        assert p.as_dict()["field"] == p.field


def test_missing_parameters_give_no_total_unless_partial() -> None:
    with pytest.raises(VitalsError) as info:
        news2.score(respiration_rate=22, spo2=95)
    assert set(info.value.fields) == {"systolic_bp", "pulse", "consciousness", "temperature"}
    assert all("required" in p.message for p in info.value.problems)


def test_partial_scoring_is_marked_and_has_no_risk() -> None:
    r = news2.score(respiration_rate=26, spo2=95, partial=True)
    assert r.partial
    assert r.missing == ("systolic_bp", "pulse", "consciousness", "temperature")
    assert r.risk is None and r.monitoring is None and r.response == () and r.threshold is None
    assert r.subscores == {"respiration_rate": 3, "spo2": 1, "air_or_oxygen": 0}
    assert r.total == 4 and r.red_score


def test_partial_with_everything_present_is_a_full_score() -> None:
    r = news2.score(**NORMAL, partial=True)  # type: ignore[arg-type]
    assert not r.partial and r.risk is not None


def test_partial_still_refuses_invalid_values() -> None:
    with pytest.raises(VitalsError) as info:
        news2.score(respiration_rate=22, temperature=98.6, partial=True)
    assert info.value.fields == ("temperature",)


def test_invalid_input_changes_nothing() -> None:
    v = Vitals(**{**NORMAL, "pulse": True})  # type: ignore[arg-type]
    before = copy.deepcopy(v)
    with pytest.raises(VitalsError):
        news2.score(v)
    assert v == before
    assert news2.score(**NORMAL).total == 0  # type: ignore[arg-type]


def test_vitals_and_keywords_together_are_refused() -> None:
    with pytest.raises(ClinicalError, match="not both"):
        news2.score(Vitals(**NORMAL), pulse=80)  # type: ignore[arg-type]
    with pytest.raises(ClinicalError, match="Vitals"):
        news2.score({"pulse": 80})  # type: ignore[arg-type]


def test_decimal_and_int_subclass_inputs_are_numbers() -> None:
    r = news2.score(**{**NORMAL, "temperature": Decimal("38.05"), "pulse": Decimal("91")})  # type: ignore[arg-type]
    assert r.values["temperature"] == 38.1 and r.subscores["pulse"] == 1


class Reading(float):
    """A float subclass with a repr of its own, as numpy's float64 has (``np.float64(38.05)``)."""

    def __repr__(self) -> str:
        return f"Reading({float(self)!r})"


@pytest.mark.parametrize("partial", [False, True])
def test_float_subclass_inputs_are_read_as_the_floats_they_are(partial: bool) -> None:
    plain = news2.score(**{**NORMAL, "temperature": 38.05, "pulse": 90.5}, partial=partial)  # type: ignore[arg-type]
    sub = news2.score(  # type: ignore[arg-type]
        **{**NORMAL, "temperature": Reading(38.05), "pulse": Reading(90.5)}, partial=partial
    )
    assert sub.as_dict() == plain.as_dict()
    assert sub.values["temperature"] == 38.1 and sub.subscores["pulse"] == 1
    assert quantise(Reading(38.05), Decimal("0.1")) == Decimal("38.1")
    assert problems(temperature=Reading(98.6))["temperature"].message.startswith(
        "this looks like Fahrenheit"
    )


def test_news2012_refuses_new_confusion_and_scale_2() -> None:
    with pytest.raises(VitalsError) as info:
        news2012.score(**{**NORMAL, "consciousness": "C"})  # type: ignore[arg-type]
    assert "NEWS2" in info.value.problems[0].allowed
    with pytest.raises(ClinicalError, match="one SpO2 scale"):
        news2012.score(Vitals(**NORMAL, spo2_scale=2))  # type: ignore[arg-type]


def test_scoring_is_safe_from_many_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from designpatterns_ref.clinical import NEWS2, assess

    cases = [{**NORMAL, "pulse": p, "temperature": 35.0 + p / 100} for p in range(30, 200)]
    expected = [assess(NEWS2, c, use_fast_path=False) for c in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            assert list(pool.map(lambda c: assess(NEWS2, c), cases)) == expected


def test_a_result_is_read_only_and_unhashable() -> None:
    r = news2.score(**NORMAL)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        r.total = 20  # type: ignore[misc]
    with pytest.raises(AttributeError):
        r.subscores = {}  # type: ignore[misc]
    with pytest.raises(TypeError, match="unhashable"):
        hash(r)
    assert r.subscores is r.subscores  # built once, on first read
    assert r != r.as_dict() and r == news2.score(**NORMAL)  # type: ignore[arg-type]


def test_unknown_and_non_string_keys_are_reported_not_scored() -> None:
    from designpatterns_ref.clinical import NEWS2, assess

    with pytest.raises(VitalsError) as info:
        assess(NEWS2, {**NORMAL, "pulse_rate": 70})
    (problem,) = info.value.problems
    assert (problem.field, problem.value, problem.message) == ("pulse_rate", 70, "unknown field")
    with pytest.raises(VitalsError) as info:
        assess(NEWS2, {**NORMAL, "pulse_rate": 70, 3: 4})  # type: ignore[dict-item]
    (problem,) = info.value.problems  # several unknown keys: one problem lists them
    assert (problem.field, problem.value) == ("unknown fields", 2)
    assert problem.message == "not fields of news2: 'pulse_rate', 3"
    with pytest.raises(TypeError):
        news2.score(**NORMAL, pulse_rate=70)  # type: ignore[arg-type, call-arg]


def test_input_names_are_lower_case_identifiers() -> None:
    import dataclasses

    from designpatterns_ref.clinical import NEWS2, RulesetError
    from designpatterns_ref.clinical.rules import PULSE

    for name in ("Pulse", "heart rate", "_pulse", "lambda"):
        with pytest.raises(RulesetError, match="lower-case Python identifier"):
            dataclasses.replace(
                NEWS2, inputs=(*NEWS2.inputs, dataclasses.replace(PULSE, name=name))
            )
    with pytest.raises(RulesetError, match="share a name"):
        dataclasses.replace(NEWS2, inputs=(*NEWS2.inputs, PULSE))


@given(raw=vital_sign_inputs(), fast=st.booleans())
def test_a_result_s_mappings_are_read_only_views(raw: dict[str, object], fast: bool) -> None:
    """Neither the mappings a caller reads nor the dicts a result was built from can change
    a result: ``subscores`` and ``values`` refuse item assignment, and equality holds."""
    r = assess(NEWS2, raw, use_fast_path=fast)
    twin = assess(NEWS2, raw, use_fast_path=not fast)
    for mapping in (r.subscores, r.values):
        key = next(iter(mapping))
        with pytest.raises(TypeError):
            mapping[key] = 0  # type: ignore[index]
        with pytest.raises(TypeError):
            del mapping[key]  # type: ignore[attr-defined]
        with pytest.raises(AttributeError):
            mapping.clear()  # type: ignore[attr-defined]
    assert r == twin and r.as_dict() == twin.as_dict()
    subscores, values = dict(r.subscores), dict(r.values)
    built = ScoreResult(
        r.ruleset, r.total, subscores, r.red_score, r.risk, r.monitoring, r.response, values,
        r.partial, r.missing, r.cautions, r.threshold,
    )  # fmt: skip
    subscores["pulse"], values["pulse"] = 99, -1  # the caller's own dicts, not the result's
    assert built == r and built.subscores["pulse"] == r.subscores["pulse"]


@given(raw=vital_sign_inputs(), partial=st.booleans())
def test_a_result_copies_the_sequences_it_is_given(raw: dict[str, object], partial: bool) -> None:
    """``response``, ``missing`` and ``cautions`` given as lists are copied into tuples: the
    caller's lists changing afterwards changes nothing, and the result equals, prints,
    pickles and serialises as one built from tuples."""
    if partial:
        raw = {k: v for k, v in raw.items() if k != "pulse"}
    r = assess(NEWS2, raw, partial=partial)
    response, missing, cautions = list(r.response), list(r.missing), list(r.cautions)
    built = ScoreResult(
        r.ruleset, r.total, dict(r.subscores), r.red_score, r.risk, r.monitoring, response,
        dict(r.values), r.partial, missing, cautions, r.threshold,  # type: ignore[arg-type]
    )  # fmt: skip
    expected = (built == r, repr(built), built.as_dict())
    assert expected == (True, repr(r), r.as_dict())
    response.append("call the crash team")
    missing.append("spo2")
    cautions.clear()
    assert (built == r, repr(built), built.as_dict()) == expected
    assert type(built.response) is type(built.missing) is type(built.cautions) is tuple
    assert pickle.loads(pickle.dumps(built)) == r == copy.deepcopy(built)


@given(
    text=st.integers(-(10**6), 10**6).map(str)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str)
    | st.floats(allow_nan=False, allow_infinity=False).map(repr),
    pad=st.sampled_from(["", " ", "\t"]),
    field=st.sampled_from(["respiration_rate", "spo2", "systolic_bp", "pulse", "temperature"]),
)
@example(text="-" + "1" * 36 + ".123", pad="", field="pulse")  # 41 characters
def test_a_number_sent_as_a_string_is_quoted_back_as_sent(text: str, pad: str, field: str) -> None:
    raw = pad + text + pad
    message = problems(**{field: raw})[field].message
    if len(text) <= 40:
        assert (
            message
            == f"a string is not a number; send the number itself ({text}, not {json.dumps(raw)})"
        )
    else:  # too long to quote back (st.decimals(places=3) gives up to 41 characters)
        example = next(i.example for i in NEWS2.inputs if i.name == field)
        assert message == f"a string is not a number; send a number (such as {example})"


@pytest.mark.parametrize("text", ["1" * 40, "1" * 41, "-" + "1" * 36 + ".123"])
def test_a_numeral_string_is_quoted_back_up_to_40_characters(text: str) -> None:
    message = problems(pulse=text)["pulse"].message
    quoted = f'send the number itself ({text}, not "{text}")'
    assert (quoted in message) == (len(text) <= 40), message


def test_a_string_that_is_no_number_gets_an_example() -> None:
    message = problems(pulse="fast")["pulse"].message
    assert message == "a string is not a number; send a number (such as 72)"


class Count:
    """An integer type of a library's own: not an int, but ``operator.index`` takes it."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __index__(self) -> int:
        return self.n


@pytest.mark.parametrize("kind", ["int64", "int32", "uint8", "Count"])
@pytest.mark.parametrize("fast", [False, True])
def test_integers_of_any_integer_type_are_numbers(kind: str, fast: bool) -> None:
    if kind == "Count":
        make: Any = Count
    else:
        np = pytest.importorskip("numpy")  # installed with matplotlib (the plot extra)
        make = getattr(np, kind)
    from designpatterns_ref.clinical import NEWS2, assess

    for pulse, rr, points in ((70, 16, 0), (131, 25, 6), (45, 10, 2)):
        raw = {**NORMAL, "pulse": make(pulse), "respiration_rate": make(rr),
               "systolic_bp": make(120)}  # fmt: skip
        r = assess(NEWS2, raw, use_fast_path=fast)
        assert r.total == points and r == assess(NEWS2, {**NORMAL, "pulse": pulse,
                                                         "respiration_rate": rr})  # fmt: skip
    assert quantise(make(37), Decimal("0.1")) == Decimal("37.0")
    assert problems(pulse=make(5))["pulse"].message == "physically impossible"


def test_numpy_booleans_are_not_numbers() -> None:
    np = pytest.importorskip("numpy")
    assert "not a number" in problems(pulse=np.True_)["pulse"].message


@pytest.mark.parametrize("kind", ["int64", "int32", "uint8", "Count"])
@pytest.mark.parametrize("fast", [False, True])
def test_an_int_choice_takes_integers_of_any_integer_type(kind: str, fast: bool) -> None:
    """As a measure does: spo2_scale=numpy.int64(2) is scale 2, as the int 2 is."""
    if kind == "Count":
        make: Any = Count
    else:
        np = pytest.importorskip("numpy")
        make = getattr(np, kind)
    from designpatterns_ref.clinical import NEWS2, assess

    for scale, on_oxygen in ((1, False), (2, True), (2, False)):
        raw = {**NORMAL, "spo2": 90, "spo2_scale": scale, "on_oxygen": on_oxygen}
        expected = assess(NEWS2, raw, use_fast_path=False)
        assert assess(NEWS2, {**raw, "spo2_scale": make(scale)}, use_fast_path=fast) == expected
    assert problems(spo2_scale=make(3))["spo2_scale"].message == "not one of the allowed values"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("spo2_scale", Decimal("1E+400"), "not one of the allowed values"),
        ("spo2_scale", 100.0, "not one of the allowed values"),
        ("spo2_scale", 2.0, "send the option as a whole number (2, not 2.0)"),
        ("spo2_scale", 2.5, "not a whole number"),
        ("spo2_scale", float("nan"), "not a finite number"),
        ("spo2_scale", [1], "an array is not a whole number"),
        ("spo2_scale", {"a": 1}, "an object is not a whole number"),
        ("spo2_scale", "2", "a string is not a whole number"),
        ("consciousness", Decimal("1e400"), "a number is not a string"),
        ("consciousness", 1, "a number is not a string"),
        ("consciousness", ["A"], "an array is not a string"),
        ("pulse", [70], "an array is not a number"),
        ("pulse", {"bpm": 70}, "an object is not a number"),
        ("pulse", "72", 'a string is not a number; send the number itself (72, not "72")'),
    ],
    ids=repr,
)
def test_a_wrong_kind_is_named_in_words_for_json_and_python_alike(
    field: str, value: object, message: str
) -> None:
    assert problems(**{field: value})[field].message == message


@given(st.lists(st.text(max_size=8), max_size=600, unique=True), st.booleans())
@example([str(i) for i in range(531)], False)  # a 4 KiB body: its 422 was 84 KB
def test_unknown_fields_are_one_problem_of_bounded_size(keys: list[str], partial: bool) -> None:
    # Each unknown key was its own problem, repeating the known fields: twenty times the
    # request's size. Now the answer's size does not grow with the number of unknown keys.
    from designpatterns_ref.clinical import NEWS2, assess
    from designpatterns_ref.clinical.engine import MAX_UNKNOWN_SHOWN

    unknown = [k for k in keys if k not in NEWS2.input_names]
    raw = {**NORMAL, **dict.fromkeys(unknown, 0)}
    if not unknown:
        assert assess(NEWS2, raw, partial=partial).total == 0
        return
    with pytest.raises(VitalsError) as info:
        assess(NEWS2, raw, partial=partial)
    (problem,) = info.value.problems
    assert problem.allowed == ", ".join(NEWS2.input_names)
    if len(unknown) == 1:
        assert (problem.field, problem.value) == (unknown[0], 0)
        return
    assert (problem.field, problem.value) == ("unknown fields", len(unknown))
    named = [shown(k, 40) for k in unknown[:MAX_UNKNOWN_SHOWN]]  # as every message quotes
    assert problem.message.startswith("not fields of news2: " + ", ".join(named))
    assert len(json.dumps(problem.as_dict())) < 1000
