"""Hostile values at every public entry point: the family's error, and nothing changed.

Every refusal here is a :class:`ClinicalError` (a ``ValueError``), and after it the rulesets
(``NEWS2``, ``NEWS_2012``) and the caller's own input mapping are exactly as they were. The
whole public API also meets generated hostile values in ``tests/fuzz`` (``families/clinical.py``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest

from designpatterns_ref.clinical import (
    NEWS2,
    NEWS_2012,
    ClinicalError,
    RulesetError,
    Vitals,
    VitalsError,
    assess,
    news2,
    news2012,
)
from designpatterns_ref.clinical.base import BandTable
from designpatterns_ref.clinical.engine import assess_inputs, check_choice, check_number, quantise
from designpatterns_ref.clinical.rules import CONSCIOUSNESS, PULSE

HUGE = 10**400

#: Values no input, flag, ruleset or count accepts.
HOSTILE: tuple[Any, ...] = (
    None, math.nan, math.inf, -math.inf, HUGE, -HUGE, -1, "", "x" * 10_000, "\ud800",
    b"bytes", [], [1, 2], {}, {"a": 1}, (), object(), 1j,
)  # fmt: skip
#: The same without None, which means "not measured" (or "the default") for a score's inputs.
NOT_NONE: tuple[Any, ...] = tuple(v for v in HOSTILE if v is not None)
#: Values that are not a True/False flag (0 and 1 are not flags either).
NOT_FLAGS: tuple[Any, ...] = (*HOSTILE, 0, 1, "true", "False")

OK = {
    "respiration_rate": 18,
    "spo2": 97,
    "systolic_bp": 120,
    "pulse": 70,
    "consciousness": "A",
    "temperature": 37.0,
}
NUMBERS = ("respiration_rate", "spo2", "systolic_bp", "pulse", "temperature")


def _snapshot() -> object:
    """Everything a refused call could have touched: both rulesets, field by field."""
    return repr(NEWS2), repr(NEWS_2012), repr(NEWS2.defaults), repr(NEWS_2012.defaults)


@pytest.fixture
def unchanged() -> Iterator[None]:
    before = _snapshot()
    yield
    assert _snapshot() == before


def _refused(call: Callable[[], object], error: type[ClinicalError] = ClinicalError) -> None:
    with pytest.raises(error) as info:
        call()
    assert str(info.value)  # a refusal says what was wrong


def _ids(value: object) -> str:
    return type(value).__name__ + ":" + repr(value)[:20]


# -- the two entry points: news2.score and news2012.score ------------------------------------


@pytest.mark.parametrize("value", [*HOSTILE, True, False, "18"], ids=_ids)
@pytest.mark.parametrize("field", NUMBERS)
@pytest.mark.parametrize("score", [news2.score, news2012.score], ids=["news2", "news2012"])
def test_scores_refuse_hostile_numbers(
    unchanged: None, score: Callable[..., object], field: str, value: object
) -> None:
    if value is None:  # None is "not measured": refused unless partial
        _refused(lambda: score(**{**OK, field: value}), VitalsError)
        return
    _refused(lambda: score(**{**OK, field: value}), VitalsError)
    _refused(lambda: score(**{**OK, field: value}, partial=True), VitalsError)


@pytest.mark.parametrize("value", [*HOSTILE, True, False, 1, "Alert!"], ids=_ids)
@pytest.mark.parametrize("score", [news2.score, news2012.score], ids=["news2", "news2012"])
def test_scores_refuse_hostile_consciousness(
    unchanged: None, score: Callable[..., object], value: object
) -> None:
    _refused(lambda: score(**{**OK, "consciousness": value}), VitalsError)


@pytest.mark.parametrize("value", [*NOT_NONE, True, False, 3, 1.0, "1"], ids=_ids)
def test_news2_refuses_a_hostile_spo2_scale(unchanged: None, value: object) -> None:
    _refused(lambda: news2.score(**OK, spo2_scale=value))


@pytest.mark.parametrize("value", NOT_FLAGS, ids=_ids)
@pytest.mark.parametrize("flag", ["on_oxygen", "partial"])
@pytest.mark.parametrize("score", [news2.score, news2012.score], ids=["news2", "news2012"])
def test_scores_refuse_flags_that_are_not_true_or_false(
    unchanged: None, score: Callable[..., object], flag: str, value: object
) -> None:
    if flag == "on_oxygen" and value is None:
        return  # None: not recorded, so the default (room air)
    _refused(lambda: score(**OK, **{flag: value}))


@pytest.mark.parametrize("value", [v for v in HOSTILE if v is not None], ids=_ids)
@pytest.mark.parametrize("score", [news2.score, news2012.score], ids=["news2", "news2012"])
def test_scores_refuse_a_positional_argument_that_is_not_vitals(
    unchanged: None, score: Callable[..., object], value: object
) -> None:
    _refused(lambda: score(value))


@pytest.mark.parametrize("value", [*NOT_NONE, "18"], ids=_ids)
@pytest.mark.parametrize("field", ["pulse", "temperature", "spo2_scale", "on_oxygen"])
def test_vitals_with_a_hostile_field_are_refused_when_scored(
    unchanged: None, field: str, value: object
) -> None:
    vitals = Vitals(**{**OK, field: value})  # a plain container: checked when scored
    before = repr(vitals)
    _refused(lambda: news2.score(vitals))
    assert repr(vitals) == before


# -- the engine: assess, assess_inputs, check_number, check_choice, quantise ------------------


@pytest.mark.parametrize("ruleset", [*HOSTILE, "NEWS2", NEWS2.rules[0]], ids=_ids)
def test_assess_refuses_what_is_not_a_ruleset(unchanged: None, ruleset: object) -> None:
    raw = dict(OK)
    _refused(lambda: assess(ruleset, raw))  # type: ignore[arg-type]
    _refused(lambda: assess_inputs(ruleset, (18, 97, 1, False, 120, 70, "A", 37.0)))  # type: ignore[arg-type]
    assert raw == OK


@pytest.mark.parametrize("raw", [*HOSTILE, {**OK, "pulse": HUGE}, {**OK, "\ud800": 1}], ids=_ids)
def test_assess_refuses_hostile_raw_mappings_and_leaves_them_alone(
    unchanged: None, raw: object
) -> None:
    kept = repr(raw)
    _refused(lambda: assess(NEWS2, raw))  # type: ignore[arg-type]
    assert repr(raw) == kept


@pytest.mark.parametrize("value", NOT_FLAGS, ids=_ids)
@pytest.mark.parametrize("flag", ["partial", "use_fast_path"])
def test_assess_refuses_flags_that_are_not_true_or_false(
    unchanged: None, flag: str, value: object
) -> None:
    raw = dict(OK)
    _refused(lambda: assess(NEWS2, raw, **{flag: value}))
    assert raw == OK


@pytest.mark.parametrize("inputs", [*HOSTILE, (18, 97), (None,) * 9, [18, 97, 1, False]], ids=_ids)
def test_assess_inputs_refuses_hostile_input_tuples(unchanged: None, inputs: object) -> None:
    _refused(lambda: assess_inputs(NEWS2, inputs))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", NOT_FLAGS, ids=_ids)
def test_assess_inputs_refuses_a_partial_that_is_not_a_flag(unchanged: None, value: object) -> None:
    _refused(lambda: assess_inputs(NEWS2, (18, 97, 1, False, 120, 70, "A", 37.0), value))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [*HOSTILE, True, "70"], ids=_ids)
def test_check_number_reports_a_problem_and_refuses_a_non_measure(
    unchanged: None, value: object
) -> None:
    found, problem = check_number(PULSE, value)
    assert found is None and problem is not None and problem.field == "pulse"
    _refused(lambda: check_number(value, 70))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [*HOSTILE, True, 1, "Alert!"], ids=_ids)
def test_check_choice_reports_a_problem_and_refuses_a_non_choice(
    unchanged: None, value: object
) -> None:
    _, problem = check_choice(CONSCIOUSNESS, value)
    assert problem is not None and problem.field == "consciousness"
    _refused(lambda: check_choice(value, "A"))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [*HOSTILE, True, "37.05"], ids=_ids)
def test_quantise_refuses_hostile_values_and_resolutions(unchanged: None, value: object) -> None:
    if value != -1:  # a negative value quantises (the ranges are checked by the caller)
        _refused(lambda: quantise(value, Decimal("0.1")))  # type: ignore[arg-type]
    _refused(lambda: quantise(37.05, value))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [*HOSTILE, True, 10**6, 2.5, "5"], ids=_ids)
@pytest.mark.parametrize("ruleset", [NEWS2, NEWS_2012], ids=["NEWS2", "NEWS_2012"])
def test_threshold_refuses_hostile_totals_and_flags(
    unchanged: None, ruleset: Any, value: object
) -> None:
    _refused(lambda: ruleset.threshold(value, False))
    if value not in (True,):
        _refused(lambda: ruleset.threshold(5, value))


# -- the rule tables: a hostile field is refused when the table is built ----------------------


def _tables() -> list[tuple[str, Any]]:
    choice_rule = next(r for r in NEWS2.rules if type(r).__name__ == "ChoiceRule")
    return [
        ("Ruleset", NEWS2),
        ("Measure", PULSE),
        ("Choice", CONSCIOUSNESS),
        ("NumericRule", NEWS2.rules[0]),
        ("ChoiceRule", choice_rule),
        ("Threshold", NEWS2.thresholds[0]),
    ]


@pytest.mark.parametrize("value", [v for v in HOSTILE if v != ()], ids=_ids)
@pytest.mark.parametrize(("name", "original"), _tables(), ids=[n for n, _ in _tables()])
def test_rule_tables_refuse_a_hostile_field(
    unchanged: None, name: str, original: Any, value: object
) -> None:
    for field in dataclasses.fields(original):
        kept = getattr(original, field.name)
        if isinstance(value, type(kept)) or (
            isinstance(value, Mapping) == isinstance(kept, Mapping) and isinstance(kept, Mapping)
        ):
            continue  # the field's own kind (any text for a label, any mapping): not hostile here
        if field.name == "strict_type" and value is None:
            continue  # None: "any type", a documented choice
        _refused(lambda f=field.name: dataclasses.replace(original, **{f: value}), RulesetError)


@pytest.mark.parametrize("value", HOSTILE, ids=_ids)
def test_band_tables_refuse_hostile_rows_and_resolutions(unchanged: None, value: object) -> None:
    rows = [(None, "8", 3), ("9", None, 0)]
    _refused(lambda: BandTable.of("1", value))  # type: ignore[arg-type]
    _refused(lambda: BandTable.of(value, rows))  # type: ignore[arg-type]
    _refused(lambda: BandTable.of("1", [(None, "8", 3), ("9", None, value)]))  # type: ignore[list-item]
    _refused(lambda: BandTable.of("1", [(None, value, 3), ("9", None, 0)]))  # type: ignore[list-item]


# -- the HTTP API: a refused body is a 4xx answer in JSON, never a server error ---------------


@pytest.fixture(scope="module")
def client() -> Any:
    from fastapi.testclient import TestClient

    from designpatterns_ref.clinical.api import create_app

    return TestClient(create_app(), raise_server_exceptions=True)


@pytest.mark.parametrize("value", HOSTILE, ids=_ids)
@pytest.mark.parametrize("path", ["/v1/news2", "/v1/news2012"])
def test_api_answers_hostile_fields_with_a_client_error(
    unchanged: None, client: Any, path: str, value: object
) -> None:
    for body in ({**OK, "pulse": value}, {**OK, "partial": value}, value):
        raw = json.dumps(body, default=repr)
        response = client.post(path, content=raw, headers={"content-type": "application/json"})
        assert 400 <= response.status_code < 500, (body, response.text[:200])
        assert response.json()


@pytest.mark.parametrize("value", [*HOSTILE, True, 0, 10**12], ids=_ids)
def test_create_app_refuses_hostile_settings(unchanged: None, value: object) -> None:
    from designpatterns_ref.clinical.api import create_app

    _refused(lambda: create_app(max_body_bytes=value))  # type: ignore[arg-type]
    if value != ():
        _refused(lambda: create_app(value))  # type: ignore[arg-type]
