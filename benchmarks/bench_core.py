"""The package's own cost: ``import designpatterns_ref`` in a fresh interpreter (budget: 100 ms).

The figure includes starting Python itself; the line printed under ``-s`` separates the
package's own cumulative import time as ``python -X importtime`` reports it.
"""

from __future__ import annotations

import subprocess
import sys

from pytest_benchmark.fixture import BenchmarkFixture


def _package_import_us() -> int:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import designpatterns_ref"],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in result.stderr.splitlines():
        if line.rstrip().endswith("| designpatterns_ref"):
            return int(line.split("|")[1])
    raise AssertionError("importtime printed no line for designpatterns_ref")


def test_import_time(benchmark: BenchmarkFixture) -> None:
    cumulative_us = benchmark.pedantic(_package_import_us, rounds=5, iterations=1)
    print(f"\nimport designpatterns_ref: {cumulative_us / 1000:.1f} ms cumulative (budget 100 ms)")
    assert cumulative_us > 0
