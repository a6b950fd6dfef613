"""Limits written as text: the notation, its errors, and the composite it builds.

Oracles: a regular expression written from the grammar (independent of the hand-written
scanner), the ``limits`` package's own ``parse_many`` on the same text, and hand-built
composites replaying the same traffic.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref import ratelimit as rl
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.ratelimit import LimitSpec, LimitSyntaxError, RateLimitError
from designpatterns_ref.ratelimit.base import MAX_COUNT
from designpatterns_ref.ratelimit.notation import ALGORITHMS, UNITS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/second", [(10, 1, "second")]),
        ("10/second; 1000/hour", [(10, 1, "second"), (1000, 1, "hour")]),
        ("5 per minute", [(5, 1, "minute")]),
        ("100/5 minutes", [(100, 5, "minute")]),
        ("1 PER Day, 2/3 Months | 7/year", [(1, 1, "day"), (2, 3, "month"), (7, 1, "year")]),
        ("  3per2seconds  ", [(3, 2, "second")]),
        ("007/1 hour", [(7, 1, "hour")]),
        ("\t4 / \u00a0 minutes\n", [(4, 1, "minute")]),
    ],
)
def test_written_limits_are_read(text: str, expected: list[tuple[int, int, str]]) -> None:
    assert rl.parse_limits(text) == [LimitSpec(*e) for e in expected]


@pytest.mark.parametrize(
    ("args", "field"),
    [((0, 1, "second"), "amount"), ((1, True, "second"), "multiples"), ((1, 1, "sec"), "unit"),
     ((2**53 + 1, 1, "day"), "amount"), ((1.0, 1, "day"), "amount"), ((1, 1, None), "unit")],
)  # fmt: skip
def test_a_spec_built_by_hand_is_checked(args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(RateLimitError, match=f"{field}="):
        LimitSpec(*args)


def test_spec_seconds_and_text() -> None:
    spec = rl.parse_limit("100/5 minutes")
    assert spec.per == 300.0
    assert str(spec) == "100/5 minutes"
    assert str(rl.parse_limit("1/month")) == "1/month"
    assert rl.parse_limit("1/year").per == 360 * 86_400  # as limits counts a year


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 0, "an amount"),
        ("   ", 3, "an amount"),
        ("ten/second", 0, "an amount"),
        ("10/secnd", 3, "a unit"),
        ("10 second", 3, "'/' or 'per'"),
        ("10/5", 4, "a unit"),
        ("10/second;", 10, "an amount"),
        ("10/second;;5/minute", 10, "an amount"),
        ("10/second 5/minute", 10, "',', ';' or '|'"),
        ("10/seconds!", 10, "',', ';' or '|'"),
        ("0/second", 0, "an amount from 1"),
        ("10/0 seconds", 3, "a multiple from 1"),
        (f"{2**53 + 1}/second", 0, "an amount from 1"),
        ("1" * 5000 + "/second", 0, "an amount from 1"),
        ("1/second:;2/minute", 8, "',', ';' or '|'"),
        ("1/\u017fecond", 2, "a unit"),  # a long s is not an ASCII s
        ("1/second\ud800", 8, "',', ';' or '|'"),
    ],
)
def test_bad_text_names_position_and_what_was_expected(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(LimitSyntaxError) as caught:
        rl.parse_limits(text)
    err = caught.value
    assert (err.text, err.position) == (text, position)
    assert expected in err.expected
    assert f"position {position}" in str(err) and "AMOUNT/UNIT" in str(err)
    assert isinstance(err, RateLimitError) and isinstance(err, ValueError)
    assert len(str(err)) < 1000  # a long text is shown cut


@pytest.mark.parametrize("bad", [None, b"10/second", 10, True, ["10/second"], 1.5])
def test_text_that_is_not_a_str_is_refused(bad: object) -> None:
    with pytest.raises(RateLimitError, match="text="):
        rl.parse_limits(bad)  # type: ignore[arg-type]
    with pytest.raises(RateLimitError, match="text="):
        rl.parse_limit(bad)  # type: ignore[arg-type]


def test_parse_limit_takes_exactly_one() -> None:
    assert rl.parse_limit(" 5 per minute ") == LimitSpec(5, 1, "minute")
    with pytest.raises(LimitSyntaxError, match="the end of the text"):
        rl.parse_limit("5/minute; 10/hour")


# --------------------------------------------------------------------------- round trips

specs = st.builds(
    LimitSpec,
    st.integers(1, MAX_COUNT),
    st.one_of(st.just(1), st.integers(1, 10**6), st.integers(1, MAX_COUNT)),
    st.sampled_from(list(UNITS)),
)
spaces = st.sampled_from(["", " ", "  ", "\t", "\u00a0", "\u2003", "\n"])


@st.composite
def written(draw: st.DrawFn) -> tuple[str, list[LimitSpec]]:
    """Random specs, and one of the many ways a person may write them."""
    chosen = draw(st.lists(specs, min_size=1, max_size=4))
    parts = []
    for spec in chosen:
        amount = draw(st.sampled_from(["", "0", "00"])) + str(spec.amount)
        joiner = draw(st.sampled_from(["/", "per", "PER", "Per"]))
        if joiner != "/" and not draw(spaces) and spec.multiples == 1:
            joiner = f" {joiner} "
        multiple = draw(st.sampled_from(["", "1"])) if spec.multiples == 1 else str(spec.multiples)
        unit = spec.unit + draw(st.sampled_from(["", "s", "S"]))
        unit = draw(st.sampled_from([unit, unit.upper(), unit.title()]))
        parts.append(
            "".join([draw(spaces), amount, draw(spaces), joiner, draw(spaces), multiple])
            + "".join([draw(spaces), unit, draw(spaces)])
        )
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from(",;|")) + part
    return text, chosen


@settings(max_examples=100)
@given(written())
def test_written_specs_read_back_equal(case: tuple[str, list[LimitSpec]]) -> None:
    text, chosen = case
    assert rl.parse_limits(text) == chosen


@given(st.lists(specs, min_size=1, max_size=4), st.sampled_from([",", ";", "|", " ; "]))
def test_rendered_specs_read_back_equal(chosen: list[LimitSpec], sep: str) -> None:
    assert rl.parse_limits(sep.join(str(s) for s in chosen)) == chosen
    assert [rl.parse_limit(str(s)) for s in chosen] == chosen


# --------------------------------------------------------------------------- oracles

_ONE = re.compile(
    r"\s*([0-9]+)\s*(?:/|per)\s*([0-9]+)?\s*(second|minute|hour|day|month|year)s?\s*",
    re.IGNORECASE,
)


def oracle(text: str) -> list[LimitSpec] | None:
    """The grammar as one regular expression per limit: the specs, or None when refused."""
    out = []
    for part in re.split(r"[,;|]", text):
        match = _ONE.fullmatch(part)
        if match is None or not all(c.isascii() or c.isspace() for c in part):
            return None
        amount, multiples = int(match.group(1)), int(match.group(2) or "1")
        if not (1 <= amount <= MAX_COUNT and 1 <= multiples <= MAX_COUNT):
            return None
        out.append(LimitSpec(amount, multiples, match.group(3).lower()))
    return out


TOKENS = ["1", "0", "5", "10", "/", "per", "PER", " ", "\t", "\u00a0", ",", ";", "|", ":",
          "second", "minute", "hour", "day", "month", "year", "s", "S", "x", "Minutes", "\n",
          "\u017f", "ĸ", "9" * 17]  # fmt: skip
soup = st.lists(st.sampled_from(TOKENS), max_size=14).map("".join)


@settings(max_examples=300)
@given(st.one_of(soup, written().map(lambda case: case[0]), st.text(max_size=20)))
def test_the_scanner_agrees_with_the_grammar(text: str) -> None:
    expected = oracle(text)
    if expected is None:
        with pytest.raises(LimitSyntaxError) as caught:
            rl.parse_limits(text)
        assert 0 <= caught.value.position <= len(text)
    else:
        assert rl.parse_limits(text) == expected


@settings(max_examples=300)
@given(st.one_of(soup, written().map(lambda case: case[0])))
def test_the_same_text_as_the_limits_package_reads(text: str) -> None:
    """Where ``limits`` reads a text, so do we, to the same amounts, windows and units; where
    it refuses, so do we. The documented differences are left out: zero amounts and
    multiples, numbers past 2**53, and its ':' quirk."""
    from limits import parse_many

    try:
        theirs: list[Any] | None = parse_many(text)
    except ValueError:
        theirs = None
    numbers = [int(n) for n in re.findall(r"[0-9]+", text)]
    if ":" in text or any(n == 0 or n > MAX_COUNT for n in numbers):
        return
    if theirs is None:
        with pytest.raises(LimitSyntaxError):
            rl.parse_limits(text)
        return
    ours = rl.parse_limits(text)
    assert [(s.amount, s.multiples, s.per) for s in ours] == [
        (item.amount, item.multiples, float(item.get_expiry())) for item in theirs
    ]


# --------------------------------------------------------------------------- the composite


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_limiter_from_text_builds_the_parts_in_order(algorithm: str) -> None:
    clock = ManualClock()
    limiter = rl.limiter_from_text("3/second; 5 per 2 minutes", algorithm, clock=clock)
    assert isinstance(limiter, rl.AllOf)
    cls = ALGORITHMS[algorithm]
    assert [type(p) for p in limiter.limiters] == [cls, cls]
    assert [(p.rate, p.per) for p in limiter.limiters] == [(3, 1.0), (5, 120.0)]  # type: ignore[attr-defined]
    assert all(p.clock is clock for p in limiter.limiters)
    assert rl.limiter_from_text("1/hour", ALGORITHMS[algorithm]).limiters[0].limit == 1


small = specs.map(lambda s: LimitSpec(s.amount % 6 + 1, s.multiples % 3 + 1, s.unit))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(small, min_size=1, max_size=3),
    st.sampled_from(list(ALGORITHMS)),
    st.lists(st.tuples(st.floats(0, 5), st.integers(1, 3)), max_size=30),
)  # fmt: skip
def test_the_built_limiter_decides_as_the_hand_built_composite(
    chosen: list[LimitSpec], algorithm: str, traffic: list[tuple[float, int]]
) -> None:
    clock, twin_clock = ManualClock(), ManualClock()
    built = rl.limiter_from_text("; ".join(str(s) for s in chosen), algorithm, clock=clock)
    cls: Any = ALGORITHMS[algorithm]
    bucket = algorithm in ("token_bucket", "gcra", "leaky_bucket", "leaky_queue")
    parts = [
        cls(s.amount, s.per, s.amount, clock=twin_clock)
        if bucket
        else cls(s.amount, s.per, clock=twin_clock)
        for s in chosen
    ]
    by_hand = rl.all_of(*parts)
    limit = min(s.amount for s in chosen)
    for step, cost in traffic:
        clock.advance(step)
        twin_clock.advance(step)
        cost = min(cost, limit)
        assert built.allow("k", cost) == by_hand.allow("k", cost)


@pytest.mark.parametrize("bad", ["tokenbucket", "", None, rl.ConcurrencyLimiter, 3, object()])
def test_an_unknown_algorithm_is_refused(bad: object) -> None:
    with pytest.raises(RateLimitError, match="algorithm="):
        rl.limiter_from_text("1/second", bad)  # type: ignore[arg-type]


def test_refused_text_builds_nothing() -> None:
    with pytest.raises(LimitSyntaxError, match="position 10"):
        rl.limiter_from_text("1/second; nope", "gcra")


def test_errors_are_deep_copyable() -> None:
    err = copy.deepcopy(LimitSyntaxError("parse_limits", "x", 0, "an amount"))
    assert err.position == 0


@pytest.mark.redis
@pytest.mark.parametrize("algorithm", ["gcra", "sliding_log", "fixed_window"])
def test_limiter_from_text_on_redis_decides_as_in_memory(redis_url: str, algorithm: str) -> None:
    import redis

    from designpatterns_ref.ratelimit import redis as rr

    client = redis.Redis.from_url(redis_url)
    clock, twin = ManualClock(10.0), ManualClock(10.0)
    text = "3/second; 5 per 10 seconds"
    shared = rr.limiter_from_text(
        client, text, algorithm, clock=clock, deadline=5.0, prefix="t", ttl_slack=600.0
    )
    assert [p.name for p in shared.limiters] == [
        f"{algorithm} 3/second",
        f"{algorithm} 5/10 seconds",
    ]
    shared.reset("k")
    local = rl.limiter_from_text(text, algorithm, clock=twin)
    for step in [0.0, 0.0, 0.1, 0.0, 0.5, 0.7, 0.0, 3.0, 0.2, 0.0, 6.0, 0.0]:
        clock.advance(step)
        twin.advance(step)
        assert shared.allow("k") == local.allow("k")
    with pytest.raises(RateLimitError, match="no Redis twin"):
        rr.limiter_from_text(client, text, "leaky_queue")
    client.close()


@pytest.mark.parametrize(
    "backend", ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]
)
@pytest.mark.parametrize("name", [None, "api"])
def test_a_limit_written_twice_is_one_limit_on_every_backend(
    request: pytest.FixtureRequest, backend: str, name: str | None
) -> None:
    """Equal parts would share one name on Redis and SQLite, which refused the text."""
    text = "3/minute; 3 per 1 minute, 3 / minute"
    clock = ManualClock(100.0)
    if backend == "memory":
        limiter: Any = rl.limiter_from_text(text, "gcra", clock=clock)
    elif backend == "sqlite":
        from designpatterns_ref.ratelimit import sqlite

        path = request.getfixturevalue("tmp_path") / "x.db"
        limiter = sqlite.limiter_from_text(path, text, "gcra", clock=clock, name=name)
    else:
        import redis

        from designpatterns_ref.ratelimit import redis as rr

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        request.addfinalizer(client.close)
        limiter = rr.limiter_from_text(
            client, text, "gcra", clock=clock, name=name, prefix=f"twice-{name}", deadline=5.0
        )
    assert len(limiter.limiters) == 1
    assert [bool(limiter.allow("k")) for _ in range(4)] == [True, True, True, False]
