"""The HTTP API under a real uvicorn server on a loopback port (conftest.py serves it): the
answers, the field errors, the fuzzing; the request framing is in test_api_framing.py."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import example as hexample  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from designpatterns_ref.clinical.api import DEFAULT_MAX_BODY_BYTES, EXAMPLES, create_app  # noqa: E402
from designpatterns_ref.clinical.base import (  # noqa: E402
    BandTable,
    Measure,
    NumericRule,
    VitalsError,
)
from designpatterns_ref.clinical.engine import assess  # noqa: E402
from designpatterns_ref.clinical.rules import NEWS2  # noqa: E402

WELL = EXAMPLES["well"]["value"]
SCALE2 = EXAMPLES["scale2"]["value"]


def test_health(client: httpx.Client) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "rulesets": ["news2", "news2012"]}


def test_valid_request_returns_the_full_result(client: httpx.Client) -> None:
    r = client.post("/v1/news2", json=SCALE2)
    assert r.status_code == 200
    body = r.json()
    assert (body["total"], body["risk"], body["red_score"]) == (7, "high", False)
    assert body["subscores"]["spo2"] == 1 and body["subscores"]["air_or_oxygen"] == 2
    assert body["monitoring"] == "Continuous monitoring of vital signs"
    assert body["values"]["temperature"] == 38.4 and body["values"]["spo2_scale"] == 2
    assert body["partial"] is False and body["missing"] == []


def test_quantised_values_are_echoed(client: httpx.Client) -> None:
    body = client.post(
        "/v1/news2", json={**WELL, "temperature": 38.05, "respiration_rate": 24.5}
    ).json()
    assert body["values"]["temperature"] == 38.1 and body["values"]["respiration_rate"] == 25
    assert body["subscores"]["respiration_rate"] == 3 and body["red_score"] is True


def test_a_json_number_is_scored_as_the_decimal_it_spells(client: httpx.Client) -> None:
    # Read through a binary float, 90.49999999999999999 became 90.5 and rounded up to 91.
    cases = {
        b'"pulse": 90.49999999999999999': ("pulse", 90, 0),
        b'"temperature": 38.04999999999999999': ("temperature", 38.0, 0),
        b'"respiration_rate": 20.4999999999999999999': ("respiration_rate", 20, 0),
    }
    for field, (name, value, points) in cases.items():
        r = client.post(
            "/v1/news2",
            content=b'{"partial": true, ' + field + b"}",
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 200, r.text
        assert (r.json()["values"][name], r.json()["subscores"][name]) == (value, points)
    # Plausibility is judged on the value as sent: just over 100% is impossible.
    r = client.post(
        "/v1/news2",
        content=b'{"partial": true, "spo2": 100.00000000000000001}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["problems"][0]["message"] == "physically impossible"


#: The possible values of each measure, in steps of its resolution (0.1 °C for temperature).
STEPS = {
    "respiration_rate": (0, 99),
    "spo2": (20, 99),
    "pulse": (20, 349),
    "temperature": (100, 469),
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name_steps=st.sampled_from(sorted(STEPS)).flatmap(
        lambda name: st.tuples(st.just(name), st.integers(*STEPS[name]))
    ),
    nudge=st.sampled_from([-1, 0, 1]),
    digits=st.integers(14, 22),
)
@hexample(name_steps=("pulse", 90), nudge=-1, digits=17)
def test_json_numbers_score_as_their_decimals(
    client: httpx.Client, name_steps: tuple[str, int], nudge: int, digits: int
) -> None:
    # a value a hair either side of a rounding tie, or on it, written with up to 22 decimals
    name, steps = name_steps
    per_unit = 10 if name == "temperature" else 1
    number = (Decimal(steps) + Decimal("0.5") + nudge * Decimal(10) ** -digits) / per_unit
    text = f"{number:f}"
    r = client.post(
        "/v1/news2",
        content=f'{{"partial": true, "{name}": {text}}}'.encode(),
        headers={"content-type": "application/json"},
    )
    try:
        expected = assess(NEWS2, {name: Decimal(text)}, partial=True)
    except VitalsError as err:
        assert r.status_code == 422
        assert [p["message"] for p in r.json()["problems"]] == [p.message for p in err.problems]
    else:
        assert r.status_code == 200, r.text
        assert r.json()["values"][name] == expected.values[name]
        assert r.json()["subscores"] == expected.subscores


def test_invalid_request_lists_every_field_error(client: httpx.Client) -> None:
    r = client.post(
        "/v1/news2",
        json={"respiration_rate": True, "spo2": 0.95, "systolic_bp": "120", "pulse": 70,
              "consciousness": "Q", "temperature": 98.6, "bogus": 1},
    )  # fmt: skip
    assert r.status_code == 422
    body = r.json()
    fields = [p["field"] for p in body["problems"]]
    assert fields == [
        "bogus",
        "respiration_rate",
        "spo2",
        "systolic_bp",
        "consciousness",
        "temperature",
    ]
    assert body["detail"] == "6 problems with the vital signs"
    by_field = {p["field"]: p for p in body["problems"]}
    assert "Fahrenheit" in by_field["temperature"]["message"]
    assert "fraction" in by_field["spo2"]["message"]
    assert all(p["allowed"] for p in body["problems"])


def test_missing_fields_are_422_unless_partial(client: httpx.Client) -> None:
    r = client.post("/v1/news2", json={"respiration_rate": 26})
    assert r.status_code == 422
    assert {p["field"] for p in r.json()["problems"]} == {
        "spo2", "systolic_bp", "pulse", "consciousness", "temperature"
    }  # fmt: skip


def test_partial_request(client: httpx.Client) -> None:
    r = client.post("/v1/news2", json=EXAMPLES["partial"]["value"])
    assert r.status_code == 200
    body = r.json()
    assert body["partial"] is True and body["risk"] is None and body["monitoring"] is None
    assert body["missing"] == ["systolic_bp", "temperature"]
    assert body["total"] == 4


def test_partial_must_be_a_boolean(client: httpx.Client) -> None:
    r = client.post("/v1/news2", json={**WELL, "partial": "yes"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "partial"


def test_oversized_body_is_refused(client: httpx.Client) -> None:
    big = json.dumps({**WELL, "pad": "x" * DEFAULT_MAX_BODY_BYTES})
    r = client.post("/v1/news2", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_oversized_chunked_body_is_refused(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"pad": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    r = client.post("/v1/news2", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize("body", [b"{bad json", b'{"pulse": NaN}', b"", b"\xff\xfe", b'{"a": 1,}'])
def test_malformed_json_is_400(client: httpx.Client, body: bytes) -> None:
    r = client.post("/v1/news2", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["detail"] == "malformed JSON"


#: JSON integers of more digits than ``int`` reads from text (4,300), and what the 422 says.
HUGE_NUMBER_BODIES = {
    "a field": (b'{"pulse": ' + b"9" * 5000 + b"}", "pulse", "physically impossible"),
    "a negative field": (b'{"spo2": -' + b"9" * 5000 + b"}", "spo2", "physically impossible"),
    "a negative one in a list": (
        b'{"pulse": [-' + b"9" * 5000 + b"]}",
        "pulse",
        "an array is not a number",
    ),
    "the whole body": (b"9" * 5000, "body", "got a number"),
}


@pytest.mark.parametrize("case", list(HUGE_NUMBER_BODIES.values()), ids=list(HUGE_NUMBER_BODIES))
def test_an_integer_of_too_many_digits_for_int_is_read_as_a_number(
    client: httpx.Client, roomy_client: httpx.Client, case: tuple[bytes, str, str]
) -> None:
    """Read as an exact Decimal, as a number of as many digits with a fraction is: 422 for
    what it is, not 400 "malformed JSON"."""
    body, field, message = case
    r = client.post("/v1/news2", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413  # the default 4 KiB refuses it before it is parsed
    r = roomy_client.post("/v1/news2", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    problems = {p["field"]: p["message"] for p in r.json()["problems"]}
    assert problems[field] == message, problems
    fraction = body.replace(b"9" * 5000, b"9" * 5000 + b".5")
    again = roomy_client.post(
        "/v1/news2", content=fraction, headers={"content-type": "application/json"}
    )
    assert again.status_code == 422
    assert {p["field"]: p["message"] for p in again.json()["problems"]}[field] == message


@pytest.mark.parametrize(
    ("body", "got"),
    [(b"[1, 2]", "got an array"), (b"null", "got null"), (b"18", "got a number"),
     (b"-1.5e3", "got a number"), (b'"A"', "got a string"), (b"true", "got a boolean")],
)  # fmt: skip
def test_a_body_that_is_no_object_is_422_in_json_terms(
    client: httpx.Client, body: bytes, got: str
) -> None:
    r = client.post("/v1/news2", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    (problem,) = r.json()["problems"]
    assert problem["field"] == "body" and problem["message"] == got


@pytest.mark.parametrize("sent", ["1e400", "-1e400", "1.5E+308", "3e999999999999999999"])
def test_a_number_past_the_float_range_is_physically_impossible(
    client: httpx.Client, sent: str
) -> None:
    body = json.dumps({**WELL, "temperature": 0}).replace(
        '"temperature": 0', f'"temperature": {sent}'
    )
    r = client.post("/v1/news2", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    (problem,) = r.json()["problems"]
    assert problem["message"] == "physically impossible"
    value = problem["value"]  # the number sent (a float, or a Decimal's text), not "inf"
    assert Decimal(repr(value) if isinstance(value, float) else value) == Decimal(sent)


def test_a_number_whose_exponent_no_decimal_holds_is_400(client: httpx.Client) -> None:
    for sent in ("1e99999999999999999999", "1e-99999999999999999999"):
        body = json.dumps({**WELL, "pulse": 0}).replace('"pulse": 0', f'"pulse": {sent}')
        r = client.post("/v1/news2", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400 and "exponent" in r.json()["detail"]


@pytest.mark.parametrize("sent", ["1e999999999999999999", "-1e400000", "1e19", "2e0"])
def test_a_huge_whole_number_choice_is_422_at_once(client: httpx.Client, sent: str) -> None:
    # int() of 1e999999999999999999 ran out of memory (500); of 1e400000, 11 s of CPU. The
    # server runs in this process, so its CPU time is counted here too.
    body = json.dumps({**WELL, "spo2_scale": 1}).replace('"spo2_scale": 1', f'"spo2_scale": {sent}')
    start = time.process_time()
    r = client.post("/v1/news2", content=body, headers={"content-type": "application/json"})
    assert time.process_time() - start < 1.0
    if sent == "2e0":  # JSON has one number type: 2e0 is the option 2
        assert r.status_code == 200 and r.json()["values"]["spo2_scale"] == 2
        return
    assert r.status_code == 422
    (problem,) = r.json()["problems"]
    assert (problem["field"], problem["message"]) == ("spo2_scale", "not one of the allowed values")
    assert Decimal(problem["value"]) == Decimal(sent)


def test_a_slow_score_does_not_stall_the_server(
    base_url: str, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A score held until /health has answered: on the event loop, /health could not answer.
    from designpatterns_ref.clinical import api

    entered, release = threading.Event(), threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(30)
        return assess(*args, **kwargs)

    monkeypatch.setattr(api, "assess", held)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        slow = pool.submit(httpx.post, f"{base_url}/v1/news2", json=WELL, timeout=60)
        try:
            assert entered.wait(30)
            assert client.get("/health", timeout=5).status_code == 200
        finally:
            release.set()
        assert slow.result().status_code == 200


def test_a_body_of_unknown_fields_gets_a_small_answer(client: httpx.Client) -> None:
    # 500 unknown keys in 4 KiB: each was its own problem listing the known fields (80 KB).
    keys = [str(i) for i in range(500)]
    body = json.dumps({**WELL, **dict.fromkeys(keys, 0)}, separators=(",", ":"))
    assert len(body) <= DEFAULT_MAX_BODY_BYTES
    r = client.post("/v1/news2", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and len(r.content) < len(body)
    (problem,) = r.json()["problems"]
    assert (problem["field"], problem["value"]) == ("unknown fields", 500)
    assert problem["message"].startswith("not fields of news2: '0', '1',")


def test_wrong_content_type_is_415(client: httpx.Client) -> None:
    r = client.post("/v1/news2", content=b"pulse=70", headers={"content-type": "text/plain"})
    assert r.status_code == 415


def test_news2012_route(client: httpx.Client) -> None:
    r = client.post("/v1/news2012", json={**WELL, "respiration_rate": 26})
    assert r.status_code == 200 and r.json()["risk"] == "medium"
    assert client.post("/v1/news2012", json=SCALE2).status_code == 422  # no scale 2 in 2012


def test_raw_vital_signs_are_never_logged(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    marker = {"respiration_rate": 23, "spo2": 91, "systolic_bp": 187, "pulse": 137,
              "consciousness": "A", "temperature": 38.7}  # fmt: skip
    with caplog.at_level(logging.DEBUG):
        assert client.post("/v1/news2", json=marker).status_code == 200
        assert client.post("/v1/news2", json={**marker, "temperature": 103.7}).status_code == 422
    # what the service logs: every record but the test client's own transport (httpx and
    # httpcore log connection details, whose ports and timings may hold any digits)
    server = [r for r in caplog.records if r.name.split(".")[0] not in ("httpx", "httpcore")]
    text = "\n".join(r.getMessage() for r in server)
    assert "POST /v1/news2 200" in text and "POST /v1/news2 422 fields=temperature" in text
    for value in ("187", "137", "38.7", "103.7"):
        assert value not in text


def test_a_request_that_fails_is_logged_as_a_failure(
    base_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from designpatterns_ref.clinical import api

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a fault in the scoring code")

    monkeypatch.setattr(api, "assess", broken)
    with caplog.at_level(logging.INFO, logger="designpatterns_ref.clinical.api"):
        # its own connection: the server closes it after a 500
        assert httpx.post(f"{base_url}/v1/news2", json=WELL, timeout=10).status_code == 500
    lines = [r.getMessage() for r in caplog.records if r.name == "designpatterns_ref.clinical.api"]
    assert lines and lines[-1].startswith("POST /v1/news2 500 error"), lines


def test_openapi_examples_are_real(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    examples = schema["paths"]["/v1/news2"]["post"]["requestBody"]["content"]["application/json"][
        "examples"
    ]
    assert set(examples) == {"well", "urgent", "scale2", "partial"}
    for example in examples.values():
        r = client.post("/v1/news2", json=example["value"])
        assert r.status_code == 200
        assert f"total {r.json()['total']}" in example["description"]


def test_create_app_checks_its_argument() -> None:
    with pytest.raises(ValueError, match="max_body_bytes"):
        create_app(max_body_bytes=0)


def test_a_variant_ruleset_gets_only_the_examples_it_can_score() -> None:
    # A local variant with one more required input: the shipped examples lack it, so they are
    # left out of its documentation rather than stopping the app from being built.
    age = Measure(
        "age", "Age", "years", Decimal(1), impossible_below=Decimal(0),
        impossible_above=Decimal(130), extreme_below=Decimal(0), extreme_above=Decimal(120),
        example="60",
    )  # fmt: skip
    bands = BandTable.of("1", [(None, "64", 0), ("65", None, 1)])
    rule = NumericRule("age", "age", MappingProxyType({(): bands}))
    variant = dataclasses.replace(
        NEWS2, name="news2age", inputs=(*NEWS2.inputs, age), rules=(*NEWS2.rules, rule)
    )
    app = create_app((NEWS2, variant))
    body = app.openapi()["paths"]["/v1/news2age"]["post"]["requestBody"]
    assert body["content"]["application/json"]["examples"].keys() == {"partial"}
    shipped = app.openapi()["paths"]["/v1/news2"]["post"]["requestBody"]
    assert shipped["content"]["application/json"]["examples"].keys() == EXAMPLES.keys()


# -- schema-driven fuzzing: schemathesis against the app's own OpenAPI document --------------

schema = schemathesis.openapi.from_dict(create_app().openapi())


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("DPREF_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_fuzz_finds_no_server_error(case: schemathesis.Case, base_url: str) -> None:
    case.call_and_validate(base_url=base_url)


def test_client_chosen_field_names_are_not_logged(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        r = client.post("/v1/news2", json={**WELL, "pulse 137 bp 187": 1})
    assert r.status_code == 422
    text = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "fields=unknown" in text and "137" not in text


def test_request_schema_comes_from_the_ruleset() -> None:
    from designpatterns_ref.clinical import NEWS2, NEWS_2012
    from designpatterns_ref.clinical.api import request_schema

    new, old = request_schema(NEWS2), request_schema(NEWS_2012)
    assert new["properties"]["temperature"]["minimum"] == 10
    assert new["properties"]["temperature"]["maximum"] == 47
    assert re.search(new["properties"]["consciousness"]["pattern"], "C")
    assert not re.search(old["properties"]["consciousness"]["pattern"], "C")
    assert "spo2_scale" not in old["properties"]
    assert new["additionalProperties"] is False
    assert set(new["anyOf"][0]["required"]) == set(NEWS2.required)


# -- lone surrogates and odd code points: every answer is a 4xx the client can decode ---------
