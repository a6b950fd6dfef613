"""Reading a request body: its size, its type, and its JSON, every number as the decimal it spells.

Case study: Design a Clinical NEWS Score Calculator API (docs/case-studies/news-score.md)

The scoring route of :mod:`designpatterns_ref.clinical.api` reads the body itself, here, so
that each way a body can be unreadable is refused once, with one status and one shape
(:class:`_Refused`): a body over the limit is refused (413) as it streams in, before it is
parsed, whether or not a Content-Length was sent, and a Content-Length that is not 1 to 20
ASCII digits gets 400; a body that is not ``application/json`` gets 415 and malformed JSON
(``NaN`` included) 400; an object that sends a key twice gets 422 naming each repeated key.

A JSON number is read as the decimal it spells: as a ``float`` when one holds it exactly,
else (``90.49999999999999999``, ``1e400``) as the exact ``Decimal``, so the engine rounds it
once and judges it as sent; an integer past the digits ``int`` reads from text becomes a
``Decimal`` too. Reading is O(body size).

>>> _parse(b'{"pulse": 90.49999999999999999, "spo2": 96, "spo2": 97}')
({'pulse': Decimal('90.49999999999999999'), 'spo2': 97}, (Problem(field='spo2', ...),))
>>> _decimal_number("38.05"), _count(1)
(38.05, '1 problem with the vital signs')
"""

from __future__ import annotations

import json
import math
import re
from decimal import Context, Decimal, InvalidOperation
from typing import TYPE_CHECKING

from designpatterns_ref.clinical.base import Problem

if TYPE_CHECKING:
    from fastapi import Request


class _Refused(Exception):
    def __init__(self, status: int, detail: str, problems: tuple[Problem, ...] = ()) -> None:
        self.status, self.detail, self.problems = status, detail, problems


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


#: Signals a string Decimal cannot read, whatever the thread's own context traps.
_STRICT = Context(traps=[InvalidOperation])


def _decimal_number(text: str) -> float | Decimal:
    """A JSON number with a fraction or an exponent: the float that spells it, or, when no
    float does (``90.49999999999999999``, ``1e400``), the exact Decimal.

    Read through a binary float, that value would become 90.5 and round up to 91, a second
    rounding the client never asked for; ``100.00000000000000001`` % SpO2, impossible as
    sent, would pass as 100; and ``1e400`` would become infinity, which no client sent. The
    common number is a float, which the compiled path scores.
    """
    try:
        exact = Decimal(text, _STRICT)  # exact: a context only decides what signals
    except InvalidOperation:  # an exponent past what Decimal holds (1e-99999999999999999999)
        raise _Refused(400, "a number in the body has an exponent too large to read") from None
    number = float(text)
    if not math.isfinite(number):  # past the float range: the engine refuses it as impossible
        return exact
    return number if Decimal(repr(number)) == exact else exact


def _integer_number(text: str) -> int | Decimal:
    """A JSON integer: an int, or past the digits ``int`` reads from text (4,300 unless the
    process says otherwise), the exact Decimal, so that ``[-]99…9`` of 5,000 digits reaches
    the engine (422, physically impossible) as a 5,000-digit number with a fraction does,
    instead of failing the parse (400)."""
    try:
        return int(text)
    except ValueError:
        return Decimal(text, _STRICT)


def _repeated_keys(pairs: list[tuple[str, object]]) -> tuple[Problem, ...]:
    """A problem for each key that ``pairs`` (a JSON object) holds more than once."""
    seen: dict[str, list[object]] = {}
    for key, value in pairs:
        seen.setdefault(key, []).append(value)
    why = "sent more than once ({} times): which value to score is ambiguous"
    return tuple(
        Problem(key, None, why.format(len(values)), "each field once")
        for key, values in seen.items() if len(values) > 1
    )  # fmt: skip


def _parse(body: bytes | bytearray) -> tuple[object, tuple[Problem, ...]]:
    """The JSON value of ``body``, and the keys its top-level object sends more than once
    (json.loads would keep the last). A key repeated inside a nested object is no field of
    the request: that object is a value no field takes, and is reported as such."""
    repeats: list[tuple[Problem, ...]] = []

    def hook(pairs: list[tuple[str, object]]) -> dict[str, object]:
        out = dict(pairs)
        repeats.append(() if len(out) == len(pairs) else _repeated_keys(pairs))
        return out

    data = json.loads(
        body,
        parse_float=_decimal_number,
        parse_int=_integer_number,
        parse_constant=_reject_constant,
        object_pairs_hook=hook,
    )
    # the top-level object is the last one the decoder finishes
    return data, repeats[-1] if isinstance(data, dict) else ()


#: A Content-Length header: 1 to 20 ASCII digits (str.isdigit() also takes '²' and '١').
_CONTENT_LENGTH = re.compile(r"[0-9]{1,20}")


async def _read_json(request: Request, limit: int) -> object:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise _Refused(415, "send the vital signs as application/json")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not _CONTENT_LENGTH.fullmatch(declared):
            raise _Refused(400, "Content-Length must be 1 to 20 ASCII digits")
        if int(declared) > limit:
            raise _Refused(413, f"request body over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _Refused(413, f"request body over {limit} bytes")
    try:
        data, repeats = _parse(body)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError included
        raise _Refused(400, "malformed JSON") from None
    if repeats:
        raise _Refused(422, _count(len(repeats)), repeats)
    return data


def _count(n: int) -> str:
    return f"{n} problem{'s' if n != 1 else ''} with the vital signs"
