"""NEWS (2012) as a second ruleset on the same engine."""

from __future__ import annotations

import pytest

from designpatterns_ref.clinical import NEWS_2012, RULESETS, Risk, Vitals, assess, news2, news2012

NORMAL = dict(
    respiration_rate=16, spo2=97, systolic_bp=120, pulse=70, consciousness="A", temperature=37.0
)


def test_shared_bands_score_as_in_news2() -> None:
    for change in (
        {"respiration_rate": 8}, {"respiration_rate": 21}, {"spo2": 93}, {"on_oxygen": True},
        {"systolic_bp": 101}, {"pulse": 131}, {"temperature": 35.1}, {"consciousness": "V"},
    ):  # fmt: skip
        a = news2.score(**{**NORMAL, **change})  # type: ignore[arg-type]
        b = news2012.score(**{**NORMAL, **change})  # type: ignore[arg-type]
        assert a.subscores == b.subscores and a.total == b.total


def test_a_red_score_is_medium_risk_in_2012_and_low_medium_in_news2() -> None:
    values = {**NORMAL, "respiration_rate": 26}
    assert news2012.score(**values).risk is Risk.MEDIUM  # type: ignore[arg-type]
    assert news2.score(**values).risk is Risk.LOW_MEDIUM  # type: ignore[arg-type]
    assert news2012.score(**values).monitoring == "Increased frequency to a minimum of 1 hourly"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "risk", "monitoring"),
    [
        ({}, Risk.LOW, "Minimum 12 hourly"),
        ({"pulse": 95}, Risk.LOW, "Minimum 4 hourly"),
        ({"respiration_rate": 22, "spo2": 95, "pulse": 96, "temperature": 38.2}, Risk.MEDIUM,
         "Increased frequency to a minimum of 1 hourly"),
        ({"respiration_rate": 26, "systolic_bp": 95, "temperature": 39.5}, Risk.HIGH,
         "Continuous monitoring of vital signs"),
    ],
)  # fmt: skip
def test_2012_thresholds(change: dict[str, object], risk: Risk, monitoring: str) -> None:
    r = news2012.score(**{**NORMAL, **change})  # type: ignore[arg-type]
    assert (r.risk, r.monitoring) == (risk, monitoring)


def test_2012_has_one_spo2_scale() -> None:
    # 89% on air: 3 points, as on NEWS2's scale 1.
    assert news2012.score(**{**NORMAL, "spo2": 89}).subscores["spo2"] == 3  # type: ignore[arg-type]
    assert "spo2_scale" not in NEWS_2012.input_names


def test_vitals_object_and_registry() -> None:
    assert news2012.score(Vitals(**NORMAL)).ruleset == "news2012"  # type: ignore[arg-type]
    assert set(RULESETS) == {"news2", "news2012"}
    assert NEWS_2012.max_total == 20


def test_unknown_field_for_this_ruleset() -> None:
    from designpatterns_ref.clinical import VitalsError

    with pytest.raises(VitalsError) as info:
        assess(NEWS_2012, {**NORMAL, "spo2_scale": 2})
    assert info.value.fields == ("spo2_scale",)
    assert "unknown" in info.value.problems[0].message
