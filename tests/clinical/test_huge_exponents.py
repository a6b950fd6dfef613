"""Decimals whose exponent is far past any chart's: judged in time that does not grow with it.

``Decimal("1E+999999999999999999")`` is 20 characters; as an int it would have a quintillion
digits. Every check compares, or counts steps from the digits the value has, so such a number
is answered (refused, or scored as the zero it is) at once. Bounded by CPU time, generously:
the cost before was seconds to minutes, or a MemoryError.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from designpatterns_ref.clinical import VitalsError, assess, news2
from designpatterns_ref.clinical.engine import check_choice, check_number, quantise
from designpatterns_ref.clinical.rules import NEWS2, RESPIRATION_RATE, SPO2_SCALE
from tests.clinical.test_cli import run

OK = dict(respiration_rate=18, spo2=97, systolic_bp=120, pulse=70, consciousness="A",
          temperature=37.0)  # fmt: skip
NUMBERS = ("respiration_rate", "spo2", "systolic_bp", "pulse", "temperature")
#: More CPU than any of these checks needs by a factor of a thousand, and far less than the
#: seconds the same checks took when they built the number.
CPU_BOUND = 1.0


@pytest.fixture
def cpu() -> Iterator[Callable[[], float]]:
    """CPU seconds this process has spent since the test began (not wall time)."""
    start = time.process_time()
    yield lambda: time.process_time() - start


def _spo2_scale_oracle(coefficient: int, exponent: int) -> str:
    """What the engine must say of ``coefficient × 10**exponent`` for spo2_scale (1 or 2),
    from exact fractions; |coefficient| < 10**20, so a far exponent decides it unaided."""
    if coefficient == 0 or exponent > 40:
        return "not one of the allowed values"  # 0, or at least 10**41: whole, and no option
    if exponent < -40:
        return "not a whole number"  # non-zero and under 10**-20
    x = Fraction(coefficient) * Fraction(10) ** exponent
    if x.denominator != 1:
        return "not a whole number"
    if x in (1, 2):
        return f"send the option as a whole number ({x}, not "
    return "not one of the allowed values"


@given(
    st.integers(-(10**20) + 1, 10**20 - 1),
    st.integers(-50, 50) | st.integers(-(10**18) + 1, 10**18 - 21),  # a Decimal holds these
)
@example(1, 999_999_999_999_999_999)
@example(-1, 999_999_999_999_999_999)
@example(1, 400_000)
@example(0, 999_999_999_999_999_999)
@example(2000, -3)
@example(1, -999_999_999_999_999_999)
def test_a_whole_number_choice_judges_any_decimal_without_building_it(
    coefficient: int, exponent: int
) -> None:
    value = Decimal(f"{coefficient}E{exponent}")
    start = time.process_time()
    canonical, problem = check_choice(SPO2_SCALE, value)
    assert time.process_time() - start < CPU_BOUND
    assert canonical is None and problem is not None
    assert problem.message.startswith(_spo2_scale_oracle(coefficient, exponent)), problem


@pytest.mark.parametrize("text", ["1E+999999999999999999", "-2E+400000", "1E+19"])
@pytest.mark.parametrize("fast", [True, False])
def test_a_huge_spo2_scale_is_refused_by_every_entry_point(
    cpu: Callable[[], float], text: str, fast: bool
) -> None:
    value = Decimal(text)
    for call in (
        lambda: news2.score(**OK, spo2_scale=value),  # type: ignore[arg-type]
        lambda: assess(NEWS2, {**OK, "spo2_scale": value}, use_fast_path=fast),
    ):
        with pytest.raises(VitalsError) as info:
            call()
        assert info.value.fields == ("spo2_scale",)
        assert "not one of the allowed values" in str(info.value)
    assert cpu() < CPU_BOUND


@given(
    st.sampled_from(["", "-"]),
    st.integers(-50, 50) | st.integers(-(10**18) + 1, 10**18 - 1),
    st.sampled_from(NUMBERS),
    st.booleans(),
)
@example("", 999_999_999_999_999_999, "respiration_rate", True)
@example("-", 999_999_999_999_999_999, "spo2", False)
def test_a_zero_of_any_exponent_is_scored_as_zero(
    sign: str, exponent: int, field: str, fast: bool
) -> None:
    # 0E+999999999999999999 is 0: it scored by multiplying 0 by 10**(10**18), and never returned.
    zero = Decimal(f"{sign}0E{exponent}")
    start = time.process_time()
    try:
        got: object = assess(NEWS2, {**OK, field: zero}, use_fast_path=fast).as_dict()
    except VitalsError as err:
        got = [(p.field, p.message) for p in err.problems]
    checked = check_number(RESPIRATION_RATE, zero)
    quantised = quantise(zero, Decimal("0.1"))
    assert time.process_time() - start < CPU_BOUND
    try:
        want: object = assess(NEWS2, {**OK, field: 0}).as_dict()
    except VitalsError as err:  # 0 is impossible for this field: refused the same way
        want = [(p.field, p.message) for p in err.problems]
    assert got == want
    assert checked == (Decimal(0), None) and quantised == 0


def test_the_cli_scores_a_zero_of_any_exponent(
    cpu: Callable[[], float], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--spo2", "97", "--sbp", "120", "--pulse", "70", "--acvpu", "A", "--temp", "37"]
    assert run("news2", "--rr", "0e999999999999999999", *args, "--json") == 0
    huge = json.loads(capsys.readouterr().out)
    assert cpu() < CPU_BOUND
    assert run("news2", "--rr", "0", *args, "--json") == 0
    assert huge == json.loads(capsys.readouterr().out)
