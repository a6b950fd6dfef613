"""``POST /v1/verify`` under a real uvicorn on loopback, driven by generated sequences of
requests, clock steps and membership changes, against a model of every answer.

The model: no key or an unknown one is 401 and takes no token; each key's bucket holds
``min(burst, tokens + elapsed * rate)`` tokens, a request takes one or gets 429 with
``Retry-After`` the wait rounded up (at least 1); then 415 for another content type, 400 for
malformed JSON, 422 for a bad body, and 200 with what the rules say of the record as it is
now (changes made through the directory between two requests are seen by the next one).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from designpatterns_ref.membership import Directory, Rule, RuleSet, Verifier  # noqa: E402
from designpatterns_ref.membership.api import create_app  # noqa: E402
from tests.asgi import serve_asgi  # noqa: E402

CLIENTS = {"key-one": (1.0, 2), "key-two": (0.5, 1)}
RULES = RuleSet(
    "acme",
    7,
    common=(Rule("status", "==", "active", "membership not active"),),
    benefits={
        "lounge": (Rule("tier", "==", "gold", "gold tier only"),
                   Rule("months", ">=", 12, "needs 12 months")),
        "legal": (Rule("months", ">=", 3, "needs 3 months"),),
    },
)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Swap:
    """An ASGI app that hands each request to ``self.app``, replaced for every example."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


SWAP = Swap()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_asgi(SWAP, "membership-api-model") as url:
        yield url


MEMBERS = ("m1", "m2")
FACTS = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["active", "lapsed"]),
        "tier": st.sampled_from(["silver", "gold"]),
        "months": st.sampled_from([0, 2, 3, 11, 12, 13]),
    },
)
BODIES = st.one_of(
    st.tuples(st.just("ok"), st.sampled_from(MEMBERS), st.sampled_from(["lounge", "legal"])),
    st.sampled_from([
        ("raw", b"{", 400), ("raw", b"[1]", 422), ("raw", b'{"member": 1}', 422),
        ("raw", b'{"member": "m1", "organisation": "nowhere", "benefit": "legal"}', 422),
        ("raw", b'{"member": "m1", "organisation": "acme", "benefit": "spa"}', 422),
        ("raw", b'{"member": " m1", "organisation": "acme", "benefit": "legal"}', 422),
        ("ctype", b"{}", 415),
    ]),
)  # fmt: skip
OPS = st.one_of(
    st.tuples(st.just("request"), st.sampled_from([*CLIENTS, None, "key-three"]), BODIES),
    st.tuples(st.just("tick"), st.sampled_from([0.5, 1.0, 2.5])),
    st.tuples(st.just("set"), st.sampled_from(MEMBERS), FACTS),
    st.tuples(st.just("leave"), st.sampled_from(MEMBERS)),
)


def _oracle(facts: dict[str, Any] | None, benefit: str) -> dict[str, Any]:
    if facts is None:
        return {"eligible": False, "reasons": ["not a member of acme"], "rules_version": 7}
    reasons = []
    for r in (*RULES.common, *RULES.benefits[benefit]):
        if r.fact not in facts:
            reasons.append(f"{r.fact} unknown")
        elif not (facts[r.fact] == r.value if r.op == "==" else facts[r.fact] >= r.value):
            reasons.append(r.reason)
    return {"eligible": not reasons, "reasons": reasons, "rules_version": 7}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(OPS, min_size=1, max_size=25))
def test_a_sequence_of_requests_gets_what_the_model_says(
    base_url: str, ops: list[tuple[Any, ...]]
) -> None:
    clock = Clock()
    directory = Directory()
    SWAP.app = create_app(Verifier(directory, [RULES]), CLIENTS, clock=clock)
    records: dict[str, dict[str, Any]] = {}
    tokens = {k: float(burst) for k, (_, burst) in CLIENTS.items()}
    last = {k: 0.0 for k in CLIENTS}
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for op in ops:
            if op[0] == "tick":
                clock.t += op[1]
            elif op[0] == "set":
                _, member, facts = op
                if member in records:
                    directory.update(member, "acme", facts)
                    records[member].update(facts)
                else:
                    directory.join(member, "acme", facts)
                    records[member] = dict(facts)
            elif op[0] == "leave":
                if op[1] in records:
                    directory.leave(op[1], "acme")
                    del records[op[1]]
            else:
                _, key, body = op
                headers = {"content-type": "application/json"}
                if key is not None:
                    headers["x-api-key"] = key
                if body[0] == "ok":
                    content = json.dumps(
                        {"member": body[1], "organisation": "acme", "benefit": body[2]}
                    ).encode()
                else:
                    content = body[1]
                    if body[0] == "ctype":
                        headers["content-type"] = "text/plain"
                r = client.post("/v1/verify", content=content, headers=headers)
                if key not in CLIENTS:
                    assert r.status_code == 401, r.text
                    continue
                rate, burst = CLIENTS[key]
                tokens[key] = min(burst, tokens[key] + (clock.t - last[key]) * rate)
                last[key] = clock.t
                if tokens[key] < 1.0:
                    assert r.status_code == 429, r.text
                    wait = (1.0 - tokens[key]) / rate
                    assert r.headers["retry-after"] == str(max(1, math.ceil(wait)))
                    continue
                tokens[key] -= 1.0
                if body[0] != "ok":
                    assert r.status_code == body[2], r.text
                    assert set(r.json()) == {"detail", "problems"}
                    continue
                assert r.status_code == 200, r.text
                assert r.json() == _oracle(records.get(body[1]), body[2])
