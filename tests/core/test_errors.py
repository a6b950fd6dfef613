"""shown: repr for error messages, safe for ints Python refuses to print, cut to a limit."""

from __future__ import annotations

import enum
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.errors import SHOWN_LIMIT, shown
from tests.fuzz.helpers import all_digits

HUGE = 10**5000  # 5,001 digits: past the 4,300 Python prints


#: Lift Python's limit on int-to-text conversion for the block (the test's oracle only).
any_int_prints = all_digits


def test_a_huge_int_really_cannot_be_printed() -> None:
    """The premise: without shown, formatting the value in a message raises ValueError."""
    with pytest.raises(ValueError, match="4300"):
        f"{HUGE!r}"
    with pytest.raises(ValueError, match="4300"):
        repr([HUGE])


_plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_plain)
def test_a_printable_value_shows_exactly_as_repr_up_to_the_limit(value: object) -> None:
    text = repr(value)
    assert shown(value, limit=10**9) == text
    expected = text if len(text) <= SHOWN_LIMIT else text[: SHOWN_LIMIT - 3] + "..."
    assert shown(value) == expected


@given(st.integers(min_value=-(10**12_000), max_value=10**12_000))
def test_an_int_shows_its_digits_or_about_how_many_it_has(number: int) -> None:
    with any_int_prints():
        exact = len(str(abs(number)))
        text = repr(number)
    if exact <= 4300:
        assert shown(number, limit=10**9) == text
        return
    found = re.fullmatch(r"<(negative )?int of about (\d+) digits>", shown(number))
    assert found is not None, shown(number)
    assert (found[1] is not None) == (number < 0)
    assert exact <= int(found[2]) <= exact + 1  # estimated from bit_length, never printed


def test_the_stand_ins_read_as_documented() -> None:
    assert shown(HUGE) == "<int of about 5001 digits>"
    assert shown(-HUGE) == "<negative int of about 5001 digits>"
    assert shown(10**4300 - 1) != shown(10**4300)  # 4,300 digits still print; 4,301 do not
    assert shown(10**4300 - 1) == "9" * (SHOWN_LIMIT - 3) + "..."
    assert shown(True) == "True" and shown(False) == "False"


class _Marker:
    """Stands, in the oracle's copy of a value, where the tested copy holds a huge int."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


_POSITIVE = _Marker("<int of about 5001 digits>")
_NEGATIVE = _Marker("<negative int of about 5001 digits>")

# A value as a tree; "+" and "-" are leaves that become HUGE and -HUGE in the tested copy and
# markers printing the expected stand-ins in the oracle's copy.
_trees = st.recursive(
    st.sampled_from(["+", "-"]) | st.integers() | st.text(max_size=3) | st.none(),
    lambda inner: (
        st.tuples(st.just("list"), st.lists(inner, max_size=3))
        | st.tuples(st.just("tuple"), st.lists(inner, max_size=3))
        | st.tuples(
            st.just("dict"),
            st.lists(
                st.tuples(st.sampled_from(["+", "-"]) | st.text(max_size=3), inner), max_size=3
            ),
        )
    ),
    max_leaves=12,
)


def _build(tree: Any, huge: bool) -> Any:
    if tree == "+":
        return HUGE if huge else _POSITIVE
    if tree == "-":
        return -HUGE if huge else _NEGATIVE
    if isinstance(tree, tuple):
        kind, items = tree
        if kind == "dict":
            return {_build(k, huge): _build(v, huge) for k, v in items}
        built = [_build(item, huge) for item in items]
        return built if kind == "list" else tuple(built)
    return tree


@given(_trees)
def test_huge_ints_inside_containers_show_as_stand_ins_in_place(tree: Any) -> None:
    assert shown(_build(tree, huge=True), limit=10**9) == repr(_build(tree, huge=False))


def test_sets_and_frozensets_show_their_huge_ints_too() -> None:
    assert shown({HUGE}) == "{<int of about 5001 digits>}"
    assert shown(frozenset([-HUGE])) == "frozenset({<negative int of about 5001 digits>})"
    assert shown((HUGE,)) == "(<int of about 5001 digits>,)"


def test_a_container_inside_itself_shows_as_repr_does() -> None:
    loop: list[object] = [HUGE]
    loop.append(loop)
    assert shown(loop) == "[<int of about 5001 digits>, [...]]"


def test_a_long_container_of_huge_ints_stops_early_and_keeps_to_the_limit() -> None:
    text = shown([HUGE] * 100_000)
    assert len(text) == SHOWN_LIMIT and text.startswith("[<int of about 5001 digits>, ")
    assert text.endswith("...")


class _Big(enum.IntEnum):
    HUGE = HUGE


class _Hostile(int):
    def __lt__(self, other: object) -> bool:
        raise RuntimeError("no comparing")

    def bit_length(self) -> int:
        raise RuntimeError("no measuring")


class _BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_int_subclasses_and_failing_reprs_get_a_stand_in_naming_their_type() -> None:
    assert shown(_Big.HUGE) == "<_Big of about 5001 digits>"
    assert shown(_Hostile(-HUGE)) == "<negative _Hostile of about 5001 digits>"
    assert shown(_BadRepr()) == "<_BadRepr object>"
    assert shown([1, _BadRepr()]) == "[1, <_BadRepr object>]"


@pytest.mark.parametrize("limit", [0, 1, 3, 4, 60, 200])
def test_the_result_is_never_longer_than_the_limit(limit: int) -> None:
    for value in ("x" * 100_000, HUGE, [HUGE] * 50, list(range(1000))):
        assert len(shown(value, limit)) <= limit
