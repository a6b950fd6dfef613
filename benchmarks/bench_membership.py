"""Membership verification: verifications per second cached and uncached, rule cost, HTTP.

No target is set by the issue; the figures are in docs/case-studies/membership-benefits.md.

Run the figures: ``pytest benchmarks/bench_membership.py --benchmark-only`` (add ``-s`` for the
HTTP table); CI runs it once with ``--benchmark-disable`` (quick mode).
"""

from __future__ import annotations

import itertools

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from designpatterns_ref.membership import Decision, Directory, Verifier, evaluate, generate
from designpatterns_ref.membership._bench import _http_table, queries


@pytest.fixture(scope="module")
def world(quick: bool) -> tuple[Directory, Verifier, list[tuple[str, str, str]]]:
    directory, rules = generate(500 if quick else 20_000, seed=11)
    return directory, Verifier(directory, rules), queries(directory, 500 if quick else 20_000)


def test_verify_cached(benchmark: BenchmarkFixture, world: tuple[Directory, Verifier,
                       list[tuple[str, str, str]]]) -> None:  # fmt: skip
    _, verifier, qs = world
    for q in qs:
        verifier.verify(*q)
    cycle = itertools.cycle(qs)
    assert isinstance(benchmark(lambda: verifier.verify(*next(cycle))), Decision)
    assert verifier.stats.hits > 0


def test_verify_uncached(benchmark: BenchmarkFixture, world: tuple[Directory, Verifier,
                         list[tuple[str, str, str]]]) -> None:  # fmt: skip
    directory, verifier, qs = world
    plain = Verifier(directory, [verifier.rules(o) for o in verifier.organisations], cache=False)
    cycle = itertools.cycle(qs)
    assert isinstance(benchmark(lambda: plain.verify(*next(cycle))), Decision)
    assert len(plain) == 0


def test_rule_evaluation(benchmark: BenchmarkFixture, world: tuple[Directory, Verifier,
                         list[tuple[str, str, str]]]) -> None:  # fmt: skip
    verifier = world[1]
    rs = verifier.rules("northwind-union")
    facts = {"status": "lapsed", "tier": "standard", "months": 1, "age": 15, "country": "US",
             "dues_paid": False}  # fmt: skip
    decision = benchmark(lambda: evaluate(rs, "training-credit", facts))
    assert len(decision.reasons) == 3


def test_http_requests_per_second(benchmark: BenchmarkFixture, quick: bool) -> None:
    """One load run (the server in its own process), timed once; the table is printed."""
    table = benchmark.pedantic(
        _http_table,
        args=(300 if quick else 20_000, 200 if quick else 10_000,
              (1, 8) if quick else (1, 4, 16), 10.0 if quick else 60.0),
        rounds=1,
        iterations=1,
    )  # fmt: skip
    print(table.render())
    assert len(table.rows) == 2 if quick else 3
    assert all(row[-1] == "0" and int(row[1].replace(",", "")) > 0 for row in table.rows)
