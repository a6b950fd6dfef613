"""The NEWS2 API's request framing over a real loopback server (conftest.py serves it): odd
code points, duplicate keys and malformed Content-Length get a 4xx naming the fault, never a
guess and never a 5xx."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import example as hexample
from hypothesis import strategies as st

from designpatterns_ref.clinical.api import EXAMPLES, create_app

WELL = EXAMPLES["well"]["value"]

_ODD = st.sampled_from(
    ["\ud800", "\udfff", "a\ud83d", "\ud83d\ude00", "\x00", "\ufeff", "\ufffe", "\U0010ffff",
     "\u202e", "\x7f", "é", "", " "]
)  # fmt: skip
_ODD_TEXT = st.lists(st.one_of(_ODD, st.text(max_size=3)), min_size=1, max_size=4).map("".join)
_FIELDS = st.sampled_from([*WELL, "partial", "spo2_scale", "on_oxygen"])
_VALUES = st.one_of(_ODD_TEXT, st.integers(-5, 300), st.booleans(), st.none())


@st.composite
def _odd_bodies(draw: st.DrawFn) -> dict[str, object]:
    """A request with at least one odd string: in a key (unknown field) or in a value."""
    body: dict[str, object] = dict(draw(st.sampled_from([WELL, {}, {"partial": True}])))
    body.update(draw(st.dictionaries(_FIELDS, _VALUES, max_size=3)))
    odd_keys = draw(st.dictionaries(_ODD_TEXT, _VALUES, max_size=2))
    body.update(odd_keys)
    if not odd_keys:
        body[draw(_FIELDS)] = draw(_ODD_TEXT)
    return body


@given(body=_odd_bodies())
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_odd_code_points_get_a_decodable_4xx(client: httpx.Client, body: dict[str, object]) -> None:
    """Regression: a lone surrogate in a key or value made the 422 unencodable (a 500)."""
    # json.dumps escapes surrogates as \\ud800, which JSON allows and Python decodes back.
    raw = json.dumps(body)
    r = client.post("/v1/news2", content=raw, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, (r.status_code, raw, r.text[:200])
    answer = r.json()  # decodable JSON
    assert answer["problems"], answer


@pytest.mark.parametrize(
    "body",
    [{"consciousness": "\ud800", "partial": True}, {"\ud800": 1}, {**WELL, "\udfff": "\ud800"}],
)
def test_lone_surrogates_are_echoed_escaped(client: httpx.Client, body: dict[str, object]) -> None:
    r = client.post(
        "/v1/news2", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.content.isascii()  # written with \\u escapes, since UTF-8 cannot carry them
    problems = r.json()["problems"]
    assert any("\ud800" in (p["field"], p["value"]) for p in problems), problems


def test_ordinary_answers_stay_utf8(client: httpx.Client) -> None:
    r = client.post("/v1/news2", json={**WELL, "consciousness": "é"})
    assert r.status_code == 422
    assert "é".encode() in r.content  # only unencodable content is escaped


# -- duplicate keys and malformed Content-Length: a 4xx naming the fault, never a guess -------


def test_a_duplicate_key_is_refused_naming_it(client: httpx.Client) -> None:
    """Regression: a key sent twice was scored silently, the last value winning."""
    raw = (
        '{"respiration_rate": 30, "respiration_rate": 16, "spo2": 97, "systolic_bp": 124,'
        ' "pulse": 72, "consciousness": "A", "temperature": 36.8}'
    )
    r = client.post("/v1/news2", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    problems = r.json()["problems"]
    assert [p["field"] for p in problems] == ["respiration_rate"]
    assert "more than once" in problems[0]["message"]


def test_a_key_repeated_inside_a_nested_object_is_not_taken_for_a_field(
    client: httpx.Client,
) -> None:
    # The repeated "a" is no field of the request: the field at fault is the one holding an
    # object, reported with every other problem.
    raw = '{"pulse": {"a": 1, "a": 2}, "spo2": "97", "partial": true}'
    r = client.post("/v1/news2", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    problems = {p["field"]: p["message"] for p in r.json()["problems"]}
    assert problems.keys() == {"pulse", "spo2"}
    assert problems["pulse"] == "an object is not a number"


_KEYS = st.sampled_from([*WELL, "partial", "spo2_scale", "\ud800", "x"])


@given(keys=st.lists(_KEYS, min_size=1, max_size=6), repeat=st.lists(_KEYS, min_size=1, max_size=3))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_duplicated_key_is_named(
    client: httpx.Client, keys: list[str], repeat: list[str]
) -> None:
    """Build the body by hand (a dict cannot hold a key twice); the 422 names each repeat."""
    pairs = [*((k, WELL.get(k, 1)) for k in keys), *((k, 1) for k in repeat)]
    raw = "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}"
    twice = {k for k in dict.fromkeys(k for k, _ in pairs) if [p[0] for p in pairs].count(k) > 1}
    r = client.post("/v1/news2", content=raw, headers={"content-type": "application/json"})
    if twice:
        assert r.status_code == 422, r.text
        assert {p["field"] for p in r.json()["problems"]} == twice
    else:
        assert r.status_code != 500
        assert "more than once" not in r.text


def _asgi_post(content_length: bytes, body: bytes) -> int:
    """POST through the ASGI app itself: the exact header bytes reach the route."""
    import asyncio

    app = create_app()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/news2", "raw_path": b"/v1/news2", "root_path": "",
        "query_string": b"", "server": ("test", 80), "client": ("test", 1),
        "headers": [(b"content-type", b"application/json"), (b"content-length", content_length)],
    }  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return next(int(m["status"]) for m in sent if m["type"] == "http.response.start")  # type: ignore[call-overload]


_WELL_BODY = json.dumps(WELL).encode()


@given(
    header=st.one_of(
        st.binary(max_size=30),
        st.text(max_size=8).map(lambda s: s.encode("utf-8")),
        st.integers(21, 5000).map(lambda n: b"9" * n),
    )
)
@hexample(header="²".encode("latin-1"))
@hexample(header=b"9" * 5000)  # more digits than int() converts by default
@hexample(header=b"")
@hexample(header=b"+112")
@hexample(header=b" 112")
@hexample(header=b"-1")
@hexample(header="١١٢".encode())  # Arabic-Indic digits: str.isdigit() says yes
@settings(max_examples=80, deadline=None)
def test_a_malformed_content_length_is_400(header: bytes) -> None:
    """Regression: '²' or 5,000 digits made the app raise ValueError (a 500)."""
    status = _asgi_post(header, _WELL_BODY)
    text = header.decode("latin-1")
    if text.isascii() and text.isdigit() and 1 <= len(text) <= 20:
        assert status in (200, 413), (header, status)  # a well-formed count is taken at its word
    else:
        assert status == 400, (header, status)


def test_a_plain_content_length_is_taken(client: httpx.Client) -> None:
    assert _asgi_post(str(len(_WELL_BODY)).encode(), _WELL_BODY) == 200
    assert _asgi_post(b"0" * 17 + str(len(_WELL_BODY)).encode(), _WELL_BODY) == 200
    assert _asgi_post(b"9" * 20, _WELL_BODY) == 413


@pytest.mark.parametrize("header", ["²", "9" * 5000, "12a", "-1"])
def test_a_malformed_content_length_over_loopback_is_400(base_url: str, header: str) -> None:
    """Over a real socket: the server or the app refuses it; never a 5xx, never a hang."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(base_url)
    head = (
        f"POST /v1/news2 HTTP/1.1\r\nHost: {where.hostname}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {header}\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(head + _WELL_BODY)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    assert status == 400, answer[:300]


def test_a_wrong_kind_is_named_in_json_terms(client: httpx.Client) -> None:
    raw = ('{"spo2_scale": 100.0, "consciousness": 1e400, "pulse": "72", "spo2": [97], '
           '"systolic_bp": {"mmHg": 120}, "partial": true}')  # fmt: skip
    r = client.post("/v1/news2", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    problems = {p["field"]: p["message"] for p in r.json()["problems"]}
    assert problems == {
        "spo2_scale": "not one of the allowed values",
        "consciousness": "a number is not a string",
        "pulse": 'a string is not a number; send the number itself (72, not "72")',
        "spo2": "an array is not a number",
        "systolic_bp": "an object is not a number",
    }
