"""HTTP API: ``POST /v1/news2`` scores one set of vital signs, safely (FastAPI, ``api`` extra).

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

:func:`create_app` builds a FastAPI application with one scoring route per ruleset
(``/v1/news2`` and, for comparison, ``/v1/news2012``) and ``GET /health``. The route reads the
body itself (:mod:`._body`), so that every failure has one shape and one status:

- a body over ``max_body_bytes`` (4 KiB by default) is refused with 413 before it is parsed,
  whether or not the client sent a Content-Length;
- a Content-Length that is not 1 to 20 ASCII digits gets 400;
- a body that is not ``application/json`` gets 415, malformed JSON (including ``NaN``) gets 400;
- a JSON object that sends a key twice gets 422 naming each repeated key (JSON parsers
  disagree on which value wins, so neither is scored); an object nested in a field is no
  value any field takes, and is reported as that, whatever keys it repeats;
- a JSON number is scored as the decimal it spells: one that no float holds exactly
  (``90.49999999999999999``, or ``1e400``, past the float range) is read as a ``Decimal``, so
  it is rounded once (to 90), never first to a float (90.5) and then again (91), and a huge one
  is refused as physically impossible (or, for ``spo2_scale``, as no allowed value), not as
  "infinity", and at once: no check builds the number's digits; a number whose exponent is
  too large even for a ``Decimal`` (over 18 digits) gets 400;
- a JSON body that cannot be scored gets 422 listing **every** problem (field, value, message,
  allowed), from the same engine as the Python API, never a partial list;
- a valid body gets 200 and the full result (``ScoreResult.as_dict``).

Every response is encodable: a 422 echoes the client's own keys and values, and JSON lets a
client send a lone surrogate (``"\\ud800"``) that UTF-8 cannot carry, so such a response is
written with ``\\u`` escapes instead (still valid JSON that decodes to the same text). A
number no float holds exactly (``90.49999999999999999``) is scored as the decimal it spells and
echoed in a 422 as that decimal's text, a JSON string: as a JSON number, most readers would
turn it back into the nearest float and the echo would no longer be what was sent.

The request schema in the OpenAPI document is generated from the ruleset's own data (units,
ranges, choices), and it takes exactly what the route takes: a choice of words is a pattern
matching every spelling the engine accepts (any case, surrounding white space), and a whole
number such as ``spo2_scale`` may be sent as ``2.0`` (JSON Schema's ``integer`` takes it, so the
route does too). Its examples are scored when the app is built, so the documented responses
are real (an example a variant ruleset cannot score is left out of its route). Raw
vital signs are never logged: the log line of a request names the route, the status, the risk
or the fields at fault, and the time taken (``dpref serve news2`` also turns uvicorn's access
log off, since a client could put values in a query string).

Trade-off: reading the body by hand costs a few lines over a pydantic body model, and buys
one validator (the engine) and every error at once, with the hints (Fahrenheit, fractions)
a type system cannot give.

Complexity: O(body size) to parse, then one score, in a worker thread (the event loop goes on
answering other requests and ``/health`` meanwhile); the app holds no state between requests.

>>> app = create_app()
>>> sorted(p for p in app.openapi()["paths"])
['/health', '/v1/news2', '/v1/news2012']
"""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from designpatterns_ref.clinical._body import _count, _read_json, _Refused
from designpatterns_ref.clinical.base import (
    Choice,
    ClinicalError,
    Measure,
    Problem,
    Ruleset,
    VitalsError,
)
from designpatterns_ref.clinical.engine import assess
from designpatterns_ref.clinical.rules import NEWS2, NEWS_2012
from designpatterns_ref.errors import shown

__all__ = ["DEFAULT_MAX_BODY_BYTES", "EXAMPLES", "create_app", "request_schema"]

#: The largest request body accepted, in bytes: a full request is about 200.
DEFAULT_MAX_BODY_BYTES = 4096
#: The largest ``max_body_bytes`` that :func:`create_app` takes (1 MiB).
MAX_BODY_BYTES_LIMIT = 1 << 20

log = logging.getLogger(__name__)

#: Request examples, scored when the app is built; the documentation shows the real results.
EXAMPLES: dict[str, dict[str, object]] = {
    "well": {
        "summary": "A well patient: total 0, low risk",
        "value": {"respiration_rate": 16, "spo2": 97, "systolic_bp": 124, "pulse": 72,
                  "consciousness": "A", "temperature": 36.8},
    },
    "urgent": {
        "summary": "Total 5: the urgent response threshold",
        "value": {"respiration_rate": 22, "spo2": 95, "systolic_bp": 118, "pulse": 96,
                  "consciousness": "A", "temperature": 38.05},
    },
    "scale2": {
        "summary": "SpO2 scale 2 on oxygen (target 88–92%): total 7, high risk",
        "value": {"respiration_rate": 22, "spo2": 93, "spo2_scale": 2, "on_oxygen": True,
                  "systolic_bp": 112, "pulse": 104, "consciousness": "A", "temperature": 38.4},
    },
    "partial": {
        "summary": "Partial scoring: blood pressure and temperature not yet taken",
        "value": {"respiration_rate": 26, "spo2": 95, "pulse": 88, "consciousness": "A",
                  "partial": True},
    },
}  # fmt: skip


class CautionOut(BaseModel):
    field: str
    message: str


class ScoreOut(BaseModel):
    """The full result of a score (see ``ScoreResult``)."""

    ruleset: str
    total: int
    subscores: dict[str, int]
    red_score: bool
    risk: Literal["low", "low-medium", "medium", "high"] | None
    threshold: str | None
    monitoring: str | None
    response: list[str]
    values: dict[str, bool | int | float | str]
    partial: bool
    missing: list[str]
    cautions: list[CautionOut]


class ProblemOut(BaseModel):
    field: str
    value: Any = None
    message: str
    allowed: str


class ErrorOut(BaseModel):
    """Why a request was refused: a summary and, for 422, every problem found."""

    detail: str
    problems: list[ProblemOut] = []


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


#: The characters ``str.strip()`` removes (``str.isspace``), as a JSON Schema (ECMA 262) class.
_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
#: Beyond a letter's two ASCII cases, the characters ``str.lower()`` turns into it (the Kelvin
#: sign lower-cases to k); a test checks every code point.
_ALSO_LOWERED = {"k": "\u212a"}


def _spellings_pattern(choice: Choice) -> str:
    """A pattern for exactly the strings :func:`~.engine.check_choice` accepts: those whose
    ``strip().lower()`` is one of the choice's lower-case spellings."""
    words = sorted(k for k in choice.options if isinstance(k, str) and k == k.lower())

    def char(c: str) -> str:
        if c.isascii() and c.isalpha():
            return f"[{c}{c.upper()}{_ALSO_LOWERED.get(c, '')}]"
        return c if c.isalnum() or c in " -_" else "\\" + c

    alternatives = "|".join("".join(char(c) for c in word) for word in words)
    return f"^{_SPACE}*(?:{alternatives}){_SPACE}*$"


def request_schema(ruleset: Ruleset) -> dict[str, Any]:
    """The JSON Schema of a scoring request, generated from the ruleset's own data: it takes
    exactly the requests the route scores (or refuses only for a missing input when not
    partial, which its ``anyOf`` says too)."""
    props: dict[str, Any] = {}
    for spec in ruleset.inputs:
        if isinstance(spec, Measure):
            props[spec.name] = {
                "type": "number",
                "minimum": _number(spec.impossible_below),
                "maximum": _number(spec.impossible_above),
                "description": f"{spec.label} in {spec.unit}, read to {spec.resolution}; "
                "values are quantised half-up to that resolution",
            }
        elif isinstance(spec, Choice):
            options = sorted({v for v in spec.options.values()}, key=str)
            kind = {bool: "boolean", int: "integer", str: "string"}[spec.strict_type or str]
            props[spec.name] = {"type": kind, "description": f"{spec.label}: {spec.allowed}"}
            if kind == "string":  # any case, with white space around: the engine's spellings
                props[spec.name] |= {"pattern": _spellings_pattern(spec), "examples": options}
            else:
                props[spec.name]["enum"] = options
        if spec.name in ruleset.defaults:
            props[spec.name]["default"] = ruleset.defaults[spec.name]
        else:  # null, like leaving the field out, means "not measured"
            props[spec.name]["type"] = [props[spec.name]["type"], "null"]
            if "enum" in props[spec.name]:
                props[spec.name]["enum"].append(None)
    props["partial"] = {
        "type": "boolean", "default": False,
        "description": "Score what is present; the result lists what is missing and has no risk",
    }  # fmt: skip
    return {
        "type": "object",
        "title": f"{ruleset.name} request",
        "properties": props,
        "additionalProperties": False,
        # Either every required parameter is present and not null, or partial is true.
        "anyOf": [
            {
                "required": list(ruleset.required),
                "properties": {n: {"not": {"type": "null"}} for n in ruleset.required},
            },
            {"required": ["partial"], "properties": {"partial": {"const": True}}},
        ],
        "description": f"Vital signs for {ruleset.title}. Every parameter without a default is "
        "required unless partial is true.",
    }


class _Response(JSONResponse):
    """A JSON response that can always be encoded: UTF-8 when it can, ``\\u`` escapes when the
    content holds a lone surrogate (which a client may send, and a 422 echoes back)."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            text = json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
            return text.encode("ascii")


def _pre_problems(ruleset: Ruleset, data: dict[str, object]) -> list[Problem]:
    """What JSON adds to the Python call: ``partial`` must be a boolean, a field with a
    default may be left out but not sent as null, and JSON has one number type, so a whole
    number a choice takes may be written ``2.0`` (as JSON Schema's ``integer`` says). The
    offending keys are removed, and such numbers replaced by the option they equal."""
    found = []
    if "partial" in data and not isinstance(data["partial"], bool):
        found.append(Problem("partial", data.pop("partial"), "not a boolean", "true or false"))
    for spec in ruleset.inputs:
        value = data.get(spec.name)
        if isinstance(spec, Choice) and spec.strict_type is int and type(value) in _FRACTIONAL:
            data[spec.name] = next(
                (k for k in spec.options if type(k) is int and value == k), value
            )
        default = ruleset.defaults.get(spec.name)
        if default is not None and spec.name in data and data[spec.name] is None:
            del data[spec.name]
            why = f"null is not allowed; leave the field out for the default ({default})"
            found.append(Problem(spec.name, None, why, spec.allowed))
    return found


#: The types a JSON number with a fraction or an exponent is read as.
_FRACTIONAL = (float, Decimal)

#: What a JSON value that is no object is, in JSON's terms, for the message refusing it.
_JSON_KINDS = {
    type(None): "null", bool: "a boolean", int: "a number", float: "a number",
    Decimal: "a number", str: "a string", list: "an array",
}  # fmt: skip


def _route(ruleset: Ruleset, limit: int) -> Any:
    loggable = {*ruleset.input_names, "partial", "body"}

    async def score(request: Request) -> _Response:
        start = time.perf_counter()
        # A failure until a response is ready: a crash or a client gone mid-body logs as 500.
        status, outcome = 500, "error"
        try:
            data = await _read_json(request, limit)
            if not isinstance(data, dict):
                got = f"got {_JSON_KINDS.get(type(data), 'another JSON value')}"
                body = {"detail": "the body must be a JSON object", "problems": [
                    {"field": "body", "value": None, "message": got,
                     "allowed": "an object of vital signs"}]}  # fmt: skip
                status, outcome = 422, "fields=body"
                return _Response(body, status_code=422)
            pre = _pre_problems(ruleset, data)
            partial = bool(data.pop("partial", False))  # a bad value was removed above
            try:
                # In a worker thread: the event loop keeps answering other requests (and
                # /health) whatever one body costs to check.
                result = await run_in_threadpool(assess, ruleset, data, partial=partial)
                problems = pre
            except VitalsError as err:
                problems = pre + list(err.problems)
            if problems:
                status = 422
                # Field names only, and only the ones we define: a client's own keys could
                # carry anything, so they are logged as "unknown".
                named = (p.field if p.field in loggable else "unknown" for p in problems)
                outcome = "fields=" + ",".join(named)
                body = {
                    "detail": _count(len(problems)),
                    "problems": [p.as_dict() for p in problems],
                }
                return _Response(body, status_code=422)
            response = _Response(result.as_dict())
            status, outcome = 200, "partial" if result.partial else f"risk={result.risk}"
            return response
        except _Refused as refused:
            status, outcome = refused.status, refused.detail
            if refused.problems:
                named = (p.field if p.field in loggable else "unknown" for p in refused.problems)
                outcome = "fields=" + ",".join(named)
            problems_out = [p.as_dict() for p in refused.problems]
            return _Response(
                {"detail": refused.detail, "problems": problems_out}, status_code=refused.status
            )
        finally:
            # Never the vital signs themselves: only the route, status, outcome and time.
            log.info("POST /v1/%s %d %s %.1fms", ruleset.name, status, outcome,
                     (time.perf_counter() - start) * 1000)  # fmt: skip

    return score


def create_app(
    rulesets: tuple[Ruleset, ...] = (NEWS2, NEWS_2012),
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """The FastAPI application: ``POST /v1/<ruleset>`` for each ruleset, and ``GET /health``."""
    if (
        isinstance(max_body_bytes, bool)
        or not isinstance(max_body_bytes, int)
        or not 1 <= max_body_bytes <= MAX_BODY_BYTES_LIMIT
    ):
        raise ClinicalError(
            f"create_app: max_body_bytes={shown(max_body_bytes, 60)} must be an int from 1 to "
            f"{MAX_BODY_BYTES_LIMIT}"
        )
    if (
        not isinstance(rulesets, tuple | list)
        or not rulesets
        or not all(isinstance(r, Ruleset) for r in rulesets)
    ):
        raise ClinicalError(
            f"create_app: rulesets={shown(rulesets, 80)} must be a non-empty tuple of Rulesets"
        )
    app = FastAPI(
        title="Clinical NEWS score calculator",
        version="1.0",
        description="Scores vital signs against the Royal College of Physicians' NEWS2 (2017) "
        "chart. Invalid input is refused with every problem listed; nothing is guessed.",
    )

    @app.get("/health", summary="Liveness", response_model=dict[str, str | list[str]])
    async def health() -> dict[str, str | list[str]]:
        return {"status": "ok", "rulesets": [r.name for r in rulesets]}

    error = {"model": ErrorOut}
    for ruleset in rulesets:
        examples = {}
        for key, example in EXAMPLES.items():
            raw = dict(example["value"])  # type: ignore[call-overload]
            partial = bool(raw.pop("partial", False))
            if not raw.keys() <= set(ruleset.input_names):
                continue
            try:
                scored = assess(ruleset, raw, partial=partial).as_dict()
            except VitalsError:  # a variant that requires more, or allows less: not its example
                continue
            examples[key] = {
                **example,
                "description": f"total {scored['total']}, risk {scored['risk']}",
            }
        app.add_api_route(
            f"/v1/{ruleset.name}",
            _route(ruleset, max_body_bytes),
            methods=["POST"],
            summary=f"Score vital signs with {ruleset.title}",
            description=ruleset.source,
            operation_id=f"score_{ruleset.name}",
            response_class=_Response,
            responses={
                200: {"model": ScoreOut, "description": "The score"},
                400: {**error, "description": "Malformed JSON"},
                413: {**error, "description": "Body too large"},
                415: {**error, "description": "Not application/json"},
                422: {**error, "description": "Every problem with the vital signs"},
            },
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": request_schema(ruleset),
                            "examples": examples,
                        }
                    },
                }
            },
        )
    return app
