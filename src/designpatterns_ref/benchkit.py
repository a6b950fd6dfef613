"""Small tools the ``bench`` command and the benchmarks share: timing, percentiles, tables.

Every family's comparison (``dpref bench FAMILY``) measures with :func:`time_per_call`,
:func:`time_per_item` or :func:`latencies`, puts a peer package beside its own algorithms when
:func:`installed` finds it, reports through a :class:`Table`, and shows a :class:`Progress` bar
while it runs. Timings are wall-clock medians over repeats, in seconds; the machine's noise is
real, so the tables show medians and p99, never a single run.

>>> table = Table("demo", ["algorithm", "µs/op"])
>>> table.add("token bucket", 0.71)
>>> print(table.render())
demo
algorithm     µs/op
------------  -----
token bucket   0.71
"""

from __future__ import annotations

import contextlib
import decimal
import gc
import importlib.util
import math
import numbers
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, TypeVar

from designpatterns_ref.errors import InvalidArgument, shown

__all__ = [
    "Progress",
    "Table",
    "frozen_heap",
    "installed",
    "interpreter",
    "interpreter_probe",
    "latencies",
    "percentile",
    "time_per_call",
    "time_per_item",
]

T = TypeVar("T")


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100) of ``samples``, by the nearest-rank method.

    ``samples`` is a sequence (a list or tuple; not a string, bytes, a memoryview, a mapping or a
    set) of real numbers (int, float, :class:`~fractions.Fraction`, :class:`~decimal.Decimal`),
    booleans excepted. A NaN sample is refused: it has no rank, and the answer would depend on
    where it stood.

    >>> percentile([1, 2, 3, 4], 50)
    2
    >>> percentile([5.0], 99)
    5.0
    """
    if isinstance(samples, str | bytes | bytearray | memoryview) or not isinstance(
        samples, Sequence
    ):
        raise InvalidArgument(
            f"percentile: samples={shown(samples)} is a {type(samples).__name__}; need a "
            "sequence of real numbers (a list or tuple)"
        )
    if not samples:
        raise InvalidArgument("percentile: samples is empty; need at least one value")
    if isinstance(q, bool) or not isinstance(q, int | float) or not 0 <= q <= 100:
        raise InvalidArgument(f"percentile: q={shown(q)} must be a number within [0, 100]")
    for i, sample in enumerate(samples):
        if isinstance(sample, bool) or not isinstance(sample, numbers.Real | decimal.Decimal):
            raise InvalidArgument(
                f"percentile: samples[{i}]={shown(sample)} is a {type(sample).__name__}; "
                "need real numbers (int, float, Fraction or Decimal)"
            )
        # NaN: no rank, and sorted() leaves a list holding one unordered (a signalling
        # Decimal NaN raises on any comparison, so it is asked directly)
        if sample.is_nan() if isinstance(sample, decimal.Decimal) else sample != sample:
            raise InvalidArgument(
                f"percentile: samples[{i}]={shown(sample)} is not a number; need comparable values"
            )
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _check_count(where: str, name: str, value: object) -> None:
    """Refuse a count that is not an int of at least 1 (a mean over no calls is no timing)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"{where}: {name}={shown(value)} must be an int of at least 1")


def time_per_call(fn: Callable[[], object], *, number: int, repeat: int = 5) -> float:
    """Median seconds per call of ``fn`` over ``repeat`` runs of ``number`` calls each.

    >>> time_per_call(lambda: None, number=0)
    Traceback (most recent call last):
    ...
    designpatterns_ref.errors.InvalidArgument: time_per_call: number=0 must be an int of at least 1
    """
    _check_count("time_per_call", "number", number)
    _check_count("time_per_call", "repeat", repeat)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs)


def time_per_item(fn: Callable[[T], object], items: Sequence[T], repeat: int) -> float:
    """Median seconds per call of ``fn(item)`` over ``items``, across ``repeat`` passes."""
    if len(items) == 0:
        raise InvalidArgument("time_per_item: items is empty; need at least one item to time")
    _check_count("time_per_item", "repeat", repeat)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for item in items:
            fn(item)
        runs.append((time.perf_counter() - start) / len(items))
    return statistics.median(runs)


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """For the block, move everything the process holds out of the cyclic collector's sight
    (``gc.freeze``), after one full collection.

    A benchmark collects before each timed run, so that no collection falls inside it; a full
    collection scans every container the process holds, so its cost depends on what else is
    loaded (in a pytest session full of other benchmarks' data, 90 ms a collection instead of a
    few). Inside the block a collection scans only what the block made. ``gc`` has one frozen
    generation, not a stack: an inner ``gc.unfreeze()`` ends this block's freeze early, which
    costs time but changes no result.

    ```pycon
    >>> with frozen_heap():
    ...     gc.get_freeze_count() > 0
    True

    ```
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def installed(package: str) -> bool:
    """Whether ``package`` can be imported (a peer to compare with), without importing it."""
    return importlib.util.find_spec(package) is not None


def _probe_step(table: dict[int, float], i: int) -> tuple[int, int, float]:
    """One step of the probe: what the library's hot paths are made of (a Python call, a
    dictionary read and write, float arithmetic, a builtin call, a small tuple)."""
    value = table.get(i & 63, 0.0) + i * 0.5
    table[i & 63] = value
    return (i, int(value), value)


def _probe_loop(steps: int) -> None:
    table: dict[int, float] = {}
    for i in range(steps):
        _probe_step(table, i)


def interpreter_probe(repeat: int = 7) -> float:
    """Median microseconds the interpreter takes for a fixed loop of 1,000 small steps.

    One number to put beside every timing. The same machine can run this library twice as
    fast under one CPython build as under another: builds with profile-guided and link-time
    optimisation (most Linux distributions', python.org's installers) against builds without
    them (pyenv's unless asked). Compare figures from two machines or two builds only after
    scaling them by the ratio of their probes.
    """
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(20):
            _probe_loop(1000)
        runs.append((time.perf_counter() - start) / 20 * 1e6)
    return statistics.median(runs)


def interpreter() -> str:
    """Which Python runs the benchmarks, and how fast it is: put this above every table.

    >>> interpreter().startswith(platform.python_implementation())
    True
    """
    return (
        f"{platform.python_implementation()} {platform.python_version()} ({sys.executable}); "
        f"interpreter probe {interpreter_probe():.1f} µs"
    )


def latencies(fn: Callable[[T], object], args: Iterable[T]) -> list[float]:
    """Seconds taken by ``fn(arg)`` for each argument, one sample per call."""
    out = []
    clock = time.perf_counter
    for arg in args:
        start = clock()
        fn(arg)
        out.append(clock() - start)
    return out


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if value != value or math.isinf(value):
            return str(value)
        if value == 0 or abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


@dataclass
class Table:
    """A titled table of results that renders as aligned plain text or Markdown."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""

    def add(self, *values: object) -> None:
        """Append one row; floats are shown with sensible precision."""
        if len(values) != len(self.columns):
            raise InvalidArgument(
                f"Table.add: values has {len(values)} values for the {len(self.columns)} "
                f"columns {self.columns}; give one value a column"
            )
        self.rows.append([_fmt(v) for v in values])

    def _widths(self) -> list[int]:
        return [max([len(c)] + [len(r[i]) for r in self.rows]) for i, c in enumerate(self.columns)]

    def render(self) -> str:
        """Aligned plain text: text columns left, numbers right."""
        widths = self._widths()

        numeric = [  # a column is right-aligned when every cell in it is a number
            bool(self.rows)
            and all(
                r[i].replace(",", "").replace(".", "").replace("-", "").isdigit() for r in self.rows
            )
            for i in range(len(self.columns))
        ]

        def line(cells: Sequence[str]) -> str:
            parts = [
                c.rjust(w) if right else c.ljust(w)
                for c, w, right in zip(cells, widths, numeric, strict=True)
            ]
            return "  ".join(parts).rstrip()

        out = [self.title, line(self.columns), "  ".join("-" * w for w in widths)]
        out += [line(r) for r in self.rows]
        if self.note:
            out.append(self.note)
        return "\n".join(out)

    def markdown(self) -> str:
        """The table as GitHub-flavoured Markdown, for the docs."""
        head = "| " + " | ".join(self.columns) + " |"
        rule = "| " + " | ".join("---" for _ in self.columns) + " |"
        body = ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join([f"**{self.title}**", "", head, rule, *body])


class Progress:
    """A progress bar on standard error, silent when it is not a terminal.

    >>> import io
    >>> bar = Progress(total=2, label="demo", stream=io.StringIO())
    >>> for _ in bar.wrap(range(2)):
    ...     pass
    >>> bar.done
    2
    """

    def __init__(
        self, total: int, label: str = "", stream: IO[str] | None = None, width: int = 30
    ) -> None:
        self.total = max(total, 1)
        self.label = label
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._live = bool(getattr(self.stream, "isatty", lambda: False)())

    def step(self, what: str = "") -> None:
        """Mark one unit done and redraw."""
        self.done += 1
        if self._live:
            filled = self.width * self.done // self.total
            bar = "#" * filled + "." * (self.width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {what[:30]:30}")
            if self.done >= self.total:
                self.stream.write("\n")
            self.stream.flush()

    def wrap(self, items: Iterable[T]) -> Iterator[T]:
        """Yield ``items``, stepping the bar after each one."""
        for item in items:
            yield item
            self.step()
