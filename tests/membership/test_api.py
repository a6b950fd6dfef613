"""POST /v1/verify under a real uvicorn on loopback: keys, rate limits, bad input as 4xx."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from designpatterns_ref.membership import MembershipError, Verifier, sample_directory  # noqa: E402
from designpatterns_ref.membership.api import (  # noqa: E402
    MIN_RATE,
    ClientBucket,
    _retry_after,
    create_app,
)
from tests.asgi import serve_asgi  # noqa: E402

FAST, SLOW = "partner-fast-key", "partner-slow-key"
OK = {"member": "m0001", "organisation": "northwind-union", "benefit": "lounge-access"}


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


CLOCK = Clock()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app = create_app(Verifier(*sample_directory()),
                     {FAST: (1e6, 10**6), SLOW: (1.0, 3)}, clock=CLOCK)  # fmt: skip
    with serve_asgi(app, "membership-api") as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10, headers={"X-API-Key": FAST}) as c:
        yield c


def test_health(client: httpx.Client) -> None:
    r = client.get("/health")
    assert r.status_code == 200 and len(r.json()["organisations"]) == 9


def test_verify_yes_and_no_with_every_reason(client: httpx.Client) -> None:
    r = client.post("/v1/verify", json=OK)
    assert r.status_code == 200
    assert r.json() == {"eligible": True, "reasons": [], "rules_version": 1}
    r = client.post("/v1/verify", json={"member": "m0002", "organisation": "teachers-guild",
                                        "benefit": "travel-discount"})  # fmt: skip
    assert r.status_code == 200
    assert r.json()["reasons"] == ["membership not active", "must be 18 or over",
                                   "not offered in your country"]  # fmt: skip


@pytest.mark.parametrize("key", [None, "", "wrong-key", "partner-fast-ke", "\u00e9"])
def test_missing_or_unknown_key_is_401(base_url: str, key: str | None) -> None:
    headers = {} if key is None else {"X-API-Key": key.encode("utf-8")}
    r = httpx.post(base_url + "/v1/verify", json=OK, headers=headers)  # type: ignore[arg-type]
    assert r.status_code == 401 and r.json()["detail"].startswith("send a valid API key")


def test_rate_limit_is_per_client(base_url: str, client: httpx.Client) -> None:
    slow = {"X-API-Key": SLOW}
    codes = [httpx.post(base_url + "/v1/verify", json=OK, headers=slow).status_code
             for _ in range(5)]  # fmt: skip
    assert codes == [200, 200, 200, 429, 429]
    r = httpx.post(base_url + "/v1/verify", json=OK, headers=slow)
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert client.post("/v1/verify", json=OK).status_code == 200  # the other client is not held
    CLOCK.t += 1.0  # one second later, one token
    codes = [httpx.post(base_url + "/v1/verify", json=OK, headers=slow).status_code
             for _ in range(2)]  # fmt: skip
    assert codes == [200, 429]


@pytest.mark.parametrize(
    ("content", "ctype", "status"),
    [
        (b"{", "application/json", 400),
        (b"NaN", "application/json", 400),
        (json.dumps(OK).encode(), "text/plain", 415),
        (b"[1]", "application/json", 422),
        (b'{"member": 1, "organisation": null}', "application/json", 422),
        (b"{" + b'"a":1,' * 2000 + b'"b":2}', "application/json", 413),
        (b"\xff\xfe", "application/json", 400),
    ],
)
def test_bad_requests_are_4xx(client: httpx.Client, content: bytes, ctype: str,
                              status: int) -> None:  # fmt: skip
    r = client.post("/v1/verify", content=content, headers={"content-type": ctype})
    assert r.status_code == status
    assert set(r.json()) == {"detail", "problems"}


#: JSON numbers of more digits than Python converts (4,300): json.loads raises ValueError for them.
HUGE_NUMBER_BODIES = {
    "a field": b'{"member": ' + b"9" * 5000 + b', "organisation": "o", "benefit": "b"}',
    "a negative one in a list": b'{"member": [-' + b"9" * 5000 + b"]}",
    "the whole body": b"9" * 5000,
}


@pytest.mark.parametrize("body", list(HUGE_NUMBER_BODIES.values()), ids=list(HUGE_NUMBER_BODIES))
def test_a_number_of_too_many_digits_is_refused_over_loopback(
    client: httpx.Client, body: bytes
) -> None:
    """A 4xx, never a 500: 413 today, since MAX_BODY_BYTES (4 KiB) cannot hold 4,301 digits;
    400 (malformed JSON) if that limit is ever raised."""
    r = client.post("/v1/verify", content=body, headers={"content-type": "application/json"})
    assert r.status_code in (400, 413)
    assert set(r.json()) == {"detail", "problems"}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"member": 1e999, "organisation": "northwind-union", "benefit": "lounge-access"}',
        b'{"member": [-1e400], "organisation": "northwind-union", "benefit": "lounge-access"}',
        b'{"member": "m0001", "organisation": {"x": 1e999}, "benefit": "lounge-access"}',
    ],
)
def test_a_number_past_the_float_range_is_422_not_500(client: httpx.Client, raw: bytes) -> None:
    """1e999 is valid JSON that parses as inf, which strict JSON cannot echo back: the problem
    is still a 422 with a body that decodes, the value shown as text."""
    r = client.post("/v1/verify", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    (problem,) = r.json()["problems"]
    assert problem["message"].startswith("got a JSON") and "inf" in problem["value"]


def test_every_field_problem_is_listed(client: httpx.Client) -> None:
    r = client.post("/v1/verify", json={"member": 7, "extra": 1})
    assert r.status_code == 422
    assert [p["field"] for p in r.json()["problems"]] == ["extra", "member", "organisation",
                                                          "benefit"]  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"), [("organisation", "nowhere"), ("benefit", "yacht"), ("member", " m1")]
)
def test_unknown_names_are_422(client: httpx.Client, field: str, value: str) -> None:
    r = client.post("/v1/verify", json={**OK, field: value})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == field


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"member": " m1", "organisation": "nowhere", "benefit": "yacht"},
         ["member", "organisation"]),
        ({"member": " m1", "organisation": "motor-club", "benefit": "yacht"},
         ["member", "benefit"]),
        ({"member": 7, "organisation": "nowhere", "benefit": "yacht"},
         ["member", "organisation"]),  # a shape problem and a name problem, both
        ({"member": "m1", "organisation": "motor-club", "benefit": None},
         ["benefit"]),
    ],
)  # fmt: skip
def test_every_name_problem_is_listed(
    client: httpx.Client, body: dict[str, str], fields: list[str]
) -> None:
    """A bad member name and an unknown benefit are two problems, both listed (only the
    first was), and so are a field of the wrong type and an unknown name in another; a
    benefit of an unknown organisation cannot be checked, so it is not."""
    r = client.post("/v1/verify", json=body)
    assert r.status_code == 422
    assert r.json()["detail"] == f"{len(fields)} problem(s) with the request"
    assert [p["field"] for p in r.json()["problems"]] == fields


odd_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["member", "organisation", "benefit", "other"]),
    odd_text | st.integers() | st.floats() | st.none() | st.lists(odd_text, max_size=2),
    odd_text,
)
def test_fuzz_odd_code_points_get_only_4xx_or_200(client: httpx.Client, field: str,
                                                  value: object, key: str) -> None:  # fmt: skip
    raw = json.dumps({**OK, field: value, key: value})  # lone surrogates as \ud800 escapes
    r = client.post("/v1/verify", content=raw, headers={"content-type": "application/json"})
    assert r.status_code in (200, 400, 422), r.text
    body = r.json()
    assert ("eligible" in body) if r.status_code == 200 else ("detail" in body)


def test_create_app_refuses_bad_config() -> None:
    v = Verifier(*sample_directory())
    for clients in ({}, {"k": (0, 1)}, {"k": (1.0, 0)}, {"": (1.0, 1)}, {"k": 5}, [1]):
        with pytest.raises(MembershipError):
            create_app(v, clients)  # type: ignore[arg-type]
    with pytest.raises(MembershipError):
        create_app(None, {"k": (1.0, 1)})  # type: ignore[arg-type]


@settings(max_examples=60)
@given(st.floats(min_value=0.0, max_value=MIN_RATE, exclude_max=True, allow_subnormal=True))
@example(5e-324)  # the smallest subnormal: the wait for a token was inf, Retry-After a 500
@example(1e-310)
@example(0.0)
def test_a_rate_below_the_minimum_is_refused(rate: float) -> None:
    with pytest.raises(MembershipError, match="rate="):
        ClientBucket(rate, 1, clock=Clock())
    with pytest.raises(MembershipError, match="rate="):
        create_app(Verifier(*sample_directory()), {"k": (rate, 1)})


@settings(max_examples=60)
@given(st.floats(min_value=MIN_RATE, max_value=1e9), st.integers(1, 10**9))
@example(MIN_RATE, 1)
def test_the_wait_for_a_token_is_finite_and_so_is_retry_after(rate: float, burst: int) -> None:
    clock = Clock()
    bucket = ClientBucket(rate, burst, clock=clock)
    bucket._tokens = 0.0  # drained
    wait = bucket.take()
    assert 0 < wait <= 1 / MIN_RATE * (1 + 1e-9)
    assert int(_retry_after(wait)) == max(1, math.ceil(wait))
    for odd in (math.inf, math.nan, 1e300):
        assert int(_retry_after(odd)) >= 1


def test_the_slowest_client_gets_a_429_with_a_finite_retry_after() -> None:
    from fastapi.testclient import TestClient

    clock = Clock()
    app = create_app(Verifier(*sample_directory()), {"k": (MIN_RATE, 1)}, clock=clock)
    body = {"member": "m0001", "organisation": "northwind-union", "benefit": "legal-advice"}
    with TestClient(app, raise_server_exceptions=False) as c:
        first = c.post("/v1/verify", json=body, headers={"X-API-Key": "k"})
        second = c.post("/v1/verify", json=body, headers={"X-API-Key": "k"})
    assert first.status_code == 200
    assert second.status_code == 429 and int(second.headers["retry-after"]) == 10**6


def test_bucket_refills_at_its_rate() -> None:
    clock = Clock()
    b = ClientBucket(2.0, 2, clock=clock)
    assert [b.take(), b.take()] == [0.0, 0.0] and b.take() == pytest.approx(0.5)
    clock.t = 0.5
    assert b.take() == 0.0 and b.take() > 0


@settings(max_examples=100)
@given(
    st.floats(0.5, 50.0),
    st.integers(1, 10),
    st.lists(st.floats(-10.0, 2.0), min_size=1, max_size=80),
)
@example(1.0, 2, [-5.0, 0.0, 1.0])  # a wall clock stepped back 5 s (NTP): still full
def test_bucket_never_grants_more_than_burst_plus_rate_times_time(
    rate: float, burst: int, gaps: list[float]
) -> None:
    """Grants <= burst + rate * (forward time) in every interval; a clock going back is no time.

    The forward time of an interval is the sum of the clock's forward steps in it: the bucket
    refills only for those, and a step back neither refills it nor takes tokens away.
    """
    clock = Clock()
    bucket = ClientBucket(rate, burst, clock=clock)
    forward = 0.0  # the clock's forward steps so far
    tokens = float(burst)  # the reference: refilled for forward steps only
    granted: list[float] = []
    for gap in gaps:
        clock.t += gap
        forward += max(0.0, gap)
        tokens = min(burst, tokens + max(0.0, gap) * rate)
        wait = bucket.take()
        if abs(tokens - 1.0) > 1e-6:  # away from the boundary, where rounding may tip it
            assert (wait == 0.0) == (tokens >= 1.0)
            if wait > 0:
                assert wait == pytest.approx((1.0 - tokens) / rate, rel=1e-6, abs=1e-6)
        if wait == 0.0:
            tokens = max(tokens - 1.0, 0.0)
            granted.append(forward)
    for i, a in enumerate(granted):
        for j in range(i, len(granted)):
            assert j - i + 1 <= burst + rate * (granted[j] - a) + 1e-9
    # and a request waiting the time it was told to wait is granted
    wait = bucket.take()
    if wait > 0:
        clock.t += wait + 1e-9
        assert bucket.take() == 0.0


def test_bucket_after_the_clock_steps_back_keeps_its_tokens() -> None:
    clock = Clock()
    clock.t = 1000.0
    b = ClientBucket(1.0, 2, clock=clock)
    clock.t = 995.0  # stepped back 5 s while full
    assert [b.take(), b.take()] == [0.0, 0.0]
    assert b.take() == pytest.approx(1.0)  # empty now; one token a second, as documented
    clock.t = 996.0
    assert b.take() == 0.0


@pytest.mark.parametrize("clock", [5, "x", None, 1.5])
def test_bucket_refuses_a_clock_that_cannot_be_called(clock: object) -> None:
    with pytest.raises(MembershipError, match="clock"):
        ClientBucket(1.0, 2, clock=clock)  # type: ignore[arg-type]


@pytest.mark.parametrize("reading", [math.nan, math.inf, -math.inf, 10**400, "x", None, True, 1j])
def test_bucket_refuses_a_clock_reading_that_is_not_a_finite_number(reading: object) -> None:
    with pytest.raises(MembershipError, match="clock"):
        ClientBucket(1.0, 2, clock=lambda: reading)  # type: ignore[arg-type,return-value]
    now: list[object] = [0.0]
    b = ClientBucket(1.0, 2, clock=lambda: now[0])  # type: ignore[arg-type,return-value]
    assert b.take() == 0.0
    before = dict(vars(b))
    now[0] = reading
    for _ in range(3):
        with pytest.raises(MembershipError, match="clock"):
            b.take()
    assert vars(b) == before


def _asgi_post(app: object, content_length: bytes) -> list[int]:
    """POST /v1/verify straight to the ASGI app with this Content-Length, body and all."""
    import asyncio

    body = json.dumps(OK).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/v1/verify",
             "raw_path": b"/v1/verify", "query_string": b"", "root_path": "",
             "headers": [(b"x-api-key", FAST.encode()), (b"content-type", b"application/json"),
                         (b"content-length", content_length)],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}  # fmt: skip
    sent: list[dict[str, object]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))  # type: ignore[operator]
    return [int(m["status"]) for m in sent if m["type"] == "http.response.start"]  # type: ignore[call-overload]


BAD_LENGTHS = [b"9" * 5000, "\u00b2".encode("latin-1"), "\u00b3".encode("latin-1"), b"-1",
               b"+5", b"1_0", b"", b" ", b"0x10", b"0" * 21 + b"77"]  # fmt: skip


@pytest.mark.parametrize("length", BAD_LENGTHS)
def test_a_content_length_that_is_not_plain_digits_is_400_from_the_app(length: bytes) -> None:
    app = create_app(Verifier(*sample_directory()), {FAST: (1e9, 10**9)})
    assert _asgi_post(app, length) == [400]


def test_a_plain_content_length_reaches_the_body_checks() -> None:
    app = create_app(Verifier(*sample_directory()), {FAST: (1e9, 10**9)})
    assert _asgi_post(app, str(len(json.dumps(OK))).encode()) == [200]
    assert _asgi_post(app, b"4097") == [413]
    assert _asgi_post(app, b"9" * 20) == [413]


@pytest.mark.parametrize("length", [b"9" * 5000, "\u00b2".encode("latin-1"), b"-1", b"4097"])
def test_a_bad_content_length_under_the_real_server_is_4xx(base_url: str, length: bytes) -> None:
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(base_url)
    body = json.dumps(OK).encode()
    with socket.create_connection((where.hostname, where.port), timeout=10) as conn:
        conn.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nX-API-Key: " + FAST.encode()
                     + b"\r\nContent-Type: application/json\r\nContent-Length: " + length
                     + b"\r\nConnection: close\r\n\r\n" + body)  # fmt: skip
        status = conn.recv(200).split(b"\r\n")[0]
    assert status.split()[1] in (b"400", b"413"), status
