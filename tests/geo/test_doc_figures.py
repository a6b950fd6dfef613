"""Figures quoted in docstrings agree with the measured benchmark tables they come from."""

from __future__ import annotations

import re
from pathlib import Path

from designpatterns_ref.geo import brute

PAGE = Path(__file__).resolve().parents[2] / "docs" / "case-studies" / "ride-sharing.md"


def test_brute_force_cost_per_query_is_the_benchmarks() -> None:
    """brute.py cites the median query time of the first nearest-driver table (the quiet run)."""
    table = PAGE.read_text(encoding="utf-8")
    row = re.search(r"^\| BruteForceIndex \| [\d,]+ \| ([\d,]+) \|", table, re.MULTILINE)
    assert row is not None, "the benchmark table has no BruteForceIndex row"
    measured_ms = int(row.group(1).replace(",", "")) / 1000.0
    doc = brute.__doc__ or ""
    quoted = re.search(r"about ([\d,.]+) ms per query", doc)
    assert quoted is not None, "brute.py no longer quotes its cost per query"
    quoted_ms = float(quoted.group(1).replace(",", ""))
    assert abs(quoted_ms - measured_ms) <= 0.05 * measured_ms, (quoted_ms, measured_ms)
