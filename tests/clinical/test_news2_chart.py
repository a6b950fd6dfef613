"""NEWS2 against the RCP's 2017 charts: every band edge, every threshold, worked cases."""

from __future__ import annotations

import pytest

from designpatterns_ref.clinical import ACVPU, NEWS2, Risk, Vitals, news2

NORMAL = dict(
    respiration_rate=16, spo2=97, systolic_bp=120, pulse=70, consciousness="A", temperature=37.0
)


def sub(param: str, **change: object) -> int:
    """The sub-score of ``param`` with one change from a patient who scores 0."""
    values = {**NORMAL, **change}
    return news2.score(**values).subscores[param]  # type: ignore[arg-type]


def test_normal_patient_scores_zero() -> None:
    r = news2.score(**NORMAL)  # type: ignore[arg-type]
    assert r.total == 0 and not r.red_score and r.risk is Risk.LOW
    assert r.monitoring == "Minimum 12 hourly"
    assert r.response == ("Continue routine NEWS monitoring",)
    assert set(r.subscores) == {
        "respiration_rate", "spo2", "air_or_oxygen", "systolic_bp", "pulse", "consciousness",
        "temperature",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("value", "points"),
    [(0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (60, 3)],
)
def test_respiration_rate_edges(value: int, points: int) -> None:
    assert sub("respiration_rate", respiration_rate=value) == points


@pytest.mark.parametrize("on_oxygen", [False, True])
@pytest.mark.parametrize(
    ("value", "points"),
    [(70, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)],
)
def test_spo2_scale_1_edges_on_air_and_oxygen(value: int, points: int, on_oxygen: bool) -> None:
    assert sub("spo2", spo2=value, on_oxygen=on_oxygen) == points


@pytest.mark.parametrize(
    ("value", "points"),
    [(70, 3), (83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0), (93, 0), (97, 0),
     (100, 0)],
)  # fmt: skip
def test_spo2_scale_2_on_air_edges(value: int, points: int) -> None:
    assert sub("spo2", spo2=value, spo2_scale=2) == points


@pytest.mark.parametrize(
    ("value", "points"),
    [(83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0), (93, 1), (94, 1), (95, 2),
     (96, 2), (97, 3), (100, 3)],
)  # fmt: skip
def test_spo2_scale_2_on_oxygen_edges(value: int, points: int) -> None:
    r = news2.score(**{**NORMAL, "spo2": value, "spo2_scale": 2, "on_oxygen": True})  # type: ignore[arg-type]
    assert r.subscores["spo2"] == points
    assert r.subscores["air_or_oxygen"] == 2  # oxygen's own points, on top
    assert r.total == points + 2


def test_air_or_oxygen() -> None:
    assert sub("air_or_oxygen", on_oxygen=False) == 0
    assert sub("air_or_oxygen", on_oxygen=True) == 2


@pytest.mark.parametrize(
    ("value", "points"),
    [(50, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3),
     (250, 3)],
)  # fmt: skip
def test_systolic_bp_edges(value: int, points: int) -> None:
    assert sub("systolic_bp", systolic_bp=value) == points


@pytest.mark.parametrize(
    ("value", "points"),
    [(30, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2),
     (131, 3), (200, 3)],
)  # fmt: skip
def test_pulse_edges(value: int, points: int) -> None:
    assert sub("pulse", pulse=value) == points


@pytest.mark.parametrize(
    ("value", "points"),
    [(33.0, 3), (35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1), (39.0, 1),
     (39.1, 2), (41.0, 2)],
)  # fmt: skip
def test_temperature_edges(value: float, points: int) -> None:
    assert sub("temperature", temperature=value) == points


@pytest.mark.parametrize(
    ("value", "points"),
    [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3), (ACVPU.ALERT, 0), (ACVPU.CONFUSION, 3),
     ("alert", 0), ("new confusion", 3), ("unresponsive", 3)],
)  # fmt: skip
def test_consciousness(value: object, points: int) -> None:
    assert sub("consciousness", consciousness=value) == points


@pytest.mark.parametrize(
    ("param", "value", "quantised", "points"),
    [
        ("temperature", 35.04, 35.0, 3),
        ("temperature", 35.05, 35.1, 1),  # half-up: float round would give 35.0 or 35.1 by luck
        ("temperature", 38.05, 38.1, 1),  # round(38.05, 1) == 38.0: the float trap
        ("temperature", 36.05, 36.1, 0),
        ("temperature", 37, 37.0, 0),
        ("respiration_rate", 24.5, 25, 3),  # round(24.5) == 24: banker's rounding
        ("respiration_rate", 8.5, 9, 1),
        ("respiration_rate", 20.49, 20, 0),
        ("pulse", 90.5, 91, 1),
        ("systolic_bp", 110.5, 111, 0),
        ("spo2", 95.5, 96, 0),
    ],
)
def test_rounding_is_decimal_half_up_and_echoed(
    param: str, value: float, quantised: float, points: int
) -> None:
    r = news2.score(**{**NORMAL, param: value})  # type: ignore[arg-type]
    assert r.values[param] == quantised
    assert type(r.values[param]) is type(quantised)
    assert r.subscores[param] == points


# -- thresholds: risk, monitoring and response for each row of Charts 2 and 4 ----------------


@pytest.mark.parametrize(
    ("change", "total", "red", "risk", "monitoring", "row"),
    [
        ({}, 0, False, Risk.LOW, "Minimum 12 hourly", "zero score"),
        ({"pulse": 95}, 1, False, Risk.LOW, "Minimum 4–6 hourly", "low score"),
        ({"pulse": 95, "temperature": 38.2, "respiration_rate": 22}, 4, False, Risk.LOW,
         "Minimum 4–6 hourly", "low score"),
        ({"respiration_rate": 26}, 3, True, Risk.LOW_MEDIUM, "Minimum 1 hourly", "red score"),
        ({"consciousness": "C", "pulse": 95}, 4, True, Risk.LOW_MEDIUM, "Minimum 1 hourly",
         "red score"),
        ({"respiration_rate": 22, "spo2": 95, "pulse": 96, "temperature": 38.05}, 5, False,
         Risk.MEDIUM, "Minimum 1 hourly", "urgent response"),
        ({"respiration_rate": 26, "systolic_bp": 95}, 5, True, Risk.MEDIUM, "Minimum 1 hourly",
         "urgent response"),
        ({"respiration_rate": 26, "systolic_bp": 95, "pulse": 95}, 6, True, Risk.MEDIUM,
         "Minimum 1 hourly", "urgent response"),
        ({"respiration_rate": 26, "systolic_bp": 95, "temperature": 39.5}, 7, True, Risk.HIGH,
         "Continuous monitoring of vital signs", "emergency response"),
        ({"respiration_rate": 5, "spo2": 85, "on_oxygen": True, "systolic_bp": 80, "pulse": 140,
          "consciousness": "U", "temperature": 34.0}, 20, True, Risk.HIGH,
         "Continuous monitoring of vital signs", "emergency response"),
    ],
)  # fmt: skip
def test_thresholds(
    change: dict[str, object], total: int, red: bool, risk: Risk, monitoring: str, row: str
) -> None:
    r = news2.score(**{**NORMAL, **change})  # type: ignore[arg-type]
    assert (r.total, r.red_score, r.single_parameter_3, r.risk) == (total, red, red, risk)
    assert r.monitoring == monitoring
    assert r.threshold == row
    assert r.response == next(t.response for t in NEWS2.thresholds if t.name == row)


def test_threshold_table_for_every_total() -> None:
    for total in range(21):
        for red in (False, True):
            if red and total < 3:
                continue
            row = NEWS2.threshold(total, red)
            if total >= 7:
                assert row.risk is Risk.HIGH
            elif total >= 5:
                assert row.risk is Risk.MEDIUM
            elif red:
                assert row.risk is Risk.LOW_MEDIUM
            else:
                assert row.risk is Risk.LOW


def test_response_wording_follows_chart_4() -> None:
    emergency = NEWS2.threshold(7, False).response
    assert any("specialist registrar" in line for line in emergency)
    assert any("level 2 or 3" in line for line in emergency)
    urgent = NEWS2.threshold(5, False).response
    assert any("core competencies" in line for line in urgent)


# -- worked cases, computed by hand from Chart 1 ---------------------------------------------


def test_worked_case_copd_patient_on_scale_2() -> None:
    # RR 22 (2), SpO2 93% on oxygen, scale 2 (1), oxygen (2), SBP 112 (0), pulse 104 (1),
    # alert (0), 38.4 °C (1): total 7, high risk, no single 3.
    r = news2.score(
        respiration_rate=22, spo2=93, spo2_scale=2, on_oxygen=True, systolic_bp=112,
        pulse=104, consciousness="A", temperature=38.4,
    )  # fmt: skip
    assert r.subscores == {
        "respiration_rate": 2, "spo2": 1, "air_or_oxygen": 2, "systolic_bp": 0, "pulse": 1,
        "consciousness": 0, "temperature": 1,
    }  # fmt: skip
    assert (r.total, r.red_score, r.risk) == (7, False, Risk.HIGH)


def test_worked_case_same_patient_on_scale_1() -> None:
    # The same numbers on scale 1: SpO2 93% scores 2, so the total is 8.
    r = news2.score(
        respiration_rate=22, spo2=93, on_oxygen=True, systolic_bp=112, pulse=104,
        consciousness="A", temperature=38.4,
    )  # fmt: skip
    assert r.subscores["spo2"] == 2 and r.total == 8


def test_worked_case_new_confusion_alone() -> None:
    r = news2.score(**{**NORMAL, "consciousness": "C"})  # type: ignore[arg-type]
    assert (r.total, r.red_score, r.risk) == (3, True, Risk.LOW_MEDIUM)
    assert r.values["consciousness"] == "C"


def test_worked_case_septic_picture() -> None:
    # RR 24 (2), SpO2 94 (1), air, SBP 98 (2), pulse 118 (2), alert, 38.9 (1) = 8.
    r = news2.score(
        respiration_rate=24, spo2=94, systolic_bp=98, pulse=118, consciousness="A",
        temperature=38.9,
    )  # fmt: skip
    assert (r.total, r.risk, r.red_score) == (8, Risk.HIGH, False)


def test_vitals_object_scores_the_same() -> None:
    v = Vitals(**NORMAL, on_oxygen=True)  # type: ignore[arg-type]
    assert news2.score(v) == news2.score(**NORMAL, on_oxygen=True)  # type: ignore[arg-type]
    assert news2.score(v).total == 2


def test_scale_2_must_be_asked_for() -> None:
    # 89% on air: scale 1 (the default) scores 3; scale 2, only when asked, scores 0.
    assert sub("spo2", spo2=89) == 3
    assert sub("spo2", spo2=89, spo2_scale=2) == 0
    assert news2.score(**NORMAL).values["spo2_scale"] == 1  # type: ignore[arg-type]


def test_max_total_is_20() -> None:
    assert NEWS2.max_total == 20
