"""NEWS2 and NEWS (2012) against the RCP's charts written out as a plain table, from scratch.

The oracle below shares nothing with :mod:`designpatterns_ref.clinical.rules`: each row of
Chart 1 is copied as printed, the trigger charts (2 and 4) as ``if`` statements. Random full
and partial observations are scored by ``news2.score``, by ``engine.assess`` without the
compiled fast path, and by the API over a real loopback server, and every answer must be the
oracle's: sub-scores, total, red score, risk, monitoring, partial and missing. The values are
ints, floats as typed and Decimals, over the whole possible range (extreme values are scored
with a caution), and the scores must not depend on the caller's decimal context. The oracle
rounds with exact fractions, so no decimal context touches it either.
"""

from __future__ import annotations

import dataclasses
import decimal
import json
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designpatterns_ref.clinical import NEWS2, NEWS_2012, news2, news2012
from designpatterns_ref.clinical.engine import assess

INF = 10**9

# Chart 1 (RCP 2017), row by row as printed: (lowest, highest, points), whole bounds inclusive.
RR = [(-INF, 8, 3), (9, 11, 1), (12, 20, 0), (21, 24, 2), (25, INF, 3)]
SPO2_SCALE_1 = [(-INF, 91, 3), (92, 93, 2), (94, 95, 1), (96, INF, 0)]
SPO2_SCALE_2_AIR = [(-INF, 83, 3), (84, 85, 2), (86, 87, 1), (88, INF, 0)]
SPO2_SCALE_2_OXYGEN = [
    (-INF, 83, 3), (84, 85, 2), (86, 87, 1), (88, 92, 0), (93, 94, 1), (95, 96, 2), (97, INF, 3),
]  # fmt: skip
SBP = [(-INF, 90, 3), (91, 100, 2), (101, 110, 1), (111, 219, 0), (220, INF, 3)]
PULSE = [(-INF, 40, 3), (41, 50, 1), (51, 90, 0), (91, 110, 1), (111, 130, 2), (131, INF, 3)]
# Temperature in tenths of a degree: ≤35.0, 35.1–36.0, 36.1–38.0, 38.1–39.0, ≥39.1.
TEMP_TENTHS = [(-INF, 350, 3), (351, 360, 1), (361, 380, 0), (381, 390, 1), (391, INF, 2)]


def row(table: list[tuple[int, int, int]], value: int) -> int:
    (points,) = [p for lo, hi, p in table if lo <= value <= hi]  # exactly one row
    return points


def half_up(value: float | int | Decimal, places: int = 0) -> int:
    """``value`` as typed (a float read as the decimal it prints), rounded half-up, in units
    of 10**-places (every value here is positive)."""
    exact = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    return math.floor(exact * 10**places + Fraction(1, 2))


def oracle(obs: dict[str, Any], *, news2012_rules: bool = False) -> dict[str, Any]:
    """What the charts say for ``obs`` (None or absent: not measured)."""
    scale = obs.get("spo2_scale") or 1
    oxygen = bool(obs.get("on_oxygen"))
    sub: dict[str, int] = {}
    if obs.get("respiration_rate") is not None:
        sub["respiration_rate"] = row(RR, half_up(obs["respiration_rate"]))
    if obs.get("spo2") is not None:
        table = SPO2_SCALE_1 if scale == 1 else SPO2_SCALE_2_OXYGEN if oxygen else SPO2_SCALE_2_AIR
        sub["spo2"] = row(table, half_up(obs["spo2"]))
    sub["air_or_oxygen"] = 2 if oxygen else 0
    if obs.get("systolic_bp") is not None:
        sub["systolic_bp"] = row(SBP, half_up(obs["systolic_bp"]))
    if obs.get("pulse") is not None:
        sub["pulse"] = row(PULSE, half_up(obs["pulse"]))
    if obs.get("consciousness") is not None:
        sub["consciousness"] = 0 if obs["consciousness"] == "A" else 3
    if obs.get("temperature") is not None:
        sub["temperature"] = row(TEMP_TENTHS, half_up(obs["temperature"], 1))
    total, red = sum(sub.values()), 3 in sub.values()
    missing = [
        n for n in ("respiration_rate", "spo2", "systolic_bp", "pulse", "consciousness",
                    "temperature")
        if obs.get(n) is None
    ]  # fmt: skip
    risk = monitoring = None
    if not missing:
        # Charts 2 and 4: the aggregate first, then a single red score, then the aggregate again.
        if total >= 7:
            risk, monitoring = "high", "Continuous monitoring of vital signs"
        elif total >= 5:
            risk = "medium"
            monitoring = (
                "Increased frequency to a minimum of 1 hourly" if news2012_rules
                else "Minimum 1 hourly"
            )  # fmt: skip
        elif red:
            risk = "medium" if news2012_rules else "low-medium"
            monitoring = (
                "Increased frequency to a minimum of 1 hourly" if news2012_rules
                else "Minimum 1 hourly"
            )  # fmt: skip
        elif total >= 1:
            risk = "low"
            monitoring = "Minimum 4 hourly" if news2012_rules else "Minimum 4–6 hourly"
        else:
            risk, monitoring = "low", "Minimum 12 hourly"
    return {
        "subscores": sub, "total": total, "red_score": red, "risk": risk,
        "monitoring": monitoring, "partial": bool(missing), "missing": missing,
    }  # fmt: skip


def as_seen(result: dict[str, Any]) -> dict[str, Any]:
    """The parts of a result (``ScoreResult.as_dict`` or an API body) the oracle predicts."""
    return {k: result[k] for k in ("subscores", "total", "red_score", "risk", "monitoring",
                                   "partial", "missing")}  # fmt: skip


def whole(lo: int, hi: int, possible: tuple[int, int]) -> st.SearchStrategy[Any]:
    """Whole values near every edge of the usual range, halves (24.5 is read as 25), and
    Decimals (``90.49999999999999999`` is read as 90, not 91); now and then a value anywhere
    in the possible range, extreme ones included (scored with a caution)."""
    lo_p, hi_p = possible
    return st.one_of(
        st.integers(lo, hi),
        st.integers(2 * lo, 2 * hi).map(lambda n: n / 2),
        st.decimals(lo_p, hi_p, places=2),
        st.decimals(lo_p, hi_p, allow_nan=False, allow_infinity=False),
        st.integers(lo_p, hi_p),
        st.integers(2 * lo_p, 2 * hi_p).map(lambda n: n / 2),
    )


def tenths(lo: int, hi: int) -> st.SearchStrategy[Any]:
    """Temperatures in tenths and twentieths of a degree, as floats and as Decimals."""
    return st.one_of(
        st.integers(lo, hi).map(lambda n: n / 10),
        st.integers(2 * lo, 2 * hi).map(lambda n: n / 20),
        st.integers(2 * lo, 2 * hi).map(lambda n: Decimal(n) / 20),
        st.decimals(Decimal(lo) / 10, Decimal(hi) / 10, allow_nan=False, allow_infinity=False),
    )


observation = st.fixed_dictionaries(
    {
        "respiration_rate": whole(0, 60, (0, 100)),
        "spo2": whole(70, 100, (20, 100)),
        "spo2_scale": st.sampled_from([1, 2]),
        "on_oxygen": st.booleans(),
        "systolic_bp": whole(60, 260, (20, 350)),
        "pulse": whole(30, 220, (20, 350)),
        "consciousness": st.sampled_from("ACVPU"),
        "temperature": tenths(320, 420) | tenths(100, 470),
    }
)
MEASURED = ("respiration_rate", "spo2", "systolic_bp", "pulse", "consciousness", "temperature")


@st.composite
def partial_observation(draw: st.DrawFn) -> dict[str, Any]:
    obs = draw(observation)
    for name in draw(st.sets(st.sampled_from(MEASURED))):
        obs[name] = None
    return obs


@settings(max_examples=300, deadline=None)
@given(observation)
def test_full_observations_score_as_the_chart_says(obs: dict[str, Any]) -> None:
    want = oracle(obs)
    assert as_seen(news2.score(**obs).as_dict()) == want
    assert as_seen(assess(NEWS2, obs, use_fast_path=False).as_dict()) == want


@settings(max_examples=300, deadline=None)
@given(partial_observation())
def test_partial_observations_score_what_is_there(obs: dict[str, Any]) -> None:
    want = oracle(obs)
    assert as_seen(news2.score(**obs, partial=True).as_dict()) == want
    assert as_seen(assess(NEWS2, obs, partial=True, use_fast_path=False).as_dict()) == want


@settings(max_examples=200, deadline=None)
@given(partial_observation())
def test_news_2012_scores_as_its_chart_says(obs: dict[str, Any]) -> None:
    obs = {k: v for k, v in obs.items() if k != "spo2_scale"}  # one SpO2 scale in 2012
    if obs["consciousness"] == "C":
        obs["consciousness"] = "V"  # no new-confusion category in 2012
    want = oracle(obs, news2012_rules=True)
    assert as_seen(news2012.score(**obs, partial=True).as_dict()) == want
    assert as_seen(assess(NEWS_2012, obs, partial=True).as_dict()) == want


@pytest.mark.parametrize(
    ("subscores", "risk"),
    [
        # (one parameter's points ... ) -> the clinical risk of Chart 2
        ({"pulse": 91}, "low"),  # total 1
        ({"pulse": 111, "respiration_rate": 21}, "low"),  # total 4, no red
        ({"respiration_rate": 25}, "low-medium"),  # a single 3, total 3
        ({"respiration_rate": 25, "pulse": 91}, "low-medium"),  # a single 3, total 4
        ({"respiration_rate": 25, "pulse": 111}, "medium"),  # a 3 and total 5: medium wins
        ({"respiration_rate": 21, "pulse": 111, "temperature": 38.5}, "medium"),  # 5, no red
        ({"respiration_rate": 21, "pulse": 111, "temperature": 39.5}, "medium"),  # 6
        ({"respiration_rate": 25, "pulse": 111, "temperature": 39.5}, "high"),  # 7
        ({"consciousness": "C", "spo2": 91, "systolic_bp": 90}, "high"),  # 9 from three 3s
    ],
)
def test_the_clinical_risk_thresholds(subscores: dict[str, Any], risk: str) -> None:
    obs = {"respiration_rate": 16, "spo2": 97, "systolic_bp": 120, "pulse": 70,
           "consciousness": "A", "temperature": 37.0, **subscores}  # fmt: skip
    assert oracle(obs)["risk"] == risk
    assert news2.score(**obs).risk.value == risk


def as_json(body: dict[str, Any]) -> str:
    """``body`` as JSON, a Decimal written as the number it spells (``38.05``, ``1E+1``)."""
    return (
        "{"
        + ", ".join(
            f"{json.dumps(k)}: {v if isinstance(v, Decimal) else json.dumps(v)}"
            for k, v in body.items()
        )
        + "}"
    )


#: Decimal contexts a caller might score in: low precision, other roundings, traps on.
contexts = st.builds(
    lambda prec, rounding, inexact, rounded: decimal.Context(
        prec=prec, rounding=rounding,
        traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow]
        + [decimal.Inexact] * inexact + [decimal.Rounded] * rounded,
    ),
    st.integers(1, 6),
    st.sampled_from([decimal.ROUND_DOWN, decimal.ROUND_FLOOR, decimal.ROUND_CEILING,
                     decimal.ROUND_HALF_EVEN, decimal.ROUND_05UP, decimal.ROUND_UP]),
    st.booleans(),
    st.booleans(),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(obs=partial_observation(), ctx=contexts)
def test_scores_do_not_depend_on_the_decimal_context(
    obs: dict[str, Any], ctx: decimal.Context
) -> None:
    """A plan built and used under the caller's context (prec=2, a trap on Inexact) scores
    as the chart says there and afterwards, on both paths."""
    fresh = dataclasses.replace(NEWS2, name="news2-fresh")  # its plan is built below
    want = oracle(obs)
    with decimal.localcontext(ctx):
        assert as_seen(assess(fresh, obs, partial=True).as_dict()) == want
        assert as_seen(assess(fresh, obs, partial=True, use_fast_path=False).as_dict()) == want
        assert as_seen(news2.score(**obs, partial=True).as_dict()) == want
    assert as_seen(assess(fresh, obs, partial=True).as_dict()) == want


@pytest.fixture(scope="module")
def api(base_url: str) -> Any:
    httpx = pytest.importorskip("httpx")
    with httpx.Client(base_url=base_url, timeout=10) as c:
        yield c


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(obs=partial_observation(), partial=st.booleans(), nulls=st.booleans())
def test_the_api_answers_as_the_chart_says(
    api: Any, obs: dict[str, Any], partial: bool, nulls: bool
) -> None:
    """Over the real server: a field not measured is sent as null or left out."""
    body = obs if nulls else {k: v for k, v in obs.items() if v is not None}
    want = oracle(obs)
    r = api.post("/v1/news2", content=as_json({**body, "partial": partial}),
                 headers={"content-type": "application/json"})  # fmt: skip
    if want["partial"] and not partial:
        assert r.status_code == 422
        assert sorted(p["field"] for p in r.json()["problems"]) == sorted(want["missing"])
        return
    assert r.status_code == 200, r.text
    assert as_seen(r.json()) == want


@pytest.mark.parametrize(
    ("parameter", "tie", "read_as", "points"),
    [
        # Rising side of a row: half-up gives the higher score.
        ("respiration_rate", 24.5, 25, 3),
        ("temperature", 38.05, 38.1, 1),
        # Falling side: half-up reads the higher value, which scores less (the page says so).
        ("respiration_rate", 8.5, 9, 1),
        ("respiration_rate", 11.5, 12, 0),
        ("spo2", 91.5, 92, 2),
        ("systolic_bp", 90.5, 91, 2),
        ("pulse", 40.5, 41, 1),
        ("pulse", 50.5, 51, 0),
        ("temperature", 35.05, 35.1, 1),
        ("temperature", 36.05, 36.1, 0),
    ],
)
def test_ties_are_read_half_up_on_both_sides_of_a_row(
    parameter: str, tie: float, read_as: float, points: int
) -> None:
    obs = {"respiration_rate": 16, "spo2": 97, "systolic_bp": 120, "pulse": 70,
           "consciousness": "A", "temperature": 37.0, parameter: tie}  # fmt: skip
    r = news2.score(**obs)
    assert (r.values[parameter], r.subscores[parameter]) == (read_as, points)
    assert oracle(obs)["subscores"][parameter] == points
