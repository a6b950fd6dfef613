"""clinical: NEWS2 and NEWS (2012) scoring, the engine, the rulesets and the HTTP API.

``Vitals`` is a plain container, validated when scored: its fields are fuzzed through
``news2.score(vitals)`` and ``Vitals(...)`` then scored. What is left out is in NOT_FUZZED.
"""

from __future__ import annotations

import dataclasses
import functools
from decimal import Decimal
from typing import Any

from designpatterns_ref.clinical import NEWS2, NEWS_2012, Vitals, assess, news2, news2012
from designpatterns_ref.clinical.base import ClinicalError
from designpatterns_ref.clinical.engine import assess_inputs, check_choice, check_number, quantise
from designpatterns_ref.clinical.rules import CONSCIOUSNESS, PULSE
from tests.fuzz.helpers import json_of, per_argument, text_of
from tests.fuzz.spec import Entry

ERRORS = (ClinicalError,)

NOT_FUZZED: dict[str, str] = {
    "ScoreResult": "the record score() returns; no call takes one",
    "Problem": "a record a refusal carries (one bad field); no call takes one",
    "Caution": "a record a result carries (an extreme value scored); no call takes one",
    "ACVPU": "an enum: ACVPU(value) is Python's own lookup; the level is checked where it is "
    "scored (news2.score(consciousness=), assess)",
    "Risk": "an enum of the categories a result reports; no call takes one",
}

_OK = {
    "respiration_rate": 18,
    "spo2": 97,
    "systolic_bp": 120,
    "pulse": 70,
    "consciousness": "A",
    "temperature": 37.0,
}
_OK_2012 = {**_OK, "consciousness": "A"}


def _score_with(field: str) -> Entry:
    return Entry(f"news2.score({field}=)", call=lambda _, v: news2.score(**{**_OK, field: v}))


class _ServerError(Exception):
    """Not one of ERRORS: a 5xx answer fails the entry like an unexpected exception."""


@functools.cache
def _client() -> Any:
    from fastapi.testclient import TestClient

    from designpatterns_ref.clinical.api import create_app

    return TestClient(create_app(), raise_server_exceptions=True)


def _post(path: str, body: object) -> None:
    """POST a JSON body (hostile keys and values allowed) and refuse any 5xx answer."""
    raw = json_of(body)  # every digit of a huge int; lone surrogates as \\ud800 escapes
    response = _client().post(path, content=raw, headers={"content-type": "application/json"})
    if response.status_code >= 500:
        raise _ServerError(f"{path} answered {response.status_code}: {response.text[:200]}")
    response.json()  # every answer is decodable JSON


def _post_content_length(value: object) -> None:
    """POST a valid body through the ASGI app with ``str(value)`` as its Content-Length bytes
    (a client can send any bytes there; the test client would refuse some before sending)."""
    import asyncio
    import json

    from designpatterns_ref.clinical.api import create_app

    body = json.dumps(_OK).encode()
    header = text_of(value).encode("utf-8", "surrogatepass")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/news2", "raw_path": b"/v1/news2", "root_path": "",
        "query_string": b"", "server": ("test", 80), "client": ("test", 1),
        "headers": [(b"content-type", b"application/json"), (b"content-length", header)],
    }  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[Any] = []

    async def receive() -> Any:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(create_app()(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    if status >= 500:
        raise _ServerError(f"Content-Length {header[:40]!r} answered {status}")


def _api_entries() -> list[Entry]:
    out = []
    for path, ok in (("/v1/news2", _OK), ("/v1/news2012", _OK_2012)):
        for field in (*ok, "partial", "unknown_field"):
            out.append(
                Entry(
                    f"POST {path} ({field}=)",
                    call=lambda _, v, path=path, ok=ok, field=field: _post(path, {**ok, field: v}),
                )
            )
        out.append(
            Entry(f"POST {path} (key=)", call=lambda _, v, path=path: _post(path, {text_of(v): 1}))
        )
        out.append(Entry(f"POST {path} (body=)", call=lambda _, v, path=path: _post(path, v)))
    out.append(Entry("POST /v1/news2 (Content-Length=)", call=lambda _, v: _post_content_length(v)))
    return out


def _create_app(rulesets: Any = (NEWS2, NEWS_2012), max_body_bytes: Any = 4096) -> object:
    from designpatterns_ref.clinical.api import create_app

    return create_app(rulesets, max_body_bytes=max_body_bytes)


ENTRIES = [
    *per_argument(
        "Ruleset.threshold",
        lambda _, **kw: NEWS2.threshold(**kw),
        {"total": 5, "red_score": False},
    ),
    *per_argument(
        "Ruleset.threshold (NEWS 2012)",
        lambda _, **kw: NEWS_2012.threshold(**kw),
        {"total": 5, "red_score": True},
    ),
    Entry("news2.score(vitals)", call=lambda _, v: news2.score(v)),
    *(_score_with(f) for f in (*_OK, "spo2_scale", "on_oxygen", "partial")),
    Entry("news2012.score(vitals)", call=lambda _, v: news2012.score(v)),
    *per_argument(
        "news2012.score",
        lambda _, **kw: news2012.score(**kw),
        {**_OK_2012, "on_oxygen": False, "partial": False},
    ),
    *per_argument(
        "Vitals(...) then news2.score",
        lambda _, **kw: news2.score(Vitals(**kw)),
        {**_OK, "spo2_scale": 1, "on_oxygen": False},
    ),
    *per_argument(
        "assess",
        lambda _, **kw: assess(**kw),
        {"ruleset": NEWS2, "raw": dict(_OK), "partial": False, "use_fast_path": True},
    ),
    Entry("assess(raw={key: 1})", call=lambda _, v: assess(NEWS2, {v: 1} if _hashable(v) else v)),
    *per_argument(
        "assess_inputs",
        lambda _, **kw: assess_inputs(**kw),
        {"ruleset": NEWS2, "inputs": (18, 97, 1, False, 120, 70, "A", 37.0), "partial": False},
    ),
    *per_argument("check_number", lambda _, **kw: check_number(**kw), {"m": PULSE, "raw": 70}),
    *per_argument(
        "check_choice", lambda _, **kw: check_choice(**kw), {"c": CONSCIOUSNESS, "raw": "A"}
    ),
    *per_argument(
        "quantise",
        lambda _, **kw: quantise(**kw),
        {"value": 37.05, "resolution": Decimal("0.1")},
    ),
    *per_argument(
        "NEWS2.threshold", lambda _, **kw: NEWS2.threshold(**kw), {"total": 5, "red_score": False}
    ),
    *per_argument(
        "NEWS_2012.threshold",
        lambda _, **kw: NEWS_2012.threshold(**kw),
        {"total": 5, "red_score": False},
    ),
    *per_argument(
        "create_app",
        lambda _, **kw: _create_app(**kw),
        {"rulesets": (NEWS2,), "max_body_bytes": 4096},
    ),
    *_api_entries(),
]


def _replace_entries(name: str, original: Any) -> list[Entry]:
    """A rule-table object rebuilt with one field hostile: the constructor must refuse it."""
    return [
        Entry(
            f"{name}({field.name}=)",
            call=lambda _, v, f=field.name: dataclasses.replace(original, **{f: v}),
        )
        for field in dataclasses.fields(original)
    ]


RULE_ENTRIES = [
    *_replace_entries("Ruleset", NEWS2),
    *_replace_entries("Measure", PULSE),
    *_replace_entries("Choice", CONSCIOUSNESS),
    *_replace_entries("NumericRule", NEWS2.rules[0]),
    *_replace_entries("Threshold", NEWS2.thresholds[0]),
    *(
        _replace_entries("ChoiceRule", rule)
        for rule in NEWS2.rules
        if type(rule).__name__ == "ChoiceRule"
    ).__next__(),
]
ENTRIES += RULE_ENTRIES


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
