"""The request schema in the OpenAPI document takes exactly the requests the route scores.

Random bodies (numbers in and out of range, every spelling of a consciousness level with any
case and white space, ``2.0`` for a scale, nulls, missing fields, unknown keys) are checked
against the schema with ``jsonschema`` and posted to the real server: a body is valid by the
schema if and only if the route answers 200.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
jsonschema = pytest.importorskip("jsonschema")

from designpatterns_ref.clinical import NEWS2, NEWS_2012  # noqa: E402
from designpatterns_ref.clinical.api import (  # noqa: E402
    _ALSO_LOWERED,
    _SPACE,
    request_schema,
)
from designpatterns_ref.clinical.engine import check_choice  # noqa: E402
from designpatterns_ref.clinical.rules import CONSCIOUSNESS, CONSCIOUSNESS_AVPU  # noqa: E402

#: White space str.strip() removes, and some it does not (zero-width no-break space, a letter).
PADDING = " \t\n\x0b\x0c\r\x1c\x1f\x85\xa0\u2000\u3000\ufeff\u200bx"
WORDS = sorted({k.lower() for k in CONSCIOUSNESS.options if isinstance(k, str)})


@st.composite
def spellings(draw: st.DrawFn) -> str:
    """A consciousness level as a client might write it: any case, padded, or mangled."""
    word = draw(st.sampled_from(WORDS))
    cased = "".join(c.upper() if draw(st.booleans()) else c for c in word)
    if "k" in cased.lower() and draw(st.booleans()):
        cased = cased.replace("k", _ALSO_LOWERED["k"])
    pad = st.text(alphabet=PADDING, max_size=2)
    text = draw(pad) + cased + draw(pad)
    if draw(st.integers(0, 9)) == 0:  # now and then, a letter lost or doubled
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + draw(st.sampled_from(["", text[i] * 2, "\u0130"])) + text[i + 1 :]
    return text


def numbers(lo: float, hi: float) -> st.SearchStrategy[Any]:
    """Numbers in the possible range, ints and floats, the ends included."""
    return st.one_of(
        st.integers(int(lo), int(hi)),
        st.floats(lo, hi).map(lambda f: round(f, 2)),
        st.sampled_from([lo, hi, float(lo), float(hi)]),
    )


#: Values each field takes (usual and extreme), then values that are wrong somehow.
GOOD = {
    "respiration_rate": numbers(0, 100),
    "spo2": numbers(20, 100),
    "spo2_scale": st.sampled_from([1, 2, 1.0, 2.0]),
    "on_oxygen": st.booleans(),
    "systolic_bp": numbers(20, 350),
    "pulse": numbers(20, 350),
    "consciousness": spellings(),
    "temperature": numbers(10, 47),
    "partial": st.booleans(),
}
ODD = st.one_of(
    st.sampled_from([None, "18", True, 0, 1, 2.5, 3, -1, 98.6, 0.95, 10**30, 1e300, "2", [1],
                     {}, "true", 100.5, 9.99, 47.01]),
    st.integers(-50, 500),
)  # fmt: skip


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A body that is mostly right: every field drawn from its good values or left out, then
    up to two fields (or an unknown key) given an odd value."""
    body = {
        name: draw(values) for name, values in GOOD.items()
        if draw(st.integers(0, 19)) > (10 if name == "partial" else 0)
    }  # fmt: skip
    for _ in range(draw(st.integers(0, 2))):
        body[draw(st.sampled_from([*GOOD, "bp"]))] = draw(ODD)
    return body


@pytest.mark.parametrize(("route", "ruleset"), [("/v1/news2", NEWS2), ("/v1/news2012", NEWS_2012)])
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies())
def test_a_body_is_schema_valid_if_and_only_if_the_route_scores_it(
    client: Any, route: str, ruleset: Any, body: dict[str, Any]
) -> None:
    if ruleset is NEWS_2012:
        body.pop("spo2_scale", None)
    try:
        jsonschema.validate(body, request_schema(ruleset))
        valid = True
    except jsonschema.ValidationError:
        valid = False
    r = client.post(route, content=json.dumps(body), headers={"content-type": "application/json"})
    assert (r.status_code == 200) == valid, (valid, r.text)


@pytest.mark.parametrize("choice", [CONSCIOUSNESS, CONSCIOUSNESS_AVPU], ids=["ACVPU", "AVPU"])
@given(text=spellings() | st.text(max_size=6))
def test_the_consciousness_pattern_takes_exactly_what_the_engine_takes(
    choice: Any, text: str
) -> None:
    schema = request_schema(NEWS2 if choice is CONSCIOUSNESS else NEWS_2012)
    pattern = schema["properties"]["consciousness"]["pattern"]
    assert bool(re.search(pattern, text)) == (check_choice(choice, text)[1] is None)


def test_the_pattern_knows_every_character_strip_and_lower_treat_specially() -> None:
    """The white-space class is exactly ``str.isspace``; a non-ASCII character that
    lower-cases to an ASCII letter is listed with it (only ``İ`` lower-cases to two)."""
    space = re.compile(_SPACE)
    for code in range(sys.maxunicode + 1):
        c = chr(code)
        assert bool(space.fullmatch(c)) == c.isspace(), hex(code)
        low = c.lower()
        if not c.isascii() and len(low) == 1 and low.isascii() and low.isalpha():
            assert c in _ALSO_LOWERED.get(low, ""), hex(code)
