"""HTTP API: ``POST /v1/verify`` with per-client API keys and rate limits (FastAPI, ``api``).

Case study: Design a Membership Benefits & Verification Platform (docs/case-studies/membership-benefits.md)

:func:`create_app` serves one :class:`~designpatterns_ref.membership.verify.Verifier`. Each
partner (a client) has its own API key, sent as ``X-API-Key``, and its own token bucket
(:class:`ClientBucket`, a few lines written here rather than borrowed, so the family stays
independent): ``rate`` requests per second with bursts up to ``burst``. Every refusal is a 4xx
with a JSON body ``{"detail": ..., "problems": [...]}`` that can always be encoded:

- 401 without a key or with an unknown one (keys are compared in constant time);
- 429 over the client's rate, with ``Retry-After`` (seconds, rounded up);
- 413 body over 4 KiB, 415 not ``application/json``, 400 malformed JSON or a
  ``Content-Length`` that is not 1 to 20 ASCII digits;
- 422 for a body that is not ``{"member", "organisation", "benefit"}`` strings, listing every
  problem; a bad member name, an unknown organisation or a benefit it does not offer is a 422
  too (the client's mistake), again listing each of them.

A valid request gets 200 ``{"eligible": ..., "reasons": [...], "rules_version": ...}``: a
"no" is an answer, not an error. The key is checked before the body is read, and the bucket before the body is parsed.

Trade-off: one bucket per key in process memory is exact for one server; several servers would
share the counters (see the rate-limiter case study).

>>> from designpatterns_ref.membership.data import sample_directory
>>> from designpatterns_ref.membership.verify import Verifier
>>> app = create_app(Verifier(*sample_directory()), {"key-a": (10.0, 20)})
>>> sorted(app.openapi()["paths"])
['/health', '/v1/verify']
"""  # noqa: E501

from __future__ import annotations

import hmac
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from designpatterns_ref.clock import read_seconds
from designpatterns_ref.errors import shown
from designpatterns_ref.membership.base import MembershipError, check_name
from designpatterns_ref.membership.verify import Verifier

__all__ = ["MAX_BODY_BYTES", "MIN_RATE", "ClientBucket", "create_app"]

#: The largest request body accepted, in bytes.
MAX_BODY_BYTES = 4096
_FIELDS = ("member", "organisation", "benefit")
_CONTENT_LENGTH = re.compile(r"[0-9]{1,20}")
#: The slowest rate a client may have, in requests per second (one a dozen days or so):
#: slower rates (down to subnormal floats) would make the wait for a token infinite.
MIN_RATE = 1e-6
#: The largest ``Retry-After`` sent, in seconds (a wait longer than this is sent as this).
_MAX_RETRY_AFTER = 10**7


class ClientBucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst``; one request, one token.

    ``rate`` is from :data:`MIN_RATE` to 1e9 per second, so the wait for a token is always a
    finite number of seconds (at most ``1 / MIN_RATE``). ``clock`` is read on every
    :meth:`take` and must return a finite number of seconds (else :class:`MembershipError`,
    the bucket unchanged). A clock that goes back (a wall clock
    stepped by NTP) counts as no time passing: the bucket neither refills nor loses tokens.

    >>> t = [0.0]
    >>> b = ClientBucket(1.0, 2, clock=lambda: t[0])
    >>> b.take(), b.take(), b.take()
    (0.0, 0.0, 1.0)
    """

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic):
        if (
            isinstance(rate, bool)
            or not isinstance(rate, int | float)
            or not MIN_RATE <= rate <= 1e9
        ):
            raise MembershipError(
                f"rate={shown(rate, 40)} must be a number from {MIN_RATE} to 1e9 per second"
            )
        if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= 10**9:
            raise MembershipError(f"burst={shown(burst, 40)} must be an int from 1 to 10**9")
        if not callable(clock):
            raise MembershipError(f"clock={shown(clock, 40)} must be a function returning seconds")
        self.rate, self.burst, self._clock = float(rate), burst, clock
        self._tokens = float(burst)
        self._at = self._now()

    def _now(self) -> float:
        return read_seconds(self._clock, MembershipError, "ClientBucket")

    def take(self) -> float:
        """Take one token: 0.0 when granted, else the seconds until one is available."""
        now = self._now()
        elapsed = max(0.0, now - self._at)  # a clock going back: no time passed
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


class _Response(JSONResponse):
    """JSON that can always be encoded: ``\\u`` escapes when a lone surrogate is echoed."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _retry_after(wait: float) -> str:
    """``Retry-After`` for a wait of ``wait`` seconds: whole seconds, rounded up, at least 1."""
    if not wait < _MAX_RETRY_AFTER:  # also NaN and inf: the header is always a finite int
        return str(_MAX_RETRY_AFTER)
    return str(max(1, math.ceil(wait)))


def _refuse(status: int, detail: str, problems: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> _Response:  # fmt: skip
    body = {"detail": detail, "problems": problems or []}
    return _Response(body, status_code=status, headers=headers)


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _echo(value: Any) -> Any:
    """``value`` as the client sent it, if strict JSON can carry it back; else its text.

    A JSON number past the float range (``1e999``) parses as ``inf``, which no strict JSON
    encoder writes: echoed as is, it would turn a 422 into a 500.
    """
    try:
        json.dumps(value, allow_nan=False)
    except (ValueError, RecursionError):
        return shown(value, 80)
    return value


def _problems(data: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for key in data:
        if key not in _FIELDS:
            found.append({"field": str(key), "value": None, "message": "unknown field",
                          "allowed": "member, organisation, benefit"})  # fmt: skip
    for name in _FIELDS:
        value = data.get(name)
        if not isinstance(value, str):
            why = "missing" if name not in data else f"got a JSON {type(value).__name__}"
            found.append({"field": name, "value": _echo(value) if name in data else None,
                          "message": why, "allowed": "a string"})  # fmt: skip
    return found


def _name_problems(
    verifier: Verifier, data: dict[str, Any], skip: set[str]
) -> list[dict[str, Any]]:
    """Every problem with the names of the body's well-formed fields (those not in ``skip``,
    already refused for their shape): the member's name, an unknown organisation, or a
    benefit that organisation does not offer (checked only when the organisation is known:
    benefits belong to one)."""
    found: list[dict[str, Any]] = []

    def refused(name: str, err: MembershipError) -> None:
        found.append({"field": name, "value": data[name], "message": str(err),
                      "allowed": "see the message"})  # fmt: skip

    if "member" not in skip:
        try:
            check_name("member", data["member"])
        except MembershipError as err:
            refused("member", err)
    if "organisation" in skip:
        return found
    try:
        ruleset = verifier.rules(data["organisation"])
    except MembershipError as err:
        refused("organisation", err)
    else:
        if "benefit" not in skip:
            try:
                ruleset.check_benefit(data["benefit"])
            except MembershipError as err:
                refused("benefit", err)
    return found


def create_app(
    verifier: Verifier,
    clients: Mapping[str, tuple[float, int]],
    *,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The app: ``POST /v1/verify`` for ``clients`` (API key -> (rate per second, burst))."""
    if not isinstance(verifier, Verifier):
        raise MembershipError(f"create_app: verifier={shown(verifier, 80)} must be a Verifier")
    if not isinstance(clients, Mapping) or not clients:
        raise MembershipError(
            f"create_app: clients={shown(clients, 80)} must map API keys to (rate, burst)"
        )
    buckets: dict[bytes, ClientBucket] = {}
    for key, limit in clients.items():
        if not (isinstance(key, str) and key and key.isascii() and key.isprintable()):
            raise MembershipError(f"create_app: API key {shown(key, 40)} must be printable ASCII")
        if not isinstance(limit, tuple) or len(limit) != 2:
            raise MembershipError(
                f"create_app: clients[...]={shown(limit, 40)} must be (rate, burst)"
            )
        buckets[key.encode()] = ClientBucket(*limit, clock=clock)

    app = FastAPI(
        title="Membership verification",
        version="1.0",
        description="Is this member entitled to this benefit of this organisation? Every "
        "reason for a no. One API key and one rate limit per client.",
    )

    @app.get("/health", summary="Liveness")
    async def health() -> dict[str, object]:
        return {"status": "ok", "organisations": list(verifier.organisations)}

    def _client(header: str | None) -> ClientBucket | None:
        if header is None:
            return None
        given = header.encode("utf-8", "surrogateescape")
        found = None
        for key, bucket in buckets.items():  # constant time per key: no early exit on a match
            if hmac.compare_digest(key, given):
                found = bucket
        return found

    @app.post(
        "/v1/verify",
        summary="Verify a member's entitlement to a benefit",
        response_class=_Response,
        responses={code: {"description": why} for code, why in (
            (400, "Malformed JSON"), (401, "Missing or unknown API key"),
            (413, "Body too large"), (415, "Not application/json"),
            (422, "Every problem with the request"), (429, "Over the client's rate limit"))},
    )  # fmt: skip
    async def verify(request: Request) -> _Response:
        bucket = _client(request.headers.get("x-api-key"))
        if bucket is None:
            return _refuse(401, "send a valid API key in X-API-Key",
                           headers={"WWW-Authenticate": "ApiKey"})  # fmt: skip
        wait = bucket.take()
        if wait > 0:
            return _refuse(429, "rate limit exceeded for this API key",
                           headers={"Retry-After": _retry_after(wait)})  # fmt: skip
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return _refuse(415, "send the request as application/json")
        declared = request.headers.get("content-length")
        if declared is not None:
            # ASCII digits only (str.isdigit takes "²"), few enough for int() to be cheap
            if _CONTENT_LENGTH.fullmatch(declared) is None:
                return _refuse(400, "Content-Length must be a decimal number of bytes")
            if int(declared) > MAX_BODY_BYTES:
                return _refuse(413, f"request body over {MAX_BODY_BYTES} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _refuse(413, f"request body over {MAX_BODY_BYTES} bytes")
        try:
            data = json.loads(body, parse_constant=_no_constants)
        except (ValueError, RecursionError):
            return _refuse(400, "malformed JSON")
        if not isinstance(data, dict):
            return _refuse(422, "the body must be a JSON object", [
                {"field": "body", "value": None, "message": f"got a JSON {type(data).__name__}",
                 "allowed": "an object with member, organisation and benefit"}])  # fmt: skip
        problems = _problems(data)
        problems += _name_problems(verifier, data, {p["field"] for p in problems})
        if problems:
            return _refuse(422, f"{len(problems)} problem(s) with the request", problems)
        try:
            decision = verifier.verify(data["member"], data["organisation"], data["benefit"])
        except MembershipError as err:
            field = next((f for f in _FIELDS if str(err).startswith(f + "=")), "body")
            problem = {"field": field, "value": data.get(field), "message": str(err),
                       "allowed": "see the message"}  # fmt: skip
            return _refuse(422, "1 problem(s) with the request", [problem])
        return _Response(decision.as_dict())

    return app
