"""membership: rules, the directory, the verifier, engagement policies and the HTTP API.

Not registered: the plot functions (their one argument is checked like ``simulate``'s
report); the result records are in NOT_FUZZED. ``generate(n_members=)`` and
``simulate(members=, days=)`` meet every hostile value except a valid size above 1,000: a
valid size is refused by nothing, it is only slow work.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from designpatterns_ref.membership import (
    Directory,
    MembershipError,
    Rule,
    RuleSet,
    Verifier,
    evaluate,
    generate,
    sample_directory,
)
from designpatterns_ref.membership.api import ClientBucket, create_app
from designpatterns_ref.membership.base import check_fact, check_facts, check_name
from designpatterns_ref.membership.data import random_facts
from designpatterns_ref.membership.engagement import (
    CapLedger,
    EpsilonGreedy,
    RandomPolicy,
    ThompsonSampling,
    max_sends_in_window,
    simulate,
)
from tests.fuzz.helpers import json_of, per_argument, text_of
from tests.fuzz.spec import Entry

ERRORS = (MembershipError,)

NOT_FUZZED: dict[str, str] = {
    "Decision": "the record verify and evaluate return; no call takes one",
    "CacheStats": "the counters a Verifier keeps in stats, only read",
}

_KEY = "fuzz-client-key"
_OK = {"member": "m0001", "organisation": "northwind-union", "benefit": "lounge-access"}
_RULE = Rule("tier", "==", "gold", "gold only")
_ORDER_RULE = Rule("months", ">=", 12, "twelve months first")  # an order rule: a str fact fails
_RULES = RuleSet("o", 1, common=(_ORDER_RULE,), benefits={"b": (_RULE,)})


def _small(value: Any, limit: int = 1000) -> Any:
    """Leave a valid but large size out (slow, not wrong); every other value goes through."""
    if isinstance(value, int) and not isinstance(value, bool) and limit < value <= 10**6:
        return limit
    return value


def _directory() -> Directory:
    return sample_directory()[0]


def _listener(member: str, organisation: str) -> None:
    pass


def _directory_with_listener() -> Directory:
    """A directory with a subscriber, so that a hostile value is compared with one."""
    directory = _directory()
    directory.subscribe(_listener)
    return directory


def _verifier() -> Verifier:
    return Verifier(*sample_directory())


def _verifier_with_cache() -> Verifier:
    """A verifier holding a cached answer, so that an invalidation has something to drop."""
    verifier = _verifier()
    verifier.verify(**_OK)
    return verifier


def _snapshot_directory(d: Directory) -> object:
    return (dict((k, dict(v)) for k, v in d._records.items()), dict(d._version))


def _snapshot_verifier(v: Verifier) -> object:
    return (dict(v._cache), {k: set(s) for k, s in v._index.items()}, dict(v._rules))


def _ledger() -> CapLedger:
    ledger = CapLedger(2, 7)
    ledger.record("m", 1)
    return ledger


class _Clock:
    def __init__(self) -> None:
        self.now: Any = 100.0

    def __call__(self) -> Any:
        return self.now


def _bucket() -> ClientBucket:
    bucket = ClientBucket(1.0, 2, clock=_Clock())
    bucket.take()
    return bucket


def _take_at(bucket: ClientBucket, reading: Any) -> float:
    bucket._clock.now = reading  # type: ignore[attr-defined]
    return bucket.take()


class _ServerError(Exception):
    """Not one of ERRORS: a 5xx answer fails the entry like an unexpected exception."""


@functools.cache
def _client() -> Any:
    from fastapi.testclient import TestClient

    app = create_app(_verifier(), {_KEY: (1e9, 10**9)})
    return TestClient(app, raise_server_exceptions=True)


def _post(body: object, key: Any = _KEY) -> None:
    raw = json_of(body)
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-api-key"] = key
    response = _client().post("/v1/verify", content=raw, headers=headers)
    if response.status_code >= 500:
        raise _ServerError(f"answered {response.status_code}: {response.text[:200]}")
    response.json()


def _header_key(value: Any) -> None:
    text = text_of(value)
    _post(_OK, key=text.encode("utf-8", "surrogatepass")[:200])


ENTRIES = [
    *per_argument("Rule", lambda _, **kw: Rule(**kw),
                  {"fact": "tier", "op": "==", "value": "gold", "reason": "gold only"}),
    *per_argument("RuleSet", lambda _, **kw: RuleSet(**kw),
                  {"organisation": "o", "version": 1, "common": (_RULE,),
                   "benefits": {"b": (_RULE,)}}),
    *per_argument("evaluate", lambda _, **kw: evaluate(**kw),
                  {"ruleset": _RULES, "benefit": "b", "facts": {"tier": "gold", "months": 12}}),
    Entry("evaluate(facts={key: 1})",
          call=lambda _, v: evaluate(_RULES, "b", {v: 1} if isinstance(v, str) else v)),
    *(Entry(f"evaluate(facts={{{f!r}: value}})",
            call=lambda _, v, f=f: evaluate(_RULES, "b", {f: v}))
      for f in ("months", "tier")),
    *per_argument("Directory.join", lambda d, **kw: d.join(**kw),
                  {"member": "m9", "organisation": "acme", "facts": {"tier": "gold"}},
                  make=_directory, snapshot=_snapshot_directory),
    Entry("Directory.join(facts={key: 1})",
          call=lambda d, v: d.join("m9", "acme", {v: 1} if isinstance(v, str) else {"age": v}),
          make=_directory, snapshot=_snapshot_directory),
    *per_argument("Directory.update", lambda d, **kw: d.update(**kw),
                  {"member": "m0001", "organisation": "motor-club", "facts": {"months": 3}},
                  make=_directory, snapshot=_snapshot_directory),
    *per_argument("Directory.leave", lambda d, **kw: d.leave(**kw),
                  {"member": "m0001", "organisation": "motor-club"},
                  make=_directory, snapshot=_snapshot_directory),
    *per_argument("Directory.facts", lambda d, **kw: d.facts(**kw),
                  {"member": "m0001", "organisation": "motor-club"}, make=_directory),
    *per_argument("Directory.version", lambda d, **kw: d.version(**kw),
                  {"member": "m0001", "organisation": "motor-club"}, make=_directory),
    Entry("Directory.organisations_of", call=lambda d, v: d.organisations_of(v), make=_directory),
    Entry("Directory.subscribe", call=lambda d, v: d.subscribe(v), make=_directory,
          snapshot=lambda d: list(d._listeners)),
    Entry("Directory.unsubscribe", call=lambda d, v: d.unsubscribe(v),
          make=_directory_with_listener, snapshot=lambda d: list(d._listeners)),
    *per_argument("Verifier", lambda _, **kw: Verifier(**kw),
                  {"directory": Directory(), "rules": sample_directory()[1], "cache": True,
                   "max_entries": 10}),
    *per_argument("Verifier.verify", lambda v, **kw: v.verify(**kw), _OK,
                  make=_verifier, snapshot=_snapshot_verifier),
    *per_argument("Verifier.invalidate", lambda v, **kw: v.invalidate(**kw),
                  {"member": _OK["member"], "organisation": _OK["organisation"]},
                  make=_verifier_with_cache, snapshot=_snapshot_verifier),
    *per_argument("Rule.holds", lambda r, **kw: r.holds(**kw), {"facts": {"months": 12}},
                  make=lambda: _ORDER_RULE),
    *per_argument("Rule.why_not", lambda r, **kw: r.why_not(**kw), {"facts": {"months": 12}},
                  make=lambda: _ORDER_RULE),
    Entry("Rule.holds(facts[fact])", call=lambda r, v: r.holds({"months": v}),
          make=lambda: _ORDER_RULE),
    Entry("Rule.why_not(facts[fact])", call=lambda r, v: r.why_not({"months": v}),
          make=lambda: _ORDER_RULE),
    Entry("RuleSet.check_benefit", call=lambda r, v: r.check_benefit(v), make=lambda: _RULES),
    Entry("RuleSet.rules_for", call=lambda r, v: r.rules_for(v), make=lambda: _RULES),
    Entry("Verifier.set_rules", call=lambda v, x: v.set_rules(x), make=_verifier,
          snapshot=_snapshot_verifier),
    Entry("Verifier.rules", call=lambda v, x: v.rules(x), make=_verifier),
    *per_argument("generate", lambda _, n_members, seed: generate(_small(n_members), seed),
                  {"n_members": 5, "seed": 1}),
    *per_argument("CapLedger", lambda _, **kw: CapLedger(**kw), {"cap": 2, "window": 7}),
    *per_argument("CapLedger.room", lambda c, **kw: c.room(**kw), {"member": "m", "day": 3},
                  make=_ledger, snapshot=lambda c: {k: list(v) for k, v in c._sent.items()}),
    *per_argument("CapLedger.record", lambda c, **kw: c.record(**kw), {"member": "m", "day": 3},
                  make=_ledger, snapshot=lambda c: {k: list(v) for k, v in c._sent.items()}),
    *per_argument("CapLedger.recent", lambda c, **kw: c.recent(**kw), {"member": "m", "day": 3},
                  make=_ledger),
    *per_argument("EpsilonGreedy", lambda _, **kw: EpsilonGreedy(**kw),
                  {"epsilon": 0.1, "seed": 0}),
    Entry("ThompsonSampling(seed=)", call=lambda _, v: ThompsonSampling(v)),
    Entry("RandomPolicy(seed=)", call=lambda _, v: RandomPolicy(v)),
    *(Entry(f"{cls.__name__}.choose", call=lambda p, v: p.choose(v), make=cls,
            snapshot=lambda p: dict(vars(p)) | {"_rng": p._rng.getstate()})
      for cls in (EpsilonGreedy, ThompsonSampling, RandomPolicy)),
    *(e for cls in (EpsilonGreedy, ThompsonSampling, RandomPolicy)
      for e in per_argument(f"{cls.__name__}.update", lambda p, **kw: p.update(**kw),
                            {"option": "a", "engaged": True}, make=cls,
                            snapshot=lambda p: {k: v for k, v in vars(p).items() if k != "_rng"})),
    *per_argument(
        "simulate",
        lambda _, policy, members, days, **kw: simulate(
            policy, members=_small(members, 30), days=_small(days, 5), **kw),
        {"policy": RandomPolicy(1), "members": 20, "days": 3, "cap": 2, "window": 7,
         "fatigue": 0.8, "churn": 0.1, "seed": 1},
    ),
    *per_argument("max_sends_in_window", lambda _, **kw: max_sends_in_window(**kw),
                  {"log": [("m", 1, "x"), ("m", 3, "y")], "window": 7}),
    Entry("max_sends_in_window(log=[(member, value, option)])",
          call=lambda _, v: max_sends_in_window([("m", 1, "x"), ("m", v, "x")], 7)),
    Entry("max_sends_in_window(log=[value])",
          call=lambda _, v: max_sends_in_window([("m", 1, "x"), v], 7)),
    Entry("random_facts(rng=)", call=lambda _, v: random_facts(v)),
    *per_argument("check_name", lambda _, **kw: check_name(**kw),
                  {"what": "member", "value": "m1"}),
    *per_argument("check_fact", lambda _, **kw: check_fact(**kw),
                  {"name": "months", "value": 12}),
    Entry("check_fact(name='tier', value=)", call=lambda _, v: check_fact("tier", v)),
    Entry("check_fact(name='dues_paid', value=)", call=lambda _, v: check_fact("dues_paid", v)),
    Entry("check_facts(facts=)", call=lambda _, v: check_facts(v)),
    Entry("check_facts(facts={value: 1})",
          call=lambda _, v: check_facts({v: 1} if isinstance(v, str) else {"age": v})),
    *per_argument("ClientBucket", lambda _, **kw: ClientBucket(**kw),
                  {"rate": 1.0, "burst": 2, "clock": time.monotonic}),
    Entry("ClientBucket(clock() returns)",
          call=lambda _, v: ClientBucket(1.0, 2, clock=lambda: v)),
    Entry("ClientBucket.take (clock() returns)", call=_take_at, make=_bucket,
          snapshot=lambda b: (b._tokens, b._at)),
    *per_argument("create_app", lambda _, **kw: create_app(**kw),
                  {"verifier": _verifier(), "clients": {"k": (1.0, 2)}}),
    *(Entry(f"POST /v1/verify ({f}=)", call=lambda _, v, f=f: _post({**_OK, f: v}))
      for f in (*_OK, "unknown_field")),
    Entry("POST /v1/verify (key=)", call=lambda _, v: _post({text_of(v): 1})),
    Entry("POST /v1/verify (body=)", call=lambda _, v: _post(v)),
    Entry("POST /v1/verify (X-API-Key=)", call=lambda _, v: _header_key(v)),
]  # fmt: skip
